import { strict as assert } from 'node:assert';
import { generateSecret } from '../../nodes/clients/webhook';
import { valueOf } from '../../nodes/clients/common/metrics';
import { collect, helper, waitFor } from '../lib/harness';
import { Subscriber, hang, reply } from './subscriber';

const deliverNode = require('../../nodes/webhook/webhook-deliver');

type Msg = Record<string, any>;

describe('clinica-webhook-deliver (Node-RED test helper, real local subscriber)', function () {
  const secret = generateSecret();
  let sub: Subscriber;

  before(async function () {
    await new Promise<void>((resolve) => helper.startServer(() => resolve()));
  });
  after(async function () {
    await new Promise<void>((resolve) => helper.stopServer(() => resolve()));
  });
  beforeEach(async function () {
    sub = await new Subscriber(secret).start();
  });
  afterEach(async function () {
    await helper.unload();
    await sub.close();
  });

  const flow = (settings: Msg = {}) => [
    { id: 'tab', type: 'tab' },
    { id: 'hook', z: 'tab', type: 'clinica-webhook-deliver', name: 'alerts', timeout: 10, ...settings, wires: [['out']] },
    { id: 'out', z: 'tab', type: 'helper' },
    { id: 'catcher', z: 'tab', type: 'catch', scope: null, uncaught: false, wires: [['errors']] },
    { id: 'errors', z: 'tab', type: 'helper' },
  ];

  /** Every trace of the run that could leak: log records, status texts, caught errors. */
  function leaks(statuses: unknown[], caught: Msg[]): string {
    const logs = helper.log().args.map((a: unknown[]) => JSON.stringify(a[0]));
    return JSON.stringify({ logs, statuses, errors: caught.map((m) => ({ error: m.error, errorInfo: m.errorInfo })) });
  }

  it('delivers msg.payload signed, sets msg.webhook.result and the timestamp used, and drops the secret', async function () {
    await helper.load(deliverNode, flow());
    const out = collect<Msg>(helper.getNode('out'));
    const hook = helper.getNode('hook');
    const statuses: Msg[] = [];
    hook.on('call:status', (call: { args: [Msg] }) => statuses.push(call.args[0]));
    const event = { type: 'stock.low', product: 'Insulina glargina', quantity: 2 };
    hook.receive({ payload: event, webhook: { url: `${sub.url}/farmacia`, secret, id: 'alert-17' }, correlationId: 'corr-17' });
    await waitFor(() => out.length === 1, 'delivered message');
    const m = out[0];
    assert.equal(m.webhook.result.status, 204);
    assert.equal(m.webhook.result.outcome, 'delivered');
    assert.ok(typeof m.webhook.result.durationMs === 'number');
    assert.deepEqual(Object.keys(m.webhook.result).sort(), ['durationMs', 'outcome', 'status']);
    assert.equal(m.webhook.id, 'alert-17');
    assert.equal(m.webhook.url, `${sub.url}/farmacia`);
    assert.equal(m.webhook.secret, undefined, 'the secret does not travel on');
    assert.equal(String(m.webhook.timestamp), sub.received[0].headers['webhook-timestamp']);
    assert.equal(m.correlationId, 'corr-17');
    assert.ok(sub.received[0].verified, sub.received[0].verifyError);
    assert.deepEqual(JSON.parse(sub.received[0].body), event);
    assert.deepEqual(
      statuses.map((s) => s.text),
      ['status.sending', 'status.delivered'],
    );
    assert.ok(!leaks(statuses, []).includes(secret.slice(6)));
  });

  it('keeps a given timestamp (a number or digits), so the same id and timestamp sign the same', async function () {
    await helper.load(deliverNode, flow());
    const out = collect<Msg>(helper.getNode('out'));
    const ts = Math.floor(Date.now() / 1000) - 30;
    for (const timestamp of [ts, String(ts)]) {
      helper.getNode('hook').receive({ payload: 'same body', webhook: { url: sub.url, secret, id: 'evt-1', timestamp } });
    }
    await waitFor(() => out.length === 2, 'two deliveries');
    assert.deepEqual(
      out.map((m) => m.webhook.timestamp),
      [ts, ts],
    );
    assert.equal(sub.received[0].headers['webhook-signature'], sub.received[1].headers['webhook-signature']);
    assert.ok(sub.received.every((r) => r.verified));
  });

  it('fails through done(err): a Catch node gets the code, retryable and details, and no trace carries the secret', async function () {
    const failuresBefore = valueOf('webhook', 'failures', { node: 'clinica-webhook-deliver' });
    await helper.load(deliverNode, flow({ timeout: 1 }));
    const out = collect<Msg>(helper.getNode('out'));
    const caught = collect<Msg>(helper.getNode('errors'));
    const hook = helper.getNode('hook');
    const statuses: Msg[] = [];
    hook.on('call:status', (call: { args: [Msg] }) => statuses.push(call.args[0]));

    const send = async (webhook: Msg | undefined, n: number) => {
      hook.receive({ payload: { n }, webhook });
      await waitFor(() => caught.length === n, `error ${n} caught`, 5000);
      return caught[n - 1];
    };
    sub.answer(reply(503, { 'retry-after': '7' }, 'maintenance'), reply(410), hang);
    const retry = await send({ url: sub.url, secret, id: 'alert-1' }, 1);
    assert.equal(retry.errorInfo.code, 'WEBHOOK_RETRY');
    assert.equal(retry.errorInfo.system, 'webhook');
    assert.equal(retry.errorInfo.retryable, true);
    assert.equal(retry.errorInfo.details.retryAfterMs, 7000);
    assert.equal(retry.errorInfo.details.responseBody, 'maintenance');
    assert.equal(retry.errorInfo.node.id, 'hook');
    assert.match(retry.error.message, /alert-1.*answered 503/);
    assert.equal(retry.error.source.id, 'hook');

    const gone = await send({ url: sub.url, secret, id: 'alert-2' }, 2);
    assert.deepEqual([gone.errorInfo.code, gone.errorInfo.retryable, gone.errorInfo.details.status], ['WEBHOOK_GONE', false, 410]);

    const started = Date.now();
    const slow = await send({ url: sub.url, secret, id: 'alert-3' }, 3);
    assert.deepEqual([slow.errorInfo.code, slow.errorInfo.retryable], ['WEBHOOK_TIMEOUT', true]);
    assert.ok(Date.now() - started < 2500, 'the 1 s timeout setting holds');

    const missing = await send(undefined, 4);
    assert.deepEqual([missing.errorInfo.code, missing.errorInfo.retryable], ['BAD_INPUT', false]);
    assert.match(missing.error.message, /needs msg\.webhook = \{url, secret, id\}/);

    const wrongSecret = 'whsec_' + 'A'.repeat(5);
    const badSecret = await send({ url: sub.url, secret: wrongSecret, id: 'alert-5' }, 5);
    assert.equal(badSecret.errorInfo.code, 'BAD_INPUT');
    const notHttp = await send({ url: 'mailto:farmacia@example.org', secret, id: 'alert-6' }, 6);
    assert.equal(notHttp.errorInfo.code, 'BAD_INPUT');

    assert.equal(out.length, 0);
    assert.equal(valueOf('webhook', 'failures', { node: 'clinica-webhook-deliver' }) - failuresBefore, 6);
    assert.ok(statuses.some((s) => s.fill === 'red' && s.text === 'WEBHOOK_RETRY'));
    const trace = leaks(statuses, caught);
    assert.ok(trace.includes('WEBHOOK_GONE'), 'the trace holds the errors');
    assert.ok(!trace.includes(secret.slice(6)), 'the secret is in no log, status or error');
    assert.ok(!trace.includes(wrongSecret), 'nor is a malformed one');
  });
});
