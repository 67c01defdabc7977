/**
 * How the pack's HTTP endpoints answer (docs/conventions.md "HTTP answers"): the correlation id of a request,
 * and an error turned into RFC 9457 problem details with the status its code calls for. Plain TypeScript:
 * the clinica-http-answer node and the input handler use it; so can any other host.
 */
import { createHash } from 'node:crypto';

/** What a failed message carries (msg.errorInfo), as far as an answer needs it. */
export interface ErrorLike {
  code?: string;
  retryable?: boolean;
  message?: string;
  details?: Record<string, unknown>;
}

export interface HttpAnswer {
  statusCode: number;
  headers: Record<string, string>;
  payload: unknown;
}

/** An X-Correlation-Id a caller may set: 1–100 letters, digits or . _ - (anything else is ignored). */
export const CORRELATION_ID = /^[A-Za-z0-9._-]{1,100}$/;

/** The caller's X-Correlation-Id header, when it is a valid one. */
export function correlationIdOf(req: unknown): string | undefined {
  const headers = (req as { headers?: Record<string, unknown> } | undefined)?.headers;
  const value = headers?.['x-correlation-id'];
  return typeof value === 'string' && CORRELATION_ID.test(value) ? value : undefined;
}

/** Codes that are the caller's fault (400), a missing thing (404), a clash with what exists (409). */
const BAD_REQUEST =
  /^(BAD_INPUT|SHARED_DB_BAD_INPUT|ODOO_VALIDATION_ERROR|ODOO_USER_ERROR|ODOO_BAD_VALUE|ODOO_BAD_DOMAIN|ODOO_UNKNOWN_FIELD|NEXTCLOUD_BAD_PATH|NEXTCLOUD_BAD_NAME)$/;
const NOT_FOUND = /(MISSING_RECORD|NOT_FOUND)$/;
const CONFLICT = /^(CONFLICT|IN_PROGRESS|ODOO_MOVEMENT_CONFLICT|NEXTCLOUD_CONFLICT|SHARED_DB_CONFLICT)$/;
const UNPROCESSABLE = /^(ODOO_PDF_UNAVAILABLE)$/;
const FORBIDDEN = /^(ODOO_ACCESS_ERROR|KEYCLOAK_FORBIDDEN|CORS_ORIGIN_REFUSED|METRICS_FORBIDDEN)$/;
const TOO_LARGE = /^PAYLOAD_TOO_LARGE$/;
const RATE_LIMITED = /RATE_LIMITED$/;
const UNAUTHORIZED = /^WEBHOOK_UNAUTHORIZED$/;
/** 503s whose own message is meant for the caller (it names no system internals). */
const SAFE_TO_SHOW = /^NOT_READY$/;
/** A write whose answer was lost: the caller should repeat it (the pack's writes are idempotent). */
const REPEAT = /^ODOO_OUTCOME_UNKNOWN$/;

const TITLES: Record<number, string> = {
  400: 'Bad request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not found',
  409: 'Conflict',
  413: 'Payload too large',
  422: 'Unprocessable content',
  429: 'Too many requests',
  500: 'Internal error',
  503: 'Service unavailable',
};

/** The HTTP status of an error, by its code first, then by whether repeating it may work. */
export function statusOf(err: ErrorLike): number {
  const code = err.code ?? 'UNEXPECTED';
  if (RATE_LIMITED.test(code)) return 429;
  if (UNAUTHORIZED.test(code)) return 401;
  if (BAD_REQUEST.test(code)) return 400;
  if (TOO_LARGE.test(code)) return 413;
  if (FORBIDDEN.test(code)) return 403;
  if (NOT_FOUND.test(code)) return 404;
  if (CONFLICT.test(code)) return 409;
  if (UNPROCESSABLE.test(code)) return 422;
  if (REPEAT.test(code) || err.retryable !== false) return 503;
  return 500;
}

export interface ProblemOptions {
  correlationId?: string;
  /** Seconds for Retry-After on 429 and 503 (default 5; a rate limit's own retryAfterMs wins). */
  retryAfter?: number;
  /** The text a caller sees for an error worth repeating (the system's own message stays in the logs). */
  unavailableText?: string;
}

/** An error as problem details: status, headers (no-store, correlation id, Retry-After) and body. */
export function problemFor(err: ErrorLike, options: ProblemOptions = {}): HttpAnswer {
  const status = statusOf(err);
  const code = err.code ?? 'UNEXPECTED';
  const headers: Record<string, string> = { 'Content-Type': 'application/problem+json', 'Cache-Control': 'no-store' };
  if (options.correlationId) headers['X-Correlation-Id'] = options.correlationId;
  const fromError = Number(err.details?.retryAfterMs);
  if (status === 429 || status === 503 || (Number.isFinite(fromError) && fromError > 0)) {
    const seconds = Number.isFinite(fromError) && fromError > 0 ? Math.ceil(fromError / 1000) : (options.retryAfter ?? 5);
    headers['Retry-After'] = String(seconds);
  }
  const detail =
    status === 503 && !SAFE_TO_SHOW.test(code)
      ? (options.unavailableText ?? 'a backing system is unavailable; try again shortly (the same request is safe to repeat)')
      : status === 500
        ? 'the request could not be answered; see the integration logs under this correlation id'
        : (err.message ?? TITLES[status]);
  const problems = Array.isArray(err.details?.problems) ? { problems: err.details?.problems } : {};
  // Readiness says what it checked (state, latency, error code of each system and sync; no host, no secret).
  const readiness = SAFE_TO_SHOW.test(code)
    ? Object.fromEntries((['checks', 'syncs'] as const).filter((k) => Array.isArray(err.details?.[k])).map((k) => [k, err.details?.[k]]))
    : {};
  return {
    statusCode: status,
    headers,
    payload: {
      type: `https://clinica.example/problems/${code.toLowerCase().replace(/_/g, '-')}`,
      title: TITLES[status] ?? 'Error',
      status,
      detail,
      code,
      correlationId: options.correlationId,
      ...problems,
      ...readiness,
    },
  };
}

/** A success: the status, no-store and the correlation id; the body as given. */
export function successFor(payload: unknown, statusCode = 200, correlationId?: string): HttpAnswer {
  return { statusCode, headers: { 'Cache-Control': 'no-store', ...(correlationId ? { 'X-Correlation-Id': correlationId } : {}) }, payload };
}

/**
 * The strong ETag of an answer body (RFC 9110 §8.8.3): a SHA-256 of the JSON the http response node sends, so two
 * answers with the same bytes have the same tag and any change in the list gives another.
 */
export function etagOf(body: unknown): string {
  const bytes = typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body);
  return `"${createHash('sha256').update(bytes).digest('base64url').slice(0, 32)}"`;
}

/** Whether a request's If-None-Match names `etag` (weak comparison, as RFC 9110 §13.1.2 asks; `*` matches any). */
export function notModified(ifNoneMatch: unknown, etag: string): boolean {
  if (typeof ifNoneMatch !== 'string' || !ifNoneMatch.trim()) return false;
  if (ifNoneMatch.trim() === '*') return true;
  const opaque = (t: string) => t.trim().replace(/^W\//, '');
  return ifNoneMatch.split(',').some((t) => opaque(t) === opaque(etag));
}
