/**
 * Access-token verification the way a Keycloak resource server must do it: signature against the realm's
 * published keys with an allow-list of asymmetric algorithms, issuer, audience (`aud` or `azp`), expiry and
 * not-before with a small clock skew, and `typ: Bearer`. Roles come from realm_access and
 * resource_access.<client>.
 */
import { decodeProtectedHeader, jwtVerify, type JWTPayload, type ProtectedHeaderParameters } from 'jose';
import { TokenError } from './errors';
import type { JwksCache } from './jwks';

/** Asymmetric JWS algorithms Keycloak can sign with. `none` and HMAC are never accepted. */
const ASYMMETRIC_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'];

export interface VerifierOptions {
  issuer: string;
  realm: string;
  /** The client whose roles count and which must be the audience (aud) or authorized party (azp). */
  clientId: string;
  /** Further accepted audiences (e.g. an API's resource client), beside clientId. */
  audiences?: string[];
  /** Accepted algorithms (subset of ASYMMETRIC_ALGORITHMS; default all of them). */
  algorithms?: string[];
  /** Seconds of clock difference tolerated for exp / nbf / iat (default 10). */
  clockToleranceSec?: number;
}

/** The verified caller, as put on msg.user. */
export interface KeycloakUser {
  sub: string;
  username: string;
  email?: string;
  roles: string[];
}

export interface KeycloakClaims extends JWTPayload {
  typ?: string;
  azp?: string;
  scope?: string;
  preferred_username?: string;
  email?: string;
  name?: string;
  realm_access?: { roles?: string[] };
  resource_access?: Record<string, { roles?: string[] }>;
  sid?: string;
}

export interface VerifiedToken {
  user: KeycloakUser;
  claims: KeycloakClaims;
  realmRoles: string[];
  clientRoles: string[];
  /** The client the token was issued to (azp). */
  clientId?: string;
  scopes: string[];
  /** Expiry, ms since epoch. */
  expiresAt: number;
  header: { alg: string; kid?: string };
}

export class TokenVerifier {
  private readonly algorithms: string[];
  private readonly audiences: Set<string>;
  private readonly tolerance: number;

  constructor(
    private readonly jwks: JwksCache,
    private readonly options: VerifierOptions,
  ) {
    const allowed = options.algorithms?.length ? options.algorithms : ASYMMETRIC_ALGORITHMS;
    this.algorithms = allowed.filter((a) => ASYMMETRIC_ALGORITHMS.includes(a));
    if (this.algorithms.length === 0) throw new TypeError(`no asymmetric algorithm in ${allowed.join(', ')}`);
    this.audiences = new Set([options.clientId, ...(options.audiences ?? [])].filter(Boolean));
    this.tolerance = options.clockToleranceSec ?? 10;
  }

  async verify(token: string | undefined): Promise<VerifiedToken> {
    const { realm } = this.options;
    if (!token) throw new TokenError('MISSING', realm);
    if (token.split('.').length !== 3) throw new TokenError('MALFORMED', realm, 'expected three dot-separated parts');
    let header: ProtectedHeaderParameters;
    try {
      header = decodeProtectedHeader(token);
    } catch (err) {
      throw new TokenError('MALFORMED', realm, 'unreadable header', err);
    }
    const alg = typeof header.alg === 'string' ? header.alg : '';
    if (!this.algorithms.includes(alg)) throw new TokenError('ALG_REJECTED', realm, `alg ${alg || 'missing'}`);
    const key = await this.jwks.keyFor(header.kid, alg);
    let claims: KeycloakClaims;
    try {
      ({ payload: claims } = await jwtVerify<KeycloakClaims>(token, key, {
        algorithms: this.algorithms,
        issuer: this.options.issuer,
        clockTolerance: this.tolerance,
        requiredClaims: ['exp'],
      }));
    } catch (err) {
      throw this.joseProblem(err);
    }
    if (claims.typ !== undefined && String(claims.typ).toLowerCase() !== 'bearer') {
      throw new TokenError('WRONG_TYPE', realm, `typ ${String(claims.typ)}`);
    }
    const aud = claims.aud === undefined ? [] : Array.isArray(claims.aud) ? claims.aud : [claims.aud];
    if (!aud.some((a) => this.audiences.has(a)) && !(claims.azp && this.audiences.has(claims.azp))) {
      throw new TokenError('WRONG_AUDIENCE', realm, `expected ${[...this.audiences].join(' or ')}`);
    }
    const { realm: realmRoles, client: clientRoles } = rolesOf(claims, this.options.clientId);
    return {
      user: {
        sub: claims.sub ?? '',
        username: claims.preferred_username ?? claims.sub ?? '',
        ...(claims.email ? { email: claims.email } : {}),
        roles: [...new Set([...realmRoles, ...clientRoles])],
      },
      claims,
      realmRoles,
      clientRoles,
      clientId: claims.azp ?? (typeof claims.client_id === 'string' ? claims.client_id : undefined),
      scopes: typeof claims.scope === 'string' ? claims.scope.split(' ').filter(Boolean) : [],
      expiresAt: (claims.exp ?? 0) * 1000,
      header: { alg, ...(header.kid ? { kid: header.kid } : {}) },
    };
  }

  private joseProblem(err: unknown): TokenError {
    const { realm } = this.options;
    const e = err as { code?: string; claim?: string; reason?: string };
    switch (e.code) {
      case 'ERR_JWT_EXPIRED':
        return new TokenError('EXPIRED', realm, undefined, err);
      case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
        return new TokenError('BAD_SIGNATURE', realm, undefined, err);
      case 'ERR_JOSE_ALG_NOT_ALLOWED':
        return new TokenError('ALG_REJECTED', realm, undefined, err);
      case 'ERR_JWT_CLAIM_VALIDATION_FAILED':
        if (e.claim === 'iss') return new TokenError('WRONG_ISSUER', realm, `expected ${this.options.issuer}`, err);
        if (e.claim === 'nbf' || (e.claim === 'iat' && e.reason === 'check_failed')) return new TokenError('NOT_YET_VALID', realm, undefined, err);
        return new TokenError('MALFORMED', realm, `claim ${e.claim ?? '?'} ${e.reason ?? 'invalid'}`, err);
      default:
        return new TokenError('MALFORMED', realm, e.code, err);
    }
  }
}

/** Realm roles and the roles of one client, from Keycloak's claims. */
function rolesOf(claims: KeycloakClaims, clientId: string): { realm: string[]; client: string[] } {
  const realm = claims.realm_access?.roles;
  const client = claims.resource_access?.[clientId]?.roles;
  return {
    realm: Array.isArray(realm) ? realm.filter((r) => typeof r === 'string') : [],
    client: Array.isArray(client) ? client.filter((r) => typeof r === 'string') : [],
  };
}

/**
 * Whether the token carries the required roles. `realm:x` matches only a realm role, `client:x` only a
 * role of the configured client, a plain `x` either. No required role means any verified caller.
 */
export function hasRoles(token: Pick<VerifiedToken, 'realmRoles' | 'clientRoles'>, required: string[], mode: 'any' | 'all'): boolean {
  if (required.length === 0) return true;
  const holds = (role: string): boolean => {
    if (role.startsWith('realm:')) return token.realmRoles.includes(role.slice(6));
    if (role.startsWith('client:')) return token.clientRoles.includes(role.slice(7));
    return token.realmRoles.includes(role) || token.clientRoles.includes(role);
  };
  return mode === 'all' ? required.every(holds) : required.some(holds);
}

/** The token of an `Authorization: Bearer <token>` header (scheme case-insensitive), or undefined. */
export function bearerToken(header: string | string[] | undefined): string | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (!value) return undefined;
  const m = /^\s*Bearer\s+([^\s]+)\s*$/i.exec(value);
  return m ? m[1] : undefined;
}

/** "a, b c" → ['a','b','c']: the role lists of settings and env. */
export function parseList(value: string | string[] | undefined): string[] {
  if (Array.isArray(value))
    return value
      .map(String)
      .map((s) => s.trim())
      .filter(Boolean);
  return String(value ?? '')
    .split(/[\s,]+/)
    .map((s) => s.trim())
    .filter(Boolean);
}
