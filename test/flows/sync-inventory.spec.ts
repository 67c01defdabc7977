/**
 * "04a - Medical inventory - Odoo to shared database" and "04b - … pharmacy movements to Odoo": the shipped tabs in a real Node-RED, against the Odoo peer seeded
 * like the reference deployment (its automation rules post to this Node-RED), the Keycloak peer and the real
 * PostgreSQL.
 */
import { strict as assert } from 'node:assert';
import { OdooClient } from '../../nodes/clients/odoo/client';
import { SharedDb } from '../../nodes/clients/shared-db';
import { seedOdoo } from '../../seeds/odoo/seed';
import { waitFor } from '../lib/harness';
import { createTestDatabase, dropTestDatabase } from '../lib/pg';
import { shippedTabs } from '../lib/flows';
import { applyInventory } from '../lib/odoo';
import { startRuntime, type Runtime } from '../lib/runtime';
import { KeycloakPeer } from '../../peers/keycloak/keycloak-peer';
import { userToken } from '../../peers/keycloak/user-token';
import { startOdooPeer, type OdooPeer } from '../../peers/odoo';

/** Both tabs in one runtime; their config nodes are the same (one id each). */
const flow = shippedTabs('04a - Medical inventory - Odoo to shared database.json', '04b - Medical inventory - pharmacy movements to Odoo.json');

type Row = Record<string, unknown>;
interface Seen {
  id: string;
  payload: unknown;
  odoo?: Row;
}

/** A copy of a message part taken when the hook fires (later nodes change the message). */
const copy = (v: unknown) => (v === undefined ? undefined : JSON.parse(JSON.stringify(v)));

describe('shipped flow: shared database, medical inventory (Odoo and Keycloak peers, real PostgreSQL)', function () {
  this.timeout(60000);
  let peer: OdooPeer;
  let keycloak: KeycloakPeer;
  let odoo: OdooClient;
  let dbUrl: string;
  let db: SharedDb;
  let rt: Runtime;
  const completed: Seen[] = [];
  const sent: Seen[] = [];
  const tokens: Record<string, string> = {};
  const products: Record<string, { id: number; min: number; max: number; tmpl: number }> = {};

  const med = async (productId: number) =>
    (
      await db.query(
        `SELECT name, category, stock_quantity::float AS qty, min_stock_level::float AS min,
    max_stock_level::float AS max, unit_price::float AS price, active, sync_status FROM shared_medications WHERE odoo_product_id = $1`,
        [productId],
      )
    ).rows[0];
  const alerted = async (productId: number) => (await db.query('SELECT 1 FROM low_stock_alerts WHERE odoo_product_id = $1', [productId])).rows.length === 1;
  const onHand = async (productId: number) => Number((await odoo.read('product.product', productId, ['qty_available']))[0].qty_available);
  /** An inventory adjustment in Odoo, as a user applies it (Inventory → Physical inventory → Apply). */
  const countStock = (productId: number, quantity: number) => applyInventory(odoo, productId, quantity);
  const post = (body: unknown, token?: string, headers: Record<string, string> = {}, route = '/api/pharmacy/movements') =>
    fetch(`${rt.url}${route}`, {
      method: 'POST',
      headers: {
        'Content-Type': typeof body === 'string' ? 'text/plain' : 'application/json',
        ...(token ? { Authorization: `Bearer ${token}` } : {}),
        ...headers,
      },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
  const movementsOf = async (ref: string) =>
    (
      await db.query(
        `SELECT external_ref, source, movement_type, quantity::float AS quantity, odoo_move_id, sync_status
    FROM shared_stock_movements WHERE external_ref = $1 OR odoo_move_id IN (SELECT odoo_move_id FROM shared_stock_movements WHERE external_ref = $1)`,
        [ref],
      )
    ).rows;
  const odooMoves = async (ref: string) =>
    odoo.searchRead('stock.move', {
      domain: [
        ['origin', '=', ref],
        ['state', '=', 'done'],
      ],
      fields: ['quantity', 'state', 'location_id', 'location_dest_id'],
    });
  const rowCount = async () => Number((await db.query('SELECT count(*) AS n FROM shared_stock_movements')).rows[0].n);
  const fire = async (injectId: string) => assert.equal((await fetch(`${rt.url}/admin/inject/${injectId}`, { method: 'POST' })).status, 200);
  const completion = (id: string, from: number, what = `${id} to finish a message`) =>
    waitFor(() => completed.slice(from).find((c) => c.id === id), what, 20000) as Promise<Seen>;

  before(async function () {
    peer = await startOdooPeer({ version: 18 });
    odoo = new OdooClient({ url: peer.url, db: peer.db, username: peer.admin.login, apiKey: peer.admin.apiKey, retryDelayMs: 10 });
    await seedOdoo({ client: odoo, nodeRedUrl: 'http://127.0.0.1:9' });
    for (const code of ['MED-001', 'MED-002', 'MED-003', 'MED-004', 'MED-005']) {
      const [p] = await odoo.searchRead('product.product', { domain: [['default_code', '=', code]], fields: ['product_tmpl_id'] });
      const [rule] = await odoo.searchRead('stock.warehouse.orderpoint', {
        domain: [['product_id', '=', p.id]],
        fields: ['product_min_qty', 'product_max_qty'],
      });
      products[code] = { id: p.id, tmpl: (p.product_tmpl_id as [number, string])[0], min: Number(rule.product_min_qty), max: Number(rule.product_max_qty) };
    }
    keycloak = await KeycloakPeer.start();
    for (const u of ['farmacia.prueba', 'medico.prueba', 'admin.clinica']) tokens[u] = (await userToken(keycloak, u)).access_token;
    dbUrl = await createTestDatabase();
    db = new SharedDb({ url: dbUrl });
    rt = await startRuntime(flow, {
      env: {
        ODOO_URL: peer.url,
        ODOO_DB: peer.db,
        ODOO_USERNAME: peer.admin.login,
        ODOO_API_KEY: peer.admin.apiKey,
        SHARED_DB_URL: dbUrl,
        KEYCLOAK_URL: keycloak.baseUrl,
        KEYCLOAK_REALM: 'clinica-realm',
      },
    });
    rt.RED.hooks.add('onComplete.syncInventoryTest', (ev: { msg: Row; node: { id: string } }) => {
      completed.push({ id: ev.node.id, payload: copy(ev.msg.payload), odoo: copy(ev.msg.odoo) });
    });
    rt.RED.hooks.add('onSend.syncInventoryTest', (events: Array<{ source: { id: string }; msg: Row }>) => {
      for (const e of events) if (e.source.id.startsWith('inv.trigger.')) sent.push({ id: e.source.id, payload: copy(e.msg.payload), odoo: copy(e.msg.odoo) });
    });
    await seedOdoo({ client: odoo, nodeRedUrl: rt.url });
  });

  after(async function () {
    rt?.RED.hooks.remove('*.syncInventoryTest');
    await rt?.stop();
    odoo?.close();
    await peer?.stop();
    await keycloak?.close();
    await db?.close();
    if (dbUrl) await dropTestDatabase(dbUrl);
  });

  it('copies every medication with its reorder rule at start; low_stock_alerts lists the ten under their minimum', async function () {
    await waitFor(async () => Number((await db.query('SELECT count(*) AS n FROM shared_medications')).rows[0].n) === 100, '100 medications', 30000, 200);
    const p = products['MED-002'];
    const [odooProduct] = await odoo.read('product.product', p.id, ['name', 'qty_available', 'list_price']);
    assert.deepEqual(await med(p.id), {
      name: odooProduct.name,
      category: 'Medicamentos',
      qty: odooProduct.qty_available,
      min: p.min,
      max: p.max,
      price: odooProduct.list_price,
      active: true,
      sync_status: 'synced',
    });
    // The view is refreshed right after the upsert that filled the table: wait for that refresh.
    await waitFor(async () => (await db.query('SELECT 1 FROM low_stock_alerts')).rows.length === 10, 'low_stock_alerts refreshed', 20000, 100);
    const { rows: alerts } = await db.query('SELECT odoo_product_id FROM low_stock_alerts ORDER BY odoo_product_id');
    const under = await odoo.searchRead('stock.warehouse.orderpoint', { fields: ['product_id', 'product_min_qty', 'qty_on_hand'] });
    assert.deepEqual(
      alerts.map((a) => a.odoo_product_id),
      under
        .filter((o) => Number(o.qty_on_hand) < Number(o.product_min_qty))
        .map((o) => (o.product_id as [number, string])[0])
        .sort((a, b) => a - b),
    );
    assert.equal(alerts.length, 10);
    // The seed's initial stock: one inventory adjustment into stock per medication.
    await waitFor(
      async () =>
        Number((await db.query(`SELECT count(*) AS n FROM shared_stock_movements WHERE movement_type = 'adjustment' AND source = 'odoo'`)).rows[0].n) === 100,
      'the initial moves',
      20000,
      200,
    );
  });

  it('a stock change in Odoo reaches shared_medications and low_stock_alerts through the webhook; restocked, it leaves the view', async function () {
    const p = products['MED-002'];
    assert.equal(await alerted(p.id), false);
    const from = sent.length;
    const hooks = peer.webhooks.length;
    await countStock(p.id, p.min - 1);
    const stockHooks = peer.webhooks.slice(hooks).filter((w) => w.url.endsWith('/odoo/webhook/stock'));
    assert.ok(stockHooks.length >= 1 && stockHooks.every((w) => w.status === 200), 'Odoo got its answer at once');
    await waitFor(async () => (await med(p.id)).qty === p.min - 1 && alerted(p.id), 'the medication under its minimum in low_stock_alerts');
    const quantMessages = sent.slice(from).filter((s) => s.id === 'inv.trigger.quants');
    assert.ok(quantMessages.length >= 1 && quantMessages.every((s) => s.odoo?.source === 'webhook'), 'the webhook brought it, not a poll');
    // Odoo's move is a movement too: an adjustment out of stock, signed.
    const {
      rows: [move],
    } = await db.query(
      `SELECT movement_type, quantity::float AS quantity FROM shared_stock_movements
      WHERE odoo_product_id = $1 AND source = 'odoo' ORDER BY odoo_move_id DESC LIMIT 1`,
      [p.id],
    );
    assert.equal(move.movement_type, 'adjustment');
    assert.ok(Number(move.quantity) < 0);
    await countStock(p.id, p.max);
    await waitFor(async () => (await med(p.id)).qty === p.max && !(await alerted(p.id)), 'the restocked medication out of low_stock_alerts');
  });

  it('a price or name change reaches the shared copy through the medication webhook; a reorder rule through polling', async function () {
    const p = products['MED-003'];
    await odoo.write('product.template', p.tmpl, { list_price: 12.34 });
    await waitFor(async () => (await med(p.id)).price === 12.34, 'the new price');
    const [rule] = await odoo.searchRead('stock.warehouse.orderpoint', { domain: [['product_id', '=', p.id]], fields: ['id'] });
    await odoo.write('stock.warehouse.orderpoint', rule.id, { product_min_qty: 5000, product_max_qty: 9000 });
    await fire('inv.poll.medications');
    await waitFor(async () => (await med(p.id)).min === 5000 && alerted(p.id), 'the raised minimum puts it in low_stock_alerts');
  });

  it("a pharmacy movement lands in Odoo once and in shared_stock_movements once, also after the sync sees Odoo's move", async function () {
    const p = products['MED-004'];
    await waitFor(async () => (await med(p.id)).qty === (await onHand(p.id)), 'the medication in sync');
    const before = await onHand(p.id);
    const res = await post(
      { external_ref: 'FARM-2025-0001', odoo_product_id: p.id, movement_type: 'out', quantity: 3, notes: 'Dispensado a planta 2' },
      tokens['farmacia.prueba'],
      { 'X-Correlation-Id': 'farm-1' },
    );
    assert.equal(res.status, 201);
    assert.equal(res.headers.get('x-correlation-id'), 'farm-1');
    const { data } = (await res.json()) as { data: Row };
    assert.deepEqual(
      [data.external_ref, data.movement_type, data.quantity, data.sync_status, data.notes],
      ['FARM-2025-0001', 'out', 3, 'synced', 'Dispensado a planta 2'],
    );
    const moves = await odooMoves('FARM-2025-0001');
    assert.equal(moves.length, 1, 'one move in Odoo');
    assert.equal(data.odoo_move_id, moves[0].id);
    assert.deepEqual([moves[0].quantity, moves[0].state], [3, 'done']);
    assert.equal(await onHand(p.id), before - 3, 'Odoo applied it once');
    // Odoo's stock comes back through the webhook; its move through the moves sync, onto the same row.
    await waitFor(async () => (await med(p.id)).qty === before - 3, 'the shared stock following Odoo');
    const from = completed.length;
    await fire('inv.poll.moves');
    await completion('inv.record.poll', from, 'a moves poll after the movement');
    await waitFor(
      () => completed.some((c) => c.id === 'inv.upsert.pharmacy' && JSON.stringify(c.payload).includes('FARM-2025-0001')),
      "the sync to match Odoo's move",
    );
    assert.deepEqual(await movementsOf('FARM-2025-0001'), [
      { external_ref: 'FARM-2025-0001', source: 'pharmacy', movement_type: 'out', quantity: 3, odoo_move_id: moves[0].id, sync_status: 'synced' },
    ]);
    // The same request again: answered as before, Odoo untouched.
    const again = await post(
      { external_ref: 'FARM-2025-0001', odoo_product_id: p.id, movement_type: 'out', quantity: 3, notes: 'Dispensado a planta 2' },
      tokens['farmacia.prueba'],
    );
    assert.equal(again.status, 200);
    assert.equal(((await again.json()) as { replayed: boolean }).replayed, true);
    assert.equal((await odooMoves('FARM-2025-0001')).length, 1);
    assert.equal(await onHand(p.id), before - 3);
    // An entry by an admin, signed adjustment.
    const adj = await post({ external_ref: 'FARM-2025-0002', odoo_product_id: p.id, movement_type: 'adjustment', quantity: -1.5 }, tokens['admin.clinica']);
    assert.equal(adj.status, 201);
    assert.equal(await onHand(p.id), before - 4.5);
    await waitFor(async () => (await med(p.id)).qty === before - 4.5, 'the adjustment in the shared stock');
  });

  it('the same external_ref for another movement is 409 and changes nothing', async function () {
    const p = products['MED-004'];
    const rows = await rowCount();
    const stock = await onHand(p.id);
    const res = await post({ external_ref: 'FARM-2025-0001', odoo_product_id: p.id, movement_type: 'in', quantity: 50 }, tokens['farmacia.prueba']);
    assert.equal(res.status, 409);
    assert.match(((await res.json()) as { detail: string }).detail, /already used for another movement/);
    assert.equal(await rowCount(), rows);
    assert.equal(await onHand(p.id), stock);
  });

  it('bad input gets a 400 with the reason and writes nothing', async function () {
    const p = products['MED-005'];
    const rows = await rowCount();
    const stock = await onHand(p.id);
    const cases: Array<[unknown, RegExp]> = [
      // Refused by the gateway's schema (nodes/gateway/openapi.ts), naming the field …
      [{ odoo_product_id: p.id, movement_type: 'out', quantity: 1 }, /body\.external_ref is required/],
      [{ external_ref: 'FARM-BAD-1', odoo_product_id: 'x', movement_type: 'out', quantity: 1 }, /body\.odoo_product_id must be integer/],
      [{ external_ref: 'FARM-BAD-2', odoo_product_id: p.id, movement_type: 'robo', quantity: 1 }, /body\.movement_type must be one of in, out, adjustment/],
      // … or by the domain's own rules (nodes/domain/pharmacy.ts), which the schema cannot say.
      [{ external_ref: 'FARM-BAD-3', odoo_product_id: p.id, movement_type: 'out', quantity: -2 }, /quantity must be positive/],
      [{ external_ref: 'FARM-BAD-4', odoo_product_id: p.id, movement_type: 'in', quantity: 0 }, /quantity must be a number other than 0/],
      [{ external_ref: 'FARM-BAD-5', odoo_product_id: p.id, movement_type: 'in', quantity: 1, qty: 2 }, /unknown property "qty"/],
      [
        { external_ref: "x'; DROP TABLE shared_medications; --", odoo_product_id: p.id, movement_type: 'in', quantity: 1 },
        /body\.external_ref must match pattern/,
      ],
      ['not json', /must be JSON sent as Content-Type: application\/json/],
      [{ external_ref: 'FARM-BAD-6', odoo_product_id: 999999, movement_type: 'in', quantity: 1 }, /999999 is not an active medication/],
    ];
    for (const [body, reason] of cases) {
      const res = await post(body, tokens['farmacia.prueba'], { 'X-Correlation-Id': 'bad-input' });
      assert.equal(res.status, 400, JSON.stringify(body));
      const problem = (await res.json()) as { code: string; detail: string; correlationId: string };
      assert.match(String(res.headers.get('content-type')), /^application\/problem\+json/);
      assert.equal(problem.code, 'BAD_INPUT');
      assert.match(problem.detail, reason);
      assert.equal(problem.correlationId, 'bad-input');
    }
    assert.equal(await rowCount(), rows, 'nothing written');
    assert.equal(await onHand(p.id), stock, 'Odoo untouched');
    assert.equal(await odoo.searchCount('stock.move', [['origin', '=like', 'FARM-BAD-%']]), 0);
  });

  it('401 without a token, 403 without the pharmacy role', async function () {
    const body = { external_ref: 'FARM-AUTH-1', odoo_product_id: products['MED-005'].id, movement_type: 'in', quantity: 1 };
    const none = await post(body);
    assert.equal(none.status, 401);
    assert.match(String(none.headers.get('www-authenticate')), /Bearer/);
    assert.equal((await post(body, 'not-a-token')).status, 401);
    assert.equal((await post(body, tokens['medico.prueba'])).status, 403);
    assert.equal((await movementsOf('FARM-AUTH-1')).length, 0);
  });

  it('POST /api/stock-movements is the same path under its REST name: 201, 200 replayed under either name, 409, 401/403', async function () {
    const rest = '/api/stock-movements';
    const p = products['MED-005'];
    const before = await onHand(p.id);
    const body = { external_ref: 'FARM-REST-1', odoo_product_id: p.id, movement_type: 'in', quantity: 2 };
    const created = await post(body, tokens['farmacia.prueba'], { 'X-Correlation-Id': 'rest-1' }, rest);
    assert.equal(created.status, 201);
    assert.equal(created.headers.get('x-correlation-id'), 'rest-1');
    const { data } = (await created.json()) as { data: Row };
    assert.deepEqual([data.external_ref, data.movement_type, data.quantity, data.sync_status], ['FARM-REST-1', 'in', 2, 'synced']);
    assert.equal(await onHand(p.id), before + 2);
    for (const route of [rest, '/api/pharmacy/movements']) {
      const again = await post(body, tokens['admin.clinica'], {}, route);
      assert.equal(again.status, 200, route);
      assert.equal(((await again.json()) as { replayed: boolean }).replayed, true);
    }
    const other = await post({ ...body, quantity: 5 }, tokens['farmacia.prueba'], {}, rest);
    assert.equal(other.status, 409);
    const bad = await post({ ...body, external_ref: 'FARM-REST-2', movement_type: 'robo' }, tokens['farmacia.prueba'], {}, rest);
    assert.equal(bad.status, 400);
    assert.deepEqual(((await bad.json()) as { problems: string[] }).problems, ['body.movement_type must be one of in, out, adjustment']);
    assert.equal((await post(body, undefined, {}, rest)).status, 401);
    assert.equal((await post(body, tokens['medico.prueba'], {}, rest)).status, 403);
    assert.equal((await odooMoves('FARM-REST-1')).length, 1, 'one move in Odoo');
    assert.equal(await onHand(p.id), before + 2, 'Odoo applied it once');
  });

  it('Odoo away: 503 with Retry-After, and the retry with the same external_ref applies it once', async function () {
    const p = products['MED-005'];
    const body = { external_ref: 'FARM-2025-0003', odoo_product_id: p.id, movement_type: 'in', quantity: 10 };
    const stock = await onHand(p.id);
    peer.failNext({ kind: 'http503', method: 'create', model: 'stock.picking', times: 3 });
    const down = await post(body, tokens['farmacia.prueba']);
    assert.equal(down.status, 503);
    assert.equal(down.headers.get('retry-after'), '5');
    assert.equal(((await down.json()) as { code: string }).code, 'ODOO_UNAVAILABLE');
    // Marked failed beside the answer: a retry may take it over at once.
    await waitFor(async () => JSON.stringify((await movementsOf('FARM-2025-0003')).map((m) => m.sync_status)) === '["failed"]', 'the movement marked failed');
    assert.equal(await onHand(p.id), stock);
    peer.clearFailures();
    const retry = await post(body, tokens['farmacia.prueba']);
    assert.equal(retry.status, 201);
    assert.equal(await onHand(p.id), stock + 10);
    assert.equal((await odooMoves('FARM-2025-0003')).length, 1);
  });

  it("an answer lost after Odoo applied the movement: the retry finds Odoo's move and does not apply it again", async function () {
    const p = products['MED-005'];
    const body = { external_ref: 'FARM-2025-0004', odoo_product_id: p.id, movement_type: 'out', quantity: 2 };
    const stock = await onHand(p.id);
    peer.failNext({ kind: 'reset-after-commit', method: 'button_validate', model: 'stock.picking' });
    const lost = await post(body, tokens['farmacia.prueba']);
    assert.equal(lost.status, 503);
    assert.equal(((await lost.json()) as { code: string }).code, 'ODOO_OUTCOME_UNKNOWN');
    assert.equal(await onHand(p.id), stock - 2, 'Odoo did apply it');
    // Either the retry finds the move in Odoo (201), or the moves sync matched it first (200, replayed).
    const retry = await post(body, tokens['farmacia.prueba']);
    assert.ok([200, 201].includes(retry.status), String(retry.status));
    const moves = await odooMoves('FARM-2025-0004');
    assert.equal(moves.length, 1, 'applied once');
    assert.equal(await onHand(p.id), stock - 2);
    const answered = (await retry.json()) as { data: Row };
    assert.equal(
      answered.data.odoo_move_id,
      moves[0].id,
      `answer ${retry.status} ${JSON.stringify(answered)}; row ${JSON.stringify(await movementsOf('FARM-2025-0004'))}`,
    );
    await waitFor(async () => (await med(p.id)).qty === stock - 2, 'the shared stock following Odoo');
  });

  it("a movement retried five times after lost answers changes Odoo's stock once", async function () {
    const p = products['MED-003'];
    const body = { external_ref: 'FARM-2025-0005', odoo_product_id: p.id, movement_type: 'in', quantity: 5 };
    const stock = await onHand(p.id);
    peer.failNext({ kind: 'reset-after-commit', method: 'button_validate', model: 'stock.picking' });
    const statuses = [];
    for (let i = 0; i < 6; i++) statuses.push((await post(body, tokens['farmacia.prueba'])).status);
    assert.equal(statuses[0], 503, 'the first answer was lost');
    assert.ok(
      statuses.slice(1).every((s) => s === 200 || s === 201),
      statuses.join(','),
    );
    assert.equal(await onHand(p.id), stock + 5, 'once, not six times');
    assert.equal((await odooMoves('FARM-2025-0005')).length, 1);
    await waitFor(async () => (await movementsOf('FARM-2025-0005')).map((m) => m.sync_status).join() === 'synced', 'the movement synced');
  });
});
