/**
 * "07a - Alert fan-out (low stock)" and "07b - Alerts API", with "04a" feeding the shared database: the shipped tabs
 * in a real Node-RED against the Odoo peer (its automation rules post to this Node-RED), the Keycloak peer, the
 * real PostgreSQL and RabbitMQ (a scratch vhost), a real SMTP server (the npm smtp-server) and HTTP subscribers
 * that verify every webhook with the npm standardwebhooks package — implementations nobody here wrote.
 */
import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import * as http from 'node:http';
import type * as net from 'node:net';
import { promisify } from 'node:util';
import { Connection } from 'rabbitmq-client';
import { Webhook } from 'standardwebhooks';
import { OdooClient } from '../../nodes/clients/odoo/client';
import { SharedDb } from '../../nodes/clients/shared-db';
import { seedOdoo } from '../../seeds/odoo/seed';
import { AMQP_URL, sleep, uniqueName, waitFor } from '../lib/harness';
import { createTestDatabase, dropTestDatabase } from '../lib/pg';
import { applyInventory, pointAutomationRulesAt } from '../lib/odoo';
import { shippedTabs } from '../lib/flows';
import { startReplica } from '../lib/replica';
import { startRuntime, type Runtime } from '../lib/runtime';
import { KeycloakPeer } from '../../peers/keycloak/keycloak-peer';
import { userToken } from '../../peers/keycloak/user-token';
import { startOdooPeer, type OdooPeer } from '../../peers/odoo';
import { MailSink, type SinkMessage } from '../../peers/smtp/mail-sink';

const run = promisify(execFile);
/** waitFor for a value that is there at last (undefined until then). */
const until = <T>(check: () => Promise<T | undefined>, what: string, timeoutMs = 10000) => waitFor(check, what, timeoutMs, 50) as Promise<T>;
/** The three tabs in one runtime; their config nodes are the same (one id each). */
const flow = shippedTabs('04a - Medical inventory - Odoo to shared database.json', '07a - Alert fan-out (low stock).json', '07b - Alerts API.json');

type Row = Record<string, any>;

interface Hook {
  id: string;
  timestamp: string;
  body: unknown;
  at: number;
}

/** HTTP subscribers on one server: every request verified with standardwebhooks against the subscriber's secret. */
class Subscribers {
  received: Record<string, Hook[]> = {};
  answers: Record<string, number[]> = {};
  secrets: Record<string, string> = {};
  failedVerification: string[] = [];
  tamperedAccepted = 0;
  private hanging: http.ServerResponse[] = [];
  private server = http.createServer((req, res) => {
    const name = (req.url ?? '/').slice(1);
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const headers = {
        'webhook-id': String(req.headers['webhook-id']),
        'webhook-timestamp': String(req.headers['webhook-timestamp']),
        'webhook-signature': String(req.headers['webhook-signature']),
      };
      const wh = new Webhook(this.secrets[name] ?? 'whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA');
      let payload: unknown;
      try {
        payload = wh.verify(body, headers);
      } catch {
        this.failedVerification.push(name);
        res.writeHead(401).end();
        return;
      }
      // The same request with one byte changed must not verify.
      try {
        wh.verify(body.replace(/"quantity":(\d)/, '"quantity":9$1'), headers);
        this.tamperedAccepted++;
      } catch {
        /* expected */
      }
      (this.received[name] ??= []).push({ id: headers['webhook-id'], timestamp: headers['webhook-timestamp'], body: payload, at: Date.now() });
      if (name === 'hang') {
        this.hanging.push(res);
        return;
      }
      const status = this.answers[name]?.shift() ?? 200;
      res.writeHead(status, { 'content-type': 'application/json' }).end(status < 300 ? '{"ok":true}' : '{"error":"no"}');
    });
  });
  url = '';
  async start() {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', () => resolve()));
    this.url = `http://127.0.0.1:${(this.server.address() as net.AddressInfo).port}`;
  }
  async stop() {
    for (const r of this.hanging) r.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

describe('shipped flow: alert fan-out (e-mail, signed webhooks, Odoo activity, queue) and its API', function () {
  this.timeout(120000);
  let peer: OdooPeer;
  let keycloak: KeycloakPeer;
  let odoo: OdooClient;
  let dbUrl: string;
  let db: SharedDb;
  let rt: Runtime;
  let amqpUrl: string;
  let broker: Connection;
  let replicaStop: (() => Promise<void>) | undefined;
  const vhost = uniqueName('clinica-alerts');
  let vhostCreated = false;
  let smtp: MailSink;
  /** Mails of the sinks stopped before (the SMTP server goes down and comes back in a test). */
  const earlierMails: SinkMessage[] = [];
  const subs = new Subscribers();
  const tokens: Record<string, string> = {};
  const subscriberIds: Record<string, number> = {};
  const products: Record<string, { id: number; min: number; tmpl: number }> = {};

  const api = (method: string, route: string, token?: string, body?: unknown) =>
    fetch(`${rt.url}${route}`, {
      method,
      headers: { ...(token ? { Authorization: `Bearer ${token}` } : {}), ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  /** An inventory adjustment in Odoo, as a user applies it: the automation rule posts to flow 04a at once. */
  const countStock = (productId: number, quantity: number) => applyInventory(odoo, productId, quantity);
  const alertsOf = async (productId: number) =>
    (
      await db.query(
        'SELECT id, crossing, stock_quantity::float AS qty, min_stock_level::float AS min, correlation_id, published_at, rearmed_at FROM stock_alerts WHERE odoo_product_id = $1 ORDER BY id',
        [productId],
      )
    ).rows;
  const delivery = async (alertId: number, channel: string, subscriber = 0) =>
    (await db.query('SELECT * FROM alert_deliveries WHERE alert_id = $1 AND channel = $2 AND subscriber_id = $3', [alertId, channel, subscriber])).rows[0] as
      Row | undefined;
  const attempts = async (alertId: number, channel: string, subscriber = 0) =>
    (
      await db.query('SELECT * FROM alert_delivery_attempts WHERE alert_id = $1 AND channel = $2 AND subscriber_id = $3 ORDER BY attempt', [
        alertId,
        channel,
        subscriber,
      ])
    ).rows as Row[];
  const delivered = (alertId: number, channel: string, subscriber = 0, timeout = 20000) =>
    waitFor(
      async () => (await delivery(alertId, channel, subscriber))?.state === 'delivered',
      `alert ${alertId} delivered on ${channel}/${subscriber}`,
      timeout,
      50,
    );
  const mailsOf = (alertId: number) => [...earlierMails, ...smtp.messages].filter((m) => m.messageId === `<stock-alert-${alertId}@clinica-integration>`);
  const hooksOf = (name: string, alertId: number) => (subs.received[name] ?? []).filter((h) => h.id === `stock-alert-${alertId}`);
  const activitiesOf = async (tmpl: number, alertId?: number) =>
    (
      await odoo.searchRead('mail.activity', {
        domain: [
          ['res_model', '=', 'product.template'],
          ['res_id', '=', tmpl],
        ],
        fields: ['summary', 'user_id', 'active'],
        context: { active_test: false },
      })
    ).filter((a) => alertId === undefined || String(a.summary).includes(`[stock-alert-${alertId}]`));
  const fire = async (base: string, injectId: string) => assert.equal((await fetch(`${base}/admin/inject/${injectId}`, { method: 'POST' })).status, 200);
  /** Messages of a queue of the scratch vhost, taken (acked). */
  const drain = async (queue: string) => {
    const ch = await broker.acquire();
    const out: Row[] = [];
    try {
      for (;;) {
        const m = await ch.basicGet({ queue, noAck: true });
        if (!m) break;
        out.push({
          messageId: m.messageId,
          routingKey: m.routingKey,
          body: Buffer.isBuffer(m.body) || typeof m.body === 'string' ? JSON.parse(String(m.body)) : m.body,
        });
      }
    } finally {
      await ch.close();
    }
    return out;
  };
  /** Lowers a medication under its minimum in Odoo and waits for its alert. */
  const lower = async (code: string, crossings: number): Promise<Row> => {
    const p = products[code];
    await countStock(p.id, Math.max(0, p.min - 3));
    return waitFor(
      async () => {
        const all = await alertsOf(p.id);
        return all.length === crossings ? all[crossings - 1] : undefined;
      },
      `alert ${crossings} of ${code}`,
      15000,
      50,
    ) as Promise<Row>;
  };
  const restore = async (code: string) => {
    const p = products[code];
    await countStock(p.id, p.min + 20);
    await waitFor(async () => (await alertsOf(p.id)).every((a) => a.rearmed_at), `${code} re-armed`, 15000, 50);
  };

  before(async function () {
    peer = await startOdooPeer({ version: 18 });
    odoo = new OdooClient({ url: peer.url, db: peer.db, username: peer.admin.login, apiKey: peer.admin.apiKey, retryDelayMs: 10 });
    await seedOdoo({ client: odoo, nodeRedUrl: 'http://127.0.0.1:9' });
    for (const code of ['MED-001', 'MED-002', 'MED-003', 'MED-004', 'MED-005']) {
      const [p] = await odoo.searchRead('product.product', { domain: [['default_code', '=', code]], fields: ['product_tmpl_id'] });
      const [rule] = await odoo.searchRead('stock.warehouse.orderpoint', { domain: [['product_id', '=', p.id]], fields: ['product_min_qty'] });
      products[code] = { id: p.id, tmpl: (p.product_tmpl_id as [number, string])[0], min: Number(rule.product_min_qty) };
    }
    // Every medication starts well above its minimum: only what a test does raises an alert.
    for (const p of Object.values(products)) await countStock(p.id, p.min + 20);
    keycloak = await KeycloakPeer.start();
    for (const u of ['farmacia.prueba', 'medico.prueba', 'admin.clinica']) tokens[u] = (await userToken(keycloak, u)).access_token;
    dbUrl = await createTestDatabase();
    db = new SharedDb({ url: dbUrl });
    await run('rabbitmqctl', ['add_vhost', vhost]);
    vhostCreated = true;
    await run('rabbitmqctl', ['set_permissions', '-p', vhost, 'guest', '.*', '.*', '.*']);
    amqpUrl = `${AMQP_URL}/${encodeURIComponent(vhost)}`;
    broker = new Connection({ url: amqpUrl, connectionName: 'alerts-flow-test' });
    smtp = await MailSink.start();
    await subs.start();
    rt = await startRuntime(flow, {
      env: {
        ODOO_URL: peer.url,
        ODOO_DB: peer.db,
        ODOO_USERNAME: peer.admin.login,
        ODOO_API_KEY: peer.admin.apiKey,
        SHARED_DB_URL: dbUrl,
        AMQP_URL: amqpUrl,
        KEYCLOAK_URL: keycloak.baseUrl,
        KEYCLOAK_REALM: 'clinica-realm',
        SMTP_HOST: '127.0.0.1',
        SMTP_PORT: String(smtp.port),
        SMTP_SECURE: 'none',
        SMTP_FROM: 'Clínica <integracion@clinica.test>',
        ALERT_EMAIL_TO: 'farmacia@clinica.test',
        ALERT_ODOO_USER: peer.admin.login,
        ODOO_PUBLIC_URL: 'https://erp.clinica.test',
      },
    });
    // From now on Odoo's automation rules call this Node-RED.
    await pointAutomationRulesAt(odoo, rt.url);
    // The shared DB holds every medication, above its minimum (the reconcile at start).
    await waitFor(
      async () => Number((await db.query('SELECT count(*) AS n FROM shared_medications WHERE stock_quantity >= min_stock_level')).rows[0].n) >= 5,
      'medications synced',
      30000,
      100,
    );
    // Subscribers through the API, as an admin would: the server makes each secret and shows it once.
    for (const name of ['ok', 'flaky', 'gone', 'hang']) {
      const res = await api('POST', '/api/webhook-subscribers', tokens['admin.clinica'], { url: `${subs.url}/${name}`, description: `test ${name}` });
      assert.equal(res.status, 201, await res.clone().text());
      const body = ((await res.json()) as Row).data as Row;
      assert.match(String(body.secret), /^whsec_/, JSON.stringify(body));
      subs.secrets[name] = body.secret;
      subscriberIds[name] = body.id;
    }
    await drain('notification_queue');
  });

  after(async function () {
    await replicaStop?.();
    await rt?.stop();
    await broker?.close();
    odoo?.close();
    await peer?.stop();
    await keycloak?.close();
    await smtp?.stop();
    await subs.stop();
    await db?.close();
    if (dbUrl) await dropTestDatabase(dbUrl).catch(() => undefined);
    if (vhostCreated) await run('rabbitmqctl', ['delete_vhost', vhost]).catch(() => undefined);
  });

  let first: Row;

  it('stock lowered under its minimum in Odoo → one alert, one e-mail, one verified webhook per subscriber, one Odoo activity, one queue message', async function () {
    subs.answers.flaky = [500, 500];
    subs.answers.gone = [410];
    const p = products['MED-001'];
    const started = Date.now();
    first = await lower('MED-001', 1);
    assert.equal(first.crossing, 1);
    assert.ok(first.qty < first.min);
    assert.ok(first.correlation_id, 'the alert keeps the correlation id of the change that caused it');

    await delivered(first.id, 'email');
    await delivered(first.id, 'odoo');
    await delivered(first.id, 'webhook', subscriberIds.ok);
    await delivered(first.id, 'queue');
    // A subscriber that hangs delays nobody: the others were delivered within seconds, it is still pending.
    assert.ok(Date.now() - started < 8000, `delivered after ${Date.now() - started} ms`);
    assert.notEqual((await delivery(first.id, 'webhook', subscriberIds.hang))?.state, 'delivered');
    assert.equal(hooksOf('hang', first.id).length, 1);

    const [mail] = mailsOf(first.id);
    assert.equal(mailsOf(first.id).length, 1);
    assert.deepEqual(mail.to, ['farmacia@clinica.test']);
    assert.equal(mail.from, 'integracion@clinica.test');
    assert.match(mail.raw, /https:\/\/erp\.clinica\.test\/odoo\/product\.product\/\d+/);
    const email = await delivery(first.id, 'email');
    assert.match(String(email?.last_answer), /^250/);

    const [hook] = hooksOf('ok', first.id);
    assert.equal(hooksOf('ok', first.id).length, 1);
    const body = hook.body as Row;
    assert.deepEqual(
      [body.event, body.id, body.medication.odooProductId, body.quantity, body.minimum],
      ['stock.low', `stock-alert-${first.id}`, p.id, first.qty, first.min],
    );
    assert.equal(subs.failedVerification.length, 0);
    assert.equal(subs.tamperedAccepted, 0, 'a tampered body fails the subscriber verification');

    const acts = await activitiesOf(p.tmpl, first.id);
    assert.equal(acts.length, 1);
    assert.equal((await delivery(first.id, 'odoo'))?.external_id, `mail.activity,${acts[0].id}`);

    const queued = await until<Row[]>(async () => {
      const got = await drain('notification_queue');
      return got.length ? got : undefined;
    }, 'the notification_queue message');
    assert.deepEqual(
      queued.map((m) => [m.messageId, m.body.id]),
      [[`stock-alert-${first.id}`, `stock-alert-${first.id}`]],
    );
  });

  it('a subscriber answering 500 twice then 200 is delivered on the third attempt, three audit rows; 410 fails at once', async function () {
    await delivered(first.id, 'webhook', subscriberIds.flaky, 30000);
    const rows = await attempts(first.id, 'webhook', subscriberIds.flaky);
    assert.deepEqual(
      rows.map((r) => [r.attempt, r.outcome, r.http_status]),
      [
        [1, 'retry', 500],
        [2, 'retry', 500],
        [3, 'delivered', 200],
      ],
    );
    assert.ok(rows[0].next_retry_at && rows[0].duration_ms !== null);
    const hooks = hooksOf('flaky', first.id);
    assert.equal(hooks.length, 3);
    assert.equal(new Set(hooks.map((h) => h.id)).size, 1, 'a retry keeps the webhook-id (receivers dedupe on it)');

    const gone = await until<Row>(async () => {
      const d = await delivery(first.id, 'webhook', subscriberIds.gone);
      return d?.state === 'failed' ? d : undefined;
    }, 'the 410 delivery failed');
    assert.equal(gone.attempts, 1);
    assert.equal(gone.last_status, 410);
    assert.deepEqual(
      (await attempts(first.id, 'webhook', subscriberIds.gone)).map((r) => [r.outcome, r.http_status]),
      [['failed', 410]],
    );
  });

  it('the next poll and a reconcile add nothing: no second alert, e-mail, webhook or activity', async function () {
    const p = products['MED-001'];
    await fire(rt.url, 'inv.poll.medications');
    await fire(rt.url, 'inv.reconcile');
    await sleep(3000);
    assert.equal((await alertsOf(p.id)).length, 1);
    assert.equal(mailsOf(first.id).length, 1);
    assert.equal(hooksOf('ok', first.id).length, 1);
    assert.equal((await activitiesOf(p.tmpl)).length, 1);
  });

  it('the API: alerts with sent / failed / last attempt per channel (farmacia, admin), every attempt, roles enforced', async function () {
    assert.equal((await api('GET', '/api/alerts')).status, 401);
    assert.equal((await api('GET', '/api/alerts', tokens['medico.prueba'])).status, 403);
    const res = await api('GET', `/api/alerts?medication=${products['MED-001'].id}`, tokens['farmacia.prueba']);
    assert.equal(res.status, 200);
    const [a] = ((await res.json()) as Row).data as Row[];
    assert.equal(a.id, Number(first.id));
    assert.equal(a.open, true);
    assert.equal(a.channels.email.state, 'delivered');
    assert.equal(a.channels.odoo.state, 'delivered');
    assert.equal(a.channels.queue.state, 'delivered');
    assert.ok(a.channels.webhook.delivered >= 2 && a.channels.webhook.failed === 1, JSON.stringify(a.channels.webhook));
    const one = await api('GET', `/api/alerts/${first.id}/deliveries`, tokens['admin.clinica']);
    assert.equal(one.status, 200);
    const detail = ((await one.json()) as Row).data as Row;
    assert.ok(
      detail.attempts.filter((t: Row) => t.channel === 'webhook' && t.subscriberId === subscriberIds.flaky).length === 3,
      JSON.stringify(detail.attempts),
    );
    assert.equal((await api('GET', '/api/alerts/999999/deliveries', tokens['admin.clinica'])).status, 404);
    assert.equal((await api('GET', '/api/alerts?limit=5000', tokens['admin.clinica'])).status, 400);
    // Subscribers: admins only, never their secret.
    assert.equal((await api('GET', '/api/webhook-subscribers', tokens['farmacia.prueba'])).status, 403);
    const list = ((await (await api('GET', '/api/webhook-subscribers', tokens['admin.clinica'])).json()) as Row).data as Row[];
    assert.equal(list.length, 4);
    assert.ok(list.every((s) => !('secret' in s)));
    assert.equal((await api('POST', '/api/webhook-subscribers', tokens['admin.clinica'], { url: 'ftp://x' })).status, 400);
    // Both lists carry a strong ETag: the same list again is 304 with no body.
    for (const route of ['/api/alerts', '/api/webhook-subscribers']) {
      const listed = await api('GET', route, tokens['admin.clinica']);
      const etag = String(listed.headers.get('etag'));
      assert.match(etag, /^"[A-Za-z0-9_-]{32}"$/, route);
      const same = await fetch(`${rt.url}${route}`, { headers: { Authorization: `Bearer ${tokens['admin.clinica']}`, 'If-None-Match': etag } });
      assert.equal(same.status, 304, route);
      assert.equal(await same.text(), '');
    }
  });

  it('a replay (admin) re-sends a failed delivery once; a delivered one is refused (409)', async function () {
    assert.equal((await api('POST', `/api/alerts/${first.id}/replay`, tokens['farmacia.prueba'], { channel: 'email' })).status, 403);
    const refused = await api('POST', `/api/alerts/${first.id}/replay`, tokens['admin.clinica'], { channel: 'webhook', subscriberId: subscriberIds.ok });
    assert.equal(refused.status, 409);
    const res = await api('POST', `/api/alerts/${first.id}/replay`, tokens['admin.clinica'], { channel: 'webhook', subscriberId: subscriberIds.gone });
    assert.equal(res.status, 202, await res.clone().text());
    await delivered(first.id, 'webhook', subscriberIds.gone);
    assert.equal(hooksOf('gone', first.id).length, 2);
    const d = await delivery(first.id, 'webhook', subscriberIds.gone);
    assert.equal(d?.replays, 1);
    assert.equal(hooksOf('ok', first.id).length, 1);
  });

  it('stock restored, then lowered again → a second alert, delivered again; a deleted subscriber gets nothing', async function () {
    assert.equal((await api('DELETE', `/api/webhook-subscribers/${subscriberIds.hang}`, tokens['admin.clinica'])).status, 200);
    assert.equal((await api('DELETE', `/api/webhook-subscribers/${subscriberIds.hang}`, tokens['admin.clinica'])).status, 404);
    await restore('MED-001');
    const second = await lower('MED-001', 2);
    assert.equal(second.crossing, 2);
    await delivered(second.id, 'email');
    await delivered(second.id, 'webhook', subscriberIds.ok);
    await delivered(second.id, 'odoo');
    assert.equal(mailsOf(second.id).length, 1);
    assert.equal((await activitiesOf(products['MED-001'].tmpl)).length, 2);
    await sleep(500);
    assert.equal(hooksOf('hang', second.id).length, 0);
  });

  it('SMTP server down → the e-mail is retried (each attempt audited), then delivered when it is back; the other channels do not wait', async function () {
    const port = smtp.port;
    await smtp.stop();
    earlierMails.push(...smtp.messages);
    const alert = await lower('MED-002', 1);
    await delivered(alert.id, 'webhook', subscriberIds.ok);
    const failing = await until<Row>(async () => (await attempts(alert.id, 'email')).find((r) => r.outcome === 'retry'), 'a failed e-mail attempt', 20000);
    assert.equal(failing.error_code, 'SMTP_UNREACHABLE');
    assert.ok(failing.next_retry_at);
    assert.equal(mailsOf(alert.id).length, 0);
    smtp = await MailSink.start({ port });
    await delivered(alert.id, 'email', 0, 40000);
    assert.equal(mailsOf(alert.id).length, 1);
    const rows = await attempts(alert.id, 'email');
    assert.ok(rows.length >= 2 && rows.at(-1)?.outcome === 'delivered');
  });

  it('two Node-RED runtimes on the same database and broker: still one alert per crossing, one e-mail, one activity', async function () {
    const replica = await startReplica(flow);
    replicaStop = replica.stop;
    const childUrl = replica.url;
    const p = products['MED-003'];
    // Both runtimes read the change: the first through Odoo's webhook, the second through its poll and a reconcile.
    await countStock(p.id, Math.max(0, p.min - 3));
    await fire(childUrl, 'inv.poll.medications');
    await fire(childUrl, 'inv.reconcile');
    await fire(rt.url, 'inv.reconcile');
    const [alert] = await until<Row[]>(async () => {
      const a = await alertsOf(p.id);
      return a.length ? a : undefined;
    }, 'the alert of MED-003');
    await delivered(alert.id, 'email');
    await delivered(alert.id, 'odoo');
    await delivered(alert.id, 'webhook', subscriberIds.ok);
    await sleep(3000);
    assert.equal((await alertsOf(p.id)).length, 1);
    assert.equal(mailsOf(alert.id).length, 1);
    assert.equal(hooksOf('ok', alert.id).length, 1);
    assert.equal((await activitiesOf(p.tmpl, alert.id)).length, 1);
    await replica.stop();
    replicaStop = undefined;
  });
});
