/**
 * The realm's signing keys (JWKS), cached. An unknown `kid` triggers one refetch, so a key rotation in
 * Keycloak is picked up at once; further unknown kids within the cool-down do not refetch, so a flood of
 * forged tokens cannot make us hammer Keycloak. Concurrent callers share one fetch.
 */
import { importJWK, type JWK } from 'jose';
import { count } from '../common/metrics';
import { TokenError, keycloakError, keycloakHttpError } from './errors';

export interface JwksOptions {
  /** The realm's jwks_uri (Keycloak: <issuer>/protocol/openid-connect/certs). */
  url: string;
  /** Realm name, for error messages. */
  realm: string;
  /** Minimum time between refetches caused by an unknown kid (default 10 s). */
  unknownKidCooldownMs?: number;
  /** Age after which the keys are refreshed in the background on next use (default 10 min). */
  maxAgeMs?: number;
  /** Per-request timeout (default 5 s). */
  timeoutMs?: number;
  now?: () => number;
  /** Told about every fetch (for logs): why, how many signing keys, or the error. */
  onFetch?: (event: { reason: FetchReason; keys?: number; error?: Error }) => void;
}

export type FetchReason = 'initial' | 'unknown-kid' | 'max-age';

type VerifyKey = Awaited<ReturnType<typeof importJWK>>;

export class JwksCache {
  private jwks = new Map<string, JWK>();
  private imported = new Map<string, VerifyKey>();
  private loadedAt = 0;
  private lastUnknownKidFetch = Number.NEGATIVE_INFINITY;
  private inflight?: Promise<void>;
  private readonly now: () => number;

  constructor(private readonly options: JwksOptions) {
    this.now = options.now ?? Date.now;
  }

  /** Number of signing keys currently known. */
  get size(): number {
    return this.jwks.size;
  }

  /** The verification key for a token header; throws TokenError UNKNOWN_KEY / ALG_REJECTED. */
  async keyFor(kid: string | undefined, alg: string): Promise<VerifyKey> {
    if (this.loadedAt === 0) await this.refresh('initial');
    else if (this.now() - this.loadedAt > (this.options.maxAgeMs ?? 600_000) && !this.inflight) {
      this.refresh('max-age').catch(() => undefined); // stale keys keep working while Keycloak is slow
    }
    let jwk = this.find(kid, alg);
    if (!jwk) {
      if (this.inflight) {
        await this.inflight.catch(() => undefined);
      } else if (this.now() - this.lastUnknownKidFetch >= (this.options.unknownKidCooldownMs ?? 10_000)) {
        this.lastUnknownKidFetch = this.now();
        await this.refresh('unknown-kid');
      }
      jwk = this.find(kid, alg);
    }
    if (!jwk) throw new TokenError('UNKNOWN_KEY', this.options.realm, kid ? `kid ${kid}` : 'no kid in the token header');
    if (jwk.alg && jwk.alg !== alg) {
      throw new TokenError('ALG_REJECTED', this.options.realm, `key ${kid ?? ''} is for ${jwk.alg}, the token says ${alg}`);
    }
    const cacheKey = `${jwk.kid ?? ''}|${alg}`;
    let key = this.imported.get(cacheKey);
    if (!key) {
      try {
        key = await importJWK(jwk, alg);
      } catch (err) {
        throw new TokenError('ALG_REJECTED', this.options.realm, `key ${kid ?? ''} (${jwk.kty}) cannot verify ${alg}`, err);
      }
      this.imported.set(cacheKey, key);
    }
    return key;
  }

  /** Fetches the keys now (one fetch at a time; callers arriving meanwhile share it). */
  refresh(reason: FetchReason): Promise<void> {
    if (!this.inflight) {
      this.inflight = this.fetchKeys(reason).finally(() => {
        this.inflight = undefined;
      });
    }
    return this.inflight;
  }

  private find(kid: string | undefined, alg: string): JWK | undefined {
    if (kid !== undefined) return this.jwks.get(kid);
    // No kid: acceptable only when exactly one signing key could have made this signature.
    const candidates = [...this.jwks.values()].filter((k) => !k.alg || k.alg === alg);
    return candidates.length === 1 ? candidates[0] : undefined;
  }

  private async fetchKeys(reason: FetchReason): Promise<void> {
    const { url } = this.options;
    count('keycloak', 'jwks_fetches', { reason });
    try {
      let res: Response;
      try {
        res = await fetch(url, { headers: { accept: 'application/json' }, signal: AbortSignal.timeout(this.options.timeoutMs ?? 5000) });
      } catch (err) {
        throw keycloakError(err, 'key set (JWKS) download', url);
      }
      if (!res.ok) throw keycloakHttpError('key set (JWKS) download', res.status, url, await res.text().catch(() => ''));
      let body: { keys?: unknown };
      try {
        body = (await res.json()) as { keys?: unknown };
      } catch (err) {
        throw keycloakError(err, 'key set (JWKS) parsing', url);
      }
      const keys = Array.isArray(body.keys) ? (body.keys as JWK[]) : [];
      const next = new Map<string, JWK>();
      let unnamed = 0;
      for (const k of keys) {
        if (!k || typeof k !== 'object' || (k.use && k.use !== 'sig') || !k.kty || k.kty === 'oct') continue;
        next.set(k.kid ?? `#${unnamed++}`, k);
      }
      for (const cached of [...this.imported.keys()]) {
        const [kid] = cached.split('|');
        if (!next.has(kid)) this.imported.delete(cached);
      }
      this.jwks = next;
      this.loadedAt = this.now();
      this.options.onFetch?.({ reason, keys: next.size });
    } catch (err) {
      count('keycloak', 'jwks_fetch_failures', { reason });
      this.options.onFetch?.({ reason, error: err as Error });
      throw err;
    }
  }
}
