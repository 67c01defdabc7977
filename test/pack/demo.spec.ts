/**
 * `npm start` on a fresh user directory with nothing configured: the pack's own Odoo, Nextcloud and Keycloak stand
 * in (peers/demo.ts) and, within a minute, every node is green, documents are in the Nextcloud peer, the shared
 * database is filled and the gateway answers a token got with curl's password grant. A second start reuses what the
 * first made. Also the safe defaults: no editor on another address without a login, credentials encrypted on disk.
 */
import { strict as assert } from 'node:assert';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import WebSocket from 'ws';
import { SharedDb } from '../../nodes/clients/shared-db';
import { waitFor } from '../lib/harness';
import { createTestDatabase, dropTestDatabase } from '../lib/pg';

const root = path.resolve(__dirname, '..', '..', '..');

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

interface Started {
  child: ChildProcess;
  output: () => string;
  urls: { odoo: string; nextcloud: string; keycloak: string; lab: string };
  statuses: Map<string, { fill?: string; text?: string }>;
  stop(): Promise<void>;
}

function pdfsUnder(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.pdf') && !f.includes('.upload-'));
}

describe('npm start with nothing configured: the demo systems (real process)', function () {
  this.timeout(180000);
  let userDir: string;
  let dbUrl: string;
  let db: SharedDb;
  const vhost = `clinica-demo-test-${process.pid}`;
  let port: number;
  let running: Started | undefined;

  async function start(extraEnv: Record<string, string> = {}): Promise<Started> {
    let output = '';
    const child = spawn(process.execPath, [path.join(root, 'scripts', 'start.js')], {
      cwd: root,
      env: {
        ...process.env,
        PORT: String(port),
        NODE_RED_USER_DIR: userDir,
        NODE_RED_FLOWS_DIR: path.join(userDir, 'flows'),
        SHARED_DB_URL: dbUrl,
        AMQP_URL: `amqp://guest:guest@127.0.0.1:5672/${vhost}`,
        ODOO_URL: '',
        NEXTCLOUD_URL: '',
        KEYCLOAK_URL: '',
        NODE_RED_CREDENTIAL_SECRET: '',
        DEMO_ODOO_PORT: '0',
        DEMO_NEXTCLOUD_PORT: '0',
        DEMO_KEYCLOAK_PORT: '0',
        DEMO_LAB_PORT: '0',
        ...extraEnv,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.on('data', (d) => (output += d.toString()));
    child.stderr!.on('data', (d) => (output += d.toString()));
    const line = (await waitFor(() => output.split('\n').find((l) => l.includes('"event":"demo.systems"')), 'the demo systems line', 60000, 100)) as string;
    const { urls } = JSON.parse(line) as { urls: Started['urls'] };
    await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/`).catch(() => undefined))?.status === 200, 'the editor', 60000, 250);
    // The editor's status channel: every node's status as the editor shows it.
    const statuses = new Map<string, { fill?: string; text?: string }>();
    const ws = new WebSocket(`ws://127.0.0.1:${port}/comms`);
    ws.on('open', () => ws.send(JSON.stringify({ subscribe: 'status/#' })));
    ws.on('message', (data) => {
      for (const m of JSON.parse(String(data)) as Array<{ topic: string; data: { fill?: string; text?: string } }>) {
        if (m.topic.startsWith('status/')) statuses.set(m.topic.slice(7), m.data ?? {});
      }
    });
    return {
      child,
      urls,
      statuses,
      output: () => output,
      stop: async () => {
        ws.close();
        if (child.exitCode === null) {
          const exited = new Promise((r) => child.once('exit', r));
          child.kill('SIGTERM');
          await exited;
        }
      },
    };
  }

  before(async function () {
    userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'clinica-demo-'));
    fs.cpSync(path.join(root, 'flows'), path.join(userDir, 'flows'), { recursive: true });
    dbUrl = await createTestDatabase('clinica_demo');
    db = new SharedDb({ url: dbUrl });
    port = await freePort();
  });

  after(async function () {
    await running?.stop();
    await db?.close();
    if (dbUrl) await dropTestDatabase(dbUrl);
    try {
      execFileSync('rabbitmqctl', ['-q', 'delete_vhost', vhost], { stdio: 'ignore' });
    } catch {
      // the vhost may not exist
    }
    if (userDir) fs.rmSync(userDir, { recursive: true, force: true });
  });

  const count = async (table: string) => Number((await db.query(`SELECT count(*) AS n FROM ${table}`)).rows[0].n);
  const token = async (keycloak: string, username: string) => {
    const res = await fetch(`${keycloak}/realms/clinica-realm/protocol/openid-connect/token`, {
      method: 'POST',
      body: new URLSearchParams({ grant_type: 'password', client_id: 'clinica-cli', username, password: 'clinica123' }),
    });
    assert.equal(res.status, 200);
    return ((await res.json()) as { access_token: string }).access_token;
  };

  it('within a minute: every node green, documents stored in the Nextcloud peer, the shared DB filled, the gateway answering a curl token', async function () {
    const t0 = Date.now();
    running = await start();
    const files = path.join(userDir, 'demo', 'nextcloud');
    await waitFor(() => pdfsUnder(files).length >= 20, 'the seeded documents in the Nextcloud peer', 60000, 250);
    await waitFor(async () => (await count('shared_patients')) === 200 && (await count('shared_medications')) === 100, 'the shared DB filled', 60000, 250);
    const bearer = await token(running.urls.keycloak, 'medico.prueba');
    const res = await fetch(`http://127.0.0.1:${port}/api/patients?limit=5`, { headers: { Authorization: `Bearer ${bearer}` } });
    assert.equal(res.status, 200);
    assert.equal(((await res.json()) as { data: unknown[] }).data.length, 5);
    assert.ok(Date.now() - t0 < 60000, `all within a minute (${Date.now() - t0} ms)`);
    await new Promise((r) => setTimeout(r, 1500));
    const red = [...running.statuses.entries()].filter(([, s]) => s.fill === 'red');
    assert.deepEqual(red, [], `no node red:\n${running.output().slice(-3000)}`);
    assert.ok(
      [...running.statuses.values()].some((s) => s.fill === 'green'),
      'green statuses reported',
    );
    // The lab: a switch answers and the demo says what it did.
    const lab = await fetch(`${running.urls.lab}/lab/odoo/slow?ms=100`, { method: 'POST' });
    assert.equal(((await lab.json()) as { state: { odooLatencyMs: number } }).state.odooLatencyMs, 100);
    await fetch(`${running.urls.lab}/lab/odoo/fast`, { method: 'POST' });
    // A lab action: an invoice posted in the demo Odoo lands as a PDF in the patient's folder (tabs 01 and 02).
    const before = pdfsUnder(files).length;
    const posted = await fetch(`${running.urls.lab}/lab/odoo/invoice`, { method: 'POST' });
    assert.equal(posted.status, 200, await posted.clone().text());
    await waitFor(() => pdfsUnder(files).length === before + 1, 'the new invoice stored in Nextcloud', 20000, 200);
    const warnings = running
      .output()
      .split('\n')
      .filter((l) => l.includes('"level":"warn"') || l.includes('"level":"error"'))
      .filter((l) => !/demo\.systems|credentials file is encrypted|Encrypted credentials not found/.test(l));
    assert.deepEqual(warnings, [], 'a quiet log');
  });

  it('a second start reuses what the first made: the same documents and rows, nothing twice', async function () {
    const documents = pdfsUnder(path.join(userDir, 'demo', 'nextcloud')).sort();
    const patients = await count('shared_patients');
    await running!.stop();
    running = await start();
    await waitFor(() => [...running!.statuses.values()].some((s) => s.fill === 'green'), 'the second start to connect', 60000, 250);
    // Give the start-up reconciliations time to run over what is there.
    await new Promise((r) => setTimeout(r, 8000));
    assert.deepEqual(pdfsUnder(path.join(userDir, 'demo', 'nextcloud')).sort(), documents, 'no document stored twice');
    assert.equal(await count('shared_patients'), patients);
  });

  it('keeps credentials encrypted on disk (a key generated once in the user directory)', async function () {
    const rev = (await (await fetch(`http://127.0.0.1:${port}/flows`, { headers: { 'Node-RED-API-Version': 'v2' } })).json()) as {
      rev: string;
      flows: object[];
    };
    const secret = 'odoo-api-key-that-must-not-be-in-clear';
    const flows = [
      ...rev.flows,
      { id: 'cred.tab', type: 'tab', label: 'credentials check' },
      { id: 'cred.cfg', type: 'clinica-odoo-config', url: 'http://127.0.0.1:1', db: 'x', username: 'x', credentials: { apiKey: secret } },
    ];
    const res = await fetch(`http://127.0.0.1:${port}/flows`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'Node-RED-API-Version': 'v2', 'Node-RED-Deployment-Type': 'full' },
      body: JSON.stringify({ rev: rev.rev, flows }),
    });
    assert.equal(res.status, 200, await res.text());
    const credFiles = fs.readdirSync(userDir).filter((f) => f.includes('cred'));
    assert.ok(credFiles.length >= 1, `a credentials file in ${fs.readdirSync(userDir).join(', ')}`);
    for (const f of credFiles) {
      const text = fs.readFileSync(path.join(userDir, f), 'utf8');
      assert.ok(!text.includes(secret), `${f} holds the key in clear`);
      assert.match(text, /"\$"\s*:/, `${f} is Node-RED's encrypted form`);
    }
  });

  it('refuses to open the editor on another address without a login', async function () {
    await running?.stop();
    running = undefined;
    let output = '';
    const child = spawn(process.execPath, [path.join(root, 'scripts', 'start.js')], {
      cwd: root,
      env: {
        ...process.env,
        PORT: String(port),
        HOST: '0.0.0.0',
        CLINICA_DEMO: 'off',
        NODE_RED_USER_DIR: userDir,
        NODE_RED_FLOWS_DIR: path.join(userDir, 'flows'),
        KEYCLOAK_URL: '',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.on('data', (d) => (output += d.toString()));
    child.stderr!.on('data', (d) => (output += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
    assert.notEqual(code, 0);
    assert.match(output, /HOST=0\.0\.0\.0 would open the Node-RED editor to the network without a login/);
    assert.equal((await fetch(`http://127.0.0.1:${port}/`).catch(() => undefined))?.status, undefined, 'nothing listens');
  });
});
