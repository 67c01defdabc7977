/**
 * Lets the clinic's staff log in to Odoo through Keycloak, with stock Odoo's `auth_oauth` module: a provider
 * "Keycloak" for the realm's `odoo` client (implicit flow: the browser brings an access token back to
 * /auth_oauth/signin, Odoo checks it at Keycloak's userinfo endpoint), and one Odoo user per realm user with a clinic
 * role, linked by Keycloak's user id (`oauth_uid` = the token's `sub`). A Keycloak user without a clinic role gets
 * no Odoo user and, with sign-up limited to invitations, Odoo refuses them. Idempotent.
 *
 * Two Keycloak addresses, because the browser and Odoo reach Keycloak by different names in docker-compose.yml:
 * KEYCLOAK_PUBLIC_URL for the login page (the browser), KEYCLOAK_URL for the userinfo check (Odoo's server).
 *
 *   ODOO_URL=… ODOO_DB=… ODOO_USERNAME=… (ODOO_API_KEY=… or ODOO_PASSWORD=…) KEYCLOAK_URL=… KEYCLOAK_PUBLIC_URL=… \
 *     node dist/seeds/odoo/sso.js
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { OdooClient } from '../../nodes/clients/odoo/client';
import { logLine } from '../lib/handover';

export const CLINIC_ROLES = ['admin', 'medico', 'enfermeria', 'farmacia', 'recepcion'];
export const PROVIDER_NAME = 'Keycloak';
/** The realm the seeds import (seeds/keycloak/clinica-realm.json). */
export const REALM_FILE = path.resolve(__dirname, '..', '..', '..', 'seeds', 'keycloak', 'clinica-realm.json');

export interface SsoOptions {
  client: OdooClient;
  /** Where browsers reach Keycloak (the login page). */
  keycloakPublicUrl: string;
  /** Where Odoo's server reaches Keycloak (the userinfo check); default the public URL. */
  keycloakUrl?: string;
  realm?: string;
  /** The realm's client for Odoo (public, implicit flow). */
  clientId?: string;
  /** Odoo login of the Keycloak user with the admin role (default: the seeding user, admin). */
  adminLogin?: string;
  realmFile?: string;
}

export interface SsoReport {
  provider: number;
  linked: Array<{ keycloak: string; odoo: string; created: boolean }>;
}

interface RealmUser {
  id?: string;
  username: string;
  firstName?: string;
  lastName?: string;
  email?: string;
  realmRoles?: string[];
}

/** The realm's people with a clinic role (service accounts and guests left out). */
export function clinicStaff(realmFile: string = REALM_FILE): Array<Required<Pick<RealmUser, 'id' | 'username'>> & RealmUser> {
  const realm = JSON.parse(fs.readFileSync(realmFile, 'utf8')) as { users?: RealmUser[] };
  return (realm.users ?? []).filter((u): u is RealmUser & { id: string } => Boolean(u.id) && (u.realmRoles ?? []).some((r) => CLINIC_ROLES.includes(r)));
}

export async function seedOdooSso(o: SsoOptions): Promise<SsoReport> {
  const c = o.client;
  const realm = o.realm ?? 'clinica-realm';
  const base = (url: string) => `${url.replace(/\/+$/, '')}/realms/${encodeURIComponent(realm)}/protocol/openid-connect`;

  const [mod] = await c.searchRead('ir.module.module', { domain: [['name', '=', 'auth_oauth']], fields: ['state'] });
  if (!mod) throw new Error('this Odoo has no auth_oauth module; update the apps list');
  if (mod.state !== 'installed') await c.call('ir.module.module', 'button_immediate_install', [[mod.id]]);

  // Keycloak's userinfo endpoint takes the token in the Authorization header only (Odoo sends ?access_token= otherwise).
  await c.call('ir.config_parameter', 'set_param', ['auth_oauth.authorization_header', 'True']);
  // auth_signup installs with free sign-up (b2c): any realm user would get a portal account. Only linked staff log in.
  await c.call('ir.config_parameter', 'set_param', ['auth_signup.invitation_scope', 'b2b']);

  const values = {
    name: PROVIDER_NAME,
    client_id: o.clientId ?? 'odoo',
    auth_endpoint: `${base(o.keycloakPublicUrl)}/auth`,
    validation_endpoint: `${base(o.keycloakUrl ?? o.keycloakPublicUrl)}/userinfo`,
    scope: 'openid profile email',
    body: 'Keycloak (Clínica Universitaria)',
    enabled: true,
  };
  const [existing] = await c.searchRead('auth.oauth.provider', { domain: [['name', '=', PROVIDER_NAME]], fields: ['id'] });
  const provider = existing ? existing.id : await c.create('auth.oauth.provider', values);
  if (existing) await c.write('auth.oauth.provider', provider, values);
  // The Odoo.com provider auth_oauth ships enabled is of no use to a clinic without Odoo.com accounts.
  const odooCom = await c.searchRead('ir.model.data', {
    domain: [
      ['module', '=', 'auth_oauth'],
      ['name', '=', 'provider_openerp'],
    ],
    fields: ['res_id'],
  });
  if (odooCom.length) await c.write('auth.oauth.provider', odooCom[0].res_id as number, { enabled: false });

  const report: SsoReport = { provider, linked: [] };
  for (const u of clinicStaff(o.realmFile)) {
    const login = (u.realmRoles ?? []).includes('admin') ? (o.adminLogin ?? c.username) : u.username;
    const link = { oauth_provider_id: provider, oauth_uid: u.id };
    const [user] = await c.searchRead('res.users', {
      domain: [['login', '=', login]],
      fields: ['id', 'oauth_uid', 'oauth_provider_id'],
      context: { active_test: false },
    });
    if (user) {
      if (user.oauth_uid !== u.id || !sameId(user.oauth_provider_id, provider)) await c.write('res.users', user.id, link);
    } else {
      const name = [u.firstName, u.lastName].filter(Boolean).join(' ') || u.username;
      await c.create('res.users', { name, login, email: u.email || false, ...link });
    }
    report.linked.push({ keycloak: u.username, odoo: login, created: !user });
  }
  return report;
}

const sameId = (value: unknown, id: number) => (Array.isArray(value) ? value[0] === id : value === id);

async function main(): Promise<void> {
  const env = process.env;
  const keycloakUrl = env.KEYCLOAK_URL || 'http://localhost:8080';
  const client = new OdooClient({
    url: env.ODOO_URL || 'http://localhost:8069',
    db: env.ODOO_DB || 'clinica',
    username: env.ODOO_USERNAME || 'admin',
    apiKey: env.ODOO_API_KEY || undefined,
    password: env.ODOO_PASSWORD || undefined,
    timeoutMs: 10 * 60 * 1000,
  });
  try {
    const report = await seedOdooSso({
      client,
      keycloakUrl,
      keycloakPublicUrl: env.KEYCLOAK_PUBLIC_URL || keycloakUrl,
      realm: env.KEYCLOAK_REALM || undefined,
    });
    logLine('info', 'odoo.sso.ready', { ...report });
  } finally {
    client.close();
  }
}

if (require.main === module) {
  main().catch((err: Error) => {
    logLine('error', 'odoo.sso.failed', { msg: err.message });
    process.exit(1);
  });
}
