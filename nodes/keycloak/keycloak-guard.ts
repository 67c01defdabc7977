/**
 * clinica-keycloak-guard: sits after an `http in` node. Reads the bearer token, verifies it against the
 * realm (signature, issuer, audience, expiry), checks the required roles (any / all) and puts the caller on
 * msg.user. A refused request is answered here (401 with WWW-Authenticate, 403, or 503 while Keycloak is
 * away) or, if the flow author chose so, sent to the second output ready for an `http response` node.
 * Every decision is logged, never the token.
 */
import type { Node, NodeAPI, NodeDef } from 'node-red';
import { attachToConfig } from '../lib/config-node';
import { IntegrationError, badInput } from '../clients/common/errors';
import { count } from '../clients/common/metrics';
import { getMsgProperty, handleInput, logEvent, registerType, setRED, type Msg } from '../lib/node-runtime';
import { TokenError, forbidden } from '../clients/keycloak/errors';
import type { KeycloakRealm } from '../clients/keycloak/realm';
import { bearerToken, hasRoles, parseList, type VerifiedToken } from '../clients/keycloak/verifier';
import { noRealm, realmConfigOf } from './types';

interface GuardDef extends NodeDef {
  realm: string;
  roles: string;
  mode: 'any' | 'all';
  onFailure: 'respond' | 'output';
  tokenFrom: 'header' | 'msg';
  tokenProperty: string;
}

interface HttpRequestLike {
  method?: string;
  path?: string;
  originalUrl?: string;
  ip?: string;
  headers?: Record<string, string | string[] | undefined>;
}

interface ExpressResponseLike {
  headersSent: boolean;
  status(code: number): ExpressResponseLike;
  set(headers: Record<string, string>): ExpressResponseLike;
  send(body: string): void;
}

/** What a refused request is answered with. */
interface Refusal {
  status: 401 | 403 | 500 | 503;
  error: IntegrationError;
  /** RFC 6750 error value. */
  oauthError?: 'invalid_token' | 'insufficient_scope';
  text: string;
}

export = function (RED: NodeAPI): void {
  setRED(RED);

  function KeycloakGuard(this: Node, def: GuardDef): void {
    RED.nodes.createNode(this, def);
    const node = this;
    const config = realmConfigOf(RED, def.realm);
    attachToConfig(node, config);
    const required = parseList(def.roles);
    const mode = def.mode === 'all' ? 'all' : 'any';
    const respondItself = def.onFailure !== 'output';
    const fromMsg = def.tokenFrom === 'msg' && def.tokenProperty ? def.tokenProperty : undefined;
    const idle = { fill: 'green', shape: 'dot', text: 'status.connected' } as const;

    handleInput(node, { system: 'keycloak', idleStatus: idle }, async (msg: Msg, send) => {
      const req = (msg.req ?? {}) as HttpRequestLike;
      const where = { correlationId: msg.correlationId, method: req.method, path: req.path ?? req.originalUrl, ip: req.ip };
      let realm: KeycloakRealm;
      try {
        if (!config) throw noRealm(node);
        realm = config.getRealm();
      } catch (err) {
        // A misconfigured guard must still answer the caller, or the request would hang until it times out.
        const failure = asFailure(err);
        refuse(msg, send, { status: 500, error: failure, text: 'the server is not configured to check tokens' }, where, '');
        if (respondItself) throw failure;
        return;
      }
      const token = fromMsg ? stringOrUndefined(getMsgProperty(msg, fromMsg)) : bearerToken(req.headers?.authorization);

      let verified: VerifiedToken;
      try {
        verified = await realm.verify(token);
      } catch (err) {
        if (err instanceof TokenError) {
          if (err.problem !== 'MISSING') config.reportReachable(true);
          return refuse(
            msg,
            send,
            { status: 401, error: err, oauthError: err.problem === 'MISSING' ? undefined : 'invalid_token', text: err.publicText },
            where,
            realm.realm,
          );
        }
        const failure = asFailure(err);
        if (failure.retryable) config.reportReachable(false, failure.code);
        refuse(
          msg,
          send,
          failure.retryable
            ? { status: 503, error: failure, text: 'the identity provider cannot be reached; try again shortly' }
            : { status: 500, error: failure, text: 'the server cannot check tokens of this realm' },
          where,
          realm.realm,
        );
        // Answered already; done(err) still tells Catch nodes and the monitor what is wrong.
        if (respondItself) throw failure;
        return;
      }
      config.reportReachable(true);
      const username = verified.user.username;
      if (!hasRoles(verified, required, mode)) {
        return refuse(
          msg,
          send,
          {
            status: 403,
            error: forbidden(realm.realm, username, required, mode),
            oauthError: 'insufficient_scope',
            text: 'the caller lacks a required role',
          },
          { ...where, username },
          realm.realm,
        );
      }
      msg.user = verified.user;
      msg.keycloak = {
        ...(isObject(msg.keycloak) ? msg.keycloak : {}),
        decision: 'allowed',
        realm: realm.realm,
        issuer: verified.claims.iss ?? realm.issuer,
        clientId: verified.clientId,
        realmRoles: verified.realmRoles,
        clientRoles: verified.clientRoles,
        scopes: verified.scopes,
        expiresAt: new Date(verified.expiresAt).toISOString(),
        claims: verified.claims,
      };
      count('keycloak', 'guard_decisions', { decision: 'allowed' });
      logEvent(node, 'info', 'keycloak.guard.allowed', { ...where, username, sub: verified.user.sub, clientId: verified.clientId, roles: verified.user.roles });
      send([msg, null]);
    });

    function refuse(msg: Msg, send: (m: Array<Msg | null>) => void, refusal: Refusal, where: Record<string, unknown>, realmName: string): void {
      const { status, error } = refusal;
      const failed = status >= 500;
      count('keycloak', 'guard_decisions', { decision: failed ? 'unavailable' : 'denied', code: error.code });
      logEvent(node, failed ? 'warn' : 'info', 'keycloak.guard.denied', { ...where, status, code: error.code });
      const headers: Record<string, string> = { 'Cache-Control': 'no-store' };
      if (status === 503) headers['Retry-After'] = '5';
      else if (!failed) {
        const params = [`realm="${realmName}"`];
        if (refusal.oauthError) params.push(`error="${refusal.oauthError}"`, `error_description="${refusal.text}"`);
        headers['WWW-Authenticate'] = `Bearer ${params.join(', ')}`;
      }
      if (typeof msg.correlationId === 'string') headers['X-Correlation-Id'] = msg.correlationId;
      // RFC 9457 problem details like every answer of the pack, with OAuth's error code (RFC 6750) beside it.
      const body = {
        type: `https://clinica.example/problems/${error.code.toLowerCase().replace(/_/g, '-')}`,
        title: status === 401 ? 'Unauthorized' : status === 403 ? 'Forbidden' : status === 503 ? 'Service unavailable' : 'Error',
        status,
        detail: refusal.text,
        code: error.code,
        error: refusal.oauthError ?? (status === 503 ? 'temporarily_unavailable' : failed ? 'server_error' : 'unauthorized'),
        correlationId: msg.correlationId,
      };
      headers['Content-Type'] = 'application/problem+json';
      if (respondItself) {
        const res = (msg.res as { _res?: ExpressResponseLike } | undefined)?._res;
        if (!res) {
          throw badInput(
            'keycloak',
            `Guard "${node.name || node.id}" must answer a refused request but the message has no msg.res: put it right after an "http in" node, or choose "send to the second output"`,
          );
        }
        if (!res.headersSent) res.status(status).set(headers).send(JSON.stringify(body));
        return;
      }
      msg.statusCode = status;
      msg.headers = { ...(isObject(msg.headers) ? (msg.headers as Record<string, string>) : {}), ...headers };
      msg.payload = body;
      msg.keycloak = {
        ...(isObject(msg.keycloak) ? msg.keycloak : {}),
        decision: failed ? 'unavailable' : 'denied',
        error: { code: error.code, status, message: error.message },
      };
      send([null, msg]);
    }
  }

  registerType('clinica-keycloak-guard', KeycloakGuard);
};

function asFailure(err: unknown): IntegrationError {
  return err instanceof IntegrationError
    ? err
    : new IntegrationError(String(err), { code: 'KEYCLOAK_ERROR', system: 'keycloak', retryable: false, cause: err });
}

function stringOrUndefined(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  return bearerToken(value) ?? (value.trim() || undefined);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
