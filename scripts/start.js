#!/usr/bin/env node
// `npm start`: Node-RED with the compiled settings (dist/settings.js); the flows are the files of flows/ (or
// NODE_RED_FLOWS_DIR), one tab each, and a deploy from the editor writes them back. Reads .env when present.
//
// With no Odoo, Nextcloud or Keycloak configured (ODOO_URL, NEXTCLOUD_URL, KEYCLOAK_URL empty), the pack's own
// peers stand in for them, seeded like the reference deployment (peers/demo.ts): every pattern works on a laptop
// with nothing else installed but PostgreSQL and RabbitMQ. CLINICA_DEMO=off turns that off.
// The shared database and the broker default to their own database and vhost (clinica_shared, /clinica).
'use strict';
const fs = require('fs');
const path = require('path');
const { spawn, execFileSync } = require('child_process');

const root = path.resolve(__dirname, '..');
const env = process.env;
loadDotEnv(path.join(root, '.env'));
// The shipped flows are edited in place: a deploy writes each tab back to its file in flows/.
if (!env.NODE_RED_FLOWS_DIR && !env.NODE_RED_FLOW_FILE) env.NODE_RED_FLOWS_DIR = path.join(root, 'flows');
env.SHARED_DB_URL ||= 'postgres://postgres@127.0.0.1:5432/clinica_shared';
env.AMQP_URL ||= 'amqp://guest:guest@127.0.0.1:5672/clinica';
const userDir = env.NODE_RED_USER_DIR || path.join(root, '.node-red');
const port = Number(env.PORT || 1880);

function line(level, event, msg, fields = {}) {
  process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), level, event, msg, ...fields })}\n`);
}

/** The broker's vhost of AMQP_URL, created on a local RabbitMQ when missing (never the default vhost's queues). */
function ensureVhost() {
  let url;
  try {
    url = new URL(env.AMQP_URL);
  } catch {
    return;
  }
  const vhost = decodeURIComponent(url.pathname.replace(/^\//, ''));
  if (!vhost || !['127.0.0.1', 'localhost', '::1'].includes(url.hostname)) return;
  const user = decodeURIComponent(url.username || 'guest');
  try {
    const list = execFileSync('rabbitmqctl', ['-q', 'list_vhosts', 'name'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 30000 });
    if (
      list
        .split('\n')
        .map((s) => s.trim())
        .includes(vhost)
    )
      return;
    execFileSync('rabbitmqctl', ['-q', 'add_vhost', vhost], { stdio: 'ignore', timeout: 30000 });
    execFileSync('rabbitmqctl', ['-q', 'set_permissions', '-p', vhost, user, '.*', '.*', '.*'], { stdio: 'ignore', timeout: 30000 });
    line('info', 'amqp.vhost.created', `RabbitMQ vhost "${vhost}" created for ${user}`);
  } catch {
    line(
      'warn',
      'amqp.vhost.unknown',
      `could not check or create the RabbitMQ vhost "${vhost}" (rabbitmqctl unavailable?): create it with "rabbitmqctl add_vhost ${vhost}" and "rabbitmqctl set_permissions -p ${vhost} ${user} '.*' '.*' '.*'", or set AMQP_URL`,
    );
  }
}

async function main() {
  ensureVhost();
  const need = { odoo: !env.ODOO_URL, nextcloud: !env.NEXTCLOUD_URL, keycloak: !env.KEYCLOAK_URL, smtp: !env.SMTP_HOST };
  let demo;
  if (env.CLINICA_DEMO !== 'off' && (need.odoo || need.nextcloud || need.keycloak)) {
    const { startDemo, DEMO_PORTS } = require(path.join(root, 'dist', 'peers', 'demo.js'));
    const portOf = (name, fallback) =>
      env[`DEMO_${name}_PORT`] !== undefined && env[`DEMO_${name}_PORT`] !== '' ? Number(env[`DEMO_${name}_PORT`]) : fallback;
    demo = await startDemo({
      dataDir: path.join(userDir, 'demo'),
      nodeRedUrl: `http://127.0.0.1:${port}`,
      need,
      ports: {
        odoo: portOf('ODOO', DEMO_PORTS.odoo),
        nextcloud: portOf('NEXTCLOUD', DEMO_PORTS.nextcloud),
        keycloak: portOf('KEYCLOAK', DEMO_PORTS.keycloak),
        lab: portOf('LAB', DEMO_PORTS.lab),
        smtp: portOf('SMTP', DEMO_PORTS.smtp),
      },
    });
    Object.assign(env, demo.env);
    line(
      'warn',
      'demo.systems',
      `demo systems in use for ${demo.systems.join(', ')}: the pack's own peers, seeded with test data; set ODOO_URL, NEXTCLOUD_URL, KEYCLOAK_URL, SMTP_HOST (.env) to use your own`,
      {
        systems: demo.systems,
        urls: { odoo: demo.env.ODOO_URL, nextcloud: demo.env.NEXTCLOUD_URL, keycloak: demo.env.KEYCLOAK_URL, lab: demo.env.CLINICA_LAB_URL },
      },
    );
    for (const l of demo.describe()) process.stdout.write(`  ${l}\n`);
  }
  const child = spawn(process.execPath, [require.resolve('node-red/red.js'), '-s', path.join(root, 'dist', 'settings.js')], { stdio: 'inherit', env });
  const stop = (sig) => child.kill(sig);
  for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => stop(sig));
  child.on('exit', (code, signal) => {
    const end = () => process.exit(code ?? (signal ? 1 : 0));
    if (demo) demo.stop().then(end, end);
    else end();
  });
}

function loadDotEnv(file) {
  if (!fs.existsSync(file)) return;
  for (const raw of fs.readFileSync(file, 'utf8').split(/\r?\n/)) {
    const m = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)\s*$/.exec(raw);
    if (!m || raw.trim().startsWith('#')) continue;
    const value = m[2].replace(/^(['"])(.*)\1$/, '$2');
    if (env[m[1]] === undefined) env[m[1]] = value;
  }
}

main().catch((err) => {
  line('error', 'start.failed', `could not start: ${err && err.message ? err.message : String(err)}`);
  process.exit(1);
});
