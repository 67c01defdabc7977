/**
 * A real Node-RED runtime in this process (no test helper, no spies), loading this package from its
 * nodesDir like `npm start` does, with a given flow. Used by the benchmarks.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';

/* eslint-disable @typescript-eslint/no-explicit-any */
export interface EmbeddedRed {
  RED: any;
  getNode(id: string): any;
  stop(): Promise<void>;
}

const root = path.resolve(__dirname, '..', '..', '..');

export async function startEmbedded(flow: object[], credentials: Record<string, unknown> = {}): Promise<EmbeddedRed> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const RED = require('node-red');
  const userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'clinica-bench-'));
  fs.writeFileSync(path.join(userDir, 'flows.json'), JSON.stringify(flow));
  if (Object.keys(credentials).length) {
    fs.writeFileSync(path.join(userDir, 'flows_cred.json'), JSON.stringify(credentials));
  }
  const server = http.createServer();
  RED.init(server, {
    userDir,
    flowFile: 'flows.json',
    credentialSecret: false,
    nodesDir: [root],
    httpAdminRoot: false,
    httpNodeRoot: false,
    logging: { console: { level: process.env.BENCH_LOG || 'warn' } },
    editorTheme: { projects: { enabled: false } },
    contextStorage: { default: { module: 'memory' } },
  });
  const started = new Promise<void>((resolve) => {
    const onStarted = (ev: { id?: string }) => {
      if (ev && ev.id === 'runtime-state') return;
      RED.events.removeListener('flows:started', onStarted);
      resolve();
    };
    RED.events.on('flows:started', onStarted);
  });
  await RED.start();
  await started;
  return {
    RED,
    getNode: (id: string) => RED.nodes.getNode(id),
    stop: async () => {
      await RED.stop();
      server.close();
      fs.rmSync(userDir, { recursive: true, force: true });
    },
  };
}

/** Percentile of a sorted array of numbers. */
export function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

export function summarize(latencies: number[]): { p50: number; p99: number; max: number } {
  const s = [...latencies].sort((a, b) => a - b);
  return { p50: percentile(s, 50), p99: percentile(s, 99), max: s[s.length - 1] };
}
