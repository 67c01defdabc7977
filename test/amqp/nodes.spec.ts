import { strict as assert } from 'node:assert';
import { AMQP_URL, collect, helper, sleep, uniqueName, waitFor } from '../lib/harness';
import { RabbitTool, closeConnectionNamed } from '../lib/rabbit';
import { deadLetterQueueName, retryQueueName } from '../../nodes/clients/amqp/topology';
import { valueOf } from '../../nodes/clients/common/metrics';

const nodes = ['amqp-broker', 'amqp-publish', 'amqp-consume', 'amqp-ack'].map((n) => require(`../../nodes/amqp/${n}`));

const fnNode = require(require.resolve('@node-red/nodes/package.json').replace(/package\.json$/, 'core/function/10-function.js'));

type Msg = Record<string, any>;

describe('amqp nodes (real RabbitMQ, Node-RED test helper)', function () {
  this.timeout(120000);
  const tool = new RabbitTool();
  const queues: string[] = [];

  function newQueue(): string {
    const q = uniqueName('clinica_test_q');
    queues.push(q, retryQueueName(q, 1), retryQueueName(q, 2), retryQueueName(q, 3), deadLetterQueueName(q));
    return q;
  }

  before(async function () {
    await new Promise<void>((resolve) => helper.startServer(() => resolve()));
  });

  afterEach(async function () {
    await helper.unload();
  });

  after(async function () {
    await tool.deleteQueues(...queues);
    await tool.close();
    await new Promise<void>((resolve) => helper.stopServer(() => resolve()));
  });

  /** A consume node declares its queue, retry queues and DLQ when it is ready: publish only after that. */
  const consumerReady = (queue: string) =>
    waitFor(async () => (await tool.exists(queue)) && (await tool.exists(deadLetterQueueName(queue))), `consumer of ${queue} ready`);

  const broker = (id: string, name: string) => ({ id, type: 'clinica-amqp-broker', url: AMQP_URL, connectionName: name, declareTopology: false });

  it('delivers 10,000 confirmed publishes exactly once with manual ack, across a broker-side close of the consumer connection', async function () {
    const queue = newQueue();
    const consumerConn = uniqueName('clinica-test-consumer');
    await helper.load(
      [...nodes, fnNode],
      [
        { id: 'tab', type: 'tab' },
        broker('pubBroker', uniqueName('clinica-test-publisher')),
        broker('subBroker', consumerConn),
        { id: 'pub', z: 'tab', type: 'clinica-amqp-publish', broker: 'pubBroker', exchange: '', routingKey: queue, wires: [['published']] },
        { id: 'published', z: 'tab', type: 'helper' },
        {
          id: 'sub',
          z: 'tab',
          type: 'clinica-amqp-consume',
          broker: 'subBroker',
          queue,
          prefetch: 50,
          ackMode: 'node',
          maxAttempts: 3,
          retryDelay: 100,
          wires: [['work']],
        },
        // a little asynchronous work, so that deliveries are in the flow when the connection goes
        { id: 'work', z: 'tab', type: 'function', func: 'setTimeout(() => node.send(msg), 2); return null;', outputs: 1, wires: [['ack', 'seen']] },
        { id: 'ack', z: 'tab', type: 'clinica-amqp-ack', mode: 'auto' },
        { id: 'seen', z: 'tab', type: 'helper' },
      ],
    );
    const published = collect<Msg>(helper.getNode('published'));
    const seenCount = new Map<string, number>();
    let redelivered = 0;
    helper.getNode('seen').on('input', (m: Msg) => {
      seenCount.set(m.payload.n, (seenCount.get(m.payload.n) ?? 0) + 1);
      if (m.amqp.redelivered) redelivered += 1;
    });

    await consumerReady(queue);
    const total = 10000;
    const pub = helper.getNode('pub');
    for (let i = 0; i < total; i++) {
      pub.receive({ payload: { n: `m${i}`, filler: 'x'.repeat(900) }, messageId: `m${i}` });
      if (i % 500 === 499) await sleep(5);
    }
    await waitFor(() => seenCount.size >= total / 3, 'a third consumed', 60000);
    assert.equal(await closeConnectionNamed(`${consumerConn} consumer ${queue}`), 1, 'the consumer connection was closed by the broker');
    await waitFor(() => published.length === total, 'all publishes confirmed', 60000);
    await waitFor(() => seenCount.size === total, 'every message consumed', 90000);
    await waitFor(async () => (await tool.depth(queue)) === 0, 'queue empty', 30000);
    await sleep(300);
    const duplicates = [...seenCount.entries()].filter(([, c]) => c > 1);
    assert.deepEqual(duplicates, [], 'no message processed twice');
    // The close left deliveries unacknowledged: the broker redelivered them, and each was either run (first
    // time it reached the flow) or recognised as already finished.
    assert.ok(redelivered + valueOf('amqp', 'duplicates_skipped', { queue }) > 0, 'redeliveries happened');
    assert.equal(seenCount.size, total);
    assert.ok(published.every((m) => m.amqp.confirmed === true));
    assert.equal(await tool.depth(deadLetterQueueName(queue)), 0);
  });

  it('retries a failing flow exactly 3 times with back-off, then dead-letters with the reason', async function () {
    const queue = newQueue();
    await helper.load(
      [...nodes, fnNode],
      [
        { id: 'tab', type: 'tab' },
        broker('b', uniqueName('clinica-test')),
        { id: 'pub', z: 'tab', type: 'clinica-amqp-publish', broker: 'b', exchange: '', routingKey: queue, wires: [[]] },
        {
          id: 'sub',
          z: 'tab',
          type: 'clinica-amqp-consume',
          broker: 'b',
          queue,
          prefetch: 5,
          ackMode: 'node',
          maxAttempts: 3,
          retryDelay: 100,
          wires: [['attempts', 'fail']],
        },
        { id: 'attempts', z: 'tab', type: 'helper' },
        { id: 'fail', z: 'tab', type: 'function', func: 'throw new Error("Nextcloud answered 503")', outputs: 1, wires: [[]] },
        { id: 'catcher', z: 'tab', type: 'catch', scope: ['fail'], wires: [['ack']] },
        { id: 'ack', z: 'tab', type: 'clinica-amqp-ack', mode: 'auto' },
      ],
    );
    const attempts = collect<Msg>(helper.getNode('attempts'));
    await consumerReady(queue);
    helper.getNode('pub').receive({ payload: { invoice: 42 }, correlationId: 'corr-42' });
    await waitFor(async () => (await tool.depth(deadLetterQueueName(queue))) === 1, 'dead letter', 20000);
    await sleep(500);
    assert.deepEqual(
      attempts.map((m) => m.amqp.attempt),
      [1, 2, 3],
    );
    assert.ok(attempts.every((m) => m.correlationId === 'corr-42'));
    const [dead] = await tool.drain(deadLetterQueueName(queue));
    assert.deepEqual(dead.body, { invoice: 42 });
    assert.equal(dead.headers?.['x-attempts'], 3);
    assert.match(String(dead.headers?.['x-death-reason']), /Nextcloud answered 503/);
    assert.equal(dead.headers?.['x-original-queue'], queue);
    assert.equal(await tool.depth(queue), 0);
  });

  it('fails a delivery nobody acks within the ack timeout (retryable AMQP_ACK_TIMEOUT): retried, then dead-lettered', async function () {
    const queue = newQueue();
    await helper.load(nodes, [
      { id: 'tab', type: 'tab' },
      broker('b', uniqueName('clinica-test')),
      { id: 'pub', z: 'tab', type: 'clinica-amqp-publish', broker: 'b', exchange: '', routingKey: queue, wires: [[]] },
      // the flow drops the message: nothing acks it
      {
        id: 'sub',
        z: 'tab',
        type: 'clinica-amqp-consume',
        broker: 'b',
        queue,
        ackMode: 'node',
        ackTimeout: 1,
        maxAttempts: 2,
        retryDelay: 100,
        wires: [['attempts']],
      },
      { id: 'attempts', z: 'tab', type: 'helper' },
    ]);
    const attempts = collect<Msg>(helper.getNode('attempts'));
    await consumerReady(queue);
    const started = Date.now();
    helper.getNode('pub').receive({ payload: { dropped: true } });
    await waitFor(async () => (await tool.depth(deadLetterQueueName(queue))) === 1, 'dead letter after two timeouts', 15000);
    const elapsed = Date.now() - started;
    assert.deepEqual(
      attempts.map((m) => m.amqp.attempt),
      [1, 2],
    );
    assert.ok(elapsed >= 2000 && elapsed < 6000, `two timeouts of 1 s (checked each second) took ${elapsed} ms`);
    const [dead] = await tool.drain(deadLetterQueueName(queue));
    assert.equal(dead.headers?.['x-error-code'], 'AMQP_ACK_TIMEOUT');
    assert.match(String(dead.headers?.['x-death-reason']), /not acknowledged by the flow within 1 s/);
  });

  it('dead-letters a non-retryable failure at once', async function () {
    const queue = newQueue();
    await helper.load(
      [...nodes, fnNode],
      [
        { id: 'tab', type: 'tab' },
        broker('b', uniqueName('clinica-test')),
        { id: 'pub', z: 'tab', type: 'clinica-amqp-publish', broker: 'b', exchange: '', routingKey: queue, wires: [[]] },
        {
          id: 'sub',
          z: 'tab',
          type: 'clinica-amqp-consume',
          broker: 'b',
          queue,
          ackMode: 'node',
          maxAttempts: 3,
          retryDelay: 100,
          wires: [['attempts', 'ackreject']],
        },
        { id: 'attempts', z: 'tab', type: 'helper' },
        { id: 'ackreject', z: 'tab', type: 'clinica-amqp-ack', mode: 'reject' },
      ],
    );
    const attempts = collect<Msg>(helper.getNode('attempts'));
    await consumerReady(queue);
    helper.getNode('pub').receive({ payload: 'not for us' });
    await waitFor(async () => (await tool.depth(deadLetterQueueName(queue))) === 1, 'dead letter', 10000);
    assert.equal(attempts.length, 1);
    const [dead] = await tool.drain(deadLetterQueueName(queue));
    assert.equal(dead.headers?.['x-error-code'], 'REJECTED_BY_FLOW');
  });

  it('sends a poison message straight to the DLQ with its reason, without reaching the flow', async function () {
    const queue = newQueue();
    await helper.load(nodes, [
      { id: 'tab', type: 'tab' },
      broker('b', uniqueName('clinica-test')),
      { id: 'sub', z: 'tab', type: 'clinica-amqp-consume', broker: 'b', queue, ackMode: 'node', format: 'json', wires: [['out']] },
      { id: 'out', z: 'tab', type: 'helper' },
    ]);
    const out = collect<Msg>(helper.getNode('out'));
    await consumerReady(queue);
    await tool.publishRaw(queue, Buffer.from('{"invoice": 42,'), { contentType: 'application/json', messageId: 'poison-1' });
    await tool.publishRaw(queue, Buffer.from('plain words'), { messageId: 'poison-2' });
    await waitFor(async () => (await tool.depth(deadLetterQueueName(queue))) === 2, 'two dead letters', 10000);
    assert.equal(out.length, 0);
    const dead = await tool.drain(deadLetterQueueName(queue));
    for (const d of dead) {
      assert.equal(d.headers?.['x-error-code'], 'AMQP_MALFORMED');
      assert.match(String(d.headers?.['x-death-reason']), /not valid JSON/);
    }
    assert.deepEqual(dead.map((d) => d.messageId).sort(), ['poison-1', 'poison-2']);
  });

  it('acks on done() at the end of the flow, and fails on done(err), in ack mode "on done"', async function () {
    const queue = newQueue();
    await helper.load(
      [...nodes, fnNode],
      [
        { id: 'tab', type: 'tab' },
        broker('b', uniqueName('clinica-test')),
        { id: 'pub', z: 'tab', type: 'clinica-amqp-publish', broker: 'b', exchange: '', routingKey: queue, wires: [[]] },
        { id: 'sub', z: 'tab', type: 'clinica-amqp-consume', broker: 'b', queue, ackMode: 'done', maxAttempts: 2, retryDelay: 50, wires: [['fn']] },
        { id: 'fn', z: 'tab', type: 'function', func: 'if (msg.payload.fail) { throw new Error("boom"); } return msg;', outputs: 1, wires: [['out']] },
        { id: 'out', z: 'tab', type: 'helper' },
      ],
    );
    const out = collect<Msg>(helper.getNode('out'));
    await consumerReady(queue);
    helper.getNode('pub').receive({ payload: { fail: false, n: 1 } });
    helper.getNode('pub').receive({ payload: { fail: true, n: 2 } });
    await waitFor(async () => (await tool.depth(deadLetterQueueName(queue))) === 1, 'failing one dead-lettered after 2 attempts', 10000);
    await waitFor(async () => (await tool.depth(queue)) === 0, 'good one acked');
    assert.deepEqual(
      out.map((m) => m.payload.n),
      [1],
    );
    const [dead] = await tool.drain(deadLetterQueueName(queue));
    assert.equal(dead.headers?.['x-attempts'], 2);
  });

  it('acks a consumed message after the flow published a follow-up message (consume -> publish -> ack)', async function () {
    const queue = newQueue();
    const next = newQueue();
    await helper.load(nodes, [
      { id: 'tab', type: 'tab' },
      broker('b', uniqueName('clinica-test')),
      { id: 'pub', z: 'tab', type: 'clinica-amqp-publish', broker: 'b', exchange: '', routingKey: queue, wires: [[]] },
      { id: 'sub', z: 'tab', type: 'clinica-amqp-consume', broker: 'b', queue, ackMode: 'node', ackTimeout: 300, wires: [['notify']] },
      { id: 'notify', z: 'tab', type: 'clinica-amqp-publish', broker: 'b', exchange: '', routingKey: next, wires: [['ack', 'out']] },
      { id: 'ack', z: 'tab', type: 'clinica-amqp-ack', mode: 'auto' },
      { id: 'out', z: 'tab', type: 'helper' },
      { id: 'nextSub', z: 'tab', type: 'clinica-amqp-consume', broker: 'b', queue: next, ackMode: 'node', wires: [[]] },
    ]);
    const out = collect<Msg>(helper.getNode('out'));
    await consumerReady(queue);
    await consumerReady(next);
    helper.getNode('pub').receive({ payload: { invoice: 9 } });
    await waitFor(() => out.length === 1, 'follow-up published');
    assert.equal(out[0].amqp.routingKey, next);
    assert.equal(out[0].amqp.delivery.queue, queue, 'the consumed delivery is kept');
    await sleep(200);
    // Unacked deliveries go back to their queue when the consumer stops: an empty queue after that means acked.
    await helper.unload();
    await sleep(200);
    assert.equal(await tool.depth(queue), 0, 'the consumed message was acked');
    assert.equal(await tool.depth(retryQueueName(queue, 1)), 0);
    assert.equal(await tool.depth(deadLetterQueueName(queue)), 0);
  });

  it('fails a publish to an unbound routing key with AMQP_UNROUTABLE', async function () {
    await helper.load(nodes, [
      { id: 'tab', type: 'tab' },
      broker('b', uniqueName('clinica-test')),
      { id: 'pub', z: 'tab', type: 'clinica-amqp-publish', broker: 'b', exchange: '', routingKey: '', wires: [['out']] },
      { id: 'out', z: 'tab', type: 'helper' },
      { id: 'catcher', z: 'tab', type: 'catch', scope: null, wires: [['errors']] },
      { id: 'errors', z: 'tab', type: 'helper' },
    ]);
    const errors = collect<Msg>(helper.getNode('errors'));
    helper.getNode('pub').receive({ topic: uniqueName('no_such_queue'), payload: {} });
    await waitFor(() => errors.length === 1, 'error caught');
    assert.equal(errors[0].errorInfo.code, 'AMQP_UNROUTABLE');
    assert.equal(errors[0].errorInfo.retryable, false);
  });

  it('starts and stops cleanly with the broker down, and fails publishes with a retryable error', async function () {
    await helper.load(nodes, [
      { id: 'tab', type: 'tab' },
      { id: 'down', type: 'clinica-amqp-broker', url: 'amqp://guest:guest@127.0.0.1:1', connectionName: 'clinica-test-nowhere', publishTimeout: 1500 },
      { id: 'pub', z: 'tab', type: 'clinica-amqp-publish', broker: 'down', routingKey: 'invoice.created', wires: [['out']] },
      { id: 'sub', z: 'tab', type: 'clinica-amqp-consume', broker: 'down', queue: 'invoice_queue', wires: [['out']] },
      { id: 'out', z: 'tab', type: 'helper' },
      { id: 'catcher', z: 'tab', type: 'catch', scope: null, wires: [['errors']] },
      { id: 'errors', z: 'tab', type: 'helper' },
    ]);
    const errors = collect<Msg>(helper.getNode('errors'));
    const statuses: Msg[] = [];
    helper.getNode('pub').on('call:status', (c: { args: [Msg] }) => statuses.push(c.args[0]));
    helper.getNode('pub').receive({ payload: { invoice: 1 } });
    await waitFor(() => errors.length === 1, 'publish failed', 10000);
    assert.equal(errors[0].errorInfo.retryable, true);
    assert.ok(
      statuses.some((s) => s.fill === 'red' || s.fill === 'yellow'),
      'status shows the trouble',
    );
    await helper.unload();
  });
});

describe('amqp dead-letters node (real RabbitMQ): an operator inspects and replays a DLQ', function () {
  this.timeout(60000);
  const tool = new RabbitTool();
  const queue = uniqueName('clinica_test_dlq');
  const dlq = deadLetterQueueName(queue);
  const deadLetters = require('../../nodes/amqp/amqp-dead-letters');
  const brokerNode = require('../../nodes/amqp/amqp-broker');

  before(async function () {
    await new Promise<void>((resolve) => helper.startServer(() => resolve()));
    const ch = await tool.conn.acquire();
    await ch.queueDeclare({ queue, durable: true });
    await ch.queueDeclare({ queue: dlq, durable: true });
    await ch.close();
    for (let i = 1; i <= 3; i++) {
      await tool.publishRaw(dlq, Buffer.from(JSON.stringify({ invoice: i })), {
        messageId: `m-${i}`,
        correlationId: `c-${i}`,
        contentType: 'application/json',
        headers: { 'x-death-reason': 'Nextcloud is unreachable', 'x-error-code': 'NEXTCLOUD_UNREACHABLE', 'x-attempts': 3 },
      });
    }
  });

  after(async function () {
    await helper.unload();
    await tool.deleteQueues(queue, dlq);
    await tool.close();
    await new Promise<void>((resolve) => helper.stopServer(() => resolve()));
  });

  it('inspect lists them with their reason and leaves them in order; replay moves them back, attempts reset', async function () {
    await helper.load(
      [brokerNode, deadLetters],
      [
        { id: 'tab', type: 'tab' },
        { id: 'b', type: 'clinica-amqp-broker', url: AMQP_URL, connectionName: uniqueName('clinica-test-dlq'), declareTopology: false },
        { id: 'dl', z: 'tab', type: 'clinica-amqp-dead-letters', broker: 'b', queue: '', action: 'inspect', limit: 100, wires: [['out']] },
        { id: 'out', z: 'tab', type: 'helper' },
      ],
    );
    const out = collect<Msg>(helper.getNode('out'));
    helper.getNode('dl').receive({ topic: queue });
    await waitFor(() => out.length === 1, 'the inspection');
    assert.deepEqual(
      (out[0].payload as Msg[]).map((d) => [d.messageId, d.code, d.reason, d.attempts, JSON.parse(d.body).invoice]),
      [1, 2, 3].map((i) => [`m-${i}`, 'NEXTCLOUD_UNREACHABLE', 'Nextcloud is unreachable', 3, i]),
    );
    await waitFor(async () => (await tool.depth(dlq)) === 3, 'the dead letters still there');
    helper.getNode('dl').receive({ topic: queue, action: 'replay' });
    await waitFor(() => out.length === 2, 'the replay');
    assert.deepEqual(out[1].payload, { queue, replayed: 3 });
    assert.equal(await tool.depth(dlq), 0);
    const back = await tool.drain(queue);
    assert.deepEqual(
      back.map((m) => [m.messageId, m.headers?.['x-attempts'], m.headers?.['x-replayed']]),
      [1, 2, 3].map((i) => [`m-${i}`, undefined, 1]),
    );
  });
});
