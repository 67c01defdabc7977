/**
 * The alert fan-out's rules alone (nodes/domain/alerts.ts): the event every channel sends, what each channel makes
 * of it, an attempt as an audit row, and the alerts API's requests checked.
 */
import { strict as assert } from 'node:assert';
import { Webhook } from 'standardwebhooks';
import { type IntegrationError } from '../../nodes/clients/common/errors';
import {
  activityRequest,
  alertAnswer,
  alertEmail,
  alertEvent,
  alertListParams,
  attemptParams,
  channelSummary,
  checkAlertEvent,
  checkReplayRequest,
  checkSubscriberRequest,
  deliveryTarget,
  outboxMessages,
  pharmacyLink,
  replayMessage,
  subscriberAnswer,
  webhookFanout,
  webhookRequest,
  type AlertRow,
} from '../../nodes/domain/alerts';
import { STEPS } from '../../nodes/flow/steps';

const row: AlertRow = {
  id: '12',
  medication_id: 3,
  odoo_product_id: 41,
  medication_name: 'Amoxicilina <500 mg>',
  crossing: 2,
  stock_quantity: '4.000',
  min_stock_level: '10.000',
  raised_at: new Date('2026-12-01T10:00:00.123Z'),
  correlation_id: 'corr-1',
};
const codeOf = (fn: () => unknown) => {
  try {
    fn();
  } catch (e) {
    return (e as IntegrationError).code;
  }
  return 'no error';
};

describe('alert fan-out rules', function () {
  it('an alert row becomes one event: its key, numbers as numbers, the shortage, the cause', function () {
    const e = alertEvent(row);
    assert.deepEqual(e, {
      event: 'stock.low',
      id: 'stock-alert-12',
      alert: { id: 12, crossing: 2, raisedAt: '2026-12-01T10:00:00.123Z', correlationId: 'corr-1' },
      medication: { id: 3, odooProductId: 41, name: 'Amoxicilina <500 mg>' },
      quantity: 4,
      minimum: 10,
      shortage: 6,
    });
    assert.deepEqual(checkAlertEvent(JSON.parse(JSON.stringify(e))), e);
    const [m] = outboxMessages([{ ...row, correlation_id: null }], 'sweep-1');
    assert.equal(m.messageId, 'stock-alert-12');
    assert.equal(m.correlationId, 'sweep-1');
  });

  it('a malformed channel message is BAD_INPUT (dead-lettered with the reason), never half-sent', function () {
    const e = alertEvent(row);
    assert.equal(
      codeOf(() => checkAlertEvent('x')),
      'BAD_INPUT',
    );
    assert.equal(
      codeOf(() => checkAlertEvent({ ...e, event: 'other' })),
      'BAD_INPUT',
    );
    assert.equal(
      codeOf(() => checkAlertEvent({ ...e, id: 'stock-alert-13' })),
      'BAD_INPUT',
    );
    assert.equal(
      codeOf(() => checkAlertEvent({ ...e, quantity: 'many' })),
      'BAD_INPUT',
    );
    assert.equal(
      codeOf(() => deliveryTarget('documents_queue', e)),
      'BAD_INPUT',
    );
    assert.equal(
      codeOf(() => deliveryTarget('webhook_delivery_queue', e)),
      'BAD_INPUT',
    );
    assert.deepEqual(deliveryTarget('alert_email_queue', e), { channel: 'email', subscriberId: 0, event: e });
    assert.deepEqual(deliveryTarget('webhook_delivery_queue', { subscriberId: 5, alert: e }), { channel: 'webhook', subscriberId: 5, event: e });
  });

  it('webhooks fan out to the subscribers not yet delivered, one message id per alert and subscriber', function () {
    const e = alertEvent(row);
    const out = webhookFanout(e, [
      { id: 1, state: 'pending' },
      { id: 2, state: 'delivered' },
      { id: 3, state: 'failed' },
    ]);
    assert.deepEqual(
      out.map((m) => [m.topic, m.messageId, m.payload.subscriberId]),
      [
        ['webhook.deliver', 'stock-alert-12.webhook.1', 1],
        ['webhook.deliver', 'stock-alert-12.webhook.3', 3],
      ],
    );
    assert.deepEqual(webhookRequest(e, { id: 1, url: 'http://h/x', secret: 'whsec_a', active: true }), { url: 'http://h/x', secret: 'whsec_a', id: e.id });
    assert.equal(
      codeOf(() => webhookRequest(e, { id: 1, url: 'http://h/x', secret: 'whsec_a', active: false })),
      'WEBHOOK_SUBSCRIBER_INACTIVE',
    );
    assert.equal(
      codeOf(() => webhookRequest(e, undefined)),
      'WEBHOOK_SUBSCRIBER_INACTIVE',
    );
  });

  it('the e-mail names medication, quantity, minimum and the pharmacy link; HTML is escaped; Message-ID is the alert', function () {
    const e = alertEvent(row);
    const link = pharmacyLink(e, { ODOO_PUBLIC_URL: 'https://erp.clinica.example/' });
    assert.equal(link, 'https://erp.clinica.example/odoo/product.product/41');
    assert.equal(pharmacyLink(e, { ALERT_LINK_URL: 'https://x/{odoo_product_id}/{alert_id}' }), 'https://x/41/12');
    const mail = alertEmail(e, link);
    assert.match(mail.subject, /Amoxicilina <500 mg> \(4 < 10\)/);
    assert.match(mail.text, /quedan 4, mínimo 10 \(faltan 6\)/);
    assert.match(mail.text, /https:\/\/erp\.clinica\.example\/odoo\/product\.product\/41/);
    assert.ok(mail.html.includes('Amoxicilina &lt;500 mg&gt;') && !mail.html.includes('<500'));
    assert.equal(mail.messageId, '<stock-alert-12@clinica-integration>');
    const act = activityRequest(e, 'compras');
    assert.equal(act.key, 'stock-alert-12');
    assert.equal(act.user, 'compras');
    assert.ok(act.note.includes('&lt;500 mg&gt;'));
  });

  it('an attempt becomes one audit row: delivered, retry with the next delay (Retry-After honoured), failed at the last', function () {
    const target = { channel: 'webhook' as const, subscriberId: 4, event: alertEvent(row) };
    const ok = attemptParams({ target, webhook: { result: { status: 204, durationMs: 12.4 } }, correlationId: 'c' });
    assert.deepEqual(ok, [12, 'webhook', 4, 'delivered', 204, null, 12, null, null, null, null, 'c']);
    const retry = attemptParams({
      target,
      errorInfo: { code: 'WEBHOOK_RETRY', retryable: true, message: '503', details: { status: 503, retryAfterMs: 7000, responseBody: 'busy' } },
      amqp: { attempt: 1, maxAttempts: 3, retryDelayMs: 1000 },
    });
    assert.deepEqual(retry.slice(3, 10), ['retry', 503, 'busy', null, 7000, 'WEBHOOK_RETRY', '503']);
    const last = attemptParams({
      target,
      errorInfo: { code: 'WEBHOOK_RETRY', retryable: true, details: { status: 500 } },
      amqp: { attempt: 3, maxAttempts: 3 },
    });
    assert.equal(last[3], 'failed');
    assert.equal(last[7], null);
    const gone = attemptParams({
      target,
      errorInfo: { code: 'WEBHOOK_GONE', retryable: false, details: { status: 410 } },
      amqp: { attempt: 1, maxAttempts: 8 },
    });
    assert.deepEqual(gone.slice(3, 5), ['failed', 410]);
    const mail = attemptParams({
      target: { ...target, channel: 'email', subscriberId: 0 },
      email: { result: { response: '250 OK queued', messageId: '<m>', durationMs: 3 } },
    });
    assert.deepEqual(mail.slice(3, 7), ['delivered', null, '250 OK queued', 3]);
    assert.equal(mail[10], '<m>');
    const odoo = attemptParams({ target: { ...target, channel: 'odoo', subscriberId: 0 }, odoo: { id: 77, created: false }, startedAt: 1000 }, 1050);
    assert.deepEqual([odoo[5], odoo[6], odoo[10]], ['already there', 50, 'mail.activity,77']);
  });

  it('the API: list filters checked, channels summed, replays never send a delivered one twice, subscribers without secrets', function () {
    assert.deepEqual(alertListParams({ open: 'true', medication: '41', limit: '10' }).params, [true, 41, 10, 0]);
    assert.equal(
      codeOf(() => alertListParams({ open: 'yes' })),
      'BAD_INPUT',
    );
    assert.equal(
      codeOf(() => alertListParams({ limit: '500' })),
      'BAD_INPUT',
    );
    const summary = channelSummary([
      { channel: 'email', subscriber_id: 0, state: 'delivered', attempts: 2, last_attempt_at: 't2', last_status: null, last_error: null, delivered_at: 't2' },
      { channel: 'webhook', subscriber_id: 1, state: 'delivered', attempts: 1, last_attempt_at: 't1', last_status: 200, last_error: null, delivered_at: 't1' },
      { channel: 'webhook', subscriber_id: 2, state: 'failed', attempts: 1, last_attempt_at: 't3', last_status: 410, last_error: 'gone', delivered_at: null },
      { channel: 'webhook', subscriber_id: 3, state: 'retrying', attempts: 2, last_attempt_at: 't0', last_status: 500, last_error: 'x', delivered_at: null },
    ]);
    assert.equal(summary.email.state, 'delivered');
    assert.deepEqual([summary.webhook.delivered, summary.webhook.failed, summary.webhook.pending, summary.webhook.lastAttemptAt], [1, 1, 1, 't3']);
    assert.equal(alertAnswer({ id: 1, rearmed_at: null, deliveries: [] }).open, true);

    assert.deepEqual(checkReplayRequest('12', { channel: 'webhook', subscriberId: 3 }), { alertId: 12, channel: 'webhook', subscriberId: 3 });
    assert.equal(
      codeOf(() => checkReplayRequest('12', { channel: 'webhook' })),
      'BAD_INPUT',
    );
    assert.equal(
      codeOf(() => checkReplayRequest('x', { channel: 'email' })),
      'BAD_INPUT',
    );
    assert.equal(
      codeOf(() => checkReplayRequest('12', { channel: 'email', force: true })),
      'BAD_INPUT',
    );
    const req = { alertId: 12, channel: 'webhook' as const, subscriberId: 3 };
    assert.equal(
      codeOf(() => replayMessage(req, undefined)),
      'NOT_FOUND',
    );
    assert.equal(
      codeOf(() => replayMessage(req, { previous_state: 'delivered', alert: row, replays: 1 })),
      'CONFLICT',
    );
    const again = replayMessage(req, { previous_state: 'failed', alert: row, replays: 2 });
    assert.deepEqual([again.topic, again.messageId], ['webhook_delivery_queue', 'stock-alert-12.webhook.3.replay-2']);

    assert.deepEqual(checkSubscriberRequest({ url: 'https://hooks.example/x' }), {
      url: 'https://hooks.example/x',
      eventTypes: ['stock.low'],
      description: null,
    });
    for (const bad of [
      { url: 'ftp://x' },
      { url: 'https://u:p@x/' },
      { url: 'https://x/', eventTypes: ['other'] },
      { url: 'https://x/', secret: 'mine' },
      {},
    ]) {
      assert.equal(
        codeOf(() => checkSubscriberRequest(bad)),
        'BAD_INPUT',
        JSON.stringify(bad),
      );
    }
    assert.ok(!('secret' in subscriberAnswer({ id: 1, url: 'u', secret: 'whsec_x' })));
  });

  it('subscriber.create makes a secret an off-the-shelf Standard Webhooks library accepts', function () {
    const msg = STEPS['subscriber.create'].run(
      { payload: { url: 'https://hooks.example/a' }, user: { username: 'admin.clinica' } },
      undefined as never,
    ) as Record<string, unknown>;
    const secret = msg.secret as string;
    assert.match(secret, /^whsec_[A-Za-z0-9+/=]{32,}$/);
    const wh = new Webhook(secret);
    const body = JSON.stringify({ hello: 'world' });
    const at = new Date();
    const signature = wh.sign('msg_1', at, body);
    wh.verify(body, { 'webhook-id': 'msg_1', 'webhook-timestamp': String(Math.floor(at.getTime() / 1000)), 'webhook-signature': signature });
    assert.deepEqual((msg.params as unknown[]).slice(2), [['stock.low'], null, 'admin.clinica']);
  });
});
