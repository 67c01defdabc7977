/**
 * A private PostgreSQL and a private RabbitMQ node for the fault tests that restart a server: the machine's shared
 * servers serve other tests and must never be restarted. Both run from this machine's Debian packages, in a
 * temporary directory, on free ports of 127.0.0.1, with a password login (distinctive values, so a grep for them
 * in logs means something), and are removed by stop().
 *
 * PostgreSQL refuses to run as root: when this process is root, its binaries run as the `postgres` user (runuser).
 * RabbitMQ runs as this user with HOME in the temporary directory (its own Erlang cookie), a node name of its own
 * and no plugins (the shared broker's management plugin keeps its port).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { sleep } from './harness';

const run = promisify(execFile);

/** A free TCP port of 127.0.0.1 (the kernel's choice). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/** Resolves once a TCP connection to 127.0.0.1:port is accepted (or fails after timeoutMs). */
async function waitForPort(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect({ port, host: '127.0.0.1' });
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on 127.0.0.1:${port} after ${timeoutMs} ms`);
    await sleep(100);
  }
}

// ------------------------------------------------------------------------------------------- PostgreSQL

export interface PrivatePostgres {
  /** postgres://clinica_faults:<password>@127.0.0.1:<port>/<database> */
  url: string;
  port: number;
  password: string;
  /** Stops the server (fast: sessions are ended), and starts it again after `downMs`. */
  restart(downMs?: number): Promise<void>;
  stop(): Promise<void>;
}

function pgBinDir(): string {
  const base = '/usr/lib/postgresql';
  const versions = fs.existsSync(base) ? fs.readdirSync(base).filter((v) => fs.existsSync(path.join(base, v, 'bin', 'initdb'))) : [];
  if (!versions.length) throw new Error('no PostgreSQL server binaries in /usr/lib/postgresql/<version>/bin');
  return path.join(base, versions.sort((a, b) => Number(b) - Number(a))[0], 'bin');
}

export async function startPrivatePostgres(options: { password: string; database?: string }): Promise<PrivatePostgres> {
  const bin = pgBinDir();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'clinica-faults-pg-'));
  const data = path.join(dir, 'data');
  const asRoot = process.getuid?.() === 0;
  if (asRoot) {
    const { stdout } = await run('id', ['-u', 'postgres']);
    const { stdout: gid } = await run('id', ['-g', 'postgres']);
    fs.chownSync(dir, Number(stdout.trim()), Number(gid.trim()));
  }
  const pg = (tool: string, args: string[]) =>
    asRoot ? run('runuser', ['-u', 'postgres', '--', path.join(bin, tool), ...args]) : run(path.join(bin, tool), args);
  const pwfile = path.join(dir, 'pw');
  fs.writeFileSync(pwfile, options.password, { mode: 0o644 });
  await pg('initdb', ['-D', data, '-U', 'clinica_faults', '--pwfile', pwfile, '-A', 'scram-sha-256', '--no-sync', '-E', 'UTF8']);
  fs.rmSync(pwfile);
  const port = await freePort();
  const serverOptions = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200`;
  const start = () => pg('pg_ctl', ['-D', data, '-o', serverOptions, '-l', path.join(dir, 'server.log'), '-w', '-t', '60', 'start']);
  const stopServer = () => pg('pg_ctl', ['-D', data, '-m', 'fast', '-w', '-t', '60', 'stop']);
  await start();
  const database = options.database ?? 'clinica_shared';
  return {
    url: `postgres://clinica_faults:${encodeURIComponent(options.password)}@127.0.0.1:${port}/${database}`,
    port,
    password: options.password,
    restart: async (downMs = 0) => {
      await stopServer();
      if (downMs) await sleep(downMs);
      await start();
    },
    stop: async () => {
      await stopServer().catch(() => undefined);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

// ------------------------------------------------------------------------------------------- RabbitMQ

export interface PrivateRabbit {
  /** amqp://<user>:<password>@127.0.0.1:<port> (the default vhost "/"). */
  url: string;
  port: number;
  node: string;
  password: string;
  /** rabbitmqctl against this node. */
  ctl(...args: string[]): Promise<string>;
  /** Stops the node (its Erlang VM) and starts it again after `downMs`; resolves when it takes connections again. */
  restart(downMs?: number): Promise<void>;
  stop(): Promise<void>;
}

const RABBIT_BIN = '/usr/lib/rabbitmq/bin';

export async function startPrivateRabbit(options: { user: string; password: string }): Promise<PrivateRabbit> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'clinica-faults-mq-'));
  const port = await freePort();
  const distPort = await freePort();
  const node = `clinica-faults-${process.pid}-${Math.random().toString(36).slice(2, 6)}@localhost`;
  fs.writeFileSync(path.join(dir, 'enabled_plugins'), '[].\n');
  fs.writeFileSync(
    path.join(dir, 'rabbitmq.conf'),
    [
      `default_user = ${options.user}`,
      `default_pass = ${options.password}`,
      'loopback_users = none',
      'log.console = false',
      'log.file.level = warning',
      '',
    ].join('\n'),
  );
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    HOME: dir,
    RABBITMQ_NODENAME: node,
    RABBITMQ_NODE_IP_ADDRESS: '127.0.0.1',
    RABBITMQ_NODE_PORT: String(port),
    RABBITMQ_DIST_PORT: String(distPort),
    RABBITMQ_MNESIA_BASE: path.join(dir, 'mnesia'),
    RABBITMQ_LOG_BASE: path.join(dir, 'log'),
    RABBITMQ_ENABLED_PLUGINS_FILE: path.join(dir, 'enabled_plugins'),
    RABBITMQ_CONFIG_FILE: path.join(dir, 'rabbitmq'),
    RABBITMQ_ADVANCED_CONFIG_FILE: path.join(dir, 'advanced.config'),
    RABBITMQ_PID_FILE: path.join(dir, 'rabbit.pid'),
  };
  let server: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  const ctl = async (...args: string[]) => (await run(path.join(RABBIT_BIN, 'rabbitmqctl'), ['-n', node, ...args], { env })).stdout;
  const start = async () => {
    const proc = spawn(path.join(RABBIT_BIN, 'rabbitmq-server'), [], { env, stdio: 'ignore' });
    server = proc;
    exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    await waitForPort(port, 60000);
    await ctl('await_startup', '--timeout', '60');
  };
  const stopNode = async () => {
    await ctl('stop').catch(() => server?.kill('SIGKILL'));
    await Promise.race([exited, sleep(30000)]);
    server = undefined;
  };
  await start();
  return {
    url: `amqp://${encodeURIComponent(options.user)}:${encodeURIComponent(options.password)}@127.0.0.1:${port}`,
    port,
    node,
    password: options.password,
    ctl,
    restart: async (downMs = 0) => {
      await stopNode();
      if (downMs) await sleep(downMs);
      await start();
    },
    stop: async () => {
      await stopNode().catch(() => undefined);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
