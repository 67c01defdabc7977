/**
 * The test peer's OCS share API, after Nextcloud's files_sharing ShareAPIController: the OCS envelope in JSON
 * (`format=json` or `Accept: application/json`) or XML (the default), v1 (statuscode 100, HTTP 200 even for
 * failures) and v2 (statuscode 200, HTTP status = statuscode), `OCS-APIRequest: true` required.
 */
import * as fs from 'node:fs';
import type * as http from 'node:http';
import { randomBytes } from 'node:crypto';
import * as path from 'node:path';
import { mimeOf } from './sabre';

export interface PeerShare {
  id: string;
  shareType: number;
  owner: string;
  path: string;
  itemType: 'file' | 'folder';
  fileSource: number;
  /** The file id of the shared item's folder. */
  fileParent: number;
  shareWith: string | null;
  token: string | null;
  password: string | null;
  expiration: string | null;
  label: string;
  note: string;
  permissions: number;
  stime: number;
}

export class OcsError extends Error {
  constructor(
    readonly statuscode: number,
    message: string,
  ) {
    super(message);
  }
}

export interface OcsContext {
  version: 1 | 2;
  json: boolean;
}

export function ocsContext(url: URL, req: http.IncomingMessage): OcsContext {
  const version = url.pathname.startsWith('/ocs/v1.php/') ? 1 : 2;
  const json =
    url.searchParams.get('format') === 'json' || (url.searchParams.get('format') !== 'xml' && String(req.headers.accept ?? '').includes('application/json'));
  return { version, json };
}

/** Writes an OCS answer: statuscode 100/200 for success; failures with Nextcloud's HTTP mapping per version. */
export function sendOcs(res: http.ServerResponse, ctx: OcsContext, statuscode: number, message: string, data: unknown): void {
  const ok = statuscode === 100 || statuscode === 200;
  const code = ok ? (ctx.version === 1 ? 100 : 200) : statuscode;
  let httpStatus = 200;
  if (code === 997) httpStatus = 401;
  else if (!ok && ctx.version === 2) httpStatus = code >= 400 && code < 600 ? code : 400;
  const meta = { status: ok ? 'ok' : 'failure', statuscode: code, message: ok ? 'OK' : message, totalitems: '', itemsperpage: '' };
  const body = ctx.json
    ? JSON.stringify({ ocs: { meta, data: data ?? [] } })
    : `<?xml version="1.0"?>\n<ocs>\n${xmlOf('meta', meta, 1)}${xmlOf('data', data ?? [], 1)}</ocs>\n`;
  res.writeHead(httpStatus, {
    'Content-Type': ctx.json ? 'application/json; charset=utf-8' : 'application/xml; charset=utf-8',
    'Content-Length': Buffer.byteLength(body),
  });
  res.end(body);
}

function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function xmlOf(name: string, value: unknown, depth: number): string {
  const pad = ' '.repeat(depth);
  if (value === null || value === undefined || (Array.isArray(value) && value.length === 0)) return `${pad}<${name}/>\n`;
  if (Array.isArray(value)) return `${pad}<${name}>\n${value.map((v) => xmlOf('element', v, depth + 1)).join('')}${pad}</${name}>\n`;
  if (typeof value === 'object') {
    const inner = Object.entries(value as Record<string, unknown>)
      .map(([k, v]) => xmlOf(k, v, depth + 1))
      .join('');
    return `${pad}<${name}>\n${inner}${pad}</${name}>\n`;
  }
  const text = typeof value === 'boolean' ? (value ? '1' : '') : String(value);
  return text === '' ? `${pad}<${name}/>\n` : `${pad}<${name}>${escapeXml(text)}</${name}>\n`;
}

export interface ShareStoreOptions {
  baseUrl: () => string;
  instanceId: string;
  users: Record<string, string>;
  groups: Record<string, string[]>;
  linkPasswordRequired: boolean;
  minPasswordLength: number;
  /** Disk path of `/rel` in the user's files, or undefined. */
  userFile: (user: string, rel: string) => string | undefined;
}

export class ShareStore {
  readonly shares = new Map<string, PeerShare>();
  private nextId = 1;

  constructor(private readonly opts: ShareStoreOptions) {}

  create(user: string, params: Record<string, string>): PeerShare {
    const rel = params.path;
    if (!rel) throw new OcsError(404, 'Please specify a file or folder path');
    const disk = this.opts.userFile(user, rel);
    let stat: fs.Stats | undefined;
    try {
      stat = disk ? fs.statSync(disk) : undefined;
    } catch {
      stat = undefined;
    }
    if (!stat) throw new OcsError(404, 'Wrong path, file/folder does not exist');
    const shareType = Number(params.shareType);
    let shareWith: string | null = null;
    let token: string | null = null;
    let password: string | null = null;
    if (shareType === 0) {
      shareWith = params.shareWith ?? '';
      if (!Object.hasOwn(this.opts.users, shareWith)) throw new OcsError(404, 'Please specify a valid account to share with');
      if (shareWith === user) throw new OcsError(403, 'Sharing with yourself is not allowed');
    } else if (shareType === 1) {
      shareWith = params.shareWith ?? '';
      if (!Object.hasOwn(this.opts.groups, shareWith)) throw new OcsError(404, 'Please specify a valid group');
    } else if (shareType === 3) {
      password = params.password || null;
      if (!password && this.opts.linkPasswordRequired) throw new OcsError(403, 'Passwords are enforced for link and mail shares');
      if (password && password.length < this.opts.minPasswordLength) {
        throw new OcsError(400, `Password needs to be at least ${this.opts.minPasswordLength} characters long.`);
      }
      token = randomToken(15);
    } else {
      throw new OcsError(400, 'Unknown share type');
    }
    let expiration: string | null = null;
    if (params.expireDate) {
      if (!/^\d{4}-\d{2}-\d{2}$/.test(params.expireDate) || Number.isNaN(Date.parse(params.expireDate))) {
        throw new OcsError(404, 'Invalid date, date format must be YYYY-MM-DD');
      }
      if (params.expireDate < today()) throw new OcsError(404, 'Expiration date is in the past');
      expiration = `${params.expireDate} 00:00:00`;
    }
    const isFolder = stat.isDirectory();
    // links: read + share (17); user and group shares: all the item allows
    const permissions = params.permissions ? Number(params.permissions) : shareType === 3 ? 17 : isFolder ? 31 : 19;
    const share: PeerShare = {
      id: String(this.nextId++),
      shareType,
      owner: user,
      path: normalise(rel),
      itemType: isFolder ? 'folder' : 'file',
      fileSource: stat.ino,
      fileParent: fs.statSync(path.dirname(disk!)).ino,
      shareWith,
      token,
      password,
      expiration,
      label: params.label ?? '',
      note: params.note ?? '',
      permissions,
      stime: Math.floor(Date.now() / 1000),
    };
    this.shares.set(share.id, share);
    return share;
  }

  /** What updateShare changes: password (empty removes it), expiry, label, note. */
  update(user: string, id: string, params: Record<string, string>): PeerShare {
    const s = this.get(user, id);
    if (params.password !== undefined && s.shareType === 3) {
      if (params.password && params.password.length < this.opts.minPasswordLength) {
        throw new OcsError(400, `Password needs to be at least ${this.opts.minPasswordLength} characters long.`);
      }
      s.password = params.password || null;
    }
    if (params.expireDate !== undefined) {
      if (params.expireDate && params.expireDate < today()) throw new OcsError(404, 'Expiration date is in the past');
      s.expiration = params.expireDate ? `${params.expireDate} 00:00:00` : null;
    }
    if (params.label !== undefined) s.label = params.label;
    if (params.note !== undefined) s.note = params.note;
    return s;
  }

  get(user: string, id: string): PeerShare {
    const s = this.shares.get(id);
    if (!s || s.owner !== user) throw new OcsError(404, 'Wrong share ID, share does not exist');
    return s;
  }

  list(user: string, rel?: string): PeerShare[] {
    const wanted = rel ? normalise(rel) : undefined;
    return [...this.shares.values()].filter((s) => s.owner === user && (!wanted || s.path === wanted));
  }

  delete(user: string, id: string): void {
    this.get(user, id);
    this.shares.delete(id);
  }

  byToken(token: string): PeerShare | undefined {
    return [...this.shares.values()].find((s) => s.token === token);
  }

  /** The share as Nextcloud 32's API describes it (every key it sends; `mail_send` is 1 only in the create answer). */
  describe(s: PeerShare): Record<string, unknown> {
    const disk = this.opts.userFile(s.owner, s.path);
    let stat: fs.Stats | undefined;
    try {
      stat = disk ? fs.statSync(disk) : undefined;
    } catch {
      stat = undefined;
    }
    const isLink = s.shareType === 3;
    return {
      id: s.id,
      share_type: s.shareType,
      uid_owner: s.owner,
      displayname_owner: s.owner,
      permissions: s.permissions,
      can_edit: true,
      can_delete: true,
      stime: s.stime,
      parent: null,
      expiration: s.expiration,
      token: s.token,
      uid_file_owner: s.owner,
      note: s.note,
      label: s.label,
      displayname_file_owner: s.owner,
      path: s.path,
      item_type: s.itemType,
      item_permissions: s.itemType === 'folder' ? 31 : 27,
      'is-mount-root': false,
      'mount-type': '',
      mimetype: s.itemType === 'folder' ? 'httpd/unix-directory' : mimeOf(s.path),
      has_preview: false,
      storage_id: `home::${s.owner}`,
      storage: 1,
      item_source: s.fileSource,
      file_source: s.fileSource,
      file_parent: s.fileParent,
      file_target: `/${s.path.split('/').pop()}`,
      item_size: stat?.isFile() ? stat.size : 0,
      item_mtime: stat ? Math.floor(stat.mtimeMs / 1000) : s.stime,
      share_with: isLink ? (s.password ? '3|$argon2id$v=19$peer-hashed' : null) : s.shareWith,
      share_with_displayname: isLink ? '(Shared link)' : s.shareWith,
      password: isLink ? (s.password ? '$argon2id$v=19$peer-hashed' : null) : undefined,
      send_password_by_talk: false,
      url: s.token ? `${this.opts.baseUrl()}/index.php/s/${s.token}` : undefined,
      mail_send: 0,
      hide_download: 0,
      attributes: null,
    };
  }
}

function normalise(rel: string): string {
  return '/' + rel.split('/').filter(Boolean).join('/');
}

export function today(): string {
  const d = new Date();
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

function randomToken(n: number): string {
  const alphabet = 'abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789';
  return [...randomBytes(n)].map((b) => alphabet[b % alphabet.length]).join('');
}
