/**
 * Reading 50,000 partners from Odoo page by page, and the cost of one small call.
 *
 *   raw:   the plain `xmlrpc` package doing the same keyset paging (search_read, id > last, order id)
 *   node:  clinica-odoo (search_read, every page in one message) in a real Node-RED runtime, protocol
 *          auto (JSON-RPC on Odoo ≤ 18), and again forced to XML-RPC (the pack's own XML parser)
 *   client: the pack's OdooClient alone, both protocols
 * The Odoo peer runs in a child process (its own core) with the records pre-serialised after a warm-up
 * pass, and reports its CPU time, so the peer is shown not to be the bottleneck.
 * Per call: a tiny search_read (1 record, 1 field), N times in a row, raw vs client vs node.
 *
 * Against a real Odoo: --odoo-url http://127.0.0.1:8069 [--odoo-db clinica --odoo-user admin --odoo-password admin]
 * reads the partners that server has (with --fill, first creates partners until it has --records of them);
 * the server's CPU is not measured then.
 *
 * Run: npm run build && node dist/bench/odoo-read.js [--records 50000] [--page 2000] [--runs 3] [--calls 300] [--odoo-url URL [--fill]]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as os from 'node:os';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { performance } from 'node:perf_hooks';
import { OdooClient } from '../nodes/clients/odoo/client';
import { serializeMethodCall } from '../nodes/clients/odoo/xmlrpc';
import { startEmbedded, type EmbeddedRed } from './lib/embedded';

/* eslint-disable @typescript-eslint/no-require-imports */
const xmlrpc = require('xmlrpc') as {
  createClient(o: { url: string }): { methodCall(m: string, p: unknown[], cb: (e: unknown, v: unknown) => void): void };
};
/* eslint-enable @typescript-eslint/no-require-imports */

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : NaN;
  return Number.isFinite(v) && v > 0 ? v : fallback;
}

function textArg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1] : fallback;
}

const REAL_URL = process.argv.includes('--odoo-url') ? textArg('odoo-url', '') : '';
let RECORDS = arg('records', 50000);
const PAGE = arg('page', 2000);
const RUNS = arg('runs', 3);
const CALLS = arg('calls', 300);
/** Five columns per partner: about 23 MB of XML-RPC for 50,000 records, as measured on Odoo 18. */
const FIELDS = ['name', 'email', 'phone', 'city'];

interface Peer {
  url: string;
  db: string;
  login: string;
  apiKey: string;
  cpuMs(): Promise<number>;
  stop(): Promise<void>;
}

/** A real Odoo as the target: its partners are read as they are (or topped up to RECORDS with --fill). */
async function realTarget(): Promise<Peer> {
  const target = {
    url: REAL_URL.replace(/\/+$/, ''),
    db: textArg('odoo-db', 'clinica'),
    login: textArg('odoo-user', 'admin'),
    apiKey: textArg('odoo-password', 'admin'),
  };
  const client = new OdooClient({ url: target.url, db: target.db, username: target.login, password: target.apiKey, timeoutMs: 600000 });
  try {
    let count = await client.searchCount('res.partner');
    if (process.argv.includes('--fill')) {
      for (let made = 0; count < RECORDS; made += 1) {
        const n = Math.min(1000, RECORDS - count);
        await client.create(
          'res.partner',
          Array.from({ length: n }, (_, i) => ({
            name: `Bench ${made}-${i}`,
            email: `bench${made}.${i}@clinica.example`,
            phone: `+34 600 ${String(i).padStart(6, '0')}`,
            city: i % 2 ? 'Madrid' : 'Sevilla',
          })),
        );
        count += n;
      }
    }
    RECORDS = count;
    const [first] = await client.search('res.partner', { limit: 1, order: 'id' });
    TINY_ID = first;
  } finally {
    client.close();
  }
  return { ...target, cpuMs: async () => NaN, stop: async () => undefined };
}

/** The record of the per-call measurement (id 1000 of the peer; the first partner of a real server). */
let TINY_ID = 1000;

async function startPeer(): Promise<Peer> {
  if (REAL_URL) return realTarget();
  const cli = path.resolve(__dirname, '..', 'peers', 'odoo', 'cli.js');
  const child: ChildProcess = spawn(process.execPath, [cli, '--partners', String(RECORDS)], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = readline.createInterface({ input: child.stdout! });
  const queue: Array<(line: string) => void> = [];
  lines.on('line', (line) => queue.shift()?.(line));
  const first = await new Promise<string>((resolve, reject) => {
    queue.push(resolve);
    child.once('exit', (code) => reject(new Error(`Odoo peer exited with ${code}`)));
  });
  const info = JSON.parse(first) as { url: string; db: string; login: string; apiKey: string };
  return {
    ...info,
    cpuMs: () =>
      new Promise<number>((resolve) => {
        queue.push((line) => resolve((JSON.parse(line) as { cpuMs: number }).cpuMs));
        child.stdin!.write('cpu\n');
      }),
    stop: () =>
      new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.stdin!.write('quit\n');
      }),
  };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const round = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d;

function call(client: ReturnType<typeof xmlrpc.createClient>, method: string, params: unknown[]): Promise<unknown> {
  return new Promise((resolve, reject) => client.methodCall(method, params, (err, value) => (err ? reject(err) : resolve(value))));
}

/** The baseline: what a hand-written script with the `xmlrpc` package does. */
async function rawXmlrpc(peer: Peer): Promise<number> {
  const common = xmlrpc.createClient({ url: `${peer.url}/xmlrpc/2/common` });
  const object = xmlrpc.createClient({ url: `${peer.url}/xmlrpc/2/object` });
  const uid = await call(common, 'authenticate', [peer.db, peer.login, peer.apiKey, {}]);
  let last = 0;
  let total = 0;
  for (;;) {
    const page = (await call(object, 'execute_kw', [
      peer.db,
      uid,
      peer.apiKey,
      'res.partner',
      'search_read',
      [[['id', '>', last]]],
      { fields: FIELDS, order: 'id', limit: PAGE },
    ])) as Array<{ id: number }>;
    total += page.length;
    if (page.length) last = page[page.length - 1].id;
    if (page.length < PAGE) return total;
  }
}

async function clientRead(peer: Peer, protocol: 'jsonrpc' | 'xmlrpc'): Promise<number> {
  const client = new OdooClient({ url: peer.url, db: peer.db, username: peer.login, apiKey: peer.apiKey, protocol, timeoutMs: 600000 });
  try {
    const all = await client.searchReadAll('res.partner', { fields: FIELDS, pageSize: PAGE });
    return all.length;
  } finally {
    client.close();
  }
}

/** The bytes of every page of one protocol (measured once, outside the timings). */
async function wireBytes(peer: Peer, protocol: 'jsonrpc' | 'xmlrpc'): Promise<number> {
  let last = 0;
  let bytes = 0;
  for (;;) {
    const args = [peer.db, 2, peer.apiKey, 'res.partner', 'search_read', [[['id', '>', last]]], { fields: FIELDS, order: 'id', limit: PAGE }];
    const res =
      protocol === 'xmlrpc'
        ? await fetch(`${peer.url}/xmlrpc/2/object`, { method: 'POST', body: serializeMethodCall('execute_kw', args) })
        : await fetch(`${peer.url}/jsonrpc`, {
            method: 'POST',
            headers: { 'Content-Type': 'application/json' },
            body: JSON.stringify({ jsonrpc: '2.0', method: 'call', id: 1, params: { service: 'object', method: 'execute_kw', args } }),
          });
    const body = Buffer.from(await res.arrayBuffer());
    bytes += body.length;
    const count =
      protocol === 'xmlrpc' ? (body.toString().match(/<name>id<\/name>/g) ?? []).length : (JSON.parse(body.toString()) as { result: unknown[] }).result.length;
    const ids =
      protocol === 'xmlrpc'
        ? [...body.toString().matchAll(/<name>id<\/name>\n<value><int>(\d+)<\/int>/g)].map((m) => Number(m[1]))
        : (JSON.parse(body.toString()) as { result: Array<{ id: number }> }).result.map((r) => r.id);
    if (ids.length) last = ids[ids.length - 1];
    if (count < PAGE) return bytes;
  }
}

async function nodeRed(peer: Peer, protocol: 'auto' | 'xmlrpc'): Promise<EmbeddedRed> {
  return startEmbedded(
    [
      { id: 'tab', type: 'tab', label: 'bench' },
      { id: 'cfg', type: 'clinica-odoo-config', url: peer.url, db: peer.db, username: peer.login, protocol, timeout: 120, retries: 0, concurrency: 4 },
      {
        id: 'readAll',
        type: 'clinica-odoo',
        z: 'tab',
        config: 'cfg',
        operation: 'search_read',
        model: 'res.partner',
        domain: '[]',
        fields: FIELDS.join(','),
        paging: 'all',
        pageSize: PAGE,
        wires: [['sink']],
      },
      {
        id: 'readOne',
        type: 'clinica-odoo',
        z: 'tab',
        config: 'cfg',
        operation: 'search_read',
        model: 'res.partner',
        domain: `[["id", "=", ${TINY_ID}]]`,
        fields: 'name',
        limit: 1,
        paging: 'none',
        wires: [['sink']],
      },
      { id: 'sink', type: 'function', z: 'tab', func: 'return null;', outputs: 1, wires: [[]] },
      { id: 'errors', type: 'catch', z: 'tab', scope: null, uncaught: false, wires: [['errsink']] },
      { id: 'errsink', type: 'function', z: 'tab', func: 'return null;', outputs: 1, wires: [[]] },
    ],
    { cfg: REAL_URL ? { password: peer.apiKey } : { apiKey: peer.apiKey } },
  );
}

/** Sends one message into `nodeId` and resolves with what reaches the sink. */
function through(red: EmbeddedRed, nodeId: string): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const sink = red.getNode('sink');
    const errsink = red.getNode('errsink');
    const node = red.getNode(nodeId);
    const cleanup = () => {
      sink.removeListener('input', onInput);
      errsink.removeListener('input', onError);
    };
    const onInput = (msg: Record<string, unknown>) => {
      cleanup();
      resolve(msg);
    };
    const onError = (msg: { error?: { message?: string } }) => {
      cleanup();
      reject(new Error(`${nodeId}: ${msg.error?.message ?? 'failed'}`));
    };
    sink.on('input', onInput);
    errsink.on('input', onError);
    node.receive({ payload: 'go' });
  });
}

async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const t0 = performance.now();
  const value = await fn();
  return { ms: performance.now() - t0, value };
}

export async function run(): Promise<Record<string, unknown>> {
  const peer = await startPeer();
  const reds: EmbeddedRed[] = [];
  try {
    // Warm-up: fills the peer's serialisation cache for both protocols and JIT-compiles both sides.
    await rawXmlrpc(peer);
    await clientRead(peer, 'jsonrpc');
    const xmlBytes = await wireBytes(peer, 'xmlrpc');
    const jsonBytes = await wireBytes(peer, 'jsonrpc');

    const results: Record<string, { ms: number[]; peerCpuMs: number[]; records: number }> = {};
    const measure = async (name: string, fn: () => Promise<number>) => {
      const r = (results[name] ??= { ms: [], peerCpuMs: [], records: 0 });
      const cpu0 = await peer.cpuMs();
      const { ms, value } = await timed(fn);
      r.peerCpuMs.push((await peer.cpuMs()) - cpu0);
      r.ms.push(ms);
      r.records = value;
    };
    const autoRed = await nodeRed(peer, 'auto');
    reds.push(autoRed);
    await through(autoRed, 'readAll'); // warm
    // Alternate the paths run by run so drift in machine load hits them alike.
    for (let i = 0; i < RUNS; i++) {
      await measure('raw xmlrpc package', () => rawXmlrpc(peer));
      await measure('node (auto → JSON-RPC)', async () => ((await through(autoRed, 'readAll')).payload as unknown[]).length);
      await measure('client JSON-RPC', () => clientRead(peer, 'jsonrpc'));
      await measure('client XML-RPC (own parser)', () => clientRead(peer, 'xmlrpc'));
    }
    await autoRed.stop();
    reds.length = 0;
    const xmlRed = await nodeRed(peer, 'xmlrpc');
    reds.push(xmlRed);
    await through(xmlRed, 'readAll');
    for (let i = 0; i < RUNS; i++) {
      await measure('node (forced XML-RPC)', async () => ((await through(xmlRed, 'readAll')).payload as unknown[]).length);
    }
    await xmlRed.stop();
    reds.length = 0;

    // Per call: a tiny search_read, sequentially.
    const perCall: Record<string, number> = {};
    const common = xmlrpc.createClient({ url: `${peer.url}/xmlrpc/2/common` });
    const object = xmlrpc.createClient({ url: `${peer.url}/xmlrpc/2/object` });
    const uid = await call(common, 'authenticate', [peer.db, peer.login, peer.apiKey, {}]);
    const tinyRaw = () =>
      call(object, 'execute_kw', [peer.db, uid, peer.apiKey, 'res.partner', 'search_read', [[['id', '=', TINY_ID]]], { fields: ['name'], limit: 1 }]);
    const client = new OdooClient({ url: peer.url, db: peer.db, username: peer.login, apiKey: peer.apiKey });
    const red = await nodeRed(peer, 'auto');
    reds.push(red);
    const loop = async (fn: () => Promise<unknown>) => {
      for (let i = 0; i < 20; i++) await fn();
      const { ms } = await timed(async () => {
        for (let i = 0; i < CALLS; i++) await fn();
      });
      return ms / CALLS;
    };
    const tinyJson = async () => {
      const res = await fetch(`${peer.url}/jsonrpc`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({
          jsonrpc: '2.0',
          method: 'call',
          id: 1,
          params: {
            service: 'object',
            method: 'execute_kw',
            args: [peer.db, uid, peer.apiKey, 'res.partner', 'search_read', [[['id', '=', TINY_ID]]], { fields: ['name'], limit: 1 }],
          },
        }),
      });
      return res.json();
    };
    perCall['raw xmlrpc package'] = await loop(tinyRaw);
    perCall['raw JSON-RPC (fetch)'] = await loop(tinyJson);
    perCall['client (JSON-RPC)'] = await loop(() => client.searchRead('res.partner', { domain: [['id', '=', TINY_ID]], fields: ['name'], limit: 1 }));
    perCall['node (JSON-RPC)'] = await loop(() => through(red, 'readOne'));
    client.close();

    const table = Object.entries(results).map(([name, r]) => {
      const ms = median(r.ms);
      const bytes = name.includes('XML') || name.startsWith('raw') ? xmlBytes : jsonBytes;
      return {
        name,
        records: r.records,
        wallS: round(ms / 1000, 2),
        recordsPerS: Math.round(r.records / (ms / 1000)),
        mb: round(bytes / 1048576, 1),
        peerCpuS: round(median(r.peerCpuMs) / 1000, 2),
        runsMs: r.ms.map((x) => Math.round(x)),
      };
    });
    const rawMs = median(results['raw xmlrpc package'].ms);
    const nodeMs = median(results['node (auto → JSON-RPC)'].ms);
    const summary = {
      bench: 'odoo-read',
      target: REAL_URL ? `real Odoo at ${REAL_URL}` : 'peer',
      records: RECORDS,
      pageSize: PAGE,
      runs: RUNS,
      cpus: os.cpus().length,
      loadAverage: os.loadavg().map((l) => round(l, 2)),
      node: process.version,
      table,
      speedupNodeVsRaw: round(rawMs / nodeMs, 2),
      perCallMs: Object.fromEntries(Object.entries(perCall).map(([k, v]) => [k, round(v, 3)])),
      nodeOverheadPerCallMs: round(perCall['node (JSON-RPC)'] - perCall['raw xmlrpc package'], 3),
      nodeOverheadVsRawJsonMs: round(perCall['node (JSON-RPC)'] - perCall['raw JSON-RPC (fetch)'], 3),
      nodeRedOverheadVsClientMs: round(perCall['node (JSON-RPC)'] - perCall['client (JSON-RPC)'], 3),
      targets: { speedup: 2, wallS: 10 },
    };
    process.stdout.write(
      `Reading ${RECORDS} res.partner, ${PAGE} per page, median of ${RUNS} runs (${REAL_URL ? `real Odoo at ${REAL_URL}` : 'peer in its own process'}):\n`,
    );
    for (const r of table) {
      process.stdout.write(
        `  ${r.name.padEnd(30)} ${String(r.wallS).padStart(6)} s  ${String(r.recordsPerS).padStart(7)} records/s  ${String(r.mb).padStart(5)} MB on the wire  ${Number.isNaN(r.peerCpuS) ? '' : `peer CPU ${r.peerCpuS} s`}\n`,
      );
    }
    process.stdout.write(`Node vs raw xmlrpc: ${summary.speedupNodeVsRaw}× faster (target ≥ 2×, and < 10 s)\n`);
    process.stdout.write(
      `Per call (tiny search_read, ${CALLS} in a row): ${Object.entries(summary.perCallMs)
        .map(([k, v]) => `${k} ${v} ms`)
        .join(
          ', ',
        )}; node minus raw xmlrpc ${summary.nodeOverheadPerCallMs} ms, minus raw JSON-RPC ${summary.nodeOverheadVsRawJsonMs} ms, minus the client alone ${summary.nodeRedOverheadVsClientMs} ms\n`,
    );
    process.stdout.write(`${JSON.stringify(summary)}\n`);
    return summary;
  } finally {
    for (const r of reds) await r.stop().catch(() => undefined);
    await peer.stop();
  }
}

if (require.main === module) {
  run().then(
    () => process.exit(0),
    (err: unknown) => {
      process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
      process.exit(1);
    },
  );
}
