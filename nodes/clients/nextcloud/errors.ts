/**
 * Nextcloud answers as the pack's typed errors: the HTTP status (and, where Nextcloud uses one status for two
 * things, the body) decides the code and whether to retry. Every error names the operation, the path and the fix.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { IntegrationError, asIntegrationError } from '../common/errors';
import { child, parseXmlTree } from './xml';

interface StatusRule {
  code: string;
  retryable: boolean;
  fix: string;
}

const RULES: Record<number, StatusRule> = {
  400: { code: 'NEXTCLOUD_BAD_REQUEST', retryable: false, fix: 'Nextcloud did not accept the request as sent; see its message' },
  401: {
    code: 'NEXTCLOUD_AUTH',
    retryable: false,
    fix: 'check the user id and the app password (NEXTCLOUD_USERNAME, NEXTCLOUD_APP_PASSWORD; Settings → Security → Devices & sessions)',
  },
  403: { code: 'NEXTCLOUD_FORBIDDEN', retryable: false, fix: 'the user may not do this here; check the folder permissions or the server policy' },
  404: { code: 'NEXTCLOUD_NOT_FOUND', retryable: false, fix: "check the path (it is relative to the user's files)" },
  405: { code: 'NEXTCLOUD_NOT_ALLOWED', retryable: false, fix: 'a file or folder is in the way' },
  409: { code: 'NEXTCLOUD_CONFLICT', retryable: false, fix: 'a parent folder is missing or a file is in the way' },
  412: { code: 'NEXTCLOUD_EXISTS', retryable: false, fix: 'the target exists; choose another name or allow overwriting' },
  413: {
    code: 'NEXTCLOUD_TOO_LARGE',
    retryable: false,
    fix: 'the server refuses bodies this large; lower the chunking threshold of the Nextcloud config node',
  },
  415: { code: 'NEXTCLOUD_UNSUPPORTED', retryable: false, fix: 'the server refused the content type' },
  423: { code: 'NEXTCLOUD_LOCKED', retryable: true, fix: 'the file is locked by another client; it will be retried' },
  429: { code: 'NEXTCLOUD_RATE_LIMITED', retryable: true, fix: 'Nextcloud limits how often this user may do this; it will be retried later' },
  507: { code: 'NEXTCLOUD_INSUFFICIENT_STORAGE', retryable: false, fix: "the user's quota or the disk is full; free space or raise the quota" },
};

/** What Nextcloud answered, as much as the error rules look at. */
export interface Answer {
  status: number;
  headers?: IncomingHttpHeaders;
  body?: Buffer | string;
}

const text = (body: Buffer | string | undefined, max = 8192) =>
  body === undefined ? '' : (Buffer.isBuffer(body) ? body.toString('utf8', 0, Math.min(body.length, max)) : body.slice(0, max)).trim();

/** The message Sabre or OCS puts in an error body (`<s:message>` or `<message>`, or OCS JSON), if any. */
function serverMessage(body: string | Buffer | undefined): string | undefined {
  const t = text(body);
  if (!t) return undefined;
  if (t.startsWith('<')) {
    const root = parseXmlTree(t);
    const said = child(root, 's:message')?.text ?? child(child(root, 'meta'), 'message')?.text;
    return said?.trim() || undefined;
  }
  if (t.startsWith('{')) {
    try {
      const json = JSON.parse(t) as { ocs?: { meta?: { message?: string } }; message?: string };
      return json.ocs?.meta?.message || json.message || undefined;
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/**
 * true when an error answer comes from Nextcloud's WebDAV or OCS (Sabre XML, OCS JSON or XML), not a web page: a
 * wrong sub-path in the URL reaches Nextcloud's front controller (or another site), which answers HTML.
 */
export function isNextcloudAnswer(answer: Answer): boolean {
  const type = answer.headers?.['content-type'];
  if (/text\/html/i.test(Array.isArray(type) ? type[0] : (type ?? ''))) return false;
  const t = text(answer.body, 512);
  return t === '' || t.startsWith('{') || (t.startsWith('<') && !/^<!doctype html|^<html/i.test(t));
}

/**
 * A 429 of brute-force protection (every login from this address refused after repeated wrong passwords), as
 * opposed to a rate limit of one action: WebDAV says so with Sabre's TooManyRequests, OCS with "Reached maximum delay".
 */
export function isLockout(answer: Answer): boolean {
  if (answer.status !== 429) return false;
  const t = text(answer.body);
  return /TooManyRequests/.test(t) || /Reached maximum delay/i.test(t);
}

/** Retry-After in ms (seconds or an HTTP date), or undefined. */
export function retryAfterMs(headers: IncomingHttpHeaders | undefined, now = Date.now()): number | undefined {
  const v = headers?.['retry-after'];
  const s = Array.isArray(v) ? v[0] : v;
  if (!s) return undefined;
  if (/^\d+$/.test(s.trim())) return Number(s.trim()) * 1000;
  const t = Date.parse(s);
  return Number.isFinite(t) ? Math.max(0, t - now) : undefined;
}

/**
 * The error for an HTTP status Nextcloud answered to `operation` on `path`.
 * `operation` reads as a verb phrase: "upload", "create folder", "share".
 */
function statusError(status: number, operation: string, path: string, body?: string | Buffer, fix?: string): IntegrationError {
  return httpError({ status, body }, operation, path, { fix });
}

export interface ErrorContext {
  /** Replaces the status's usual fix. */
  fix?: string;
  /** For a 429 without Retry-After: when to try again. */
  retryAfterMs?: number;
}

/** The error for an answer (status, headers, body) Nextcloud gave to `operation` on `path`. */
export function httpError(answer: Answer, operation: string, path: string, ctx: ErrorContext = {}): IntegrationError {
  const { status } = answer;
  const rule: StatusRule =
    RULES[status] ??
    (status >= 500
      ? { code: 'NEXTCLOUD_SERVER_ERROR', retryable: true, fix: 'the server failed or is in maintenance; it will be retried' }
      : { code: 'NEXTCLOUD_ERROR', retryable: false, fix: 'see the server message' });
  const details: Record<string, unknown> = { path, operation };
  if (status === 429) {
    const wait = retryAfterMs(answer.headers) ?? ctx.retryAfterMs ?? 60000;
    details.retryAfterMs = wait;
    const message = `Nextcloud ${operation} of "${path}" was refused with HTTP 429 (too many requests): ${ctx.fix ?? rule.fix} (in ${Math.ceil(wait / 1000)} s)`;
    return new IntegrationError(message, { code: rule.code, system: 'nextcloud', retryable: true, status, details });
  }
  const said = serverMessage(answer.body);
  const message = `Nextcloud ${operation} of "${path}" failed with HTTP ${status}${said ? ` (${said})` : ''}: ${ctx.fix ?? rule.fix}`;
  return new IntegrationError(message, { code: rule.code, system: 'nextcloud', retryable: rule.retryable, status, details });
}

/** A refused login (401): never the server's six concatenated reasons, one message that names the fix. */
export function authError(user: string, operation: string, path: string): IntegrationError {
  return new IntegrationError(
    `Nextcloud refused the login of user "${user}" (HTTP 401) for ${operation} of "${path}": the app password is wrong, ` +
      'revoked or of another user. Create an app password in Nextcloud (Settings → Security → Devices & sessions) and set it ' +
      'in the Nextcloud config node or NEXTCLOUD_APP_PASSWORD. Until the settings change or an operator retries, nothing more ' +
      "is sent with this password, so Nextcloud's brute-force protection does not block this host",
    { code: 'NEXTCLOUD_AUTH', system: 'nextcloud', retryable: false, status: 401, details: { path, operation, user } },
  );
}

/** Brute-force protection blocks the address (429): a fix is needed, retrying does not help. */
export function lockoutError(operation: string, path: string): IntegrationError {
  return new IntegrationError(
    `Nextcloud refused ${operation} of "${path}" with HTTP 429: its brute-force protection blocks every login from this host ` +
      'after repeated wrong passwords (the right one included). Fix the app password of the Nextcloud config node, then ask the ' +
      'Nextcloud admin to run "occ security:bruteforce:reset <address of this host>" (or wait 30 minutes), then retry',
    { code: 'NEXTCLOUD_LOCKED_OUT', system: 'nextcloud', retryable: false, status: 429, details: { path, operation } },
  );
}

/** The configured URL answers, but not as Nextcloud's WebDAV (a web page: a wrong sub-path, another site). */
export function notNextcloudError(root: string, status: number, operation: string, path: string): IntegrationError {
  return new IntegrationError(
    `Nextcloud ${operation} of "${path}": ${root} answered HTTP ${status} with a web page, not Nextcloud's WebDAV. The Nextcloud ` +
      'URL must be the server root as you open Nextcloud in a browser, without /index.php, /apps/… or /remote.php (e.g. ' +
      'https://cloud.example.org, or https://example.org/nextcloud when it lives in a sub-folder); fix it in the config node or NEXTCLOUD_URL',
    { code: 'NEXTCLOUD_NOT_CONFIGURED', system: 'nextcloud', retryable: false, status, details: { path, operation, url: root } },
  );
}

/** Anything thrown while talking to Nextcloud: network faults become NEXTCLOUD_UNREACHABLE / _TIMEOUT (retryable). */
export function nextcloudError(err: unknown, operation: string, path: string): IntegrationError {
  if (err instanceof IntegrationError) return err;
  const status = (err as { status?: unknown })?.status;
  if (typeof status === 'number' && status >= 400) return statusError(status, operation, path);
  return asIntegrationError(err, 'nextcloud', {
    code: 'NEXTCLOUD_ERROR',
    message: `Nextcloud ${operation} of "${path}" failed`,
    details: { path, operation },
  });
}

export function verifyFailed(path: string, why: string): IntegrationError {
  return new IntegrationError(`Nextcloud upload of "${path}" could not be verified: ${why}. The stored copy was removed; send the document again`, {
    code: 'NEXTCLOUD_VERIFY_FAILED',
    system: 'nextcloud',
    retryable: true,
    details: { path },
  });
}
