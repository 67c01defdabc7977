import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import {
  AmqpBroker,
  DOCUMENTS_EXCHANGE,
  deadLetterQueueName,
  documentsTopology,
  failureQueues,
  inspectDeadLetters,
  parseQueueType,
  retryQueueName,
  type Delivery,
} from '../../nodes/clients/amqp';
import { IntegrationError } from '../../nodes/clients/common/errors';
import { AMQP_URL, waitFor } from '../lib/harness';

const run = promisify(execFile);

/** name → type of every queue of a vhost, as RabbitMQ itself lists them. */
async function queueTypes(vhost: string): Promise<Map<string, string>> {
  const { stdout } = await run('rabbitmqctl', ['list_queues', '-q', '--no-table-headers', '-p', vhost, 'name', 'type']);
  const types = new Map<string, string>();
  for (const line of stdout.split('\n')) {
    const [name, type] = line.trim().split(/\s+/);
    if (name && type) types.set(name, type);
  }
  return types;
}

describe('quorum queues (AMQP_QUEUE_TYPE=quorum)', function () {
  it('reads the queue type: empty or classic → classic, quorum → quorum, anything else refused', function () {
    assert.equal(parseQueueType(undefined), 'classic');
    assert.equal(parseQueueType(''), 'classic');
    assert.equal(parseQueueType(' Classic '), 'classic');
    assert.equal(parseQueueType('QUORUM'), 'quorum');
    assert.throws(
      () => parseQueueType('stream'),
      (err: IntegrationError) => err.code === 'AMQP_NOT_CONFIGURED' && /classic or quorum/.test(err.message),
    );
  });

  it('declares classic queues exactly as before by default (no x-queue-type), quorum ones with the same dead-letter arguments', function () {
    for (const q of documentsTopology().queues) assert.equal(q.arguments?.['x-queue-type'], undefined, q.queue);
    const classic = failureQueues('q', 3);
    const quorum = failureQueues('q', 3, 'quorum');
    assert.deepEqual(
      quorum.map((q) => q.queue),
      classic.map((q) => q.queue),
    );
    for (const [i, q] of quorum.entries()) {
      assert.equal(q.arguments?.['x-queue-type'], 'quorum');
      assert.equal(q.arguments?.['x-dead-letter-routing-key'], classic[i].arguments?.['x-dead-letter-routing-key']);
    }
  });

  describe('in a scratch vhost of the real RabbitMQ', function () {
    this.timeout(60000);
    const vhost = `clinica-quorum-test-${process.pid}`;
    let broker: AmqpBroker;
    let created = false;

    before(async function () {
      await run('rabbitmqctl', ['add_vhost', vhost]);
      created = true;
      await run('rabbitmqctl', ['set_permissions', '-p', vhost, 'guest', '.*', '.*', '.*']);
      broker = new AmqpBroker({ url: `${AMQP_URL}/${encodeURIComponent(vhost)}`, connectionName: 'clinica-quorum-test', queueType: 'quorum' });
    });

    after(async function () {
      await broker?.close();
      if (created) await run('rabbitmqctl', ['delete_vhost', vhost]).catch(() => undefined);
    });

    it('declares every queue of the topology (consumed, retry, DLQ) as a quorum queue, and again without a conflict', async function () {
      await broker.ensureTopology();
      const types = await queueTypes(vhost);
      const expected = documentsTopology(3, 'quorum').queues.map((q) => q.queue);
      assert.equal(expected.length, 28);
      for (const q of expected) assert.equal(types.get(q), 'quorum', `${q} is a quorum queue`);
      const again = new AmqpBroker({ url: `${AMQP_URL}/${encodeURIComponent(vhost)}`, connectionName: 'clinica-quorum-again', queueType: 'quorum' });
      try {
        await again.ensureTopology();
      } finally {
        await again.close();
      }
    });

    it("a consumer redeclares the topology's quorum queue with the same arguments and its message is processed", async function () {
      await broker.ensureTopology();
      const seen: Delivery[] = [];
      const consumer = broker.consume({ queue: 'invoice_queue', retryDelayMs: 50 }, async (d) => {
        seen.push(d);
      });
      const errors: unknown[] = [];
      consumer.on('error', (err) => errors.push(err));
      try {
        await new Promise<void>((resolve) => consumer.once('ready', resolve));
        await broker.publish({ exchange: DOCUMENTS_EXCHANGE, routingKey: 'invoice.created', body: { invoice: 1 }, messageId: 'q-ok-1' });
        await waitFor(() => seen.length === 1, 'processed');
        assert.deepEqual(seen[0].body, { invoice: 1 });
        await waitFor(() => consumer.stats.acked === 1, 'acked');
        assert.deepEqual(errors, [], 'no PRECONDITION_FAILED');
      } finally {
        await consumer.close();
      }
      assert.equal((await broker.queueDepth('invoice_queue'))?.messages, 0);
    });

    it('fail → retry.1 → retry.2 (message TTL, dead-lettered back) → DLQ with the reason, all through quorum queues', async function () {
      await broker.ensureTopology();
      const attempts: number[] = [];
      const consumer = broker.consume({ queue: 'medical_records_queue', retryDelayMs: 100 }, async (d) => {
        attempts.push(d.attempt);
        throw new IntegrationError('Nextcloud is down', { code: 'NEXTCLOUD_UNREACHABLE', system: 'nextcloud', retryable: true });
      });
      try {
        await new Promise<void>((resolve) => consumer.once('ready', resolve));
        await broker.publish({
          exchange: DOCUMENTS_EXCHANGE,
          routingKey: 'medical.created',
          body: { record: 9 },
          messageId: 'q-fail-9',
          correlationId: 'corr-quorum-9',
        });
        await waitFor(async () => (await broker.queueDepth(deadLetterQueueName('medical_records_queue')))?.messages === 1, 'dead-lettered', 20000);
        assert.deepEqual(attempts, [1, 2, 3]);
        assert.equal(consumer.stats.retried, 2);
        assert.equal(consumer.stats.deadLettered, 1);
        for (const n of [1, 2]) assert.equal((await broker.queueDepth(retryQueueName('medical_records_queue', n)))?.messages, 0);
      } finally {
        await consumer.close();
      }
      const [dead] = await inspectDeadLetters(broker, 'medical_records_queue');
      assert.equal(dead.code, 'NEXTCLOUD_UNREACHABLE');
      assert.equal(dead.attempts, 3);
      assert.match(String(dead.reason), /Nextcloud is down/);
      assert.equal(dead.correlationId, 'corr-quorum-9');
      const types = await queueTypes(vhost);
      for (const q of ['medical_records_queue', retryQueueName('medical_records_queue', 1), deadLetterQueueName('medical_records_queue')]) {
        assert.equal(types.get(q), 'quorum', q);
      }
    });

    it('a non-retryable failure goes to the quorum DLQ at once', async function () {
      let calls = 0;
      const consumer = broker.consume({ queue: 'notification_queue', retryDelayMs: 50 }, async () => {
        calls += 1;
        throw new IntegrationError('no such patient', { code: 'ODOO_NOT_FOUND', system: 'odoo', retryable: false });
      });
      try {
        await new Promise<void>((resolve) => consumer.once('ready', resolve));
        await broker.publish({ exchange: DOCUMENTS_EXCHANGE, routingKey: 'notification.send', body: { n: 1 }, messageId: 'q-nr-1' });
        await waitFor(async () => (await broker.queueDepth(deadLetterQueueName('notification_queue')))?.messages === 1, 'dead-lettered');
        assert.equal(calls, 1);
      } finally {
        await consumer.close();
      }
    });

    it('a classic consumer on a quorum queue is refused by RabbitMQ (why the type reaches the consumer too)', async function () {
      const classic = new AmqpBroker({ url: `${AMQP_URL}/${encodeURIComponent(vhost)}`, connectionName: 'clinica-quorum-classic', topology: null });
      const consumer = classic.consume({ queue: 'invoice_queue' }, async () => undefined);
      try {
        const err = await new Promise<unknown>((resolve) => consumer.once('error', resolve));
        assert.match(String((err as Error).message), /x-queue-type|PRECONDITION_FAILED|inequivalent/i);
      } finally {
        await consumer.close();
        await classic.close();
      }
    });
  });
});
