/**
 * clinica-keycloak-realm: one Keycloak realm and client (URL, realm, client id, secret as credential or
 * env). Owns one realm client shared by its users (guards, token nodes): discovery, the key cache, the
 * service-token cache. On first use it checks the realm is reachable and shows it on every user; while
 * Keycloak is away it keeps checking, so Node-RED starts regardless.
 */
import { defineConfigNode } from '../lib/config-node';
import { type IntegrationError } from '../clients/common/errors';
import { logEvent } from '../lib/node-runtime';
import { KeycloakRealm } from '../clients/keycloak/realm';
import { realmSettings, type RealmConfigDef, type RealmConfigNode } from './types';

const RECHECK_MS = 15000;

export = defineConfigNode<RealmConfigNode, RealmConfigDef, KeycloakRealm>({
  type: 'clinica-keycloak-realm',
  credentials: { clientSecret: 'password' },
  setup(node, def, { users, client }) {
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
    const issuer = realm?.issuer ?? '';
    let recheck: NodeJS.Timeout | undefined;
    let closed = false;

    async function check(): Promise<void> {
      if (closed) return;
      if (!realm) {
        users.setState('failed', configError?.code);
        return;
      }
      if (users.current !== 'connected') users.setState('connecting');
      try {
        await client().warmUp();
        node.reportReachable(true);
      } catch (err) {
        node.reportReachable(false, (err as { code?: string }).code);
        if (!closed && users.size > 0 && (err as IntegrationError).retryable !== false) {
          recheck = setTimeout(() => void check(), RECHECK_MS);
          recheck.unref();
        }
      }
    }

    node.getRealm = client;
    node.reportReachable = (ok, code) => {
      if (ok && users.current !== 'connected') {
        users.setState('connected');
        logEvent(node, 'info', 'keycloak.connected', { issuer, clientId: settings.clientId });
      } else if (!ok && users.current !== 'disconnected') {
        users.setState('disconnected', code);
        logEvent(node, 'warn', 'keycloak.unreachable', { issuer, code });
      }
    };

    const stopRecheck = () => {
      if (recheck) clearTimeout(recheck);
      recheck = undefined;
    };
    return {
      describe: { issuer },
      /** Made at deploy (a missing setting is known at once); handed out from the first use. */
      makeClient: () => {
        if (!realm) throw configError ?? new Error('Keycloak realm not configured');
        return realm;
      },
      closeClient: (r) => r.reset(),
      onFirstUser: () => void check(),
      onLastUser: stopRecheck,
      onClose: () => {
        closed = true;
        stopRecheck();
      },
    };
  },
});
