/** Shared by the Odoo tests: a peer plus a client bound to it, and bulk test data. */
import { OdooClient, type OdooClientOptions } from '../../nodes/clients/odoo/client';
import type { OdooPeer } from '../../peers/odoo';

export function clientFor(peer: OdooPeer, options: Partial<OdooClientOptions> = {}): OdooClient {
  return new OdooClient({ url: peer.url, db: peer.db, username: peer.admin.login, apiKey: peer.admin.apiKey, retryDelayMs: 10, ...options });
}

/** Inserts n patients (res.partner) straight into the peer; returns their ids. */
export function insertPartners(peer: OdooPeer, n: number, prefix = 'Paciente'): number[] {
  const ids: number[] = [];
  for (let i = 0; i < n; i++) {
    ids.push(
      peer.insert('res.partner', {
        name: `${prefix} ${String(i).padStart(5, '0')}`,
        email: `p${i}@clinica.example`,
        phone: `+34 600 ${String(i).padStart(6, '0')}`,
        city: i % 2 ? 'Madrid' : 'Sevilla',
        country_id: 68,
        active: true,
        type: 'contact',
        customer_rank: i % 5,
      }),
    );
  }
  return ids;
}

/** A posted customer invoice for a new partner; returns the move id. */
export async function postedInvoice(client: OdooClient, partnerName = 'Paciente Factura', email: string | false = 'factura@clinica.example'): Promise<number> {
  const partnerId = await client.create('res.partner', { name: partnerName, email });
  const moveId = await client.create('account.move', {
    move_type: 'out_invoice',
    partner_id: partnerId,
    invoice_date: '2025-03-01',
    invoice_line_ids: [
      [0, 0, { name: 'Consulta', quantity: 1, price_unit: 60 }],
      [0, 0, { name: 'Analítica', quantity: 2, price_unit: 15.5 }],
    ],
  });
  await client.call('account.move', 'action_post', [[moveId]]);
  return moveId;
}
