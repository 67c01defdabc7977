/**
 * "03 - Shared database - patients and appointments": the shipped flow in a real Node-RED, against the Odoo peer
 * seeded like the reference deployment (its automation rules post to this Node-RED) and the real PostgreSQL.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { OdooClient } from '../../nodes/clients/odoo/client';
import { SharedDb } from '../../nodes/clients/shared-db';
import { seedOdoo } from '../../seeds/odoo/seed';
import { sleep, waitFor } from '../lib/harness';
import { createTestDatabase, dropTestDatabase } from '../lib/pg';
import { startRuntime, type Runtime } from '../lib/runtime';
import { startOdooPeer, type OdooPeer } from '../../peers/odoo';

const flow = JSON.parse(fs.readFileSync(path.resolve(__dirname, '..', '..', '..', 'flows', '03 - Shared database - patients and appointments.json'), 'utf8'));

interface Completed {
  id: string;
  msg: Record<string, unknown>;
  error?: unknown;
}

describe('shipped flow: shared database, patients and appointments (Odoo peer, real PostgreSQL)', function () {
  this.timeout(60000);
  let peer: OdooPeer;
  let odoo: OdooClient;
  let dbUrl: string;
  let db: SharedDb;
  let rt: Runtime;
  const completed: Completed[] = [];

  const patient = async (odooId: number) =>
    (await db.query('SELECT odoo_id, name, email, phone, vat, active, odoo_write_date, last_sync FROM shared_patients WHERE odoo_id = $1', [odooId])).rows[0];
  /** Clicks an inject node's button, as an instructor would in the editor. */
  const fire = async (injectId: string) => {
    const res = await fetch(`${rt.url}/admin/inject/${injectId}`, { method: 'POST' });
    assert.equal(res.status, 200);
  };
  /** Resolves when node `id` finishes a message (after the n-th completion seen so far). */
  const completion = (id: string, from: number, what = `${id} to finish a message`): Promise<Completed> =>
    waitFor(() => completed.slice(from).find((c) => c.id === id), what, 20000) as Promise<Completed>;
  /** Waits until `check` gives a row (or any truthy value) and returns it. */
  const eventually = <T>(check: () => Promise<T | false | undefined>, what: string) => waitFor(check, what) as Promise<T>;

  before(async function () {
    peer = await startOdooPeer({ version: 18 });
    odoo = new OdooClient({ url: peer.url, db: peer.db, username: peer.admin.login, apiKey: peer.admin.apiKey, retryDelayMs: 10 });
    // Seeded first (rules point nowhere yet), then pointed at the runtime once its port is known: the seed is idempotent.
    await seedOdoo({ client: odoo, nodeRedUrl: 'http://127.0.0.1:9' });
    dbUrl = await createTestDatabase();
    db = new SharedDb({ url: dbUrl });
    rt = await startRuntime(flow, {
      env: { ODOO_URL: peer.url, ODOO_DB: peer.db, ODOO_USERNAME: peer.admin.login, ODOO_API_KEY: peer.admin.apiKey, SHARED_DB_URL: dbUrl },
    });
    rt.RED.hooks.add('onComplete.syncPatientsTest', (ev: { msg: Record<string, unknown>; error?: unknown; node: { id: string } }) => {
      completed.push({ id: ev.node.id, msg: ev.msg, error: ev.error });
    });
    await seedOdoo({ client: odoo, nodeRedUrl: rt.url });
  });

  after(async function () {
    rt?.RED.hooks.remove('*.syncPatientsTest');
    await rt?.stop();
    odoo?.close();
    await peer?.stop();
    await db?.close();
    if (dbUrl) await dropTestDatabase(dbUrl);
  });

  it('copies every patient and appointment at start; each appointment links to its patient and names the doctor', async function () {
    await waitFor(async () => Number((await db.query('SELECT count(*) AS n FROM shared_patients')).rows[0].n) === 200, '200 patients copied', 30000, 200);
    await waitFor(
      async () => Number((await db.query('SELECT count(*) AS n FROM shared_appointments WHERE patient_id IS NOT NULL')).rows[0].n) === 120,
      '120 linked appointments',
      30000,
      200,
    );
    const [first] = await odoo.searchRead('res.partner', { domain: [['ref', '=', 'PAC-0001']], fields: ['name', 'email', 'phone', 'vat'] });
    const row = await patient(first.id);
    assert.deepEqual([row.name, row.email, row.phone, row.vat, row.active], [first.name, first.email, first.phone, first.vat, true]);
    // Doctors are not patients.
    assert.equal(Number((await db.query(`SELECT count(*) AS n FROM shared_patients WHERE email LIKE '%clinica-universitaria.example'`)).rows[0].n), 0);
    const [event] = await odoo.searchRead('calendar.event', { domain: [['name', '=', 'Consulta PAC-0001 #1']], fields: ['partner_ids', 'start', 'stop'] });
    const doctorId = (event.partner_ids as number[]).find((id) => id !== first.id) as number;
    const [doctor] = await odoo.read('res.partner', doctorId, ['name']);
    const {
      rows: [appt],
    } = await db.query(
      `SELECT a.patient_odoo_id, p.odoo_id AS linked, a.doctor_name, a.status, a.datetime, a.end_datetime
      FROM shared_appointments a JOIN shared_patients p ON p.id = a.patient_id WHERE a.odoo_id = $1`,
      [event.id],
    );
    assert.deepEqual([appt.patient_odoo_id, appt.linked, appt.doctor_name, appt.status], [first.id, first.id, doctor.name, 'scheduled']);
    assert.equal((appt.datetime as Date).toISOString(), `${String(event.start).replace(' ', 'T')}.000Z`);
    const { rows: state } = await db.query(`SELECT name, last_run, last_error, records, cursor FROM sync_state ORDER BY name`);
    assert.deepEqual(
      state.map((s) => s.name),
      ['appointments', 'patients'],
    );
    for (const s of state) {
      assert.ok(s.last_run && s.last_error === null, `${s.name} ran without error`);
      assert.ok(Number(s.records) >= (s.name === 'patients' ? 200 : 120), `${s.name} counted what it wrote`);
      assert.ok(s.cursor && typeof s.cursor.writeDate === 'string', `${s.name} keeps the trigger's cursor`);
    }
  });

  it('a patient created in Odoo appears at once through the webhook, answered 200 inside the save', async function () {
    const webhooksBefore = peer.webhooks.length;
    const id = await odoo.create('res.partner', {
      name: 'Nuria Webhook Vidal',
      email: 'nuria@pacientes.example',
      phone: '+34 600 111 222',
      vat: 'ES11111111H',
      x_is_patient: true,
    });
    const sent = peer.webhooks.slice(webhooksBefore).filter((w) => w.url.endsWith('/odoo/webhook/patient'));
    assert.equal(sent.length, 1);
    assert.equal(sent[0].status, 200, 'Node-RED answered inside the 1 s Odoo waits');
    const row = await waitFor(() => patient(id), 'the new patient in shared_patients');
    assert.deepEqual(
      [row.name, row.email, row.phone, row.vat, row.active],
      ['Nuria Webhook Vidal', 'nuria@pacientes.example', '+34 600 111 222', 'ES11111111H', true],
    );
  });

  it('a patient changed in Odoo is updated through the webhook; a replayed webhook changes nothing', async function () {
    const [p] = await odoo.searchRead('res.partner', { domain: [['ref', '=', 'PAC-0002']], fields: ['id'] });
    await odoo.write('res.partner', p.id, { email: 'cambiado@pacientes.example' });
    const row = await eventually(async () => {
      const r = await patient(p.id);
      return r.email === 'cambiado@pacientes.example' && r;
    }, 'the changed email');
    const webhook = peer.webhooks.filter((w) => w.url.endsWith('/odoo/webhook/patient') && w.payload._id === p.id).pop();
    assert.ok(webhook);
    const from = completed.length;
    // Odoo (or anyone) posting the same webhook again: answered, read, and nothing written.
    const res = await fetch(`${rt.url}/odoo/webhook/patient`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-Correlation-Id': 'replay-1' },
      body: JSON.stringify(webhook.payload),
    });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('x-correlation-id'), 'replay-1');
    assert.deepEqual(await res.json(), { received: true, correlationId: 'replay-1' });
    await completion('sync.trigger.patients', from, 'the replayed webhook to be handled');
    assert.deepEqual(await patient(p.id), row, 'last_sync untouched');
  });

  it('polling path: a change whose webhook was lost arrives with the next poll', async function () {
    const [rule] = await odoo.searchRead('base.automation', { domain: [['name', '=', 'Clínica: paciente creado o cambiado']], fields: ['id'] });
    await odoo.write('base.automation', rule.id, { active: false });
    try {
      const [p] = await odoo.searchRead('res.partner', { domain: [['ref', '=', 'PAC-0003']], fields: ['id'] });
      const webhooksBefore = peer.webhooks.length;
      await odoo.write('res.partner', p.id, { phone: '+34 699 000 333' });
      assert.equal(peer.webhooks.length, webhooksBefore, 'no webhook was sent');
      const from = completed.length;
      await fire('sync.poll.patients');
      await completion('sync.record.poll', from, 'the poll to be recorded');
      const row = await eventually(async () => {
        const r = await patient(p.id);
        return r.phone === '+34 699 000 333' && r;
      }, 'the change picked up by polling');
      assert.equal(row.active, true);
    } finally {
      await odoo.write('base.automation', rule.id, { active: true });
    }
  });

  it('a second run changes nothing: poll and full reconcile leave every row as it was', async function () {
    const snapshot = async () =>
      (
        await db.query(`SELECT 'p' || odoo_id AS k, last_sync, active FROM shared_patients
      UNION ALL SELECT 'a' || odoo_id, last_sync, active FROM shared_appointments ORDER BY 1`)
      ).rows;
    const counted = async () => (await db.query('SELECT name, records FROM sync_state ORDER BY name')).rows;
    const before = await snapshot();
    const recordsBefore = await counted();
    const from = completed.length;
    await fire('sync.poll.patients');
    await fire('sync.poll.appointments');
    await fire('sync.reconcile.patients');
    await fire('sync.reconcile.appointments');
    const reconciled = await completion('sync.sweep.patients', from, 'the patients reconcile');
    await completion('sync.sweep.appointments', from, 'the appointments reconcile');
    assert.equal(reconciled.msg.payload, 0, 'no patient marked inactive');
    await completion('sync.upsert.patients', from);
    await completion('sync.upsert.appointments', from);
    assert.deepEqual(await snapshot(), before);
    assert.deepEqual(await counted(), recordsBefore, 'no record written');
  });

  it('an archived patient becomes inactive through the webhook; a deleted one with the reconcile', async function () {
    const [archived, deleted] = await odoo.searchRead('res.partner', { domain: [['ref', 'in', ['PAC-0004', 'PAC-0005']]], fields: ['id'], order: 'ref' });
    await odoo.write('res.partner', archived.id, { active: false });
    await waitFor(async () => (await patient(archived.id)).active === false, 'the archived patient inactive');
    // A patient without appointments or invoices can be deleted in Odoo: no webhook, the reconcile notices.
    const gone = await odoo.create('res.partner', { name: 'Paciente Efímero', x_is_patient: true });
    await waitFor(() => patient(gone), 'the short-lived patient copied');
    await odoo.unlink('res.partner', gone);
    await db.query(`UPDATE shared_patients SET last_sync = last_sync - interval '5 minutes' WHERE odoo_id = $1`, [gone]);
    const from = completed.length;
    await fire('sync.reconcile.patients');
    const swept = await completion('sync.sweep.patients', from, 'the reconcile');
    assert.equal(swept.msg.payload, 1);
    assert.equal((await patient(gone)).active, false);
    assert.equal((await patient(deleted.id)).active, true, 'the others stay');
  });

  it('an appointment created in Odoo links to its patient; moved, then cancelled (archived)', async function () {
    const [p] = await odoo.searchRead('res.partner', { domain: [['ref', '=', 'PAC-0010']], fields: ['id', 'name'] });
    const [doc] = await odoo.searchRead('res.partner', { domain: [['ref', '=', 'DOC-0002']], fields: ['id', 'name'] });
    const id = await odoo.create('calendar.event', {
      name: 'Revisión Webhook',
      start: '2025-07-01 09:00:00',
      stop: '2025-07-01 09:30:00',
      partner_ids: [[6, 0, [doc.id, p.id]]],
    });
    const appt = async () =>
      (
        await db.query(
          `SELECT a.name, a.datetime, a.status, a.active, a.doctor_name, p.odoo_id AS patient
      FROM shared_appointments a LEFT JOIN shared_patients p ON p.id = a.patient_id WHERE a.odoo_id = $1`,
          [id],
        )
      ).rows[0];
    const row = await waitFor(appt, 'the new appointment');
    assert.deepEqual([row.name, row.patient, row.doctor_name, row.status, row.active], ['Revisión Webhook', p.id, doc.name, 'scheduled', true]);
    await odoo.write('calendar.event', id, { start: '2025-07-02 10:00:00', stop: '2025-07-02 10:30:00' });
    await waitFor(async () => (await appt()).datetime.toISOString() === '2025-07-02T10:00:00.000Z', 'the appointment moved');
    // The rule sends name, start and stop, not active: a second save within the same second (write_date has 1 s
    // resolution) would look committed to the trigger and be left to the next poll. People do not click that fast.
    await sleep(1100 - (Date.now() % 1000));
    await odoo.write('calendar.event', id, { active: false });
    const cancelled = await eventually(async () => {
      const r = await appt();
      return r.active === false && r;
    }, 'the appointment cancelled');
    assert.equal(cancelled.status, 'cancelled');
  });

  it('a failed write is recorded in sync_state and the next good poll writes what was lost', async function () {
    const [p] = await odoo.searchRead('res.partner', { domain: [['ref', '=', 'PAC-0020']], fields: ['id'] });
    // The shared table is away for a moment (as after a botched manual change): the webhook's write fails.
    await db.query('ALTER TABLE shared_patients RENAME TO shared_patients_away');
    try {
      const from = completed.length;
      await odoo.write('res.partner', p.id, { phone: '+34 611 222 333' });
      await completion('sync.record.error', from, 'the failure to be recorded');
    } finally {
      await db.query('ALTER TABLE shared_patients_away RENAME TO shared_patients');
    }
    const state = (await db.query(`SELECT last_error FROM sync_state WHERE name = 'patients'`)).rows[0];
    assert.match(String(state.last_error), /^SHARED_DB_SCHEMA: /);
    assert.notEqual((await patient(p.id)).phone, '+34 611 222 333');
    // The next poll that reaches the database asks for a reconcile, which writes the lost change.
    await fire('sync.poll.patients');
    await waitFor(async () => (await patient(p.id)).phone === '+34 611 222 333', 'the lost change written by the reconcile');
    await waitFor(async () => (await db.query(`SELECT last_error FROM sync_state WHERE name = 'patients'`)).rows[0].last_error === null, 'the error cleared');
  });
});
