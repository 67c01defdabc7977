/**
 * A small HTTP load generator for the Keycloak benchmarks: N concurrent clients on keep-alive connections,
 * each sending its next request as soon as the previous answer arrived, for a fixed time. Runs in a worker
 * thread so that the server under test keeps the main thread to itself.
 */
import * as http from 'node:http';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';

export interface LoadOptions {
  url: string;
  headers: Record<string, string>;
  concurrency: number;
  durationMs: number;
  /** Requests before measuring starts (connections, JIT, caches). */
  warmupMs: number;
  /** Status every answer must have; others are counted as errors. */
  expectStatus: number;
}

export interface LoadResult {
  requests: number;
  errors: number;
  seconds: number;
  rps: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

/** Runs the load in a worker thread and returns what it measured. */
export function runLoad(options: LoadOptions): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(__filename, { workerData: { kind: 'keycloak-load', options } });
    worker.once('message', (result: LoadResult) => resolve(result));
    worker.once('error', reject);
    worker.once('exit', (code) => code !== 0 && reject(new Error(`load worker exited with ${code}`)));
  });
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function generate(options: LoadOptions): Promise<LoadResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: options.concurrency });
  const url = new URL(options.url);
  const latencies: number[] = [];
  let errors = 0;
  let measuring = false;
  let stop = false;

  const one = () => new Promise<void>((resolve) => {
    const started = process.hrtime.bigint();
    const req = http.request({ agent, host: url.hostname, port: url.port, path: url.pathname + url.search, headers: options.headers }, (res) => {
      res.resume();
      res.on('end', () => {
        if (measuring) {
          latencies.push(Number(process.hrtime.bigint() - started) / 1e6);
          if (res.statusCode !== options.expectStatus) errors += 1;
        }
        resolve();
      });
    });
    req.on('error', () => {
      if (measuring) errors += 1;
      resolve();
    });
    req.end();
  });

  const client = async () => {
    while (!stop) await one();
  };
  const clients = Array.from({ length: options.concurrency }, () => client());
  await new Promise((r) => setTimeout(r, options.warmupMs));
  measuring = true;
  const t0 = process.hrtime.bigint();
  await new Promise((r) => setTimeout(r, options.durationMs));
  measuring = false;
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  stop = true;
  await Promise.all(clients);
  agent.destroy();
  const sorted = latencies.sort((a, b) => a - b);
  const round = (n: number) => Math.round(n * 100) / 100;
  return {
    requests: sorted.length,
    errors,
    seconds: round(seconds),
    rps: Math.round(sorted.length / seconds),
    p50: round(percentile(sorted, 50)),
    p90: round(percentile(sorted, 90)),
    p99: round(percentile(sorted, 99)),
    max: round(sorted[sorted.length - 1] ?? 0),
  };
}

if (!isMainThread && (workerData as { kind?: string })?.kind === 'keycloak-load') {
  generate((workerData as { options: LoadOptions }).options).then(
    (result) => parentPort?.postMessage(result),
    (err: unknown) => {
      throw err;
    },
  );
}
