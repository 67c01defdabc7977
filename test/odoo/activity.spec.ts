/**
 * Activities scheduled once (nodes/clients/odoo/activity.ts) against the Odoo peer's mail.activity, and the
 * clinica-odoo node's `activity` operation in Node-RED: the key lives in the stored summary, so a retry, a
 * replay, or a repeat after the activity was done (deleted, or archived by a type that keeps done ones)
 * schedules nothing; bad keys, unknown users and records are typed errors.
 */
import * as assert from 'node:assert/strict';
import { IntegrationError } from '../../nodes/clients/common/errors';
import { activitySummary, scheduleActivityOnce } from '../../nodes/clients/odoo/activity';
import type { OdooClient } from '../../nodes/clients/odoo/client';
import { startOdooPeer, type OdooPeer } from '../../peers/odoo';
import { collect, helper, sleep, waitFor } from '../lib/harness';
import { clientFor } from './helpers';

const configNode = require('../../nodes/odoo/odoo-config');
const odooNode = require('../../nodes/odoo/odoo');

type Msg = Record<string, any>;

async function rejectsWith(p: Promise<unknown>, code: string, message: RegExp): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof IntegrationError, String(err));
    assert.equal(err.code, code, err.message);
    assert.equal(err.system, 'odoo');
    assert.equal(err.retryable, false);
    assert.match(err.message, message);
    return true;
  });
}

describe('odoo activities (scheduled once, keyed on the stored summary)', function () {
  let peer: OdooPeer;
  let client: OdooClient;
  let patient: number;
  let n = 0;
  const key = () => `ACT-${process.pid}-${++n}`;
  const activities = (summary: string) =>
    client.searchRead('mail.activity', {
      domain: [
        ['res_model', '=', 'res.partner'],
        ['res_id', '=', patient],
        ['summary', '=', summary],
      ],
      fields: ['active', 'user_id', 'date_deadline', 'activity_type_id', 'res_model_id', 'note'],
      context: { active_test: false },
    });

  before(async () => {
    peer = await startOdooPeer({ version: 18, users: [{ login: 'dra.garcia', password: 'x', name: 'Dra. García' }] });
    client = clientFor(peer);
    patient = await client.create('res.partner', { name: 'Paciente Actividad' });
  });
  after(async () => {
    client.close();
    await peer.stop();
  });

  it('creates the activity once; the same key again answers the same id with created false', async () => {
    const k = key();
    const first = await scheduleActivityOnce(client, {
      model: 'res.partner',
      resId: patient,
      key: k,
      summary: 'Llamar al paciente',
      note: '<p>Resultados</p>',
    });
    assert.equal(first.created, true);
    assert.equal(first.userId, await client.login());
    const again = await scheduleActivityOnce(client, { model: 'res.partner', resId: patient, key: k, summary: 'Llamar al paciente' });
    assert.deepEqual([again.id, again.created, again.userId], [first.id, false, first.userId]);
    const [row, ...more] = await activities(`Llamar al paciente [${k}]`);
    assert.equal(more.length, 0);
    assert.equal(row.id, first.id);
    assert.deepEqual(row.activity_type_id, [4, 'To-Do']);
    assert.equal((row.res_model_id as [number, string])[1], 'Contact');
    assert.equal(row.date_deadline, client.serverNow().toISOString().slice(0, 10));
    assert.equal(row.note, '<p>Resultados</p>');
  });

  it('schedules nothing again once the activity is done (deleted by action_feedback, or archived when kept)', async () => {
    const k = key();
    const a = await scheduleActivityOnce(client, { model: 'res.partner', resId: patient, key: k, summary: 'Revisar receta' });
    const messageId = await client.call<number>('mail.activity', 'action_feedback', [[a.id]], { feedback: 'hecho' });
    assert.equal(typeof messageId, 'number');
    assert.deepEqual(await activities(activitySummary('Revisar receta', k)), []);
    const after = await scheduleActivityOnce(client, { model: 'res.partner', resId: patient, key: k, summary: 'Revisar receta' });
    assert.deepEqual([after.id, after.created, after.done], [null, false, true]);
    assert.deepEqual(await activities(activitySummary('Revisar receta', k)), []);

    // A type that keeps done activities archives them: still found, still not scheduled again.
    await client.write('mail.activity.type', 4, { keep_done: true });
    try {
      const k2 = key();
      const b = await scheduleActivityOnce(client, { model: 'res.partner', resId: patient, key: k2, summary: 'Revisar receta' });
      await client.call('mail.activity', 'action_done', [[b.id]]);
      const [archived] = await activities(activitySummary('Revisar receta', k2));
      assert.equal(archived.active, false);
      const repeat = await scheduleActivityOnce(client, { model: 'res.partner', resId: patient, key: k2, summary: 'Revisar receta' });
      assert.deepEqual([repeat.id, repeat.created, repeat.done], [b.id, false, true]);
      assert.equal((await activities(activitySummary('Revisar receta', k2))).length, 1);
    } finally {
      await client.write('mail.activity.type', 4, { keep_done: false });
    }
  });

  it('a different key schedules a second activity; user, type and deadline are honoured', async () => {
    const [k1, k2] = [key(), key()];
    const a = await scheduleActivityOnce(client, { model: 'res.partner', resId: patient, key: k1, summary: 'Control' });
    const b = await scheduleActivityOnce(client, {
      model: 'res.partner',
      resId: patient,
      key: k2,
      summary: 'Control',
      user: 'dra.garcia',
      typeXmlId: 'mail.mail_activity_data_call',
      deadlineDays: 3,
    });
    assert.notEqual(a.id, b.id);
    assert.equal(b.created, true);
    const [garcia] = await client.search('res.users', { domain: [['login', '=', 'dra.garcia']] });
    assert.equal(b.userId, garcia);
    const [row] = await activities(`Control [${k2}]`);
    const expected = new Date(client.serverNow().getTime() + 3 * 86400000).toISOString().slice(0, 10);
    assert.deepEqual([row.activity_type_id, row.date_deadline], [[2, 'Call'], expected]);
    const c = await scheduleActivityOnce(client, { model: 'res.partner', resId: patient, key: key(), summary: 'Control', deadline: '2031-02-03' });
    assert.equal(c.dateDeadline, '2031-02-03');
  });

  it('names an unknown login, record, type or model in a typed error, and refuses bad keys with BAD_INPUT', async () => {
    const base = { model: 'res.partner', resId: patient, key: key(), summary: 'S' };
    await rejectsWith(
      scheduleActivityOnce(client, { ...base, user: 'nadie@clinica' }),
      'ODOO_MISSING_RECORD',
      /no active user with login "nadie@clinica".*leave the user empty/,
    );
    await rejectsWith(scheduleActivityOnce(client, { ...base, resId: 999999 }), 'ODOO_MISSING_RECORD', /res\.partner\(999999,\)/);
    await rejectsWith(scheduleActivityOnce(client, { ...base, typeXmlId: 'mail.no_such_type' }), 'ODOO_MISSING_RECORD', /external id mail\.no_such_type/);
    await rejectsWith(scheduleActivityOnce(client, { ...base, model: 'x_nothing' }), 'ODOO_UNKNOWN_MODEL', /x_nothing/);
    await rejectsWith(scheduleActivityOnce(client, { ...base, model: 'res.country', resId: 68 }), 'BAD_INPUT', /res\.country has no chatter/);
    for (const [bad, why] of [
      ['', /must be a non-empty text/],
      ['   ', /must be a non-empty text/],
      ['a'.repeat(101), /at most 100 characters/],
      ['with [brackets]', /must not contain \[ or \]/],
      ['x]', /must not contain \[ or \]/],
      [' padded', /must not start or end with spaces/],
    ] as Array<[string, RegExp]>) {
      await rejectsWith(scheduleActivityOnce(client, { ...base, key: bad }), 'BAD_INPUT', why);
    }
    await rejectsWith(scheduleActivityOnce(client, { ...base, deadline: '2025-02-30' }), 'BAD_INPUT', /deadline "2025-02-30" must be a date/);
    // A key made of domain-looking text is a value like any other.
    const odd = `'|', ('id', '!=', 0) %_\\ "${n}"`;
    const r = await scheduleActivityOnce(client, { ...base, key: odd });
    assert.equal(r.created, true);
    assert.equal((await scheduleActivityOnce(client, { ...base, key: odd })).created, false);
    assert.equal((await activities(activitySummary('S', odd))).length, 1);
  });

  it('keeps one activity when two runs race past the lookup', async () => {
    const k = key();
    const runs = await Promise.all([1, 2, 3].map(() => scheduleActivityOnce(client, { model: 'res.partner', resId: patient, key: k, summary: 'Carrera' })));
    assert.equal(new Set(runs.map((r) => r.id)).size, 1);
    assert.equal((await activities(`Carrera [${k}]`)).length, 1);
  });

  describe('clinica-odoo activity operation (Node-RED)', function () {
    before(async () => new Promise<void>((resolve) => helper.startServer(() => resolve())));
    after(async () => new Promise<void>((resolve) => helper.stopServer(() => resolve())));
    afterEach(async () => {
      delete process.env.CLINICA_TEST_ACTIVITY_USER;
      await helper.unload();
    });

    const flow = (props: Msg) => [
      { id: 'tab', type: 'tab' },
      { id: 'cfg', type: 'clinica-odoo-config', url: peer.url, db: peer.db, username: 'admin', protocol: 'auto', timeout: 5, retries: 1 },
      { id: 'n', type: 'clinica-odoo', z: 'tab', config: 'cfg', operation: 'activity', model: 'res.partner', wires: [['out']], ...props },
      { id: 'out', type: 'helper', z: 'tab' },
      { id: 'catcher', type: 'catch', z: 'tab', scope: null, uncaught: false, wires: [['errors']] },
      { id: 'errors', type: 'helper', z: 'tab' },
    ];
    async function send(props: Msg, inputs: Msg[]): Promise<{ out: Msg[]; errors: Msg[] }> {
      await helper.load([configNode, odooNode], flow(props), { cfg: { apiKey: peer.admin.apiKey } });
      const out = collect<Msg>(helper.getNode('out'));
      const errors = collect<Msg>(helper.getNode('errors'));
      for (const input of inputs) {
        const before = out.length + errors.length;
        helper.getNode('n').receive(input);
        await waitFor(() => out.length + errors.length > before, 'an answer or an error');
      }
      await sleep(20);
      return { out, errors };
    }

    it('schedules once from msg.ids and msg.payload, assigned to the activityUser setting given as ${ENV}', async () => {
      process.env.CLINICA_TEST_ACTIVITY_USER = 'dra.garcia';
      const k = key();
      const input = { ids: [patient], payload: { key: k, summary: 'Llamar' } };
      const { out, errors } = await send({ activityUser: '${CLINICA_TEST_ACTIVITY_USER}', activityDeadlineDays: '2' }, [input, { ...input }]);
      assert.deepEqual(errors, []);
      const [garcia] = await client.search('res.users', { domain: [['login', '=', 'dra.garcia']] });
      assert.equal(out.length, 2);
      assert.deepEqual(Object.keys(out[0].payload).sort(), ['created', 'id', 'userId']);
      assert.deepEqual(out[0].payload, { id: out[0].payload.id, created: true, userId: garcia });
      assert.deepEqual(out[1].payload, { ...out[0].payload, created: false });
      assert.equal(out[0].topic, 'res.partner');
      assert.equal(out[0].odoo.operation, 'activity');
      assert.equal(out[0].odoo.id, patient);
      assert.equal(out[0].odoo.activityId, out[0].payload.id);
      assert.equal(out[0].odoo.summary, `Llamar [${k}]`);
      const [row] = await activities(`Llamar [${k}]`);
      assert.equal(row.date_deadline, new Date(client.serverNow().getTime() + 2 * 86400000).toISOString().slice(0, 10));
    });

    it('takes msg.payload.resId and a payload user over the setting; the type setting picks the type', async () => {
      const k = key();
      const { out, errors } = await send({ activityUser: 'dra.garcia', activityType: 'mail.mail_activity_data_meeting' }, [
        { payload: { key: k, summary: 'Cita', user: 'admin', resId: patient } },
      ]);
      assert.deepEqual(errors, []);
      assert.equal(out[0].payload.userId, await client.login());
      const [row] = await activities(`Cita [${k}]`);
      assert.deepEqual(row.activity_type_id, [3, 'Meeting']);
    });

    it('ends bad input, an unknown user and an unknown record in done(err) with their codes', async () => {
      const { errors } = await send({ activityUser: 'nadie' }, [
        { ids: [patient], payload: 'hola' },
        { payload: { key: 'k', summary: 'S' } },
        { ids: [patient], payload: { summary: 'S' } },
        { ids: [patient], payload: { key: 'a[b]', summary: 'S' } },
        { ids: [patient], payload: { key: key(), summary: 'S' } },
        { ids: [999999], payload: { key: key(), summary: 'S', user: 'admin' } },
      ]);
      const codes = errors.map((m) => [m.errorInfo.code, m.error.message]);
      assert.deepEqual(
        codes.map((c) => c[0]),
        ['BAD_INPUT', 'BAD_INPUT', 'BAD_INPUT', 'BAD_INPUT', 'ODOO_MISSING_RECORD', 'ODOO_MISSING_RECORD'],
      );
      assert.match(codes[0][1], /needs msg\.payload \{key, summary, note, user, deadline\}/);
      assert.match(codes[1][1], /needs the record: send msg\.ids/);
      assert.match(codes[2][1], /needs msg\.payload\.key/);
      assert.match(codes[3][1], /must not contain \[ or \]/);
      assert.match(codes[4][1], /login "nadie"/);
      assert.match(codes[5][1], /999999/);
    });

    it('refuses a deadline-days setting that is not a whole number', async () => {
      const { errors } = await send({ activityDeadlineDays: 'soon' }, [{ ids: [patient], payload: { key: key(), summary: 'S' } }]);
      assert.equal(errors[0].errorInfo.code, 'BAD_INPUT');
      assert.match(errors[0].error.message, /activityDeadlineDays setting must be a whole number/);
    });
  });
});
