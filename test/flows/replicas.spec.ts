/**
 * Two Node-RED processes (this one and a child process) run tab 03 against one Odoo peer and one PostgreSQL
 * database: only the lease holder polls; when it is killed (SIGKILL) the other takes over within the TTL and a poll
 * interval, continues from the shared cursor (no full re-read), and every change made before and during the gap
 * reaches shared_patients exactly once.
 */
import { strict as assert } from 'node:assert';
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { OdooClient } from '../../nodes/clients/odoo/client';
import { valueOf } from '../../nodes/clients/common/metrics';
import { SharedDb } from '../../nodes/clients/shared-db';
import { seedOdoo } from '../../seeds/odoo/seed';
import { sleep, waitFor } from '../lib/harness';
import { createTestDatabase, dropTestDatabase } from '../lib/pg';
import { startRuntime, type Runtime } from '../lib/runtime';
import { startOdooPeer, type OdooPeer } from '../../peers/odoo';

const root = path.resolve(__dirname, '..', '..', '..');
const shipped = JSON.parse(fs.readFileSync(path.join(root, 'flows', '03 - Shared database - patients and appointments.json'), 'utf8')) as Array<
  Record<string, unknown>
>;
const TTL_S = 3;
const POLL_S = 2;
/** The shipped tab with its polls every 2 s (the shipped 30 s would make the test slow, not different). */
const flow = shipped.map((n) => (n.type === 'clinica-db-lease' && String(n.id).startsWith('sync.poll.') ? { ...n, repeat: POLL_S } : n));

describe('replicas: two Node-RED processes on one database, one poller by lease, takeover after a crash (Odoo peer, real PostgreSQL)', function () {
  this.timeout(90000);
  let peer: OdooPeer;
  let odoo: OdooClient;
  let dbUrl: string;
  let db: SharedDb;
  let rt: Runtime | undefined;
  let child: ChildProcess | undefined;
  const replicaKey = 'replica-two-api-key';

  const env = (login: string, apiKey: string): Record<string, string> => ({
    ODOO_URL: peer.url,
    ODOO_DB: peer.db,
    ODOO_USERNAME: login,
    ODOO_API_KEY: apiKey,
    SHARED_DB_URL: dbUrl,
    CLINICA_LEASE_TTL: String(TTL_S),
  });
  const partnerPolls = (uid: number) => peer.calls.filter((c) => c.method === 'search_read' && c.model === 'res.partner' && c.uid === uid).length;
  const leaseRow = async () => (await db.query(`SELECT holder, expires_at FROM leases WHERE name = 'sync-patients'`)).rows[0] as { holder: string } | undefined;
  const phoneOf = async (odooId: number) =>
    (await db.query('SELECT phone FROM shared_patients WHERE odoo_id = $1', [odooId])).rows[0]?.phone as string | undefined;

  before(async function () {
    peer = await startOdooPeer({ version: 18, users: [{ login: 'replica2', password: 'replica2', apiKey: replicaKey, admin: true }] });
    odoo = new OdooClient({ url: peer.url, db: peer.db, username: peer.admin.login, apiKey: peer.admin.apiKey, retryDelayMs: 10 });
    // The rules post nowhere: every change below reaches the database through polling only.
    await seedOdoo({ client: odoo, nodeRedUrl: 'http://127.0.0.1:9' });
    dbUrl = await createTestDatabase();
    db = new SharedDb({ url: dbUrl });
  });

  after(async function () {
    child?.kill('SIGKILL');
    await rt?.stop();
    odoo?.close();
    await peer?.stop();
    await db?.close();
    if (dbUrl) await dropTestDatabase(dbUrl);
  });

  it('only the holder polls; killed, the other takes over within TTL + a poll, from the shared cursor, nothing lost or applied twice', async function () {
    const replicaUid = (await odoo.searchRead('res.users', { domain: [['login', '=', 'replica2']], fields: ['id'] }))[0].id;
    // The child process starts first and takes the lease.
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'clinica-replicas-')), 'flow.json');
    fs.writeFileSync(file, JSON.stringify(flow));
    const childEnv: Record<string, string> = {};
    for (const [k, v] of Object.entries(process.env)) if (v !== undefined) childEnv[k] = v;
    Object.assign(childEnv, env('replica2', replicaKey));
    const proc = spawn(process.execPath, [path.join(root, 'dist', 'test', 'lib', 'runtime-child.js'), file], {
      env: childEnv,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    child = proc;
    await new Promise<string>((resolve, reject) => {
      let out = '';
      proc.stdout?.on('data', (c: Buffer) => {
        out += String(c);
        const m = /READY (\S+)/.exec(out);
        if (m) resolve(m[1]);
      });
      proc.once('exit', (code) => reject(new Error(`the second runtime exited with ${code}`)));
    });
    await waitFor(async () => (await leaseRow())?.holder.split(':')[1] === String(proc.pid), 'the child to hold the lease', 10000, 100);
    rt = await startRuntime(flow, { env: env(peer.admin.login, peer.admin.apiKey) });
    const inProcess = rt;
    await waitFor(async () => Number((await db.query('SELECT count(*) AS n FROM shared_patients')).rows[0].n) === 200, '200 patients copied', 30000, 200);
    await waitFor(async () => Number((await db.query('SELECT count(*) AS n FROM shared_appointments')).rows[0].n) === 120, '120 appointments', 30000, 200);

    // Only the holder polls: over three poll intervals the child reads, this process never does.
    const adminUid = peer.admin.uid;
    const childBefore = partnerPolls(replicaUid);
    const adminBefore = partnerPolls(adminUid); // the seed's and this test's own reads
    await sleep(POLL_S * 3 * 1000);
    assert.ok(partnerPolls(replicaUid) > childBefore, 'the holder polls');
    assert.equal(partnerPolls(adminUid), adminBefore, 'the standby replica does not poll');
    assert.equal((await leaseRow())?.holder.split(':')[1], String(proc.pid));
    const recordsBefore = Number((await db.query(`SELECT records FROM sync_state WHERE name = 'patients'`)).rows[0].records);

    // Changes while the child polls, then the crash, then changes while nobody polls.
    const patients = await odoo.searchRead('res.partner', { domain: [['x_is_patient', '=', true]], fields: ['id'], order: 'id asc', limit: 10 });
    const phone = (i: number) => `+34 699 000 ${String(i).padStart(3, '0')}`;
    for (let i = 0; i < 5; i++) await odoo.write('res.partner', patients[i].id, { phone: phone(i) });
    await sleep(500);
    proc.kill('SIGKILL');
    const killedAt = Date.now();
    await new Promise((resolve) => proc.once('exit', resolve));
    child = undefined;
    for (let i = 5; i < 10; i++) await odoo.write('res.partner', patients[i].id, { phone: phone(i) });
    const adminAtCrash = partnerPolls(adminUid);
    const emittedBefore = valueOf('odoo', 'trigger_records', { model: 'res.partner', source: 'poll' });

    await waitFor(async () => (await leaseRow())?.holder.split(':')[1] === String(process.pid), 'this process to take the lease', 15000, 100);
    const takeoverMs = Date.now() - killedAt;
    for (let i = 0; i < 10; i++) {
      await waitFor(async () => (await phoneOf(patients[i].id)) === phone(i), `change ${i} in shared_patients`, 15000, 100);
    }
    const caughtUpMs = Date.now() - killedAt;
    assert.ok(takeoverMs <= (TTL_S + TTL_S / 3) * 1000 + 1500, `lease taken over after ${takeoverMs} ms`);
    assert.ok(caughtUpMs <= (TTL_S + TTL_S / 3 + POLL_S) * 1000 + 3000, `every change in the database ${caughtUpMs} ms after the crash`);
    if (process.env.REPLICAS_TIMINGS) process.stdout.write(`takeover ${takeoverMs} ms, caught up ${caughtUpMs} ms\n`);
    const takeover = inProcess.logs.find((r) => (r.msg as { event?: string } | undefined)?.event === 'lease.takeover');
    assert.ok(takeover, 'a lease.takeover log line');
    assert.match(JSON.stringify(takeover.msg), new RegExp(`:${proc.pid}:`), 'naming the previous holder');

    // The new holder continued from the shared cursor: it emitted at most the ten changes, not the 200 patients.
    await sleep(POLL_S * 2 * 1000);
    const emitted = valueOf('odoo', 'trigger_records', { model: 'res.partner', source: 'poll' }) - emittedBefore;
    assert.ok(emitted >= 5 && emitted <= 10, `the new holder emitted ${emitted} patients`);
    assert.ok(partnerPolls(adminUid) > adminAtCrash, 'the new holder polls');
    // Each change applied once: sync_state counts ten rows changed, no more.
    const recordsAfter = Number((await db.query(`SELECT records FROM sync_state WHERE name = 'patients'`)).rows[0].records);
    assert.equal(recordsAfter - recordsBefore, 10);
    const cursor = (await db.query(`SELECT state FROM odoo_trigger_cursors WHERE name = 'odoo-trigger:sync.trigger.patients'`)).rows[0].state as {
      writeDate: string;
    };
    assert.ok(cursor.writeDate >= '2000-01-01', 'the cursor lives in the shared database');
  });
});
