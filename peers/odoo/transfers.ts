/**
 * Transfers in the peer's Odoo, as Odoo 18's stock module does them (stock_picking.py, stock_move.py):
 * operation types (Receipts, Delivery Orders) with their default locations, stock.picking with its moves,
 * action_confirm, action_cancel and button_validate — which skips done transfers, confirms drafts, fills a
 * move's quantity from its demand when none is set, returns the backorder wizard when a move has less than
 * its demand, and otherwise marks the moves done, updates the quants of internal locations (stock may go
 * negative) and stamps date_done. The names come from the operation type's sequence (WH/IN/00001).
 */
import { UserError, missingRecord } from './python';
import { makeModel, odooNow, type Env, type FieldDef, type FieldType, type ModelDef, type Rec, type Registry } from './store';

type F = Omit<FieldDef, 'string'> & { string?: string };
const f = (name: string, type: FieldType, extra: Partial<F> = {}): F => ({ name, type, ...extra });
const m2o = (name: string, relation: string, extra: Partial<F> = {}): F => ({ name, type: 'many2one', relation, ...extra });

const STATES: Array<[string, string]> = [
  ['draft', 'Draft'],
  ['waiting', 'Waiting Another Operation'],
  ['confirmed', 'Waiting'],
  ['assigned', 'Ready'],
  ['done', 'Done'],
  ['cancel', 'Cancelled'],
];
const STOCK = 8;
const VENDORS = 4;
const CUSTOMERS = 5;
const INVENTORY_LOSS = 14;

function addField(def: ModelDef | undefined, field: F): void {
  if (def) def.fields.set(field.name, { string: field.name.replace(/_/g, ' ').replace(/^./, (c) => c.toUpperCase()), ...field });
}

/** The models and fields; called by the stock section of the catalog. */
export function defineTransfers(reg: Registry, define: (d: ModelDef) => ModelDef): void {
  define(makeModel(
    'stock.picking.type',
    'Picking Type',
    'stock',
    [
      f('name', 'char', { required: true }),
      f('code', 'selection', {
        selection: [
          ['incoming', 'Receipt'],
          ['outgoing', 'Delivery'],
          ['internal', 'Internal Transfer'],
        ],
        required: true,
      }),
      f('sequence_code', 'char', { required: true }),
      m2o('warehouse_id', 'stock.warehouse'),
      f('sequence', 'integer'),
      m2o('default_location_src_id', 'stock.location'),
      m2o('default_location_dest_id', 'stock.location'),
      f('active', 'boolean', { default: true }),
      f('next_number', 'integer', { default: 1 }),
    ],
    { order: 'sequence, id' },
  ));
  const picking = define(
    makeModel(
      'stock.picking',
      'Transfer',
      'stock',
      [
        f('name', 'char', { default: '/' }),
        f('origin', 'char', { string: 'Source Document' }),
        f('note', 'html'),
        m2o('picking_type_id', 'stock.picking.type', { required: true }),
        m2o('location_id', 'stock.location', { required: true }),
        m2o('location_dest_id', 'stock.location', { required: true }),
        m2o('partner_id', 'res.partner'),
        f('state', 'selection', { selection: STATES, default: 'draft' }),
        f('date_done', 'datetime', { string: 'Date of Transfer' }),
        f('scheduled_date', 'datetime'),
        f('move_ids', 'one2many', { relation: 'stock.move', inverse: 'picking_id' }),
      ],
      { order: 'scheduled_date asc, id desc', mailThread: true },
    ),
  );
  const move = reg.models.get('stock.move');
  addField(move, m2o('picking_id', 'stock.picking', { string: 'Transfer' }));
  addField(move, m2o('picking_type_id', 'stock.picking.type'));
  addField(move, f('picked', 'boolean'));
  addField(
    reg.models.get('product.product'),
    m2o('property_stock_inventory', 'stock.location', { store: false, compute: () => INVENTORY_LOSS, string: 'Inventory Location' }),
  );
  addField(reg.models.get('stock.warehouse'), f('sequence', 'integer'));

  picking.hooks.beforeCreate = (env, vals) => {
    const type = env.registry.get(env, 'stock.picking.type', Number(vals.picking_type_id));
    if (!type) throw missingRecord('stock.picking.type', [Number(vals.picking_type_id)], env.uid);
    vals.location_id ??= type.default_location_src_id;
    vals.location_dest_id ??= type.default_location_dest_id;
    vals.scheduled_date ??= env.txn.now.slice(0, 19);
    if (!vals.name || vals.name === '/') {
      const n = Number(type.next_number ?? 1);
      env.registry.write(env, 'stock.picking.type', [type.id], { next_number: n + 1 });
      vals.name = `WH/${String(type.sequence_code)}/${String(n).padStart(5, '0')}`;
    }
  };
  picking.hooks.afterCreate = (env, rec) => {
    // Moves created with the transfer take its operation type and name as their reference.
    for (const id of env.registry.search(env, 'stock.move', [['picking_id', '=', rec.id]])) {
      env.registry.write(env, 'stock.move', [id], { picking_type_id: rec.picking_type_id, reference: rec.name });
    }
  };

  const movesOf = (env: Env, pickingId: number) =>
    env.registry.search(env, 'stock.move', [['picking_id', '=', pickingId]]).map((id) => env.registry.get(env, 'stock.move', id) as Rec);
  const records = (env: Env, ids: number[]) =>
    ids.map((id) => {
      const r = env.registry.get(env, 'stock.picking', id);
      if (!r) throw missingRecord('stock.picking', [id], env.uid);
      return r;
    });
  const confirm = (env: Env, rec: Rec) => {
    for (const m of movesOf(env, rec.id)) if (m.state === 'draft') env.registry.write(env, 'stock.move', [m.id], { state: 'assigned' });
    env.registry.write(env, 'stock.picking', [rec.id], { state: 'assigned' });
  };

  picking.methods.action_confirm = {
    api: 'records',
    params: [],
    fn: (env, ids) => {
      for (const rec of records(env, ids)) if (rec.state === 'draft') confirm(env, rec);
      return true;
    },
  };
  picking.methods.action_cancel = {
    api: 'records',
    params: [],
    fn: (env, ids) => {
      for (const rec of records(env, ids)) {
        if (rec.state === 'done') continue; // Odoo leaves done moves alone
        for (const m of movesOf(env, rec.id)) env.registry.write(env, 'stock.move', [m.id], { state: 'cancel' });
        env.registry.write(env, 'stock.picking', [rec.id], { state: 'cancel' });
      }
      return true;
    },
  };
  picking.methods.button_validate = {
    api: 'records',
    params: [],
    fn: (env, ids) => {
      const todo = records(env, ids).filter((r) => r.state !== 'done');
      for (const rec of todo) {
        if (rec.state === 'draft') {
          confirm(env, rec);
          for (const m of movesOf(env, rec.id)) if (!Number(m.quantity ?? 0)) env.registry.write(env, 'stock.move', [m.id], { quantity: m.product_uom_qty });
        }
        const moves = movesOf(env, rec.id).filter((m) => m.state !== 'cancel');
        if (!moves.length) throw UserError('You can’t validate an empty transfer. Please add some products to move before proceeding.');
        if (moves.every((m) => !Number(m.quantity ?? 0))) {
          throw UserError(
            'You cannot validate a transfer if no quantities are reserved nor done. You can use the info button on the line to update the quantities.',
          );
        }
        if (moves.some((m) => Number(m.quantity ?? 0) < Number(m.product_uom_qty ?? 0))) {
          return {
            name: 'Create Backorder?',
            type: 'ir.actions.act_window',
            res_model: 'stock.backorder.confirmation',
            view_mode: 'form',
            target: 'new',
            context: { button_validate_picking_ids: [rec.id] },
          };
        }
      }
      for (const rec of todo) {
        for (const m of movesOf(env, rec.id).filter((x) => x.state !== 'cancel')) {
          const qty = Number(m.quantity ?? 0);
          moveQuant(env, m.product_id as number, m.location_id as number, -qty);
          moveQuant(env, m.product_id as number, m.location_dest_id as number, qty);
          env.registry.write(env, 'stock.move', [m.id], { state: 'done', picked: true, date: env.txn.now.slice(0, 19) });
        }
        env.registry.write(env, 'stock.picking', [rec.id], { state: 'done', date_done: env.txn.now.slice(0, 19) });
      }
      return true;
    },
  };
}

/** Adds `qty` to the product's quant at an internal location (creating it), as _update_available_quantity. */
function moveQuant(env: Env, productId: number, locationId: number, qty: number): void {
  const loc = env.registry.get(env, 'stock.location', locationId);
  if (loc?.usage !== 'internal' || !qty) return;
  const [quantId] = env.registry.search(
    env,
    'stock.quant',
    [
      ['product_id', '=', productId],
      ['location_id', '=', locationId],
    ],
    { limit: 1 },
  );
  const sudo = { ...env, uid: 1 };
  if (quantId) {
    const q = env.registry.get(env, 'stock.quant', quantId) as Rec;
    env.registry.write(sudo, 'stock.quant', [quantId], { quantity: Math.round((Number(q.quantity ?? 0) + qty) * 1000) / 1000 });
  } else {
    env.registry.create(sudo, 'stock.quant', [{ product_id: productId, location_id: locationId, quantity: qty }]);
  }
}

/** The stock module's data for transfers: partner locations and the warehouse's two operation types. */
export function seedTransfers(reg: Registry): void {
  const now = odooNow(reg.clock());
  reg.insertRaw('stock.location', { id: VENDORS, name: 'Vendors', complete_name: 'Partners/Vendors', usage: 'supplier', active: true }, now);
  reg.insertRaw('stock.location', { id: CUSTOMERS, name: 'Customers', complete_name: 'Partners/Customers', usage: 'customer', active: true }, now);
  reg.insertRaw(
    'stock.picking.type',
    {
      id: 1,
      name: 'Receipts',
      code: 'incoming',
      sequence_code: 'IN',
      warehouse_id: 1,
      sequence: 1,
      default_location_src_id: VENDORS,
      default_location_dest_id: STOCK,
      active: true,
      next_number: 1,
    },
    now,
  );
  reg.insertRaw(
    'stock.picking.type',
    {
      id: 2,
      name: 'Delivery Orders',
      code: 'outgoing',
      sequence_code: 'OUT',
      warehouse_id: 1,
      sequence: 2,
      default_location_src_id: STOCK,
      default_location_dest_id: CUSTOMERS,
      active: true,
      next_number: 1,
    },
    now,
  );
}
