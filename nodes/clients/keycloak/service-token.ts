/**
 * Client-credentials tokens for the pack's own calls to other systems. A token is reused until shortly
 * before it expires; when it must be renewed, concurrent callers wait for one shared request, so Keycloak
 * sees one token request per renewal however many messages are in flight.
 */
import { count } from '../common/metrics';

export interface ServiceToken {
  accessToken: string;
  /** ms since epoch. */
  expiresAt: number;
  tokenType: string;
  scope?: string;
}

export interface IssuedToken {
  access_token: string;
  expires_in?: number;
  token_type?: string;
  scope?: string;
}

export interface ServiceTokenOptions {
  /** Renew this long before expiry at most (default 30 s); at most 10% of the token's lifetime is used. */
  refreshBeforeMs?: number;
  now?: () => number;
}

interface Entry {
  token?: ServiceToken;
  renewAt: number;
  inflight?: Promise<ServiceToken>;
}

export class ServiceTokenCache {
  private readonly entries = new Map<string, Entry>();
  private readonly now: () => number;

  constructor(
    private readonly issue: (scope: string) => Promise<IssuedToken>,
    private readonly options: ServiceTokenOptions = {},
  ) {
    this.now = options.now ?? Date.now;
  }

  /** A valid token for `scope` ('' = the client's default scopes). */
  async get(scope = ''): Promise<ServiceToken> {
    const entry = this.entries.get(scope) ?? { renewAt: 0 };
    this.entries.set(scope, entry);
    const now = this.now();
    if (entry.token && now < entry.renewAt) {
      count('keycloak', 'service_token_cache_hits');
      return entry.token;
    }
    if (!entry.inflight) {
      entry.inflight = this.renew(scope, entry).finally(() => {
        entry.inflight = undefined;
      });
    }
    try {
      return await entry.inflight;
    } catch (err) {
      // Keycloak briefly away while the old token is still valid: keep using it.
      if (entry.token && this.now() < entry.token.expiresAt) return entry.token;
      throw err;
    }
  }

  /** Forgets cached tokens (e.g. after a downstream 401 or a secret change). */
  clear(): void {
    this.entries.clear();
  }

  private async renew(scope: string, entry: Entry): Promise<ServiceToken> {
    const started = this.now();
    count('keycloak', 'service_tokens_requested');
    const issued = await this.issue(scope);
    const lifetimeMs = Math.max(0, (issued.expires_in ?? 60) * 1000);
    const token: ServiceToken = {
      accessToken: issued.access_token,
      expiresAt: started + lifetimeMs,
      tokenType: issued.token_type ?? 'Bearer',
      ...(issued.scope ? { scope: issued.scope } : {}),
    };
    const margin = Math.min(this.options.refreshBeforeMs ?? 30_000, lifetimeMs * 0.1);
    entry.token = token;
    entry.renewAt = token.expiresAt - margin;
    return token;
  }
}
