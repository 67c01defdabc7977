/** Types and helpers shared by the Keycloak nodes (a node module itself may export only its function). */
import type { Node, NodeDef } from 'node-red';
import { configNodeOf, missingConfigError } from '../lib/config-node';
import { expandEnv, intSetting, settingOrEnv } from '../lib/env';
import { type IntegrationError } from '../clients/common/errors';
import { parseList } from '../clients/keycloak/verifier';
import type { KeycloakRealm, RealmSettings } from '../clients/keycloak/realm';

export interface RealmConfigDef extends NodeDef {
  url: string;
  realm: string;
  clientId: string;
  audiences: string;
  clockSkew: string | number;
  jwksCooldown: string | number;
}

export interface RealmConfigCredentials {
  clientSecret?: string;
}

export interface RealmConfigNode extends Node<RealmConfigCredentials> {
  /** Issuer URL shown in the editor and logs. */
  readonly issuer: string;
  register(user: Node): void;
  deregister(user: Node): void;
  /** The realm client; throws KEYCLOAK_NOT_CONFIGURED when a setting is missing. */
  getRealm(): KeycloakRealm;
  /** Tells the config node how the last call to Keycloak went, so every user shows it. */
  reportReachable(ok: boolean, code?: string): void;
}

/**
 * The realm settings from a config node's properties, its credentials and the environment. The secret
 * falls back to KEYCLOAK_CLIENT_SECRET only for the client named by KEYCLOAK_CLIENT_ID: another client's
 * secret is never guessed from the environment; likewise KEYCLOAK_PUBLIC_URL only for KEYCLOAK_URL.
 */
export function realmSettings(
  def: Partial<RealmConfigDef>,
  credentials: RealmConfigCredentials | undefined,
  env: NodeJS.ProcessEnv = process.env,
): RealmSettings {
  const clientId = settingOrEnv(def.clientId, 'KEYCLOAK_CLIENT_ID', '', env);
  const envClient = (env.KEYCLOAK_CLIENT_ID ?? '').trim();
  const secret = expandEnv(credentials?.clientSecret, env).trim() || (clientId && clientId === envClient ? (env.KEYCLOAK_CLIENT_SECRET ?? '').trim() : '');
  const url = settingOrEnv(def.url, 'KEYCLOAK_URL', 'http://localhost:8080', env);
  // KEYCLOAK_PUBLIC_URL (the host name tokens carry) belongs to the Keycloak of KEYCLOAK_URL only.
  const publicUrl = url === (env.KEYCLOAK_URL ?? '').trim() ? (env.KEYCLOAK_PUBLIC_URL ?? '').trim() : '';
  return {
    url,
    ...(publicUrl ? { publicUrl } : {}),
    realm: settingOrEnv(def.realm, 'KEYCLOAK_REALM', 'clinica-realm', env),
    clientId,
    ...(secret ? { clientSecret: secret } : {}),
    audiences: parseList(expandEnv(def.audiences, env)),
    clockToleranceSec: intSetting(def.clockSkew, 10, 0, 300),
    jwksCooldownMs: intSetting(def.jwksCooldown, 10, 0, 3600) * 1000,
  };
}

/** The config node a user node names, if it is one. */
export function realmConfigOf(RED: { nodes: { getNode(id: string): unknown } }, id: string | undefined): RealmConfigNode | undefined {
  return configNodeOf<RealmConfigNode>(RED, id, 'getRealm');
}

export function noRealm(user: Node): IntegrationError {
  return missingConfigError(user, 'keycloak', 'Keycloak realm', 'clinica-keycloak-realm');
}
