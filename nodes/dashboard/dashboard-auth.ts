/**
 * Node-RED plugin `clinica-dashboard-auth` (package.json node-red.plugins): a Keycloak login in front of the
 * FlowFuse Dashboard 2.0 at /dashboard, wherever the pack is installed.
 *
 * - Every request under /dashboard (pages, assets, /_setup) needs a session; without one a page request goes
 *   to Keycloak (authorization code + PKCE, client KEYCLOAK_DASHBOARD_CLIENT_ID, default `clinica-dashboard`),
 *   anything else gets 401. The session is a signed cookie (HMAC, 8 h by default).
 * - Each page has its roles (farmacia: farmacia or admin; integracion: admin); a user without them gets a 403
 *   page. The socket (/dashboard/socket.io, polling and WebSocket) is refused server-side the same way.
 * - Dashboard hooks: the verified user is added to msg._client.user (onAddConnectionCredentials); a message
 *   with msg.dashboardRoles reaches only connections of users holding one of them (onIsValidConnection, onLoad).
 * - /dashboard-auth/logout ends the session here and at Keycloak (RP-initiated logout).
 * - With KEYCLOAK_URL empty the dashboards are refused (503, "login is off"): never open without a login.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import * as oidc from 'openid-client';
import { count } from '../clients/common/metrics';
import { KeycloakRealm, issuerOf } from '../clients/keycloak/realm';
import {
  allowed,
  audienceOf,
  cookieLine,
  DEFAULT_PAGE_ROLES,
  page,
  pagesOf,
  parseCookies,
  rolesFor,
  safeNext,
  seal,
  unseal,
  type DashboardUser,
  type PageRoles,
  type Session,
} from './session';

const SESSION = 'clinica_dashboard';
const LOGIN_TX = 'clinica_dashboard_login';

interface Settings {
  keycloakUrl: string;
  keycloakPublicUrl: string;
  realm: string;
  clientId: string;
  clientSecret: string;
  publicUrl: string;
  secret: string;
  hours: number;
  pages: PageRoles;
}

/** KEYCLOAK_DASHBOARD_PAGES: "farmacia=farmacia,admin integracion=admin" (page=roles, spaces between pages). */
function parsePages(text: string | undefined): PageRoles {
  const pages: PageRoles = {};
  for (const item of (text ?? '').trim().split(/\s+/).filter(Boolean)) {
    const [name, roles] = item.split('=');
    if (name && roles) pages[name] = roles.split(',').filter(Boolean);
  }
  return Object.keys(pages).length ? pages : DEFAULT_PAGE_ROLES;
}

function settingsOf(env: NodeJS.ProcessEnv): Settings {
  const get = (n: string) => (env[n] ?? '').trim();
  const hours = Number(get('DASHBOARD_SESSION_HOURS'));
  return {
    keycloakUrl: get('KEYCLOAK_URL'),
    keycloakPublicUrl: get('KEYCLOAK_PUBLIC_URL'),
    realm: get('KEYCLOAK_REALM') || 'clinica-realm',
    clientId: get('KEYCLOAK_DASHBOARD_CLIENT_ID') || 'clinica-dashboard',
    clientSecret: get('KEYCLOAK_DASHBOARD_CLIENT_SECRET'),
    publicUrl: get('NODE_RED_PUBLIC_URL').replace(/\/+$/, ''),
    // Without a configured secret, sessions last as long as this process (people log in again after a restart).
    secret: get('DASHBOARD_SESSION_SECRET') || randomBytes(32).toString('hex'),
    hours: Number.isFinite(hours) && hours > 0 ? hours : 8,
    pages: parsePages(get('KEYCLOAK_DASHBOARD_PAGES')),
  };
}

type Req = IncomingMessage & { originalUrl?: string };
type Next = (err?: unknown) => void;

interface DashboardConn {
  id: string;
  request?: IncomingMessage;
  handshake?: { headers?: Record<string, string | string[] | undefined> };
}

/* eslint-disable @typescript-eslint/no-explicit-any -- Node-RED's plugin API is untyped */
export = function (RED: any): void {
  const s = settingsOf(process.env);
  const root = String(RED.settings?.httpNodeRoot || '/').replace(/\/+$/, '');
  const base = `${root}/dashboard`;
  const authBase = `${root}/dashboard-auth`;
  const on = Boolean(s.keycloakUrl);
  let realm: KeycloakRealm | undefined;
  const realmOf = () =>
    (realm ??= new KeycloakRealm({
      url: s.keycloakUrl,
      ...(s.keycloakPublicUrl ? { publicUrl: s.keycloakPublicUrl } : {}),
      realm: s.realm,
      clientId: s.clientId,
      ...(s.clientSecret ? { clientSecret: s.clientSecret } : {}),
    }));

  const sessionOf = (cookieHeader: string | undefined) => unseal<Session>(s.secret, parseCookies(cookieHeader).get(SESSION));
  const publicBase = (req: IncomingMessage) => s.publicUrl || `http://${req.headers.host ?? '127.0.0.1'}`;
  const secure = (req: IncomingMessage) => publicBase(req).startsWith('https:');
  const send = (res: ServerResponse, status: number, body: string, headers: Record<string, string | string[]> = {}) => {
    res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', ...headers });
    res.end(body);
  };
  const loginOff = () =>
    page('Dashboards: login is off · Paneles: inicio de sesión desactivado', [
      'KEYCLOAK_URL is not set, so the dashboards refuse everyone: set KEYCLOAK_URL and KEYCLOAK_REALM (docs/dashboards.md).',
      'KEYCLOAK_URL no está definido, así que los paneles no admiten a nadie: defina KEYCLOAK_URL y KEYCLOAK_REALM (docs/dashboards.md).',
    ]);
  const forbidden = (user: DashboardUser, needed: string[]) =>
    page(
      '403 · Not allowed · Sin permiso',
      [
        `${user.name} (${user.username}) has the roles [${user.roles.join(', ')}]; this page needs one of [${needed.join(', ')}].`,
        `${user.name} (${user.username}) tiene los roles [${user.roles.join(', ')}]; esta página requiere uno de [${needed.join(', ')}].`,
      ],
      [...pagesOf(user.roles, s.pages).map((p) => ({ href: `${base}/${p}`, text: p })), { href: `${authBase}/logout`, text: 'Log out · Cerrar sesión' }],
    );

  async function login(req: Req, res: ServerResponse, url: URL): Promise<void> {
    const config = await realmOf().configuration();
    const verifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const next = safeNext(url.searchParams.get('next'), base);
    const target = oidc.buildAuthorizationUrl(config, {
      redirect_uri: `${publicBase(req)}${authBase}/callback`,
      scope: 'openid profile email',
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
    });
    const tx = seal(s.secret, { v: verifier, st: state, next, exp: Date.now() + 10 * 60_000 });
    res.writeHead(302, { location: target.href, 'set-cookie': cookieLine(LOGIN_TX, tx, 600, secure(req)), 'cache-control': 'no-store' });
    res.end();
  }

  async function callback(req: Req, res: ServerResponse, url: URL): Promise<void> {
    const tx = unseal<{ v: string; st: string; next: string; exp: number }>(s.secret, parseCookies(req.headers.cookie).get(LOGIN_TX));
    if (!tx) {
      send(res, 400, page('Login expired · Inicio de sesión caducado', ['Start again · Empiece de nuevo.'], [{ href: base, text: 'Dashboard · Panel' }]));
      return;
    }
    const config = await realmOf().configuration();
    const current = new URL(`${publicBase(req)}${authBase}/callback${url.search}`);
    const tokens = await oidc.authorizationCodeGrant(config, current, { pkceCodeVerifier: tx.v, expectedState: tx.st });
    const verified = await realmOf().verify(tokens.access_token);
    const session: Session = {
      sub: verified.user.sub,
      username: verified.user.username,
      name: verified.claims.name || verified.user.username,
      ...(verified.user.email ? { email: verified.user.email } : {}),
      roles: verified.user.roles,
      exp: Date.now() + s.hours * 3600_000,
    };
    count('keycloak', 'dashboard_logins', { result: pagesOf(session.roles, s.pages).length ? 'ok' : 'no-role' });
    RED.log.info(`dashboard login: ${session.username} [${session.roles.join(', ')}]`);
    res.writeHead(302, {
      location: tx.next,
      'set-cookie': [cookieLine(SESSION, seal(s.secret, session), s.hours * 3600, secure(req)), cookieLine(LOGIN_TX, '', 0, secure(req))],
      'cache-control': 'no-store',
    });
    res.end();
  }

  function logout(req: Req, res: ServerResponse): void {
    const back = `${publicBase(req)}${authBase}/logged-out`;
    const issuer = issuerOf(s.keycloakPublicUrl || s.keycloakUrl, s.realm);
    const query = new URLSearchParams({ client_id: s.clientId, post_logout_redirect_uri: back });
    res.writeHead(302, {
      location: `${issuer}/protocol/openid-connect/logout?${query.toString()}`,
      'set-cookie': cookieLine(SESSION, '', 0, secure(req)),
      'cache-control': 'no-store',
    });
    res.end();
  }

  function authRoutes(req: Req, res: ServerResponse, url: URL): void {
    const step = url.pathname.slice(authBase.length);
    const fail = (err: unknown) => {
      RED.log.warn(`dashboard login failed: ${(err as Error)?.message ?? String(err)}`);
      count('keycloak', 'dashboard_logins', { result: 'failed' });
      send(
        res,
        502,
        page('Login failed · Error al iniciar sesión', [(err as Error)?.message ?? String(err)], [{ href: base, text: 'Try again · Reintentar' }]),
      );
    };
    if (!on) return send(res, 503, loginOff());
    if (step === '/login') login(req, res, url).catch(fail);
    else if (step === '/callback') callback(req, res, url).catch(fail);
    else if (step === '/logout') logout(req, res);
    else if (step === '/me') {
      const user = sessionOf(req.headers.cookie);
      res.writeHead(user ? 200 : 401, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      res.end(
        JSON.stringify(
          user ? { username: user.username, name: user.name, roles: user.roles, pages: pagesOf(user.roles, s.pages) } : { error: 'login required' },
        ),
      );
    } else if (step === '/logged-out')
      send(res, 200, page('Logged out · Sesión cerrada', ['You are logged out. · Ha cerrado la sesión.'], [{ href: base, text: 'Log in · Iniciar sesión' }]));
    else send(res, 404, page('404', ['Not found · No encontrado']));
  }

  /** The dashboard's own HTTP routes: a session with the page's role, or login / 401 / 403. */
  function guard(req: Req, res: ServerResponse, next: Next): void {
    // Only the path and query, on a fixed origin: a path such as //a b or //%ff is no URL of its own (it threw
    // "Invalid URL", which Express answered 500 with the stack; found by test/fuzz/http.spec.ts).
    const raw = req.originalUrl ?? req.url ?? '/';
    let url: URL;
    try {
      url = new URL(`http://x${raw.startsWith('/') ? raw : `/${raw}`}`);
    } catch {
      return next();
    }
    if (url.pathname === authBase || url.pathname.startsWith(`${authBase}/`)) return authRoutes(req, res, url);
    if (url.pathname !== base && !url.pathname.startsWith(`${base}/`)) return next();
    if (!on) return send(res, 503, loginOff());
    const session = sessionOf(req.headers.cookie);
    if (!session) {
      const isPage = req.method === 'GET' && /text\/html/.test(String(req.headers.accept ?? ''));
      if (isPage) {
        res.writeHead(302, { location: `${authBase}/login?next=${encodeURIComponent(url.pathname + url.search)}`, 'cache-control': 'no-store' });
        res.end();
      } else send(res, 401, page('401 · Log in · Inicie sesión', []), { 'content-type': 'text/html; charset=utf-8' });
      return;
    }
    const needed = rolesFor(url.pathname, base, s.pages);
    if (!allowed(session.roles, needed)) return send(res, 403, forbidden(session, needed));
    next();
  }
  RED.httpNode.use(guard);

  /** Socket.io's requests never reach Express: checked on the server itself, before socket.io sees them. */
  const socketPath = `${base}/socket.io`;
  const refusal = (cookie: string | undefined): number | undefined => {
    if (!on) return 503;
    const session = sessionOf(cookie);
    if (!session) return 401;
    return allowed(session.roles, rolesFor(socketPath, base, s.pages)) ? undefined : 403;
  };
  const GUARDED = Symbol.for('clinica.dashboard-auth.guarded');
  function guardServer(server: any): void {
    if (!server?.listeners) return;
    const first = (event: string) => server.listeners(event)[0];
    if (first('request')?.[GUARDED] && (first('upgrade')?.[GUARDED] || server.listeners('upgrade').length === 0)) return;
    const requests = server.listeners('request').slice();
    const upgrades = server.listeners('upgrade').slice();
    server.removeAllListeners('request');
    server.removeAllListeners('upgrade');
    const onRequest = (req: IncomingMessage, res: ServerResponse) => {
      const status = req.url?.startsWith(socketPath) ? refusal(req.headers.cookie) : undefined;
      if (status) {
        count('keycloak', 'dashboard_socket', { decision: String(status) });
        res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
        res.end(JSON.stringify({ error: status === 403 ? 'forbidden' : status === 401 ? 'login required' : 'login is off' }));
        return;
      }
      for (const l of requests) l.call(server, req, res);
    };
    const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      const status = req.url?.startsWith(socketPath) ? refusal(req.headers.cookie) : undefined;
      if (status) {
        socket.end(`HTTP/1.1 ${status} Refused\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
        return;
      }
      for (const l of upgrades) l.call(server, req, socket, head);
    };
    Object.assign(onRequest, { [GUARDED]: true });
    Object.assign(onUpgrade, { [GUARDED]: true });
    server.on('request', onRequest);
    server.on('upgrade', onUpgrade);
  }
  // Dashboard 2.0 attaches socket.io to the server when its ui-base starts: guard after every start.
  RED.events.on('flows:started', () => guardServer(RED.server));

  const connUser = (conn: DashboardConn): Session | undefined => {
    const cookie = conn.request?.headers.cookie ?? conn.handshake?.headers?.cookie;
    return sessionOf(Array.isArray(cookie) ? cookie.join('; ') : cookie);
  };
  const mayReceive = (conn: DashboardConn, msg: unknown) => {
    const audience = audienceOf(msg);
    if (!audience) return true;
    const user = connUser(conn);
    return Boolean(user && allowed(user.roles, audience));
  };

  RED.plugins.registerPlugin('clinica-dashboard-auth', {
    type: 'node-red-dashboard-2',
    hooks: {
      /** msg._client.user: who sent this message from the dashboard, as Keycloak verified them at login. */
      onAddConnectionCredentials(conn: DashboardConn, msg: any) {
        const user = connUser(conn);
        if (!user) return msg;
        const { exp: _expiry, ...verified } = user;
        msg._client = { ...(msg._client ?? {}), user: verified };
        return msg;
      },
      onIsValidConnection(conn: DashboardConn, msg: unknown) {
        return mayReceive(conn, msg);
      },
      /** The last message of a widget, replayed when a page opens: only to those it is meant for. */
      onLoad(conn: DashboardConn, _id: string, msg: unknown, _state: unknown) {
        return mayReceive(conn, msg) ? msg : null;
      },
    },
  });
};
