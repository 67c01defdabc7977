import { strict as assert } from 'node:assert';
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { waitFor } from '../lib/harness';
import { DEFAULT_ROLE_MAPPING, editorAdminAuth, editorLogoutRedirect, editorPermissions, httpNodeAuth } from '../../host/editor-sso';
import { HeadlessBrowser } from '../../peers/keycloak/headless';
import { KeycloakPeer, SEED_PASSWORD } from '../../peers/keycloak/keycloak-peer';
import { userToken } from '../../peers/keycloak/user-token';

const ROOT = path.resolve(__dirname, '../../..');

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', () => resolve()));
  const { port } = s.address() as net.AddressInfo;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

describe('editor SSO through Keycloak (role mapping)', function () {
  it('maps admin to "*", clinic roles to read, anyone else to nothing', function () {
    assert.equal(editorPermissions(['admin', 'medico']), '*');
    assert.equal(editorPermissions(['farmacia']), 'read');
    assert.equal(editorPermissions(['offline_access', 'uma_authorization']), undefined);
    assert.equal(editorPermissions([], DEFAULT_ROLE_MAPPING), undefined);
  });

  it('stays off (open editor) until KEYCLOAK_URL, client id and secret are all set', function () {
    assert.equal(editorAdminAuth({}), undefined);
    assert.equal(editorAdminAuth({ KEYCLOAK_URL: 'http://kc:8080', KEYCLOAK_CLIENT_ID: 'node-red' }), undefined);
    const auth = editorAdminAuth({
      KEYCLOAK_URL: 'http://kc:8080',
      KEYCLOAK_CLIENT_ID: 'node-red',
      KEYCLOAK_CLIENT_SECRET: 's',
      NODE_RED_PUBLIC_URL: 'https://nr.clinica.test/',
    }) as {
      type: string;
      strategy: { name: string; options: { callbackURL: string } };
    };
    assert.equal(auth.type, 'strategy');
    assert.equal(auth.strategy.name, 'keycloak');
    assert.equal(auth.strategy.options.callbackURL, 'https://nr.clinica.test/auth/strategy/callback');
    assert.equal(
      editorLogoutRedirect({ KEYCLOAK_URL: 'http://kc:8080', KEYCLOAK_CLIENT_ID: 'node-red', KEYCLOAK_CLIENT_SECRET: 's', PORT: '1880' }),
      'http://kc:8080/realms/clinica-realm/protocol/openid-connect/logout?client_id=node-red&post_logout_redirect_uri=http%3A%2F%2Flocalhost%3A1880%2F',
    );
    assert.equal(httpNodeAuth({ KEYCLOAK_URL: 'http://kc:8080' }), undefined, 'no protected paths: no middleware');
  });
});

describe('editor SSO round trip: Node-RED (dist/settings.js) ↔ Keycloak peer, headless browser', function () {
  this.timeout(60000);
  let peer: KeycloakPeer;
  let nodeRed: ChildProcess | undefined;
  let base = '';
  let userDir = '';
  let output = '';

  before(async function () {
    peer = await KeycloakPeer.start();
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    peer.allowRedirect('node-red', `${base}/auth/strategy/callback`);
    userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'clinica-sso-'));
    nodeRed = spawn(process.execPath, [require.resolve('node-red/red.js'), '-s', path.join(ROOT, 'dist', 'settings.js')], {
      cwd: ROOT,
      env: {
        ...process.env,
        PORT: String(port),
        HOST: '127.0.0.1',
        NODE_RED_USER_DIR: userDir,
        // Never the repository's flows/: this test deploys.
        NODE_RED_FLOWS_DIR: path.join(userDir, 'flows'),
        NODE_RED_CREDENTIAL_SECRET: 'test-credential-secret',
        NODE_ENV: 'test',
        LOG_LEVEL: 'warn',
        KEYCLOAK_URL: peer.baseUrl,
        KEYCLOAK_REALM: 'clinica-realm',
        KEYCLOAK_CLIENT_ID: 'node-red',
        KEYCLOAK_CLIENT_SECRET: peer.client('node-red').secret,
        NODE_RED_PUBLIC_URL: base,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    nodeRed.stdout?.on('data', (d: Buffer) => {
      output += d.toString();
    });
    nodeRed.stderr?.on('data', (d: Buffer) => {
      output += d.toString();
    });
    try {
      await waitFor(async () => (await fetch(`${base}/auth/login`)).ok, 'Node-RED to listen', 40000, 200);
    } catch (err) {
      throw new Error(`${(err as Error).message}\n--- Node-RED output ---\n${output.slice(-3000)}`);
    }
  });

  after(async function () {
    const child = nodeRed;
    if (child && child.exitCode === null) {
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      await exited;
    }
    if (userDir) fs.rmSync(userDir, { recursive: true, force: true });
    await peer?.close();
  });

  /** Login → Keycloak form → callback → `/?access_token=…`; returns the editor's session token. */
  async function login(username: string): Promise<{ token?: string; landed: string }> {
    const browser = new HeadlessBrowser();
    const page = await browser.open(`${base}/auth/strategy`);
    assert.ok(page.url.startsWith(peer.issuer), `redirected to Keycloak, got ${page.url}`);
    const landed = await browser.submitLogin(page, username, SEED_PASSWORD, `${base}/?`);
    // Node-RED puts its base64 session token in the URL as it is: read it raw ('+' is not a space here).
    const raw = /[?&]access_token=([^&]+)/.exec(landed.url)?.[1];
    const token = raw === undefined ? undefined : decodeURIComponent(raw);
    return { token, landed: landed.url };
  }

  const api = (token: string | undefined, p: string, init: RequestInit = {}) =>
    fetch(`${base}${p}`, { ...init, headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(init.headers as Record<string, string>) } });

  it('offers a Keycloak login button that logs in automatically', async function () {
    const res = await api(undefined, '/auth/login');
    const body = (await res.json()) as { type: string; autoLogin: boolean; prompts: Array<{ label: string; url: string }> };
    assert.equal(body.type, 'strategy');
    assert.equal(body.autoLogin, true);
    assert.equal(body.prompts[0].label, 'Keycloak · clinica-realm');
    assert.equal(body.prompts[0].url, 'auth/strategy');
    assert.equal((await api(undefined, '/flows')).status, 401, 'no session, no flows');
  });

  it('logs an admin in (authorization code) with permission to deploy', async function () {
    const { token, landed } = await login('admin.clinica');
    assert.ok(token, `no access_token in ${landed}`);
    const settings = (await (await api(token, '/settings')).json()) as { user?: { username: string; permissions: string } };
    assert.deepEqual(settings.user, { username: 'admin.clinica', permissions: '*' });
    const flows = await api(token, '/flows');
    assert.equal(flows.status, 200);
    const deploy = await api(token, '/flows', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'Node-RED-Deployment-Type': 'full' },
      body: JSON.stringify([{ id: 'sso-tab', type: 'tab', label: 'SSO' }]),
    });
    assert.ok(deploy.ok, `deploy answered ${deploy.status}: ${await deploy.text()}`);
    const after = (await (await api(token, '/flows')).json()) as Array<{ id: string }>;
    assert.ok(
      after.some((n) => n.id === 'sso-tab'),
      'the deployed tab is there',
    );
  });

  it('gives other clinic roles a read-only editor', async function () {
    const { token } = await login('medico.prueba');
    assert.ok(token);
    const settings = (await (await api(token, '/settings')).json()) as { user?: { permissions: string } };
    assert.equal(settings.user?.permissions, 'read');
    assert.equal((await api(token, '/flows')).status, 200);
    const deploy = await api(token, '/flows', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '[]' });
    assert.equal(deploy.status, 401, 'read-only users cannot deploy');
  });

  it('turns away a user without a clinic role, saying why', async function () {
    const { token, landed } = await login('invitado.prueba');
    assert.equal(token, undefined);
    const message = new URL(landed).searchParams.get('session_message') ?? '';
    assert.match(message, /invitado\.prueba" has no clinic role/);
  });

  it('refuses a wrong password at Keycloak, never reaching Node-RED', async function () {
    const browser = new HeadlessBrowser();
    const page = await browser.open(`${base}/auth/strategy`);
    const back = await browser.submitLogin(page, 'admin.clinica', 'not-the-password', `${base}/`);
    assert.ok(back.url.startsWith(peer.issuer));
    assert.match(back.body, /Invalid username or password/);
  });

  it('demands a bearer token on protected /api paths when KEYCLOAK_PROTECT_PATHS is set', async function () {
    const middleware = httpNodeAuth({ KEYCLOAK_URL: peer.baseUrl, KEYCLOAK_CLIENT_ID: 'node-red', KEYCLOAK_PROTECT_PATHS: '/api/' });
    assert.ok(middleware);
    const call = (url: string, authorization?: string) =>
      new Promise<{ status: number; passed: boolean; headers: Record<string, unknown> }>((resolve) => {
        const req = { url, method: 'GET', headers: authorization ? { authorization } : {} } as never;
        const res = {
          writeHead(status: number, headers: Record<string, unknown>) {
            this.status = status;
            this.headers = headers;
            return this;
          },
          end() {
            resolve({ status: this.status, passed: false, headers: this.headers });
          },
          status: 0,
          headers: {} as Record<string, unknown>,
        };
        middleware(req, res as never, () => resolve({ status: 0, passed: true, headers: {} }));
      });
    const token = (await userToken(peer, 'recepcion.prueba')).access_token;
    assert.equal((await call('/api/patients', `Bearer ${token}`)).passed, true);
    const refused = await call('/api/patients?x=1');
    assert.equal(refused.status, 401);
    assert.equal(refused.headers['www-authenticate'], 'Bearer realm="clinica-realm"');
    assert.equal((await call('/api/patients', 'Bearer abc.def.ghi')).status, 401);
    assert.equal((await call('/api/health')).passed, true, 'health stays public');
    assert.equal((await call('/other')).passed, true, 'outside the protected paths');
  });
});
