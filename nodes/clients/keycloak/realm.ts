/**
 * One Keycloak realm as the pack sees it: discovery from <url>/realms/<realm>, the key cache, token
 * verification and client-credentials tokens. No Node-RED import; the realm config node owns one of these.
 */
import * as oidc from 'openid-client';
import { IntegrationError } from '../common/errors';
import { keycloakError, keycloakHttpError, notConfigured } from './errors';
import { JwksCache, type FetchReason } from './jwks';
import { ServiceTokenCache, type ServiceToken } from './service-token';
import { TokenVerifier, type VerifiedToken } from './verifier';

export interface RealmSettings {
  /** Keycloak base URL Node-RED calls, e.g. http://localhost:8080 (Keycloak 17+; add /auth for older servers). */
  url: string;
  /**
   * The URL browsers use and tokens carry as issuer, when it differs from `url` (Keycloak behind another
   * host name, e.g. http://localhost:8080 outside docker while Node-RED calls http://keycloak:8080).
   */
  publicUrl?: string;
  realm: string;
  clientId: string;
  /** Needed only for client-credentials tokens and editor login (confidential client). */
  clientSecret?: string;
  /** Further audiences accepted beside clientId. */
  audiences?: string[];
  algorithms?: string[];
  clockToleranceSec?: number;
  /** Minimum time between JWKS refetches caused by unknown key ids (default 10 s). */
  jwksCooldownMs?: number;
  /** HTTP timeout towards Keycloak (default 5000 ms). */
  timeoutMs?: number;
  /** Wait this long before trying discovery again after it failed (default 2000 ms). */
  retryAfterMs?: number;
  /** Clock of the service-token cache (tests move it forward instead of waiting). */
  now?: () => number;
}

export interface RealmEvents {
  /** Discovery and key-set events, for logs: never contains a token or secret. */
  onEvent?: (event: string, fields: Record<string, unknown>) => void;
}

/** `${url}/realms/${realm}` with a single slash between the parts. */
export function issuerOf(url: string, realm: string): string {
  return `${url.replace(/\/+$/, '')}/realms/${encodeURIComponent(realm)}`;
}

export class KeycloakRealm {
  readonly issuer: string;
  private configPromise?: Promise<oidc.Configuration>;
  private failedAt = 0;
  private lastFailure?: IntegrationError;
  private jwks?: JwksCache;
  private verifier?: TokenVerifier;
  private readonly tokens: ServiceTokenCache;

  constructor(
    readonly settings: RealmSettings,
    private readonly events: RealmEvents = {},
  ) {
    if (!settings.url) throw notConfigured('URL (KEYCLOAK_URL)');
    if (!settings.realm) throw notConfigured('realm (KEYCLOAK_REALM)');
    if (!settings.clientId) throw notConfigured('client id (KEYCLOAK_CLIENT_ID)');
    try {
      new URL(settings.url);
    } catch {
      throw new IntegrationError(`Keycloak URL "${settings.url}" is not a URL; write it as http(s)://host:port`, {
        code: 'KEYCLOAK_NOT_CONFIGURED',
        system: 'keycloak',
        retryable: false,
      });
    }
    this.issuer = issuerOf(settings.url, settings.realm);
    this.tokens = new ServiceTokenCache((scope) => this.requestServiceToken(scope), { now: settings.now });
  }

  get realm(): string {
    return this.settings.realm;
  }

  get clientId(): string {
    return this.settings.clientId;
  }

  /** The discovered configuration (openid-client), fetched once; a failure is retried after a pause. */
  configuration(): Promise<oidc.Configuration> {
    if (this.configPromise) return this.configPromise;
    if (this.lastFailure && Date.now() - this.failedAt < (this.settings.retryAfterMs ?? 2000)) {
      return Promise.reject(this.lastFailure);
    }
    const promise = this.discover().then(
      (config) => {
        this.lastFailure = undefined;
        this.events.onEvent?.('keycloak.discovered', { issuer: config.serverMetadata().issuer });
        return config;
      },
      (err: unknown) => {
        const failure = keycloakError(err, 'discovery', `${this.issuer}/.well-known/openid-configuration`);
        this.configPromise = undefined;
        this.failedAt = Date.now();
        this.lastFailure = failure;
        this.events.onEvent?.('keycloak.discovery.failed', { issuer: this.issuer, code: failure.code, message: failure.message });
        throw failure;
      },
    );
    this.configPromise = promise;
    return promise;
  }

  /**
   * Reads the realm's metadata from `url` and accepts as issuer either that URL's realm or the public one.
   * Back-channel endpoints (token, keys, userinfo…) published under the public host are called through
   * `url`; the browser-facing ones (authorization, logout) keep the public host.
   */
  private async discover(): Promise<oidc.Configuration> {
    const where = `${this.issuer}/.well-known/openid-configuration`;
    const timeoutMs = this.settings.timeoutMs ?? 5000;
    let res: Response;
    try {
      res = await fetch(where, { headers: { accept: 'application/json' }, signal: AbortSignal.timeout(timeoutMs) });
    } catch (err) {
      throw keycloakError(err, 'discovery', where);
    }
    if (!res.ok) throw keycloakHttpError('discovery', res.status, where, await res.text().catch(() => ''));
    const meta = (await res.json().catch((err: unknown) => {
      throw keycloakError(err, 'discovery (parsing)', where);
    })) as oidc.ServerMetadata;
    const publicIssuer = issuerOf(this.settings.publicUrl || this.settings.url, this.realm);
    if (meta.issuer !== this.issuer && meta.issuer !== publicIssuer) {
      throw new IntegrationError(
        `Keycloak discovery at ${where} names the issuer ${String(meta.issuer)}, expected ${publicIssuer}; ` +
          'set KEYCLOAK_PUBLIC_URL to the URL people reach Keycloak at (its KC_HOSTNAME), or fix KEYCLOAK_URL / KEYCLOAK_REALM',
        { code: 'KEYCLOAK_ISSUER_MISMATCH', system: 'keycloak', retryable: false, details: { expected: publicIssuer, found: meta.issuer } },
      );
    }
    const publicBase = meta.issuer.slice(0, -`/realms/${encodeURIComponent(this.realm)}`.length);
    const internalBase = this.settings.url.replace(/\/+$/, '');
    if (publicBase !== internalBase) {
      for (const key of [
        'token_endpoint',
        'jwks_uri',
        'userinfo_endpoint',
        'introspection_endpoint',
        'revocation_endpoint',
        'pushed_authorization_request_endpoint',
      ] as const) {
        const value = meta[key];
        if (typeof value === 'string' && value.startsWith(`${publicBase}/`))
          (meta as Record<string, unknown>)[key] = internalBase + value.slice(publicBase.length);
      }
    }
    const { clientId, clientSecret } = this.settings;
    const config = new oidc.Configuration(meta, clientId, clientSecret || undefined, clientSecret ? oidc.ClientSecretPost(clientSecret) : oidc.None());
    if ([this.issuer, meta.issuer, meta.token_endpoint ?? ''].some((u) => u.startsWith('http:'))) oidc.allowInsecureRequests(config);
    config.timeout = Math.ceil(timeoutMs / 1000);
    return config;
  }

  /** Verifies a bearer access token; throws TokenError (401) or a retryable error when Keycloak is away. */
  async verify(token: string | undefined): Promise<VerifiedToken> {
    return (this.verifier ?? (await this.makeVerifier())).verify(token);
  }

  /** A client-credentials access token of this client, cached until shortly before it expires. */
  serviceToken(scope = ''): Promise<ServiceToken> {
    return this.tokens.get(scope);
  }

  /** Forgets cached service tokens and the discovery result (e.g. after the client secret changed). */
  reset(): void {
    this.tokens.clear();
    this.configPromise = undefined;
    this.lastFailure = undefined;
    this.verifier = undefined;
    this.jwks = undefined;
  }

  /** Fetches the realm's keys now (e.g. at start, to know whether Keycloak is reachable). */
  async warmUp(): Promise<void> {
    await this.configuration();
    await this.makeVerifier();
    await this.jwks?.refresh('initial');
  }

  private async makeVerifier(): Promise<TokenVerifier> {
    const config = await this.configuration();
    if (this.verifier) return this.verifier;
    const meta = config.serverMetadata();
    if (!meta.jwks_uri) {
      throw new IntegrationError(`Keycloak realm ${this.issuer} publishes no jwks_uri; is this a Keycloak realm URL?`, {
        code: 'KEYCLOAK_BAD_RESPONSE',
        system: 'keycloak',
        retryable: false,
      });
    }
    this.jwks = new JwksCache({
      url: meta.jwks_uri,
      realm: this.realm,
      unknownKidCooldownMs: this.settings.jwksCooldownMs,
      timeoutMs: this.settings.timeoutMs,
      onFetch: ({ reason, keys, error }: { reason: FetchReason; keys?: number; error?: Error }) =>
        this.events.onEvent?.(error ? 'keycloak.jwks.failed' : 'keycloak.jwks.fetched', {
          issuer: this.issuer,
          reason,
          ...(keys === undefined ? {} : { keys }),
          ...(error ? { code: (error as IntegrationError).code, message: error.message } : {}),
        }),
    });
    this.verifier = new TokenVerifier(this.jwks, {
      issuer: meta.issuer,
      realm: this.realm,
      clientId: this.clientId,
      audiences: this.settings.audiences,
      algorithms: this.settings.algorithms,
      clockToleranceSec: this.settings.clockToleranceSec,
    });
    return this.verifier;
  }

  private async requestServiceToken(scope: string) {
    if (!this.settings.clientSecret) {
      throw new IntegrationError(
        `Keycloak client "${this.clientId}" of realm "${this.realm}" has no secret: client-credentials tokens need a confidential client with service accounts enabled; set its secret in the realm config node or KEYCLOAK_CLIENT_SECRET`,
        { code: 'KEYCLOAK_NOT_CONFIGURED', system: 'keycloak', retryable: false },
      );
    }
    const config = await this.configuration();
    const where = config.serverMetadata().token_endpoint ?? this.issuer;
    try {
      const res = await oidc.clientCredentialsGrant(config, scope ? { scope } : {});
      this.events.onEvent?.('keycloak.service-token.issued', { clientId: this.clientId, expiresIn: res.expires_in, scope: res.scope });
      return res;
    } catch (err) {
      throw keycloakError(err, `client-credentials token for client "${this.clientId}"`, where);
    }
  }
}
