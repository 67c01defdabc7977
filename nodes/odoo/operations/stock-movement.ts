/** stock_movement: a pharmacy movement applied in Odoo once (a stock.picking named by its reference). */
import { badInput } from '../../clients/common/errors';
import { applyStockMovement, type MovementType } from '../../clients/odoo/stock';
import { label } from '../types';
import { isObj, type OdooOperation } from './context';

/** The model of every stock movement, whatever the node or msg.topic names. */
export const STOCK_MOVEMENT_MODEL = 'stock.picking';

export const stockMovement: OdooOperation = async ({ node, msg, client }) => {
  const p = msg.payload;
  if (!isObj(p))
    throw badInput('odoo', `${label(node)}: a stock movement needs msg.payload {reference, product_id, type, quantity, notes}; got ${JSON.stringify(p)}`);
  const applied = await applyStockMovement(client, {
    reference: (p.reference ?? p.external_ref) as string,
    productId: (p.product_id ?? p.odoo_product_id) as number,
    type: (p.type ?? p.movement_type) as MovementType,
    quantity: p.quantity as number,
    notes: typeof p.notes === 'string' ? p.notes : undefined,
  });
  return {
    payload: applied,
    details: { id: applied.pickingId, ids: [applied.pickingId], moveId: applied.moveId, reference: applied.reference, applied: applied.applied },
  };
};
