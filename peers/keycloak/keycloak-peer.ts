/**
 * A real OpenID provider for the Keycloak tests: oidc-provider (certified) laid out like Keycloak
 * (issuer <base>/realms/clinica-realm, endpoints under /protocol/openid-connect/), with the clients and
 * users of seeds/keycloak/clinica-realm.json and Keycloak-shaped access tokens (realm_access,
 * resource_access, preferred_username, azp, typ "Bearer"). It can rotate its signing keys mid-test and
 * mint tokens with chosen defects for the negative cases. Listens on 127.0.0.1, ephemeral port.
 */
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { PassThrough } from 'node:stream';
import { SignJWT, exportJWK, generateKeyPair, type JWK, type JWTPayload } from 'jose';
import type Provider from 'oidc-provider';

export const PEER_REALM = 'clinica-realm';
const SEED_FILE = path.resolve(__dirname, '../../../seeds/keycloak/clinica-realm.json');
export const SEED_PASSWORD = 'clinica123';

export interface SeedUser {
  id?: string;
  username: string;
  email?: string;
  firstName?: string;
  lastName?: string;
  enabled?: boolean;
  credentials?: Array<{ type: string; value: string }>;
  realmRoles?: string[];
  clientRoles?: Record<string, string[]>;
  serviceAccountClientId?: string;
}

export interface SeedClient {
  clientId: string;
  secret?: string;
  publicClient?: boolean;
  bearerOnly?: boolean;
  standardFlowEnabled?: boolean;
  serviceAccountsEnabled?: boolean;
  directAccessGrantsEnabled?: boolean;
  redirectUris?: string[];
  protocolMappers?: Array<{ protocolMapper: string; config: Record<string, string> }>;
}

export interface SeedRealm {
  realm: string;
  accessTokenLifespan?: number;
  roles: { realm: Array<{ name: string }>; client?: Record<string, Array<{ name: string }>> };
  clients: SeedClient[];
  users: SeedUser[];
}

/** Reads the realm export, resolving Keycloak's `${ENV:default}` placeholders as Keycloak's import does. */
function loadRealmSeed(file = SEED_FILE, env: NodeJS.ProcessEnv = {}): SeedRealm {
  const text = fs.readFileSync(file, 'utf8').replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?::([^}]*))?\}/g, (_m, name: string, fallback?: string) => {
    const value = env[name];
    return JSON.stringify(value !== undefined && value !== '' ? value : (fallback ?? '')).slice(1, -1);
  });
  return JSON.parse(text) as SeedRealm;
}

export interface PeerOptions {
  /** Access-token lifetime (s); default the realm's accessTokenLifespan. */
  accessTokenTtlSec?: number;
  /** Client-credentials token lifetime (s); default as access tokens. */
  clientCredentialsTtlSec?: number;
  seedFile?: string;
  /**
   * Host name in the issuer (default 127.0.0.1). With "localhost" the peer acts like Keycloak with
   * KC_HOSTNAME=http://localhost:<port> and a dynamic back channel: tokens say localhost, while endpoints
   * follow the host each request used.
   */
  issuerHost?: string;
  /** Port to listen on (default: an ephemeral one). */
  port?: number;
}

interface SigningKey {
  kid: string;
  privateJwk: JWK;
  publicJwk: JWK;
  privateKey: CryptoKey;
}

type RequestCounter = Record<'discovery' | 'certs' | 'token' | 'auth' | 'userinfo' | 'login', number>;

export class KeycloakPeer {
  readonly seed: SeedRealm;
  readonly requests: RequestCounter = { discovery: 0, certs: 0, token: 0, auth: 0, userinfo: 0, login: 0 };
  baseUrl = '';
  issuer = '';
  /** Signing keys, newest (the active one) first; all are published. */
  keys: SigningKey[] = [];
  /** Set to make the token endpoint fail with this HTTP status (e.g. 503) until cleared. */
  failTokenEndpointWith?: number;
  private server?: http.Server;
  private provider?: Provider;
  private readonly redirects = new Map<string, string[]>();
  private readonly accessTtl: number;
  private readonly ccTtl: number;

  private constructor(private readonly options: PeerOptions) {
    this.seed = loadRealmSeed(options.seedFile);
    this.accessTtl = options.accessTokenTtlSec ?? this.seed.accessTokenLifespan ?? 300;
    this.ccTtl = options.clientCredentialsTtlSec ?? this.accessTtl;
    for (const c of this.seed.clients) this.redirects.set(c.clientId, [...(c.redirectUris ?? [])]);
  }

  static async start(options: PeerOptions = {}): Promise<KeycloakPeer> {
    const peer = new KeycloakPeer(options);
    await peer.listen();
    return peer;
  }

  /** A user of the seed by username. */
  user(username: string): SeedUser {
    const u = this.seed.users.find((x) => x.username === username);
    if (!u) throw new Error(`no user ${username} in the realm seed`);
    return u;
  }

  client(clientId: string): SeedClient {
    const c = this.seed.clients.find((x) => x.clientId === clientId);
    if (!c) throw new Error(`no client ${clientId} in the realm seed`);
    return c;
  }

  /** Lets a client redirect to `uri` too (e.g. a Node-RED started on an ephemeral port). */
  allowRedirect(clientId: string, uri: string): void {
    this.redirects.get(clientId)?.push(uri);
  }

  /** Claims Keycloak would put in an access token of `clientId` for `user`. */
  keycloakClaims(user: SeedUser, clientId: string): JWTPayload {
    const client = this.client(clientId);
    const resourceAccess: Record<string, { roles: string[] }> = {};
    for (const [c, roles] of Object.entries(user.clientRoles ?? {})) resourceAccess[c] = { roles };
    const audiences = new Set<string>();
    for (const m of client.protocolMappers ?? []) {
      if (m.protocolMapper === 'oidc-audience-mapper' && m.config['included.client.audience']) audiences.add(m.config['included.client.audience']);
    }
    for (const c of Object.keys(resourceAccess)) if (c !== clientId) audiences.add(c);
    const name = [user.firstName, user.lastName].filter(Boolean).join(' ');
    return {
      typ: 'Bearer',
      azp: clientId,
      aud: audiences.size === 0 ? 'account' : audiences.size === 1 ? [...audiences][0] : [...audiences],
      sub: this.subOf(user),
      preferred_username: user.username,
      ...(user.email ? { email: user.email, email_verified: true } : {}),
      ...(name ? { name, given_name: user.firstName, family_name: user.lastName } : {}),
      realm_access: { roles: [...(user.realmRoles ?? [])] },
      resource_access: resourceAccess,
      scope: 'profile email',
      acr: '1',
    };
  }

  /**
   * Signs a Keycloak-shaped access token directly (for the cases oidc-provider will not produce: expired,
   * future nbf, other issuer, …). `claims` override the defaults; `key` signs with another key.
   */
  async mint(username: string, clientId: string, claims: JWTPayload = {}, opts: { key?: SigningKey; header?: Record<string, unknown> } = {}): Promise<string> {
    const key = opts.key ?? this.keys[0];
    const now = Math.floor(Date.now() / 1000);
    const payload: JWTPayload = {
      exp: now + this.accessTtl,
      iat: now,
      jti: randomUUID(),
      iss: this.issuer,
      ...this.keycloakClaims(this.user(username), clientId),
      ...claims,
    };
    for (const [k, v] of Object.entries(payload)) if (v === undefined) delete payload[k];
    return new SignJWT(payload).setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid: key.kid, ...opts.header }).sign(key.privateKey);
  }

  /** A new RSA key that the realm does not publish (for the unknown-kid case). */
  static async strayKey(): Promise<SigningKey> {
    return makeKey();
  }

  /** Keycloak-style rotation: a new active key; the old ones stay published unless `dropOld`. */
  async rotateKeys(opts: { dropOld?: boolean } = {}): Promise<SigningKey> {
    const key = await makeKey();
    this.keys = opts.dropOld ? [key] : [key, ...this.keys];
    this.provider = await this.makeProvider();
    return key;
  }

  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private subOf(user: SeedUser): string {
    return user.id ?? `sub-${user.username}`;
  }

  private async listen(): Promise<void> {
    this.keys = [await makeKey()];
    const server = http.createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(String(err));
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.options.port ?? 0, '127.0.0.1', () => resolve());
    });
    this.server = server;
    this.baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    this.issuer = `http://${this.options.issuerHost ?? '127.0.0.1'}:${(server.address() as AddressInfo).port}/realms/${PEER_REALM}`;
    this.provider = await this.makeProvider();
  }

  /**
   * Keycloak's "direct access grant" (grant_type=password) for the clients that enable it (the realm's clinica-cli,
   * for curl in the lab): oidc-provider has no such grant, so it is answered here with a token signed by the
   * realm's key, as Keycloak would. Reads the form; answers a password grant and returns undefined, or returns a
   * request that replays the same body for oidc-provider.
   */
  private async passwordGrant(req: http.IncomingMessage, res: http.ServerResponse): Promise<http.IncomingMessage | undefined> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks);
    const form = new URLSearchParams(raw.toString('utf8'));
    if (form.get('grant_type') !== 'password') {
      const replay = new PassThrough();
      Object.assign(replay, {
        headers: req.headers,
        rawHeaders: req.rawHeaders,
        method: req.method,
        url: req.url,
        socket: req.socket,
        connection: req.socket,
        httpVersion: req.httpVersion,
        httpVersionMajor: req.httpVersionMajor,
        httpVersionMinor: req.httpVersionMinor,
      });
      replay.end(raw);
      return replay as unknown as http.IncomingMessage;
    }
    const fail = (status: number, error: string, description: string) => {
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ error, error_description: description }));
      return undefined;
    };
    const client = this.seed.clients.find((c) => c.clientId === form.get('client_id'));
    if (!client) return fail(401, 'invalid_client', 'Invalid client or Invalid client credentials');
    if (!client.directAccessGrantsEnabled) return fail(400, 'unauthorized_client', 'Client not allowed for direct access grants');
    const user = this.seed.users.find((u) => u.username === form.get('username'));
    const ok = user && user.enabled !== false && (user.credentials ?? []).some((c) => c.type === 'password' && c.value === form.get('password'));
    if (!ok || !user) return fail(401, 'invalid_grant', 'Invalid user credentials');
    const token = await this.mint(user.username, client.clientId);
    res
      .writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' })
      .end(JSON.stringify({ access_token: token, expires_in: this.accessTtl, token_type: 'Bearer', scope: 'profile email', 'not-before-policy': 0 }));
    return undefined;
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const prefix = `/realms/${PEER_REALM}`;
    const url = req.url ?? '/';
    if (!url.startsWith(prefix)) {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"Realm does not exist"}');
      return;
    }
    const rest = url.slice(prefix.length) || '/';
    const route = rest.split('?')[0];
    if (route === '/.well-known/openid-configuration') this.requests.discovery += 1;
    else if (route === '/protocol/openid-connect/certs') this.requests.certs += 1;
    else if (route === '/protocol/openid-connect/token') {
      this.requests.token += 1;
      if (this.failTokenEndpointWith) {
        res.writeHead(this.failTokenEndpointWith, { 'content-type': 'text/plain' }).end('token endpoint failing on purpose');
        return;
      }
      if (req.method === 'POST' && String(req.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded')) {
        const replay = await this.passwordGrant(req, res);
        if (!replay) return;
        req = replay;
      }
    } else if (route === '/protocol/openid-connect/auth') this.requests.auth += 1;
    else if (route === '/protocol/openid-connect/userinfo') this.requests.userinfo += 1;
    const login = /^\/login-actions\/([^/?]+)$/.exec(route);
    if (login) {
      await this.loginPage(req, res);
      return;
    }
    const provider = this.provider;
    if (!provider) throw new Error('provider not ready');
    (req as { originalUrl?: string }).originalUrl = url;
    req.url = rest;
    provider.callback()(req, res);
  }

  /** Keycloak's login form, reduced: GET shows it, POST checks the seed user's password. */
  private async loginPage(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const provider = this.provider;
    if (!provider) throw new Error('provider not ready');
    const details = await provider.interactionDetails(req, res);
    if (req.method === 'GET') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(`<!doctype html><html><body><form id="kc-form-login" method="post" action="${req.url}">
<input name="username" id="username"><input name="password" id="password" type="password">
<input type="submit" id="kc-login" value="Sign In"></form></body></html>`);
      return;
    }
    this.requests.login += 1;
    const form = new URLSearchParams(await readBody(req));
    const user = this.seed.users.find((u) => u.username === form.get('username') && !u.serviceAccountClientId);
    const ok = user && user.enabled !== false && (user.credentials ?? []).some((c) => c.type === 'password' && c.value === form.get('password'));
    if (!ok || !user) {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end('<!doctype html><html><body><span id="input-error">Invalid username or password.</span></body></html>');
      return;
    }
    if (details.prompt.name !== 'login') throw new Error(`unexpected prompt ${details.prompt.name}`);
    await provider.interactionFinished(req, res, { login: { accountId: this.subOf(user) } }, { mergeWithLastSubmission: false });
  }

  private async makeProvider(): Promise<Provider> {
    const { default: ProviderClass } = await import('oidc-provider');
    const peer = this;
    const resource = `urn:keycloak:${PEER_REALM}`;
    const usersBySub = new Map(this.seed.users.map((u) => [this.subOf(u), u]));
    const clients = this.seed.clients.flatMap((c) => providerClient(c));
    const provider = new ProviderClass(this.issuer, {
      clients,
      jwks: { keys: this.keys.map((k) => k.privateJwk) },
      cookies: { keys: ['keycloak-peer-cookie-key'] },
      routes: {
        authorization: '/protocol/openid-connect/auth',
        token: '/protocol/openid-connect/token',
        jwks: '/protocol/openid-connect/certs',
        userinfo: '/protocol/openid-connect/userinfo',
        end_session: '/protocol/openid-connect/logout',
        introspection: '/protocol/openid-connect/token/introspect',
        revocation: '/protocol/openid-connect/revoke',
      },
      scopes: ['openid', 'offline_access', 'profile', 'email', 'roles'],
      claims: {
        openid: ['sub'],
        profile: ['preferred_username', 'name', 'given_name', 'family_name'],
        email: ['email', 'email_verified'],
      },
      features: {
        devInteractions: { enabled: false },
        clientCredentials: { enabled: true },
        introspection: { enabled: true },
        revocation: { enabled: true },
        rpInitiatedLogout: { enabled: true },
        resourceIndicators: {
          enabled: true,
          defaultResource: () => resource,
          useGrantedResource: () => true,
          getResourceServerInfo: () => ({
            scope: 'profile email roles',
            audience: 'account',
            accessTokenFormat: 'jwt',
            accessTokenTTL: this.accessTtl,
            jwt: { sign: { alg: 'RS256' } },
          }),
        },
      },
      ttl: {
        AccessToken: () => this.accessTtl,
        ClientCredentials: () => this.ccTtl,
        AuthorizationCode: 60,
        IdToken: 3600,
        Interaction: 600,
        Session: 3600,
        Grant: 3600,
      },
      async findAccount(_ctx: unknown, sub: string) {
        const user = usersBySub.get(sub);
        if (!user) return undefined;
        return {
          accountId: sub,
          claims: async () => ({
            sub,
            preferred_username: user.username,
            email: user.email,
            email_verified: true,
            name: [user.firstName, user.lastName].filter(Boolean).join(' '),
            given_name: user.firstName,
            family_name: user.lastName,
          }),
        };
      },
      interactions: { url: (_ctx: unknown, interaction: { uid: string }) => `${this.issuer}/login-actions/${interaction.uid}` },
      // First-party clients: no consent screen (as Keycloak with consent off), everything requested is granted.
      async loadExistingGrant(ctx: {
        oidc: {
          client: { clientId: string };
          session: { accountId?: string };
          requestParamScopes: Set<string>;
          resourceServers?: Record<string, { scope?: string }>;
        };
      }) {
        const accountId = ctx.oidc.session.accountId;
        if (!accountId) return undefined;
        const grant = new provider.Grant({ clientId: ctx.oidc.client.clientId, accountId });
        grant.addOIDCScope([...ctx.oidc.requestParamScopes].join(' '));
        for (const [indicator, rs] of Object.entries(ctx.oidc.resourceServers ?? {})) grant.addResourceScope(indicator, rs.scope ?? '');
        await grant.save();
        return grant;
      },
      formats: {
        customizers: {
          // Keycloak's access-token shape: header typ JWT, payload typ Bearer, azp, roles, username.
          async jwt(_ctx: unknown, token: { accountId?: string; clientId: string }, jwt: { header?: Record<string, unknown>; payload: JWTPayload }) {
            const user = token.accountId ? usersBySub.get(token.accountId) : peer.seed.users.find((u) => u.serviceAccountClientId === token.clientId);
            if (!user) return;
            const { scope: _ignored, ...claims } = peer.keycloakClaims(user, token.clientId);
            jwt.header = { typ: 'JWT' };
            Object.assign(jwt.payload, claims);
            delete jwt.payload.client_id;
          },
        },
      },
      clientBasedCORS: () => true,
      async renderError(ctx: { type: string; body: unknown }, out: unknown) {
        ctx.type = 'json';
        ctx.body = out;
      },
    });
    provider.Client.prototype.redirectUriAllowed = function redirectUriAllowed(this: { clientId: string }, uri: string) {
      return (peer.redirects.get(this.clientId) ?? []).some((pattern) => keycloakRedirectMatch(pattern, uri));
    };
    return provider;
  }
}

/** The seed's client as oidc-provider metadata; bearer-only and implicit-only clients have no place here. */
function providerClient(c: SeedClient): Array<Record<string, unknown>> {
  if (c.bearerOnly) return [];
  const grants: string[] = [];
  if (c.standardFlowEnabled) grants.push('authorization_code', 'refresh_token');
  if (c.serviceAccountsEnabled && !c.publicClient) grants.push('client_credentials');
  if (grants.length === 0) return [];
  return [
    {
      client_id: c.clientId,
      ...(c.publicClient ? { token_endpoint_auth_method: 'none' } : { client_secret: c.secret, token_endpoint_auth_method: 'client_secret_post' }),
      grant_types: grants,
      response_types: c.standardFlowEnabled ? ['code'] : [],
      redirect_uris: c.standardFlowEnabled ? (c.redirectUris ?? []).map((u) => u.replace(/\*$/, '')) : [],
    },
  ];
}

/** Keycloak's redirect URI rule: exact, or a prefix when the registered URI ends with `*`. */
function keycloakRedirectMatch(pattern: string, uri: string): boolean {
  return pattern.endsWith('*') ? uri.startsWith(pattern.slice(0, -1)) : uri === pattern;
}

async function makeKey(): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
  const kid = randomUUID();
  const privateJwk = { ...(await exportJWK(privateKey)), kid, alg: 'RS256', use: 'sig' };
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' };
  return { kid, privateJwk, publicJwk, privateKey };
}

function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
