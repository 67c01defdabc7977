/**
 * The AMQP hot path on the local RabbitMQ, 1 KB JSON messages, in two cases:
 *
 * 1. consume -> change -> ack: the queue is filled with N persistent messages first, then a fresh process
 *    consumes them all (one child process per round, so RSS and CPU are the consumer's own), alternating:
 *      nodes: clinica-amqp-consume -> change (sets payload.processed, topic) -> clinica-amqp-ack, real Node-RED
 *      raw:   rabbitmq-client consumer with manual ack doing the same change, same prefetch
 *      amqplib: an amqplib consumer doing the same (JSON.parse of the bytes, manual ack of each message)
 *    Each prints msg/s, CPU per message (process.cpuUsage() from the first delivery to the last ack) and peak RSS
 *    (a 10 ms sampler during the run; the kernel's max RSS of the process in brackets).
 * 2. confirmed publish -> manual-ack consume, both in this process, alternating:
 *      nodes: clinica-amqp-publish -> broker -> clinica-amqp-consume -> clinica-amqp-ack in a real Node-RED runtime
 *      raw:   rabbitmq-client alone with the same guarantees (publisher confirms, mandatory, persistent, manual
 *             ack after the handler, same prefetch)
 *      amqplib: the same with amqplib (a confirm channel publishing, a channel of another connection consuming)
 * Run: npm run build && node dist/bench/amqp-throughput.js [messages] [prefetch] [--rounds 3] [--only consume|publish]
 * Queues are uniquely named (bench_amqp_<pid>) and deleted at the end.
 */
import { spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import * as amqplib from 'amqplib';
import { Connection, ConsumerStatus } from 'rabbitmq-client';
import { AMQP_URL } from './lib/env';
import { option, startEmbedded, summarize } from './lib/embedded';
import { valueOf } from '../nodes/clients/common/metrics';

const positional = process.argv.slice(2).filter((a, i, all) => !a.startsWith('--') && !(i > 0 && all[i - 1].startsWith('--')));
const N = Number(positional[0] ?? 20000);
const PREFETCH = Number(positional[1] ?? 100);
const ROUNDS = Number(option('rounds', '3'));
const ONLY = option('only');
const MB = 1024 * 1024;
const FILLER = 'x'.repeat(1024 - 60);

interface Result {
  name: string;
  seconds: number;
  msgPerSec: number;
  confirm: { p50: number; p99: number; max: number };
  endToEnd: { p50: number; p99: number; max: number };
  /** CPU of this process (runtime, client, publisher and consumer) per message. */
  cpuUsPerMsg: number;
}

async function purge(queue: string): Promise<void> {
  const c = new Connection(AMQP_URL);
  const ch = await c.acquire();
  await ch.queueDelete({ queue }).catch(() => undefined);
  for (const q of [`${queue}.retry.1`, `${queue}.retry.2`, `${queue}.dlq`]) await ch.queueDelete({ queue: q }).catch(() => undefined);
  await ch.close();
  await c.close();
}

async function raw(queue: string): Promise<Result> {
  const conn = new Connection({ url: AMQP_URL, connectionName: 'bench-raw', frameMax: 131072 });
  const confirms: number[] = [];
  const e2e: number[] = [];
  let consumed = 0;
  let done!: () => void;
  const allConsumed = new Promise<void>((r) => (done = r));
  const sub = conn.createConsumer({ queue, queueOptions: { durable: true }, qos: { prefetchCount: PREFETCH }, concurrency: PREFETCH }, async (msg) => {
    const body = msg.body as { t0: number };
    e2e.push(performance.now() - body.t0);
    if (++consumed === N) done();
    return ConsumerStatus.ACK;
  });
  await new Promise<void>((r) => sub.once('ready', () => r()));
  const pub = conn.createPublisher({ confirm: true, maxAttempts: 3 });
  const start = performance.now();
  const cpu0 = process.cpuUsage();
  await Promise.all(
    Array.from({ length: N }, async (_, i) => {
      const t0 = performance.now();
      const body = Buffer.from(JSON.stringify({ n: i, t0, filler: FILLER }));
      await pub.send({ exchange: '', routingKey: queue, durable: true, mandatory: true, contentType: 'application/json', messageId: `raw-${i}` }, body);
      confirms.push(performance.now() - t0);
    }),
  );
  await allConsumed;
  const seconds = (performance.now() - start) / 1000;
  const cpu = process.cpuUsage(cpu0);
  await sub.close();
  await pub.close();
  await conn.close();
  return {
    name: 'raw rabbitmq-client',
    seconds,
    msgPerSec: N / seconds,
    confirm: summarize(confirms),
    endToEnd: summarize(e2e),
    cpuUsPerMsg: (cpu.user + cpu.system) / N,
  };
}

/** The same with amqplib: a confirm channel publishing, a second connection consuming with manual ack. */
async function rawAmqplib(queue: string): Promise<Result> {
  const pubConn = await amqplib.connect(AMQP_URL, { noDelay: true, clientProperties: { connection_name: 'bench-raw-amqplib-pub' } });
  const subConn = await amqplib.connect(AMQP_URL, { noDelay: true, clientProperties: { connection_name: 'bench-raw-amqplib-sub' } });
  const confirms: number[] = [];
  const e2e: number[] = [];
  let consumed = 0;
  let done!: () => void;
  const allConsumed = new Promise<void>((r) => (done = r));
  const sub = await subConn.createChannel();
  await sub.assertQueue(queue, { durable: true });
  await sub.prefetch(PREFETCH);
  await sub.consume(queue, (msg) => {
    if (!msg) return;
    const body = JSON.parse(msg.content.toString('utf8')) as { t0: number };
    e2e.push(performance.now() - body.t0);
    sub.ack(msg);
    if (++consumed === N) done();
  });
  const pub = await pubConn.createConfirmChannel();
  const start = performance.now();
  const cpu0 = process.cpuUsage();
  await Promise.all(
    Array.from(
      { length: N },
      (_, i) =>
        new Promise<void>((resolve, reject) => {
          const t0 = performance.now();
          const body = Buffer.from(JSON.stringify({ n: i, t0, filler: FILLER }));
          pub.publish('', queue, body, { persistent: true, mandatory: true, contentType: 'application/json', messageId: `amqplib-${i}` }, (err) => {
            if (err) reject(err as Error);
            else {
              confirms.push(performance.now() - t0);
              resolve();
            }
          });
        }),
    ),
  );
  await allConsumed;
  const seconds = (performance.now() - start) / 1000;
  const cpu = process.cpuUsage(cpu0);
  await pubConn.close();
  await subConn.close();
  return {
    name: 'raw amqplib',
    seconds,
    msgPerSec: N / seconds,
    confirm: summarize(confirms),
    endToEnd: summarize(e2e),
    cpuUsPerMsg: (cpu.user + cpu.system) / N,
  };
}

async function nodes(queue: string): Promise<Result> {
  const red = await startEmbedded([
    { id: 'tab', type: 'tab', label: 'bench' },
    { id: 'pubBroker', type: 'clinica-amqp-broker', url: AMQP_URL, connectionName: 'bench-nodes-pub', declareTopology: false },
    { id: 'subBroker', type: 'clinica-amqp-broker', url: AMQP_URL, connectionName: 'bench-nodes-sub', declareTopology: false },
    {
      id: 'pub',
      z: 'tab',
      type: 'clinica-amqp-publish',
      broker: 'pubBroker',
      exchange: '',
      routingKey: queue,
      persistent: true,
      mandatory: true,
      wires: [['confirmed']],
    },
    { id: 'confirmed', z: 'tab', type: 'junction', wires: [] },
    { id: 'sub', z: 'tab', type: 'clinica-amqp-consume', broker: 'subBroker', queue, prefetch: PREFETCH, ackMode: 'node', maxAttempts: 3, wires: [['ack']] },
    { id: 'ack', z: 'tab', type: 'clinica-amqp-ack', mode: 'auto' },
  ]);
  try {
    const confirms: number[] = [];
    const e2e: number[] = [];
    let consumed = 0;
    let done!: () => void;
    const allConsumed = new Promise<void>((r) => (done = r));
    red.getNode('confirmed').on('input', (msg: { payload: { t0: number } }) => confirms.push(performance.now() - msg.payload.t0));
    red.getNode('ack').on('input', (msg: { payload: { t0: number } }) => {
      e2e.push(performance.now() - msg.payload.t0);
      if (++consumed === N) done();
    });
    // wait until the consumer has declared its queue
    const c = new Connection(AMQP_URL);
    for (;;) {
      const ch = await c.acquire();
      const ok = await ch.queueDeclare({ queue: `${queue}.dlq`, passive: true }).then(
        () => true,
        () => false,
      );
      await ch.close().catch(() => undefined);
      if (ok) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    await c.close();
    const pub = red.getNode('pub');
    const start = performance.now();
    const cpu0 = process.cpuUsage();
    for (let i = 0; i < N; i++) pub.receive({ payload: { n: i, t0: performance.now(), filler: FILLER }, messageId: `nodes-${i}` });
    await allConsumed;
    const seconds = (performance.now() - start) / 1000;
    const cpu = process.cpuUsage(cpu0);
    return {
      name: 'clinica nodes',
      seconds,
      msgPerSec: N / seconds,
      confirm: summarize(confirms),
      endToEnd: summarize(e2e),
      cpuUsPerMsg: (cpu.user + cpu.system) / N,
    };
  } finally {
    await red.stop();
  }
}

/* ---------- case 1: consume -> change -> ack, a pre-filled queue, one child process per round ---------- */

type Variant = 'raw' | 'amqplib' | 'nodes';
const LABEL: Record<Variant, string> = { raw: 'raw rabbitmq-client', amqplib: 'raw amqplib', nodes: 'clinica nodes' };

interface ConsumeResult {
  variant: Variant;
  seconds: number;
  msgPerSec: number;
  cpuUsPerMsg: number;
  /** At the first delivery (the runtime loaded, the flow started). */
  startRssMb: number;
  peakRssMb: number;
  kernelMaxRssMb: number;
}

/** N persistent 1 KB JSON messages, confirmed, into `queue` (declared durable like the consumers declare it). */
async function fill(queue: string): Promise<void> {
  const conn = new Connection({ url: AMQP_URL, connectionName: 'bench-fill', frameMax: 131072 });
  const ch = await conn.acquire();
  await ch.queueDeclare({ queue, durable: true });
  await ch.close();
  const pub = conn.createPublisher({ confirm: true, maxAttempts: 3 });
  for (let i = 0; i < N; i += 1000) {
    await Promise.all(
      Array.from({ length: Math.min(1000, N - i) }, (_, j) =>
        pub.send(
          { exchange: '', routingKey: queue, durable: true, contentType: 'application/json', messageId: `fill-${i + j}`, correlationId: `corr-${i + j}` },
          Buffer.from(JSON.stringify({ n: i + j, t0: 0, filler: FILLER })),
        ),
      ),
    );
  }
  await pub.close();
  await conn.close();
}

/** In the child: samples RSS and the number of finished messages every 10 ms; CPU from the first to the last. */
function watch(finished: () => number): Promise<Omit<ConsumeResult, 'variant'>> {
  let startRss = 0;
  let peak = process.memoryUsage.rss();
  let cpu0: NodeJS.CpuUsage | undefined;
  let t0 = 0;
  return new Promise((resolve) => {
    const timer = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage.rss());
      const n = finished();
      if (!cpu0 && n > 0) {
        cpu0 = process.cpuUsage();
        t0 = performance.now();
        startRss = process.memoryUsage.rss();
      }
      if (cpu0 && n >= N) {
        const cpu = process.cpuUsage(cpu0);
        const seconds = (performance.now() - t0) / 1000;
        clearInterval(timer);
        resolve({
          seconds,
          msgPerSec: N / seconds,
          cpuUsPerMsg: (cpu.user + cpu.system) / N,
          startRssMb: startRss / MB,
          peakRssMb: peak / MB,
          kernelMaxRssMb: process.resourceUsage().maxRSS / 1024,
        });
      }
    }, 10);
  });
}

async function consumeRawChild(queue: string): Promise<ConsumeResult> {
  const conn = new Connection({ url: AMQP_URL, connectionName: 'bench-consume-raw', frameMax: 131072 });
  let finished = 0;
  const watching = watch(() => finished);
  const sub = conn.createConsumer({ queue, queueOptions: { durable: true }, qos: { prefetchCount: PREFETCH }, concurrency: PREFETCH }, async (msg) => {
    // the change node's work: two properties set on the message
    const body = msg.body as { processed?: boolean };
    body.processed = true;
    const out = { payload: body, topic: 'processed', correlationId: msg.correlationId };
    if (out.payload.processed) finished += 1;
    return ConsumerStatus.ACK;
  });
  const result = await watching;
  await sub.close();
  await conn.close();
  return { variant: 'raw', ...result };
}

async function consumeAmqplibChild(queue: string): Promise<ConsumeResult> {
  const conn = await amqplib.connect(AMQP_URL, { noDelay: true, clientProperties: { connection_name: 'bench-consume-amqplib' } });
  const ch = await conn.createChannel();
  await ch.assertQueue(queue, { durable: true });
  await ch.prefetch(PREFETCH);
  let finished = 0;
  const watching = watch(() => finished);
  await ch.consume(queue, (msg) => {
    if (!msg) return;
    // the change node's work: two properties set on the message, then a manual ack
    const body = JSON.parse(msg.content.toString('utf8')) as { processed?: boolean };
    body.processed = true;
    const out = { payload: body, topic: 'processed', correlationId: msg.properties.correlationId as string | undefined };
    ch.ack(msg);
    if (out.payload.processed) finished += 1;
  });
  const result = await watching;
  await conn.close();
  return { variant: 'amqplib', ...result };
}

async function consumeNodesChild(queue: string): Promise<ConsumeResult> {
  // acked is counted by the ack node, so the watcher must exist before the flow starts consuming
  const acked0 = valueOf('amqp', 'acked');
  const watching = watch(() => valueOf('amqp', 'acked') - acked0);
  const red = await startEmbedded([
    { id: 'tab', type: 'tab', label: 'bench' },
    { id: 'subBroker', type: 'clinica-amqp-broker', url: AMQP_URL, connectionName: 'bench-consume-nodes', declareTopology: false },
    {
      id: 'sub',
      z: 'tab',
      type: 'clinica-amqp-consume',
      broker: 'subBroker',
      queue,
      prefetch: PREFETCH,
      ackMode: 'node',
      maxAttempts: 3,
      wires: [['setProcessed']],
    },
    {
      id: 'setProcessed',
      z: 'tab',
      type: 'change',
      rules: [
        { t: 'set', p: 'payload.processed', pt: 'msg', to: 'true', tot: 'bool' },
        { t: 'set', p: 'topic', pt: 'msg', to: 'processed', tot: 'str' },
      ],
      wires: [['ack']],
    },
    { id: 'ack', z: 'tab', type: 'clinica-amqp-ack', mode: 'auto' },
  ]);
  const result = await watching;
  await red.stop();
  return { variant: 'nodes', ...result };
}

/** Fills the queue, then consumes it in a fresh process; the child prints its result as one JSON line. */
async function consumeRound(variant: Variant, queue: string): Promise<ConsumeResult> {
  await purge(queue);
  await fill(queue);
  const args = [...process.execArgv, __filename, String(N), String(PREFETCH), '--child', variant, '--queue', queue];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  const json = out.split('\n').find((l) => l.startsWith('{'));
  if (code !== 0 || !json) throw new Error(`${variant} consumer child exited with ${code}: ${out}`);
  return JSON.parse(json) as ConsumeResult;
}

function consumeLine(r: ConsumeResult): string {
  return `${LABEL[r.variant].padEnd(22)} ${r.msgPerSec.toFixed(0).padStart(8)} msg/s  ${r.cpuUsPerMsg.toFixed(1).padStart(6)} µs CPU/msg  RSS at start ${r.startRssMb.toFixed(0)} MB, peak ${r.peakRssMb.toFixed(0)} MB (kernel max ${r.kernelMaxRssMb.toFixed(0)} MB)`;
}

const range = (xs: number[], digits = 0) => `${Math.min(...xs).toFixed(digits)}–${Math.max(...xs).toFixed(digits)}`;

async function consumeCase(queue: string): Promise<void> {
  process.stdout.write(
    `\nconsume -> change -> ack: ${N} persistent messages of 1 KB already queued, prefetch ${PREFETCH}, ${ROUNDS} rounds, one process per run\n`,
  );
  const results: ConsumeResult[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    for (const variant of round % 2 === 0 ? (['raw', 'amqplib', 'nodes'] as const) : (['nodes', 'amqplib', 'raw'] as const)) {
      results.push(await consumeRound(variant, queue));
      process.stdout.write(consumeLine(results[results.length - 1]) + '\n');
    }
  }
  const of = (v: string) => results.filter((r) => r.variant === v);
  const ratios = (raw: Variant) => of('nodes').map((r, i) => (100 * r.msgPerSec) / of(raw)[i].msgPerSec);
  const cpuRatios = (raw: Variant) => of('nodes').map((r, i) => r.cpuUsPerMsg / of(raw)[i].cpuUsPerMsg);
  for (const v of ['raw', 'amqplib', 'nodes']) {
    const rs = of(v);
    process.stdout.write(
      `${v.padEnd(8)} ${range(rs.map((r) => r.msgPerSec))} msg/s, ${range(
        rs.map((r) => r.cpuUsPerMsg),
        1,
      )} µs CPU/msg, peak RSS ${range(rs.map((r) => r.peakRssMb))} MB\n`,
    );
  }
  for (const raw of ['raw', 'amqplib'] as const) {
    process.stdout.write(`nodes/${LABEL[raw]} per round: throughput ${range(ratios(raw))} %, CPU per message x${range(cpuRatios(raw), 2)}\n`);
  }
  process.stdout.write('targets: >= 15000 msg/s, <= 60 µs CPU/msg, peak RSS <= 160 MB\n');
}

function line(r: Result): string {
  const f = (n: number) => n.toFixed(1).padStart(8);
  return `${r.name.padEnd(22)} ${r.msgPerSec.toFixed(0).padStart(8)} msg/s  ${r.seconds.toFixed(2).padStart(6)} s  ${r.cpuUsPerMsg.toFixed(0).padStart(4)} µs CPU/msg  confirm p50/p99 ${f(r.confirm.p50)}/${f(r.confirm.p99)} ms  end-to-end p50/p99 ${f(r.endToEnd.p50)}/${f(r.endToEnd.p99)} ms`;
}

async function publishCase(queue: string): Promise<void> {
  process.stdout.write(`\nconfirmed publish -> manual-ack consume: ${N} messages of 1 KB, prefetch ${PREFETCH}, both in this process\n`);
  const results: Result[] = [];
  for (let round = 0; round < Math.max(2, ROUNDS - 1); round++) {
    for (const run of [raw, rawAmqplib, nodes]) {
      await purge(queue);
      results.push(await run(queue));
      process.stdout.write(line(results[results.length - 1]) + '\n');
    }
  }
  const of = (name: string) => results.filter((r) => r.name === name).map((r) => r.msgPerSec);
  const best = (name: string) => Math.max(...of(name));
  for (const raw of ['raw rabbitmq-client', 'raw amqplib']) {
    const ratios = of('clinica nodes').map((v, i) => (100 * v) / of(raw)[i]);
    process.stdout.write(
      `best: nodes ${best('clinica nodes').toFixed(0)} msg/s = ${((100 * best('clinica nodes')) / best(raw)).toFixed(0)}% of ${raw} ${best(raw).toFixed(0)} msg/s; per round ${range(ratios)} % (target: >= 90 %)\n`,
    );
  }
}

async function main(): Promise<void> {
  const child = option('child');
  const queue = option('queue', `bench_amqp_${process.pid}`)!;
  if (child) {
    const result = child === 'raw' ? await consumeRawChild(queue) : child === 'amqplib' ? await consumeAmqplibChild(queue) : await consumeNodesChild(queue);
    process.stdout.write(JSON.stringify(result) + '\n');
    return;
  }
  process.stdout.write(`AMQP hot path, RabbitMQ on 127.0.0.1, ${N} messages, prefetch ${PREFETCH}\n`);
  try {
    if (ONLY !== 'publish') await consumeCase(queue);
    if (ONLY !== 'consume') await publishCase(queue);
  } finally {
    await purge(queue);
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`${err.stack ?? err}\n`);
    process.exit(1);
  },
);
