/**
 * "05 - API gateway": the shipped flow, run against the Keycloak peer and the real PostgreSQL; then with tab 01 and
 * every system's config node for the documents listing and the readiness of every dependency.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { NextcloudClient } from '../../nodes/clients/nextcloud/client';
import { SharedDb, migrate, upsert } from '../../nodes/clients/shared-db';
import { AMQP_URL } from '../lib/harness';
import { createTestDatabase, dropTestDatabase } from '../lib/pg';
import { startRuntime, type Runtime } from '../lib/runtime';
import { KeycloakPeer } from '../../peers/keycloak/keycloak-peer';
import { userToken } from '../../peers/keycloak/user-token';
import { NextcloudPeer } from '../../peers/nextcloud/peer';
import { startOdooPeer, type OdooPeer } from '../../peers/odoo';

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
    await db.query(`INSERT INTO shared_stock_movements (odoo_product_id, medication_id, odoo_move_id, movement_type, quantity, movement_date, reference_document)
      SELECT v.product, (SELECT id FROM shared_medications WHERE odoo_product_id = v.product), v.move, v.type, v.qty, v.at::timestamptz, v.ref
        FROM (VALUES (1, 101, 'in', 50, '2025-06-01T09:00:00Z', 'WH/IN/0001'), (1, 102, 'out', 10, '2025-06-05T12:00:00Z', 'WH/OUT/0001'),
                     (2, 103, 'adjustment', -2, '2025-06-10T08:00:00Z', 'Inventario'), (2, 104, 'out', 5, '2025-06-30T23:00:00Z', 'WH/OUT/0002'))
             AS v(product, move, type, qty, at, ref)`);
    await db.close();
    for (const u of ['medico.prueba', 'farmacia.prueba', 'recepcion.prueba', 'admin.clinica']) tokens[u] = (await userToken(peer, u)).access_token;
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
      const ready = (await ok.json()) as {
        syncs: Array<{ name: string; ok: boolean }>;
        dependencies: Array<{ name: string; state: string; latencyMs?: number }>;
      };
      assert.deepEqual(
        ready.syncs.map((x) => [x.name, x.ok]),
        [
          ['medications', true],
          ['patients', true],
        ],
      );
      // This runtime holds only the gateway tab: its database and realm are checked, the other systems are absent.
      assert.deepEqual(
        ready.dependencies.map((d) => [d.name, d.state, typeof d.latencyMs]),
        [
          ['shared-db', 'up', 'number'],
          ['amqp', 'absent', 'undefined'],
          ['odoo', 'absent', 'undefined'],
          ['nextcloud', 'absent', 'undefined'],
          ['keycloak', 'up', 'number'],
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

  it('lists stock movements for the pharmacy, newest first, filtered by medication, dates and type, paged', async function () {
    type Movements = { data: Array<{ odoo_move_id: number; medication: string; quantity: number }>; page: { limit: number; offset: number; count: number } };
    const moves = async (query: string, token = tokens['farmacia.prueba']) => {
      const res = await get(`/api/stock-movements${query}`, token);
      assert.equal(res.status, 200, query);
      return (await res.json()) as Movements;
    };
    const all = await moves('');
    assert.deepEqual(
      all.data.map((m) => m.odoo_move_id),
      [104, 103, 102, 101],
    );
    assert.deepEqual([all.data[2].medication, all.data[2].quantity, all.data[1].quantity], ['Paracetamol 500 mg', 10, -2]);
    assert.deepEqual(all.page, { limit: 50, offset: 0, count: 4 });
    const ids = async (query: string) => (await moves(query)).data.map((m) => m.odoo_move_id);
    assert.deepEqual(await ids('?medication=1'), [102, 101]);
    assert.deepEqual(await ids('?type=out'), [104, 102]);
    assert.deepEqual(await ids('?from=2025-06-05&to=2025-06-10'), [103, 102], 'a day alone in to counts whole');
    assert.deepEqual(await ids('?from=2025-06-05T12:00:00Z&to=2025-06-10T07:59:59Z'), [102]);
    assert.deepEqual(await ids('?medication=2&type=out&to=2025-06-30'), [104]);
    const paged = await moves('?limit=2&offset=1', tokens['admin.clinica']);
    assert.deepEqual([paged.data.map((m) => m.odoo_move_id), paged.page], [[103, 102], { limit: 2, offset: 1, count: 2 }]);
  });

  it('stock movements: a bad filter is 400 naming the field; 401 without a token, 403 without a pharmacy role', async function () {
    const bad = await get('/api/stock-movements?medication=abc&from=yesterday&type=sale', tokens['farmacia.prueba'], { 'X-Correlation-Id': 'mv-bad' });
    assert.equal(bad.status, 400);
    assert.match(String(bad.headers.get('content-type')), /^application\/problem\+json/);
    const problem = (await bad.json()) as { code: string; problems: string[]; correlationId: string };
    assert.deepEqual([problem.code, problem.correlationId], ['BAD_INPUT', 'mv-bad']);
    assert.deepEqual(
      // The gateway checks the query against the OpenAPI document before the flow sees it (nodes/gateway).
      problem.problems.map((p) => p.split(' ')[0]),
      ['query.medication', 'query.from', 'query.type'],
    );
    for (const q of ['?to=30/06/2025', '?limit=500', '?offset=-1', '?from=2025-07-01&to=2025-06-01', '?medication=0']) {
      assert.equal((await get(`/api/stock-movements${q}`, tokens['farmacia.prueba'])).status, 400, q);
    }
    assert.equal((await get('/api/stock-movements')).status, 401);
    assert.equal((await get('/api/stock-movements', tokens['medico.prueba'])).status, 403);
    assert.equal((await get('/api/stock-movements', tokens['recepcion.prueba'])).status, 403);
  });

  it('every list answer carries a strong ETag; If-None-Match gives 304 with no body until the list changes', async function () {
    const lists: Array<[string, string]> = [
      ['/api/patients?limit=5', 'medico.prueba'],
      ['/api/appointments', 'medico.prueba'],
      ['/api/medications', 'farmacia.prueba'],
      ['/api/stock-alerts', 'farmacia.prueba'],
      ['/api/stock-movements?type=out', 'farmacia.prueba'],
    ];
    for (const [route, user] of lists) {
      const first = await get(route, tokens[user]);
      assert.equal(first.status, 200, route);
      const etag = String(first.headers.get('etag'));
      assert.match(etag, /^"[A-Za-z0-9_-]{32}"$/, `${route} has a strong ETag`);
      assert.equal(first.headers.get('cache-control'), 'no-store', 'patient data is never stored by caches');
      const again = await get(route, tokens[user], { 'If-None-Match': etag, 'X-Correlation-Id': 'etag-1' });
      assert.equal(again.status, 304, route);
      assert.equal(await again.text(), '');
      assert.deepEqual([again.headers.get('etag'), again.headers.get('x-correlation-id')], [etag, 'etag-1']);
      assert.equal((await get(route, tokens[user], { 'If-None-Match': '"something-else"' })).status, 200);
    }
    const before = String((await get('/api/patients?limit=5', tokens['medico.prueba'])).headers.get('etag'));
    const db = new SharedDb({ url: dbUrl });
    try {
      await upsert(db, 'patients', [{ odoo_id: 14, name: 'Diego Soto' }]);
    } finally {
      await db.close();
    }
    const changed = await get('/api/patients?limit=5', tokens['medico.prueba'], { 'If-None-Match': before });
    assert.equal(changed.status, 200, 'a changed list is sent again');
    assert.notEqual(changed.headers.get('etag'), before);
    assert.ok(((await changed.json()) as { data: Array<{ name: string }> }).data.some((p) => p.name === 'Diego Soto'));
    // One record is not a list: no strong ETag from the pack (Express may still add its own weak one).
    assert.doesNotMatch(String((await get('/api/patients/11', tokens['medico.prueba'])).headers.get('etag')), /^"/);
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

/** Tabs 05 and 01 (documents listing) with every system's config node, as `npm start` runs the flows folder together. */
function gatewayWithEverySystem(): Array<Record<string, unknown>> {
  const read = (file: string) =>
    JSON.parse(fs.readFileSync(path.resolve(__dirname, '..', '..', '..', 'flows', file), 'utf8')) as Array<Record<string, unknown>>;
  // The broker of tab 02, without its topology: this test only asks whether RabbitMQ answers.
  const broker: Record<string, unknown> = { ...read('02 - Asynchronous documents (RabbitMQ).json').find((n) => n.id === 'cfg.amqp'), declareTopology: false };
  const nodes = [...read('05 - API gateway.json'), ...read('01 - Document storage (Odoo to Nextcloud).json'), broker];
  return [...new Map(nodes.map((n) => [n.id as string, n])).values()];
}

describe('API gateway with every system: documents of a patient, readiness (Odoo, Nextcloud, Keycloak peers, real PostgreSQL and RabbitMQ)', function () {
  this.timeout(120000);
  let kc: KeycloakPeer;
  let nc: NextcloudPeer;
  let odoo: OdooPeer;
  let dbUrl: string;
  let rt: Runtime | undefined;
  const tokens: Record<string, string> = {};
  const env = () => ({
    KEYCLOAK_URL: kc.baseUrl,
    KEYCLOAK_REALM: 'clinica-realm',
    SHARED_DB_URL: dbUrl,
    ODOO_URL: odoo.url,
    ODOO_DB: odoo.db,
    ODOO_USERNAME: odoo.admin.login,
    ODOO_API_KEY: odoo.admin.apiKey,
    NEXTCLOUD_URL: nc.url,
    NEXTCLOUD_USERNAME: 'alice',
    NEXTCLOUD_APP_PASSWORD: 'alice-app-password',
    AMQP_URL,
  });
  const get = (p: string, token?: string, headers: Record<string, string> = {}) =>
    fetch(`${rt!.url}${p}`, { headers: { ...(token ? { Authorization: `Bearer ${token}` } : {}), ...headers } });

  before(async function () {
    kc = await KeycloakPeer.start();
    nc = await new NextcloudPeer().start();
    odoo = await startOdooPeer();
    dbUrl = await createTestDatabase();
    const db = new SharedDb({ url: dbUrl });
    await migrate(db);
    await upsert(db, 'patients', [
      { odoo_id: 21, name: 'Elena Vidal' },
      { odoo_id: 22, name: 'Fermín Gil' },
    ]);
    await db.query(`INSERT INTO sync_state (name, last_run) VALUES ('patients', now())`);
    await db.close();
    const files = new NextcloudClient({ url: nc.url, username: 'alice', appPassword: 'alice-app-password' });
    try {
      await files.upload('/Documentos_Clinicos/Pacientes/21/Facturas/INV_2025_00001.pdf', Buffer.from('%PDF-1.7 factura'));
      await new Promise((r) => setTimeout(r, 1100)); // Nextcloud's dates are to the second: the newest is listed first
      await files.upload('/Documentos_Clinicos/Pacientes/21/Recetas/REC-0001_3.pdf', Buffer.from('%PDF-1.7 receta'));
      await files.upload('/Documentos_Clinicos/Pacientes/21/Historiales/HC-0001_4.pdf', Buffer.from('%PDF-1.7 historia clínica'));
      await files.upload('/Documentos_Clinicos/Pacientes/21/notas.txt', Buffer.from('not a clinical document'));
    } finally {
      files.close();
    }
    for (const u of ['medico.prueba', 'farmacia.prueba', 'admin.clinica']) tokens[u] = (await userToken(kc, u)).access_token;
    rt = await startRuntime(gatewayWithEverySystem(), { env: env() });
  });

  after(async function () {
    await rt?.stop();
    await odoo?.stop();
    await nc?.close();
    await kc?.close();
    if (dbUrl) await dropTestDatabase(dbUrl);
  });

  it("GET /api/documents/<patient id>: the patient's documents in Nextcloud with type, name, date, size and link, for medico or admin", async function () {
    const res = await get('/api/documents/21', tokens['medico.prueba'], { 'X-Correlation-Id': 'docs-list-1' });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('x-correlation-id'), 'docs-list-1');
    const { data } = (await res.json()) as { data: Array<{ type: string; name: string; date: string; size: number; url: string; path: string }> };
    assert.deepEqual(
      data.map((d) => [d.type, d.name, d.size]),
      [
        ['record', 'HC-0001_4.pdf', 26],
        ['prescription', 'REC-0001_3.pdf', 15],
        ['invoice', 'INV_2025_00001.pdf', 16],
      ],
      'newest first (the record and the prescription of the same second by name); notas.txt is no clinical document',
    );
    for (const d of data) {
      const onDisk = nc.diskPath('alice', d.path) as string;
      assert.equal(d.url, `${nc.url}/index.php/f/${fs.statSync(onDisk).ino}`, 'the internal link of the file');
      assert.ok(Math.abs(Date.parse(d.date) - fs.statSync(onDisk).mtimeMs) < 2000, 'date: last modified');
    }
    assert.equal((await get('/api/documents/21', tokens['admin.clinica'])).status, 200);
  });

  it('a patient with no folder yet has no documents (200 []); an unknown patient is 404, a bad id 400; 401 and 403 from the guard', async function () {
    const empty = await get('/api/documents/22', tokens['medico.prueba']);
    assert.equal(empty.status, 200);
    assert.deepEqual(((await empty.json()) as { data: unknown[] }).data, []);
    const unknown = await get('/api/documents/999', tokens['medico.prueba']);
    assert.equal(unknown.status, 404);
    assert.deepEqual(
      [((await unknown.json()) as { code: string }).code, unknown.headers.get('content-type')?.split(';')[0]],
      ['PATIENT_NOT_FOUND', 'application/problem+json'],
    );
    assert.equal((await get('/api/documents/abc', tokens['medico.prueba'])).status, 400);
    assert.equal((await get('/api/documents/21')).status, 401);
    assert.equal((await get('/api/documents/21', tokens['farmacia.prueba'])).status, 403);
  });

  it('the documents list carries an ETag: 304 while nothing changes, 200 once a document is added', async function () {
    const first = await get('/api/documents/21', tokens['medico.prueba']);
    const etag = String(first.headers.get('etag'));
    assert.match(etag, /^"[A-Za-z0-9_-]{32}"$/);
    const same = await get('/api/documents/21', tokens['medico.prueba'], { 'If-None-Match': etag });
    assert.equal(same.status, 304);
    assert.equal(await same.text(), '');
    const files = new NextcloudClient({ url: nc.url, username: 'alice', appPassword: 'alice-app-password' });
    await files.upload('/Documentos_Clinicos/Pacientes/21/Facturas/INV_2025_00002.pdf', Buffer.from('%PDF-1.7 otra factura'));
    files.close();
    const changed = await get('/api/documents/21', tokens['medico.prueba'], { 'If-None-Match': etag });
    assert.equal(changed.status, 200);
    assert.equal(((await changed.json()) as { data: unknown[] }).data.length, 4);
  });

  it('GET /api/ready with every system up: 200, each with its state and latency, and the syncs', async function () {
    const res = await get('/api/ready');
    const body = (await res.json()) as { status: string; dependencies: Array<{ name: string; state: string; required: boolean; latencyMs: number }> };
    assert.equal(res.status, 200, JSON.stringify(body));
    assert.equal(body.status, 'ready');
    assert.deepEqual(
      body.dependencies.map((d) => [d.name, d.state, d.required]),
      ['shared-db', 'amqp', 'odoo', 'nextcloud', 'keycloak'].map((n) => [n, 'up', true]),
    );
    for (const d of body.dependencies) assert.ok(Number.isInteger(d.latencyMs) && d.latencyMs >= 0 && d.latencyMs < 2000, `${d.name} latency ${d.latencyMs}`);
  });

  it('GET /api/ready with AMQP_URL on a closed port: 503 NOT_READY naming the broker, Retry-After; /api/health still 200', async function () {
    await rt?.stop();
    rt = undefined;
    rt = await startRuntime(gatewayWithEverySystem(), { env: { ...env(), AMQP_URL: 'amqp://guest:guest@127.0.0.1:1' } });
    const res = await get('/api/ready', undefined, { 'X-Correlation-Id': 'ready-1' });
    assert.equal(res.status, 503);
    assert.ok(Number(res.headers.get('retry-after')) > 0);
    const problem = (await res.json()) as {
      code: string;
      detail: string;
      correlationId: string;
      checks: Array<{ name: string; state: string; code?: string }>;
    };
    assert.deepEqual([problem.code, problem.correlationId], ['NOT_READY', 'ready-1']);
    assert.match(problem.detail, /^not ready: amqp is down \((TIMEOUT|[A-Z_]+)/);
    assert.deepEqual(
      problem.checks.map((c) => [c.name, c.state]),
      [
        ['shared-db', 'up'],
        ['amqp', 'down'],
        ['odoo', 'up'],
        ['nextcloud', 'up'],
        ['keycloak', 'up'],
      ],
    );
    assert.doesNotMatch(JSON.stringify(problem), /127\.0\.0\.1|guest/, 'no host or credential in the answer');
    assert.equal((await get('/api/health')).status, 200, 'liveness does not depend on the broker');
  });
});
