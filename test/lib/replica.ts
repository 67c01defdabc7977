/**
 * A second Node-RED replica in a child process (test/lib/runtime-child.ts) running `flow`, with this process's
 * environment plus `env`: for the tests of several replicas on one database and broker.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export interface Replica {
  url: string;
  process: ChildProcess;
  /** SIGTERM and wait for the exit (a clean stop). */
  stop(): Promise<void>;
  /** SIGKILL: the crash of a replica. */
  kill(): void;
  /** Everything it printed so far, stdout and stderr (with CLINICA_REPLICA_LOGS=1 its log records too). */
  output(): string;
}

export async function startReplica(flow: object[], env: Record<string, string> = {}): Promise<Replica> {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'clinica-replica-')), 'flow.json');
  fs.writeFileSync(file, JSON.stringify(flow));
  const childEnv: Record<string, string> = {};
  for (const [k, v] of Object.entries({ ...process.env, ...env })) if (v !== undefined) childEnv[k] = v;
  const proc = spawn(process.execPath, [path.join(__dirname, 'runtime-child.js'), file], { env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  let printed = '';
  proc.stderr?.on('data', (c: Buffer) => {
    printed += String(c);
    process.stderr.write(c);
  });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    let ready = false;
    proc.stdout?.on('data', (c: Buffer) => {
      printed += String(c);
      if (ready) return;
      out += String(c);
      const m = /READY (\S+)/.exec(out);
      if (m) {
        ready = true;
        resolve(m[1]);
      }
    });
    proc.once('exit', (code) => reject(new Error(`the replica exited with ${code} before it was ready`)));
  });
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  return {
    url,
    process: proc,
    stop: async () => {
      proc.kill('SIGTERM');
      await exited;
    },
    kill: () => proc.kill('SIGKILL'),
    output: () => printed,
  };
}
