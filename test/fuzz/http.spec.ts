/**
 * Fuzz: every HTTP endpoint of the shipped flows (/api/* of tabs 01, 04b, 05, 07b and /odoo/webhook/* of tabs 02,
 * 03, 04a) in a real Node-RED with the gateway, the Keycloak peer, the real PostgreSQL and RabbitMQ (a scratch
 * vhost), called with random, boundary and hostile path parameters, query strings, JSON bodies and raw bytes,
 * with and without tokens and webhook secrets. Never a crash, never an unhandled rejection, never a 5xx without
 * problem details, never a stack trace, a file path or a secret in an answer. `FUZZ_RUNS` sets the calls per
 * property (default 200).
 */
import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import fc from 'fast-check';
import { SharedDb, migrate, upsert } from '../../nodes/clients/shared-db';
import { shippedTabs } from '../lib/flows';
import { AMQP_URL, uniqueName } from '../lib/harness';
import { createTestDatabase, dropTestDatabase } from '../lib/pg';
import { startRuntime, type Runtime } from '../lib/runtime';
import { KeycloakPeer } from '../../peers/keycloak/keycloak-peer';
import { userToken } from '../../peers/keycloak/user-token';
import { FUZZ_RUNS, deepJsonText, hostileJson, hostileQuery, hostileString } from './arbitraries';

const run = promisify(execFile);
const TABS = [
  '05 - API gateway.json',
  '04b - Medical inventory - pharmacy movements to Odoo.json',
  '07b - Alerts API.json',
  '01 - Document storage (Odoo to Nextcloud).json',
  '02 - Asynchronous documents (RabbitMQ).json',
  '03 - Shared database - patients and appointments.json',
  '04a - Medical inventory - Odoo to shared database.json',
];
const flow = shippedTabs(...TABS);
const ROUTES = flow.filter((n) => n.type === 'http in').map((n) => ({ method: String(n.method).toUpperCase(), url: String(n.url) }));

/** Values that must never leave in an answer. */
const SECRETS = {
  ODOO_WEBHOOK_SECRET: 'fuzz-webhook-secret-7Hq2',
  ODOO_API_KEY: 'fuzz-odoo-api-key-Lw91',
  NEXTCLOUD_APP_PASSWORD: 'fuzz-nextcloud-app-password-Pz33',
  METRICS_TOKEN: 'fuzz-metrics-token-Xc55',
};
/** A stack frame, a source or module path: how a leaked error looks. */
const LEAK =
  /\n\s+at [^\n]+:\d+:\d+|\bat (?:Object|Function|async|new) [^\n]*\(|node_modules\/|\/work\/|\/dist\/nodes\/|\bTypeError\b|\bReferenceError\b|\bSyntaxError: Unexpected\b/;

/** Raw query fragments that hurt parsers (qs depth and arrays, broken percent-encoding, prototype keys). */
const RAW_QUERIES = [
  '%',
  '%ff%fe',
  '%c0%af',
  '%e0%80%af',
  '%00',
  '&&&=&=',
  'a[b][c][d][e][f][g][h][i][j][k]=1',
  '__proto__[admin]=1',
  'constructor[prototype][x]=1',
  'limit[]=1&limit[]=2',
  'limit[$gt]=0',
  'offset=1e400',
  'limit=-0',
  'q=%27%20OR%201%3D1--',
  `q=${'a'.repeat(4000)}`,
  'from=2025-13-45&to=0000-00-00',
  'open=TRUE&medication=01',
];

/** Path parameters that hurt routers and id checks. */
const RAW_PARAMS = [
  '..',
  '..%2F..%2Fetc%2Fpasswd',
  '%2e%2e',
  '%ff',
  '%',
  '%00',
  '1%00',
  '0',
  '-1',
  '1.0',
  '1e3',
  '9'.repeat(30),
  '11',
  '1',
  'abc',
  '%20',
  '%E2%80%AE',
];

/** Bodies as bytes: invalid UTF-8, truncated JSON, a BOM, other content types. */
const RAW_BODIES: Array<{ body: Buffer | string; type: string }> = [
  { body: Buffer.from([0xff, 0xfe, 0xfd]), type: 'application/json' },
  { body: Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xc3, 0x28, 0x22, 0x7d]), type: 'application/json' },
  { body: Buffer.from('\ufeff{"model":"account.move","id":1}'), type: 'application/json' },
  { body: '{"a":', type: 'application/json' },
  { body: '{"__proto__":{"admin":true},"constructor":{"prototype":{"x":1}}}', type: 'application/json' },
  { body: `{"a":"${'x'.repeat(70000)}"}`, type: 'application/json' },
  { body: '['.repeat(10000) + ']'.repeat(10000), type: 'application/json' },
  { body: 'model=account.move&id=1', type: 'application/x-www-form-urlencoded' },
  { body: '<xml/>', type: 'application/xml' },
  { body: 'plain', type: 'text/plain' },
  { body: '{"_model":"account.move","_id":1}', type: 'application/json; charset=latin1' },
  { body: '{"_model":"account.move","_id":1}', type: 'application/json; charset=utf-7' },
];

/** Percent-encoded; a lone surrogate (which encodeURIComponent refuses) as the bytes of its invalid UTF-8. */
function encoded(s: string): string {
  try {
    return encodeURIComponent(s);
  } catch {
    return s.replace(/[\s\S]/g, (c) => (c.charCodeAt(0) >= 0xd800 && c.charCodeAt(0) <= 0xdfff ? '%ED%A0%80' : encodeURIComponent(c)));
  }
}

describe('fuzz: every HTTP endpoint of the shipped flows under random and hostile requests (real Node-RED, fast-check)', function () {
  this.timeout(600000);
  let peer: KeycloakPeer;
  let dbUrl: string;
  let db: SharedDb;
  let rt: Runtime;
  const vhost = uniqueName('clinica-fuzz');
  let vhostCreated = false;
  const tokens: string[] = [];
  const rejections: unknown[] = [];
  const onRejection = (reason: unknown) => rejections.push(reason);
  const onException = (err: unknown) => rejections.push(err);
  const statuses = new Map<number, number>();
  let calls = 0;

  before(async function () {
    process.on('unhandledRejection', onRejection);
    process.on('uncaughtException', onException);
    peer = await KeycloakPeer.start();
    dbUrl = await createTestDatabase();
    db = new SharedDb({ url: dbUrl });
    await migrate(db);
    await upsert(db, 'patients', [{ odoo_id: 11, name: 'Ana Pérez', email: 'ana@clinica.test' }]);
    await upsert(db, 'medications', [{ odoo_product_id: 1, name: 'Paracetamol 500 mg', stock_quantity: 5, min_stock_level: 20 }]);
    for (const u of ['admin.clinica', 'farmacia.prueba', 'medico.prueba']) tokens.push((await userToken(peer, u)).access_token);
    await run('rabbitmqctl', ['add_vhost', vhost]);
    vhostCreated = true;
    await run('rabbitmqctl', ['set_permissions', '-p', vhost, 'guest', '.*', '.*', '.*']);
    rt = await startRuntime(flow, {
      env: {
        KEYCLOAK_URL: peer.baseUrl,
        KEYCLOAK_REALM: 'clinica-realm',
        SHARED_DB_URL: dbUrl,
        AMQP_URL: `${AMQP_URL}/${encodeURIComponent(vhost)}`,
        // Odoo and Nextcloud are a closed port: every call that reaches them fails as a 503, never a 500.
        ODOO_URL: 'http://127.0.0.1:9',
        ODOO_DB: 'clinica',
        ODOO_USERNAME: 'admin',
        NEXTCLOUD_URL: 'http://127.0.0.1:9',
        NEXTCLOUD_USERNAME: 'admin',
        API_RATE_LIMITS: 'read=1000000/60,write=1000000/60,admin=1000000/60',
        METRICS_ALLOW: '',
        ...SECRETS,
      },
    });
  });

  after(async function () {
    process.off('unhandledRejection', onRejection);
    process.off('uncaughtException', onException);
    await rt?.stop();
    await peer?.close();
    await db?.close();
    if (dbUrl) await dropTestDatabase(dbUrl).catch(() => undefined);
    if (vhostCreated) await run('rabbitmqctl', ['delete_vhost', vhost]).catch(() => undefined);
    const seen = [...statuses.entries()].sort((a, b) => a[0] - b[0]).map(([s, n]) => `${s}×${n}`);
    console.log(`      ${calls} calls; statuses ${seen.join(' ')}`);
  });

  /** One call; the answer checked against every rule. */
  async function check(method: string, url: string, init: { headers?: Record<string, string>; body?: Buffer | string } = {}): Promise<void> {
    calls += 1;
    let res: Response;
    try {
      res = await fetch(`${rt.url}${url}`, {
        method,
        headers: init.headers,
        body: method === 'GET' || method === 'HEAD' ? undefined : (init.body as string | undefined),
      });
    } catch (err) {
      // Only the client may refuse to send (an URL it cannot build): the server must answer everything it gets.
      const cause = (err as { cause?: { code?: string } }).cause;
      assert.ok(
        !cause || !['ECONNRESET', 'ECONNREFUSED', 'UND_ERR_SOCKET'].includes(String(cause.code)),
        `${method} ${url}: the connection broke (${String(cause?.code)})`,
      );
      return;
    }
    const text = await res.text();
    statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
    const where = `${method} ${url.slice(0, 200)} → ${res.status}: ${text.slice(0, 300)}`;
    assert.ok(res.status >= 200 && res.status < 600, where);
    if (res.status >= 500) {
      assert.match(String(res.headers.get('content-type')), /^application\/problem\+json/, `a ${res.status} without problem details: ${where}`);
      const problem = JSON.parse(text) as { status?: number; title?: string; code?: string };
      assert.equal(problem.status, res.status, where);
      assert.ok(problem.title && problem.code, where);
      assert.notEqual(res.status, 500, `an internal error: ${where}`);
    }
    assert.ok(!LEAK.test(text), `a stack trace or path in the answer: ${where}`);
    for (const [name, value] of Object.entries(SECRETS)) assert.ok(!text.includes(value), `${name} in the answer: ${where}`);
    res.headers.forEach((value, name) => assert.ok(!Object.values(SECRETS).some((s) => value.includes(s)), `a secret in header ${name}`));
  }

  const route = fc.constantFrom(...ROUTES);
  const param = fc.oneof(
    { weight: 2, arbitrary: fc.constantFrom(...RAW_PARAMS) },
    { weight: 3, arbitrary: hostileString.map((s) => encoded(s).slice(0, 3000)) },
  );
  const query = fc.oneof(
    {
      weight: 3,
      arbitrary: hostileQuery.map((q) => new URLSearchParams(Object.entries(q).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)])).toString()),
    },
    { weight: 2, arbitrary: fc.constantFrom(...RAW_QUERIES) },
    { weight: 1, arbitrary: fc.constant('') },
  );
  const auth = fc.oneof(
    fc.constant<string | undefined>(undefined),
    fc.integer({ min: 0, max: 2 }).map((i) => `Bearer ${tokens[i]}`),
    fc.constantFrom('Bearer ', 'Bearer x.y.z', 'Basic YWRtaW46YWRtaW4=', `Bearer ${'a'.repeat(5000)}`, 'Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.'),
  );
  const token = fc.constantFrom<string | undefined>(undefined, '', SECRETS.ODOO_WEBHOOK_SECRET, 'wrong', `${SECRETS.ODOO_WEBHOOK_SECRET}x`, 'a'.repeat(2000));
  const body = fc.oneof(
    { weight: 4, arbitrary: hostileJson.map((v) => ({ body: JSON.stringify(v) ?? 'null', type: 'application/json' })) },
    { weight: 1, arbitrary: fc.constantFrom(...RAW_BODIES) },
    { weight: 1, arbitrary: deepJsonText.map((text) => ({ body: text, type: 'application/json' })) },
  );

  it('/api/*: random path parameters, queries, bodies and tokens', async function () {
    await fc.assert(
      fc.asyncProperty(route, param, query, body, auth, async (r, p, q, b, a) => {
        const url = r.url.replace(/:\w+/g, p) + (q ? `?${q}` : '');
        const headers: Record<string, string> = { 'Content-Type': b.type, 'X-Correlation-Id': 'fuzz-1' };
        if (a) headers.Authorization = a;
        await check(r.method, url, { headers, body: b.body });
      }),
      { numRuns: FUZZ_RUNS },
    );
  });

  it('/odoo/webhook/*: random bodies, with no, a wrong or the right secret (?token= or header)', async function () {
    const webhooks = ROUTES.filter((r) => r.url.startsWith('/odoo/webhook/'));
    assert.equal(webhooks.length, 7);
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...webhooks), token, fc.boolean(), query, body, async (r, t, inHeader, q, b) => {
        const params = [q, t !== undefined && !inHeader ? `token=${encodeURIComponent(t)}` : ''].filter(Boolean).join('&');
        const headers: Record<string, string> = { 'Content-Type': b.type };
        if (t !== undefined && inHeader) headers['X-Clinica-Webhook-Token'] = t;
        await check('POST', `${r.url}${params ? `?${params}` : ''}`, { headers, body: b.body });
      }),
      { numRuns: FUZZ_RUNS },
    );
  });

  it('any path and method under /api and /odoo: traversal, encodings, unknown routes', async function () {
    const segment = fc.oneof(fc.constantFrom('api', 'odoo', 'webhook', 'patients', 'alerts', '..', '.', '%2e%2e', '%2f', '', 'openapi.json', 'metrics'), param);
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'HEAD'),
        fc.constantFrom('/api/', '/odoo/webhook/', '/api/alerts/', '/api/patients/'),
        fc.array(segment, { maxLength: 5 }),
        query,
        auth,
        async (method, prefix, segments, q, a) => {
          const headers: Record<string, string> = { 'Content-Type': 'application/json' };
          if (a) headers.Authorization = a;
          await check(method, `${prefix}${segments.join('/')}${q ? `?${q}` : ''}`, { headers, body: '{}' });
        },
      ),
      { numRuns: FUZZ_RUNS },
    );
  });

  it('no unhandled rejection or exception in the whole run, and Node-RED still answers', async function () {
    assert.deepEqual(
      rejections.map((r) => String((r as Error)?.stack ?? r).slice(0, 500)),
      [],
    );
    const res = await fetch(`${rt.url}/api/health`);
    assert.equal(res.status, 200);
  });
});
