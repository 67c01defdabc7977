/**
 * Outgoing webhooks to 20 local subscriber servers (in two worker threads that verify every request with the
 * `standardwebhooks` package, as a subscriber would), 1 KB JSON events, a fixed number in flight:
 *   client: the pack's deliver() (Standard Webhooks signature, classification, timeout, bounded answer read)
 *   raw:    the same work by hand: JSON.stringify, node:crypto HMAC-SHA256 of "id.timestamp.body", fetch POST with
 *           the same headers, redirect manual, AbortSignal timeout, answer read, status checked
 * Prints msg/s and per-delivery latency p50/p99 of each, best of two runs, and client as a share of raw.
 * Run: npm run build && node dist/bench/webhook-throughput.js [deliveries] [concurrency]
 */
import { createHmac } from 'node:crypto';
import * as http from 'node:http';
import type * as net from 'node:net';
import { performance } from 'node:perf_hooks';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { Webhook } from 'standardwebhooks';
import { deliver, generateSecret } from '../nodes/clients/webhook';
import { summarize } from './lib/embedded';

const N = Number(process.argv[2] ?? 2000);
const CONCURRENCY = Number(process.argv[3] ?? 50);
const SERVERS = 20;
const WORKERS = 2;
const FILLER = 'x'.repeat(1024 - 120);

interface Result {
  name: string;
  seconds: number;
  msgPerSec: number;
  latency: { p50: number; p99: number; max: number };
}

/** In a worker: SERVERS / WORKERS subscribers that verify each request and answer 204 (401 when it fails). */
async function subscribers(secret: string, count: number): Promise<void> {
  const wh = new Webhook(secret);
  let verified = 0;
  let refused = 0;
  const ports: number[] = [];
  for (let i = 0; i < count; i++) {
    const server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        try {
          wh.verify(Buffer.concat(chunks).toString('utf8'), req.headers as Record<string, string>, { jsonParse: false });
          verified += 1;
          res.writeHead(204).end();
        } catch {
          refused += 1;
          res.writeHead(401).end();
        }
      });
    });
    server.keepAliveTimeout = 30_000;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    ports.push((server.address() as net.AddressInfo).port);
  }
  parentPort!.on('message', (m: string) => {
    if (m === 'counts') parentPort!.postMessage({ verified, refused });
  });
  parentPort!.postMessage({ ports });
}

function raw(secret: string): (url: string, id: string, event: object) => Promise<void> {
  const key = Buffer.from(secret.slice('whsec_'.length), 'base64');
  return async (url, id, event) => {
    const body = JSON.stringify(event);
    const timestamp = Math.floor(Date.now() / 1000);
    const signature = `v1,${createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest('base64')}`;
    const res = await fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'user-agent': 'bench-raw',
        'webhook-id': id,
        'webhook-timestamp': String(timestamp),
        'webhook-signature': signature,
      },
      body,
      redirect: 'manual',
      signal: AbortSignal.timeout(10_000),
    });
    await res.text();
    if (res.status < 200 || res.status >= 300) throw new Error(`${url} answered ${res.status}`);
  };
}

function client(secret: string): (url: string, id: string, event: object) => Promise<void> {
  return async (url, id, event) => {
    await deliver({ url, secret, id, body: event, timeoutMs: 10_000 });
  };
}

async function run(name: string, send: (url: string, id: string, event: object) => Promise<void>, urls: string[]): Promise<Result> {
  const latencies: number[] = [];
  let next = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < N) {
        const i = next++;
        const t0 = performance.now();
        await send(urls[i % urls.length], `msg_${name.replace(/[^a-z]+/g, '_')}_${i}`, {
          type: 'stock.low',
          n: i,
          product: `Medicamento ${i}`,
          filler: FILLER,
        });
        latencies.push(performance.now() - t0);
      }
    }),
  );
  const seconds = (performance.now() - start) / 1000;
  return { name, seconds, msgPerSec: N / seconds, latency: summarize(latencies) };
}

function line(r: Result): string {
  const f = (n: number) => n.toFixed(2).padStart(7);
  return `${r.name.padEnd(26)} ${r.msgPerSec.toFixed(0).padStart(7)} msg/s  ${r.seconds.toFixed(2).padStart(6)} s  latency p50/p99/max ${f(r.latency.p50)}/${f(r.latency.p99)}/${f(r.latency.max)} ms`;
}

async function main(): Promise<void> {
  const secret = generateSecret();
  const workers = Array.from({ length: WORKERS }, () => new Worker(__filename, { workerData: { secret, count: SERVERS / WORKERS } }));
  const ports = (await Promise.all(workers.map((w) => new Promise<{ ports: number[] }>((resolve) => w.once('message', resolve))))).flatMap((m) => m.ports);
  const urls = ports.map((p, i) => `http://127.0.0.1:${p}/hooks/subscriber-${i}`);
  process.stdout.write(
    `Standard Webhooks deliveries: ${N} events of 1 KB to ${urls.length} local subscribers (verifying with standardwebhooks in ${WORKERS} worker threads), ${CONCURRENCY} in flight\n`,
  );
  const paths: Array<[string, ReturnType<typeof raw>]> = [
    ['raw fetch + node:crypto', raw(secret)],
    ['clinica webhook client', client(secret)],
  ];
  // Warm-up: connections opened, code compiled.
  for (const [name, send] of paths) await run(`${name} (warm-up)`, send, urls);
  const results: Result[] = [];
  for (let round = 0; round < 2; round++) {
    for (const [name, send] of paths) {
      results.push(await run(name, send, urls));
      process.stdout.write(line(results[results.length - 1]) + '\n');
    }
  }
  const counts = await Promise.all(
    workers.map(
      (w) =>
        new Promise<{ verified: number; refused: number }>((resolve) => {
          w.once('message', resolve);
          w.postMessage('counts');
        }),
    ),
  );
  const verified = counts.reduce((s, c) => s + c.verified, 0);
  const refused = counts.reduce((s, c) => s + c.refused, 0);
  await Promise.all(workers.map((w) => w.terminate()));
  const best = (name: string) => results.filter((r) => r.name === name).sort((a, b) => b.msgPerSec - a.msgPerSec)[0];
  const rawBest = best('raw fetch + node:crypto');
  const clientBest = best('clinica webhook client');
  process.stdout.write(`subscribers verified ${verified} deliveries, refused ${refused}\n`);
  process.stdout.write(
    `best of 2: client ${clientBest.msgPerSec.toFixed(0)} msg/s (p50 ${clientBest.latency.p50.toFixed(2)} ms, p99 ${clientBest.latency.p99.toFixed(2)} ms) = ${((100 * clientBest.msgPerSec) / rawBest.msgPerSec).toFixed(0)}% of raw ${rawBest.msgPerSec.toFixed(0)} msg/s (p50 ${rawBest.latency.p50.toFixed(2)} ms, p99 ${rawBest.latency.p99.toFixed(2)} ms) (target: >= 70%)\n`,
  );
  if (refused > 0) throw new Error(`${refused} deliveries failed verification`);
}

if (isMainThread) {
  main().then(
    () => process.exit(0),
    (err) => {
      process.stderr.write(`${err.stack ?? err}\n`);
      process.exit(1);
    },
  );
} else {
  const { secret, count } = workerData as { secret: string; count: number };
  void subscribers(secret, count);
}
