/**
 * The Farmacia dashboard in a real browser (Debian's chromium through playwright-core): the page's load time after
 * login, and N stock changes in Odoo (inventory adjustments through the Odoo peer, webhook path of tab 04a) each
 * timed from the end of Odoo's apply to the new number rendered in the page, pushed by LISTEN/NOTIFY (no reload).
 * Tabs 04a, 04b, 08a, 08b in a real Node-RED, the Keycloak and Odoo peers, real PostgreSQL and RabbitMQ.
 *
 *   npm run build && node dist/bench/dashboard-latency.js [--changes 50]
 */
import { execFileSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { OdooClient } from '../nodes/clients/odoo/client';
import { SharedDb } from '../nodes/clients/shared-db';
import { seedOdoo } from '../seeds/odoo/seed';
import { browser, login } from '../test/lib/browser';
import { shippedTabs } from '../test/lib/flows';
import { createTestDatabase, dropTestDatabase } from '../test/lib/pg';
import { applyInventory } from '../test/lib/odoo';
import { startRuntime, type Runtime } from '../test/lib/runtime';
import { KeycloakPeer } from '../peers/keycloak/keycloak-peer';
import { startOdooPeer } from '../peers/odoo';
import { option, summarize, until } from './lib/embedded';

const CHANGES = Number(option('changes', '50'));
const tabs = [
  '04a - Medical inventory - Odoo to shared database.json',
  '04b - Medical inventory - pharmacy movements to Odoo.json',
  '08a - Dashboard - Farmacia.json',
  '08b - Dashboard - Integracion.json',
];

async function main(): Promise<void> {
  const flow = shippedTabs(...tabs);
  const peer = await startOdooPeer({ version: 18 });
  const odoo = new OdooClient({ url: peer.url, db: peer.db, username: peer.admin.login, apiKey: peer.admin.apiKey });
  const keycloak = await KeycloakPeer.start();
  keycloak.allowRedirect('clinica-dashboard', 'http://127.0.0.1:*');
  const dbUrl = await createTestDatabase('clinica_bench');
  const vhost = `clinica-bench-dash-${process.pid}`;
  execFileSync('rabbitmqctl', ['add_vhost', vhost], { stdio: 'ignore' });
  execFileSync('rabbitmqctl', ['set_permissions', '-p', vhost, 'guest', '.*', '.*', '.*'], { stdio: 'ignore' });
  let rt: Runtime | undefined;
  const ctx = await browser();
  try {
    await seedOdoo({ client: odoo, nodeRedUrl: 'http://127.0.0.1:9' });
    rt = await startRuntime(flow, {
      logLevel: 'warn',
      env: {
        ODOO_URL: peer.url,
        ODOO_DB: peer.db,
        ODOO_USERNAME: peer.admin.login,
        ODOO_API_KEY: peer.admin.apiKey,
        SHARED_DB_URL: dbUrl,
        AMQP_URL: `amqp://guest:guest@127.0.0.1:5672/${encodeURIComponent(vhost)}`,
        KEYCLOAK_URL: keycloak.baseUrl,
        KEYCLOAK_REALM: 'clinica-realm',
      },
    });
    await seedOdoo({ client: odoo, nodeRedUrl: rt.url });
    const db = new SharedDb({ url: dbUrl });
    await until(async () => Number((await db.query('SELECT count(*) AS n FROM shared_medications')).rows[0].n) >= 100, 60000, 200);
    await db.close();
    const [p] = await odoo.searchRead('product.product', { domain: [['default_code', '=', 'MED-003']], fields: ['id', 'name'] });
    const [wh] = await odoo.searchRead('stock.warehouse', { fields: ['lot_stock_id'], limit: 1 });
    const location = (wh.lot_stock_id as [number, string])[0];

    const page = ctx.pages()[0] ?? (await ctx.newPage());
    await login(page, `${rt.url}/dashboard/farmacia`, 'farmacia.prueba');
    await page.getByText('Medication · Medicamento').first().waitFor({ timeout: 20000 });
    // A fresh load of the page with the session: navigation to the table rendered.
    const loads: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t = performance.now();
      await page.goto(`${rt.url}/dashboard/farmacia`);
      await page.locator('tr[data-product]').first().waitFor({ timeout: 20000 });
      loads.push(performance.now() - t);
    }
    await page.getByRole('textbox', { name: 'Filter · Filtrar' }).fill(String(p.name));
    await page.locator(`tr[data-product="${p.id}"]`).waitFor({ timeout: 20000 });

    const shown: number[] = [];
    let missed = 0;
    for (let i = 0; i < CHANGES; i++) {
      const quantity = 100 + i * 7;
      await applyInventory(odoo, p.id, quantity, location);
      const t = performance.now();
      const ok = await page
        .waitForFunction(
          ([id, qty]) => Array.from(document.querySelectorAll(`tr[data-product="${id}"] td`)).some((td) => td.textContent?.trim() === String(qty)),
          [p.id, quantity],
          { timeout: 5000, polling: 'raf' },
        )
        .then(
          () => true,
          () => false,
        );
      if (ok) shown.push(performance.now() - t);
      else missed += 1;
    }
    const l = summarize(loads);
    const s = summarize(shown);
    process.stdout.write(`Farmacia page load (session, 5 loads): p50 ${l.p50.toFixed(0)} ms, max ${l.max.toFixed(0)} ms\n`);
    process.stdout.write(
      `Odoo stock change → number rendered, no reload (${shown.length}/${CHANGES}, ${missed} missed): p50 ${s.p50.toFixed(0)} ms, p99 ${s.p99.toFixed(0)} ms, max ${s.max.toFixed(0)} ms (target p99 < 500 ms)\n`,
    );
  } finally {
    await Promise.race([ctx.close(), new Promise((r) => setTimeout(r, 5000))]);
    await Promise.race([rt?.stop(), new Promise((r) => setTimeout(r, 10000))]);
    odoo.close();
    await peer.stop();
    await keycloak.close();
    await dropTestDatabase(dbUrl).catch(() => undefined);
    execFileSync('rabbitmqctl', ['delete_vhost', vhost], { stdio: 'ignore' });
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`dashboard-latency failed: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
