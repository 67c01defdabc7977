/**
 * Confirmed publish -> manual-ack consume, 1 KB JSON messages, on the local RabbitMQ:
 *   nodes: clinica-amqp-publish -> broker -> clinica-amqp-consume -> clinica-amqp-ack in a real Node-RED runtime
 *   raw:   rabbitmq-client alone with the same guarantees (publisher confirms, mandatory, persistent, manual ack
 *          after the handler, same prefetch)
 * Run: npm run build && node dist/bench/amqp-throughput.js [messages] [prefetch]
 */
import { performance } from 'node:perf_hooks';
import { Connection, ConsumerStatus } from 'rabbitmq-client';
import { AMQP_URL } from './lib/env';
import { startEmbedded, summarize } from './lib/embedded';

const N = Number(process.argv[2] ?? 20000);
const PREFETCH = Number(process.argv[3] ?? 100);
const FILLER = 'x'.repeat(1024 - 60);

interface Result {
  name: string;
  seconds: number;
  msgPerSec: number;
  confirm: { p50: number; p99: number; max: number };
  endToEnd: { p50: number; p99: number; max: number };
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
  await sub.close();
  await pub.close();
  await conn.close();
  return { name: 'raw rabbitmq-client', seconds, msgPerSec: N / seconds, confirm: summarize(confirms), endToEnd: summarize(e2e) };
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
    for (let i = 0; i < N; i++) pub.receive({ payload: { n: i, t0: performance.now(), filler: FILLER }, messageId: `nodes-${i}` });
    await allConsumed;
    const seconds = (performance.now() - start) / 1000;
    return { name: 'clinica nodes', seconds, msgPerSec: N / seconds, confirm: summarize(confirms), endToEnd: summarize(e2e) };
  } finally {
    await red.stop();
  }
}

function line(r: Result): string {
  const f = (n: number) => n.toFixed(1).padStart(8);
  return `${r.name.padEnd(22)} ${r.msgPerSec.toFixed(0).padStart(8)} msg/s  ${r.seconds.toFixed(2).padStart(6)} s  confirm p50/p99 ${f(r.confirm.p50)}/${f(r.confirm.p99)} ms  end-to-end p50/p99 ${f(r.endToEnd.p50)}/${f(r.endToEnd.p99)} ms`;
}

async function main(): Promise<void> {
  const queue = `bench_amqp_${process.pid}`;
  process.stdout.write(`AMQP confirmed publish -> manual-ack consume: ${N} messages of 1 KB, prefetch ${PREFETCH}, RabbitMQ on 127.0.0.1\n`);
  const results: Result[] = [];
  for (const run of [raw, nodes, raw, nodes]) {
    await purge(queue);
    results.push(await run(queue));
    process.stdout.write(line(results[results.length - 1]) + '\n');
  }
  await purge(queue);
  const best = (name: string) => Math.max(...results.filter((r) => r.name === name).map((r) => r.msgPerSec));
  const rawBest = best('raw rabbitmq-client');
  const nodesBest = best('clinica nodes');
  process.stdout.write(
    `best of 2: nodes ${nodesBest.toFixed(0)} msg/s = ${((100 * nodesBest) / rawBest).toFixed(0)}% of raw ${rawBest.toFixed(0)} msg/s (targets: >= 5000 msg/s, >= 70%)\n`,
  );
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`${err.stack ?? err}\n`);
    process.exit(1);
  },
);
