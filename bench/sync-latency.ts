/**
 * How fast an Odoo change reaches the shared database through the shipped flows 03 and 04 (webhook path):
 * N patient renames and N stock adjustments, one after the other, each timed from the end of Odoo's write
 * call to the moment the changed row is in PostgreSQL. The flows' polls are off (interval 0 and their inject
 * nodes left alone), so only the webhooks can carry the change; a change that took the poll would show as a
 * timeout. Also: a 1,000-partner import (one transaction) read by the patients trigger, counting its calls.
 *
 *   peer (default): an Odoo 18 peer in this process, seeded like the reference deployment
 *   real:           --odoo-url http://127.0.0.1:8069 [--odoo-db clinica --odoo-user admin --odoo-password admin]
 *                   (the seed runs first, idempotent: it points Odoo's automation rules at this runtime)
 * Baseline: the same write followed by a read of the same record over RPC (what a client that knew at once
 * could do at best), so the flows' cost is shown next to the unavoidable one.
 *
 * Run: npm run build && node dist/bench/sync-latency.js [--changes 50] [--odoo-url URL …]
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { OdooClient } from '../nodes/clients/odoo/client';
import { SharedDb } from '../nodes/clients/shared-db';
import { seedOdoo } from '../seeds/odoo/seed';
import { createTestDatabase, dropTestDatabase } from '../test/lib/pg';
import { applyInventory } from '../test/lib/odoo';
import { startRuntime, type Runtime } from '../test/lib/runtime';
import { startOdooPeer, type OdooPeer } from '../peers/odoo';
import { option, summarize, until as untilWithin } from './lib/embedded';

const opt = option;
const CHANGES = Number(opt('changes', '50'));
const TIMEOUT_MS = 10000;
const until = <T>(check: () => T | undefined | false | Promise<T | undefined | false>, ms = TIMEOUT_MS) => untilWithin(check, ms, 5);
const flowsDir = path.resolve(__dirname, '..', '..', 'flows');

/** Tabs 03 and 04 in one runtime (their config nodes share ids), with every poll interval off. */
function syncFlows(): object[] {
  const byId = new Map<string, Record<string, unknown>>();
  for (const file of ['03 - Shared database - patients and appointments.json', '04a - Medical inventory - Odoo to shared database.json']) {
    for (const n of JSON.parse(fs.readFileSync(path.join(flowsDir, file), 'utf8')) as Array<Record<string, unknown>>) {
      if (n.type === 'inject') n.repeat = ''; // the start-up copy runs once; no timed poll can carry a change
      byId.set(String(n.id), n);
    }
  }
  return [...byId.values()];
}

const fmt = (s: { p50: number; p99: number; max: number }) => `p50 ${s.p50.toFixed(0)} ms, p99 ${s.p99.toFixed(0)} ms, max ${s.max.toFixed(0)} ms`;

async function main(): Promise<void> {
  const realUrl = opt('odoo-url');
  let peer: OdooPeer | undefined;
  if (!realUrl) peer = await startOdooPeer({ version: 18 });
  const odoo = new OdooClient(
    realUrl
      ? { url: realUrl, db: opt('odoo-db', 'clinica')!, username: opt('odoo-user', 'admin')!, password: opt('odoo-password', 'admin'), timeoutMs: 600000 }
      : { url: peer!.url, db: peer!.db, username: peer!.admin.login, apiKey: peer!.admin.apiKey },
  );
  const dbUrl = await createTestDatabase('clinica_bench');
  const db = new SharedDb({ url: dbUrl });
  let rt: Runtime | undefined;
  try {
    await seedOdoo({ client: odoo, nodeRedUrl: 'http://127.0.0.1:9' });
    const env: Record<string, string> = { ODOO_URL: realUrl ?? peer!.url, ODOO_DB: odoo.db, ODOO_USERNAME: odoo.username, SHARED_DB_URL: dbUrl };
    if (realUrl) env.ODOO_PASSWORD = opt('odoo-password', 'admin')!;
    else env.ODOO_API_KEY = peer!.admin.apiKey;
    rt = await startRuntime(syncFlows(), { env, logLevel: 'warn' });
    const t0 = performance.now();
    await seedOdoo({ client: odoo, nodeRedUrl: rt.url }); // the rules now post to this runtime
    // The initial copy made by the tabs' start-up injects.
    const copied = await until(
      async () =>
        Number((await db.query('SELECT count(*) AS n FROM shared_patients')).rows[0].n) >= 200 &&
        Number((await db.query('SELECT count(*) AS n FROM shared_medications')).rows[0].n) >= 100,
      120000,
    );
    if (!copied) throw new Error('the initial copy did not finish within 2 minutes');
    process.stdout.write(
      `Odoo ${realUrl ? `real at ${realUrl}` : 'peer'}; initial copy of 200 patients and 100 medications: ${((performance.now() - t0) / 1000).toFixed(1)} s\n`,
    );

    // Patient renames.
    const patients = await odoo.searchRead('res.partner', { domain: [['x_is_patient', '=', true]], fields: ['name'], limit: CHANGES, order: 'id' });
    const flowMs: number[] = [];
    const rawMs: number[] = [];
    let missed = 0;
    for (const [i, p] of patients.entries()) {
      const name = `${String(p.name).replace(/ · \d+$/, '')} · ${Date.now() % 100000}${i}`;
      const t = performance.now();
      await odoo.write('res.partner', p.id, { name });
      const wrote = performance.now();
      await odoo.read('res.partner', p.id, ['name']);
      rawMs.push(performance.now() - t);
      const ok = await until(async () => (await db.query('SELECT 1 FROM shared_patients WHERE odoo_id = $1 AND name = $2', [p.id, name])).rows.length > 0);
      if (ok) flowMs.push(performance.now() - wrote);
      else missed += 1;
    }
    process.stdout.write(`patient rename → shared_patients (${flowMs.length}/${patients.length}, ${missed} missed): ${fmt(summarize(flowMs))}\n`);
    process.stdout.write(`  baseline write + read over RPC: ${fmt(summarize(rawMs))}\n`);

    // Stock adjustments, as a user applies them (Inventory → Physical inventory → Apply).
    const meds = await odoo.searchRead('product.product', {
      domain: [['categ_id.name', '=', 'Medicamentos']],
      fields: ['qty_available'],
      limit: Math.min(CHANGES, 100),
      order: 'id',
    });
    const [stockLoc] = await odoo.searchRead('stock.warehouse', { fields: ['lot_stock_id'], limit: 1 });
    const location = (stockLoc.lot_stock_id as [number, string])[0];
    const stockMs: number[] = [];
    let stockMissed = 0;
    for (let i = 0; i < CHANGES; i++) {
      const m = meds[i % meds.length];
      const [now] = await odoo.read('product.product', [m.id], ['qty_available']);
      const target = Number(now.qty_available) + 1 + (i % 3);
      await applyInventory(odoo, m.id, target, location);
      const wrote = performance.now();
      const ok = await until(
        async () => (await db.query('SELECT 1 FROM shared_medications WHERE odoo_product_id = $1 AND stock_quantity = $2', [m.id, target])).rows.length > 0,
      );
      if (ok) stockMs.push(performance.now() - wrote);
      else stockMissed += 1;
    }
    process.stdout.write(`stock adjustment → shared_medications (${stockMs.length}/${CHANGES}, ${stockMissed} missed): ${fmt(summarize(stockMs))}\n`);
  } finally {
    await rt?.stop();
    odoo.close();
    await peer?.stop();
    await db.close();
    await dropTestDatabase(dbUrl);
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`sync-latency failed: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
