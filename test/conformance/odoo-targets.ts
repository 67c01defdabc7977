/**
 * The two sides of the Odoo battery: the pack's peer (started here) and, when ODOO_CONFORMANCE_URL is
 * set, a real Odoo (ODOO_CONFORMANCE_DB, _USER, _PASSWORD; ODOO_CONFORMANCE_HOOK_HOST is how that Odoo
 * reaches this machine for webhooks, default 127.0.0.1). The real side's observations are kept in
 * odoo18.observed.json, so CI compares the peer with them without a real Odoo.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { startOdooPeer, type OdooPeer } from '../../peers/odoo';
import { connect, type OdooTarget } from './odoo-wire';
import type { ProbeResult } from './runner';

export interface Recording {
  /** What was probed: server_version of the real Odoo, and when. */
  server: string;
  recordedAt: string;
  results: ProbeResult[];
}

/** The recording, read from the source tree (so a new recording is seen without a rebuild). */
export const RECORDING_FILE = path.resolve(__dirname, '../../../test/conformance/odoo18.observed.json');

export function readRecording(): Recording {
  return JSON.parse(fs.readFileSync(RECORDING_FILE, 'utf8')) as Recording;
}

export function writeRecording(rec: Recording): void {
  fs.writeFileSync(RECORDING_FILE, `${JSON.stringify(rec, null, 1)}\n`);
}

/** A tag unique to this run, so probes can share a real Odoo with other users and earlier runs. */
export function runTag(): string {
  return `conf${randomBytes(4).toString('hex')}`;
}

export async function peerTarget(): Promise<{ peer: OdooPeer; target: OdooTarget }> {
  const peer = await startOdooPeer({ version: 18 });
  const target = await connect({ label: 'peer', url: peer.url, db: peer.db, login: peer.admin.login, password: peer.admin.password, hookHost: '127.0.0.1' });
  return { peer, target };
}

export function realConfigured(): boolean {
  return Boolean(process.env.ODOO_CONFORMANCE_URL);
}

export async function realTarget(): Promise<OdooTarget> {
  const env = process.env;
  return connect({
    label: 'Odoo',
    url: String(env.ODOO_CONFORMANCE_URL).replace(/\/+$/, ''),
    db: env.ODOO_CONFORMANCE_DB || 'clinica',
    login: env.ODOO_CONFORMANCE_USER || 'admin',
    password: env.ODOO_CONFORMANCE_PASSWORD || 'admin',
    hookHost: env.ODOO_CONFORMANCE_HOOK_HOST || '127.0.0.1',
  });
}
