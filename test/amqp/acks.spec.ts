/**
 * The consumer's grouped acks (AckTracker): every delivery is acknowledged exactly once and never before it finished,
 * whatever order the flow finishes them in. First against a model of RabbitMQ's rules for a channel (an ack of a tag
 * that is not outstanding closes the channel with PRECONDITION_FAILED; `multiple` settles every outstanding tag up to
 * it), for random completion orders (fast-check); then against the real broker, with handlers that finish in random
 * order.
 */
import { strict as assert } from 'node:assert';
import type { Channel, Message } from 'amqplib';
import * as fc from 'fast-check';
import { AckTracker, AmqpBroker, type Outcome } from '../../nodes/clients/amqp';
import { AMQP_URL, sleep, uniqueName, waitFor } from '../lib/harness';
import { RabbitTool } from '../lib/rabbit';

/** A channel as RabbitMQ keeps it: outstanding delivery tags, settled by ack (single or multiple) or nack. */
class ModelChannel {
  readonly outstanding = new Set<number>();
  readonly acked: number[] = [];
  readonly requeued: number[] = [];
  frames = 0;
  deliver(tag: number): void {
    this.outstanding.add(tag);
  }
  ack(message: Message, multiple = false): void {
    const tag = message.fields.deliveryTag;
    this.frames += 1;
    if (!this.outstanding.has(tag)) throw new Error(`PRECONDITION_FAILED - unknown delivery tag ${tag}`);
    for (const t of [...this.outstanding]) {
      if (t === tag || (multiple && t < tag)) {
        this.outstanding.delete(t);
        this.acked.push(t);
      }
    }
  }
  nack(message: Message, _multiple = false, requeue = true): void {
    const tag = message.fields.deliveryTag;
    this.frames += 1;
    if (!this.outstanding.has(tag)) throw new Error(`PRECONDITION_FAILED - unknown delivery tag ${tag}`);
    this.outstanding.delete(tag);
    if (requeue) this.requeued.push(tag);
  }
}

const turn = () => new Promise<void>((resolve) => setImmediate(() => setImmediate(resolve)));

describe('amqp consumer acks (grouped, one basic.ack per turn below the first delivery still in the flow)', function () {
  this.timeout(60000);

  it('property: each delivery settled exactly once, never before it finished, for any completion order', async function () {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 60 }).chain((n) =>
          fc.tuple(
            fc.constant(n),
            // the order the flow finishes the deliveries in, the outcome of each, and where turns end
            fc.shuffledSubarray(
              [...Array(n).keys()].map((i) => i + 1),
              { minLength: n, maxLength: n },
            ),
            fc.array(fc.constantFrom<Outcome>('ack', 'ack', 'ack', 'requeue'), { minLength: n, maxLength: n }),
            fc.array(fc.boolean(), { minLength: n, maxLength: n }),
          ),
        ),
        async ([n, order, outcomes, turnAfter]) => {
          const ch = new ModelChannel();
          const acks = new AckTracker(ch as unknown as Channel);
          for (let tag = 1; tag <= n; tag++) {
            ch.deliver(tag);
            acks.received();
          }
          const finished = new Set<number>();
          for (let i = 0; i < n; i++) {
            const tag = order[i];
            finished.add(tag);
            assert.ok(acks.settle(tag, outcomes[tag - 1]));
            // nothing not finished has been settled on the broker
            for (const t of [...ch.acked, ...ch.requeued]) assert.ok(finished.has(t), `tag ${t} settled before it finished`);
            if (turnAfter[i]) await turn();
          }
          await turn();
          assert.ok(acks.alive, 'no ack was refused by the channel');
          assert.equal(ch.outstanding.size, 0, 'every delivery settled');
          assert.equal(acks.open, 0);
          const wanted = (o: Outcome) => [...Array(n).keys()].map((i) => i + 1).filter((t) => outcomes[t - 1] === o);
          assert.deepEqual(
            [...ch.acked].sort((a, b) => a - b),
            wanted('ack'),
          );
          assert.deepEqual(
            [...ch.requeued].sort((a, b) => a - b),
            wanted('requeue'),
          );
        },
      ),
      { numRuns: 300, seed: 16 },
    );
  });

  it('in order, a turn of finished deliveries is one frame', async function () {
    const ch = new ModelChannel();
    const acks = new AckTracker(ch as unknown as Channel);
    for (let tag = 1; tag <= 100; tag++) {
      ch.deliver(tag);
      acks.received();
      acks.settle(tag, 'ack');
    }
    await turn();
    assert.equal(ch.frames, 1);
    assert.equal(ch.outstanding.size, 0);
  });

  it('a delivery finished behind a slow one is acknowledged at once, on its own', async function () {
    const ch = new ModelChannel();
    const acks = new AckTracker(ch as unknown as Channel);
    for (let tag = 1; tag <= 3; tag++) {
      ch.deliver(tag);
      acks.received();
    }
    acks.settle(2, 'ack');
    acks.settle(3, 'ack');
    await turn();
    assert.deepEqual([...ch.outstanding], [1], 'only the slow one is still outstanding');
    acks.settle(1, 'ack');
    await turn();
    assert.equal(ch.outstanding.size, 0);
  });

  it('real RabbitMQ: 3,000 deliveries finished in random order, prefetch 100: each handled once, all acked, the channel never refused an ack', async function () {
    const tool = new RabbitTool();
    const queue = uniqueName('clinica_test_acks');
    const broker = new AmqpBroker({ url: AMQP_URL, connectionName: uniqueName('clinica-test-acks'), topology: null });
    const seen = new Map<number, number>();
    const errors: unknown[] = [];
    const consumer = broker.consume({ queue, prefetch: 100, maxAttempts: 1 }, async (d) => {
      const n = (d.body as { n: number }).n;
      seen.set(n, (seen.get(n) ?? 0) + 1);
      // finish out of order: anywhere from now to 15 ms later
      const wait = n % 7 === 0 ? 15 : n % 3;
      if (wait) await sleep(wait);
    });
    consumer.on('error', (err) => errors.push(err));
    try {
      await new Promise<void>((resolve) => consumer.once('ready', () => resolve()));
      const total = 3000;
      for (let i = 0; i < total; i += 500) {
        await Promise.all(
          Array.from({ length: 500 }, (_, j) => broker.publish({ exchange: '', routingKey: queue, body: { n: i + j }, messageId: `acks-${i + j}` })),
        );
      }
      await waitFor(() => consumer.stats.acked === total, 'every delivery acked', 45000);
      await waitFor(async () => (await tool.depth(queue)) === 0, 'queue empty', 15000);
      await sleep(200);
      assert.deepEqual(errors, [], 'no channel error (an unknown delivery tag would close the channel)');
      assert.equal(seen.size, total);
      assert.deepEqual(
        [...seen.entries()].filter(([, c]) => c > 1),
        [],
        'no delivery handled twice',
      );
      assert.equal(consumer.stats.duplicates, 0, 'no redelivery at all');
    } finally {
      await consumer.close();
      await broker.close();
      await tool.deleteQueues(queue, `${queue}.dlq`);
      await tool.close();
    }
  });
});

describe('amqp consumer: the queue deleted under it', function () {
  this.timeout(60000);

  it('the broker cancels the consumer; it tells it once, declares the queue again and goes on consuming', async function () {
    const tool = new RabbitTool();
    const queue = uniqueName('clinica_test_cancel');
    const broker = new AmqpBroker({ url: AMQP_URL, connectionName: uniqueName('clinica-test-cancel'), topology: null, retryLowMs: 50 });
    const seen: number[] = [];
    const errors: unknown[] = [];
    let ready = 0;
    const consumer = broker.consume({ queue, maxAttempts: 1 }, async (d) => {
      seen.push((d.body as { n: number }).n);
    });
    consumer.on('error', (err) => errors.push(err));
    consumer.on('ready', () => (ready += 1));
    try {
      await waitFor(() => ready === 1, 'consuming', 15000);
      await broker.publish({ exchange: '', routingKey: queue, body: { n: 1 } });
      await waitFor(() => seen.length === 1, 'the first message', 15000);
      await tool.deleteQueues(queue);
      await waitFor(() => ready === 2, 'consuming again after the cancel', 15000);
      await broker.publish({ exchange: '', routingKey: queue, body: { n: 2 } });
      await waitFor(() => seen.length === 2, 'the message after the queue came back', 15000);
      assert.deepEqual(seen, [1, 2]);
      assert.equal(errors.length, 1, 'the cancel told once');
      assert.match(String((errors[0] as Error).message), /cancelled the consumer/);
    } finally {
      await consumer.close();
      await broker.close();
      await tool.deleteQueues(queue, `${queue}.dlq`);
      await tool.close();
    }
  });
});
