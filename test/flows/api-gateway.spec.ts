/** "05 - API gateway": the shipped flow, run against the Keycloak peer and the real PostgreSQL. */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { SharedDb, migrate, upsert } from '../../nodes/clients/shared-db';
import { createTestDatabase, dropTestDatabase } from '../lib/pg';
import { startRuntime, type Runtime } from '../lib/runtime';
import { KeycloakPeer } from '../../peers/keycloak/keycloak-peer';
import { userToken } from '../../peers/keycloak/user-token';

const flow = JSON.parse(fs.readFileSync(path.resolve(__dirname, '..', '..', '..', 'flows', '05 - API gateway.json'), 'utf8'));

describe('shipped flow: API gateway (Keycloak peer, real PostgreSQL)', function () {
  this.timeout(60000);
  let peer: KeycloakPeer;
  let dbUrl: string;
  let rt: Runtime;
  const tokens: Record<string, string> = {};

  before(async function () {
    peer = await KeycloakPeer.start();
    dbUrl = await createTestDatabase();
    const db = new SharedDb({ url: dbUrl });
    await migrate(db);
    await upsert(db, 'patients', [
      { odoo_id: 11, name: 'Ana Pérez', email: 'ana@clinica.test', vat: 'X123' },
      { odoo_id: 12, name: 'Bruno Díaz', email: 'bruno@clinica.test' },
      { odoo_id: 13, name: 'Carla Ruiz', active: false },
    ]);
    await upsert(db, 'appointments', [
      {
        odoo_id: 1,
        patient_odoo_id: 11,
        name: 'Control',
        datetime: new Date(Date.now() + 86400000).toISOString(),
        status: 'confirmed',
        doctor_name: 'Dr. Soto',
      },
    ]);
    await upsert(db, 'medications', [
      { odoo_product_id: 1, name: 'Paracetamol 500 mg', category: 'Analgésicos', stock_quantity: 5, min_stock_level: 20 },
      { odoo_product_id: 2, name: 'Ibuprofeno 400 mg', category: 'Analgésicos', stock_quantity: 80, min_stock_level: 20 },
    ]);
    await db.query('REFRESH MATERIALIZED VIEW low_stock_alerts');
    await db.close();
    for (const u of ['medico.prueba', 'farmacia.prueba', 'recepcion.prueba']) tokens[u] = (await userToken(peer, u)).access_token;
    rt = await startRuntime(flow, { env: { KEYCLOAK_URL: peer.baseUrl, KEYCLOAK_REALM: 'clinica-realm', SHARED_DB_URL: dbUrl } });
  });

  after(async function () {
    await rt?.stop();
    await peer?.close();
    if (dbUrl) await dropTestDatabase(dbUrl);
  });

  const get = (p: string, token?: string, headers: Record<string, string> = {}) =>
    fetch(`${rt.url}${p}`, { headers: { ...(token ? { Authorization: `Bearer ${token}` } : {}), ...headers } });

  it('GET /api/health answers without a token', async function () {
    const res = await get('/api/health');
    assert.equal(res.status, 200);
    const body = (await res.json()) as Record<string, unknown>;
    assert.equal(body.status, 'up');
    assert.equal(body.patients, 3);
  });

  it('GET /api/ready: not ready (503 + Retry-After, naming the syncs) until every sync runs without error', async function () {
    const db = new SharedDb({ url: dbUrl });
    try {
      await db.query('DELETE FROM sync_state');
      const none = await get('/api/ready');
      assert.equal(none.status, 503);
      assert.ok(none.headers.get('retry-after'));
      const problem = (await none.json()) as { code: string; detail: string };
      assert.deepEqual([problem.code, problem.detail], ['NOT_READY', 'not ready: no sync has run yet']);
      await db.query(`INSERT INTO sync_state (name, last_run) VALUES ('patients', now()), ('medications', now())`);
      const ok = await get('/api/ready');
      assert.equal(ok.status, 200);
      assert.deepEqual(
        ((await ok.json()) as { syncs: Array<{ name: string; ok: boolean }> }).syncs.map((x) => [x.name, x.ok]),
        [
          ['medications', true],
          ['patients', true],
        ],
      );
      await db.query(`UPDATE sync_state SET last_error = 'ODOO_UNAVAILABLE: Odoo answered 503' WHERE name = 'medications'`);
      const failing = await get('/api/ready');
      assert.equal(failing.status, 503);
      assert.match(((await failing.json()) as { detail: string }).detail, /medications: ODOO_UNAVAILABLE/);
      assert.equal((await get('/api/health')).status, 200, 'liveness is not readiness');
    } finally {
      await db.close();
    }
  });

  it('lists active patients, paged and searchable, for a doctor; echoes X-Correlation-Id', async function () {
    const res = await get('/api/patients?limit=1', tokens['medico.prueba'], { 'X-Correlation-Id': 'corr-api-1' });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('x-correlation-id'), 'corr-api-1');
    const body = (await res.json()) as { data: Array<{ name: string }>; page: { limit: number; count: number } };
    assert.deepEqual(
      body.data.map((p) => p.name),
      ['Ana Pérez'],
    );
    assert.deepEqual([body.page.limit, body.page.count], [1, 1]);
    const search = (await (await get('/api/patients?q=bru', tokens['medico.prueba'])).json()) as { data: Array<{ odoo_id: number }> };
    assert.deepEqual(
      search.data.map((p) => p.odoo_id),
      [12],
    );
    const hostile = await get(`/api/patients?q=${encodeURIComponent("x' OR '1'='1")}`, tokens['medico.prueba']);
    assert.deepEqual(((await hostile.json()) as { data: unknown[] }).data, []);
  });

  it('answers one patient by Odoo id, 404 for an unknown one and 400 for a bad id', async function () {
    const one = await get('/api/patients/11', tokens['recepcion.prueba']);
    assert.equal(one.status, 200);
    const body = (await one.json()) as { data: { name: string; upcoming_appointments: number } };
    assert.deepEqual([body.data.name, body.data.upcoming_appointments], ['Ana Pérez', 1]);
    assert.equal((await get('/api/patients/999', tokens['recepcion.prueba'])).status, 404);
    assert.equal((await get('/api/patients/abc', tokens['recepcion.prueba'])).status, 400);
  });

  it('lists the coming appointments with their patient', async function () {
    const res = await get('/api/appointments', tokens['medico.prueba']);
    const body = (await res.json()) as { data: Array<{ patient_name: string; doctor_name: string }> };
    assert.deepEqual(
      body.data.map((a) => [a.patient_name, a.doctor_name]),
      [['Ana Pérez', 'Dr. Soto']],
    );
  });

  it('serves medications and stock alerts to the pharmacy', async function () {
    const meds = (await (await get('/api/medications?q=Analgésicos', tokens['farmacia.prueba'])).json()) as {
      data: Array<{ name: string; is_low_stock: boolean }>;
    };
    assert.deepEqual(
      meds.data.map((m) => [m.name, m.is_low_stock]),
      [
        ['Ibuprofeno 400 mg', false],
        ['Paracetamol 500 mg', true],
      ],
    );
    const alerts = (await (await get('/api/stock-alerts', tokens['farmacia.prueba'])).json()) as { data: Array<{ odoo_product_id: number; shortage: number }> };
    assert.deepEqual(
      alerts.data.map((a) => [a.odoo_product_id, a.shortage]),
      [[1, 15]],
    );
  });

  it('refuses a missing token with 401 and a missing role with 403', async function () {
    const none = await get('/api/patients');
    assert.equal(none.status, 401);
    assert.match(String(none.headers.get('www-authenticate')), /Bearer/);
    assert.equal((await get('/api/patients', 'not-a-token')).status, 401);
    assert.equal((await get('/api/patients', tokens['farmacia.prueba'])).status, 403);
    assert.equal((await get('/api/stock-alerts', tokens['recepcion.prueba'])).status, 403);
  });
});
