/**
 * End to end, the shipped document flows 01 and 02 in one embedded Node-RED (as `npm start` runs the flows
 * folder), driven by Odoo's own automation webhooks: an invoice is posted in Odoo, the webhook reaches the flow,
 * the trigger reads the committed invoice, publishes it to `documents_exchange`, the consumer stores its PDF in
 * Nextcloud, writes the path and link on the invoice, posts ONE chatter note, notifies and acks.
 *
 *   1. one posted invoice at a time (N, default 10): from `action_post` returning to the moment the invoice has
 *      x_nextcloud_path, its file is in Nextcloud with the size of the PDF Odoo gave, and one chatter note names
 *      it (p50/p99; target < 3 s), beside a baseline of the unavoidable work: the report PDF fetched, one WebDAV
 *      PUT, one Odoo write (raw `fetch`, session already open);
 *   2. 10 invoices posted at once, as one `action_post` on 10 drafts and as 10 parallel calls: until all 10 are
 *      stored, linked and noted (target < 15 s), nothing dead-lettered, every file once, one note each;
 *   3. 50 new patients, each with a first document (an invoice): all stored, linked and noted, nothing
 *      dead-lettered, no share created (shares counted over OCS before and after);
 *   4. three stored invoices through the chain again (another message id: a redelivery the consumer cannot
 *      recognise, or a retry after the upload), a second or more after they were stored: the file kept, no write,
 *      no second note, nothing dead-lettered (a real Odoo stamps every rendering of a PDF with its time);
 *   and for every invoice: published once and consumed once (counted at the nodes with RED.hooks), and Odoo's
 *   `is_move_sent` still false (the PDF comes from the report route: ODOO_PASSWORD is set).
 *
 *   peer (default): the Odoo 18 peer (seeded like the reference deployment) and the Nextcloud 32 peer in this process
 *   real:  --odoo-url http://127.0.0.1:8069 [--odoo-db clinica --odoo-user admin] --odoo-password admin
 *          --nc-url http://127.0.0.1:8082 --nc-user nconf --nc-password "$(cat /tmp/nconf-pw)"
 *   both:  RabbitMQ from TEST_AMQP_URL (default amqp://guest:guest@127.0.0.1:5672) in a vhost of its own
 *          (rabbitmqctl add_vhost, deleted at the end); --invoices N, --batch N, --patients N, --timeout S.
 *
 * The seed runs again with this runtime's URL, so Odoo's automation rules post to it (on a real Odoo the rules'
 * previous URLs are written back at the end). The triggers of flow 02 are narrowed to records created after the
 * bench started (`id >` the highest id), so the reconciliation poll leaves other people's documents alone; the
 * rest of both flows runs as shipped. Everything the bench creates stays (partners, invoices, their documents in
 * Nextcloud, the notes) but the baseline's scratch folder.
 *
 * Run: npm run build && node dist/bench/documents-latency.js [options]
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { AmqpBroker } from '../nodes/clients/amqp';
import { OdooClient } from '../nodes/clients/odoo/client';
import { valueOf } from '../nodes/clients/common/metrics';
import { seedOdoo } from '../seeds/odoo/seed';
import { AMQP_URL } from '../test/lib/harness';
import { problems, startRuntime, type Runtime } from '../test/lib/runtime';
import { NextcloudPeer } from '../peers/nextcloud/peer';
import { startOdooPeer, type OdooPeer } from '../peers/odoo';
import { summarize } from './lib/embedded';

const run = promisify(execFile);
const argv = process.argv.slice(2);
const opt = (name: string, fallback?: string) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && argv[i + 1] !== undefined ? argv[i + 1] : fallback;
};
const SINGLE = Number(opt('invoices', '10'));
const BATCH = Number(opt('batch', '10'));
const PATIENTS = Number(opt('patients', '50'));
const TIMEOUT_MS = Number(opt('timeout', '120')) * 1000;
const flowsDir = path.resolve(__dirname, '..', '..', 'flows');
const FLOW_FILES = ['01 - Document storage (Odoo to Nextcloud).json', '02 - Asynchronous documents (RabbitMQ).json'];
const QUEUES = ['invoice_queue', 'medical_records_queue', 'notification_queue'];
const TRIGGERS: Record<string, string> = {
  'docq.trigger.invoice': 'account.move',
  'docq.trigger.record': 'x_medical_record',
  'docq.trigger.prescription': 'x_prescription',
};
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Tabs 01 and 02 in one runtime (config nodes share ids: taken once), triggers narrowed to new records. */
function documentFlows(minIds: Record<string, number>): object[] {
  const byId = new Map<string, Record<string, unknown>>();
  for (const file of FLOW_FILES) {
    for (const n of JSON.parse(fs.readFileSync(path.join(flowsDir, file), 'utf8')) as Array<Record<string, unknown>>) {
      const model = TRIGGERS[String(n.id)];
      if (model) n.domain = JSON.stringify([...JSON.parse(String(n.domain)), ['id', '>', minIds[model]]]);
      if (!byId.has(String(n.id))) byId.set(String(n.id), n);
    }
  }
  return [...byId.values()];
}

/** What the nodes saw of one document, by `<model>-<id>` (RED.hooks onReceive, in the order of the chain). */
interface Track {
  webhook?: number;
  published?: number;
  consumedAt?: number;
  pdfAt?: number;
  publishes: number;
  sources: string[];
  consumed: number;
  pdfBytes?: number;
  uploaded?: number;
  uploadStatus?: string;
  done?: number;
  chatter?: string;
  failures: string[];
}

interface Row extends Record<string, unknown> {
  id: number;
}

const fmt = (s: { p50: number; p99: number; max: number }) => `p50 ${s.p50.toFixed(0)} ms, p99 ${s.p99.toFixed(0)} ms, max ${s.max.toFixed(0)} ms`;

async function main(): Promise<void> {
  const odooUrl = opt('odoo-url');
  const ncUrlOpt = opt('nc-url');
  const real = Boolean(odooUrl);
  let odooPeer: OdooPeer | undefined;
  let ncPeer: NextcloudPeer | undefined;
  if (!odooUrl) odooPeer = await startOdooPeer({ version: 18 });
  if (!ncUrlOpt) ncPeer = await new NextcloudPeer().start();
  const O = odooUrl
    ? { url: odooUrl, db: opt('odoo-db', 'clinica')!, login: opt('odoo-user', 'admin')!, password: opt('odoo-password', 'admin')! }
    : { url: odooPeer!.url, db: odooPeer!.db, login: odooPeer!.admin.login, password: odooPeer!.admin.password };
  const N = ncUrlOpt
    ? { url: ncUrlOpt.replace(/\/+$/, ''), user: opt('nc-user', 'admin')!, password: opt('nc-password', 'admin')! }
    : { url: ncPeer!.url, user: 'alice', password: 'alice-app-password' };
  const odoo = new OdooClient({ url: O.url, db: O.db, username: O.login, password: O.password, timeoutMs: 600000 });
  const vhost = `clinica-docs-bench-${process.pid}`;
  const amqpUrl = `${AMQP_URL}/${encodeURIComponent(vhost)}`;
  const davRoot = `${N.url}/remote.php/dav/files/${encodeURIComponent(N.user)}`;
  const ncAuth = `Basic ${Buffer.from(`${N.user}:${N.password}`).toString('base64')}`;
  const scratch = `/bench-documents-${Date.now()}`;
  const checks: string[] = [];
  const fail = (what: string) => {
    checks.push(what);
    process.stdout.write(`  FAIL ${what}\n`);
  };
  let rt: Runtime | undefined;
  let broker: AmqpBroker | undefined;
  let vhostMade = false;
  let previousUrls: Row[] = [];
  let scratchMade = false;

  const nc = (method: string, p: string, init: { body?: Buffer | string; headers?: Record<string, string> } = {}) =>
    fetch(`${davRoot}${p.split('/').map(encodeURIComponent).join('/')}`, {
      method,
      body: init.body as BodyInit | undefined,
      headers: { Authorization: ncAuth, ...init.headers },
    });
  const sharesCount = async (): Promise<number> => {
    const res = await fetch(`${N.url}/ocs/v2.php/apps/files_sharing/api/v1/shares?format=json`, {
      headers: { Authorization: ncAuth, 'OCS-APIRequest': 'true' },
    });
    if (!res.ok) throw new Error(`OCS shares answered ${res.status}`);
    return ((await res.json()) as { ocs: { data: unknown[] } }).ocs.data.length;
  };
  /** name → size of the files in a folder (PROPFIND depth 1). */
  const listFolder = async (folder: string): Promise<Map<string, number>> => {
    const res = await nc('PROPFIND', folder, {
      headers: { Depth: '1', 'Content-Type': 'application/xml' },
      body: '<?xml version="1.0"?><d:propfind xmlns:d="DAV:"><d:prop><d:getcontentlength/><d:resourcetype/></d:prop></d:propfind>',
    });
    const out = new Map<string, number>();
    if (res.status === 404) return out;
    const xml = await res.text();
    for (const m of xml.matchAll(/<d:response>([\s\S]*?)<\/d:response>/g)) {
      const href = /<d:href>([^<]*)<\/d:href>/.exec(m[1])?.[1] ?? '';
      const len = /<d:getcontentlength>(\d+)<\/d:getcontentlength>/.exec(m[1]);
      if (len) out.set(decodeURIComponent(href.replace(/\/$/, '').split('/').pop() ?? ''), Number(len[1]));
    }
    return out;
  };

  try {
    // ---------------------------------------------------------------------------------------- set-up
    process.stdout.write(
      `Odoo ${real ? `real at ${O.url}` : 'peer (Odoo 18)'}; Nextcloud ${ncUrlOpt ? `real at ${N.url} as ${N.user}` : 'peer (Nextcloud 32)'}; RabbitMQ vhost ${vhost}; load average ${os
        .loadavg()
        .map((l) => l.toFixed(1))
        .join(' ')} (${os.cpus().length} cores)\n`,
    );
    if (!real) await seedOdoo({ client: odoo, nodeRedUrl: 'http://127.0.0.1:9' });
    previousUrls = (await odoo.searchRead('ir.actions.server', { domain: [['state', '=', 'webhook']], fields: ['webhook_url'] })) as Row[];
    const minIds: Record<string, number> = {};
    for (const model of Object.values(TRIGGERS)) minIds[model] = (await odoo.search(model, { order: 'id desc', limit: 1 }))[0] ?? 0;
    await run('rabbitmqctl', ['add_vhost', vhost]);
    vhostMade = true;
    await run('rabbitmqctl', ['set_permissions', '-p', vhost, new URL(AMQP_URL).username || 'guest', '.*', '.*', '.*']);

    const env: Record<string, string> = {
      ODOO_URL: O.url,
      ODOO_DB: O.db,
      ODOO_USERNAME: O.login,
      ODOO_PASSWORD: O.password,
      NEXTCLOUD_URL: N.url,
      NEXTCLOUD_USERNAME: N.user,
      NEXTCLOUD_APP_PASSWORD: N.password,
      AMQP_URL: amqpUrl,
      KEYCLOAK_URL: 'http://127.0.0.1:9',
      KEYCLOAK_REALM: 'clinica-realm',
    };
    if (odooPeer) env.ODOO_API_KEY = odooPeer.admin.apiKey;
    rt = await startRuntime(documentFlows(minIds), { env, logLevel: 'warn' });
    broker = new AmqpBroker({ url: amqpUrl, connectionName: 'documents-latency-bench' });

    const tracks = new Map<string, Track>();
    const track = (model: unknown, id: unknown): Track => {
      const key = `${String(model)}-${String(id)}`;
      let t = tracks.get(key);
      if (!t) tracks.set(key, (t = { publishes: 0, sources: [], consumed: 0, failures: [] }));
      return t;
    };
    type Ev = { msg: Record<string, any>; destination: { id: string } }; // eslint-disable-line @typescript-eslint/no-explicit-any
    rt.RED.hooks.add('onReceive.documentsBench', (ev: Ev) => {
      const now = performance.now();
      const { msg } = ev;
      const d = msg.docRef as { model?: string; id?: number; chatter?: string } | undefined;
      switch (ev.destination.id) {
        case 'docq.accept': {
          const t = track(msg.payload?._model, msg.payload?._id);
          t.webhook ??= now;
          break;
        }
        case 'docq.publish': {
          const t = track(msg.payload?.model, msg.payload?.id);
          t.publishes += 1;
          t.published ??= now;
          t.sources.push(String(msg.payload?.source));
          break;
        }
        case 'docq.store': {
          const t = track(msg.payload?.model, msg.payload?.id);
          t.consumed += 1;
          t.consumedAt ??= now;
          break;
        }
        case 'docs.filename':
          if (d) Object.assign(track(d.model, d.id), { pdfAt: now, pdfBytes: Buffer.isBuffer(msg.payload) ? msg.payload.length : undefined });
          break;
        case 'docs.linked':
          if (d) Object.assign(track(d.model, d.id), { uploaded: now, uploadStatus: msg.nextcloud?.status });
          break;
        case 'docs.result':
          if (d) Object.assign(track(d.model, d.id), { done: now, chatter: d.chatter });
          break;
        case 'docs.failed':
          if (d) track(d.model, d.id).failures.push(String(msg.errorInfo?.code ?? msg.error?.message));
          break;
        default:
      }
    });

    const t0 = performance.now();
    await seedOdoo({ client: odoo, nodeRedUrl: rt.url });
    process.stdout.write(`seed re-run (rules → ${rt.url}): ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
    const sharesBefore = await sharesCount();
    const dlqDepths = async () => Promise.all(QUEUES.map(async (q) => (await broker!.queueDepth(`${q}.dlq`))?.messages ?? 0));

    // Raw baseline: a web session for the report route, opened once (not timed).
    const login = await fetch(`${O.url}/web/session/authenticate`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', method: 'call', params: { db: O.db, login: O.login, password: O.password } }),
    });
    const session = /session_id=([^;]+)/.exec(login.headers.get('set-cookie') ?? '')?.[1];
    if (!session) throw new Error('the baseline could not open an Odoo web session');
    const uid = await odoo.login();
    const mk = await nc('MKCOL', scratch);
    if (mk.status !== 201) throw new Error(`MKCOL ${scratch} answered ${mk.status}`);
    scratchMade = true;
    const rawParts: Record<string, number[]> = { 'report PDF': [], PUT: [], write: [] };
    const rawStore = async (id: number, values: Record<string, unknown>): Promise<number> => {
      const t = performance.now();
      const pdf = await fetch(`${O.url}/report/pdf/account.report_invoice/${id}`, { headers: { Cookie: `session_id=${session}` } });
      const bytes = Buffer.from(await pdf.arrayBuffer());
      if (pdf.status !== 200 || bytes.subarray(0, 5).toString('latin1') !== '%PDF-') throw new Error(`baseline report of ${id}: HTTP ${pdf.status}`);
      const t1 = performance.now();
      rawParts['report PDF'].push(t1 - t);
      const put = await nc('PUT', `${scratch}/INV_${id}.pdf`, { body: bytes, headers: { 'Content-Type': 'application/pdf', 'X-NC-WebDAV-Auto-Mkcol': '1' } });
      if (put.status !== 201 && put.status !== 204) throw new Error(`baseline PUT answered ${put.status}`);
      const t2 = performance.now();
      rawParts.PUT.push(t2 - t1);
      const w = await fetch(`${O.url}/jsonrpc`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({
          jsonrpc: '2.0',
          method: 'call',
          id: 1,
          params: { service: 'object', method: 'execute_kw', args: [O.db, uid, O.password, 'account.move', 'write', [[id], values]] },
        }),
      });
      const body = (await w.json()) as { error?: unknown };
      if (body.error) throw new Error(`baseline write: ${JSON.stringify(body.error).slice(0, 200)}`);
      rawParts.write.push(performance.now() - t2);
      return performance.now() - t;
    };

    const stamp = Date.now().toString(36);
    const newPatients = async (n: number, label: string): Promise<number[]> =>
      odoo.create(
        'res.partner',
        Array.from({ length: n }, (_, i) => ({
          name: `Bench documentos ${stamp} ${label} ${i + 1}`,
          x_is_patient: true,
          ref: `BENCH-DOC-${stamp}-${label}-${i + 1}`,
        })),
      ) as Promise<number[]>;
    const drafts = async (partners: number[], n: number): Promise<number[]> =>
      odoo.create(
        'account.move',
        Array.from({ length: n }, (_, i) => ({
          move_type: 'out_invoice',
          partner_id: partners[i % partners.length],
          invoice_date: new Date().toISOString().slice(0, 10),
          invoice_line_ids: [[0, 0, { name: `Consulta ${stamp} ${i + 1}`, quantity: 1, price_unit: 60 + i }]],
        })),
      ) as Promise<number[]>;
    const waitDone = async (ids: number[]): Promise<boolean> => {
      const end = Date.now() + TIMEOUT_MS;
      while (Date.now() < end) {
        if (ids.every((id) => tracks.get(`account.move-${id}`)?.done !== undefined)) return true;
        await sleep(5);
      }
      return false;
    };

    /** Every invoice: path on the record, the file once with the PDF's size, ONE note naming it, not sent, published and consumed once. */
    const verify = async (ids: number[], what: string): Promise<void> => {
      const recs = (await odoo.read('account.move', ids, ['name', 'partner_id', 'x_nextcloud_path', 'x_nextcloud_url', 'is_move_sent'])) as Row[];
      const msgs = (await odoo.searchRead('mail.message', {
        domain: [
          ['model', '=', 'account.move'],
          ['res_id', 'in', ids],
          ['body', 'ilike', 'Documentos_Clinicos'],
        ],
        fields: ['res_id', 'body'],
      })) as Row[];
      const folders = new Map<string, Map<string, number>>();
      let bad = 0;
      for (const r of recs) {
        const t = tracks.get(`account.move-${r.id}`);
        const p = r.x_nextcloud_path ? String(r.x_nextcloud_path) : '';
        const problemsOf: string[] = [];
        if (!p || !r.x_nextcloud_url) problemsOf.push('no path/link on the record');
        if (r.is_move_sent) problemsOf.push('is_move_sent is true');
        if (t?.publishes !== 1) problemsOf.push(`published ${t?.publishes ?? 0} times (${t?.sources.join(',')})`);
        if (t?.consumed !== 1) problemsOf.push(`consumed ${t?.consumed ?? 0} times`);
        if (t?.failures.length) problemsOf.push(`failures ${t.failures.join(',')}`);
        const notes = msgs.filter((m) => m.res_id === r.id && p && String(m.body).includes(p)).length;
        if (notes !== 1) problemsOf.push(`${notes} notes`);
        if (p) {
          const folder = path.posix.dirname(p);
          if (!folders.has(folder)) folders.set(folder, await listFolder(folder));
          const files = folders.get(folder)!;
          const name = path.posix.basename(p);
          const stem = name.replace(/\.pdf$/, '');
          if (files.get(name) !== t?.pdfBytes) problemsOf.push(`Nextcloud has ${files.get(name)} bytes, Odoo gave ${t?.pdfBytes}`);
          const copies = [...files.keys()].filter((f) => f === name || f.startsWith(`${stem} (`));
          if (copies.length !== 1) problemsOf.push(`${copies.length} files (${copies.join(', ')})`);
        }
        if (problemsOf.length) {
          bad += 1;
          if (bad <= 5) fail(`${what}: invoice ${r.id} (${String(r.name)}): ${problemsOf.join('; ')}`);
        }
      }
      if (bad > 5) fail(`${what}: … ${bad} invoices in all`);
      const dlq = await dlqDepths();
      if (dlq.some((n) => n)) fail(`${what}: dead letters ${QUEUES.map((q, i) => `${q}.dlq=${dlq[i]}`).join(' ')}`);
      process.stdout.write(
        `  checked ${ids.length}: ${bad ? `${bad} wrong` : "each stored once with the PDF's size, path and link on the record, ONE note, published and consumed once, is_move_sent false"}; dead letters ${dlq.join('/')}\n`,
      );
    };

    // ----------------------------------------------------------------------- 1. one invoice at a time
    process.stdout.write(`\n1. one posted invoice at a time (${SINGLE}, sequential)\n`);
    const [single] = await newPatients(1, 'uno');
    const singleIds: number[] = [];
    const flowMs: number[] = [];
    const postMs: number[] = [];
    const rawMs: number[] = [];
    const stages: Record<string, number[]> = {
      'webhook in': [],
      'committed, read, published': [],
      consumed: [],
      'report PDF': [],
      uploaded: [],
      'write + note': [],
    };
    for (let i = 0; i < SINGLE; i++) {
      const [id] = await drafts([single], 1);
      singleIds.push(id);
      const start = performance.now();
      await odoo.call('account.move', 'action_post', [[id]]);
      const posted = performance.now();
      postMs.push(posted - start);
      if (!(await waitDone([id]))) {
        fail(`invoice ${id} not stored within ${TIMEOUT_MS / 1000} s (${JSON.stringify(tracks.get(`account.move-${id}`))})`);
        continue;
      }
      const t = tracks.get(`account.move-${id}`)!;
      flowMs.push(t.done! - posted);
      stages['webhook in'].push((t.webhook ?? posted) - posted);
      stages['committed, read, published'].push(t.published! - posted);
      stages.consumed.push(t.consumedAt! - t.published!);
      stages['report PDF'].push(t.pdfAt! - t.consumedAt!);
      stages.uploaded.push(t.uploaded! - t.pdfAt!);
      stages['write + note'].push(t.done! - t.uploaded!);
      const [rec] = (await odoo.read('account.move', [id], ['x_nextcloud_path', 'x_nextcloud_url'])) as Row[];
      rawMs.push(await rawStore(id, { x_nextcloud_path: rec.x_nextcloud_path, x_nextcloud_url: rec.x_nextcloud_url }));
    }
    await sleep(1500); // a late second publish or note would show
    process.stdout.write(`  posted → stored, linked, noted (${flowMs.length}/${SINGLE}): ${fmt(summarize(flowMs))}  (target < 3 s)\n`);
    const p50 = (xs: number[]) => summarize(xs).p50.toFixed(0);
    process.stdout.write(
      `    stages (p50): webhook in the flow at ${p50(stages['webhook in'])} ms (inside action_post), published at +${p50(stages['committed, read, published'])} ms; then consumed +${p50(stages.consumed)}, report PDF +${p50(stages['report PDF'])}, uploaded and linked +${p50(stages.uploaded)}, write + note +${p50(stages['write + note'])} ms\n`,
    );
    process.stdout.write(`  action_post call (the user's wait, webhook inside): ${fmt(summarize(postMs))}\n`);
    const rawS = summarize(rawMs);
    process.stdout.write(
      `  baseline raw report PDF + one WebDAV PUT + one Odoo write: ${fmt(rawS)} (report ${p50(rawParts['report PDF'])}, PUT ${p50(rawParts.PUT)}, write ${p50(rawParts.write)} ms) → flow/raw p50 ${(summarize(flowMs).p50 / rawS.p50).toFixed(1)}×\n`,
    );
    await verify(singleIds, 'one at a time');

    // ------------------------------------------------------------------------------ 2. ten at once
    for (const mode of BATCH > 0 ? (['one action_post on 10 drafts', '10 parallel action_post calls'] as const) : []) {
      process.stdout.write(`\n2. ${BATCH} invoices posted at once: ${mode}\n`);
      const partners = await newPatients(2, mode.startsWith('one') ? 'lote' : 'par');
      const ids = await drafts(partners, BATCH);
      const start = performance.now();
      if (mode.startsWith('one')) await odoo.call('account.move', 'action_post', [ids]);
      else await Promise.all(ids.map((id) => odoo.call('account.move', 'action_post', [[id]])));
      const posted = performance.now();
      const ok = await waitDone(ids);
      const done = ids.map((id) => tracks.get(`account.move-${id}`)?.done).filter((x): x is number => x !== undefined);
      if (!ok) fail(`${mode}: ${done.length}/${BATCH} stored within ${TIMEOUT_MS / 1000} s`);
      const all = Math.max(...done) - posted;
      process.stdout.write(
        `  posting took ${(posted - start).toFixed(0)} ms; all ${done.length}/${BATCH} stored, linked, noted ${(all / 1000).toFixed(2)} s after it returned (target < 15 s); each: ${fmt(summarize(done.map((d) => d - posted)))}\n`,
      );
      await sleep(1500);
      await verify(ids, mode);
    }

    // ------------------------------------------------------------------- 3. 50 new patients, first document
    if (PATIENTS > 0) {
      process.stdout.write(`\n3. ${PATIENTS} new patients, each with a first document (an invoice), posted in one action_post\n`);
      const partners = await newPatients(PATIENTS, 'nuevo');
      const ids = await drafts(partners, PATIENTS);
      const start = performance.now();
      await odoo.call('account.move', 'action_post', [ids]);
      const posted = performance.now();
      const ok = await waitDone(ids);
      const done = ids.map((id) => tracks.get(`account.move-${id}`)?.done).filter((x): x is number => x !== undefined);
      if (!ok) fail(`${PATIENTS} patients: ${done.length}/${PATIENTS} stored within ${TIMEOUT_MS / 1000} s`);
      process.stdout.write(
        `  posting took ${(posted - start).toFixed(0)} ms; all ${done.length}/${PATIENTS} stored, linked, noted ${((Math.max(...done) - posted) / 1000).toFixed(2)} s after it returned; each: ${fmt(summarize(done.map((d) => d - posted)))}\n`,
      );
      await sleep(1500);
      await verify(ids, `${PATIENTS} patients`);
      const sharesAfter = await sharesCount();
      process.stdout.write(`  shares of ${N.user}: ${sharesBefore} before, ${sharesAfter} after\n`);
      if (sharesAfter !== sharesBefore) fail(`${sharesAfter - sharesBefore} shares created`);
    }

    // ------------------------------------------------------------- 4. the same invoices again, later
    // A redelivery the consumer cannot recognise (another message id, e.g. after a restart), or a retry after the
    // upload: the chain runs again at least a second after the first run; Odoo renders the PDF anew (a real Odoo
    // stamps each rendering with its time). Nothing may change and nothing may be dead-lettered.
    const replayIds = singleIds.slice(0, Math.min(3, singleIds.length));
    if (replayIds.length) {
      process.stdout.write(`\n4. ${replayIds.length} stored invoices sent through the chain again (another message id)\n`);
      const before = (await odoo.read('account.move', replayIds, ['write_date', 'x_nextcloud_path', 'x_nextcloud_url'])) as Row[];
      const replayMs: number[] = [];
      for (const id of replayIds) {
        const t = tracks.get(`account.move-${id}`)!;
        t.done = undefined;
        const sent = performance.now();
        await broker.publish({
          exchange: 'documents_exchange',
          routingKey: 'invoice.created',
          body: { model: 'account.move', id },
          messageId: `account.move-${id}-replay`,
          correlationId: `replay-${id}`,
        });
        const end = Date.now() + 30000;
        while (Date.now() < end && t.done === undefined && !t.failures.length) await sleep(5);
        if (t.done !== undefined) replayMs.push(t.done - sent);
        else fail(`replay of invoice ${id}: ${t.failures.length ? `failed with ${t.failures.join(', ')}` : 'not finished within 30 s'}`);
        if (t.done !== undefined && (t.uploadStatus !== 'skipped' || t.chatter !== 'already'))
          fail(`replay of invoice ${id}: upload ${t.uploadStatus}, chatter ${t.chatter}`);
      }
      await sleep(2500); // a retry would have shown (1 s, 2 s)
      const after = (await odoo.read('account.move', replayIds, ['write_date', 'x_nextcloud_path', 'x_nextcloud_url'])) as Row[];
      for (const b of before) {
        const a = after.find((x) => x.id === b.id)!;
        if (JSON.stringify(a) !== JSON.stringify(b)) fail(`replay of invoice ${b.id} changed the record: ${JSON.stringify(b)} → ${JSON.stringify(a)}`);
      }
      const dlq = await dlqDepths();
      if (dlq.some((n) => n)) fail(`replays: dead letters ${QUEUES.map((q, i) => `${q}.dlq=${dlq[i]}`).join(' ')}`);
      for (const id of replayIds) {
        const notes = await odoo.searchCount('mail.message', [
          ['model', '=', 'account.move'],
          ['res_id', '=', id],
          ['body', 'ilike', String(before.find((b) => b.id === id)!.x_nextcloud_path)],
        ]);
        if (notes !== 1) fail(`replay of invoice ${id}: ${notes} notes`);
      }
      process.stdout.write(
        `  ${replayMs.length}/${replayIds.length} went through changing nothing (file kept, no write, no second note): ${replayMs.length ? fmt(summarize(replayMs)) : '-'}; dead letters ${dlq.join('/')}\n`,
      );
    }

    // ------------------------------------------------------------------------------------ summary
    const mine = [...tracks.entries()].filter(([k]) => k.startsWith('account.move-'));
    // (the replays of section 4 went past the publish node: counted as consumed, not as published)
    const webhookOutcomes = ['emitted', 'duplicate', 'superseded', 'not-committed']
      .map((o) => `${o} ${valueOf('odoo', 'trigger_webhooks', { model: 'account.move', outcome: o })}`)
      .join(', ');
    const sources = mine.flatMap(([, t]) => t.sources).reduce<Record<string, number>>((a, s) => ({ ...a, [s]: (a[s] ?? 0) + 1 }), {});
    process.stdout.write(
      `\nall ${mine.length} invoices: published ${mine.reduce((a, [, t]) => a + t.publishes, 0)} times (${Object.entries(sources)
        .map(([s, n]) => `${s} ${n}`)
        .join(', ')}), consumed ${mine.reduce((a, [, t]) => a + t.consumed, 0)} times; invoice webhooks: ${webhookOutcomes}\n`,
    );
    const warnings = problems(rt.logs).filter((l) => !/keycloak|Projects disabled|unencrypted credentials/i.test(l));
    if (warnings.length) process.stdout.write(`warnings logged (${warnings.length}), first: ${warnings.slice(0, 3).join(' | ').slice(0, 600)}\n`);
    process.stdout.write(
      `load average at the end: ${os
        .loadavg()
        .map((l) => l.toFixed(1))
        .join(' ')} (${os.cpus().length} cores)\n`,
    );
    process.stdout.write(checks.length ? `\n${checks.length} check(s) FAILED\n` : '\nevery check passed\n');
    if (checks.length) process.exitCode = 1;
  } finally {
    rt?.RED.hooks.remove('*.documentsBench');
    await rt?.stop();
    await broker?.close();
    if (scratchMade) await nc('DELETE', scratch).catch(() => undefined);
    if (real) {
      // The rules point where they pointed before this bench.
      for (const a of previousUrls) await odoo.write('ir.actions.server', a.id, { webhook_url: a.webhook_url }).catch(() => undefined);
    }
    odoo.close();
    await odooPeer?.stop();
    await ncPeer?.close();
    if (vhostMade) await run('rabbitmqctl', ['delete_vhost', vhost]).catch(() => undefined);
  }
}

main().then(
  () => process.exit(process.exitCode ?? 0),
  (err: unknown) => {
    process.stderr.write(`documents-latency failed: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
