/** Nextcloud answers as the pack's typed errors: the HTTP status decides the code and whether to retry. */
import { IntegrationError, asIntegrationError } from '../../lib/errors';

interface StatusRule {
  code: string;
  retryable: boolean;
  fix: string;
}

const RULES: Record<number, StatusRule> = {
  400: { code: 'NEXTCLOUD_BAD_REQUEST', retryable: false, fix: 'Nextcloud did not accept the request as sent; see its message' },
  401: { code: 'NEXTCLOUD_AUTH', retryable: false, fix: 'check the user id and the app password (NEXTCLOUD_USERNAME, NEXTCLOUD_APP_PASSWORD; Settings → Security → Devices & sessions)' },
  403: { code: 'NEXTCLOUD_FORBIDDEN', retryable: false, fix: 'the user may not do this here; check the folder permissions or the server policy' },
  404: { code: 'NEXTCLOUD_NOT_FOUND', retryable: false, fix: 'check the path (it is relative to the user\'s files)' },
  405: { code: 'NEXTCLOUD_NOT_ALLOWED', retryable: false, fix: 'a file or folder of another kind is in the way' },
  409: { code: 'NEXTCLOUD_CONFLICT', retryable: false, fix: 'a parent folder is missing or a file is in the way' },
  412: { code: 'NEXTCLOUD_EXISTS', retryable: false, fix: 'the target exists; choose another name or allow overwriting' },
  413: { code: 'NEXTCLOUD_TOO_LARGE', retryable: false, fix: 'the server refuses bodies this large; lower the chunking threshold of the Nextcloud config node' },
  415: { code: 'NEXTCLOUD_UNSUPPORTED', retryable: false, fix: 'the server refused the content type' },
  423: { code: 'NEXTCLOUD_LOCKED', retryable: true, fix: 'the file is locked by another client; it will be retried' },
  429: { code: 'NEXTCLOUD_RATE_LIMITED', retryable: true, fix: 'Nextcloud is throttling this client (brute-force protection or rate limit); it will be retried' },
  507: { code: 'NEXTCLOUD_INSUFFICIENT_STORAGE', retryable: false, fix: 'the user\'s quota or the disk is full; free space or raise the quota' },
};

/** The message Sabre or OCS puts in an error body (`<s:message>` or `<message>`), if any. */
export function serverMessage(body: string | Buffer | undefined): string | undefined {
  if (!body) return undefined;
  const text = (Buffer.isBuffer(body) ? body.toString('utf8', 0, Math.min(body.length, 8192)) : body.slice(0, 8192)).trim();
  const m = /<(?:[a-z]+:)?message>([^<]*)<\/(?:[a-z]+:)?message>/i.exec(text);
  if (m && m[1].trim()) return decodeXmlText(m[1].trim());
  if (text.startsWith('{')) {
    try {
      const json = JSON.parse(text) as { ocs?: { meta?: { message?: string } }; message?: string };
      return json.ocs?.meta?.message || json.message || undefined;
    } catch {
      return undefined;
    }
  }
  return undefined;
}

export function decodeXmlText(s: string): string {
  return s.replace(/&(lt|gt|amp|quot|apos|#\d+|#x[0-9a-f]+);/gi, (all, e: string) => {
    const k = e.toLowerCase();
    if (k === 'lt') return '<';
    if (k === 'gt') return '>';
    if (k === 'amp') return '&';
    if (k === 'quot') return '"';
    if (k === 'apos') return "'";
    const code = k.startsWith('#x') ? parseInt(k.slice(2), 16) : parseInt(k.slice(1), 10);
    return Number.isFinite(code) ? String.fromCodePoint(code) : all;
  });
}

/**
 * The error for an HTTP status Nextcloud answered to `operation` on `path`.
 * `operation` reads as a verb phrase: "upload", "create folder", "share".
 */
export function statusError(status: number, operation: string, path: string, body?: string | Buffer, fix?: string): IntegrationError {
  const rule: StatusRule = RULES[status] ?? (status >= 500
    ? { code: 'NEXTCLOUD_SERVER_ERROR', retryable: true, fix: 'the server failed or is in maintenance; it will be retried' }
    : { code: 'NEXTCLOUD_ERROR', retryable: false, fix: 'see the server message' });
  const said = serverMessage(body);
  const message = `Nextcloud ${operation} of "${path}" failed with HTTP ${status}${said ? ` (${said})` : ''}: ${fix ?? rule.fix}`;
  return new IntegrationError(message, { code: rule.code, system: 'nextcloud', retryable: rule.retryable, status, details: { path, operation } });
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
  return new IntegrationError(
    `Nextcloud upload of "${path}" could not be verified: ${why}. The stored copy was removed; send the document again`,
    { code: 'NEXTCLOUD_VERIFY_FAILED', system: 'nextcloud', retryable: true, details: { path } },
  );
}
