/**
 * "01 - Document storage (Odoo to Nextcloud)" and "02 - Asynchronous documents (RabbitMQ)", the shipped flows, run
 * together end to end: the Odoo peer seeded with the clinic (posted invoices, medical records, prescriptions and
 * the automation rules that call the flow's webhooks), the Nextcloud peer, the Keycloak peer, and the machine's
 * real RabbitMQ in a scratch vhost (the flow declares the mission's fixed exchange and queue names there).
 */
import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { AmqpBroker, replayDeadLetters } from '../../nodes/clients/amqp';
import { OdooClient } from '../../nodes/clients/odoo/client';
import { valueOf } from '../../nodes/clients/common/metrics';
import { seedOdoo } from '../../seeds/odoo/seed';
import { SharedDb } from '../../nodes/clients/shared-db';
import { AMQP_URL, uniqueName, waitFor } from '../lib/harness';
import { createTestDatabase, dropTestDatabase } from '../lib/pg';
import { draftInvoices, pipelineEnv } from '../lib/pipeline';
import { pointAutomationRulesAt } from '../lib/odoo';
import { startRuntime, type Runtime } from '../lib/runtime';
import { KeycloakPeer } from '../../peers/keycloak/keycloak-peer';
import { userToken } from '../../peers/keycloak/user-token';
import { NextcloudPeer } from '../../peers/nextcloud/peer';
import { makePdf, startOdooPeer, type OdooPeer, type Rec } from '../../peers/odoo';

const run = promisify(execFile);
const flowsDir = path.resolve(__dirname, '..', '..', '..', 'flows');
const STORAGE = '01 - Document storage (Odoo to Nextcloud).json';
const ASYNC = '02 - Asynchronous documents (RabbitMQ).json';

/** Both tabs in one runtime, as `npm start` runs the flows folder (a config node shared by both files is taken once). */
function bothTabs(): Array<Record<string, unknown>> {
  const seen = new Set<string>();
  const nodes: Array<Record<string, unknown>> = [];
  for (const file of [STORAGE, ASYNC]) {
    for (const n of JSON.parse(fs.readFileSync(path.join(flowsDir, file), 'utf8')) as Array<Record<string, unknown>>) {
      if (seen.has(n.id as string)) continue;
      // The shipped consumers ride out a minute of outage (6 attempts from 2 s); here 3 from 1 s keep the test short.
      if (n.type === 'clinica-amqp-consume' && n.queue !== 'notification_queue') Object.assign(n, { maxAttempts: 3, retryDelay: 1000 });
      seen.add(n.id as string);
      nodes.push(n);
    }
  }
  return nodes;
}

const FOLDERS: Record<string, string> = { 'account.move': 'Facturas', x_medical_record: 'Historiales', x_prescription: 'Recetas' };
const NC_USER = 'alice';
const SLOW = 60000;

describe('shipped flows: document storage + asynchronous documents (Odoo, Nextcloud, Keycloak peers, real RabbitMQ)', function () {
  this.timeout(180000);
  let odoo: OdooPeer;
  let client: OdooClient;
  let nc: NextcloudPeer;
  let kc: KeycloakPeer;
  let rt: Runtime;
  let dbUrl: string;
  let db: SharedDb;
  let broker: AmqpBroker;
  const vhost = uniqueName('clinica-docs');
  let vhostCreated = false;

  const record = (model: string, id: number): Rec | undefined => odoo.records(model).find((r) => r.id === id);
  /** Chatter messages of a record that say where its document is (the flow's note). */
  const notes = (model: string, id: number) =>
    odoo.records('mail.message').filter((m) => m.model === model && m.res_id === id && String(m.body).includes('Nextcloud'));
  const logText = () => rt.logs.map((r) => (typeof r.msg === 'string' ? r.msg : JSON.stringify(r.msg)));
  const notificationsFor = (model: string, id: number) =>
    logText().filter((l) => l.includes('"event":"notification.received"') && l.includes(`"messageId":"notification-${model}-${id}"`));
  const isStored = (model: string, id: number) => Boolean(record(model, id)?.x_nextcloud_url);

  async function attachPdf(model: string, id: number, name: string): Promise<number> {
    return client.create('ir.attachment', {
      name: `${name}.pdf`,
      datas: makePdf(`${name}`, ['Clínica Universitaria']).toString('base64'),
      mimetype: 'application/pdf',
      res_model: model,
      res_id: id,
    });
  }

  /** The document is in its patient's folder once, Odoo holds its path and link, ONE note says so, and it was notified. */
  function assertStoredOnce(model: string, id: number): { path: string; url: string } {
    const rec = record(model, id) as Rec;
    const nextcloudPath = String(rec.x_nextcloud_path);
    const patient = (model === 'account.move' ? rec.partner_id : rec.x_patient_id) as number;
    const folder = `/Documentos_Clinicos/Pacientes/${patient}/${FOLDERS[model]}`;
    assert.equal(path.posix.dirname(nextcloudPath), folder, `${model} ${id} is in its patient's folder`);
    const file = path.posix.basename(nextcloudPath);
    assert.match(file, model === 'account.move' ? /^INV_\d{4}_\d+\.pdf$/ : new RegExp(`_${id}\\.pdf$`));
    const onDisk = nc.diskPath(NC_USER, nextcloudPath) as string;
    assert.equal(fs.readFileSync(onDisk).subarray(0, 5).toString('latin1'), '%PDF-', `${nextcloudPath} holds the PDF`);
    const stem = file.replace(/\.pdf$/, '');
    assert.deepEqual(
      fs.readdirSync(path.dirname(onDisk)).filter((f) => f === file || f.startsWith(`${stem} (`)),
      [file],
      `${file} stored once (no "(2)" copy)`,
    );
    assert.equal(nc.shares.list(NC_USER, nextcloudPath).length, 0, `no share made for ${nextcloudPath} (Nextcloud allows 20 per 10 minutes)`);
    assert.equal(String(rec.x_nextcloud_url), `${nc.url}/index.php/f/${fs.statSync(onDisk).ino}`, 'Odoo holds the internal link of the file');
    const said = notes(model, id);
    assert.equal(said.length, 1, `ONE chatter note on ${model} ${id}`);
    assert.ok(
      String(said[0].body).includes(nextcloudPath) && String(said[0].body).includes(String(rec.x_nextcloud_url)),
      'the note names the path and the link',
    );
    assert.ok(notificationsFor(model, id).length >= 1, `notification_queue heard about ${model} ${id}`);
    return { path: nextcloudPath, url: String(rec.x_nextcloud_url) };
  }

  /** The dead letters of a queue: read and left there (the channel closes without acking them), or taken out. */
  async function deadLetters(queue: string, take = false): Promise<Array<{ messageId?: string; correlationId?: string; headers: Record<string, unknown> }>> {
    const out: Array<{ messageId?: string; correlationId?: string; headers: Record<string, unknown> }> = [];
    await broker.withChannel(async (ch) => {
      for (;;) {
        const m = await ch.get(`${queue}.dlq`, { noAck: take });
        if (!m) break;
        const p = m.properties;
        out.push({
          messageId: p.messageId as string | undefined,
          correlationId: p.correlationId as string | undefined,
          headers: (p.headers ?? {}) as Record<string, unknown>,
        });
      }
    });
    return out;
  }

  const dlqDepth = async (queue: string) => (await broker.queueDepth(`${queue}.dlq`))?.messages ?? 0;

  async function postInvoices(n: number, partnerId: number): Promise<number[]> {
    const ids = await client.create('account.move', draftInvoices(partnerId, n));
    // Posted all at once: each post sends its webhook inside its own transaction.
    await Promise.all(ids.map((id) => client.call('account.move', 'action_post', [[id]])));
    return ids;
  }

  const webhookOf = (id: number) => odoo.webhooks.filter((w) => w.payload._id === id && new URL(w.url).pathname === '/odoo/webhook/invoice');
  const patientIds = () =>
    odoo
      .records('res.partner')
      .filter((p) => p.x_is_patient)
      .map((p) => p.id as number);

  before(async function () {
    odoo = await startOdooPeer();
    client = new OdooClient({ url: odoo.url, db: odoo.db, username: odoo.admin.login, apiKey: odoo.admin.apiKey, retryDelayMs: 10 });
    // Webhooks of the seeding itself go nowhere (a closed port), as if Node-RED had been down.
    await seedOdoo({ client, nodeRedUrl: 'http://127.0.0.1:9', patients: 20, doctors: 3, medications: 5, appointments: 5, invoices: 6 });
    // Medical records and prescriptions bring their PDF as an attachment (custom models have no printed report).
    for (const model of ['x_medical_record', 'x_prescription']) {
      for (const r of odoo.records(model)) await attachPdf(model, r.id as number, String(r.x_name));
    }
    nc = await new NextcloudPeer().start();
    kc = await KeycloakPeer.start();
    await run('rabbitmqctl', ['add_vhost', vhost]);
    vhostCreated = true;
    await run('rabbitmqctl', ['set_permissions', '-p', vhost, 'guest', '.*', '.*', '.*']);
    const amqpUrl = `${AMQP_URL}/${encodeURIComponent(vhost)}`;
    dbUrl = await createTestDatabase();
    db = new SharedDb({ url: dbUrl });
    rt = await startRuntime(bothTabs(), {
      // The shared DB keeps each correlation id's path (trace_events) and answers GET /api/documents/:patientId; the
      // Odoo password opens the web session of the report route: invoice PDFs without marking them sent.
      env: pipelineEnv({ odoo, nc, kc, amqpUrl, dbUrl, ncUser: NC_USER }),
    });
    broker = new AmqpBroker({ url: amqpUrl, connectionName: 'documents-flow-test' });
    // From now on Odoo's automation rules call this Node-RED.
    await pointAutomationRulesAt(client, rt.url);
  });

  after(async function () {
    await rt?.stop();
    await broker?.close();
    client?.close();
    await odoo?.stop();
    await nc?.close();
    await kc?.close();
    await db?.close();
    if (dbUrl) await dropTestDatabase(dbUrl).catch(() => undefined);
    if (vhostCreated) await run('rabbitmqctl', ['delete_vhost', vhost]).catch(() => undefined);
  });

  it('stores every document that was there before the flow started (reconciliation poll): file, link, ONE note, notified', async function () {
    const invoices = odoo
      .records('account.move')
      .filter((m) => m.move_type === 'out_invoice' && m.state === 'posted')
      .map((m) => m.id as number);
    const recs = odoo.records('x_medical_record').map((r) => r.id as number);
    const prescriptions = odoo.records('x_prescription').map((r) => r.id as number);
    assert.deepEqual([invoices.length, recs.length, prescriptions.length], [6, 10, 10]);
    const all = [
      ...invoices.map((id) => ['account.move', id] as const),
      ...recs.map((id) => ['x_medical_record', id] as const),
      ...prescriptions.map((id) => ['x_prescription', id] as const),
    ];
    await waitFor(() => all.every(([m, id]) => isStored(m, id) && notificationsFor(m, id).length), 'the 26 seeded documents stored and notified', SLOW, 100);
    for (const [m, id] of all) assertStoredOnce(m, id);
  });

  it('10 invoices posted at once: every webhook answered 202, each stored once with its link and ONE note, and notified', async function () {
    const [patient] = patientIds();
    const readsBefore = odoo.calls.filter((c) => c.method === 'read' && c.model === 'account.move').length;
    const ids = await postInvoices(10, patient);
    for (const id of ids) {
      const sent = webhookOf(id);
      assert.equal(sent.length, 1, `one webhook for invoice ${id}`);
      assert.equal(sent[0].status, 202, `Odoo got its answer for invoice ${id}: ${sent[0].error ?? ''}`);
    }
    await waitFor(
      () => ids.every((id) => isStored('account.move', id) && notificationsFor('account.move', id).length),
      '10 invoices stored and notified',
      SLOW,
      100,
    );
    const paths = ids.map((id) => assertStoredOnce('account.move', id).path);
    assert.equal(new Set(paths).size, 10, 'ten different files');
    // The chain reads each invoice once: the PDF node takes the record the chain read (no second read).
    assert.equal(odoo.calls.filter((c) => c.method === 'read' && c.model === 'account.move').length - readsBefore, 10, 'one read of account.move per invoice');

    // The path of one invoice's correlation id through the systems, as the monitor (tab 08b) shows it:
    // Odoo's webhook confirmed by the trigger → queue → Odoo (PDF) → Nextcloud → Odoo (link, note) → queue
    // (notification) → ack.
    const [first] = ids;
    const steps = await waitFor(
      async () => {
        const cid = (
          await db.query<{ correlation_id: string }>(`SELECT correlation_id FROM trace_events WHERE node_type = 'clinica-odoo' AND step LIKE $1 LIMIT 1`, [
            `%account.move message_post ${first}`,
          ])
        ).rows[0]?.correlation_id;
        if (!cid) return undefined;
        const rows = (
          await db.query<{ system: string; step: string; ok: boolean }>('SELECT system, step, ok FROM trace_events WHERE correlation_id = $1 ORDER BY at, id', [
            cid,
          ])
        ).rows;
        return rows.some((r) => /ack.*invoice_queue/.test(r.step)) ? rows : undefined;
      },
      'the trace of the first invoice',
      SLOW,
      200,
    );
    const path_ = (steps ?? []).map((r) => `${r.system}: ${r.step}`).join(' → ');
    const where = (re: RegExp) => (steps ?? []).findIndex((r) => re.test(r.step));
    const order = [/invoice\.created/, /upload/, /message_post/, /notification\.send/, /ack.*invoice_queue/].map(where);
    assert.ok(
      order.every((i) => i >= 0),
      `every stage is on the path: ${path_}`,
    );
    assert.deepEqual(
      [...order].sort((x, y) => x - y),
      order,
      `queue → Nextcloud → Odoo note → notification → ack: ${path_}`,
    );
    assert.ok(
      (steps ?? []).every((r) => r.ok),
      `every step succeeded: ${path_}`,
    );
  });

  it('REST entry: 401 without a token, 403 for another role, 400 for a bad body, stores on demand, 404 for no such record', async function () {
    const post = (body: unknown, token?: string, headers: Record<string, string> = {}) =>
      fetch(`${rt.url}/api/documents/store`, {
        method: 'POST',
        body: JSON.stringify(body),
        headers: { 'Content-Type': 'application/json', ...(token ? { Authorization: `Bearer ${token}` } : {}), ...headers },
      });
    const none = await post({ model: 'x_prescription', id: 1 });
    assert.equal(none.status, 401);
    assert.match(String(none.headers.get('www-authenticate')), /Bearer/);
    const medico = (await userToken(kc, 'medico.prueba')).access_token;
    const farmacia = (await userToken(kc, 'farmacia.prueba')).access_token;
    assert.equal((await post({ model: 'x_prescription', id: 1 }, farmacia)).status, 403);
    assert.equal((await post({ model: 'x_prescription' }, medico)).status, 400);

    // A prescription Odoo never announced (old, its webhook lost, before the poll's cursor): stored when asked.
    const patient = patientIds()[3];
    const id = odoo.insert('x_prescription', {
      x_name: 'REC-MANUAL',
      x_patient_id: patient,
      x_date: '2024-01-10',
      write_date: '2024-01-10 09:00:00',
      create_date: '2024-01-10 09:00:00',
    });
    await attachPdf('x_prescription', id, 'REC-MANUAL');
    const res = await post({ model: 'x_prescription', id }, medico, { 'X-Correlation-Id': 'rest-docs-1' });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('x-correlation-id'), 'rest-docs-1');
    const body = (await res.json()) as { data: { path: string; url: string; password?: string; linked: string; chatter: string; stored: string } };
    assert.equal(body.data.path, `/Documentos_Clinicos/Pacientes/${patient}/Recetas/REC-MANUAL_${id}.pdf`);
    assert.deepEqual([body.data.stored, body.data.linked, body.data.chatter], ['created', 'now', 'posted']);
    const rec = record('x_prescription', id) as Rec;
    assert.deepEqual([rec.x_nextcloud_path, rec.x_nextcloud_url], [body.data.path, body.data.url]);
    assert.equal(notes('x_prescription', id).length, 1);

    // Asked again: the same answer, nothing new anywhere.
    const again = (await (await post({ model: 'x_prescription', id }, medico)).json()) as typeof body;
    assert.deepEqual(
      [again.data.path, again.data.url, again.data.stored, again.data.linked, again.data.chatter],
      [body.data.path, body.data.url, 'skipped', 'before', 'already'],
    );
    assert.equal(again.data.password, undefined);
    assert.equal(notes('x_prescription', id).length, 1);
    assert.equal(nc.shares.list(NC_USER, body.data.path).length, 0);

    const missing = await post({ model: 'account.move', id: 987650 }, medico);
    assert.equal(missing.status, 404);
    assert.match(String(missing.headers.get('content-type')), /^application\/problem\+json/);
    assert.equal(((await missing.json()) as { code: string }).code, 'ODOO_MISSING_RECORD');
    const wrongModel = await post({ model: 'res.partner', id: patient }, medico);
    assert.equal(wrongModel.status, 400);
  });

  it('a webhook is answered 202 while Nextcloud is stopped; the message is retried and stored once Nextcloud is back', async function () {
    await nc.stop();
    let id = 0;
    try {
      [id] = await postInvoices(1, patientIds()[1]);
      assert.equal(webhookOf(id)[0]?.status, 202, 'Odoo did not wait for Nextcloud');
      await waitFor(
        () => logText().some((l) => l.includes('"event":"amqp.retry"') && l.includes(`"messageId":"account.move-${id}"`)),
        `a retry of account.move-${id}`,
        SLOW,
        20,
      );
    } finally {
      await nc.start();
    }
    await waitFor(
      () => isStored('account.move', id) && notificationsFor('account.move', id).length,
      `invoice ${id} stored after Nextcloud came back`,
      SLOW,
      100,
    );
    assertStoredOnce('account.move', id);
    assert.equal(await dlqDepth('invoice_queue'), 0);
  });

  it('with Nextcloud down past the 3 attempts the message is dead-lettered; replayed once it is back, it is stored once', async function () {
    await nc.stop();
    let id = 0;
    try {
      [id] = await postInvoices(1, patientIds()[2]);
      assert.equal(webhookOf(id)[0]?.status, 202);
      await waitFor(async () => (await dlqDepth('invoice_queue')) === 1, 'the invoice in invoice_queue.dlq', SLOW, 100);
    } finally {
      await nc.start();
    }
    // The DLQ can show the copy a moment before the consumer has its confirm and logs the dead letter.
    const dead = await waitFor(
      () => logText().find((l) => l.includes('"event":"amqp.dead-letter"') && l.includes(`"messageId":"account.move-${id}"`)),
      'the dead letter logged',
      10000,
      20,
    ).catch(() => undefined);
    assert.ok(dead && dead.includes('"attempt":3') && /ECONNREFUSED|UNREACHABLE/i.test(dead), `dead-lettered after 3 attempts with the reason: ${dead}`);
    assert.equal(isStored('account.move', id), false);
    assert.equal(await replayDeadLetters(broker, 'invoice_queue'), 1);
    await waitFor(() => isStored('account.move', id) && notificationsFor('account.move', id).length, `invoice ${id} stored after the replay`, SLOW, 100);
    assertStoredOnce('account.move', id);
  });

  it('a retry after the upload gets a new rendering of the invoice (Odoo stamps each with its time): the stored file is kept, linked and noted once', async function () {
    // Odoo refuses the write of path and link (the client's three attempts): the delivery is retried a second later,
    // the report is rendered again with another /CreationDate, and the upload meets the file of the first attempt.
    odoo.failNext({ kind: 'http503', method: 'write', model: 'account.move', times: 3 });
    const [id] = await postInvoices(1, patientIds()[5]);
    await waitFor(
      () => logText().some((l) => l.includes('"event":"amqp.retry"') && l.includes(`"messageId":"account.move-${id}"`)),
      `a retry of account.move-${id}`,
      SLOW,
      20,
    );
    await waitFor(
      async () => (isStored('account.move', id) && notificationsFor('account.move', id).length) || (await dlqDepth('invoice_queue')) > 0,
      `invoice ${id} stored or dead-lettered`,
      SLOW,
      100,
    );
    assert.equal(await dlqDepth('invoice_queue'), 0, 'not dead-lettered');
    assertStoredOnce('account.move', id);
  });

  it('a medical record created before its PDF is attached is dead-lettered with the reason; attached and replayed, it is stored once', async function () {
    const patient = patientIds()[4];
    const id = await client.create('x_medical_record', { x_name: 'HC-NUEVA', x_patient_id: patient, x_date: '2025-06-21 09:30:00', x_diagnosis: 'Control' });
    assert.equal(odoo.webhooks.find((w) => w.payload._id === id && w.url.endsWith('/odoo/webhook/medical-record'))?.status, 202);
    await waitFor(async () => (await dlqDepth('medical_records_queue')) === 1, 'the record in medical_records_queue.dlq', SLOW, 100);
    const [dead] = await deadLetters('medical_records_queue');
    assert.equal(dead.messageId, `x_medical_record-${id}`);
    assert.equal(dead.headers['x-error-code'], 'ODOO_PDF_UNAVAILABLE');
    assert.equal(dead.headers['x-attempts'], 1, 'not retryable: dead-lettered at once');
    assert.match(String(dead.headers['x-death-reason']), new RegExp(`x_medical_record ${id} has no PDF attachment`));
    // The operator attaches the PDF and replays the dead letter.
    await attachPdf('x_medical_record', id, 'HC-NUEVA');
    await waitFor(async () => (await dlqDepth('medical_records_queue')) === 1, 'the dead letter back in place after reading it', SLOW, 50);
    assert.equal(await replayDeadLetters(broker, 'medical_records_queue'), 1);
    await waitFor(() => isStored('x_medical_record', id) && notificationsFor('x_medical_record', id).length, `record ${id} stored after the replay`, SLOW, 100);
    assertStoredOnce('x_medical_record', id);
  });

  it('a message for a record that does not exist goes to the DLQ at once with its reason', async function () {
    await broker.publish({
      exchange: 'documents_exchange',
      routingKey: 'invoice.created',
      body: { model: 'account.move', id: 987654 },
      messageId: 'account.move-987654',
      correlationId: 'ghost-1',
    });
    await waitFor(async () => (await dlqDepth('invoice_queue')) === 1, 'the ghost invoice in invoice_queue.dlq', SLOW, 100);
    const [dead] = await deadLetters('invoice_queue', true);
    assert.equal(dead.messageId, 'account.move-987654');
    assert.equal(dead.headers['x-error-code'], 'ODOO_MISSING_RECORD');
    assert.equal(dead.headers['x-attempts'], 1);
    assert.equal(dead.correlationId, 'ghost-1');
    assert.match(String(dead.headers['x-death-reason']), /987654/);
  });

  it('a duplicate message, a redelivery and a replayed webhook create no second file, share or note', async function () {
    const [id] = odoo
      .records('account.move')
      .filter((m) => m.move_type === 'out_invoice' && m.x_nextcloud_url)
      .map((m) => m.id as number);
    const before = assertStoredOnce('account.move', id);
    const record0 = { ...record('account.move', id) };
    const notified = notificationsFor('account.move', id).length;
    const body = { model: 'account.move', id };

    // The same message id again: the consumer recognises it without running the flow.
    const dupes = valueOf('amqp', 'duplicates_skipped', { queue: 'invoice_queue' });
    await broker.publish({ exchange: 'documents_exchange', routingKey: 'invoice.created', body, messageId: `account.move-${id}` });
    await waitFor(() => valueOf('amqp', 'duplicates_skipped', { queue: 'invoice_queue' }) === dupes + 1, 'the duplicate skipped', SLOW, 50);

    // A redelivery the consumer cannot recognise (another id, e.g. after a restart): the flow runs and changes
    // nothing; its notification (same id as the first one) is recognised by the notification consumer.
    const notificationDupes = valueOf('amqp', 'duplicates_skipped', { queue: 'notification_queue' });
    await broker.publish({
      exchange: 'documents_exchange',
      routingKey: 'invoice.created',
      body,
      messageId: `account.move-${id}-again`,
      correlationId: 'redelivery-1',
    });
    await waitFor(
      () => valueOf('amqp', 'duplicates_skipped', { queue: 'notification_queue' }) === notificationDupes + 1,
      'the redelivery went through the flow',
      SLOW,
      50,
    );

    // Odoo's webhook replayed: answered, and the stored invoice (outside the trigger's domain) is not published again.
    const res = await fetch(`${rt.url}/odoo/webhook/invoice`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ _model: 'account.move', _id: id, _action: 'replayed' }),
    });
    assert.equal(res.status, 202);
    await waitFor(
      () => logText().some((l) => l.includes('"event":"odoo.trigger.webhook.not-committed"') && l.includes(`"id":${id},"action":"replayed"`)),
      'the trigger gave up on the stored invoice',
      SLOW,
      100,
    );

    const after = assertStoredOnce('account.move', id);
    assert.deepEqual(after, before);
    const record1 = record('account.move', id) as Rec;
    assert.equal(record1.write_date, record0.write_date, 'the invoice was not written again');
    assert.equal(notificationsFor('account.move', id).length, notified, 'notified once');
  });

  it('with ODOO_WEBHOOK_SECRET set, the three document webhooks refuse a missing or wrong token; the rules with ?token= get 202 and the invoice is stored', async function () {
    const secret = 'docs-secret-Kq3-never-shown';
    const previous = process.env.ODOO_WEBHOOK_SECRET;
    process.env.ODOO_WEBHOOK_SECRET = secret;
    const actions = await client.searchRead('ir.actions.server', { domain: [['state', '=', 'webhook']], fields: ['webhook_url'] });
    try {
      for (const route of ['invoice', 'medical-record', 'prescription']) {
        for (const query of ['', '?token=wrong']) {
          const res = await fetch(`${rt.url}/odoo/webhook/${route}${query}`, {
            method: 'POST',
            headers: { 'Content-Type': 'application/json' },
            body: JSON.stringify({ _model: 'account.move', _id: 1 }),
          });
          assert.equal(res.status, 401, `${route}${query}`);
          assert.match(String(res.headers.get('content-type')), /^application\/problem\+json/);
          const text = await res.text();
          assert.equal((JSON.parse(text) as { code: string }).code, 'WEBHOOK_UNAUTHORIZED');
          assert.ok(!text.includes(secret));
        }
      }
      // The seed writes the secret into each rule's URL (?token=…); Odoo's own webhook then gets through.
      for (const a of actions) await client.write('ir.actions.server', a.id, { webhook_url: `${String(a.webhook_url)}?token=${secret}` });
      const [patient] = patientIds();
      const [id] = await postInvoices(1, patient);
      assert.equal(webhookOf(id)[0]?.status, 202, `Odoo's webhook with the token: ${webhookOf(id)[0]?.error ?? ''}`);
      await waitFor(() => isStored('account.move', id) && notificationsFor('account.move', id).length, 'stored and notified', SLOW, 100);
      assertStoredOnce('account.move', id);
      assert.ok(!logText().some((l) => l.includes(secret)), 'the secret is in no log line');
    } finally {
      for (const a of actions) await client.write('ir.actions.server', a.id, { webhook_url: String(a.webhook_url) });
      if (previous === undefined) delete process.env.ODOO_WEBHOOK_SECRET;
      else process.env.ODOO_WEBHOOK_SECRET = previous;
    }
  });

  it('the polls run on the holder of the lease documents-poll, and the three triggers keep their cursors in the shared database', async function () {
    const lease = await db.query<{ holder: string }>("SELECT holder FROM leases WHERE name = 'documents-poll' AND expires_at > now()");
    assert.equal(lease.rows.length, 1, 'this process holds the lease');
    const cursors = await db.query<{ name: string }>("SELECT name FROM odoo_trigger_cursors WHERE name LIKE 'odoo-trigger:docq.trigger.%' ORDER BY name");
    assert.deepEqual(
      cursors.rows.map((r) => r.name),
      ['odoo-trigger:docq.trigger.invoice', 'odoo-trigger:docq.trigger.prescription', 'odoo-trigger:docq.trigger.record'],
    );
  });
});
