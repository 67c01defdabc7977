/**
 * Keycloak single sign-on for people: the Node-RED editor logs in through the realm (OpenID Connect
 * authorization-code flow with PKCE, openid-client's passport strategy) and realm roles become editor
 * permissions; `/api` (and dashboards) can demand a Keycloak bearer token before any flow sees the request.
 * settings.ts calls editorAdminAuth(process.env) and httpNodeAuth(process.env). Without KEYCLOAK_URL,
 * KEYCLOAK_CLIENT_ID and KEYCLOAK_CLIENT_SECRET both return undefined and the editor stays open locally.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Strategy as OidcStrategy, type VerifyFunction } from 'openid-client/passport';
import { KeycloakRealm, issuerOf } from '../nodes/clients/keycloak/realm';
import { TokenError } from '../nodes/clients/keycloak/errors';
import { bearerToken, parseList, type VerifiedToken } from '../nodes/clients/keycloak/verifier';
import { count } from '../nodes/clients/common/metrics';

/** Editor permissions of Node-RED: "*" edits everything, "read" only looks. */
export type EditorPermission = '*' | 'read';

export interface EditorUser {
  username: string;
  permissions: EditorPermission;
}

export interface RoleMapping {
  /** Roles that may edit flows (default: admin). */
  admin: string[];
  /** Roles that may open the editor read-only (default: the clinic roles medico, enfermeria, farmacia, recepcion). */
  read: string[];
}

export const DEFAULT_ROLE_MAPPING: RoleMapping = { admin: ['admin'], read: ['medico', 'enfermeria', 'farmacia', 'recepcion'] };

/** "*" for an editing role, "read" for a clinic role, undefined for nobody without a clinic role. */
export function editorPermissions(roles: string[], mapping: RoleMapping = DEFAULT_ROLE_MAPPING): EditorPermission | undefined {
  if (roles.some((r) => mapping.admin.includes(r))) return '*';
  if (roles.some((r) => mapping.read.includes(r))) return 'read';
  return undefined;
}

interface SsoEnv {
  url: string;
  /** KEYCLOAK_PUBLIC_URL: where browsers reach Keycloak, when Node-RED calls it by another name. */
  keycloakPublicUrl?: string;
  realm: string;
  clientId: string;
  clientSecret: string;
  publicUrl: string;
  mapping: RoleMapping;
  autoLogin: boolean;
  sessionHours: number;
}

function ssoEnv(env: NodeJS.ProcessEnv): SsoEnv | undefined {
  const get = (name: string) => (env[name] ?? '').trim();
  const url = get('KEYCLOAK_URL');
  const clientId = get('KEYCLOAK_CLIENT_ID');
  const clientSecret = get('KEYCLOAK_CLIENT_SECRET');
  if (!url || !clientId || !clientSecret) return undefined;
  const adminRoles = parseList(get('KEYCLOAK_EDITOR_ADMIN_ROLES'));
  const readRoles = parseList(get('KEYCLOAK_EDITOR_READ_ROLES'));
  const hours = Number(get('KEYCLOAK_EDITOR_SESSION_HOURS'));
  return {
    url,
    ...(get('KEYCLOAK_PUBLIC_URL') ? { keycloakPublicUrl: get('KEYCLOAK_PUBLIC_URL') } : {}),
    realm: get('KEYCLOAK_REALM') || 'clinica-realm',
    clientId,
    clientSecret,
    publicUrl: (get('NODE_RED_PUBLIC_URL') || `http://localhost:${get('PORT') || '1880'}`).replace(/\/+$/, ''),
    mapping: { admin: adminRoles.length ? adminRoles : DEFAULT_ROLE_MAPPING.admin, read: readRoles.length ? readRoles : DEFAULT_ROLE_MAPPING.read },
    autoLogin: get('KEYCLOAK_EDITOR_AUTOLOGIN') !== 'false',
    sessionHours: Number.isFinite(hours) && hours > 0 ? hours : 8,
  };
}

/** What passport hands a strategy instance at run time (passport copies these onto an object per request). */
interface PassportActions {
  success(user: unknown, info?: unknown): void;
  fail(challenge?: unknown, status?: number): void;
  redirect(url: string, status?: number): void;
  pass(): void;
  error(err: Error): void;
}

interface StrategyOptions {
  realm: KeycloakRealm;
  callbackURL: string;
  scope: string;
}

/**
 * The passport strategy Node-RED instantiates at start. Node-RED builds it synchronously, before Keycloak
 * may be up, so discovery happens on the first login; until then (or while Keycloak is away) the login
 * page shows the reason and the next attempt tries again.
 */
export class KeycloakEditorStrategy {
  readonly name = 'keycloak';
  private inner?: Promise<OidcStrategy>;

  constructor(
    private readonly options: StrategyOptions,
    private readonly verify: VerifyFunction,
  ) {}

  authenticate(this: KeycloakEditorStrategy & PassportActions, req: IncomingMessage, opts: Record<string, unknown>): void {
    this.oidcStrategy().then(
      (inner) => {
        // openid-client's strategy calls this.redirect / success / fail / error: give it passport's.
        const delegate = Object.create(inner) as OidcStrategy & PassportActions;
        delegate.success = this.success;
        delegate.fail = this.fail;
        delegate.redirect = this.redirect;
        delegate.pass = this.pass;
        delegate.error = this.error;
        (inner.authenticate as (this: unknown, r: unknown, o: unknown) => void).call(delegate, req, opts);
      },
      (err: unknown) => this.error(err as Error),
    );
  }

  private oidcStrategy(): Promise<OidcStrategy> {
    if (!this.inner) {
      const { realm, callbackURL, scope } = this.options;
      this.inner = realm.configuration().then(
        (config) => new OidcStrategy({ config, callbackURL, scope, name: this.name, sessionKey: `keycloak:${realm.realm}` }, this.verify),
        (err: unknown) => {
          this.inner = undefined;
          throw err;
        },
      );
    }
    return this.inner;
  }
}

/**
 * Node-RED `adminAuth` for editor login through Keycloak, or undefined when KEYCLOAK_URL, KEYCLOAK_CLIENT_ID
 * or KEYCLOAK_CLIENT_SECRET is missing. Roles: KEYCLOAK_EDITOR_ADMIN_ROLES edit ("*", default admin),
 * KEYCLOAK_EDITOR_READ_ROLES read (default the clinic roles); anyone else is refused. Realm roles and the
 * editor client's own roles both count.
 */
export function editorAdminAuth(env: NodeJS.ProcessEnv): unknown {
  const sso = ssoEnv(env);
  if (!sso) return undefined;
  const realm = new KeycloakRealm({ url: sso.url, publicUrl: sso.keycloakPublicUrl, realm: sso.realm, clientId: sso.clientId, clientSecret: sso.clientSecret });
  // Users who logged in during this run; Node-RED asks for them again on every API call with its session token.
  const known = new Map<string, EditorUser>();

  const verify: VerifyFunction = (tokens, done) => {
    realm.verify(tokens.access_token).then(
      (verified: VerifiedToken) => {
        const username = verified.user.username;
        const permissions = editorPermissions(verified.user.roles, sso.mapping);
        if (!permissions) {
          count('keycloak', 'editor_logins', { result: 'no-role' });
          done(
            new Error(
              `Keycloak user "${username}" has no clinic role (${[...sso.mapping.admin, ...sso.mapping.read].join(', ')}); ask an administrator to grant one`,
            ),
          );
          return;
        }
        count('keycloak', 'editor_logins', { result: permissions === '*' ? 'admin' : 'read' });
        const user: EditorUser = { username, permissions };
        known.set(username, user);
        done(null, user);
      },
      (err: unknown) => {
        count('keycloak', 'editor_logins', { result: 'rejected' });
        done(err instanceof Error ? err : new Error(String(err)));
      },
    );
  };

  return {
    type: 'strategy',
    strategy: {
      name: 'keycloak',
      label: `Keycloak · ${sso.realm}`,
      icon: 'fa-key',
      autoLogin: sso.autoLogin,
      strategy: KeycloakEditorStrategy,
      options: { realm, callbackURL: `${sso.publicUrl}/auth/strategy/callback`, scope: 'openid profile email', verify },
    },
    users: (username: string) => Promise.resolve(known.get(username) ?? null),
    sessionExpiryTime: Math.round(sso.sessionHours * 3600),
  };
}

/**
 * Logging out of the editor also ends the Keycloak session: Node-RED's editorTheme.logout.redirect.
 * Undefined when SSO is not configured.
 */
export function editorLogoutRedirect(env: NodeJS.ProcessEnv): string | undefined {
  const sso = ssoEnv(env);
  if (!sso) return undefined;
  const issuer = issuerOf(sso.keycloakPublicUrl || sso.url, sso.realm);
  const query = new URLSearchParams({ client_id: sso.clientId, post_logout_redirect_uri: `${sso.publicUrl}/` });
  return `${issuer}/protocol/openid-connect/logout?${query.toString()}`;
}

type Next = (err?: unknown) => void;
type Middleware = (req: IncomingMessage & { path?: string; originalUrl?: string }, res: ServerResponse, next: Next) => void;

/**
 * Node-RED `httpNodeMiddleware` demanding a valid Keycloak access token (any role of the realm's users)
 * on the paths listed in KEYCLOAK_PROTECT_PATHS (prefixes, e.g. "/api/ /dashboard"), except those in
 * KEYCLOAK_PUBLIC_PATHS (default "/api/health"). Tokens must be meant for KEYCLOAK_API_CLIENT_ID (default
 * clinica-api) or the editor client. Per-route roles stay the job of the guard node. Undefined when
 * KEYCLOAK_URL or KEYCLOAK_PROTECT_PATHS is empty.
 */
export function httpNodeAuth(env: NodeJS.ProcessEnv): Middleware | undefined {
  const get = (name: string) => (env[name] ?? '').trim();
  const protectedPaths = parseList(get('KEYCLOAK_PROTECT_PATHS'));
  if (!get('KEYCLOAK_URL') || protectedPaths.length === 0) return undefined;
  const publicPaths = env.KEYCLOAK_PUBLIC_PATHS === undefined ? ['/api/health'] : parseList(get('KEYCLOAK_PUBLIC_PATHS'));
  const realmName = get('KEYCLOAK_REALM') || 'clinica-realm';
  const realm = new KeycloakRealm({
    url: get('KEYCLOAK_URL'),
    ...(get('KEYCLOAK_PUBLIC_URL') ? { publicUrl: get('KEYCLOAK_PUBLIC_URL') } : {}),
    realm: realmName,
    clientId: get('KEYCLOAK_API_CLIENT_ID') || 'clinica-api',
    audiences: [get('KEYCLOAK_CLIENT_ID')].filter(Boolean),
  });
  const under = (path: string, prefixes: string[]) => prefixes.some((p) => path === p.replace(/\/$/, '') || path.startsWith(p.endsWith('/') ? p : `${p}/`));

  return (req, res, next) => {
    const path = (req.originalUrl ?? req.url ?? '/').split('?')[0];
    if (req.method === 'OPTIONS' || !under(path, protectedPaths) || under(path, publicPaths)) return next();
    realm.verify(bearerToken(req.headers.authorization)).then(
      () => {
        count('keycloak', 'http_node_auth', { decision: 'allowed' });
        next();
      },
      (err: unknown) => {
        const refused = err instanceof TokenError;
        count('keycloak', 'http_node_auth', { decision: refused ? 'denied' : 'unavailable' });
        const status = refused ? 401 : 503;
        const headers: Record<string, string> = { 'content-type': 'application/json', 'cache-control': 'no-store' };
        if (refused) {
          headers['www-authenticate'] =
            err.problem === 'MISSING'
              ? `Bearer realm="${realmName}"`
              : `Bearer realm="${realmName}", error="invalid_token", error_description="${err.publicText}"`;
        } else headers['retry-after'] = '5';
        res.writeHead(status, headers);
        res.end(
          JSON.stringify({
            error: refused ? 'invalid_token' : 'temporarily_unavailable',
            code: (err as { code?: string }).code ?? 'KEYCLOAK_ERROR',
            message: refused ? err.publicText : 'the identity provider cannot be reached; try again shortly',
          }),
        );
      },
    );
  };
}
