/**
 * The reference deployment (docker-compose.yml, docker/) is right by construction: no Docker engine runs here, so
 * these checks read the files the way Docker Compose and Docker do. test/pack/compose-scripts.spec.ts runs the
 * health checks and scripts; test/pack/compose-seeds.spec.ts the seeders that hand the credentials over.
 */
import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { WEBHOOK_PATHS } from '../../seeds/odoo/seed';
import { COMPOSE_FILE, dependencies, interpolationDefaults, loadCompose, rawCompose, root, schemaErrors, type Env } from './compose-file';

const read = (file: string) => fs.readFileSync(path.join(root, file), 'utf8');
const realm = JSON.parse(read('seeds/keycloak/clinica-realm.json')) as {
  realm: string;
  clients: Array<{ clientId: string; secret?: string }>;
};
/** The seeders node-red waits for, and every one-shot service (with the profile replicas' second Odoo seed). */
const SEEDERS = ['seed-odoo', 'seed-nextcloud'];
const ONE_SHOT = [...SEEDERS, 'seed-odoo-replicas'];
const HANDED_OVER = ['ODOO_API_KEY', 'NEXTCLOUD_APP_PASSWORD'];
/** The environment names of docs/mission.md ("Every connection setting of the shipped flows comes from environment variables"). */
const MISSION_ENV = [
  'ODOO_URL',
  'ODOO_DB',
  'ODOO_USERNAME',
  'ODOO_API_KEY',
  'NEXTCLOUD_URL',
  'NEXTCLOUD_USERNAME',
  'NEXTCLOUD_APP_PASSWORD',
  'KEYCLOAK_URL',
  'KEYCLOAK_REALM',
  'KEYCLOAK_CLIENT_ID',
  'KEYCLOAK_CLIENT_SECRET',
  'SHARED_DB_URL',
  'AMQP_URL',
  'NODE_RED_CREDENTIAL_SECRET',
];
/** Every variable a .env could set for this file, set to something else than the defaults. */
function overridingEnv(): Env {
  return Object.fromEntries(
    [...interpolationDefaults().keys()].map((k) => [k, k.endsWith('_URL') ? `http://${k.toLowerCase()}.example:1` : `x-${k.toLowerCase()}`]),
  );
}

/** What the service's environment sets `name` to, directly or through a handed-over `<name>_FILE`. */
function provides(env: Record<string, string>, name: string): boolean {
  return Boolean(env[name]) || Boolean(env[`${name}_FILE`]);
}

/** The names of the environment variables the pack reads (flows, settings, host, nodes, scripts, entrypoint). */
function namesReadByThePack(): Set<string> {
  const names = new Set<string>();
  const files = [
    'settings.ts',
    'docker/entrypoint.sh',
    ...['host', 'scripts', 'flows'].flatMap((d) => fs.readdirSync(path.join(root, d)).map((f) => `${d}/${f}`)),
    ...walk('nodes').filter((f) => f.endsWith('.ts')),
  ];
  for (const f of files) {
    const text = read(f);
    for (const m of text.matchAll(/\$\{([A-Z][A-Z0-9_]*)\}|env\.([A-Z][A-Z0-9_]*)|env\[['"]([A-Z][A-Z0-9_]*)|['"]([A-Z][A-Z0-9]*_[A-Z0-9_]+)['"]/g)) {
      names.add(m[1] ?? m[2] ?? m[3] ?? m[4]);
    }
  }
  return names;
}

function walk(dir: string): string[] {
  return fs.readdirSync(path.join(root, dir), { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(`${dir}/${e.name}`) : [`${dir}/${e.name}`]));
}

function flowVariables(): Set<string> {
  const names = new Set<string>();
  for (const f of fs.readdirSync(path.join(root, 'flows'))) for (const m of read(`flows/${f}`).matchAll(/\$\{([A-Z][A-Z0-9_]*)\}/g)) names.add(m[1]);
  return names;
}

describe('the reference deployment: docker-compose.yml', function () {
  const compose = loadCompose();
  const raw = rawCompose();
  const services = compose.services;
  const nodeRed = services['node-red'].environment ?? {};
  const rawEnv = (svc: string) => raw.services[svc].environment ?? {};

  it('is valid against the Compose Specification schema, with no .env and with every default overridden', function () {
    assert.deepEqual(schemaErrors(compose), [], 'docker-compose.yml with no .env');
    assert.deepEqual(schemaErrors(loadCompose(overridingEnv())), [], 'docker-compose.yml with every variable set in .env');
    // The .env that `npm start` reads (copied from .env.example) is also the one Compose reads: it changes nothing here.
    const npmStartEnv = Object.fromEntries(
      read('.env.example')
        .split('\n')
        .filter((l) => /^[A-Z_]+=/.test(l))
        .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
    );
    const withNpmStartEnv = loadCompose(npmStartEnv);
    assert.deepEqual(schemaErrors(withNpmStartEnv), []);
    for (const name of ['ODOO_URL', 'ODOO_DB', 'ODOO_USERNAME', 'NEXTCLOUD_URL', 'KEYCLOAK_URL', 'KEYCLOAK_CLIENT_SECRET', 'SHARED_DB_URL', 'AMQP_URL']) {
      assert.equal(
        withNpmStartEnv.services['node-red'].environment?.[name],
        compose.services['node-red'].environment?.[name],
        `${name} is the deployment's own`,
      );
    }
    // The validator really checks: a wrong condition, a number where Compose wants a duration, an unknown key.
    const broken = JSON.parse(JSON.stringify(compose)) as any;
    broken.services.odoo.depends_on['odoo-db'].condition = 'service_ready';
    broken.services.odoo.healthcheck.interval = 15;
    broken.services.odoo.restart_policy = 'always';
    const errors = schemaErrors(broken).join('\n');
    for (const bad of ['condition', 'interval', 'restart_policy']) assert.match(errors, new RegExp(bad), `the schema rejects ${bad}`);
  });

  it('reads variables the way Compose does (the checks below rely on it)', function () {
    const text = [
      'services:',
      '  s:',
      '    environment:',
      '      A: ${UNSET:-d} ${EMPTY:-d} ${EMPTY-d} ${SET:-d} ${UNSET-d}',
      '      B: $SET ${SET} $$SET $$ ${UNSET:+x} ${SET:+x} ${EMPTY+y}',
      '      C: ${UNSET:-${SET}}',
    ].join('\n');
    const env = loadCompose({ SET: 'v', EMPTY: '' }, text).services.s.environment;
    assert.deepEqual(env, { A: 'd d  v d', B: 'v v $SET $  x y', C: 'v' });
    assert.throws(() => loadCompose({}, 'services:\n  s:\n    image: ${IMAGE:?set IMAGE}'), /required variable IMAGE is missing a value: set IMAGE/);
    assert.throws(() => loadCompose({}, 'services:\n  s:\n    image: ${IMAGE'), /unclosed/);
  });

  it('comes up with nothing configured: no variable is required', function () {
    assert.doesNotMatch(read('docker-compose.yml'), /\$\{[A-Za-z_][A-Za-z0-9_]*:?\?/, 'a ${VAR:?…} would stop `docker compose up` without a .env');
  });

  it("brings up every system of docs/mission.md on the brief's ports", function () {
    const ports = Object.values(services).flatMap((s) => s.ports ?? []);
    for (const p of ['8069:8069', '8080:8080', '8082:80', '5672:5672', '15672:15672', '5432:5432', '1880:1880'])
      assert.ok(ports.includes(p), `port ${p} published`);
    for (const s of ['odoo', 'keycloak', 'nextcloud', 'rabbitmq', 'shared-db', 'node-red']) assert.ok(services[s], `service ${s}`);
  });

  it('pins every image to a release (no latest, no moving major tag)', function () {
    const pinned = /^[\w./-]+:v?\d+\.\d+(\.\d+)?(-\d{8})?(-[a-z]+)*$/;
    for (const [name, svc] of Object.entries(services)) {
      assert.ok(svc.image, `${name} names its image`);
      if (svc.build) {
        assert.match(svc.image, /:local$/, `${name}: the image built from this checkout is tagged :local`);
        continue;
      }
      assert.match(svc.image, pinned, `${name}: ${svc.image} is pinned to a release`);
    }
    // Odoo's 18.0 tag is rebuilt nightly: only the dated tag is a release.
    assert.match(services.odoo.image ?? '', /^odoo:18\.0-\d{8}$/);
    for (const line of read('docker/Dockerfile')
      .split('\n')
      .filter((l) => /^FROM\s/i.test(l)))
      assert.match(line.split(/\s+/)[1], pinned, line);
  });

  it('gives every long-running service a health check, and starts each service only after what it needs is ready', function () {
    for (const [name, svc] of Object.entries(services)) {
      if (ONE_SHOT.includes(name)) {
        assert.equal(svc.restart, 'no', `${name} runs once`);
        assert.equal(svc.healthcheck, undefined, `${name} is judged by its exit code, not a health check`);
      } else {
        assert.ok(svc.healthcheck?.test && !svc.healthcheck.disable, `${name} has a health check`);
        for (const k of ['interval', 'timeout', 'retries', 'start_period'] as const) assert.ok(svc.healthcheck?.[k] !== undefined, `${name}: healthcheck ${k}`);
        // Docker Compose refuses start_interval on engines before 25 (Debian's docker.io is older).
        assert.equal(svc.healthcheck?.start_interval, undefined, `${name}: no start_interval`);
      }
      for (const [dep, condition] of Object.entries(dependencies(svc))) {
        assert.ok(services[dep], `${name} depends on ${dep}, which exists`);
        const wanted = ONE_SHOT.includes(dep) ? 'service_completed_successfully' : 'service_healthy';
        assert.equal(condition, wanted, `${name} waits for ${dep} with ${wanted}`);
      }
    }
    const deps = (s: string) => Object.keys(dependencies(services[s]));
    assert.deepEqual(deps('odoo'), ['odoo-db']);
    assert.deepEqual(deps('nextcloud'), ['nextcloud-db']);
    for (const needed of ['shared-db', 'rabbitmq', 'keycloak', 'odoo', 'nextcloud', ...SEEDERS])
      assert.ok(deps('node-red').includes(needed), `node-red waits for ${needed}`);
  });

  it('sets for Node-RED every variable the shipped flows read, and the connection settings of docs/mission.md', function () {
    for (const name of flowVariables()) assert.ok(provides(nodeRed, name), `the flows read \${${name}}: node-red gets it (after interpolation, with no .env)`);
    for (const name of MISSION_ENV) assert.ok(provides(nodeRed, name) || name === 'NODE_RED_CREDENTIAL_SECRET', `node-red gets ${name}`);
    // The credential secret is empty unless .env gives one: docker/entrypoint.sh generates it (compose-scripts.spec).
    assert.equal(rawEnv('node-red').NODE_RED_CREDENTIAL_SECRET, '${NODE_RED_CREDENTIAL_SECRET:-}');
    // The editor listens on the container's addresses only behind a login: Keycloak SSO is fully configured.
    assert.equal(nodeRed.HOST, '0.0.0.0');
    for (const name of ['KEYCLOAK_URL', 'KEYCLOAK_CLIENT_ID', 'KEYCLOAK_CLIENT_SECRET', 'KEYCLOAK_PUBLIC_URL', 'NODE_RED_PUBLIC_URL'])
      assert.ok(nodeRed[name], `editor SSO: ${name}`);
    // The container starts Node-RED the way the entrypoint recognises (it prepares the secret and the flows then).
    assert.equal(services['node-red'].command, undefined, 'node-red runs the image CMD');
    assert.match(read('docker/Dockerfile'), /^CMD \["node", "scripts\/start\.js"\]$/m);
  });

  it('sets nothing for Node-RED that the pack does not read (a misspelt name would be silently ignored)', function () {
    const read_ = namesReadByThePack();
    for (const name of Object.keys(nodeRed)) {
      const base = name.replace(/_FILE$/, '');
      assert.ok(read_.has(name) || (name !== base && read_.has(base)), `node-red gets ${name}, which nothing reads`);
    }
  });

  it('writes no secret into the file: each is a default that .env overrides, or handed over in a file', function () {
    for (const [name, svc] of Object.entries(raw.services)) {
      for (const [key, value] of Object.entries(svc.environment ?? {})) {
        if (/(PASSWORD|SECRET|API_KEY|TOKEN)$/.test(key)) assert.match(String(value), /^\$\{[A-Z_]+:-[^}]*\}$/, `${name}.${key} is \${VAR:-demo default}`);
        const userinfo = /^[a-z]+:\/\/([^@/]+)@/.exec(String(value))?.[1];
        if (userinfo) assert.match(userinfo, /^\$\{[A-Z_]+:-[^}]*\}:\$\{[A-Z_]+:-[^}]*\}$/, `${name}.${key}: user and password in the URL come from .env`);
      }
    }
    for (const name of HANDED_OVER) {
      for (const svc of ['node-red', ...ONE_SHOT]) assert.equal(rawEnv(svc)[name], undefined, `${svc} gets ${name} only through ${name}_FILE, never from .env`);
    }
  });

  it('hands the Odoo API key and the Nextcloud app password from their seeders to Node-RED', function () {
    const seeders: Record<string, { system: string; same: string[]; script: string }> = {
      ODOO_API_KEY: { system: 'seed-odoo', same: ['ODOO_URL', 'ODOO_DB', 'ODOO_USERNAME'], script: 'dist/seeds/odoo/api-key.js' },
      NEXTCLOUD_APP_PASSWORD: { system: 'seed-nextcloud', same: ['NEXTCLOUD_URL', 'NEXTCLOUD_USERNAME'], script: 'dist/seeds/nextcloud/app-password.js' },
    };
    const seedScript = read('docker/seed.sh');
    for (const [name, s] of Object.entries(seeders)) {
      const seeder = services[s.system];
      const file = nodeRed[`${name}_FILE`];
      assert.ok(file, `node-red reads ${name} from ${name}_FILE`);
      assert.match(read('docker/entrypoint.sh'), new RegExp(`^for var in .*\\b${name}\\b.*; do$`, 'm'), `docker/entrypoint.sh reads ${name}_FILE`);
      assert.equal(seeder.environment?.[`${name}_FILE`], file, `${s.system} writes the file node-red reads`);
      // The same volume at the same place: written by the seeder, read-only for Node-RED.
      const mount = (svc: string) => (services[svc].volumes ?? []).find((v) => file.startsWith(`${v.split(':')[1]}/`));
      assert.ok(mount(s.system) && !mount(s.system)?.endsWith(':ro'), `${s.system} mounts ${path.dirname(file)} writable`);
      assert.equal(mount('node-red'), `${mount(s.system)}:ro`, `node-red mounts the same volume read-only`);
      assert.ok(compose.volumes && (mount('node-red')?.split(':')[0] ?? '') in compose.volumes, 'a named volume');
      // The key is made for the very user, database and server Node-RED uses.
      for (const k of s.same) assert.equal(seeder.environment?.[k], nodeRed[k], `${s.system} and node-red agree on ${k}`);
      assert.match(seedScript, new RegExp(s.script.replace(/[./]/g, '\\$&')), `docker/seed.sh runs ${s.script}`);
      assert.ok(fs.existsSync(path.join(root, s.script.replace(/^dist\//, '').replace(/\.js$/, '.ts'))), `${s.script} is built from the repository`);
    }
    // One Odoo database and one Nextcloud administrator for everybody.
    assert.ok((services.odoo.command as string[]).includes(`--database=${nodeRed.ODOO_DB}`), 'Odoo creates the database Node-RED uses');
    assert.equal(services.nextcloud.environment?.NEXTCLOUD_ADMIN_USER, nodeRed.NEXTCLOUD_USERNAME);
    assert.equal(
      rawEnv('seed-nextcloud').NEXTCLOUD_PASSWORD,
      rawEnv('nextcloud').NEXTCLOUD_ADMIN_PASSWORD,
      'the seeder logs in with the administrator password Nextcloud was installed with',
    );
    // Odoo creates its database with admin / admin: that is the seeder's default password. Node-RED needs the same
    // password for the web session that renders invoice PDFs (an API key cannot open one).
    assert.equal(services['seed-odoo'].environment?.ODOO_PASSWORD, 'admin');
    assert.equal(rawEnv('node-red').ODOO_PASSWORD, rawEnv('seed-odoo').ODOO_PASSWORD);
  });

  it('gives Keycloak, Node-RED and Nextcloud the same client secrets, which are those of the realm', function () {
    const kc = rawEnv('keycloak');
    const realmDefault = (clientId: string) => /^\$\{([A-Z_]+):(.*)\}$/.exec(realm.clients.find((c) => c.clientId === clientId)?.secret ?? '')?.slice(1);
    const pairs: Array<[string, string, string]> = [
      ['KEYCLOAK_CLIENT_SECRET', 'node-red', 'node-red'],
      ['NEXTCLOUD_OIDC_SECRET', 'nextcloud', 'nextcloud'],
      ['KEYCLOAK_INTEGRATION_SECRET', 'clinica-integration', ''],
    ];
    for (const [name, clientId, user] of pairs) {
      const [placeholder, def] = realmDefault(clientId) ?? [];
      assert.equal(placeholder, name, `the realm reads ${clientId}'s secret from ${name}`);
      assert.equal(kc[name], `\${${name}:-${def}}`, `keycloak gets ${name} with the realm's default`);
      if (user) assert.equal(rawEnv(user)[name], kc[name], `${user} gets the same ${name} as Keycloak`);
    }
    assert.equal(nodeRed.KEYCLOAK_REALM, realm.realm);
    assert.ok(
      realm.clients.some((c) => c.clientId === nodeRed.KEYCLOAK_CLIENT_ID),
      'node-red logs in as a client of the realm',
    );
    // One issuer: what browsers use (KC_HOSTNAME) is what Node-RED and the Odoo login expect.
    assert.equal(kc.KC_HOSTNAME, rawEnv('node-red').KEYCLOAK_PUBLIC_URL);
    assert.equal(kc.KC_HOSTNAME, rawEnv('seed-odoo').KEYCLOAK_PUBLIC_URL);
    assert.equal(kc.NODE_RED_PUBLIC_URL, rawEnv('node-red').NODE_RED_PUBLIC_URL);
    // The realm's redirect placeholders read ODOO_URL / NEXTCLOUD_URL: for Keycloak these are the browsers' addresses.
    assert.match(kc.ODOO_URL, /localhost:8069/);
    assert.match(kc.NEXTCLOUD_URL, /localhost:8082/);
  });

  it("gives Node-RED RabbitMQ's user and password of seeds/rabbitmq/definitions.json", function () {
    const defs = JSON.parse(read('seeds/rabbitmq/definitions.json')) as { users: Array<{ name: string; password_hash: string; hashing_algorithm: string }> };
    const url = new URL(nodeRed.AMQP_URL);
    const user = defs.users.find((u) => u.name === decodeURIComponent(url.username));
    assert.ok(user, `definitions.json has the user ${url.username}`);
    assert.equal(user.hashing_algorithm, 'rabbit_password_hashing_sha256');
    // RabbitMQ's hash: base64(4-byte salt + sha256(salt + password)).
    const hash = Buffer.from(user.password_hash, 'base64');
    const salt = hash.subarray(0, 4);
    const digest = createHash('sha256')
      .update(Buffer.concat([salt, Buffer.from(decodeURIComponent(url.password))]))
      .digest();
    assert.ok(digest.equals(hash.subarray(4)), 'the default password of AMQP_URL is the one definitions.json gives the user');
    assert.match(read('docker/rabbitmq/20-clinica.conf'), /^load_definitions = \/etc\/rabbitmq\/definitions\.json$/m);
  });

  it('mounts only files that exist, and hook scripts that Nextcloud will run', function () {
    for (const svc of Object.values(services)) {
      for (const v of svc.volumes ?? []) {
        const host = v.split(':')[0];
        if (host.startsWith('./')) assert.ok(fs.existsSync(path.join(root, host)), `${host} exists`);
      }
    }
    const hooks = (services.nextcloud.volumes ?? []).find((v) => v.includes('/docker-entrypoint-hooks.d/'));
    assert.ok(hooks, 'nextcloud mounts a hook folder');
    const dir = path.join(root, hooks.split(':')[0]);
    for (const f of fs.readdirSync(dir)) {
      assert.match(f, /\.sh$/, `${f}: the image runs *.sh hooks only`);
      assert.ok(fs.statSync(path.join(dir, f)).mode & 0o111, `${f} is executable (the image skips it otherwise)`);
    }
  });

  it('keeps node_modules, .env, the user directory and other local files out of the image (.dockerignore)', function () {
    const ignore = read('.dockerignore')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'));
    const ignored = (p: string) => {
      let out = false;
      for (const pattern of ignore) {
        const negated = pattern.startsWith('!');
        const re = globToRegExp(negated ? pattern.slice(1) : pattern);
        const parts = p.split('/');
        if (parts.some((_, i) => re.test(parts.slice(0, i + 1).join('/')))) out = !negated;
      }
      return out;
    };
    for (const p of [
      'node_modules/x/index.js',
      'nodes/node_modules/x',
      '.env',
      '.env.local',
      '.node-red/flows_cred.json',
      '.git/config',
      'dist/settings.js',
      'screenshots/a.png',
      'bench/results/r.json',
      'npm-debug.log',
    ]) {
      assert.ok(ignored(p), `${p} stays out of the image`);
    }
    // What the Dockerfile builds from and runs is copied.
    for (const p of [
      'package.json',
      'package-lock.json',
      'tsconfig.json',
      'nodes/odoo/odoo.ts',
      'flows/05 - API gateway.json',
      'seeds/keycloak/clinica-realm.json',
      'scripts/start.js',
      'docker/entrypoint.sh',
      'docker/seed.sh',
      'settings.ts',
      '.env.example',
    ]) {
      assert.ok(!ignored(p), `${p} is in the image`);
      assert.ok(fs.existsSync(path.join(root, p)), `${p} exists`);
    }
  });

  it('builds an image that runs as an unprivileged user through docker/entrypoint.sh', function () {
    const dockerfile = read('docker/Dockerfile');
    assert.match(dockerfile, /^USER node$/m);
    assert.match(dockerfile, /^ENTRYPOINT \["sh", "\/app\/docker\/entrypoint\.sh"\]$/m);
    assert.match(dockerfile, /^WORKDIR \/app$/m);
    assert.match(dockerfile, /chown node:node \/data \/var\/lib\/clinica\/credentials/, 'the mount points of the volumes belong to the user');
    // Every path a service mounts into the image exists there and belongs to the user.
    for (const name of ['node-red', ...ONE_SHOT]) {
      for (const v of services[name].volumes ?? []) assert.match(dockerfile, new RegExp(`mkdir -p .*${v.split(':')[1]}`), `${name}: ${v}`);
    }
    assert.equal(path.relative(root, COMPOSE_FILE), 'docker-compose.yml');
  });
});

/** What the balancer's nginx configuration says: its upstreams (servers as host:port) and where each location goes. */
function nginxConfig(text: string): {
  listen: number[];
  resolver: string | undefined;
  upstreams: Map<string, Array<{ address: string; params: string[] }>>;
  locations: Map<string, string>;
} {
  const code = text.replace(/#.*$/gm, '');
  const upstreams = new Map<string, Array<{ address: string; params: string[] }>>();
  for (const m of code.matchAll(/upstream\s+(\S+)\s*\{([^}]*)\}/g)) {
    const servers = [...m[2].matchAll(/^\s*server\s+([^\s;]+)([^;]*);/gm)].map((s) => ({ address: s[1], params: s[2].trim().split(/\s+/).filter(Boolean) }));
    upstreams.set(m[1], servers);
  }
  const locations = new Map<string, string>();
  for (const m of code.matchAll(/location\s+(\S+)\s*\{([^}]*)\}/g)) {
    const target = /proxy_pass\s+http:\/\/([^\s;/]+)/.exec(m[2])?.[1];
    if (target) locations.set(m[1], target);
  }
  return {
    listen: [...code.matchAll(/^\s*listen\s+(\d+)\s*;/gm)].map((m) => Number(m[1])),
    resolver: /^\s*resolver\s+([^\s;]+)/m.exec(code)?.[1],
    upstreams,
    locations,
  };
}

/** The upstream nginx picks for a path: the longest matching prefix location. */
function upstreamFor(locations: Map<string, string>, urlPath: string): string | undefined {
  const prefix = [...locations.keys()].filter((l) => urlPath.startsWith(l)).sort((a, b) => b.length - a.length)[0];
  return prefix === undefined ? undefined : locations.get(prefix);
}

describe('the reference deployment: profile replicas (N Node-RED behind nginx)', function () {
  const compose = loadCompose();
  const raw = rawCompose();
  const services = compose.services;
  const PROFILE = 'replicas';
  /** node-red and its replicas: node-red-2, node-red-3 … */
  const replicas = Object.keys(services).filter((n) => /^node-red(-\d+)?$/.test(n));
  const extra = replicas.filter((n) => n !== 'node-red');
  const lb = services['node-red-lb'];
  const lbConf = () => {
    const mount = (lb.volumes ?? []).find((v) => v.endsWith(':/etc/nginx/conf.d/default.conf:ro'));
    assert.ok(mount, 'node-red-lb mounts its configuration read-only as the default server of the image');
    assert.match(mount, /^\.\/docker\/[\w.-]+\.conf:/, 'the configuration is a file of docker/');
    return nginxConfig(read(mount.split(':')[0]));
  };
  /** The port the balancer listens on inside the network (the container side of its published port). */
  const lbPort = () => {
    const ports = lb.ports ?? [];
    assert.equal(ports.length, 1, 'node-red-lb publishes one port');
    return Number(ports[0].split(':').pop());
  };

  it('adds services only in the profile: `docker compose up` brings up what it did before', function () {
    const inProfile = Object.entries(services)
      .filter(([, svc]) => svc.profiles)
      .map(([name]) => name)
      .sort();
    assert.deepEqual(inProfile, [...extra, 'node-red-lb', 'seed-odoo-replicas'].sort());
    for (const name of inProfile) assert.deepEqual(services[name].profiles, [PROFILE], `${name} is in the profile ${PROFILE} only`);
    assert.ok(extra.length >= 2, 'at least three replicas with node-red');
    assert.equal(services['node-red'].profiles, undefined, 'node-red runs with or without the profile');
    assert.equal(services['seed-odoo'].profiles, undefined);
  });

  it('runs every replica as node-red: the same image, environment, dependencies, command and health check', function () {
    const base = services['node-red'];
    for (const env of [{}, overridingEnv()]) {
      const c = loadCompose(env).services;
      for (const name of extra) {
        assert.deepEqual(
          c[name].environment,
          c['node-red'].environment,
          `${name} gets the environment of node-red (with ${Object.keys(env).length ? 'a .env' : 'no .env'})`,
        );
      }
    }
    for (const name of extra) {
      const svc = services[name];
      assert.deepEqual(raw.services[name].environment, raw.services['node-red'].environment, `${name}: the same expressions, not a copy that could drift`);
      assert.equal(svc.image, base.image);
      assert.deepEqual(svc.build, base.build, `${name} is built from this checkout like node-red`);
      assert.equal(svc.command, undefined, `${name} runs the image CMD (Node-RED through the entrypoint)`);
      assert.deepEqual(dependencies(svc), dependencies(base), `${name} waits for what node-red waits for`);
      assert.deepEqual(svc.healthcheck, base.healthcheck, `${name} has node-red's health check`);
    }
  });

  it('gives each replica its own user directory (flows copy, credential secret, context) and no port of its own', function () {
    const dataVolume = (name: string) => {
      const v = (services[name].volumes ?? []).find((x) => x.split(':')[1] === '/data');
      assert.ok(v, `${name} mounts a volume at /data (NODE_RED_USER_DIR)`);
      return v.split(':')[0];
    };
    const volumes = replicas.map(dataVolume);
    assert.equal(new Set(volumes).size, replicas.length, `one user directory each: ${volumes.join(', ')}`);
    for (const v of volumes) assert.ok(compose.volumes && v in compose.volumes, `${v} is a named volume`);
    for (const [name, svc] of Object.entries(services)) {
      if (replicas.includes(name)) continue;
      for (const v of volumes) assert.ok(!(svc.volumes ?? []).some((x) => x.split(':')[0] === v), `${name} does not mount ${v}`);
    }
    for (const name of extra) {
      const others = (services[name].volumes ?? []).filter((x) => x.split(':')[1] !== '/data');
      const baseOthers = (services['node-red'].volumes ?? []).filter((x) => x.split(':')[1] !== '/data');
      assert.deepEqual(others, baseOthers, `${name} reads the handed-over credentials as node-red does (read-only)`);
      assert.equal(services[name].ports, undefined, `${name} publishes no port: it is reached through node-red-lb`);
    }
    assert.equal(services['node-red'].environment?.NODE_RED_USER_DIR, '/data');
  });

  it('passes CLINICA_LEASE_TTL and AMQP_QUEUE_TYPE to every replica, the same for all and overridable from .env', function () {
    for (const name of replicas) {
      assert.equal(raw.services[name].environment?.CLINICA_LEASE_TTL, '${CLINICA_LEASE_TTL:-15}', `${name}: the lease TTL of docs/scaling.md`);
      assert.equal(raw.services[name].environment?.AMQP_QUEUE_TYPE, '${AMQP_QUEUE_TYPE:-classic}', `${name}: the queue type of docs/amqp.md`);
    }
    // The defaults are the pack's own (a lease of 15 s, classic queues).
    assert.match(read('nodes/clients/shared-db/lease.ts'), /: 15000;/);
    assert.match(read('nodes/clients/amqp/topology.ts'), /if \(v === '' \|\| v === 'classic'\) return 'classic';/);
    const c = loadCompose({ CLINICA_LEASE_TTL: '30', AMQP_QUEUE_TYPE: 'quorum' }).services;
    for (const name of replicas) assert.deepEqual([c[name].environment?.CLINICA_LEASE_TTL, c[name].environment?.AMQP_QUEUE_TYPE], ['30', 'quorum']);
  });

  it("judges each replica ready by the flows' readiness route (GET /api/ready, the clinica-readiness node)", function () {
    for (const name of replicas) {
      const test = services[name].healthcheck?.test;
      assert.ok(Array.isArray(test) && test.join(' ').includes('http://127.0.0.1:1880/api/ready'), `${name} asks /api/ready`);
    }
    const gateway = JSON.parse(read('flows/05 - API gateway.json')) as Array<Record<string, unknown>>;
    const route = gateway.find((n) => n.type === 'http in' && n.url === '/api/ready' && n.method === 'get');
    assert.ok(route, 'tab 05 serves GET /api/ready');
    assert.ok(
      gateway.some((n) => n.type === 'clinica-readiness'),
      'through the clinica-readiness node',
    );
    assert.equal(services['node-red'].environment?.PORT, '1880');
  });

  it('puts nginx in front: a pinned image that knows `resolve`, started once every replica is healthy', function () {
    const m = /^nginx:(\d+)\.(\d+)\.(\d+)(-alpine)?$/.exec(lb.image ?? '');
    assert.ok(m, `node-red-lb runs the official nginx image at a release: ${lb.image}`);
    const [major, minor, patch] = m.slice(1, 4).map(Number);
    // `server … resolve` in an upstream came to open-source nginx in 1.27.3.
    assert.ok(major > 1 || minor > 27 || (minor === 27 && patch >= 3), `${lb.image} supports server … resolve`);
    assert.deepEqual(dependencies(lb), Object.fromEntries(replicas.map((r) => [r, 'service_healthy'])), 'it waits for every replica to be healthy');
    const hc = (lb.healthcheck?.test ?? []) as string[];
    assert.ok(hc.join(' ').includes(`http://127.0.0.1:${lbPort()}/api/health`), 'healthy when it reaches a replica');
    const published = (lb.ports ?? [])[0].split(':')[0];
    assert.notEqual(published, '1880', 'node-red keeps 1880 on the host');
    assert.equal(lb.environment, undefined, 'no environment: nothing secret to hand it');
  });

  it('routes Odoo’s webhooks and the API to every replica, the editor and the dashboards to node-red', function () {
    const conf = lbConf();
    assert.deepEqual(conf.listen, [lbPort()], 'nginx listens on the port the service publishes');
    assert.equal(conf.resolver, '127.0.0.11', "Docker's DNS, so a re-created replica is found again");
    const servers = (upstream: string | undefined) => (conf.upstreams.get(upstream ?? '') ?? []).map((s) => s.address).sort();
    const all = replicas.map((r) => `${r}:1880`).sort();
    const webhookPaths = Object.values(WEBHOOK_PATHS);
    assert.ok(webhookPaths.length >= 7);
    for (const p of webhookPaths) assert.deepEqual(servers(upstreamFor(conf.locations, p)), all, `${p} goes to every replica`);
    const apiRoutes = fs
      .readdirSync(path.join(root, 'flows'))
      .flatMap((f) => (JSON.parse(read(`flows/${f}`)) as Array<Record<string, unknown>>).filter((n) => n.type === 'http in').map((n) => String(n.url)));
    assert.ok(apiRoutes.filter((u) => u.startsWith('/api/')).length > 10);
    for (const u of apiRoutes) {
      if (u.startsWith('/api/') || u.startsWith('/odoo/webhook/')) assert.deepEqual(servers(upstreamFor(conf.locations, u)), all, `${u} goes to every replica`);
    }
    for (const p of ['/', '/dashboard/farmacia', '/comms', '/auth/strategy/callback'])
      assert.deepEqual(servers(upstreamFor(conf.locations, p)), ['node-red:1880'], `${p} goes to node-red (one editor, websockets stay put)`);
    for (const [name, list] of conf.upstreams) {
      for (const s of list) {
        assert.ok(replicas.includes(s.address.split(':')[0]), `${name}: ${s.address} is a replica`);
        assert.ok(s.params.includes('resolve'), `${name}: ${s.address} is looked up again when re-created`);
      }
    }
    assert.doesNotMatch(read('docker/nginx-replicas.conf'), /password|secret|token|auth_basic/i, 'nothing secret in the balancer');
  });

  it("points Odoo's automation rules at the balancer: the same seed again, with NODE_RED_URL at node-red-lb", function () {
    const seed = services['seed-odoo'];
    const again = services['seed-odoo-replicas'];
    assert.deepEqual(again.command, seed.command);
    assert.equal(again.image, seed.image);
    assert.equal(again.restart, 'no');
    assert.deepEqual(again.volumes, seed.volumes, 'the same handover volume (the key is kept, not made again)');
    const { NODE_RED_URL: url, ...rest } = again.environment ?? {};
    const { NODE_RED_URL: before, ...seedRest } = seed.environment ?? {};
    assert.deepEqual(rest, seedRest, 'the same Odoo, user and key');
    assert.equal(before, 'http://node-red:1880');
    assert.equal(url, `http://node-red-lb:${lbPort()}`, 'the rules post to the balancer');
    assert.equal(dependencies(again)['seed-odoo'], 'service_completed_successfully', 'after seed-odoo, so the balancer is what stays');
    assert.match(read('seeds/odoo/seed.ts'), /process\.env\.NODE_RED_URL/, 'the seed writes NODE_RED_URL into the rules');
  });
});

function globToRegExp(glob: string): RegExp {
  const body = glob
    .replace(/^\//, '')
    .split(/(\*\*\/|\*|\?)/)
    .map((part) => (part === '**/' ? '(?:.*/)?' : part === '*' ? '[^/]*' : part === '?' ? '[^/]' : part.replace(/[.+^${}()|[\]\\]/g, '\\$&')))
    .join('');
  return new RegExp(`^${body}$`);
}
