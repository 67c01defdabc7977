/**
 * Stock movements applied once (nodes/clients/odoo/stock.ts), against the Odoo peer's transfers: the
 * reference is the transfer's origin, so retries, replays, lost answers and duplicate drafts change the
 * stock once; the same reference for another movement is a conflict.
 */
import * as assert from 'node:assert/strict';
import { applyStockMovement, findAppliedMovement, type StockMovement } from '../../nodes/clients/odoo/stock';
import type { OdooClient } from '../../nodes/clients/odoo/client';
import { startOdooPeer, type OdooPeer } from '../../peers/odoo';
import { clientFor } from './helpers';

describe('odoo stock movements (applied once, keyed on the transfer origin)', function () {
  let peer: OdooPeer;
  let client: OdooClient;
  let product: number;
  let n = 0;
  const ref = () => `PH-${process.pid}-${++n}`;
  const onHand = async () => (await client.read('product.product', [product], ['qty_available']))[0].qty_available as number;

  before(async () => {
    peer = await startOdooPeer();
    client = clientFor(peer);
    await client.call('ir.module.module', 'button_immediate_install', [await client.search('ir.module.module', { domain: [['name', '=', 'stock']] })]);
    product = await client.create('product.product', { name: 'Ibuprofeno 600', type: 'consu', is_storable: true });
  });
  after(async () => {
    client.close();
    await peer.stop();
  });

  it('applies in, out and signed adjustments through the right locations', async () => {
    const start = await onHand();
    const cases: Array<[StockMovement['type'], number, number]> = [
      ['in', 10, 10],
      ['out', 3, -3],
      ['adjustment', -1.5, -1.5],
      ['adjustment', 2, 2],
    ];
    for (const [type, quantity, delta] of cases) {
      const before = await onHand();
      const r = await applyStockMovement(client, { reference: ref(), productId: product, type, quantity });
      assert.equal(r.applied, true);
      assert.equal(await onHand(), before + delta, `${type} ${quantity}`);
      const [pick] = await client.read('stock.picking', [r.pickingId], ['state', 'origin', 'name']);
      assert.deepEqual([pick.state, pick.origin], ['done', r.reference]);
      const locs = (await client.read('stock.location', [r.locationId, r.locationDestId], ['usage'])).map((l) => l.usage);
      const want = {
        in: ['supplier', 'internal'],
        out: ['internal', 'customer'],
        adjustment: quantity > 0 ? ['inventory', 'internal'] : ['internal', 'inventory'],
      }[type];
      assert.deepEqual(locs, want, `${type} ${quantity} locations`);
    }
    assert.equal(await onHand(), start + 7.5);
  });

  it('changes the stock once when the same movement is sent five times', async () => {
    const mv = { reference: ref(), productId: product, type: 'out' as const, quantity: 2 };
    const before = await onHand();
    const results = [];
    for (let i = 0; i < 5; i++) results.push(await applyStockMovement(client, mv));
    assert.deepEqual(
      results.map((r) => r.applied),
      [true, false, false, false, false],
    );
    assert.equal(new Set(results.map((r) => r.moveId)).size, 1);
    assert.equal(await onHand(), before - 2);
    assert.equal((await client.search('stock.move', { domain: [['origin', '=', mv.reference]] })).length, 1);
    assert.equal((await findAppliedMovement(client, mv))?.moveId, results[0].moveId);
  });

  it('recovers when an answer is lost after Odoo committed: creation, validation, and five concurrent retries', async () => {
    for (const method of ['create', 'button_validate']) {
      const mv = { reference: ref(), productId: product, type: 'in' as const, quantity: 4 };
      const before = await onHand();
      peer.failNext({ kind: 'reset-after-commit', method, model: 'stock.picking' });
      const first = await applyStockMovement(client, mv).catch((e: { code: string }) => e);
      // A lost creation is looked up at once; a lost validation leaves the caller with ODOO_OUTCOME_UNKNOWN.
      if (method === 'button_validate') assert.equal((first as { code: string }).code, 'ODOO_OUTCOME_UNKNOWN');
      const retries = await Promise.all(Array.from({ length: 5 }, () => applyStockMovement(client, mv).catch((e: Error) => e)));
      const ok = retries.filter((r) => !(r instanceof Error));
      assert.ok(ok.length >= 1, `at least one retry answers (${retries.map((r) => (r instanceof Error ? r.message : 'ok')).join(' | ')})`);
      assert.equal(await onHand(), before + 4, `lost answer of ${method}: the stock changed once`);
      const pickings = await client.searchRead('stock.picking', { domain: [['origin', '=', mv.reference]], fields: ['state'] });
      assert.equal(pickings.filter((p) => p.state === 'done').length, 1);
    }
  });

  it('cancels a second draft transfer of the same reference instead of moving the stock twice', async () => {
    const reference = ref();
    const vals = {
      picking_type_id: 1,
      origin: reference,
      move_ids: [[0, 0, { name: reference, origin: reference, product_id: product, product_uom_qty: 3, location_id: 4, location_dest_id: 8 }]],
    };
    const a = await client.create('stock.picking', vals);
    const b = await client.create('stock.picking', vals);
    const before = await onHand();
    const r = await applyStockMovement(client, { reference, productId: product, type: 'in', quantity: 3 });
    assert.equal(r.pickingId, a);
    assert.equal(await onHand(), before + 3);
    assert.equal((await client.read('stock.picking', [b], ['state']))[0].state, 'cancel');
  });

  it('refuses the same reference for another movement, and bad input before any call', async () => {
    const reference = ref();
    await applyStockMovement(client, { reference, productId: product, type: 'in', quantity: 1 });
    await assert.rejects(
      applyStockMovement(client, { reference, productId: product, type: 'in', quantity: 2 }),
      (e: { code: string; message: string }) => e.code === 'ODOO_MOVEMENT_CONFLICT' && /another movement/.test(e.message),
    );
    const calls = peer.calls.length;
    for (const bad of [
      { reference: ' PH 1', quantity: 1 },
      { reference: 'PH-x', quantity: 0 },
      { reference: 'PH-y', quantity: -1 },
    ]) {
      await assert.rejects(applyStockMovement(client, { productId: product, type: 'out', ...bad }), (e: { code: string }) => e.code === 'BAD_INPUT');
    }
    assert.equal(peer.calls.length, calls, 'nothing sent');
  });
});
