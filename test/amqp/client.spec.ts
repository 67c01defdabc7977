import { strict as assert } from 'node:assert';
import {
  AmqpBroker,
  DOCUMENT_QUEUES,
  DOCUMENTS_EXCHANGE,
  deadLetterQueueName,
  retryQueueName,
  replayDeadLetters,
  type Delivery,
} from '../../nodes/clients/amqp';
import { IntegrationError } from '../../nodes/clients/common/errors';
import { AMQP_URL, uniqueName, waitFor } from '../lib/harness';
import { RabbitTool } from '../lib/rabbit';

describe('amqp client (real RabbitMQ)', function () {
  this.timeout(30000);
  const tool = new RabbitTool();
  let broker: AmqpBroker;
  const cleanup: string[] = [];

  before(function () {
    broker = new AmqpBroker({ url: AMQP_URL, connectionName: uniqueName('clinica-test-client') });
  });

  after(async function () {
    await broker.close();
    await tool.deleteQueues(...cleanup);
    await tool.close();
  });

  it('declares the documents topology of docs/mission.md, with retry queues and DLQs', async function () {
    await broker.ensureTopology();
    for (const { queue } of DOCUMENT_QUEUES) {
      for (const q of [queue, retryQueueName(queue, 1), retryQueueName(queue, 2), deadLetterQueueName(queue)]) {
        assert.ok(await tool.exists(q), `${q} exists`);
      }
    }
    // Each routing key reaches its queue: a mandatory publish would fail as unroutable otherwise.
    for (const { routingKey } of DOCUMENT_QUEUES) {
      const messageId = uniqueName('probe');
      await broker.publish({ exchange: DOCUMENTS_EXCHANGE, routingKey, body: { probe: true }, messageId, expirationMs: 1 });
    }
  });

  it('declaring the topology again is harmless', async function () {
    const again = new AmqpBroker({ url: AMQP_URL, connectionName: uniqueName('clinica-test-client') });
    try {
      await again.ensureTopology();
    } finally {
      await again.close();
    }
  });

  it('replays dead letters back into their queue, where they are processed', async function () {
    const queue = uniqueName('clinica_test_replay');
    cleanup.push(queue, retryQueueName(queue, 1), deadLetterQueueName(queue));
    let healthy = false;
    const processed: Delivery[] = [];
    const consumer = broker.consume({ queue, maxAttempts: 2, retryDelayMs: 20 }, async (d) => {
      if (!healthy) throw new IntegrationError('Nextcloud is down', { code: 'NEXTCLOUD_UNREACHABLE', system: 'nextcloud', retryable: true });
      processed.push(d);
    });
    try {
      await waitFor(() => tool.exists(deadLetterQueueName(queue)), 'consumer ready');
      await broker.publish({ exchange: '', routingKey: queue, body: { invoice: 7 }, messageId: 'invoice-7' });
      await waitFor(async () => (await tool.depth(deadLetterQueueName(queue))) === 1, 'dead-lettered after 2 attempts');
      assert.equal(consumer.stats.retried, 1);
      assert.equal(consumer.stats.deadLettered, 1);

      healthy = true;
      assert.equal(await replayDeadLetters(broker, queue), 1);
      await waitFor(() => processed.length === 1, 'replayed message processed');
      assert.deepEqual(processed[0].body, { invoice: 7 });
      assert.equal(processed[0].attempt, 1, 'attempts start again');
      assert.equal(processed[0].headers['x-replayed'], 1);
      assert.equal(await tool.depth(deadLetterQueueName(queue)), 0);
    } finally {
      await consumer.close();
    }
  });

  it('recognises a re-published duplicate by message id and does not run the handler twice', async function () {
    const queue = uniqueName('clinica_test_dedupe');
    cleanup.push(queue, retryQueueName(queue, 1), retryQueueName(queue, 2), deadLetterQueueName(queue));
    const seen: string[] = [];
    const consumer = broker.consume({ queue }, async (d) => {
      seen.push(String(d.messageId));
    });
    try {
      await waitFor(() => tool.exists(deadLetterQueueName(queue)), 'consumer ready');
      await broker.publish({ exchange: '', routingKey: queue, body: 'a', messageId: 'same-event' });
      await waitFor(() => seen.length === 1, 'first');
      await broker.publish({ exchange: '', routingKey: queue, body: 'a', messageId: 'same-event' });
      await waitFor(() => consumer.stats.duplicates === 1, 'duplicate recognised');
      assert.deepEqual(seen, ['same-event']);
    } finally {
      await consumer.close();
    }
  });

  it('a publish to an exchange that does not exist fails at once with AMQP_NOT_FOUND (not retried as a lost connection), and the next publish works', async function () {
    const started = Date.now();
    await assert.rejects(
      broker.publish({ exchange: uniqueName('clinica_no_such_exchange'), routingKey: 'k', body: { a: 1 } }),
      (err: IntegrationError) => err.code === 'AMQP_NOT_FOUND' && err.retryable === false && /no exchange/.test(err.message),
    );
    assert.ok(Date.now() - started < 5000, 'answered at once');
    const queue = uniqueName('clinica_test_after_404');
    cleanup.push(queue);
    await broker.withChannel((ch) => ch.assertQueue(queue, { durable: true }));
    const ok = await broker.publish({ exchange: '', routingKey: queue, body: { after: true } });
    assert.equal(ok.routingKey, queue);
  });
});
