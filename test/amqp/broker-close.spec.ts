/**
 * A broker-side close of the consumer's connection under load, in a real Node-RED runtime (every log record
 * kept): the close is told in a couple of lines, not one warning per delivery whose ack failed, and every
 * message is processed — those in hand when the connection went come back as redeliveries.
 */
import { strict as assert } from 'node:assert';
import { Connection } from 'rabbitmq-client';
import { AMQP_URL, sleep, uniqueName, waitFor } from '../lib/harness';
import { RabbitTool, closeConnectionNamed } from '../lib/rabbit';
import { problems, startRuntime, type LogRecord, type Runtime } from '../lib/runtime';
import { deadLetterQueueName, retryQueueName } from '../../nodes/clients/amqp/topology';
import { valueOf } from '../../nodes/clients/common/metrics';

type Msg = { payload: { n: number }; amqp: { redelivered: boolean; messageId: string } };

/** The fields of a pack log record (logEvent puts them on the record's msg; Node-RED turns a warning's into JSON). */
function fieldsOf(r: LogRecord): Record<string, unknown> {
  if (typeof r.msg === 'string') {
    try {
      return JSON.parse(r.msg) as Record<string, unknown>;
    } catch {
      return {};
    }
  }
  return (r.msg ?? {}) as Record<string, unknown>;
}
const eventOf = (r: LogRecord): unknown => fieldsOf(r).event;

describe('amqp consume: broker-side close under load (real RabbitMQ, real Node-RED)', function () {
  this.timeout(120000);
  const tool = new RabbitTool();
  const queue = uniqueName('clinica_test_close');
  const connectionName = uniqueName('clinica-test-close');
  let rt: Runtime | undefined;

  after(async function () {
    await rt?.stop();
    await tool.deleteQueues(queue, retryQueueName(queue, 1), retryQueueName(queue, 2), deadLetterQueueName(queue));
    await tool.close();
  });

  it('logs the close in at most a couple of lines and processes every message (redeliveries come back)', async function () {
    // The queue is full before the consumer starts: it always has a prefetch's worth of deliveries in hand.
    const total = 6000;
    const conn = new Connection({ url: AMQP_URL, connectionName: uniqueName('clinica-test-close-pub') });
    const ch = await conn.acquire();
    await ch.queueDeclare({ queue, durable: true });
    await ch.close();
    const pub = conn.createPublisher({ confirm: true });
    for (let i = 0; i < total; i += 500) {
      await Promise.all(
        Array.from({ length: 500 }, (_, j) =>
          pub.send({ routingKey: queue, durable: true, contentType: 'application/json', messageId: `close-${i + j}` }, { n: i + j, filler: 'x'.repeat(900) }),
        ),
      );
    }
    await pub.close();
    await conn.close();

    rt = await startRuntime(
      [
        { id: 'tab', type: 'tab', label: 'close' },
        { id: 'b', type: 'clinica-amqp-broker', url: AMQP_URL, connectionName, declareTopology: false },
        {
          id: 'sub',
          z: 'tab',
          type: 'clinica-amqp-consume',
          broker: 'b',
          queue,
          prefetch: 100,
          ackMode: 'node',
          maxAttempts: 3,
          retryDelay: 100,
          wires: [['work']],
        },
        // a little asynchronous work, so that many deliveries are in hand when the connection goes
        { id: 'work', z: 'tab', type: 'function', func: 'setTimeout(() => node.send(msg), 40); return null;', outputs: 1, wires: [['done']] },
        { id: 'done', z: 'tab', type: 'clinica-amqp-ack', mode: 'auto' },
      ],
      { logLevel: 'debug' },
    );
    const seen = new Map<number, number>();
    let redelivered = 0;
    rt.getNode('done').on('input', (m: Msg) => {
      seen.set(m.payload.n, (seen.get(m.payload.n) ?? 0) + 1);
      if (m.amqp.redelivered) redelivered += 1;
    });

    await waitFor(() => seen.size >= total / 4, 'a quarter processed', 60000);
    const before = rt.logs.length;
    const duplicatesBefore = valueOf('amqp', 'duplicates_skipped', { queue });
    assert.equal(await closeConnectionNamed(`${connectionName} consumer ${queue}`), 1, 'the consumer connection was closed by the broker');
    await waitFor(() => seen.size === total, 'every message processed', 90000);
    await waitFor(async () => (await tool.depth(queue)) === 0, 'queue empty', 30000);
    await sleep(500);

    const during = rt.logs.slice(before);
    const warnings = problems(during);
    assert.ok(warnings.length <= 2, `at most a couple of warning lines for one close, got ${warnings.length}:\n${warnings.join('\n')}`);
    assert.ok(!warnings.some((w) => w.includes('failed to ack/nack')), 'no warning per failed ack');
    const told = during.filter((r) => eventOf(r) === 'amqp.redelivery-expected');
    assert.equal(told.length, 1, 'the deliveries whose ack failed are told once');
    assert.equal(told[0].level, 40, 'at info: the loss itself is the warning');
    const unacked = told.length ? Number(fieldsOf(told[0]).unacked) : 0;
    const duplicates = valueOf('amqp', 'duplicates_skipped', { queue }) - duplicatesBefore;
    // The deliveries in hand were redelivered: run again when the flow had not finished them, else recognised.
    assert.ok(redelivered + duplicates > 0, 'redeliveries came back');
    assert.ok(unacked > 0, 'deliveries were in hand when the connection went');
    assert.ok(redelivered + duplicates >= unacked, `every unacked delivery came back (${unacked} unacked, ${redelivered} rerun, ${duplicates} recognised)`);
    assert.deepEqual(
      [...seen.entries()].filter(([, c]) => c > 1),
      [],
      'no message processed twice',
    );
    assert.equal(await tool.depth(deadLetterQueueName(queue)), 0);
  });
});
