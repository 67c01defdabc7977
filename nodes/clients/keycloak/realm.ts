/**
 * One Keycloak realm as the pack sees it: discovery from <url>/realms/<realm>, the key cache, token
 * verification and client-credentials tokens. No Node-RED import; the realm config node owns one of these.
 */
import * as oidc from 'openid-client';
import { IntegrationError } from '../../lib/errors';
import { keycloakError, notConfigured } from './errors';
import { JwksCache, type FetchReason } from './jwks';
import { ServiceTokenCache, type ServiceToken } from './service-token';
import { TokenVerifier, type VerifiedToken } from './verifier';

export interface RealmSettings {
  /** Keycloak base URL, e.g. http://localhost:8080 (Keycloak 17+; add /auth for older servers). */
  url: string;
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

  constructor(readonly settings: RealmSettings, private readonly events: RealmEvents = {}) {
    if (!settings.url) throw notConfigured('URL (KEYCLOAK_URL)');
    if (!settings.realm) throw notConfigured('realm (KEYCLOAK_REALM)');
    if (!settings.clientId) throw notConfigured('client id (KEYCLOAK_CLIENT_ID)');
    try {
      new URL(settings.url);
    } catch {
      throw new IntegrationError(`Keycloak URL "${settings.url}" is not a URL; write it as http(s)://host:port`, {
        code: 'KEYCLOAK_NOT_CONFIGURED', system: 'keycloak', retryable: false,
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
    const where = `${this.issuer}/.well-known/openid-configuration`;
    const { clientId, clientSecret, timeoutMs } = this.settings;
    const insecure = this.issuer.startsWith('http:');
    const promise = oidc
      .discovery(new URL(this.issuer), clientId, clientSecret || undefined, clientSecret ? oidc.ClientSecretPost(clientSecret) : oidc.None(), {
        execute: insecure ? [oidc.allowInsecureRequests] : [],
        timeout: Math.ceil((timeoutMs ?? 5000) / 1000),
      })
      .then(
        (config) => {
          this.lastFailure = undefined;
          this.events.onEvent?.('keycloak.discovered', { issuer: this.issuer });
          return config;
        },
        (err: unknown) => {
          const failure = keycloakError(err, 'discovery', where);
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
        code: 'KEYCLOAK_BAD_RESPONSE', system: 'keycloak', retryable: false,
      });
    }
    this.jwks = new JwksCache({
      url: meta.jwks_uri,
      realm: this.realm,
      unknownKidCooldownMs: this.settings.jwksCooldownMs,
      timeoutMs: this.settings.timeoutMs,
      onFetch: ({ reason, keys, error }: { reason: FetchReason; keys?: number; error?: Error }) =>
        this.events.onEvent?.(error ? 'keycloak.jwks.failed' : 'keycloak.jwks.fetched', {
          issuer: this.issuer, reason, ...(keys === undefined ? {} : { keys }), ...(error ? { code: (error as IntegrationError).code, message: error.message } : {}),
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
