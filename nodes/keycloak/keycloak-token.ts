/**
 * clinica-keycloak-token: puts `Authorization: Bearer <service token>` on msg.headers for a following
 * `http request` node. The token is the realm client's client-credentials token, cached by the realm
 * config node until shortly before it expires; concurrent messages share one renewal.
 */
import type { Node, NodeAPI, NodeDef } from 'node-red';
import { attachToConfig } from '../lib/config-node';
import { handleInput, logEvent, registerType, setRED, type Msg } from '../lib/node-runtime';
import { noRealm, realmConfigOf } from './types';

interface TokenDef extends NodeDef {
  realm: string;
  scope: string;
}

export = function (RED: NodeAPI): void {
  setRED(RED);

  function KeycloakToken(this: Node, def: TokenDef): void {
    RED.nodes.createNode(this, def);
    const node = this;
    const config = realmConfigOf(RED, def.realm);
    attachToConfig(node, config);
    const scope = (def.scope ?? '').trim();
    const idle = { fill: 'green', shape: 'dot', text: 'status.connected' } as const;

    handleInput(node, { system: 'keycloak', idleStatus: idle }, async (msg: Msg, send) => {
      if (!config) throw noRealm(node);
      const realm = config.getRealm();
      let token;
      try {
        token = await realm.serviceToken(scope);
      } catch (err) {
        if ((err as { retryable?: boolean }).retryable) config.reportReachable(false, (err as { code?: string }).code);
        throw err;
      }
      config.reportReachable(true);
      const headers = typeof msg.headers === 'object' && msg.headers !== null && !Array.isArray(msg.headers) ? (msg.headers as Record<string, unknown>) : {};
      // One Authorization header whatever its case, so the http request node sends ours.
      for (const name of Object.keys(headers)) if (name.toLowerCase() === 'authorization') delete headers[name];
      msg.headers = { ...headers, Authorization: `Bearer ${token.accessToken}` };
      const previous = typeof msg.keycloak === 'object' && msg.keycloak !== null ? (msg.keycloak as Record<string, unknown>) : {};
      msg.keycloak = {
        ...previous,
        serviceToken: { clientId: realm.clientId, expiresAt: new Date(token.expiresAt).toISOString(), ...(token.scope ? { scope: token.scope } : {}) },
      };
      logEvent(node, 'debug', 'keycloak.token.attached', { correlationId: msg.correlationId, clientId: realm.clientId, expiresAt: token.expiresAt });
      send(msg);
    });
  }

  registerType('clinica-keycloak-token', KeycloakToken);
};
