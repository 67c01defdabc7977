/** What the tests and benches do in Odoo (a peer or a real one) as a user or an administrator would. */
import type { OdooClient } from '../../nodes/clients/odoo/client';

/** WH/Stock of the seeded warehouse (the peer's and a fresh Odoo's id). */
const STOCK_LOCATION = 8;

/** An inventory adjustment, as a user applies it (Inventory → Physical inventory → Apply): the on-hand becomes `quantity`. */
export async function applyInventory(odoo: OdooClient, productId: number, quantity: number, locationId = STOCK_LOCATION): Promise<void> {
  const context = { inventory_mode: true };
  const quant = await odoo.call<number>('stock.quant', 'create', [{ product_id: productId, location_id: locationId, inventory_quantity: quantity }], {
    context,
  });
  await odoo.call('stock.quant', 'action_apply_inventory', [[quant]], { context });
}

/** Odoo's automation rules post their webhooks to `baseUrl` from now on (their path and query are kept). */
export async function pointAutomationRulesAt(odoo: OdooClient, baseUrl: string): Promise<void> {
  const actions = await odoo.searchRead('ir.actions.server', { domain: [['state', '=', 'webhook']], fields: ['webhook_url'] });
  for (const a of actions) await odoo.write('ir.actions.server', a.id, { webhook_url: String(a.webhook_url).replace(/^https?:\/\/[^/]+/, baseUrl) });
}
