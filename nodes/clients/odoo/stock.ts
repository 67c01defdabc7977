/**
 * A stock movement applied in Odoo exactly once, whatever is retried: a transfer (stock.picking) whose
 * `origin` — Odoo's "Source Document", a plain field stored and returned as written — is the caller's own
 * reference. Every run first looks the reference up, and only the step that is still missing is done:
 *
 *   1. no transfer with that origin yet → create it (draft, one move of the product and quantity);
 *   2. not done → confirm it, set the move's quantity as picked, validate it (button_validate);
 *   3. done → nothing; the answer is the same as the first time.
 *
 * Validating is the only step with an effect on stock, and Odoo does it once per transfer: a retry after a
 * lost answer, a 500 or a crash finds the transfer done. Should a lost answer of step 1 ever leave two
 * transfers with one reference, the later ones are cancelled before anything is validated (a draft
 * transfer moves nothing), so the stock still changes once. An inventory adjustment (stock.quant) cannot be
 * keyed that way: Odoo 18 names its move "<reference> (<user>)" and keeps no field of ours.
 *
 *   in          vendors → warehouse stock       (Receipts operation type)
 *   out         warehouse stock → customers     (Delivery Orders operation type)
 *   adjustment  inventory adjustment ⇄ stock    (signed quantity; Receipts when positive, Delivery when negative)
 */
import { IntegrationError, badInput } from '../common/errors';
import type { OdooClient, OdooRecord } from './client';

export type MovementType = 'in' | 'out' | 'adjustment';

export interface StockMovement {
  /** The caller's own reference of this movement: the idempotency key, stored as the transfer's origin. */
  reference: string;
  productId: number;
  type: MovementType;
  /** > 0 for in/out; signed, not 0, for an adjustment. */
  quantity: number;
  /** A note kept on the transfer. */
  notes?: string | null;
}

export interface AppliedMovement {
  reference: string;
  pickingId: number;
  pickingName: string;
  moveId: number;
  productId: number;
  /** The quantity moved (always positive) and its direction as Odoo's locations tell it. */
  quantity: number;
  locationId: number;
  locationDestId: number;
  /** false when an earlier run had already applied it (a retry or a replay). */
  applied: boolean;
  dateDone?: string;
}

/** The references a transfer's origin may carry: letters, digits and . _ / - (no spaces: nothing to trim). */
export const MOVEMENT_REFERENCE = /^[A-Za-z0-9][A-Za-z0-9._/-]{0,99}$/;

interface Picking extends OdooRecord {
  name: string;
  state: string;
  origin: string | false;
  move_ids: number[];
  location_id: [number, string] | false;
  location_dest_id: [number, string] | false;
  date_done?: string | false;
}

interface Move extends OdooRecord {
  product_id: [number, string] | false;
  product_uom_qty: number;
  quantity: number;
  state: string;
  location_id: [number, string] | false;
  location_dest_id: [number, string] | false;
}

const PICKING_FIELDS = ['name', 'state', 'origin', 'move_ids', 'location_id', 'location_dest_id', 'date_done'];
const MOVE_FIELDS = ['product_id', 'product_uom_qty', 'quantity', 'state', 'location_id', 'location_dest_id'];
const idOf = (v: unknown): number | undefined => (Array.isArray(v) && typeof v[0] === 'number' ? v[0] : typeof v === 'number' ? v : undefined);
const round3 = (n: number) => Math.round(n * 1000) / 1000;

function stockError(code: string, message: string, details: Record<string, unknown>, retryable = false): IntegrationError {
  return new IntegrationError(message, { code, system: 'odoo', retryable, details });
}

/** Checks a movement before anything is sent; returns it with the quantity rounded to Odoo's 3 decimals. */
function checkMovement(mv: StockMovement): StockMovement {
  const problems: string[] = [];
  if (typeof mv.reference !== 'string' || !MOVEMENT_REFERENCE.test(mv.reference))
    problems.push(`reference ${JSON.stringify(mv.reference)} must be 1 to 100 letters, digits or . _ / - (no spaces)`);
  if (!Number.isInteger(mv.productId) || mv.productId <= 0) problems.push(`product id ${JSON.stringify(mv.productId)} must be a positive whole number`);
  if (!['in', 'out', 'adjustment'].includes(mv.type)) problems.push(`type ${JSON.stringify(mv.type)} must be in, out or adjustment`);
  const quantity = typeof mv.quantity === 'number' && Number.isFinite(mv.quantity) ? round3(mv.quantity) : NaN;
  if (Number.isNaN(quantity) || quantity === 0 || Math.abs(quantity) > 1e9)
    problems.push(`quantity ${JSON.stringify(mv.quantity)} must be a number other than 0 (at most 3 decimals)`);
  else if (mv.type !== 'adjustment' && quantity < 0) problems.push('quantity must be positive for in and out (an adjustment takes a signed quantity)');
  if (problems.length) throw badInput('odoo', `Stock movement ${String(mv.reference)}: ${problems.join('; ')}`, { problems });
  return { ...mv, quantity };
}

/** Where a movement goes: operation type and locations, read from the warehouse's own settings. */
async function route(client: OdooClient, mv: StockMovement): Promise<{ pickingTypeId: number; from: number; to: number }> {
  // Odoo's own order for warehouses (sequence, id): the first is the main one.
  const [warehouse] = await client.searchRead('stock.warehouse', { fields: ['lot_stock_id'], limit: 1 });
  const stock = idOf(warehouse?.lot_stock_id);
  if (!warehouse || !stock)
    throw stockError('ODOO_NO_WAREHOUSE', 'Odoo has no warehouse with a stock location: install Inventory (stock) and create a warehouse', {});
  const incoming = mv.type === 'in' || (mv.type === 'adjustment' && mv.quantity > 0);
  const code = incoming ? 'incoming' : 'outgoing';
  const [type] = await client.searchRead('stock.picking.type', {
    domain: [
      ['code', '=', code],
      ['warehouse_id', '=', warehouse.id],
    ],
    fields: ['default_location_src_id', 'default_location_dest_id'],
    order: 'sequence, id',
    limit: 1,
  });
  if (!type) {
    throw stockError(
      'ODOO_NO_OPERATION_TYPE',
      `Odoo's warehouse ${warehouse.id} has no ${incoming ? 'Receipts' : 'Delivery Orders'} operation type (stock.picking.type with code ${code}); restore it in Inventory → Configuration → Operation Types`,
      { warehouseId: warehouse.id, code },
    );
  }
  let partner: number | undefined;
  if (mv.type === 'adjustment') {
    const [product] = await client.read('product.product', [mv.productId], ['property_stock_inventory']);
    if (!product)
      throw stockError('ODOO_MISSING_RECORD', `Odoo product.product ${mv.productId} does not exist; check the medication's id`, {
        model: 'product.product',
        id: mv.productId,
      });
    partner = idOf(product.property_stock_inventory);
    if (!partner)
      throw stockError('ODOO_NO_WAREHOUSE', `product.product ${mv.productId} has no inventory adjustment location (property_stock_inventory)`, {
        productId: mv.productId,
      });
  } else {
    partner = idOf(incoming ? type.default_location_src_id : type.default_location_dest_id);
    if (!partner)
      throw stockError(
        'ODOO_NO_OPERATION_TYPE',
        `Odoo's ${incoming ? 'Receipts' : 'Delivery Orders'} operation type has no default ${incoming ? 'source (vendors)' : 'destination (customers)'} location`,
        { pickingTypeId: type.id },
      );
  }
  return { pickingTypeId: type.id, from: incoming ? partner : stock, to: incoming ? stock : partner };
}

async function pickingsOf(client: OdooClient, reference: string): Promise<Picking[]> {
  return client.searchRead<Picking>('stock.picking', { domain: [['origin', '=', reference]], fields: PICKING_FIELDS, order: 'id asc' });
}

/** The transfer's one move, checked against what the caller asks: the same reference for another movement is a conflict. */
async function checkedMove(client: OdooClient, picking: Picking, mv: StockMovement): Promise<Move> {
  const moves = picking.move_ids.length ? await client.read<Move>('stock.move', picking.move_ids, MOVE_FIELDS) : [];
  const [move] = moves;
  const qty = Math.abs(mv.quantity);
  if (moves.length !== 1 || idOf(move.product_id) !== mv.productId || Math.abs(move.product_uom_qty - qty) > 0.0005) {
    const what = moves.map((m) => `${m.product_uom_qty} of product ${String(idOf(m.product_id))}`).join(', ') || 'no move';
    throw stockError(
      'ODOO_MOVEMENT_CONFLICT',
      `Odoo transfer ${picking.name} already carries reference ${mv.reference} for another movement (${what}); use a new reference for this one`,
      { reference: mv.reference, pickingId: picking.id },
    );
  }
  return move;
}

function result(picking: Picking, move: Move, mv: StockMovement, applied: boolean): AppliedMovement {
  return {
    reference: mv.reference,
    pickingId: picking.id,
    pickingName: picking.name,
    moveId: move.id,
    productId: mv.productId,
    quantity: Math.abs(mv.quantity),
    locationId: idOf(move.location_id) ?? 0,
    locationDestId: idOf(move.location_dest_id) ?? 0,
    applied,
    dateDone: typeof picking.date_done === 'string' ? picking.date_done : undefined,
  };
}

/** The transfer that counts for a reference: a done one if any, else the oldest; the others are cancelled. */
async function oneTransfer(client: OdooClient, found: Picking[]): Promise<Picking | undefined> {
  const live = found.filter((p) => p.state !== 'cancel');
  if (!live.length) return undefined;
  const keep = live.find((p) => p.state === 'done') ?? live[0];
  const extra = live.filter((p) => p !== keep);
  if (extra.some((p) => p.state === 'done')) {
    throw stockError(
      'ODOO_MOVEMENT_CONFLICT',
      `Odoo has several done transfers with reference ${String(keep.origin)} (${live
        .filter((p) => p.state === 'done')
        .map((p) => p.name)
        .join(', ')}); an operator must check them`,
      { pickingIds: live.map((p) => p.id) },
    );
  }
  if (extra.length) await client.call('stock.picking', 'action_cancel', [extra.map((p) => p.id)]);
  return keep;
}

/**
 * Applies a movement in Odoo once (see the module comment). Safe to call again with the same movement at
 * any time, also concurrently with a run that lost its answer: the stock changes once.
 */
export async function applyStockMovement(client: OdooClient, movement: StockMovement): Promise<AppliedMovement> {
  const mv = checkMovement(movement);
  let picking = await oneTransfer(client, await pickingsOf(client, mv.reference));
  if (picking?.state === 'done') return result(picking, await checkedMove(client, picking, mv), mv, false);
  if (!picking) {
    const r = await route(client, mv);
    const qty = Math.abs(mv.quantity);
    const moveVals = { name: mv.reference, origin: mv.reference, product_id: mv.productId, product_uom_qty: qty, location_id: r.from, location_dest_id: r.to };
    let id: number | undefined;
    try {
      id = await client.create('stock.picking', {
        picking_type_id: r.pickingTypeId,
        location_id: r.from,
        location_dest_id: r.to,
        origin: mv.reference,
        ...(mv.notes ? { note: mv.notes } : {}),
        move_ids: [[0, 0, moveVals]],
      });
    } catch (err) {
      // The answer was lost: the transfer may exist. Look again; two drafts are resolved by oneTransfer.
      if ((err as IntegrationError).code !== 'ODOO_OUTCOME_UNKNOWN') throw err;
    }
    picking = await oneTransfer(client, await pickingsOf(client, mv.reference));
    if (!picking) {
      throw stockError(
        'ODOO_OUTCOME_UNKNOWN',
        `Odoo did not answer the creation of the transfer for ${mv.reference} and none is there yet; it is safe to apply the movement again`,
        { reference: mv.reference, createdId: id },
        true,
      );
    }
  }
  const move = await checkedMove(client, picking, mv);
  if (picking.state === 'draft') await client.call('stock.picking', 'action_confirm', [[picking.id]]);
  await client.write('stock.move', move.id, { quantity: Math.abs(mv.quantity), picked: true });
  const outcome = await client.call<unknown>('stock.picking', 'button_validate', [[picking.id]]);
  const [after] = await client.read<Picking>('stock.picking', [picking.id], PICKING_FIELDS);
  if (!after || after.state !== 'done') {
    const wizard = outcome && typeof outcome === 'object' ? ` (Odoo asked for ${String((outcome as { res_model?: unknown }).res_model ?? 'a wizard')})` : '';
    throw stockError(
      'ODOO_MOVEMENT_NOT_DONE',
      `Odoo did not validate transfer ${picking.name} for ${mv.reference}${wizard}; it is ${after?.state ?? 'gone'}. Check it in Inventory → Transfers`,
      { reference: mv.reference, pickingId: picking.id, state: after?.state },
    );
  }
  return result(after, move, mv, true);
}

/** The transfer of a reference when it is done (for a caller that only wants to know). */
export async function findAppliedMovement(client: OdooClient, movement: StockMovement): Promise<AppliedMovement | undefined> {
  const mv = checkMovement(movement);
  const done = (await pickingsOf(client, mv.reference)).find((p) => p.state === 'done');
  return done ? result(done, await checkedMove(client, done, mv), mv, false) : undefined;
}
