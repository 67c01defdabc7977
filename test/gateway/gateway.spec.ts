/**
 * The API gateway (nodes/gateway, a plugin of the pack) in front of the shipped API tabs (05, 04b, 07b) in a real
 * Node-RED, with the Keycloak peer, the real PostgreSQL and RabbitMQ (a scratch vhost): every route against its
 * OpenAPI document (validated by ajv and by an OpenAPI 3.1 schema validator), every token defect, rate limits shared
 * by two runtimes, CORS, body limits and validation, the audit of patient data (never lost, never skipped), the
 * access log and /metrics parsed as Prometheus text.
 */
import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import { promisify } from 'node:util';
import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { SharedDb, migrate, upsert } from '../../nodes/clients/shared-db';
import { OPERATIONS, openApiDocument, type Operation } from '../../nodes/gateway/openapi';
import { AMQP_URL, sleep, uniqueName, waitFor } from '../lib/harness';
import { createTestDatabase, dropTestDatabase } from '../lib/pg';
import { FLOWS_DIR, readTab, shippedTabs } from '../lib/flows';
import { startReplica } from '../lib/replica';
import { startRuntime, type Runtime } from '../lib/runtime';
import { KeycloakPeer } from '../../peers/keycloak/keycloak-peer';
import { userToken } from '../../peers/keycloak/user-token';

const run = promisify(execFile);
const flow = shippedTabs(
  '05 - API gateway.json',
  '04b - Medical inventory - pharmacy movements to Odoo.json',
  '07b - Alerts API.json',
  '01 - Document storage (Odoo to Nextcloud).json',
);

type Row = Record<string, any>;
const ORIGIN = 'https://portal.clinica.test';
const METRICS_TOKEN = 'metrics-test-token';

/** A concrete path of an operation (ids that exist in the seeded data). */
function concrete(op: Operation): string {
  return op.path.replace('{odooId}', '11').replace('{patientId}', '11').replace('{id}', '1');
}

/** The users to call an operation with: one that has a role, one that has none of them. */
function usersFor(op: Operation): { allowed: string; refused: string } {
  const roles = op.roles ?? [];
  const byRole: Record<string, string> = { medico: 'medico.prueba', farmacia: 'farmacia.prueba', admin: 'admin.clinica', recepcion: 'recepcion.prueba' };
  const allowed = roles.map((r) => byRole[r]).find(Boolean) ?? 'admin.clinica';
  const refused = ['recepcion.prueba', 'farmacia.prueba', 'medico.prueba'].find((u) => !roles.some((r) => u.startsWith(r))) as string;
  return { allowed, refused };
}

const BODIES: Record<string, unknown> = {
  'post /api/stock-movements': { external_ref: 'GW-1', odoo_product_id: 1, movement_type: 'out', quantity: 1 },
  'post /api/pharmacy/movements': { external_ref: 'GW-2', odoo_product_id: 1, movement_type: 'out', quantity: 1 },
  'post /api/documents/store': { model: 'x_prescription', id: 1 },
  'post /api/alerts/{id}/replay': { channel: 'email' },
  'post /api/webhook-subscribers': { url: 'https://hooks.clinica.test/a' },
};

describe('API gateway: rate limits, CORS, validation, audit, OpenAPI, metrics (shipped API tabs, real servers)', function () {
  this.timeout(120000);
  let peer: KeycloakPeer;
  let dbUrl: string;
  let db: SharedDb;
  let rt: Runtime;
  let replicaStop: (() => Promise<void>) | undefined;
  const vhost = uniqueName('clinica-gw');
  let vhostCreated = false;
  const tokens: Record<string, string> = {};
  const doc = openApiDocument();
  const ajv = new Ajv({ strict: false, allErrors: true });
  addFormats(ajv);
  ajv.addFormat('date-time-or-date', true);
  ajv.addSchema(doc, 'openapi');
  const pointer = (...parts: string[]) => parts.map((p) => p.replace(/~/g, '~0').replace(/\//g, '~1')).join('/');
  /** Validates a real answer against the document's schema for its operation and status. */
  const conforms = (op: Operation, status: number, contentType: string, body: unknown) => {
    const responses = (doc.paths as Row)[op.path][op.method].responses as Row;
    assert.ok(responses[status], `${op.method.toUpperCase()} ${op.path}: status ${status} is in the document`);
    if (status === 304) return;
    const media = contentType.startsWith('application/problem+json') ? 'application/problem+json' : 'application/json';
    assert.ok(responses[status].content?.[media], `${op.method.toUpperCase()} ${op.path} ${status}: ${media} is documented`);
    const validate = ajv.compile({ $ref: `openapi#/${pointer('paths', op.path, op.method, 'responses', String(status), 'content', media, 'schema')}` });
    assert.ok(validate(body), `${op.method.toUpperCase()} ${op.path} ${status}: ${ajv.errorsText(validate.errors)} in ${JSON.stringify(body).slice(0, 300)}`);
  };
  const call = (url: string, method: string, token?: string, body?: unknown, headers: Record<string, string> = {}) =>
    fetch(url, {
      method,
      headers: { ...(token ? { Authorization: `Bearer ${token}` } : {}), ...(body === undefined ? {} : { 'Content-Type': 'application/json' }), ...headers },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
  const env = (extra: Record<string, string> = {}) => ({
    KEYCLOAK_URL: peer.baseUrl,
    KEYCLOAK_REALM: 'clinica-realm',
    SHARED_DB_URL: dbUrl,
    AMQP_URL: `${AMQP_URL}/${encodeURIComponent(vhost)}`,
    ODOO_URL: 'http://127.0.0.1:9',
    ODOO_DB: 'clinica',
    ODOO_USERNAME: 'admin',
    ODOO_API_KEY: 'x',
    NEXTCLOUD_URL: 'http://127.0.0.1:9',
    NEXTCLOUD_USERNAME: 'admin',
    NEXTCLOUD_APP_PASSWORD: 'x',
    API_CORS_ORIGINS: ORIGIN,
    API_BODY_LIMIT: '2kb',
    API_RATE_LIMITS: 'read=100000/60,write=100000/60,admin=10/3',
    METRICS_TOKEN,
    METRICS_ALLOW: '',
    ...extra,
  });

  before(async function () {
    peer = await KeycloakPeer.start();
    dbUrl = await createTestDatabase();
    db = new SharedDb({ url: dbUrl });
    await migrate(db);
    await upsert(db, 'patients', [
      { odoo_id: 11, name: 'Ana Pérez', email: 'ana@clinica.test' },
      { odoo_id: 12, name: 'Bruno Díaz' },
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
    await upsert(db, 'medications', [{ odoo_product_id: 1, name: 'Paracetamol 500 mg', stock_quantity: 5, min_stock_level: 20 }]);
    await db.query('REFRESH MATERIALIZED VIEW low_stock_alerts');
    for (const u of ['medico.prueba', 'farmacia.prueba', 'recepcion.prueba', 'admin.clinica']) tokens[u] = (await userToken(peer, u)).access_token;
    await run('rabbitmqctl', ['add_vhost', vhost]);
    vhostCreated = true;
    await run('rabbitmqctl', ['set_permissions', '-p', vhost, 'guest', '.*', '.*', '.*']);
    rt = await startRuntime(flow, { env: env() });
  });

  after(async function () {
    await replicaStop?.();
    await rt?.stop();
    await peer?.close();
    await db?.close();
    if (dbUrl) await dropTestDatabase(dbUrl).catch(() => undefined);
    if (vhostCreated) await run('rabbitmqctl', ['delete_vhost', vhost]).catch(() => undefined);
  });

  it('serves an OpenAPI 3.1 document of every route that an OpenAPI validator accepts', async function () {
    const res = await fetch(`${rt.url}/api/openapi.json`);
    assert.equal(res.status, 200);
    const served = (await res.json()) as Row;
    assert.equal(served.openapi, '3.1.0');
    const { Validator } = await import('@seriousme/openapi-schema-validator');
    const result = await new Validator().validate(served as never);
    assert.ok(result.valid, String(JSON.stringify(result.errors ?? null)).slice(0, 1000));
    // Every http-in route of the shipped API tabs is in the document, and the other way round.
    const routes = flow
      .filter((n: Row) => n.type === 'http in' && String(n.url).startsWith('/api/'))
      .map((n: Row) => `${n.method} ${String(n.url).replace(/:(\w+)/g, '{$1}')}`);
    for (const r of routes)
      assert.ok(
        OPERATIONS.some((op) => `${op.method} ${op.path}` === r),
        `${r} is documented`,
      );
    // … and every documented route is served by a shipped tab.
    const shipped = fs
      .readdirSync(FLOWS_DIR)
      .filter((f) => f.endsWith('.json'))
      .flatMap(readTab)
      .filter((n: Row) => n.type === 'http in')
      .map((n: Row) => `${n.method} ${String(n.url).replace(/:(\w+)/g, '{$1}')}`);
    for (const op of OPERATIONS) {
      if (op.routeClass === 'health') continue;
      assert.ok(shipped.includes(`${op.method} ${op.path}`), `${op.method.toUpperCase()} ${op.path} is served by a shipped tab`);
    }
  });

  it('every route: 401 without a token, expired or for another audience; 403 for a wrong role; else an answer that conforms to the document', async function () {
    const loaded = new Set(flow.filter((n: Row) => n.type === 'http in').map((n: Row) => `${n.method} ${String(n.url).replace(/:(\w+)/g, '{$1}')}`));
    for (const op of OPERATIONS.filter((o) => loaded.has(`${o.method} ${o.path}`))) {
      const url = `${rt.url}${concrete(op)}`;
      const body = BODIES[`${op.method} ${op.path}`];
      const method = op.method.toUpperCase();
      if (op.roles) {
        const { allowed, refused } = usersFor(op);
        const expired = await peer.mint(allowed, 'node-red', { exp: Math.floor(Date.now() / 1000) - 120, iat: Math.floor(Date.now() / 1000) - 600 });
        const otherAudience = await peer.mint(allowed, 'node-red', { aud: 'another-api', azp: 'another-client' });
        for (const [what, token] of [
          ['no token', undefined],
          ['an expired token', expired],
          ['another audience', otherAudience],
        ] as const) {
          const res = await call(url, method, token, body);
          assert.equal(res.status, 401, `${method} ${op.path} with ${what}`);
          conforms(op, 401, String(res.headers.get('content-type')), await res.json());
        }
        const forbidden = await call(url, method, tokens[refused], body);
        assert.equal(forbidden.status, 403, `${method} ${op.path} as ${refused}`);
        conforms(op, 403, String(forbidden.headers.get('content-type')), await forbidden.json());
      }
      const res = await call(url, method, op.roles ? tokens[usersFor(op).allowed] : undefined, body);
      const status = res.status;
      assert.ok(status === op.ok.status || op.errors.includes(status), `${method} ${op.path}: ${status} is documented (${await res.clone().text()})`);
      conforms(op, status, String(res.headers.get('content-type')), await res.json());
      assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
      assert.equal(res.headers.get('x-frame-options'), 'DENY');
      if (op.audit) assert.match(String(res.headers.get('cache-control')), /no-store/);
      assert.ok(res.headers.get('x-correlation-id'));
    }
  });

  it('bad queries, bodies and sizes: 400 naming the field, 413 over the limit; nothing reaches the flow', async function () {
    const bad = await call(`${rt.url}/api/patients?limit=abc&sort=name`, 'GET', tokens['medico.prueba']);
    assert.equal(bad.status, 400);
    const p = (await bad.json()) as Row;
    assert.equal(p.code, 'BAD_INPUT');
    assert.ok(
      p.problems.some((x: string) => x.startsWith('query.limit')),
      JSON.stringify(p.problems),
    );
    assert.ok(
      p.problems.some((x: string) => x.includes('unknown property "sort"')),
      JSON.stringify(p.problems),
    );
    const body = await call(`${rt.url}/api/webhook-subscribers`, 'POST', tokens['admin.clinica'], { url: 'not a url', secret: 'mine' });
    assert.equal(body.status, 400);
    const bp = (await body.json()) as Row;
    assert.ok(
      bp.problems.some((x: string) => x.startsWith('body.url')) && bp.problems.some((x: string) => x.includes('"secret"')),
      JSON.stringify(bp.problems),
    );
    const big = await call(`${rt.url}/api/webhook-subscribers`, 'POST', tokens['admin.clinica'], { url: 'https://x.test/', description: 'x'.repeat(5000) });
    assert.equal(big.status, 413);
    assert.equal(((await big.json()) as Row).code, 'PAYLOAD_TOO_LARGE');
    // A JSON body on a route that takes none, which does not parse strictly (found by the fuzz): 400, not a 500.
    const primitive = await call(`${rt.url}/api/webhook-subscribers/999`, 'DELETE', tokens['admin.clinica'], '0');
    assert.equal(primitive.status, 400);
    assert.equal(((await primitive.json()) as Row).code, 'BAD_INPUT');
    const bad2 = await call(`${rt.url}/api/patients/abc`, 'GET', tokens['medico.prueba']);
    assert.equal(bad2.status, 400);
    assert.equal(Number((await db.query('SELECT count(*) AS n FROM webhook_subscribers')).rows[0].n) <= 1, true);
  });

  it('CORS: an allowed origin gets its preflight and headers; an unknown one gets none', async function () {
    const pre = await fetch(`${rt.url}/api/patients`, {
      method: 'OPTIONS',
      headers: { Origin: ORIGIN, 'Access-Control-Request-Method': 'GET', 'Access-Control-Request-Headers': 'authorization' },
    });
    assert.equal(pre.status, 204);
    assert.equal(pre.headers.get('access-control-allow-origin'), ORIGIN);
    assert.match(String(pre.headers.get('access-control-allow-headers')), /Authorization/i);
    const unknown = await fetch(`${rt.url}/api/patients`, {
      method: 'OPTIONS',
      headers: { Origin: 'https://evil.test', 'Access-Control-Request-Method': 'GET' },
    });
    assert.equal(unknown.status, 403);
    assert.equal(unknown.headers.get('access-control-allow-origin'), null);
    const simple = await call(`${rt.url}/api/patients`, 'GET', tokens['medico.prueba'], undefined, { Origin: 'https://evil.test' });
    assert.equal(simple.status, 200);
    assert.equal(simple.headers.get('access-control-allow-origin'), null);
    const allowed = await call(`${rt.url}/api/patients`, 'GET', tokens['medico.prueba'], undefined, { Origin: ORIGIN });
    assert.equal(allowed.headers.get('access-control-allow-origin'), ORIGIN);
    assert.match(String(allowed.headers.get('access-control-expose-headers')), /X-Correlation-Id/);
  });

  it('audit: one row per patient-data read (who, roles, route, patient ids, correlation id); 50 at once, none lost; none for a refused call', async function () {
    await db.query('DELETE FROM api_audit');
    const one = await call(`${rt.url}/api/patients/11`, 'GET', tokens['medico.prueba'], undefined, { 'X-Correlation-Id': 'audit-one' });
    assert.equal(one.status, 200);
    const list = await call(`${rt.url}/api/patients`, 'GET', tokens['recepcion.prueba'], undefined, { 'X-Correlation-Id': 'audit-list' });
    assert.equal(list.status, 200);
    const appts = await call(`${rt.url}/api/appointments`, 'GET', tokens['medico.prueba'], undefined, { 'X-Correlation-Id': 'audit-appts' });
    assert.equal(appts.status, 200);
    assert.equal((await call(`${rt.url}/api/patients`, 'GET', tokens['farmacia.prueba'])).status, 403);
    assert.equal((await call(`${rt.url}/api/medications`, 'GET', tokens['farmacia.prueba'])).status, 200);
    const rows = (await db.query('SELECT username, roles, route, method, status, patient_ids, correlation_id FROM api_audit ORDER BY id')).rows;
    assert.deepEqual(
      rows.map((r) => [r.username, r.route, r.status, r.patient_ids, r.correlation_id]),
      [
        ['medico.prueba', '/api/patients/{odooId}', 200, [11], 'audit-one'],
        ['recepcion.prueba', '/api/patients', 200, [11, 12], 'audit-list'],
        ['medico.prueba', '/api/appointments', 200, [11], 'audit-appts'],
      ],
    );
    assert.ok(rows[0].roles.includes('medico'));
    await db.query('DELETE FROM api_audit');
    const many = await Promise.all(
      Array.from({ length: 50 }, (_, i) => call(`${rt.url}/api/patients/12`, 'GET', tokens['medico.prueba'], undefined, { 'X-Correlation-Id': `many-${i}` })),
    );
    assert.ok(many.every((r) => r.status === 200));
    const n = (await db.query(`SELECT count(DISTINCT correlation_id) AS n FROM api_audit WHERE correlation_id LIKE 'many-%'`)).rows[0];
    assert.equal(Number(n.n), 50);
  });

  it('audit unavailable: patient data is refused (503), not served unaudited; other data still served', async function () {
    await db.query('ALTER TABLE api_audit RENAME TO api_audit_away');
    try {
      const res = await call(`${rt.url}/api/patients`, 'GET', tokens['medico.prueba']);
      assert.equal(res.status, 503);
      const p = (await res.json()) as Row;
      assert.equal(p.code, 'AUDIT_UNAVAILABLE');
      assert.ok(!JSON.stringify(p).includes('Ana'), 'no patient data in the answer');
      assert.equal((await call(`${rt.url}/api/medications`, 'GET', tokens['farmacia.prueba'])).status, 200);
    } finally {
      await db.query('ALTER TABLE api_audit_away RENAME TO api_audit');
    }
    assert.equal((await call(`${rt.url}/api/patients`, 'GET', tokens['medico.prueba'])).status, 200);
  });

  it('rate limits per client and route class: 429 with Retry-After and RateLimit-* headers, then served again', async function () {
    const token = await peer.mint('admin.clinica', 'node-red', { azp: 'rate-client-1', aud: ['clinica-api'] });
    const statuses: number[] = [];
    let last: Response | undefined;
    for (let i = 0; i < 11; i++) {
      last = await call(`${rt.url}/api/webhook-subscribers`, 'GET', token);
      statuses.push(last.status);
      if (i === 0) assert.equal(last.headers.get('ratelimit-limit'), '10');
    }
    assert.deepEqual(statuses, [...Array(10).fill(200), 429]);
    const res = last as Response;
    const retryAfter = Number(res.headers.get('retry-after'));
    assert.ok(retryAfter >= 1 && retryAfter <= 3, `Retry-After ${retryAfter}`);
    assert.equal(res.headers.get('ratelimit-remaining'), '0');
    const problem = (await res.json()) as Row;
    assert.equal(problem.code, 'RATE_LIMITED');
    // Another client is not limited by this one.
    const other = await peer.mint('admin.clinica', 'node-red', { azp: 'rate-client-other', aud: ['clinica-api'] });
    assert.equal((await call(`${rt.url}/api/webhook-subscribers`, 'GET', other)).status, 200);
    await sleep(retryAfter * 1000 + 100);
    assert.equal((await call(`${rt.url}/api/webhook-subscribers`, 'GET', token)).status, 200);
  });

  it('two Node-RED runtimes share one limit (the counters are in PostgreSQL)', async function () {
    const replica = await startReplica(flow, env());
    replicaStop = replica.stop;
    const childUrl = replica.url;
    const token = await peer.mint('admin.clinica', 'node-red', { azp: 'rate-client-2', aud: ['clinica-api'] });
    const statuses: number[] = [];
    for (let i = 0; i < 11; i++) statuses.push((await call(`${i % 2 ? childUrl : rt.url}/api/webhook-subscribers`, 'GET', token)).status);
    assert.deepEqual(statuses, [...Array(10).fill(200), 429]);
    await replica.stop();
    replicaStop = undefined;
  });

  it('one JSON access-log line per request, with route, status, duration, client, user and correlation id, never a token', async function () {
    const before = rt.logs.length;
    await call(`${rt.url}/api/medications?limit=5`, 'GET', tokens['farmacia.prueba'], undefined, { 'X-Correlation-Id': 'access-1' });
    const line = await waitFor(
      () => rt.logs.slice(before).find((r) => (r.msg as Row)?.event === 'http.access' && (r.msg as Row).correlationId === 'access-1'),
      'the access log line',
    );
    const m = line?.msg as Row;
    assert.deepEqual([m.method, m.route, m.status, m.user, m.client], ['GET', '/api/medications', 200, 'farmacia.prueba', 'azp:node-red']);
    assert.ok(typeof m.durationMs === 'number');
    const all = JSON.stringify(rt.logs);
    for (const t of Object.values(tokens)) assert.ok(!all.includes(t.slice(-40)), 'no token in any log record');
  });

  it('/metrics: refused without the token; with it, Prometheus text of requests, node families, queues and syncs', async function () {
    assert.equal((await fetch(`${rt.url}/metrics`)).status, 403);
    const res = await fetch(`${rt.url}/metrics`, { headers: { Authorization: `Bearer ${METRICS_TOKEN}` } });
    assert.equal(res.status, 200);
    assert.match(String(res.headers.get('content-type')), /^text\/plain/);
    const families = parsePrometheusTextFormat(await res.text());
    const byName = new Map(families.map((f) => [f.name, f]));
    const requests = byName.get('clinica_http_requests_total');
    assert.equal(requests?.type, 'COUNTER');
    assert.ok(requests?.metrics.some((x) => x.labels?.route === '/api/patients' && x.labels?.status === '200' && Number(x.value) >= 1));
    assert.ok(requests?.metrics.some((x) => x.labels?.status === '429'));
    assert.equal(byName.get('clinica_http_request_duration_seconds')?.type, 'HISTOGRAM');
    assert.ok(byName.get('clinica_node_events_total')?.metrics.some((x) => x.labels?.family === 'shared-db'));
    assert.ok(
      byName.get('clinica_queue_messages')?.metrics.some((x) => x.labels?.queue === 'notification_queue.dlq'),
      'dead-letter queues are measured',
    );
    assert.ok(byName.get('clinica_process_resident_memory_bytes'));
    assert.ok(byName.get('clinica_api_audit_rows')?.metrics.some((x) => x.labels?.state === 'written' && Number(x.value) >= 50));
  });
});
