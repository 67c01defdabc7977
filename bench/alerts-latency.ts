/**
 * How fast a low-stock crossing in Odoo reaches the people who must act on it, through the shipped flows 04a (sync,
 * webhook path) and 07a (alert fan-out): N crossings, each an inventory adjustment that takes a medication under its
 * minimum, timed from the end of Odoo's apply to
 *   - the shared-DB row (the sync alone: what the alert cannot beat),
 *   - the signed webhook received and verified by a local subscriber (standardwebhooks),
 *   - the e-mail received by a local SMTP server (smtp-server),
 *   - the Odoo To-Do recorded as delivered.
 * Between two crossings the stock goes back above the minimum (re-arm, not timed). The flows' timed polls are off, so
 * only Odoo's webhooks and the alert's NOTIFY can carry a change; the outbox sweep stays (it is the fallback path).
 *
 *   peer (default): an Odoo 18 peer in this process, seeded like the reference deployment
 *   real:           --odoo-url http://127.0.0.1:8069 [--odoo-db clinica --odoo-user admin --odoo-password admin]
 *
 * Run: npm run build && node dist/bench/alerts-latency.js [--crossings 200] [--odoo-url URL …]
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type * as net from 'node:net';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Webhook } from 'standardwebhooks';
import { OdooClient } from '../nodes/clients/odoo/client';
import { SharedDb } from '../nodes/clients/shared-db';
import { generateSecret } from '../nodes/clients/webhook';
import { seedOdoo } from '../seeds/odoo/seed';
import { createTestDatabase, dropTestDatabase } from '../test/lib/pg';
import { applyInventory } from '../test/lib/odoo';
import { startRuntime, type Runtime } from '../test/lib/runtime';
import { startOdooPeer, type OdooPeer } from '../peers/odoo';
import { MailSink } from '../peers/smtp/mail-sink';
import { option, summarize, until as untilWithin } from './lib/embedded';

const opt = option;
const CROSSINGS = Number(opt('crossings', '200'));
const TIMEOUT_MS = 15000;
const until = <T>(check: () => T | undefined | false | Promise<T | undefined | false>, ms = TIMEOUT_MS) => untilWithin(check, ms, 2);
const flowsDir = path.resolve(__dirname, '..', '..', 'flows');

function alertFlows(): object[] {
  const byId = new Map<string, Record<string, unknown>>();
  for (const file of ['04a - Medical inventory - Odoo to shared database.json', '07a - Alert fan-out (low stock).json']) {
    for (const n of JSON.parse(fs.readFileSync(path.join(flowsDir, file), 'utf8')) as Array<Record<string, unknown>>) {
      if (n.type === 'inject' && String(n.id).startsWith('inv.')) n.repeat = '';
      byId.set(String(n.id), n);
    }
  }
  return [...byId.values()];
}

const fmt = (xs: number[]) => {
  const s = summarize(xs);
  return `p50 ${s.p50.toFixed(0)} ms, p99 ${s.p99.toFixed(0)} ms, max ${s.max.toFixed(0)} ms (${xs.length})`;
};

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
  const vhost = `clinica-bench-alerts-${process.pid}`;
  execFileSync('rabbitmqctl', ['add_vhost', vhost], { stdio: 'ignore' });
  execFileSync('rabbitmqctl', ['set_permissions', '-p', vhost, 'guest', '.*', '.*', '.*'], { stdio: 'ignore' });
  const sink = await MailSink.start();
  const secret = generateSecret();
  const verifier = new Webhook(secret);
  const hooks = new Map<string, number>();
  let forged = 0;
  const subscriber = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      try {
        verifier.verify(Buffer.concat(chunks).toString('utf8'), req.headers as Record<string, string>);
        if (!hooks.has(String(req.headers['webhook-id']))) hooks.set(String(req.headers['webhook-id']), performance.now());
        res.writeHead(204).end();
      } catch {
        forged += 1;
        res.writeHead(401).end();
      }
    });
  });
  await new Promise<void>((r) => subscriber.listen(0, '127.0.0.1', () => r()));
  let rt: Runtime | undefined;
  try {
    await seedOdoo({ client: odoo, nodeRedUrl: 'http://127.0.0.1:9' });
    const env: Record<string, string> = {
      ODOO_URL: realUrl ?? peer!.url,
      ODOO_DB: odoo.db,
      ODOO_USERNAME: odoo.username,
      SHARED_DB_URL: dbUrl,
      AMQP_URL: `amqp://guest:guest@127.0.0.1:5672/${encodeURIComponent(vhost)}`,
      SMTP_HOST: '127.0.0.1',
      SMTP_PORT: String(sink.port),
      SMTP_SECURE: 'none',
      SMTP_FROM: 'bench@clinica.test',
      ALERT_EMAIL_TO: 'farmacia@clinica.test',
    };
    if (realUrl) env.ODOO_PASSWORD = opt('odoo-password', 'admin')!;
    else env.ODOO_API_KEY = peer!.admin.apiKey;
    rt = await startRuntime(alertFlows(), { env, logLevel: 'warn' });
    await seedOdoo({ client: odoo, nodeRedUrl: rt.url }); // the rules now post to this runtime
    const copied = await until(async () => Number((await db.query('SELECT count(*) AS n FROM shared_medications')).rows[0].n) >= 100, 120000);
    if (!copied) throw new Error('the initial copy did not finish within 2 minutes');
    await db.query(`INSERT INTO webhook_subscribers (url, secret, description) VALUES ($1, $2, 'bench')`, [
      `http://127.0.0.1:${(subscriber.address() as net.AddressInfo).port}/hook`,
      secret,
    ]);

    const meds = await odoo.searchRead('product.product', { domain: [['categ_id.name', '=', 'Medicamentos']], fields: ['id'], limit: 20, order: 'id' });
    const [wh] = await odoo.searchRead('stock.warehouse', { fields: ['lot_stock_id'], limit: 1 });
    const location = (wh.lot_stock_id as [number, string])[0];
    const minOf = new Map<number, number>();
    for (const r of await odoo.searchRead('stock.warehouse.orderpoint', {
      domain: [['product_id', 'in', meds.map((m) => m.id)]],
      fields: ['product_id', 'product_min_qty'],
    })) {
      minOf.set((r.product_id as [number, string])[0], Math.max(minOf.get((r.product_id as [number, string])[0]) ?? 0, Number(r.product_min_qty)));
    }
    const candidates = meds.filter((m) => (minOf.get(m.id) ?? 0) >= 5);
    if (!candidates.length) throw new Error('no medication with a reorder minimum of 5 or more');
    const count = (productId: number, quantity: number) => applyInventory(odoo, productId, quantity, location);
    // Every candidate above its minimum first.
    for (const m of candidates) await count(m.id, (minOf.get(m.id) as number) + 10);
    await until(
      async () =>
        Number(
          (
            await db.query('SELECT count(*) AS n FROM shared_medications WHERE odoo_product_id = ANY($1) AND stock_quantity >= min_stock_level', [
              candidates.map((m) => m.id),
            ])
          ).rows[0].n,
        ) === candidates.length,
      60000,
    );

    const rowMs: number[] = [];
    const webhookMs: number[] = [];
    const mailMs: number[] = [];
    const odooMs: number[] = [];
    const bothMs: number[] = [];
    let missed = 0;
    for (let i = 0; i < CROSSINGS; i++) {
      const m = candidates[i % candidates.length];
      const min = minOf.get(m.id) as number;
      const quantity = Math.max(0, min - 1 - (i % 3));
      await count(m.id, quantity);
      const t = performance.now();
      const alert = await until(async () => {
        const r = await db.query<{ id: string }>('SELECT id FROM stock_alerts WHERE odoo_product_id = $1 AND rearmed_at IS NULL', [m.id]);
        return r.rows[0] ? { id: Number(r.rows[0].id), at: performance.now() } : undefined;
      });
      if (!alert) {
        missed += 1;
        await count(m.id, min + 10);
        continue;
      }
      rowMs.push(alert.at - t);
      const key = `stock-alert-${alert.id}`;
      const hookAt = await until(() => hooks.get(key));
      const mailAt = await until(() => (sink.messages.some((x) => x.messageId === `<${key}@clinica-integration>`) ? performance.now() : undefined));
      const odooAt = await until(async () =>
        (await db.query(`SELECT 1 FROM alert_deliveries WHERE alert_id = $1 AND channel = 'odoo' AND state = 'delivered'`, [alert.id])).rows.length
          ? performance.now()
          : undefined,
      );
      if (hookAt) webhookMs.push(hookAt - t);
      if (mailAt) mailMs.push(mailAt - t);
      if (odooAt) odooMs.push(odooAt - t);
      if (hookAt && mailAt) bothMs.push(Math.max(hookAt, mailAt) - t);
      else missed += 1;
      // Back above the minimum: re-armed before the next crossing of this medication.
      await count(m.id, min + 10);
      await until(async () => (await db.query('SELECT 1 FROM stock_alerts WHERE id = $1 AND rearmed_at IS NOT NULL', [alert.id])).rows.length > 0);
    }
    process.stdout.write(
      `Odoo ${realUrl ? `real at ${realUrl}` : 'peer'}; ${CROSSINGS} crossings over ${candidates.length} medications, ${missed} missed, ${forged} forged\n`,
    );
    process.stdout.write(`  shared-DB row (sync alone):        ${fmt(rowMs)}\n`);
    process.stdout.write(`  webhook received and verified:     ${fmt(webhookMs)}\n`);
    process.stdout.write(`  e-mail received by SMTP:           ${fmt(mailMs)}\n`);
    process.stdout.write(`  webhook and e-mail both delivered: ${fmt(bothMs)}   (target p99 < 300 ms)\n`);
    process.stdout.write(`  Odoo To-Do recorded delivered:     ${fmt(odooMs)}\n`);
  } finally {
    await rt?.stop();
    odoo.close();
    await peer?.stop();
    await sink.stop();
    subscriber.closeAllConnections();
    subscriber.close();
    await db.close();
    await dropTestDatabase(dbUrl);
    execFileSync('rabbitmqctl', ['delete_vhost', vhost], { stdio: 'ignore' });
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`alerts-latency failed: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
