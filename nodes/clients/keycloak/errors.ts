/**
 * Keycloak failures as the pack's typed errors. Token problems are the caller's (401, never retried);
 * an unreachable or failing Keycloak is ours (retryable, the guard answers 503).
 */
import { IntegrationError, asIntegrationError, isTransientNetworkError } from '../common/errors';

/** Why a bearer token was refused; each maps to a stable error code and an RFC 6750 error. */
export type TokenProblem =
  'MISSING' | 'MALFORMED' | 'ALG_REJECTED' | 'UNKNOWN_KEY' | 'BAD_SIGNATURE' | 'EXPIRED' | 'NOT_YET_VALID' | 'WRONG_ISSUER' | 'WRONG_AUDIENCE' | 'WRONG_TYPE';

const PROBLEM_TEXT: Record<TokenProblem, string> = {
  MISSING: 'no bearer token was sent',
  MALFORMED: 'the token is not a signed JWT',
  ALG_REJECTED: 'the token is signed with an algorithm that is not allowed',
  UNKNOWN_KEY: 'the token is signed with a key the realm does not publish',
  BAD_SIGNATURE: 'the token signature does not match its content',
  EXPIRED: 'the token has expired',
  NOT_YET_VALID: 'the token is not valid yet',
  WRONG_ISSUER: 'the token was issued by another realm or server',
  WRONG_AUDIENCE: 'the token was issued for another client',
  WRONG_TYPE: 'the token is not an access token',
};

/** A refused token: code KEYCLOAK_TOKEN_<PROBLEM>, HTTP status 401, never retryable. */
export class TokenError extends IntegrationError {
  readonly problem: TokenProblem;

  constructor(problem: TokenProblem, realm: string, detail?: string, cause?: unknown) {
    const text = PROBLEM_TEXT[problem];
    super(
      `Keycloak token check for realm "${realm}" failed: ${text}${detail ? ` (${detail})` : ''}. ` +
        (problem === 'MISSING'
          ? 'Send "Authorization: Bearer <access token>" obtained from Keycloak.'
          : 'Get a new access token from the realm for this client and send it again.'),
      { code: `KEYCLOAK_TOKEN_${problem}`, system: 'keycloak', retryable: false, status: 401, details: { realm, problem }, cause },
    );
    this.problem = problem;
  }

  /** The short, safe text for a response body or a log line (no token content). */
  get publicText(): string {
    return PROBLEM_TEXT[this.problem];
  }
}

/** The caller is known but lacks the roles an endpoint requires: 403. */
export function forbidden(realm: string, username: string, required: string[], mode: 'any' | 'all'): IntegrationError {
  return new IntegrationError(
    `Keycloak user "${username}" of realm "${realm}" lacks ${mode === 'all' ? 'all of' : 'any of'} the roles ${required.join(', ')}; ` +
      'grant the role in Keycloak (realm or client roles) or change the roles the guard requires.',
    { code: 'KEYCLOAK_FORBIDDEN', system: 'keycloak', retryable: false, status: 403, details: { realm, required, mode } },
  );
}

export function notConfigured(what: string): IntegrationError {
  return new IntegrationError(`Keycloak ${what} is not set: fill it in the realm config node or set the environment variable`, {
    code: 'KEYCLOAK_NOT_CONFIGURED',
    system: 'keycloak',
    retryable: false,
  });
}

/** An HTTP answer from Keycloak during `operation`: 5xx and 429 are transient, the rest are configuration. */
export function keycloakHttpError(operation: string, status: number, where: string, body?: string): IntegrationError {
  const transient = status >= 500 || status === 429;
  const fix =
    status === 404
      ? 'check KEYCLOAK_URL and KEYCLOAK_REALM (the realm must exist; URL without /auth on Keycloak 17+)'
      : transient
        ? 'Keycloak is failing or overloaded; it will be tried again'
        : 'check the realm and client settings in Keycloak';
  return new IntegrationError(`Keycloak ${operation} at ${where} answered HTTP ${status}${body ? `: ${body.slice(0, 200)}` : ''}; ${fix}`, {
    code: transient ? 'KEYCLOAK_UNAVAILABLE' : status === 404 ? 'KEYCLOAK_REALM_NOT_FOUND' : 'KEYCLOAK_BAD_RESPONSE',
    system: 'keycloak',
    retryable: transient,
    status,
    details: { operation, url: where },
  });
}

/** OAuth error answers of the token endpoint (RFC 6749 §5.2), by `error` value. */
const OAUTH_ERRORS: Record<string, { code: string; fix: string }> = {
  invalid_client: {
    code: 'KEYCLOAK_CLIENT_REJECTED',
    fix: 'check the client id and secret (KEYCLOAK_CLIENT_ID / KEYCLOAK_CLIENT_SECRET) and that the client is confidential',
  },
  unauthorized_client: { code: 'KEYCLOAK_SERVICE_ACCOUNT_DISABLED', fix: 'enable "Service accounts" (client credentials) for this client in Keycloak' },
  invalid_scope: { code: 'KEYCLOAK_INVALID_SCOPE', fix: 'request only client scopes assigned to this client in Keycloak' },
  invalid_grant: { code: 'KEYCLOAK_INVALID_GRANT', fix: 'the code or credentials were refused; start the login again' },
  access_denied: { code: 'KEYCLOAK_ACCESS_DENIED', fix: 'the user or client is not allowed to get this token' },
};

/** Anything thrown while talking to Keycloak (openid-client, fetch) as a typed error. */
export function keycloakError(err: unknown, operation: string, where: string): IntegrationError {
  if (err instanceof IntegrationError) return err;
  const e = (err ?? {}) as { error?: unknown; status?: unknown; error_description?: unknown; cause?: unknown; code?: unknown };
  const oauth = typeof e.error === 'string' ? e.error : undefined;
  // openid-client puts the unexpected HTTP answer itself in `cause`.
  const status = typeof e.status === 'number' ? e.status : e.cause instanceof Response ? e.cause.status : undefined;
  if (oauth && !(status !== undefined && status >= 500)) {
    const known = OAUTH_ERRORS[oauth] ?? { code: 'KEYCLOAK_OAUTH_ERROR', fix: 'see the Keycloak server log for the reason' };
    const description = typeof e.error_description === 'string' ? ` (${e.error_description})` : '';
    return new IntegrationError(`Keycloak ${operation} at ${where} was refused: ${oauth}${description}; ${known.fix}`, {
      code: known.code,
      system: 'keycloak',
      retryable: false,
      status,
      details: { operation, url: where, error: oauth },
      cause: err,
    });
  }
  if (status !== undefined) return keycloakHttpError(operation, status, where);
  if (isTransientNetworkError(err) || isFetchFailure(err)) {
    return new IntegrationError(
      `Keycloak ${operation} at ${where} failed: ${describeCause(err)}; check that Keycloak is running and KEYCLOAK_URL is right (it will be tried again)`,
      {
        code: /timeout|timed out/i.test(describeCause(err)) ? 'KEYCLOAK_TIMEOUT' : 'KEYCLOAK_UNREACHABLE',
        system: 'keycloak',
        retryable: true,
        details: { operation, url: where },
        cause: err,
      },
    );
  }
  return asIntegrationError(err, 'keycloak', {
    code: 'KEYCLOAK_ERROR',
    message: `Keycloak ${operation} at ${where} failed`,
    details: { operation, url: where },
  });
}

/** undici's "fetch failed" TypeError carries the socket error as its cause. */
function isFetchFailure(err: unknown): boolean {
  return err instanceof TypeError && /fetch failed/i.test(err.message);
}

function describeCause(err: unknown): string {
  const parts: string[] = [];
  let current: unknown = err;
  for (let depth = 0; current && depth < 4; depth++) {
    const c = current as { message?: unknown; code?: unknown; cause?: unknown };
    const text = [typeof c.code === 'string' ? c.code : '', typeof c.message === 'string' ? c.message : ''].filter(Boolean).join(' ');
    if (text && !parts.includes(text)) parts.push(text);
    current = c.cause;
  }
  return parts.join(': ') || String(err);
}
