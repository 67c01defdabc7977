/**
 * Nextcloud's OCS share API (`/ocs/v2.php/apps/files_sharing/api/v1/shares`): public links with optional password,
 * expiry date and label, and shares with a user or a group. Every call carries `OCS-APIRequest: true` (Nextcloud
 * refuses OCS calls without it as a CSRF guard) and asks for JSON; an XML envelope (older servers, proxies, errors)
 * is understood too.
 */
import { randomBytes } from 'node:crypto';
import { IntegrationError, badInput } from '../common/errors';
import { httpError } from './errors';
import type { Response } from './transport';
import { parseXmlTree, xmlValue } from './xml';

export type ShareType = 'link' | 'user' | 'group';

/** Nextcloud's numeric share types. */
const SHARE_TYPE_IDS: Record<ShareType, number> = { user: 0, group: 1, link: 3 };
const SHARE_TYPE_NAMES: Record<number, ShareType> = { 0: 'user', 1: 'group', 3: 'link' };

export interface ShareOptions {
  type: ShareType;
  /** User id or group id (user and group shares). */
  shareWith?: string;
  /** Link password (link shares). */
  password?: string;
  /** Last day the share works, `YYYY-MM-DD`. */
  expireDate?: string;
  label?: string;
  note?: string;
  /** Nextcloud permission bits (1 read, 2 update, 4 create, 8 delete, 16 share); default the server's. */
  permissions?: number;
}

export interface Share {
  id: string;
  type: ShareType | 'other';
  path: string;
  /** Public link for link shares; the file's internal link (`/index.php/f/<fileid>`) for user and group shares. */
  url?: string;
  token?: string;
  shareWith?: string;
  /** `YYYY-MM-DD` or null. */
  expiration: string | null;
  permissions?: number;
  label?: string;
  hasPassword: boolean;
  fileId?: string;
  /** true when an existing share was handed out again instead of creating one (its password is not known). */
  reused?: boolean;
}

/** Checks share options before anything is sent; the error says what to send instead. */
export function validateShareOptions(opts: ShareOptions, today = localDate(new Date())): void {
  if (!Object.hasOwn(SHARE_TYPE_IDS, opts.type)) {
    throw badInput('nextcloud', `Share type "${String(opts.type)}" is unknown; use link, user or group`);
  }
  if (opts.type !== 'link' && !opts.shareWith?.trim()) {
    throw badInput('nextcloud', `A ${opts.type} share needs the ${opts.type} id to share with (shareWith)`);
  }
  if (opts.type !== 'link' && opts.password) {
    throw badInput('nextcloud', 'Only link shares take a password; leave it empty for user and group shares');
  }
  if (opts.expireDate !== undefined && opts.expireDate !== '') {
    if (!isValidDate(opts.expireDate)) {
      throw badInput('nextcloud', `Share expiry "${opts.expireDate}" is not a date; use YYYY-MM-DD (e.g. 2025-12-31) or a number of days`);
    }
    if (opts.expireDate < today) {
      throw badInput('nextcloud', `Share expiry ${opts.expireDate} is in the past (today is ${today}); give a later date`);
    }
  }
  if (opts.permissions !== undefined && (!Number.isInteger(opts.permissions) || opts.permissions < 1 || opts.permissions > 31)) {
    throw badInput('nextcloud', `Share permissions ${String(opts.permissions)} are not valid; use a sum of 1 read, 2 update, 4 create, 8 delete, 16 share`);
  }
}

function isValidDate(s: string): boolean {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(s)) return false;
  const d = new Date(`${s}T00:00:00Z`);
  return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === s;
}

/** The local calendar date `YYYY-MM-DD` (Nextcloud reads expiry dates as days, not instants). */
function localDate(d: Date): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

/** The date `days` days from now, `YYYY-MM-DD`. */
export function daysFromNow(days: number, now = new Date()): string {
  const d = new Date(now.getTime());
  d.setDate(d.getDate() + days);
  return localDate(d);
}

/** The form fields of a create-share request. */
export function shareForm(path: string, opts: ShareOptions): URLSearchParams {
  const form = new URLSearchParams();
  form.set('path', path);
  form.set('shareType', String(SHARE_TYPE_IDS[opts.type]));
  if (opts.shareWith) form.set('shareWith', opts.shareWith.trim());
  if (opts.password) form.set('password', opts.password);
  if (opts.expireDate) form.set('expireDate', opts.expireDate);
  if (opts.label) form.set('label', opts.label);
  if (opts.note) form.set('note', opts.note);
  if (opts.permissions !== undefined) form.set('permissions', String(opts.permissions));
  return form;
}

export interface OcsEnvelope {
  status: string;
  statuscode: number;
  message: string;
  data: unknown;
}

/** Reads an OCS answer, JSON or XML. Undefined when the body is neither (an HTML error page, a proxy). */
export function parseOcs(res: Response): OcsEnvelope | undefined {
  const text = res.body.toString('utf8').trim();
  if (text.startsWith('{')) {
    try {
      const json = JSON.parse(text) as { ocs?: { meta?: Record<string, unknown>; data?: unknown } };
      const meta = json.ocs?.meta;
      if (!meta) return undefined;
      return { status: String(meta.status ?? ''), statuscode: Number(meta.statuscode), message: String(meta.message ?? ''), data: json.ocs?.data };
    } catch {
      return undefined;
    }
  }
  if (text.startsWith('<')) {
    const root = parseXmlTree(text);
    const ocs = root?.name === 'ocs' ? (xmlValue(root) as Record<string, unknown>) : undefined;
    const meta = ocs?.meta as Record<string, unknown> | undefined;
    if (!meta) return undefined;
    return { status: String(meta.status ?? ''), statuscode: Number(meta.statuscode), message: String(meta.message ?? ''), data: ocs?.data };
  }
  return undefined;
}

const OCS_RULES: Record<number, { code: string; retryable: boolean }> = {
  997: { code: 'NEXTCLOUD_AUTH', retryable: false },
  401: { code: 'NEXTCLOUD_AUTH', retryable: false },
  400: { code: 'NEXTCLOUD_SHARE_REJECTED', retryable: false },
  403: { code: 'NEXTCLOUD_SHARE_FORBIDDEN', retryable: false },
  404: { code: 'NEXTCLOUD_NOT_FOUND', retryable: false },
  996: { code: 'NEXTCLOUD_SERVER_ERROR', retryable: true },
};

const OCS_FIX: Record<string, string> = {
  NEXTCLOUD_AUTH: 'check the user id and the app password',
  NEXTCLOUD_SHARE_REJECTED: 'fix the share settings named in the message',
  NEXTCLOUD_SHARE_FORBIDDEN:
    'the server policy forbids this share (e.g. a link password or expiry is enforced, or link sharing is off); adapt the share settings',
  NEXTCLOUD_NOT_FOUND: 'check that the path exists and that the user or group id is right',
  NEXTCLOUD_SERVER_ERROR: 'the server failed; it will be retried',
};

/** The envelope's data when the call succeeded, else the typed error. OCS v1 says 100 for OK, v2 says 200. */
export function ocsResult(res: Response, operation: string, path: string): unknown {
  // statuses OCS shares with the rest of Nextcloud (rate limits, maintenance, a proxy's error page) read the same way
  if (res.status === 429 || res.status === 412 || res.status >= 500) {
    return failWith(
      httpError(
        res,
        operation,
        path,
        res.status === 412 ? { fix: 'Nextcloud refused the OCS call as a CSRF risk: a proxy in front of it may drop the OCS-APIRequest header' } : {},
      ),
    );
  }
  const env = parseOcs(res);
  const ok = env && (env.statuscode === 100 || env.statuscode === 200) && res.status < 300;
  if (ok) return env.data;
  const code = env?.statuscode ?? res.status;
  const rule =
    OCS_RULES[code] ??
    OCS_RULES[res.status] ??
    (res.status >= 500 || code >= 500 ? { code: 'NEXTCLOUD_SERVER_ERROR', retryable: true } : { code: 'NEXTCLOUD_ERROR', retryable: false });
  const said = env?.message ? ` (${env.message})` : '';
  const fix = OCS_FIX[rule.code] ?? 'see the server message';
  throw new IntegrationError(`Nextcloud ${operation} of "${path}" failed with HTTP ${res.status}, OCS status ${env?.statuscode ?? 'none'}${said}: ${fix}`, {
    code: rule.code,
    system: 'nextcloud',
    retryable: rule.retryable,
    status: res.status,
    details: { path, operation, ocsStatus: env?.statuscode },
  });
}

function failWith(err: IntegrationError): never {
  throw err;
}

/** A share as Nextcloud describes it, reduced to what flows need. */
export function toShare(data: unknown, baseUrl: string): Share {
  const d = (data ?? {}) as Record<string, unknown>;
  const typeId = Number(d.share_type);
  const type = SHARE_TYPE_NAMES[typeId] ?? 'other';
  const str = (v: unknown) => (v === null || v === undefined || v === '' ? undefined : String(v));
  const expiration = str(d.expiration)?.slice(0, 10) ?? null;
  const fileId = str(d.file_source) ?? str(d.item_source);
  const url = str(d.url) ?? (type !== 'link' && fileId ? `${baseUrl}/index.php/f/${fileId}` : undefined);
  const permissions = d.permissions === undefined || d.permissions === null ? undefined : Number(d.permissions);
  return {
    id: String(d.id),
    type,
    path: String(d.path ?? ''),
    url,
    token: str(d.token),
    shareWith: type === 'link' ? undefined : str(d.share_with),
    expiration,
    permissions,
    label: str(d.label),
    hasPassword: Boolean(str(d.password)),
    fileId,
  };
}

/** A random link password: three groups of six letters and digits (upper, lower and a digit guaranteed). */
export function generateSharePassword(): string {
  const alphabet = 'abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789';
  for (;;) {
    const bytes = randomBytes(18);
    const chars = [...bytes].map((b) => alphabet[b % alphabet.length]);
    const pw = `${chars.slice(0, 6).join('')}-${chars.slice(6, 12).join('')}-${chars.slice(12).join('')}`;
    if (/[a-z]/.test(pw) && /[A-Z]/.test(pw) && /[0-9]/.test(pw)) return pw;
  }
}

/**
 * Whether an existing share gives what `wanted` asks for, so it can be handed out again instead of creating one
 * more (Nextcloud allows 20 share creations per user per 10 minutes): same type and recipient, the label and expiry
 * asked for, a password when one is asked for (and none when none is), not expired.
 */
export function sameShare(existing: Share, wanted: ShareOptions, today = localDate(new Date())): boolean {
  if (existing.type !== wanted.type) return false;
  if (wanted.type !== 'link' && existing.shareWith?.toLowerCase() !== wanted.shareWith?.trim().toLowerCase()) return false;
  if (wanted.label && existing.label !== wanted.label) return false;
  if (existing.expiration && existing.expiration < today) return false;
  if ((wanted.expireDate || null) !== existing.expiration) return false;
  if (wanted.type === 'link' && Boolean(wanted.password) !== existing.hasPassword) return false;
  if (wanted.permissions !== undefined && existing.permissions !== undefined && wanted.permissions !== existing.permissions) return false;
  return true;
}

/**
 * The client's own count of share creations, so it stays under Nextcloud's limit (20 per user per 10 minutes by
 * default) instead of running into it: over the budget a creation fails at once with NEXTCLOUD_RATE_LIMITED and
 * the time until a slot frees. A 429 from the server (another client of the same user) fills the budget.
 */
export class ShareBudget {
  private readonly times: number[] = [];
  private blockedUntil = 0;

  constructor(
    readonly limit: number,
    readonly periodMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** ms until a creation may be sent (0: now). */
  waitMs(): number {
    const now = this.now();
    while (this.times.length && this.times[0] <= now - this.periodMs) this.times.shift();
    const blocked = Math.max(0, this.blockedUntil - now);
    if (this.limit <= 0 || this.times.length < this.limit) return blocked;
    return Math.max(blocked, this.times[0] + this.periodMs - now);
  }

  /** Counts a creation that was sent. */
  spend(): void {
    this.times.push(this.now());
  }

  /** The server said 429: nothing more until `ms` from now. */
  exhausted(ms: number): void {
    this.blockedUntil = Math.max(this.blockedUntil, this.now() + ms);
  }
}
