/**
 * clinica-keycloak-realm: one Keycloak realm and client (URL, realm, client id, secret as credential or
 * env). Owns one realm client shared by its users (guards, token nodes): discovery, the key cache, the
 * service-token cache. On first use it checks the realm is reachable and shows it on every user; while
 * Keycloak is away it keeps checking, so Node-RED starts regardless.
 */
import type { NodeAPI } from 'node-red';
import { ConnectionUsers } from '../lib/config-node';
import { IntegrationError } from '../clients/common/errors';
import { logEvent, registerType, setRED } from '../lib/node-runtime';
import { KeycloakRealm } from '../clients/keycloak/realm';
import { realmSettings, type RealmConfigDef, type RealmConfigNode } from './types';

const RECHECK_MS = 15000;

export = function (RED: NodeAPI): void {
  setRED(RED);

  function KeycloakRealmConfig(this: RealmConfigNode, def: RealmConfigDef): void {
    RED.nodes.createNode(this, def);
    const node = this;
    const settings = realmSettings(def, node.credentials);
    let realm: KeycloakRealm | undefined;
    let configError: IntegrationError | undefined;
    try {
      realm = new KeycloakRealm(settings, {
        onEvent: (event, fields) => logEvent(node, /failed$/.test(event) ? 'warn' : 'debug', event, fields),
      });
    } catch (err) {
      configError = err as IntegrationError;
    }
    (node as { issuer: string }).issuer = realm?.issuer ?? '';
    let recheck: NodeJS.Timeout | undefined;
    let closed = false;

    const users = new ConnectionUsers(
      () => void check(),
      () => {
        if (recheck) clearTimeout(recheck);
        recheck = undefined;
      },
    );

    async function check(): Promise<void> {
      if (closed) return;
      if (!realm) {
        users.setState('failed', configError?.code);
        return;
      }
      if (users.current !== 'connected') users.setState('connecting');
      try {
        await realm.warmUp();
        node.reportReachable(true);
      } catch (err) {
        node.reportReachable(false, (err as { code?: string }).code);
        if (!closed && users.size > 0 && (err as IntegrationError).retryable !== false) {
          recheck = setTimeout(() => void check(), RECHECK_MS);
          recheck.unref();
        }
      }
    }

    node.getRealm = () => {
      if (!realm) throw configError ?? new Error('Keycloak realm not configured');
      return realm;
    };
    node.reportReachable = (ok, code) => {
      if (ok && users.current !== 'connected') {
        users.setState('connected');
        logEvent(node, 'info', 'keycloak.connected', { issuer: node.issuer, clientId: settings.clientId });
      } else if (!ok && users.current !== 'disconnected') {
        users.setState('disconnected', code);
        logEvent(node, 'warn', 'keycloak.unreachable', { issuer: node.issuer, code });
      }
    };
    node.register = (user) => users.register(user);
    node.deregister = (user) => users.deregister(user);

    node.on('close', (_removed: boolean, done: () => void) => {
      closed = true;
      if (recheck) clearTimeout(recheck);
      realm?.reset();
      done();
    });
  }

  registerType('clinica-keycloak-realm', KeycloakRealmConfig, { credentials: { clientSecret: { type: 'password' } } });
};
