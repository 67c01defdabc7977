/**
 * The commands of the reference deployment, run here without Docker: every service's health check against a local
 * stand-in that answers like the real server (and against the real Odoo 18 / Nextcloud 32 when they run on this
 * machine), docker/entrypoint.sh, docker/seed.sh and the Nextcloud hook with recording stand-ins for node and php.
 */
import { strict as assert } from 'node:assert';
import { execFile, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadCompose, root, type Healthcheck } from './compose-file';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(cmd, args, { env: opts.env ?? process.env, cwd: opts.cwd ?? root, timeout: 20000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

const has = (tool: string) => spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0;

/** The health check as the argv Docker runs (CMD-SHELL goes through /bin/sh -c), with `from` replaced by `to`. */
function healthcheckArgv(h: Healthcheck, from?: string, to?: string): [string, string[]] {
  const test = (Array.isArray(h.test) ? h.test : ['CMD-SHELL', h.test]).map((a) => (from && to ? a.split(from).join(to) : a));
  if (from)
    assert.ok(
      (Array.isArray(h.test) ? h.test : [h.test]).some((a) => a.includes(from)),
      `the health check addresses ${from}`,
    );
  if (test[0] === 'CMD') return [test[1], test.slice(2)];
  assert.equal(test[0], 'CMD-SHELL');
  return ['sh', ['-c', test[1]]];
}

interface Stub {
  port: number;
  paths: string[];
  answer: { status: number; body: string };
  close(): Promise<void>;
}

async function stub(): Promise<Stub> {
  const paths: string[] = [];
  const s = { answer: { status: 200, body: '' } } as Stub;
  const server = http.createServer((req, res) => {
    paths.push(req.url ?? '');
    res.writeHead(s.answer.status, { 'Content-Type': 'application/json' });
    res.end(s.answer.body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  s.port = (server.address() as AddressInfo).port;
  s.paths = paths;
  s.close = () => new Promise((r) => server.close(() => r()));
  return s;
}

/** What Nextcloud 32's status.php answers (seen on the real server), healthy or in maintenance. */
const NEXTCLOUD_STATUS = (maintenance: boolean) =>
  `{"installed":true,"maintenance":${maintenance},"needsDbUpgrade":false,"version":"32.0.1.2","versionstring":"32.0.1","edition":"","productname":"Nextcloud","extendedSupport":false}`;

/** How to try each HTTP health check against a stand-in: what it calls, and what the stand-in answers. */
const HTTP_CHECKS: Record<
  string,
  { address: string; local: (port: number) => string; path: string; healthy: string; unhealthy: { status: number; body: string } }
> = {
  odoo: {
    address: 'http://localhost:8069/',
    local: (p) => `http://127.0.0.1:${p}/`,
    path: '/web/login',
    healthy: '<html>login</html>',
    unhealthy: { status: 503, body: '' },
  },
  nextcloud: {
    address: 'http://localhost/',
    local: (p) => `http://127.0.0.1:${p}/`,
    path: '/status.php',
    healthy: NEXTCLOUD_STATUS(false),
    unhealthy: { status: 200, body: NEXTCLOUD_STATUS(true) },
  },
  keycloak: {
    address: '/dev/tcp/127.0.0.1/9000',
    local: (p) => `/dev/tcp/127.0.0.1/${p}`,
    path: '/health/ready',
    healthy: '{"status":"UP","checks":[]}',
    unhealthy: { status: 503, body: '{"status":"DOWN","checks":[]}' },
  },
  mailpit: {
    address: 'http://127.0.0.1:8025/',
    local: (p) => `http://127.0.0.1:${p}/`,
    path: '/readyz',
    healthy: 'ok',
    unhealthy: { status: 503, body: '' },
  },
  // Every Node-RED replica (profile replicas: node-red-2, node-red-3) has the same check: the flows' readiness.
  ...Object.fromEntries(
    ['node-red', 'node-red-2', 'node-red-3'].map((name) => [
      name,
      {
        address: 'http://127.0.0.1:1880/',
        local: (p: number) => `http://127.0.0.1:${p}/`,
        path: '/api/ready',
        healthy: '{"status":"ready"}',
        unhealthy: { status: 503, body: '{"code":"NOT_READY"}' },
      },
    ]),
  ),
  // The balancer of the profile replicas: it answers, and reaches a replica's liveness route.
  'node-red-lb': {
    address: 'http://127.0.0.1:1880/',
    local: (p) => `http://127.0.0.1:${p}/`,
    path: '/api/health',
    healthy: '{"status":"up"}',
    unhealthy: { status: 502, body: '' },
  },
};
const PG_CHECKS = ['shared-db', 'odoo-db', 'nextcloud-db'];

describe('the reference deployment: health checks, entry point and seed scripts', function () {
  this.timeout(60000);
  const compose = loadCompose();
  const services = compose.services;

  it('has a way to try every health check here', function () {
    for (const [name, svc] of Object.entries(services)) {
      if (svc.healthcheck) assert.ok(name in HTTP_CHECKS || PG_CHECKS.includes(name) || name === 'rabbitmq', `${name}: add its health check to this test`);
    }
  });

  for (const [name, c] of Object.entries(HTTP_CHECKS)) {
    it(`${name}: the health check passes when the server answers like a ready one, fails otherwise`, async function () {
      for (const tool of ['curl', 'bash', 'grep', 'wget']) if (!has(tool)) this.skip();
      const s = await stub();
      try {
        const [cmd, args] = healthcheckArgv(services[name].healthcheck as Healthcheck, c.address, c.local(s.port));
        s.answer = { status: 200, body: c.healthy };
        const ok = await run(cmd, args);
        assert.equal(ok.code, 0, `healthy: ${ok.stderr}`);
        assert.deepEqual(s.paths, [c.path], 'it asks the right page');
        s.answer = c.unhealthy;
        assert.notEqual((await run(cmd, args)).code, 0, 'not ready');
      } finally {
        await s.close();
      }
      const [cmd, args] = healthcheckArgv(services[name].healthcheck as Healthcheck, c.address, c.local(1));
      assert.notEqual((await run(cmd, args)).code, 0, 'nothing listening');
    });
  }

  it('odoo and nextcloud: the health checks pass against the real Odoo 18 and Nextcloud 32 of this machine', async function () {
    const real: Array<[string, string]> = [
      ['odoo', 'http://127.0.0.1:8069/'],
      ['nextcloud', 'http://127.0.0.1:8082/'],
    ];
    const up = await Promise.all(
      real.map(([, url]) =>
        fetch(url, { signal: AbortSignal.timeout(3000) }).then(
          () => true,
          () => false,
        ),
      ),
    );
    if (!up.some(Boolean) || !has('curl')) this.skip();
    for (const [i, [name, url]] of real.entries()) {
      if (!up[i]) continue;
      const [cmd, args] = healthcheckArgv(services[name].healthcheck as Healthcheck, HTTP_CHECKS[name].address, url);
      const r = await run(cmd, args);
      assert.equal(r.code, 0, `${name} at ${url}: ${r.stderr}`);
    }
  });

  it('the PostgreSQL health checks pass against a running server and fail without one', async function () {
    if (!has('pg_isready')) this.skip();
    for (const name of PG_CHECKS) {
      const [cmd, args] = healthcheckArgv(services[name].healthcheck as Healthcheck);
      assert.equal((await run(cmd, args, { env: { ...process.env, PGHOST: '127.0.0.1', PGPORT: '5432' } })).code, 0, name);
      assert.notEqual((await run(cmd, args, { env: { ...process.env, PGHOST: '127.0.0.1', PGPORT: '9' } })).code, 0, `${name} without a server`);
    }
  });

  it('the RabbitMQ health check passes against a running broker', async function () {
    if (!has('rabbitmq-diagnostics')) this.skip();
    const [cmd, args] = healthcheckArgv(services.rabbitmq.healthcheck as Healthcheck);
    const r = await run(cmd, args);
    assert.equal(r.code, 0, r.stderr);
  });

  describe('docker/entrypoint.sh', function () {
    let dir: string;
    const entrypoint = path.join(root, 'docker', 'entrypoint.sh');
    const printEnv = `console.log(JSON.stringify({ key: process.env.ODOO_API_KEY ?? null, nc: process.env.NEXTCLOUD_APP_PASSWORD ?? null, secret: process.env.NODE_RED_CREDENTIAL_SECRET ?? null }))`;
    beforeEach(() => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'clinica-entrypoint-'));
    });
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    const env = (extra: Record<string, string>) => ({ PATH: process.env.PATH, HOME: dir, ...extra });

    it('sets each credential from its handed-over file, unless the credential is given', async function () {
      fs.writeFileSync(path.join(dir, 'odoo-api-key'), 'k-123\n');
      const files = { ODOO_API_KEY_FILE: path.join(dir, 'odoo-api-key'), NEXTCLOUD_APP_PASSWORD_FILE: path.join(dir, 'missing') };
      const r = await run('sh', [entrypoint, 'node', '-e', printEnv], { env: env(files) });
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(JSON.parse(r.stdout), { key: 'k-123', nc: null, secret: null }, 'a file that is not there yet (a seeder before its work) is no error');
      const given = await run('sh', [entrypoint, 'node', '-e', printEnv], { env: env({ ...files, ODOO_API_KEY: 'from-env' }) });
      assert.equal(JSON.parse(given.stdout).key, 'from-env', 'a value given in .env wins');
      // Other *_FILE variables name files for other programs: their contents stay out of the environment.
      const other = await run('sh', [entrypoint, 'node', '-e', 'console.log(process.env.SSL_CERT ?? null)'], {
        env: env({ SSL_CERT_FILE: path.join(dir, 'odoo-api-key') }),
      });
      assert.equal(other.stdout.trim(), 'null');
    });

    it('starting Node-RED: generates the credential secret once, keeps it, and copies the shipped flows once', async function () {
      // A stand-in for scripts/start.js in the working directory: the entrypoint runs it as it would run Node-RED.
      fs.mkdirSync(path.join(dir, 'scripts'));
      fs.writeFileSync(path.join(dir, 'scripts', 'start.js'), printEnv);
      const userDir = path.join(dir, 'data');
      const flowsDir = path.join(userDir, 'flows');
      const vars = { NODE_RED_USER_DIR: userDir, NODE_RED_FLOWS_DIR: flowsDir, ODOO_API_KEY_FILE: path.join(dir, 'none') };
      const first = await run('sh', [entrypoint, 'node', 'scripts/start.js'], { env: env(vars), cwd: dir });
      assert.equal(first.code, 0, first.stderr);
      const { secret } = JSON.parse(first.stdout) as { secret: string };
      assert.match(secret, /^[0-9a-f]{64}$/);
      const file = path.join(userDir, '.credential-secret');
      assert.equal(fs.readFileSync(file, 'utf8'), secret);
      assert.equal(fs.statSync(file).mode & 0o077, 0, 'only its owner reads the secret');
      assert.match(first.stderr, /ODOO_API_KEY is empty/, 'Node-RED without its handed-over key says so');
      const shipped = fs.readdirSync(path.join(root, 'flows')).filter((f) => f.endsWith('.json'));
      assert.deepEqual(fs.readdirSync(flowsDir).sort(), shipped.sort());

      // An instructor's change survives a restart; the secret stays the same.
      const edited = path.join(flowsDir, shipped[0]);
      fs.writeFileSync(edited, '[]');
      const second = await run('sh', [entrypoint, 'node', 'scripts/start.js'], { env: env(vars), cwd: dir });
      assert.equal(JSON.parse(second.stdout).secret, secret);
      assert.equal(fs.readFileSync(edited, 'utf8'), '[]');

      const given = await run('sh', [entrypoint, 'node', 'scripts/start.js'], { env: env({ ...vars, NODE_RED_CREDENTIAL_SECRET: 'mine' }), cwd: dir });
      assert.equal(JSON.parse(given.stdout).secret, 'mine');
    });
  });

  it('docker/seed.sh makes the credential first, then seeds with the very credential it handed over', async function () {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'clinica-seed-'));
    try {
      // A stand-in for node: the credential maker writes the file, every other script reports what it was given.
      fs.writeFileSync(
        path.join(dir, 'node'),
        [
          '#!/bin/sh',
          'case "$1" in',
          '  dist/seeds/odoo/api-key.js) echo k-odoo > "$ODOO_API_KEY_FILE" ;;',
          '  dist/seeds/nextcloud/app-password.js) echo p-nc > "$NEXTCLOUD_APP_PASSWORD_FILE" ;;',
          'esac',
          'echo "$1 ${ODOO_API_KEY:-} ${NEXTCLOUD_APP_PASSWORD:-}" >> "$LOG"',
        ].join('\n'),
        { mode: 0o755 },
      );
      const log = path.join(dir, 'log');
      const handover = { ODOO_API_KEY_FILE: path.join(dir, 'odoo-api-key'), NEXTCLOUD_APP_PASSWORD_FILE: path.join(dir, 'nextcloud-app-password') };
      const env = (system: string) => {
        const own = services[`seed-${system}`].environment ?? {};
        // The seeder's own environment, its handover file moved to the scratch folder.
        return { PATH: `${dir}:${process.env.PATH}`, LOG: log, ...own, ...Object.fromEntries(Object.entries(handover).filter(([k]) => k in own)) };
      };
      for (const system of ['odoo', 'nextcloud']) {
        const cmd = services[`seed-${system}`].command as string[];
        assert.deepEqual(cmd, ['sh', 'docker/seed.sh', system]);
        const r = await run('sh', [path.join(root, cmd[1]), system], { env: env(system), cwd: dir });
        assert.equal(r.code, 0, r.stderr);
      }
      assert.deepEqual(fs.readFileSync(log, 'utf8').trim().split('\n'), [
        'dist/seeds/odoo/api-key.js  ',
        'dist/seeds/odoo/seed.js k-odoo ',
        'dist/seeds/odoo/sso.js k-odoo ',
        'dist/seeds/nextcloud/app-password.js  ',
        'dist/seeds/nextcloud/seed.js  p-nc',
      ]);
      for (const f of ['odoo/api-key', 'odoo/seed', 'odoo/sso', 'nextcloud/app-password', 'nextcloud/seed'])
        assert.ok(fs.existsSync(path.join(root, 'seeds', `${f}.ts`)), f);
      assert.equal((await run('sh', [path.join(root, 'docker', 'seed.sh'), 'bogus'], { env: env('odoo') })).code, 2);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  describe('the Nextcloud hook that sets up the Keycloak login', function () {
    const realm = JSON.parse(fs.readFileSync(path.join(root, 'seeds', 'keycloak', 'clinica-realm.json'), 'utf8')) as {
      realm: string;
      clients: Array<{ clientId: string; standardFlowEnabled?: boolean; redirectUris?: string[] }>;
    };
    const hook = path.join(root, 'docker', 'nextcloud', 'before-starting', '10-clinica-sso.sh');

    async function runHook(failing: string[] = []): Promise<{ r: Run; calls: string[] }> {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'clinica-hook-'));
      try {
        // A stand-in for php: records each occ command, fails the ones asked to.
        fs.writeFileSync(
          path.join(dir, 'php'),
          ['#!/bin/sh', 'shift', 'echo "$*" >> "$LOG"', 'for f in $FAILING; do [ "$1" = "$f" ] && exit 1; done', 'exit 0'].join('\n'),
          { mode: 0o755 },
        );
        const log = path.join(dir, 'log');
        const env = { ...services.nextcloud.environment, PATH: `${dir}:${process.env.PATH}`, LOG: log, FAILING: failing.join(' ') };
        const r = await run('sh', [hook], { env, cwd: dir });
        return { r, calls: fs.existsSync(log) ? fs.readFileSync(log, 'utf8').trim().split('\n') : [] };
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    }

    it("installs user_oidc and points it at the realm's nextcloud client, with the environment compose gives", async function () {
      const { r, calls } = await runHook();
      assert.equal(r.code, 0, r.stderr);
      const env = services.nextcloud.environment ?? {};
      assert.equal(calls[0], 'app:install user_oidc');
      assert.ok(calls.includes('config:system:set allow_local_remote_servers --value=true --type=boolean'));
      const provider = calls.find((c) => c.startsWith('user_oidc:provider Keycloak '));
      assert.ok(provider, calls.join('\n'));
      assert.ok(provider.includes(`--clientsecret=${env.NEXTCLOUD_OIDC_SECRET}`));
      assert.ok(provider.includes(`--discoveryuri=http://keycloak:8080/realms/${realm.realm}/.well-known/openid-configuration`));
      assert.ok(provider.includes('--mapping-uid=preferred_username'));
      const client = realm.clients.find((c) => provider.includes(`--clientid=${c.clientId} `));
      assert.ok(client?.standardFlowEnabled, 'the client exists in the realm, with the code flow');
      for (const p of ['/apps/user_oidc/code', '/index.php/apps/user_oidc/code']) {
        assert.ok(
          client.redirectUris?.some((u) => u.endsWith(p)),
          `Keycloak accepts the redirect ${p}`,
        );
      }
    });

    it('a later start enables the installed app; without the app store Nextcloud starts with its own login', async function () {
      const later = await runHook(['app:install']);
      assert.equal(later.r.code, 0);
      assert.deepEqual(later.calls.slice(0, 2), ['app:install user_oidc', 'app:enable user_oidc']);
      assert.ok(later.calls.some((c) => c.startsWith('user_oidc:provider')));
      const offline = await runHook(['app:install', 'app:enable']);
      assert.equal(offline.r.code, 0, 'a failing hook would stop Nextcloud from starting');
      assert.match(offline.r.stdout, /could not be installed/);
      assert.ok(!offline.calls.some((c) => c.startsWith('user_oidc:provider')));
    });
  });
});
