/**
 * A real Node-RED runtime in this process: core nodes, this package loaded from its folder like `npm start`
 * does, flow routes served on an ephemeral port, and every log record kept for assertions. For the tests of
 * the shipped flows and for the benchmarks (no test helper, no spies on the node prototype).
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import type * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

export interface LogRecord {
  level: number;
  type?: string;
  id?: string;
  msg?: unknown;
}

export interface Runtime {
  RED: any;
  /** http://127.0.0.1:<port> serving the flows' http in routes (and the admin API under /admin). */
  url: string;
  logs: LogRecord[];
  getNode(id: string): any;
  stop(): Promise<void>;
}

export interface RuntimeOptions {
  credentials?: Record<string, unknown>;
  /** Environment the flows read (${NAME}); set for the runtime's life and restored by stop(). */
  env?: Record<string, string>;
  logLevel?: string;
  /** Called with every log record as it is written (besides keeping it in `logs`). */
  onLog?: (record: LogRecord) => void;
}

const root = path.resolve(__dirname, '..', '..', '..');
let running = false;

export async function startRuntime(flow: object[], options: RuntimeOptions = {}): Promise<Runtime> {
  if (running) throw new Error('one embedded Node-RED runtime at a time: stop() the previous one');
  running = true;
  const previousEnv: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(options.env ?? {})) {
    previousEnv[k] = process.env[k];
    process.env[k] = v;
  }

  const RED = require('node-red');
  const userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'clinica-runtime-'));
  fs.writeFileSync(path.join(userDir, 'flows.json'), JSON.stringify(flow));
  if (options.credentials) fs.writeFileSync(path.join(userDir, 'flows_cred.json'), JSON.stringify(options.credentials));
  const logs: LogRecord[] = [];
  const server = http.createServer();
  RED.init(server, {
    userDir,
    flowFile: 'flows.json',
    credentialSecret: false,
    nodesDir: [root],
    httpAdminRoot: '/',
    httpNodeRoot: '/',
    uiPort: 0,
    logging: {
      console: { level: 'off' },
      capture: {
        level: options.logLevel ?? 'debug',
        metrics: false,
        audit: false,
        handler: () => (r: LogRecord) => {
          logs.push(r);
          options.onLog?.(r);
        },
      },
    },
    editorTheme: { projects: { enabled: false } },
    contextStorage: { default: { module: 'memory' } },
    externalModules: { autoInstall: false },
  });
  server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    if (req.url === '/admin' || req.url?.startsWith('/admin/')) {
      req.url = req.url.slice('/admin'.length) || '/';
      RED.httpAdmin(req, res);
    } else {
      RED.httpNode(req, res);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const started = new Promise<void>((resolve) => {
    const onStarted = () => {
      RED.events.removeListener('flows:started', onStarted);
      resolve();
    };
    RED.events.on('flows:started', onStarted);
  });
  await RED.start();
  await started;
  const url = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  return {
    RED,
    url,
    logs,
    getNode: (id: string) => RED.nodes.getNode(id),
    stop: async () => {
      await RED.stop();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      fs.rmSync(userDir, { recursive: true, force: true });
      for (const [k, v] of Object.entries(previousEnv)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
      running = false;
    },
  };
}

/** Log records at warn level or worse (Node-RED: error 20, warn 30), as readable lines. */
export function problems(logs: LogRecord[], maxLevel = 30): string[] {
  return logs
    .filter((r) => r.level <= maxLevel)
    .map((r) => `${r.type ?? ''}/${r.id ?? ''}: ${typeof r.msg === 'object' ? JSON.stringify(r.msg) : String(r.msg)}`);
}
