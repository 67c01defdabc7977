/**
 * Fault injection on the whole pipeline — documents (tabs 01 + 02), patients (03) and medical inventory (04a) — with
 * a PRIVATE PostgreSQL and a PRIVATE RabbitMQ node (started here from the machine's packages, so that they can be
 * restarted without disturbing anything else), the Odoo, Nextcloud and Keycloak peers, and two Node-RED processes
 * (this one and a child replica). Each case makes a load of changes in Odoo — invoices posted (each one's document
 * stored in Nextcloud, linked, noted once), patients changed (shared_patients), stock counted (shared_medications,
 * one shared_stock_movements row per done move) — injects one fault and then checks every change's effect exists
 * exactly once, nothing is left ready or unacked in the queues, no dead letter (none of these faults is permanent),
 * and how long the pipeline took to settle after the fault. Cases:
 *
 *   - the lease holder (the child replica) killed with SIGKILL while changes are made; webhooks off, so every
 *     change has to come through the polls of the process that takes over;
 *   - PostgreSQL restarted (pg_ctl stop -m fast, down a while, start) mid-batch;
 *   - RabbitMQ restarted (the node stopped, down a while, started) mid-batch: durable queues, persistent messages;
 *   - the Odoo peer slow (5 s answers), then down (503), then back;
 *   - a burst of changes issued at once (200; 1,000 with FAULTS_SCALE=4);
 *   - and, over all of it, a grep of everything the runtimes wrote (logs of both processes, the flow export, /metrics,
 *     error messages, dead letters) for every secret they were given.
 *
 * The suite runs the lease polls every 2 s and the documents poll every 5 s (shipped: 30 s and 60 s), and the lease
 * TTL is 3 s (shipped: 15 s): the same paths, in less time. Short variants run in `npm test`; FAULTS_SCALE=4
 * (npm run test:faults) runs four times the changes and the longer outages.
 */
import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import { Connection } from 'rabbitmq-client';
import { OdooClient } from '../../nodes/clients/odoo/client';
import { SharedDb } from '../../nodes/clients/shared-db';
import { seedOdoo } from '../../seeds/odoo/seed';
import { KeycloakPeer } from '../../peers/keycloak/keycloak-peer';
import { NextcloudPeer } from '../../peers/nextcloud/peer';
import { startOdooPeer, type OdooPeer } from '../../peers/odoo';
import { SCALE, Transcript, faultTable, type Outcome } from '../lib/faults';
import { draftInvoices, storageNotes, storedCopies } from '../lib/pipeline';
import { shippedTabs } from '../lib/flows';
import { sleep, waitFor } from '../lib/harness';
import { pointAutomationRulesAt } from '../lib/odoo';
import { startPrivatePostgres, startPrivateRabbit, type PrivatePostgres, type PrivateRabbit } from '../lib/private-servers';
import { startReplica, type Replica } from '../lib/replica';
import { problems, startRuntime, type Runtime } from '../lib/runtime';

const TTL_S = 3;
/** Changes of the burst: 200 in `npm test`, 1,000 with FAULTS_SCALE=4. */
const BURST = SCALE === 1 ? 200 : 250 * SCALE;
const NC_USER = 'alice';
const STOCK_LOCATION = 8;
const QUEUES = ['invoice_queue', 'medical_records_queue', 'notification_queue'];
/** Distinctive secrets: a grep for them in what the runtimes wrote means something. */
const secret = (name: string) => `${name}-${randomBytes(12).toString('hex')}`;
const SECRETS = {
  ODOO_API_KEY: secret('odoo-key'),
  ODOO_PASSWORD: secret('odoo-pw'),
  NEXTCLOUD_APP_PASSWORD: secret('nc-app'),
  KEYCLOAK_CLIENT_SECRET: secret('kc-client'),
  ODOO_WEBHOOK_SECRET: secret('wh'),
  SHARED_DB_PASSWORD: secret('pg-pw'),
  AMQP_PASSWORD: secret('mq-pw'),
  NODE_RED_CREDENTIAL_SECRET: secret('nr-cred'),
};

/** Tabs 01, 02, 03 and 04a as one process runs them, with the polls made frequent (their leases as shipped). */
const flow = shippedTabs(
  '01 - Document storage (Odoo to Nextcloud).json',
  '02 - Asynchronous documents (RabbitMQ).json',
  '03 - Shared database - patients and appointments.json',
  '04a - Medical inventory - Odoo to shared database.json',
).map((n) => {
  if (n.type !== 'clinica-db-lease') return n;
  if (Number(n.repeat) === 30) return { ...n, repeat: 2 };
  if (n.id === 'docq.poll') return { ...n, repeat: 5 };
  return n;
});

interface Load {
  invoices: number[];
  /** patient id → the phone written last */
  patients: Map<number, string>;
  /** product id → the quantity counted last */
  stock: Map<number, number>;
  /** Done stock moves of the medications made by this load (each must become one shared_stock_movements row). */
  moves: () => number[];
}

describe('fault injection: PostgreSQL and RabbitMQ restarted, Odoo slow then down, a burst, the lease holder killed (private servers, two replicas)', function () {
  this.timeout(900000);
  let pg: PrivatePostgres;
  let mq: PrivateRabbit;
  let odoo: OdooPeer;
  let nc: NextcloudPeer;
  let kc: KeycloakPeer;
  let rt: Runtime;
  let child: Replica | undefined;
  let db: SharedDb;
  let env: Record<string, string>;
  let patientIds: number[] = [];
  let medicationIds: number[] = [];
  let patient = 0;
  let phoneSeq = 0;
  let countSeq = 0;
  let patientCursor = 0;
  const transcript = new Transcript();
  const outcomes: Outcome[] = [];
  const nodeRedLogin = 'nodered';

  // ------------------------------------------------------------------------------------------ what Odoo holds
  // Everything through the peer's in-process accessors: the test's own RPC would get the injected latency and faults.
  const invoice = (id: number) => odoo.records('account.move').find((r) => r.id === id);
  const notes = (id: number) => storageNotes(odoo, id);
  const copies = (id: number) => storedCopies(nc, NC_USER, invoice(id)?.x_nextcloud_path);
  const onHand = async (ids: number[]) =>
    new Map(
      ((await odoo.execute('product.product', 'read', [ids, ['qty_available']])) as Array<{ id: number; qty_available: number }>).map((p) => [
        p.id,
        Number(p.qty_available),
      ]),
    );
  const doneMoveIds = () =>
    odoo
      .records('stock.move')
      .filter((m) => m.state === 'done' && medicationIds.includes(Number(m.product_id)))
      .map((m) => Number(m.id));

  // ------------------------------------------------------------------------------------------ the broker
  /** Every queue of the private node: messages ready and unacked (undefined while the node is down). */
  async function queues(): Promise<Map<string, { ready: number; unacked: number }> | undefined> {
    try {
      const out = await mq.ctl('list_queues', 'name', 'messages_ready', 'messages_unacknowledged', '-q', '--no-table-headers');
      const m = new Map<string, { ready: number; unacked: number }>();
      for (const line of out.split('\n')) {
        const [name, ready, unacked] = line.trim().split(/\s+/);
        if (name && ready !== undefined) m.set(name, { ready: Number(ready), unacked: Number(unacked) });
      }
      return m;
    } catch {
      return undefined;
    }
  }
  const deadLetters = async () => {
    const q = await queues();
    return q ? [...q].filter(([n]) => n.endsWith('.dlq')).reduce((a, [, v]) => a + v.ready + v.unacked, 0) : NaN;
  };
  /** The dead letters, waiting for the broker if it is not back yet. */
  const deadLettersNow = async () => {
    for (let i = 0; i < 120; i++) {
      const n = await deadLetters();
      if (!Number.isNaN(n)) return n;
      await sleep(500);
    }
    throw new Error('the broker did not answer for a minute');
  };
  /** No message ready or unacked anywhere but in the dead-letter queues. */
  const drained = async () => {
    const q = await queues();
    return !!q && QUEUES.every((n) => q.has(n)) && [...q].filter(([n]) => !n.endsWith('.dlq')).every(([, v]) => v.ready === 0 && v.unacked === 0);
  };

  // ------------------------------------------------------------------------------------------ the load
  /** Changes in Odoo as its users make them (webhooks and all): invoices posted, patients changed, stock counted. */
  async function makeLoad(n: { invoices: number; patients: number; stock: number }, spreadMs = 0): Promise<Load> {
    const movesBefore = new Set(doneMoveIds());
    const drafts = n.invoices ? ((await odoo.execute('account.move', 'create', [draftInvoices(patient, n.invoices)])) as number[]) : [];
    const load: Load = {
      invoices: drafts,
      patients: new Map(),
      stock: new Map(),
      moves: () => doneMoveIds().filter((id) => !movesBefore.has(id)),
    };
    const steps: Array<() => Promise<unknown>> = [];
    for (const id of drafts) steps.push(() => odoo.execute('account.move', 'action_post', [[id]]));
    for (let i = 0; i < n.patients; i++) {
      const id = patientIds[patientCursor++ % patientIds.length];
      const phone = `+34 6${String(++phoneSeq).padStart(8, '0')}`;
      load.patients.set(id, phone);
      steps.push(() => odoo.execute('res.partner', 'write', [[id], { phone }]));
    }
    const products = medicationIds.slice(0, Math.min(n.stock, medicationIds.length));
    for (const id of products) {
      const qty = 40 + (++countSeq % 150);
      load.stock.set(id, qty);
      steps.push(async () => {
        const context = { inventory_mode: true };
        const quant = await odoo.execute('stock.quant', 'create', [{ product_id: id, location_id: STOCK_LOCATION, inventory_quantity: qty }], { context });
        await odoo.execute('stock.quant', 'action_apply_inventory', [[quant]], { context });
      });
    }
    // Interleaved kinds; all at once, or spread evenly over spreadMs.
    steps.sort(() => Math.random() - 0.5);
    if (!spreadMs) await Promise.all(steps.map((s) => s()));
    else {
      const every = spreadMs / Math.max(1, steps.length);
      const running: Array<Promise<unknown>> = [];
      for (const s of steps) {
        running.push(s());
        await sleep(every);
      }
      await Promise.all(running);
    }
    return load;
  }

  async function shared(): Promise<{ phones: Map<number, string>; patientRows: Map<number, number>; qty: Map<number, number>; moveRows: Map<number, number> }> {
    const p = await db.query<{ odoo_id: number; phone: string | null; n: string }>(
      'SELECT odoo_id, max(phone) AS phone, count(*) AS n FROM shared_patients GROUP BY odoo_id',
    );
    const m = await db.query<{ odoo_product_id: number; qty: number }>('SELECT odoo_product_id, stock_quantity::float AS qty FROM shared_medications');
    const mv = await db.query<{ odoo_move_id: number; n: string }>(
      'SELECT odoo_move_id, count(*) AS n FROM shared_stock_movements WHERE odoo_move_id IS NOT NULL GROUP BY odoo_move_id',
    );
    return {
      phones: new Map(p.rows.map((r) => [r.odoo_id, r.phone ?? ''])),
      patientRows: new Map(p.rows.map((r) => [r.odoo_id, Number(r.n)])),
      qty: new Map(m.rows.map((r) => [r.odoo_product_id, Number(r.qty)])),
      moveRows: new Map(mv.rows.map((r) => [r.odoo_move_id, Number(r.n)])),
    };
  }

  /** What is missing and what is there twice, over every change of the load. */
  async function count(load: Load): Promise<{ lost: number; duplicated: number; detail: Record<string, number> }> {
    const s = await shared();
    const qty = await onHand([...load.stock.keys()]);
    const moves = load.moves();
    const detail = {
      invoicesLost: load.invoices.filter((id) => !invoice(id)?.x_nextcloud_url || notes(id).length === 0).length,
      invoicesDuplicated: load.invoices.filter((id) => notes(id).length > 1 || copies(id) > 1).length,
      patientsLost: [...load.patients].filter(([id, phone]) => s.phones.get(id) !== phone).length,
      patientsDuplicated: [...load.patients.keys()].filter((id) => (s.patientRows.get(id) ?? 0) > 1).length,
      stockLost: [...load.stock].filter(([id, want]) => qty.get(id) !== want || s.qty.get(id) !== want).length,
      movesLost: moves.filter((id) => !s.moveRows.has(id)).length,
      movesDuplicated: moves.filter((id) => (s.moveRows.get(id) ?? 0) > 1).length,
    };
    return {
      lost: detail.invoicesLost + detail.patientsLost + detail.stockLost + detail.movesLost,
      duplicated: detail.invoicesDuplicated + detail.patientsDuplicated + detail.movesDuplicated,
      detail,
    };
  }

  /** Waits until every change of the load has its effect and the queues are drained, then records the outcome. */
  async function settle(fault: string, load: Load, faultAt: number, deadAtStart: number, timeoutMs = 180000): Promise<Outcome> {
    const deadline = Date.now() + timeoutMs;
    let done = false;
    let last: Awaited<ReturnType<typeof count>> | undefined;
    while (Date.now() < deadline) {
      try {
        last = await count(load);
        if (last.lost === 0 && (await drained())) {
          done = true;
          break;
        }
      } catch {
        // the database or the broker is still coming back
      }
      await sleep(200);
    }
    const recoveryMs = Date.now() - faultAt;
    // A little longer: a late duplicate (a redelivery, a second note) would show up now.
    await sleep(1000);
    last = await waitFor(() => count(load), 'the final count', 30000, 500);
    const outcome: Outcome = {
      fault,
      jobs: load.invoices.length + load.patients.size + load.stock.size,
      lost: last.lost,
      duplicated: last.duplicated,
      deadLettered: (await deadLettersNow()) - deadAtStart,
      recoveryMs,
    };
    outcomes.push(outcome);
    if (!done && process.env.FAULTS_DEBUG) {
      const rows = (await shared()).moveRows;
      const lostMoves = load.moves().filter((id) => !rows.has(id));
      process.stdout.write(
        `${JSON.stringify(
          {
            state: (await db.query('SELECT * FROM sync_state')).rows,
            cursors: (await db.query("SELECT * FROM odoo_trigger_cursors WHERE name LIKE '%moves%'")).rows,
            lost: odoo
              .records('stock.move')
              .filter((m) => lostMoves.includes(Number(m.id)))
              .map((m) => ({ id: m.id, write_date: m.write_date, date: m.date })),
          },
          null,
          1,
        )}\n`,
      );
    }
    if (!done) process.stdout.write(`${[...new Set(problems(rt.logs).map((l) => l.replace(/"correlationId":"[^"]+",?/, '')))].slice(-30).join('\n')}\n`);
    assert.ok(done, `${fault}: did not settle: ${JSON.stringify({ ...outcome, ...last.detail })}`);
    return outcome;
  }

  let webhooksOn = false;
  /** From the lease case on, Odoo's rules post to this process (with the token they carry). */
  async function webhooksToThisProcess(): Promise<void> {
    if (webhooksOn) return;
    const client = new OdooClient({ url: odoo.url, db: odoo.db, username: odoo.admin.login, apiKey: odoo.admin.apiKey, retryDelayMs: 10 });
    try {
      await pointAutomationRulesAt(client, rt.url);
      webhooksOn = true;
    } finally {
      client.close();
    }
  }

  const leaseHolders = async () =>
    new Map((await db.query<{ name: string; holder: string }>('SELECT name, holder FROM leases')).rows.map((r) => [r.name, r.holder.split(':')[1]]));
  const LEASES = ['sync-patients', 'sync-inventory', 'documents-poll'];

  before(async function () {
    pg = await startPrivatePostgres({ password: SECRETS.SHARED_DB_PASSWORD });
    mq = await startPrivateRabbit({ user: 'clinica', password: SECRETS.AMQP_PASSWORD });
    odoo = await startOdooPeer({
      users: [{ login: nodeRedLogin, password: SECRETS.ODOO_PASSWORD, apiKey: SECRETS.ODOO_API_KEY, admin: true, name: 'Node-RED' }],
    });
    const client = new OdooClient({ url: odoo.url, db: odoo.db, username: odoo.admin.login, apiKey: odoo.admin.apiKey, retryDelayMs: 10 });
    try {
      // The rules post nowhere until the lease case is over (every change there comes through a poll).
      await seedOdoo({
        client,
        nodeRedUrl: 'http://127.0.0.1:9',
        webhookSecret: SECRETS.ODOO_WEBHOOK_SECRET,
        patients: 400,
        doctors: 2,
        medications: 100,
        appointments: 2,
        invoices: 0,
      });
    } finally {
      client.close();
    }
    patientIds = odoo
      .records('res.partner')
      .filter((p) => p.x_is_patient)
      .map((p) => Number(p.id));
    patient = patientIds[0];
    const category = odoo.records('product.category').find((c) => c.name === 'Medicamentos')?.id;
    const templates = new Set(
      odoo
        .records('product.template')
        .filter((t) => t.categ_id === category)
        .map((t) => Number(t.id)),
    );
    medicationIds = odoo
      .records('product.product')
      .filter((p) => templates.has(Number(p.product_tmpl_id)))
      .map((p) => Number(p.id));
    assert.equal(medicationIds.length, 100);
    nc = await new NextcloudPeer({ users: { [NC_USER]: SECRETS.NEXTCLOUD_APP_PASSWORD } }).start();
    kc = await KeycloakPeer.start();
    env = {
      SHARED_DB_URL: pg.url,
      AMQP_URL: mq.url,
      ODOO_URL: odoo.url,
      ODOO_DB: odoo.db,
      ODOO_USERNAME: nodeRedLogin,
      ODOO_API_KEY: SECRETS.ODOO_API_KEY,
      ODOO_PASSWORD: SECRETS.ODOO_PASSWORD,
      ODOO_WEBHOOK_SECRET: SECRETS.ODOO_WEBHOOK_SECRET,
      NEXTCLOUD_URL: nc.url,
      NEXTCLOUD_USERNAME: NC_USER,
      NEXTCLOUD_APP_PASSWORD: SECRETS.NEXTCLOUD_APP_PASSWORD,
      KEYCLOAK_URL: kc.baseUrl,
      KEYCLOAK_REALM: 'clinica-realm',
      KEYCLOAK_CLIENT_ID: 'node-red',
      KEYCLOAK_CLIENT_SECRET: SECRETS.KEYCLOAK_CLIENT_SECRET,
      NODE_RED_CREDENTIAL_SECRET: SECRETS.NODE_RED_CREDENTIAL_SECRET,
      CLINICA_LEASE_TTL: String(TTL_S),
    };
    // The child starts first and takes every lease; this process then runs as the standby.
    child = await startReplica(flow, { ...env, CLINICA_REPLICA_LOGS: '1' });
    const childPid = String(child.process.pid);
    db = new SharedDb({ url: pg.url, max: 3 });
    await waitFor(
      async () => {
        const h = await leaseHolders();
        return LEASES.every((l) => h.get(l) === childPid);
      },
      'the child replica to hold every lease',
      60000,
      200,
    );
    rt = await startRuntime(flow, { env });
    rt.RED.hooks.add('onSend.faultsGrep', (events: Array<{ msg: Record<string, unknown> }>) => {
      for (const e of events) if (e.msg.error || e.msg.errorInfo) transcript.add('error messages', { error: e.msg.error, errorInfo: e.msg.errorInfo });
    });
    await waitFor(async () => Number((await db.query('SELECT count(*) AS n FROM shared_patients')).rows[0].n) >= 400, '400 patients copied', 120000, 500);
    await waitFor(
      async () => Number((await db.query('SELECT count(*) AS n FROM shared_medications')).rows[0].n) === 100,
      '100 medications copied',
      120000,
      500,
    );
  });

  after(async function () {
    child?.kill();
    if (outcomes.length) process.stdout.write(faultTable(outcomes));
    rt?.RED.hooks.remove('*.faultsGrep');
    await rt?.stop();
    await db?.close();
    await odoo?.stop();
    await nc?.close();
    await kc?.close();
    await mq?.stop();
    await pg?.stop();
  });

  it('the lease holder killed (SIGKILL) while patients and stock change: the other replica takes over within TTL + TTL/3; every change copied once', async function () {
    assert.ok(child, 'the child replica');
    const replica = child;
    const deadAtStart = await deadLettersNow();
    // Changes while the child polls, the crash in the middle, changes while nobody polls.
    const loading = makeLoad({ invoices: 0, patients: 20 * SCALE, stock: 10 * SCALE }, 4000 * SCALE);
    await sleep(2000 * SCALE);
    replica.kill();
    const killedAt = Date.now();
    await new Promise((resolve) => replica.process.once('exit', resolve));
    transcript.add('child replica output', replica.output());
    child = undefined;
    await waitFor(
      async () => {
        const h = await leaseHolders();
        return LEASES.every((l) => h.get(l) === String(process.pid));
      },
      'this process to take every lease',
      30000,
      50,
    );
    const takeoverMs = Date.now() - killedAt;
    const load = await loading;
    const o = await settle(`the lease holder killed (SIGKILL); lease taken over after ${(takeoverMs / 1000).toFixed(1)} s`, load, killedAt, deadAtStart);
    assert.ok(takeoverMs <= (TTL_S + TTL_S / 3) * 1000 + 3000, `lease taken over after ${takeoverMs} ms`);
    assert.deepEqual([o.lost, o.duplicated, o.deadLettered], [0, 0, 0], JSON.stringify(o));
    const takeover = rt.logs.find((r) => (r.msg as { event?: string } | undefined)?.event === 'lease.takeover');
    assert.ok(takeover, 'a lease.takeover log line');
  });

  it('PostgreSQL restarted mid-batch (pg_ctl stop -m fast, down, start): every document, patient and stock change once; no dead letter', async function () {
    await webhooksToThisProcess();
    const deadAtStart = await deadLettersNow();
    const load = await makeLoad({ invoices: 20 * SCALE, patients: 10 * SCALE, stock: 10 * SCALE });
    await waitFor(() => load.invoices.some((id) => invoice(id)?.x_nextcloud_url), 'the batch under way', 60000, 20);
    const at = Date.now();
    const scrape = scrapeWhileDown('PostgreSQL down');
    await pg.restart(2000 * SCALE);
    await scrape.stop();
    const o = await settle(`PostgreSQL restarted (down ${2 * SCALE} s)`, load, at, deadAtStart);
    assert.deepEqual([o.lost, o.duplicated, o.deadLettered], [0, 0, 0], JSON.stringify(o));
  });

  it('RabbitMQ restarted mid-batch (the node stopped, down, started): persistent messages on durable queues survive; each job once; no dead letter', async function () {
    await webhooksToThisProcess();
    const deadAtStart = await deadLettersNow();
    const load = await makeLoad({ invoices: 20 * SCALE, patients: 10 * SCALE, stock: 10 * SCALE });
    await waitFor(() => load.invoices.some((id) => invoice(id)?.x_nextcloud_url), 'the batch under way', 60000, 20);
    const at = Date.now();
    const scrape = scrapeWhileDown('RabbitMQ down');
    await mq.restart(1000 * SCALE);
    await scrape.stop();
    const o = await settle(`RabbitMQ restarted (node stopped, started ${((Date.now() - at) / 1000).toFixed(0)} s later)`, load, at, deadAtStart);
    assert.deepEqual([o.lost, o.duplicated, o.deadLettered], [0, 0, 0], JSON.stringify(o));
  });

  it('the Odoo peer slow (5 s answers), then down (503, then connections reset), then back: retried, every change once; no dead letter', async function () {
    await webhooksToThisProcess();
    const deadAtStart = await deadLettersNow();
    const load = await makeLoad({ invoices: 20 * SCALE, patients: 10 * SCALE, stock: 10 * SCALE });
    await waitFor(() => load.invoices.some((id) => invoice(id)?.x_nextcloud_url), 'the batch under way', 60000, 20);
    const at = Date.now();
    odoo.setLatency(5000);
    await sleep(6000 * SCALE);
    // Down: every call answered 503, then every connection reset.
    odoo.setLatency(0);
    odoo.failNext({ kind: 'http503', times: 1e9 });
    await sleep(2000 * SCALE);
    odoo.clearFailures();
    odoo.failNext({ kind: 'reset', times: 1e9 });
    await sleep(2000 * SCALE);
    odoo.clearFailures();
    const o = await settle(`Odoo slow (5 s answers) ${6 * SCALE} s, then down (503, then connections reset) ${4 * SCALE} s`, load, at, deadAtStart);
    assert.deepEqual([o.lost, o.duplicated, o.deadLettered], [0, 0, 0], JSON.stringify(o));
  });

  it(`a burst of ${BURST} Odoo changes at once (invoices posted, patients changed, stock counted): each one once`, async function () {
    await webhooksToThisProcess();
    const deadAtStart = await deadLettersNow();
    const n = BURST;
    const at = Date.now();
    const load = await makeLoad({ invoices: Math.round(n * 0.5), patients: Math.round(n * 0.4), stock: n - Math.round(n * 0.5) - Math.round(n * 0.4) });
    const issuedMs = Date.now() - at;
    const o = await settle(`a burst of ${n} Odoo changes (issued in ${(issuedMs / 1000).toFixed(1)} s, webhooks and all)`, load, at, deadAtStart, 600000);
    assert.deepEqual([o.lost, o.duplicated, o.deadLettered], [0, 0, 0], JSON.stringify(o));
  });

  it('no secret in anything the runtimes wrote: logs of both processes, the flow export, /metrics, error messages, dead letters', async function () {
    // One poison message, so that a dead letter (its reason, headers and body) is there to read.
    const conn = new Connection({ url: mq.url, connectionName: 'faults-grep' });
    try {
      const before = await deadLetters();
      const ch = await conn.acquire();
      await ch.basicPublish(
        { exchange: 'documents_exchange', routingKey: 'invoice.created', messageId: 'poison-grep', durable: true },
        Buffer.from('{"broken": '),
      );
      await waitFor(async () => (await deadLetters()) > before, 'the poison message dead-lettered', 30000, 100);
      for (const q of QUEUES) {
        for (;;) {
          const m = await ch.basicGet({ queue: `${q}.dlq`, noAck: false });
          if (!m) break;
          transcript.add(`dead letter in ${q}.dlq`, { headers: m.headers, properties: { ...m, body: undefined }, body: String(m.body) });
        }
      }
      await ch.close(); // unacked: back in the DLQ
    } finally {
      await conn.close();
    }
    transcript.add('GET /flows (admin API)', await (await fetch(`${rt.url}/admin/flows`)).text());
    // What the integration monitor shows: the sync errors, and the path of every correlation id.
    transcript.add('sync_state (last_error)', (await db.query('SELECT * FROM sync_state')).rows);
    transcript.add('trace_events', (await db.query('SELECT * FROM trace_events ORDER BY id DESC LIMIT 20000')).rows);
    transcript.add('GET /metrics', await (await fetch(`${rt.url}/metrics`)).text());
    transcript.addLogs('this process: log records', rt.logs);
    if (child) transcript.add('child replica output', child.output());
    for (const source of [
      'this process: log records',
      'child replica output',
      'GET /flows (admin API)',
      'GET /metrics',
      'dead letter in invoice_queue.dlq',
      'trace_events',
    ]) {
      assert.ok(transcript.sources.includes(source), `the grep covers ${source}: ${transcript.sources.join(', ')}`);
    }
    // The grep finds a secret where there is one (the runtimes were given them all: they are in the environment).
    const control = new Transcript();
    control.add('control', `${env.SHARED_DB_URL} ${encodeURIComponent(SECRETS.NEXTCLOUD_APP_PASSWORD)}`);
    assert.deepEqual(
      control.leaks(SECRETS).map((l) => l.secret),
      ['NEXTCLOUD_APP_PASSWORD', 'SHARED_DB_PASSWORD'],
    );
    const leaks = transcript.leaks(SECRETS);
    assert.deepEqual(leaks, [], `secrets written by the runtimes:\n${leaks.map((l) => `${l.secret} in ${l.source}: …${l.context}…`).join('\n')}`);
    process.stdout.write(`      grepped ${(transcript.size / 1e6).toFixed(1)} MB: ${transcript.summary()}\n`);
  });

  /** Scrapes /metrics and the flow export every 500 ms while a server is down (their error paths are what leaks). */
  function scrapeWhileDown(what: string): { stop(): Promise<void> } {
    let running = true;
    const loop = (async () => {
      while (running) {
        for (const route of ['/metrics', '/admin/flows']) {
          try {
            transcript.add(`GET ${route} (${what})`, await (await fetch(`${rt.url}${route}`, { signal: AbortSignal.timeout(5000) })).text());
          } catch (err) {
            transcript.add(`GET ${route} (${what})`, String(err));
          }
        }
        await sleep(500);
      }
    })();
    return {
      stop: async () => {
        running = false;
        await loop;
      },
    };
  }
});
