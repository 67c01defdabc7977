/**
 * "08a - Dashboard - Farmacia" and "08b - Dashboard - Integracion" in a real browser (Debian's chromium through
 * playwright-core) against the shipped tabs 04a, 04b, 08a, 08b in a real Node-RED, the Keycloak and Odoo peers,
 * real PostgreSQL and RabbitMQ (scratch database and vhost). Screenshots go to test-results/dashboards/.
 */
import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import type { BrowserContext } from 'playwright-core';
import { Connection } from 'rabbitmq-client';
import { OdooClient } from '../../nodes/clients/odoo/client';
import { SharedDb } from '../../nodes/clients/shared-db';
import { seedOdoo } from '../../seeds/odoo/seed';
import { AMQP_URL, uniqueName, waitFor } from '../lib/harness';
import { createTestDatabase, dropTestDatabase } from '../lib/pg';
import { applyInventory } from '../lib/odoo';
import { browser, login } from '../lib/browser';
import { shippedTabs } from '../lib/flows';
import { startRuntime, type Runtime } from '../lib/runtime';
import { KeycloakPeer } from '../../peers/keycloak/keycloak-peer';
import { startOdooPeer, type OdooPeer } from '../../peers/odoo';

const run = promisify(execFile);
const root = path.resolve(__dirname, '..', '..', '..');
const flow = shippedTabs(
  '04a - Medical inventory - Odoo to shared database.json',
  '04b - Medical inventory - pharmacy movements to Odoo.json',
  '08a - Dashboard - Farmacia.json',
  '08b - Dashboard - Integracion.json',
);
const artifacts = path.join(root, 'test-results', 'dashboards');
describe('shipped dashboards in a real browser (chromium, Keycloak and Odoo peers, real PostgreSQL and RabbitMQ)', function () {
  this.timeout(180000);
  let peer: OdooPeer;
  let keycloak: KeycloakPeer;
  let odoo: OdooClient;
  let dbUrl: string;
  let rt: Runtime;
  let ctx: BrowserContext | undefined;
  let amqp: Connection;
  const vhost = uniqueName('clinica-dash');
  let vhostCreated = false;
  const product: { id: number; min: number; name: string } = { id: 0, min: 0, name: '' };

  const onHand = async (id: number) => Number((await odoo.read('product.product', id, ['qty_available']))[0].qty_available);
  const countStock = (id: number, quantity: number) => applyInventory(odoo, id, quantity);

  before(async function () {
    fs.mkdirSync(artifacts, { recursive: true });
    peer = await startOdooPeer({ version: 18 });
    odoo = new OdooClient({ url: peer.url, db: peer.db, username: peer.admin.login, apiKey: peer.admin.apiKey, retryDelayMs: 10 });
    await seedOdoo({ client: odoo, nodeRedUrl: 'http://127.0.0.1:9' });
    const [p] = await odoo.searchRead('product.product', { domain: [['default_code', '=', 'MED-002']], fields: ['id', 'name'] });
    const [rule] = await odoo.searchRead('stock.warehouse.orderpoint', { domain: [['product_id', '=', p.id]], fields: ['product_min_qty'] });
    Object.assign(product, { id: p.id, min: Number(rule.product_min_qty), name: String(p.name) });
    keycloak = await KeycloakPeer.start();
    keycloak.allowRedirect('clinica-dashboard', 'http://127.0.0.1:*');
    dbUrl = await createTestDatabase();
    await run('rabbitmqctl', ['add_vhost', vhost]);
    vhostCreated = true;
    await run('rabbitmqctl', ['set_permissions', '-p', vhost, 'guest', '.*', '.*', '.*']);
    const amqpUrl = `${AMQP_URL}/${encodeURIComponent(vhost)}`;
    amqp = new Connection({ url: amqpUrl, connectionName: 'clinica-dashboards-test' });
    rt = await startRuntime(flow, {
      env: {
        ODOO_URL: peer.url,
        ODOO_DB: peer.db,
        ODOO_USERNAME: peer.admin.login,
        ODOO_API_KEY: peer.admin.apiKey,
        SHARED_DB_URL: dbUrl,
        AMQP_URL: amqpUrl,
        KEYCLOAK_URL: keycloak.baseUrl,
        KEYCLOAK_REALM: 'clinica-realm',
      },
    });
    await seedOdoo({ client: odoo, nodeRedUrl: rt.url });
    const db = new SharedDb({ url: dbUrl });
    await waitFor(async () => Number((await db.query('SELECT count(*) AS n FROM shared_medications')).rows[0].n) === 100, '100 medications', 30000, 200);
    await db.close();
  });

  after(async function () {
    await Promise.race([ctx?.close(), new Promise((r) => setTimeout(r, 5000))]);
    // Dashboard 2.0's socket.io keeps upgraded sockets that http.Server#close does not end: do not wait for ever.
    await Promise.race([rt?.stop(), new Promise((r) => setTimeout(r, 10000))]);
    await amqp?.close();
    odoo?.close();
    await peer?.stop();
    await keycloak?.close();
    if (dbUrl) await dropTestDatabase(dbUrl);
    if (vhostCreated) await run('rabbitmqctl', ['delete_vhost', vhost]).catch(() => undefined);
  });

  it('without a session a script gets 401, the socket is refused, a page goes to the Keycloak login', async function () {
    assert.equal((await fetch(`${rt.url}/dashboard/_setup`)).status, 401);
    assert.equal((await fetch(`${rt.url}/dashboard/socket.io/?EIO=4&transport=polling`)).status, 401);
    const res = await fetch(`${rt.url}/dashboard/farmacia`, { headers: { accept: 'text/html' }, redirect: 'manual' });
    assert.equal(res.status, 302);
    assert.match(String(res.headers.get('location')), /^\/dashboard-auth\/login\?next=/);
  });

  it('farmacia: logs in, sees the table; a stock change in Odoo turns the row low within 2 s without a reload; records a dispensation', async function () {
    ctx = await browser();
    const page = ctx.pages()[0] ?? (await ctx.newPage());
    await login(page, `${rt.url}/dashboard/farmacia`, 'farmacia.prueba');
    await page.getByText('Medication · Medicamento').first().waitFor({ timeout: 20000 });
    await page.screenshot({ path: path.join(artifacts, 'farmacia-1366x768.png'), fullPage: true });
    await page.getByRole('textbox', { name: 'Filter · Filtrar' }).fill(product.name);
    const row = page.locator(`tr[data-product="${product.id}"]`);
    await row.waitFor({ timeout: 20000 });
    assert.ok(!(await row.getAttribute('class'))?.includes('low-stock'), 'not low yet');

    const target = product.min - 1;
    const loads = await page.evaluate(() => performance.getEntriesByType('navigation').length);
    const t0 = Date.now();
    await countStock(product.id, target);
    await page.waitForFunction(
      ([id, qty]) => {
        const tr = document.querySelector(`tr[data-product="${id}"]`);
        return Boolean(tr?.classList.contains('low-stock') && Array.from(tr.querySelectorAll('td')).some((td) => td.textContent?.trim() === String(qty)));
      },
      [product.id, target],
      { timeout: 2000, polling: 'raf' },
    );
    const ms = Date.now() - t0;
    console.log(`      Odoo stock change → row low in the browser: ${ms} ms`);
    assert.equal(await page.evaluate(() => performance.getEntriesByType('navigation').length), loads, 'no reload');

    const before = await onHand(product.id);
    await page.getByRole('spinbutton', { name: /Odoo product id/ }).fill(String(product.id));
    await page.getByRole('spinbutton', { name: /Quantity/ }).fill('1');
    await page.getByRole('button', { name: 'Record · Registrar' }).click();
    const answer = page.getByText(/^[✓✗] /).first();
    await answer.waitFor({ timeout: 15000 }).catch(() => page.screenshot({ path: path.join(artifacts, 'farmacia-form-failed.png'), fullPage: true }));
    assert.match(String(await answer.textContent()), /✓ PANEL-.* out 1 applied in Odoo/);
    assert.equal(await onHand(product.id), before - 1, 'applied in Odoo once');
    await page.waitForFunction(
      ([id, qty]) => Array.from(document.querySelectorAll(`tr[data-product="${id}"] td`)).some((td) => td.textContent?.trim() === String(qty)),
      [product.id, before - 1],
      { timeout: 5000 },
    );
    await page.screenshot({ path: path.join(artifacts, 'farmacia-after-dispensation.png'), fullPage: true });
    await page.setViewportSize({ width: 390, height: 844 });
    await page.waitForTimeout(300);
    await page.screenshot({ path: path.join(artifacts, 'farmacia-phone.png'), fullPage: true });
    // Farmacia may not open the monitor.
    const denied = await page.goto(`${rt.url}/dashboard/integracion`);
    assert.equal(denied?.status(), 403);
    await page.goto(`${rt.url}/dashboard-auth/logout`);
    assert.equal((await ctx.cookies()).filter((c) => c.name === 'clinica_dashboard').length, 0, 'logged out');
    await ctx.close();
    ctx = undefined;
  });

  it('admin: Integración shows a dead letter made by the test with its reason, replays it, the DLQ is empty', async function () {
    const dlq = 'invoice_queue.dlq';
    await waitFor(
      async () =>
        (await amqp.queueDeclare({ queue: dlq, passive: true }).then(
          () => true,
          () => false,
        )) || undefined,
      'the DLQ',
      15000,
      200,
    );
    const ch = await amqp.acquire();
    for (const n of [1, 2]) {
      await ch.basicPublish(
        {
          routingKey: dlq,
          messageId: `dash-test-${n}`,
          correlationId: `dash-test-corr-${n}`,
          headers: { 'x-death-reason': `made by the dashboard test (${n})`, 'x-error-code': 'TEST', 'x-attempts': 3 },
        },
        Buffer.from(`{"test":${n}}`),
      );
    }
    await ch.close();
    ctx = await browser();
    const page = ctx.pages()[0] ?? (await ctx.newPage());
    await login(page, `${rt.url}/dashboard/integracion`, 'admin.clinica');
    await page.getByText('Inspect · Inspeccionar').waitFor({ timeout: 20000 });
    await page.getByRole('button', { name: 'Inspect · Inspeccionar' }).click();
    await page.getByText('made by the dashboard test (2)').waitFor({ timeout: 10000 });
    // Queue depths and consumers, every 5 s: the two dead letters of invoice_queue are counted.
    await page.waitForFunction(
      () =>
        Array.from(document.querySelectorAll('.clinica-queues tr')).some((tr) => {
          const cells = Array.from(tr.querySelectorAll('td')).map((td) => td.textContent?.trim());
          return cells[0] === 'invoice_queue' && cells[3] === '2';
        }),
      undefined,
      { timeout: 15000 },
    );
    await page.screenshot({ path: path.join(artifacts, 'integracion-1366x768.png'), fullPage: true });
    // One dead letter replayed from its row; the other stays.
    await page.locator('.clinica-dlq tr', { hasText: 'made by the dashboard test (1)' }).getByRole('button', { name: 'Replay · Reenviar' }).click();
    await page.getByText('made by the dashboard test (1)').waitFor({ state: 'detached', timeout: 10000 });
    const ch1 = await amqp.acquire();
    assert.equal((await ch1.queueDeclare({ queue: dlq, passive: true })).messageCount, 1, 'one left in the DLQ');
    await ch1.close();
    await page.getByRole('button', { name: 'Replay all · Reenviar todo' }).click();
    await page.getByText('No dead letters · Sin mensajes fallidos').waitFor({ timeout: 10000 });
    const ch2 = await amqp.acquire();
    assert.equal((await ch2.queueDeclare({ queue: dlq, passive: true })).messageCount, 0);
    assert.equal((await ch2.queueDeclare({ queue: 'invoice_queue', passive: true })).messageCount, 2, 'both back in their queue');
    await ch2.close();
    await page.setViewportSize({ width: 390, height: 844 });
    await page.waitForTimeout(300);
    await page.screenshot({ path: path.join(artifacts, 'integracion-phone.png'), fullPage: true });
    await ctx.close();
    ctx = undefined;
  });

  it('a user without the role is refused with a 403 page', async function () {
    ctx = await browser();
    const page = ctx.pages()[0] ?? (await ctx.newPage());
    await login(page, `${rt.url}/dashboard/farmacia`, 'medico.prueba');
    assert.match((await page.textContent('body')) ?? '', /403 · Not allowed/);
    const cookie = (await ctx.cookies()).find((c) => c.name === 'clinica_dashboard');
    assert.ok(cookie, 'logged in, but');
    const socket = await fetch(`${rt.url}/dashboard/socket.io/?EIO=4&transport=polling`, { headers: { cookie: `clinica_dashboard=${cookie.value}` } });
    assert.equal(socket.status, 403, 'the socket is refused server-side');
    await page.screenshot({ path: path.join(artifacts, 'refused.png') });
    await ctx.close();
    ctx = undefined;
  });
});
