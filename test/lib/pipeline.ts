/**
 * What the tests and benches of the document pipeline (tabs 01 + 02) against the peers share: the environment the
 * flows read, and how many chatter notes and files an invoice ended with.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { KeycloakPeer } from '../../peers/keycloak/keycloak-peer';
import type { NextcloudPeer } from '../../peers/nextcloud/peer';
import type { OdooPeer } from '../../peers/odoo';

export interface PipelinePeers {
  odoo: OdooPeer;
  nc: NextcloudPeer;
  kc: KeycloakPeer;
  amqpUrl: string;
  dbUrl?: string;
  /** The Nextcloud user and app password the flows store as (default alice, the peer's). */
  ncUser?: string;
  ncPassword?: string;
}

/** The environment the shipped flows read (${…}) to reach the peers, the broker and the shared database. */
export function pipelineEnv(p: PipelinePeers): Record<string, string> {
  return {
    SHARED_DB_URL: p.dbUrl ?? '',
    ODOO_URL: p.odoo.url,
    ODOO_DB: p.odoo.db,
    ODOO_USERNAME: p.odoo.admin.login,
    ODOO_API_KEY: p.odoo.admin.apiKey,
    ODOO_PASSWORD: p.odoo.admin.password,
    NEXTCLOUD_URL: p.nc.url,
    NEXTCLOUD_USERNAME: p.ncUser ?? 'alice',
    NEXTCLOUD_APP_PASSWORD: p.ncPassword ?? 'alice-app-password',
    AMQP_URL: p.amqpUrl,
    KEYCLOAK_URL: p.kc.baseUrl,
    KEYCLOAK_REALM: 'clinica-realm',
  };
}

/** The chatter notes of an invoice that tell where its document was stored. */
export function storageNotes(odoo: OdooPeer, id: number): Array<Record<string, unknown>> {
  return odoo.records('mail.message').filter((m) => m.model === 'account.move' && m.res_id === id && String(m.body).includes('Nextcloud'));
}

/** Files of a stored document in its folder: the one stored and any "(2)" copy (0 when nothing was stored). */
export function storedCopies(nc: NextcloudPeer, user: string, storedPath: unknown): number {
  if (!storedPath) return 0;
  const onDisk = nc.diskPath(user, String(storedPath)) as string;
  const stem = path.basename(onDisk).replace(/\.pdf$/, '');
  return fs.existsSync(path.dirname(onDisk)) ? fs.readdirSync(path.dirname(onDisk)).filter((f) => f === `${stem}.pdf` || f.startsWith(`${stem} (`)).length : 0;
}

/** `n` draft customer invoices of one patient as `account.move` create values, one line each (`label` tells runs apart). */
export function draftInvoices(partnerId: number, n: number, label = ''): Array<Record<string, unknown>> {
  return Array.from({ length: n }, (_, i) => ({
    move_type: 'out_invoice',
    partner_id: partnerId,
    invoice_date: '2025-06-20',
    invoice_line_ids: [[0, 0, { name: `Consulta ${label}${i + 1}`, quantity: 1, price_unit: 60 + i }]],
  }));
}
