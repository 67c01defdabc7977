/**
 * A small HTTP load generator for the Keycloak benchmarks: N concurrent clients on keep-alive connections,
 * each sending its next request as soon as the previous answer arrived. With several targets it alternates
 * between them in short slices (A, B, A, B, …), so that both sides of a comparison see the same share of
 * whatever else the machine is doing. Runs in a worker thread; the servers keep the main thread.
 */
import * as http from 'node:http';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';

export interface LoadTarget {
  name: string;
  url: string;
  headers: Record<string, string>;
}

export interface LoadOptions {
  targets: LoadTarget[];
  concurrency: number;
  /** Measured time per target. */
  durationMs: number;
  /** Length of one slice (default 1000 ms). */
  sliceMs?: number;
  /** Unmeasured time per target first (connections, JIT, caches). */
  warmupMs: number;
  /** Status every answer must have; others are counted as errors. */
  expectStatus: number;
}

export interface LoadResult {
  name: string;
  requests: number;
  errors: number;
  seconds: number;
  rps: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

/** Runs the load in a worker thread and returns what it measured, one result per target. */
export function runLoad(options: LoadOptions): Promise<LoadResult[]> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(__filename, { workerData: { kind: 'keycloak-load', options } });
    worker.once('message', (result: LoadResult[]) => resolve(result));
    worker.once('error', reject);
    worker.once('exit', (code) => code !== 0 && reject(new Error(`load worker exited with ${code}`)));
  });
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

interface Tally {
  latencies: number[];
  errors: number;
  ns: bigint;
}

async function generate(options: LoadOptions): Promise<LoadResult[]> {
  const agents = options.targets.map(() => new http.Agent({ keepAlive: true, maxSockets: options.concurrency }));
  const tallies: Tally[] = options.targets.map(() => ({ latencies: [], errors: 0, ns: 0n }));

  function one(i: number, tally: Tally | undefined): Promise<void> {
    const target = options.targets[i];
    const url = new URL(target.url);
    return new Promise((resolve) => {
      const started = process.hrtime.bigint();
      const req = http.request({ agent: agents[i], host: url.hostname, port: url.port, path: url.pathname + url.search, headers: target.headers }, (res) => {
        res.resume();
        res.on('end', () => {
          if (tally) {
            tally.latencies.push(Number(process.hrtime.bigint() - started) / 1e6);
            if (res.statusCode !== options.expectStatus) tally.errors += 1;
          }
          resolve();
        });
      });
      req.on('error', () => {
        if (tally) tally.errors += 1;
        resolve();
      });
      req.end();
    });
  }

  /** `concurrency` clients on target i for `ms`; measured into `tally` when given. */
  async function slice(i: number, ms: number, tally?: Tally): Promise<void> {
    let stop = false;
    const t0 = process.hrtime.bigint();
    const timer = setTimeout(() => {
      stop = true;
    }, ms);
    const clients = Array.from({ length: options.concurrency }, async () => {
      while (!stop) await one(i, tally);
    });
    await Promise.all(clients);
    clearTimeout(timer);
    if (tally) tally.ns += process.hrtime.bigint() - t0;
  }

  for (let i = 0; i < options.targets.length; i++) await slice(i, options.warmupMs);
  const sliceMs = options.sliceMs ?? 1000;
  const slices = Math.max(1, Math.round(options.durationMs / sliceMs));
  for (let s = 0; s < slices; s++) {
    for (let i = 0; i < options.targets.length; i++) await slice(i, sliceMs, tallies[i]);
  }
  for (const agent of agents) agent.destroy();

  const round = (n: number) => Math.round(n * 100) / 100;
  return tallies.map((t, i) => {
    const sorted = t.latencies.sort((a, b) => a - b);
    const seconds = Number(t.ns) / 1e9;
    return {
      name: options.targets[i].name,
      requests: sorted.length,
      errors: t.errors,
      seconds: round(seconds),
      rps: Math.round(sorted.length / seconds),
      p50: round(percentile(sorted, 50)),
      p90: round(percentile(sorted, 90)),
      p99: round(percentile(sorted, 99)),
      max: round(sorted[sorted.length - 1] ?? 0),
    };
  });
}

if (!isMainThread && (workerData as { kind?: string })?.kind === 'keycloak-load') {
  generate((workerData as { options: LoadOptions }).options).then(
    (result) => parentPort?.postMessage(result),
    (err: unknown) => {
      throw err;
    },
  );
}
