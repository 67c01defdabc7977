/**
 * The seeders that make Node-RED's credentials in the reference deployment (seeds/odoo/api-key.ts,
 * seeds/nextcloud/app-password.ts, seeds/lib/handover.ts) and the Odoo login through Keycloak (seeds/odoo/sso.ts).
 * Always against stand-ins that answer the way the real Odoo 18 and Nextcloud 32 answered (the exchanges are in the
 * seeders' comments); against the real systems when they are configured:
 *   ODOO_CONFORMANCE_URL / _DB / _USER / _PASSWORD                     the API key (made, reused, revoked)
 *   NEXTCLOUD_CONFORMANCE_URL / _USER, NEXTCLOUD_CONFORMANCE_LOGIN_PASSWORD   the app password (made, reused, deleted)
 *   ODOO_SSO_CHECK_URL / _DB (a scratch database: auth_oauth is installed, users are created)   the Keycloak login
 */
import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { OdooClient } from '../../nodes/clients/odoo/client';
import { ensureOdooApiKey, odooKeyWorks, revokeOdooApiKeys, type OdooLogin } from '../../seeds/odoo/api-key';
import { ensureAppPassword, nextcloudPasswordWorks, type NextcloudLogin } from '../../seeds/nextcloud/app-password';
import { clinicStaff, seedOdooSso } from '../../seeds/odoo/sso';
import { handoverFile, readHandover, writeHandover } from '../../seeds/lib/handover';

type Handler = (req: http.IncomingMessage, body: string, res: http.ServerResponse) => void;

async function serve(handler: Handler): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString('utf8')));
    req.on('end', () => handler(req, body, res));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => new Promise((r) => server.close(() => r())) };
}

const json = (res: http.ServerResponse, value: unknown, headers: Record<string, string> = {}) => {
  res.writeHead(200, { 'Content-Type': 'application/json', ...headers });
  res.end(JSON.stringify(value));
};

/** An Odoo 18 (or 17, without the key's duration) as far as the API key wizard goes, as seen on the real server. */
function fakeOdoo(version: 17 | 18 = 18) {
  const state = {
    keys: new Map<number, { name: string; key: string }>(),
    wizards: new Map<number, Record<string, unknown>>(),
    checks: new Map<number, { model: string; method: string; ids: number[]; password?: string }>(),
    sessions: new Map<string, { identity: boolean }>(),
    nextId: 1,
  };
  const accessDenied = { code: 200, message: 'Odoo Server Error', data: { name: 'odoo.exceptions.AccessDenied', message: 'Access Denied' } };
  const run = (model: string, method: string, ids: number[]) => {
    if (model === 'res.users.apikeys.description' && method === 'make_key') {
      const key = randomBytes(20).toString('hex');
      state.keys.set(state.nextId++, { name: String(state.wizards.get(ids[0])?.name), key });
      return { type: 'ir.actions.act_window', res_model: 'res.users.apikeys.show', name: 'API Key Ready', context: { default_key: key } };
    }
    for (const id of ids) state.keys.delete(id);
    return { type: 'ir.actions.act_window_close' };
  };
  const handler: Handler = (req, body, res) => {
    const msg = JSON.parse(body || '{}') as { id?: number; params: Record<string, any> };
    const p = msg.params ?? {};
    if (req.url === '/jsonrpc') {
      if (p.method === 'version')
        return json(res, { jsonrpc: '2.0', id: msg.id, result: { server_version: `${version}.0`, server_version_info: [version, 0, 0, 'final', 0, ''] } });
      const [, login, secret] = p.args as string[];
      const ok = login === 'admin' && [...state.keys.values()].some((k) => k.key === secret);
      return json(res, { jsonrpc: '2.0', id: msg.id, result: ok ? 2 : false });
    }
    if (req.url === '/web/session/authenticate') {
      if (p.login !== 'admin' || p.password !== 'admin') return json(res, { jsonrpc: '2.0', id: msg.id, error: accessDenied });
      const sid = randomBytes(8).toString('hex');
      state.sessions.set(sid, { identity: false });
      return json(res, { jsonrpc: '2.0', id: msg.id, result: { uid: 2 } }, { 'Set-Cookie': `session_id=${sid}; HttpOnly; Path=/` });
    }
    const session = state.sessions.get(/session_id=([^;]+)/.exec(req.headers.cookie ?? '')?.[1] ?? '');
    const m = /^\/web\/dataset\/call_kw\/([\w.]+)\/(\w+)$/.exec(req.url ?? '');
    if (!session || !m)
      return json(res, {
        jsonrpc: '2.0',
        id: msg.id,
        error: { code: 100, message: 'Odoo Session Expired', data: { name: 'odoo.http.SessionExpiredException', message: 'Session expired' } },
      });
    const [model, method] = [m[1], m[2]];
    const args = p.args as any[];
    let result: unknown;
    if (model === 'res.users.apikeys.description' && method === 'fields_get')
      result = { name: { type: 'char' }, ...(version >= 18 ? { duration: { type: 'selection' } } : {}) };
    else if (model === 'res.users.apikeys.description' && method === 'create') {
      if ('duration' in args[0] && version < 18)
        return json(res, {
          jsonrpc: '2.0',
          id: msg.id,
          error: { code: 200, message: 'Odoo Server Error', data: { name: 'ValueError', message: 'Invalid field duration' } },
        });
      state.wizards.set(state.nextId, args[0]);
      result = state.nextId++;
    } else if (model === 'res.users.apikeys' && method === 'search_read') {
      const name = (p.kwargs.domain as any[]).find((d) => d[0] === 'name')[2];
      result = [...state.keys.entries()].filter(([, k]) => k.name === name).map(([id]) => ({ id }));
    } else if (model === 'res.users.identitycheck' && method === 'write') {
      (state.checks.get(args[0][0]) as { password?: string }).password = args[1].password;
      result = true;
    } else if (model === 'res.users.identitycheck' && method === 'run_check') {
      const check = state.checks.get(args[0][0]);
      if (!check || check.password !== 'admin') return json(res, { jsonrpc: '2.0', id: msg.id, error: accessDenied });
      session.identity = true;
      result = run(check.model, check.method, check.ids);
    } else if (session.identity) result = run(model, method, args[0]);
    else {
      state.checks.set(state.nextId, { model, method, ids: args[0] });
      result = { type: 'ir.actions.act_window', res_model: 'res.users.identitycheck', res_id: state.nextId++, name: 'Security Control', target: 'new' };
    }
    json(res, { jsonrpc: '2.0', id: msg.id, result });
  };
  return { state, handler };
}

/** A Nextcloud 32 as far as app passwords go: getapppassword with the login password, WebDAV with app passwords. */
function fakeNextcloud() {
  const tokens = new Set<string>();
  const handler: Handler = (req, _body, res) => {
    const [user, secret] = Buffer.from((req.headers.authorization ?? '').replace(/^Basic /, ''), 'base64')
      .toString()
      .split(':');
    if (req.url === '/ocs/v2.php/core/getapppassword') {
      const status = user === 'admin' && secret === 'admin' ? 200 : tokens.has(secret) ? 403 : 401;
      const token = randomBytes(36).toString('base64url');
      if (status === 200) tokens.add(token);
      res.writeHead(status, { 'Content-Type': 'application/json' });
      res.end(
        JSON.stringify({
          ocs: { meta: { status: status === 200 ? 'ok' : 'failure', statuscode: status }, data: status === 200 ? { apppassword: token } : [] },
        }),
      );
      return;
    }
    const ok = user === 'admin' && tokens.has(secret) && req.method === 'PROPFIND';
    res.writeHead(ok ? 207 : 401, { 'Content-Type': 'application/xml; charset=utf-8' });
    res.end(ok ? '<?xml version="1.0"?><d:multistatus xmlns:d="DAV:"/>' : '');
  };
  return { tokens, handler };
}

describe('the reference deployment: the seeders hand Node-RED its credentials', function () {
  this.timeout(60000);

  describe('seeds/lib/handover.ts', function () {
    it('writes a credential only its owner reads, and reads it back trimmed; a missing file is no error', function () {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'clinica-handover-'));
      try {
        const file = path.join(dir, 'sub', 'odoo-api-key');
        assert.equal(readHandover(file), undefined);
        writeHandover(file, 'k-1');
        assert.equal(fs.readFileSync(file, 'utf8'), 'k-1\n');
        assert.equal(fs.statSync(file).mode & 0o077, 0);
        assert.equal(readHandover(file), 'k-1');
        writeHandover(file, 'k-2');
        assert.equal(readHandover(file), 'k-2');
        assert.deepEqual(fs.readdirSync(path.dirname(file)), ['odoo-api-key'], 'no temporary file left');
        assert.equal(handoverFile('ODOO_API_KEY', { ODOO_API_KEY_FILE: file }), file);
        assert.equal(handoverFile('ODOO_API_KEY', {}), undefined);
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });
  });

  describe('the Odoo API key (seeds/odoo/api-key.ts)', function () {
    for (const version of [18, 17] as const) {
      it(`Odoo ${version}: makes a key through the identity check, keeps it while it works, replaces and revokes a stale one`, async function () {
        const odoo = fakeOdoo(version);
        const server = await serve(odoo.handler);
        try {
          const login: OdooLogin = { url: server.url, db: 'clinica', login: 'admin', password: 'admin' };
          const first = await ensureOdooApiKey(login);
          assert.deepEqual({ reused: first.reused, revoked: first.revoked }, { reused: false, revoked: 0 });
          assert.ok(await odooKeyWorks(login, first.key));
          const again = await ensureOdooApiKey(login, { current: first.key });
          assert.deepEqual(again, { key: first.key, reused: true, revoked: 0 });
          assert.equal(odoo.state.keys.size, 1, 'a restart makes no key');
          // The handed-over key was revoked by hand: a new one, and the older ones of that name go.
          const stale = await ensureOdooApiKey(login, { current: 'revoked-key' });
          assert.equal(stale.reused, false);
          assert.equal(stale.revoked, 1);
          assert.deepEqual(
            [...odoo.state.keys.values()].map((k) => k.key),
            [stale.key],
          );
          assert.equal(await revokeOdooApiKeys(login), 1);
          assert.equal(await odooKeyWorks(login, stale.key), false);
        } finally {
          await server.close();
        }
      });
    }

    it('says so when the password is wrong, and never takes a server that cannot be asked for a refusal', async function () {
      const server = await serve(fakeOdoo().handler);
      try {
        await assert.rejects(ensureOdooApiKey({ url: server.url, db: 'clinica', login: 'admin', password: 'wrong' }), /web login of "admin".*AccessDenied/);
      } finally {
        await server.close();
      }
      // Nothing listening: an error, not "the key does not work" (which would make a new key each time).
      await assert.rejects(odooKeyWorks({ url: 'http://127.0.0.1:1', db: 'clinica', login: 'admin', timeoutMs: 2000 }, 'k'));
    });

    it('on a real Odoo (ODOO_CONFORMANCE_URL): made, reused, revoked', async function () {
      const env = process.env;
      if (!env.ODOO_CONFORMANCE_URL || !env.ODOO_CONFORMANCE_PASSWORD) this.skip();
      const login: OdooLogin = {
        url: env.ODOO_CONFORMANCE_URL,
        db: env.ODOO_CONFORMANCE_DB || 'clinica',
        login: env.ODOO_CONFORMANCE_USER || 'admin',
        password: env.ODOO_CONFORMANCE_PASSWORD,
      };
      const name = `clinica compose test ${process.pid}`;
      try {
        const made = await ensureOdooApiKey(login, { name });
        assert.equal(made.reused, false);
        assert.ok(await odooKeyWorks(login, made.key));
        assert.equal((await ensureOdooApiKey(login, { name, current: made.key })).reused, true);
        assert.equal(await revokeOdooApiKeys(login, name), 1);
        assert.equal(await odooKeyWorks(login, made.key), false);
      } finally {
        await revokeOdooApiKeys(login, name);
      }
    });
  });

  describe('the Nextcloud app password (seeds/nextcloud/app-password.ts)', function () {
    it('makes one from the login password, keeps it while it works, makes another when it no longer does', async function () {
      const nc = fakeNextcloud();
      const server = await serve(nc.handler);
      try {
        const login: NextcloudLogin = { url: server.url, username: 'admin', password: 'admin' };
        const first = await ensureAppPassword(login);
        assert.equal(first.reused, false);
        assert.ok(await nextcloudPasswordWorks(login, first.appPassword));
        assert.deepEqual(await ensureAppPassword(login, { current: first.appPassword }), { appPassword: first.appPassword, reused: true });
        nc.tokens.delete(first.appPassword);
        const next = await ensureAppPassword(login, { current: first.appPassword });
        assert.equal(next.reused, false);
        assert.notEqual(next.appPassword, first.appPassword);
        await assert.rejects(ensureAppPassword({ ...login, password: next.appPassword }), /HTTP 403.*login password/);
        await assert.rejects(ensureAppPassword({ ...login, password: 'wrong' }), /HTTP 401.*wrong/);
      } finally {
        await server.close();
      }
    });

    it('on a real Nextcloud (NEXTCLOUD_CONFORMANCE_URL): made, reused, deleted', async function () {
      const env = process.env;
      if (!env.NEXTCLOUD_CONFORMANCE_URL || !env.NEXTCLOUD_CONFORMANCE_LOGIN_PASSWORD) this.skip();
      const login: NextcloudLogin = {
        url: env.NEXTCLOUD_CONFORMANCE_URL,
        username: env.NEXTCLOUD_CONFORMANCE_USER || 'admin',
        password: env.NEXTCLOUD_CONFORMANCE_LOGIN_PASSWORD,
      };
      const made = await ensureAppPassword(login, { device: `clinica compose test ${process.pid}` });
      try {
        assert.equal(made.reused, false);
        assert.equal((await ensureAppPassword(login, { current: made.appPassword })).reused, true);
      } finally {
        const res = await fetch(new URL('/ocs/v2.php/core/apppassword', login.url), {
          method: 'DELETE',
          headers: { Authorization: `Basic ${Buffer.from(`${login.username}:${made.appPassword}`).toString('base64')}`, 'OCS-APIRequest': 'true' },
        });
        assert.equal(res.status, 200, 'the test app password is deleted');
      }
      assert.equal(await nextcloudPasswordWorks(login, made.appPassword), false);
    });
  });

  describe('the Odoo login through Keycloak (seeds/odoo/sso.ts)', function () {
    it("links one Odoo user to each of the realm's clinic staff, by Keycloak user id; guests and service accounts get none", function () {
      const staff = clinicStaff();
      assert.deepEqual(
        staff.map((u) => u.username),
        ['admin.clinica', 'medico.prueba', 'enfermeria.prueba', 'farmacia.prueba', 'recepcion.prueba'],
      );
      for (const u of staff) assert.match(u.id, /^[0-9a-f-]{36}$/, `${u.username} has a fixed id in the realm (the token's sub)`);
    });

    it('on a scratch Odoo database (ODOO_SSO_CHECK_URL): a linked user logs in with a Keycloak token, a guest does not', async function () {
      const env = process.env;
      if (!env.ODOO_SSO_CHECK_URL || !env.ODOO_SSO_CHECK_DB) this.skip();
      const medico = clinicStaff().find((u) => u.username === 'medico.prueba');
      // A stand-in for Keycloak's userinfo endpoint: Odoo's server asks it about the token, with the token in the header.
      const userinfo = await serve((req, _b, res) => {
        const token = req.headers.authorization;
        if (token === 'Bearer medico') return json(res, { sub: medico?.id, preferred_username: 'medico.prueba', email: medico?.email });
        if (token === 'Bearer guest') return json(res, { sub: '0b7c2f1e-0000-4000-8000-000000000006' });
        res.writeHead(401, { 'WWW-Authenticate': 'Bearer error="invalid_token"' });
        res.end();
      });
      const client = new OdooClient({
        url: env.ODOO_SSO_CHECK_URL,
        db: env.ODOO_SSO_CHECK_DB,
        username: 'admin',
        password: env.ODOO_SSO_CHECK_PASSWORD || 'admin',
        timeoutMs: 300000,
      });
      try {
        const report = await seedOdooSso({ client, keycloakPublicUrl: 'http://localhost:8080', keycloakUrl: userinfo.url });
        const signin = async (token: string) => {
          const state = encodeURIComponent(JSON.stringify({ d: env.ODOO_SSO_CHECK_DB, p: report.provider, r: '/odoo' }));
          const res = await fetch(`${env.ODOO_SSO_CHECK_URL}/auth_oauth/signin?access_token=${token}&state=${state}`, { redirect: 'manual' });
          return res.headers.get('location') ?? '';
        };
        assert.match(await signin('medico'), /\/odoo$/, 'the linked user is signed in');
        assert.match(await signin('guest'), /oauth_error=3/, 'a realm user without a clinic role is refused');
        assert.match(await signin('forged'), /oauth_error=2/, 'a token Keycloak does not know is refused');
        const [user] = await client.searchRead('res.users', { domain: [['oauth_uid', '=', medico?.id]], fields: ['login', 'share'] });
        assert.deepEqual([user.login, user.share], ['medico.prueba', false], 'an internal user');
      } finally {
        client.close();
        await userinfo.close();
      }
    });
  });
});
