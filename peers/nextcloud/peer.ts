/**
 * A Nextcloud test peer that answers like a real Nextcloud 32 (held to a recording of one, call by call, by
 * test/conformance/nextcloud.spec.ts):
 *
 * - WebDAV files at `/remote.php/dav/files/<user>/`: PROPFIND (the properties Nextcloud lists for files and
 *   folders, named properties such as oc:fileid), GET, MKCOL, DELETE (204), MOVE/COPY (201/204, 412 with
 *   `Overwrite: F`, 409 into a missing folder), and PUT as Nextcloud does it: 404 into a missing folder unless
 *   `X-NC-WebDAV-Auto-Mkcol: 1` (then the folders are made), written to a part file and moved into place only when
 *   complete, `If-None-Match: *` checked when the request starts (not atomic, as in Nextcloud), `X-Hash` →
 *   `X-Hash-SHA256`/`-SHA1`/`-MD5`, `OC-ETag`, `OC-FileId`, `X-OC-Mtime`; Sabre's error bodies and messages;
 * - chunked upload v2 under `/remote.php/dav/uploads/<user>/<id>` (MKCOL, numbered chunk PUTs with `Destination`
 *   and `OC-Total-Length`, MOVE of `.file` assembling into the destination, DELETE to abort);
 * - Basic auth with app passwords, a (simulated) costly password check, session cookies that let later requests
 *   skip it; brute-force protection (after 10 failed logins from one address every login from it is 429) and the
 *   share rate limit (20 per user per 10 minutes, then 429), see guards.ts;
 * - the OCS share API (see ocs.ts; 412 without `OCS-APIRequest`) and public links at `/index.php/s/<token>`;
 * - what a web server does: a path with `..` is 404, a URL outside Nextcloud's routes answers HTML;
 * - faults for tests: a byte corrupted in transit, the server stopping after N bytes, a chunk or request refused.
 *
 * The npm `webdav-server` serves what Nextcloud does not differ in (LOCK, UNLOCK, PROPPATCH, OPTIONS).
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import { once } from 'node:events';
import * as http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { v2 as webdav } from 'webdav-server';
import { parseXmlTree } from '../../nodes/clients/nextcloud/xml';
import { BruteForceGuard, RateLimiter, type RateLimit } from './guards';
import { OcsError, ShareStore, ocsContext, sendOcs, today } from './ocs';
import { EXCEPTION, MESSAGE, type Entry, encodeHref, mimeOf, multistatus, sabreError } from './sabre';
import { Layout, PeerFileSystem, etagOf, fileIdOf } from './storage';

export interface PeerOptions {
  /** user id → app password. */
  users?: Record<string, string>;
  /** group id → members. */
  groups?: Record<string, string[]>;
  /** Where files live (a new temporary folder when absent; removed by close() only then). */
  rootDir?: string;
  port?: number;
  /** Simulated cost of checking an app password, ms (Nextcloud: ~200 ms on a small server). */
  passwordCheckMs?: number;
  sessionTtlMs?: number;
  /** Answer X-Hash with X-Hash-* headers (default true). */
  hashes?: boolean;
  /** Smallest chunk (but the last) accepted by chunked upload v2 (default 5 MiB, as Nextcloud documents). */
  minChunkSize?: number;
  /** Honour `X-NC-WebDAV-Auto-Mkcol: 1` on PUT (Nextcloud 30+; default true). false: an older Nextcloud. */
  autoMkcol?: boolean;
  linkPasswordRequired?: boolean;
  minPasswordLength?: number;
  /** Share creations per user (default 20 per 10 minutes, as Nextcloud 32); false: unlimited. */
  shareRateLimit?: RateLimit | false;
  /** Failed logins from one address before every login from it is refused (default 10). */
  maxLoginFailures?: number;
  /** Set session cookies (default true); false: as behind a proxy that drops them. */
  sessionCookies?: boolean;
}

export interface PeerFaults {
  /** Flip one byte of the next stored upload as it arrives (PUT or assembly), as if damaged in transit. */
  corruptNextUpload?: boolean;
  /** Drop the last byte of the next stored upload (a short write the server did not notice). */
  truncateNextUpload?: boolean;
  /** Stop the server (every connection dropped, no new ones) once this many upload bytes arrived. */
  stopAfterBytes?: number;
  /** Answer chunk PUT number `n` with `status`, `times` times (default once). */
  failChunk?: { n: number; status: number; times?: number };
  /** Answer the next requests of `method` (optionally only those whose path contains `path`) with `status`. */
  failRequest?: { method: string; path?: string; status: number; times?: number; headers?: Record<string, string> };
  /** Cut the connection of the next GET of a file after `afterBytes` bytes of its body. */
  cutNextDownload?: { afterBytes: number };
  /** Hold every PUT of a file, once its body arrived, this long before it is moved into place (widens races). */
  putDelayMs?: number;
}

export interface PeerStats {
  passwordChecks: number;
  failedLogins: number;
  sessionsCreated: number;
  requests: number;
  puts: number;
  chunkPuts: number;
  assemblies: number;
  uploadsAborted: number;
  uploadBytes: number;
  sharesCreated: number;
  /** Requests being answered now, and the most there were at once. */
  inFlight: number;
  maxInFlight: number;
  correlationIds: Set<string>;
  methods: Record<string, number>;
}

/** Nextcloud's instance id: "oc" and ten letters or digits; the session cookie is named after it. */
const INSTANCE_ID = 'ocpeer000001';
const SESSION_COOKIE = INSTANCE_ID;
const DEFAULT_USERS = { alice: 'alice-app-password', bob: 'bob-app-password' };
const DEFAULT_GROUPS = { medicos: ['alice', 'bob'] };

export class NextcloudPeer {
  readonly layout: Layout;
  readonly stats: PeerStats = newStats();
  faults: PeerFaults = {};
  readonly shares: ShareStore;
  readonly bruteForce: BruteForceGuard;
  private readonly shareLimit: RateLimiter;
  private readonly opts: Required<Omit<PeerOptions, 'rootDir' | 'port' | 'shareRateLimit' | 'maxLoginFailures' | 'sessionCookies'>>;
  private readonly sessionCookies: boolean;
  private readonly ownsRoot: boolean;
  private readonly dav: webdav.WebDAVServer;
  private readonly sessions = new Map<string, { user: string; expiresAt: number }>();
  private server?: http.Server;
  private readonly sockets = new Set<Socket>();
  private port = 0;

  constructor(options: PeerOptions = {}) {
    this.ownsRoot = !options.rootDir;
    this.layout = new Layout(options.rootDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'nextcloud-peer-')));
    this.port = options.port ?? 0;
    this.opts = {
      users: { ...(options.users ?? DEFAULT_USERS) },
      groups: options.groups ?? DEFAULT_GROUPS,
      passwordCheckMs: options.passwordCheckMs ?? 0,
      sessionTtlMs: options.sessionTtlMs ?? 30 * 60 * 1000,
      hashes: options.hashes ?? true,
      minChunkSize: options.minChunkSize ?? 5 * 1024 * 1024,
      autoMkcol: options.autoMkcol ?? true,
      linkPasswordRequired: options.linkPasswordRequired ?? false,
      minPasswordLength: options.minPasswordLength ?? 0,
    };
    this.bruteForce = new BruteForceGuard(options.maxLoginFailures ?? 10);
    this.sessionCookies = options.sessionCookies ?? true;
    this.shareLimit = new RateLimiter(options.shareRateLimit ?? { limit: 20, periodMs: 10 * 60 * 1000 });
    for (const user of Object.keys(this.opts.users)) this.layout.ensureUser(user);
    this.dav = new webdav.WebDAVServer({ rootFileSystem: new PeerFileSystem(this.layout.files), requireAuthentification: false });
    this.shares = new ShareStore({
      baseUrl: () => this.url,
      instanceId: INSTANCE_ID,
      users: this.opts.users,
      groups: this.opts.groups,
      linkPasswordRequired: this.opts.linkPasswordRequired,
      minPasswordLength: this.opts.minPasswordLength,
      userFile: (user, rel) => this.layout.userFile(user, rel),
    });
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Changes the simulated password-check cost while running (benchmarks compare both). */
  setPasswordCheckMs(ms: number): void {
    this.opts.passwordCheckMs = ms;
  }

  /** A user's app password changed on the server (a new one created, the old one revoked). */
  setAppPassword(user: string, password: string): void {
    this.opts.users[user] = password;
  }

  /** What `occ security:bruteforce:reset <address>` does. */
  resetLockout(address?: string): void {
    this.bruteForce.reset(address);
  }

  /** Forgets the share creations counted against the rate limit (as if the window had passed). */
  resetRateLimits(): void {
    this.shareLimit.reset();
  }

  async start(): Promise<this> {
    const server = http.createServer((req, res) => {
      this.stats.inFlight += 1;
      this.stats.maxInFlight = Math.max(this.stats.maxInFlight, this.stats.inFlight);
      res.once('close', () => {
        this.stats.inFlight -= 1;
      });
      this.handle(req, res).catch((err: unknown) => {
        if (!res.headersSent) sabreError(res, 500, EXCEPTION.generic, `peer failure: ${(err as Error).message}`);
        else res.destroy();
      });
    });
    server.keepAliveTimeout = 5000;
    server.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
    return this;
  }

  /** Stops accepting and drops every open connection at once (what a crash or a restart looks like to clients). */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    await closed;
  }

  get running(): boolean {
    return Boolean(this.server);
  }

  /** Stops and removes the files when the peer made its own temporary folder. */
  async close(): Promise<void> {
    await this.stop();
    if (this.ownsRoot) await fsp.rm(this.layout.root, { recursive: true, force: true });
  }

  /** Ends every session: the next request of each client pays a password check again. */
  expireSessions(): void {
    this.sessions.clear();
  }

  /** The disk path of a user's file, for tests that look behind the API. */
  diskPath(user: string, rel: string): string {
    const p = this.layout.userFile(user, rel);
    if (!p) throw new Error(`path ${rel} leaves the files of ${user}`);
    return p;
  }

  /** Names of chunked uploads still open for a user. */
  openUploads(user: string): string[] {
    try {
      return fs.readdirSync(path.join(this.layout.uploads, user));
    } catch {
      return [];
    }
  }

  partFiles(): string[] {
    return fs.readdirSync(this.layout.parts);
  }

  // ------------------------------------------------------------------ routing

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    this.stats.requests += 1;
    this.stats.methods[req.method ?? '?'] = (this.stats.methods[req.method ?? '?'] ?? 0) + 1;
    const correlation = req.headers['x-correlation-id'];
    if (typeof correlation === 'string') this.stats.correlationIds.add(correlation);
    const raw = (req.url ?? '/').split('?')[0];
    // The web server in front of Nextcloud refuses dot segments (also percent-encoded) before Nextcloud sees them.
    if (raw.split('/').some((s) => /^(\.|%2e){1,2}$/i.test(s))) return plain(req, res, 404, 'Not Found\n');
    const injected = this.injectedFailure(req, raw);
    if (injected) {
      req.resume();
      res.writeHead(injected.status, { 'Content-Length': 0, ...injected.headers });
      res.end();
      return;
    }
    const url = new URL(req.url ?? '/', 'http://peer');
    const p = url.pathname;
    if (p === '/status.php') return json(res, 200, STATUS);
    const link = /^(?:\/index\.php)?\/s\/([^/]+)(?:\/download)?\/?$/.exec(p);
    if (link) return this.publicLink(req, res, link[1]);
    if (p.startsWith('/ocs/v1.php/') || p.startsWith('/ocs/v2.php/')) return this.ocs(req, res, url);
    const files = /^\/remote\.php\/dav\/files\/([^/]+)(\/.*)?$/.exec(raw);
    if (files) return this.files(req, res, url, decodeURIComponent(files[1]), files[2] ?? '/');
    const uploads = /^\/remote\.php\/dav\/uploads\/([^/]+)(?:\/([^/]+))?(?:\/([^/]+))?\/?$/.exec(raw);
    if (uploads) return this.uploads(req, res, decodeURIComponent(uploads[1]), uploads[2], uploads[3]);
    // Nextcloud's front controller: an unknown route is an HTML page (PROPFIND: 405 with nothing in it).
    req.resume();
    if (req.method === 'PROPFIND') {
      res.writeHead(405, { 'Content-Type': 'text/html; charset=UTF-8', 'Content-Length': 0 });
      res.end();
      return;
    }
    return html(res, 404, '<!DOCTYPE html>\n<html><head><title>Nextcloud</title></head><body>Page not found</body></html>\n');
  }

  private injectedFailure(req: http.IncomingMessage, raw: string): { status: number; headers?: Record<string, string> } | undefined {
    const f = this.faults.failRequest;
    if (!f || f.method !== req.method || (f.path && !decodeURIComponent(raw).includes(f.path)) || (f.times ?? 1) <= 0) return undefined;
    f.times = (f.times ?? 1) - 1;
    return { status: f.status, headers: f.headers };
  }

  // ------------------------------------------------------------------ authentication and sessions

  /** The authenticated user, or undefined after answering 401 or 429 (brute-force protection). */
  private async authenticate(req: http.IncomingMessage, res: http.ServerResponse, ocs?: ReturnType<typeof ocsContext>): Promise<string | undefined> {
    const basic = parseBasic(req.headers.authorization);
    const session = this.sessionOf(req);
    if (session && (!basic || basic.user === session.user)) return session.user;
    const address = req.socket.remoteAddress ?? '?';
    if (basic) {
      if (this.bruteForce.blocked(address)) {
        req.resume();
        if (ocs) sendOcs(res, ocs, 429, 'Reached maximum delay', []);
        else sabreError(res, 429, EXCEPTION.tooManyRequests, '', 'too many requests');
        return undefined;
      }
      this.stats.passwordChecks += 1;
      if (this.opts.passwordCheckMs > 0) await new Promise((r) => setTimeout(r, this.opts.passwordCheckMs));
      const expected = this.opts.users[basic.user];
      if (expected !== undefined && sameSecret(expected, basic.password)) {
        this.startSession(res, basic.user);
        return basic.user;
      }
      this.stats.failedLogins += 1;
      this.bruteForce.failed(address);
    }
    req.resume();
    if (ocs) {
      res.setHeader('WWW-Authenticate', 'Basic realm="Authorisation Required"');
      sendOcs(res, ocs, 997, 'Unauthorised', []);
    } else {
      res.setHeader('WWW-Authenticate', 'Basic realm="Nextcloud", charset="UTF-8"');
      sabreError(res, 401, EXCEPTION.notAuthenticated, basic ? MESSAGE.wrongPassword : MESSAGE.noLogin);
    }
    return undefined;
  }

  private sessionOf(req: http.IncomingMessage): { user: string } | undefined {
    const cookies = parseCookies(req.headers.cookie);
    const id = cookies[SESSION_COOKIE];
    if (!id) return undefined;
    const s = this.sessions.get(id);
    if (!s) return undefined;
    if (s.expiresAt <= Date.now()) {
      this.sessions.delete(id);
      return undefined;
    }
    return s;
  }

  private startSession(res: http.ServerResponse, user: string): void {
    if (!this.sessionCookies) return;
    const id = randomBytes(13)
      .toString('base64url')
      .toLowerCase()
      .replace(/[^a-z0-9]/g, '0');
    this.sessions.set(id, { user, expiresAt: Date.now() + this.opts.sessionTtlMs });
    this.stats.sessionsCreated += 1;
    res.setHeader('Set-Cookie', [
      `oc_sessionPassphrase=${randomBytes(24).toString('base64url')}; path=/; HttpOnly; SameSite=Lax`,
      'nc_sameSiteCookielax=true; path=/; httponly;expires=Fri, 31-Dec-2100 23:59:59 GMT; SameSite=lax',
      'nc_sameSiteCookiestrict=true; path=/; httponly;expires=Fri, 31-Dec-2100 23:59:59 GMT; SameSite=strict',
      `${SESSION_COOKIE}=${id}; path=/; HttpOnly; SameSite=Lax`,
    ]);
  }

  // ------------------------------------------------------------------ files

  private async files(req: http.IncomingMessage, res: http.ServerResponse, url: URL, owner: string, rawRel: string): Promise<void> {
    const user = await this.authenticate(req, res);
    if (!user) return;
    if (user !== owner) {
      req.resume();
      // Nextcloud shows another user's files as an empty collection, and no one's as missing.
      if (!Object.hasOwn(this.opts.users, owner)) return sabreError(res, 404, EXCEPTION.notFound, MESSAGE.principal(owner));
      return sabreError(res, 403, EXCEPTION.forbidden, `Permission denied to access the files of ${owner}`);
    }
    let rel: string;
    try {
      rel = relOf(rawRel);
    } catch {
      req.resume();
      return sabreError(res, 400, EXCEPTION.badRequest, 'Invalid percent-encoding in the path');
    }
    switch (req.method) {
      case 'PUT':
        return this.put(req, res, user, rel);
      case 'PROPFIND':
        return this.propfind(req, res, user, rel);
      case 'GET':
      case 'HEAD':
        return this.get(req, res, user, rel);
      case 'MKCOL':
        return this.mkcol(req, res, user, rel);
      case 'DELETE':
        return this.remove(req, res, user, rel);
      case 'MOVE':
      case 'COPY':
        return this.transfer(req, res, user, rel);
    }
    // The rest (LOCK, UNLOCK, PROPPATCH, OPTIONS) is webdav-server's: it sees the user's folder as /<user>/….
    delete req.headers.authorization;
    req.url = `/${encodeURIComponent(owner)}${rawRel}${url.search}`;
    this.dav.executeRequest(req, res, '/remote.php/dav/files');
  }

  private entry(user: string, rel: string, stat: fs.Stats): Entry {
    const disk = this.layout.userFile(user, rel)!;
    return { rel, stat, size: stat.isDirectory() ? folderSize(disk) : stat.size, etag: etagOf(stat), fileId: fileIdOf(stat, INSTANCE_ID), numericId: stat.ino };
  }

  private href(user: string, e: Entry): string {
    const rel = e.rel === '/' ? '/' : e.stat.isDirectory() ? `${e.rel}/` : e.rel;
    return encodeHref(`/remote.php/dav/files/${user}${rel}`);
  }

  private async propfind(req: http.IncomingMessage, res: http.ServerResponse, user: string, rel: string): Promise<void> {
    const body = await readBody(req);
    const disk = this.layout.userFile(user, rel);
    const stat = disk ? statOrUndefined(disk) : undefined;
    if (!disk || !stat) return sabreError(res, 404, EXCEPTION.notFound, MESSAGE.notLocated(rel));
    const entries = [this.entry(user, rel, stat)];
    if (stat.isDirectory() && String(req.headers.depth ?? 'infinity') !== '0') {
      for (const name of fs.readdirSync(disk).sort()) {
        const s = statOrUndefined(path.join(disk, name));
        if (s) entries.push(this.entry(user, rel === '/' ? `/${name}` : `${rel}/${name}`, s));
      }
    }
    const text = multistatus(entries, (e) => this.href(user, e), requestedProps(body));
    res.writeHead(207, { 'Content-Type': 'application/xml; charset=utf-8', 'Content-Length': Buffer.byteLength(text), Vary: 'Brief,Prefer' });
    res.end(text);
  }

  private async get(req: http.IncomingMessage, res: http.ServerResponse, user: string, rel: string): Promise<void> {
    req.resume();
    const disk = this.layout.userFile(user, rel);
    const stat = disk ? statOrUndefined(disk) : undefined;
    if (!disk || !stat) return sabreError(res, 404, EXCEPTION.notFound, MESSAGE.notLocated(rel));
    if (stat.isDirectory()) return sabreError(res, 501, 'Sabre\\DAV\\Exception\\NotImplemented', 'GET is only implemented on File objects');
    res.writeHead(200, {
      'Content-Type': mimeOf(rel),
      'Content-Length': stat.size,
      ETag: `"${etagOf(stat)}"`,
      'OC-ETag': `"${etagOf(stat)}"`,
      'Last-Modified': stat.mtime.toUTCString(),
    });
    if (req.method === 'HEAD') return void res.end();
    const cut = this.faults.cutNextDownload;
    if (cut) {
      this.faults.cutNextDownload = undefined;
      const head = Buffer.alloc(Math.min(cut.afterBytes, stat.size));
      const fd = fs.openSync(disk, 'r');
      fs.readSync(fd, head, 0, head.length, 0);
      fs.closeSync(fd);
      res.write(head, () => res.destroy());
      return;
    }
    await pipeline(fs.createReadStream(disk), res);
  }

  private async mkcol(req: http.IncomingMessage, res: http.ServerResponse, user: string, rel: string): Promise<void> {
    req.resume();
    const disk = this.layout.userFile(user, rel);
    if (!disk || rel === '/' || fs.existsSync(disk)) return sabreError(res, 405, EXCEPTION.notAllowed, MESSAGE.exists);
    if (!isDir(path.dirname(disk))) return sabreError(res, 409, EXCEPTION.conflict, MESSAGE.parentMissing);
    try {
      fs.mkdirSync(disk);
    } catch (err) {
      // two MKCOLs at once: the loser finds it there (the file system decides, as in Nextcloud)
      if ((err as { code?: string }).code === 'EEXIST') return sabreError(res, 405, EXCEPTION.notAllowed, MESSAGE.exists);
      throw err;
    }
    res.writeHead(201, { 'Content-Length': 0 });
    res.end();
  }

  private async remove(req: http.IncomingMessage, res: http.ServerResponse, user: string, rel: string): Promise<void> {
    req.resume();
    const disk = this.layout.userFile(user, rel);
    if (!disk || rel === '/') return sabreError(res, 403, EXCEPTION.forbidden, 'Permission denied to delete the root');
    if (!statOrUndefined(disk)) return sabreError(res, 404, EXCEPTION.notFound, MESSAGE.notLocated(rel));
    await fsp.rm(disk, { recursive: true, force: true });
    res.writeHead(204);
    res.end();
  }

  /** MOVE and COPY: Sabre checks the destination (Overwrite, its folder), then moves or copies. */
  private async transfer(req: http.IncomingMessage, res: http.ServerResponse, user: string, rel: string): Promise<void> {
    req.resume();
    const destination = typeof req.headers.destination === 'string' ? req.headers.destination : '';
    const dest = this.destinationOf(destination, user);
    if (!dest)
      return sabreError(
        res,
        destination ? 403 : 400,
        destination ? EXCEPTION.forbidden : EXCEPTION.badRequest,
        destination ? 'The destination is outside the files of this user' : 'The Destination header is required',
      );
    const disk = this.layout.userFile(user, rel);
    const stat = disk ? statOrUndefined(disk) : undefined;
    if (!disk || !stat) return sabreError(res, 404, EXCEPTION.notFound, MESSAGE.notLocated(rel));
    const destDisk = this.layout.userFile(user, dest)!;
    if (!isDir(path.dirname(destDisk))) return sabreError(res, 409, EXCEPTION.conflict, MESSAGE.destinationMissing);
    const before = statOrUndefined(destDisk);
    if (before && String(req.headers.overwrite ?? 'T').toUpperCase() === 'F') return sabreError(res, 412, EXCEPTION.precondition, MESSAGE.noOverwrite);
    if (before) fs.rmSync(destDisk, { recursive: true, force: true });
    if (req.method === 'MOVE') fs.renameSync(disk, destDisk);
    else fs.cpSync(disk, destDisk, { recursive: true, preserveTimestamps: true });
    const after = fs.statSync(destDisk);
    const headers: Record<string, string | number> = { 'Content-Length': 0, 'OC-FileId': fileIdOf(after, INSTANCE_ID) };
    if (req.method === 'MOVE') headers.ETag = `"${etagOf(after)}"`;
    res.writeHead(before ? 204 : 201, headers);
    res.end();
  }

  /** The path below the user's files that a Destination header names, or undefined when it is elsewhere. */
  private destinationOf(destination: string, user: string): string | undefined {
    try {
      const p = new URL(destination, 'http://peer').pathname;
      const m = /^\/remote\.php\/dav\/files\/([^/]+)(\/.*)?$/.exec(p);
      if (!m || decodeURIComponent(m[1]) !== user) return undefined;
      const rel = relOf(m[2] ?? '/');
      return this.layout.userFile(user, rel) ? rel : undefined;
    } catch {
      return undefined;
    }
  }

  /** PUT as Nextcloud does it: part file, then moved into place once complete; hashes and identity headers. */
  private async put(req: http.IncomingMessage, res: http.ServerResponse, user: string, rel: string): Promise<void> {
    const disk = this.layout.userFile(user, rel);
    if (!disk || rel === '/') {
      req.resume();
      return sabreError(res, 409, EXCEPTION.conflict, MESSAGE.putOnFolder);
    }
    const parent = path.dirname(disk);
    if (!isDir(parent)) {
      const blocker = firstExisting(parent);
      if (this.opts.autoMkcol && req.headers['x-nc-webdav-auto-mkcol'] === '1') {
        if (blocker && !blocker.stat.isDirectory()) {
          req.resume();
          return sabreError(res, 404, EXCEPTION.notFound, MESSAGE.nodeNotFound(path.basename(blocker.path)));
        }
        await fsp.mkdir(parent, { recursive: true });
      } else {
        req.resume();
        if (blocker && !blocker.stat.isDirectory()) return sabreError(res, 409, EXCEPTION.conflict, MESSAGE.childOfFile);
        return sabreError(res, 404, EXCEPTION.notFound, MESSAGE.notLocated(path.posix.dirname(rel)));
      }
    }
    const before = statOrUndefined(disk);
    if (before?.isDirectory()) {
      req.resume();
      return sabreError(res, 409, EXCEPTION.conflict, MESSAGE.putOnFolder);
    }
    // Checked now, when the request starts; the file is put in place when the body has arrived (not atomic).
    if (req.headers['if-none-match'] === '*' && before) {
      req.resume();
      return sabreError(res, 412, EXCEPTION.precondition, MESSAGE.ifNoneMatch);
    }
    const ifMatch = req.headers['if-match'];
    if (typeof ifMatch === 'string' && (!before || (ifMatch !== '*' && ifMatch.replace(/"/g, '') !== etagOf(before)))) {
      req.resume();
      return sabreError(res, 412, EXCEPTION.precondition, MESSAGE.ifMatch);
    }
    this.stats.puts += 1;
    const part = this.layout.partFile();
    const written = await this.receive(req, part);
    if (!written) return; // connection gone: part file removed, nothing else changed
    const expected = Number(req.headers['content-length']);
    if (Number.isFinite(expected) && written.bytes !== expected && !written.truncated) {
      await fsp.rm(part, { force: true });
      return sabreError(
        res,
        400,
        EXCEPTION.badRequest,
        `Expected filesize of ${expected} bytes but read (from Nextcloud client) and wrote (to Nextcloud storage) ${written.bytes} bytes. Could either be a network problem on the sending side or a problem writing to the storage on the server side.`,
      );
    }
    const mtime = Number(req.headers['x-oc-mtime']);
    if (Number.isFinite(mtime) && mtime > 0) {
      await fsp.utimes(part, mtime, mtime);
      res.setHeader('X-OC-MTime', 'accepted');
    }
    if (this.faults.putDelayMs) await new Promise((r) => setTimeout(r, this.faults.putDelayMs));
    const replaced = fs.existsSync(disk);
    await fsp.rename(part, disk);
    this.answerStored(req, res, disk, replaced ? 204 : 201, written.hashes);
  }

  private answerStored(req: http.IncomingMessage, res: http.ServerResponse, disk: string, status: number, hashes: Record<string, string>): void {
    const stat = fs.statSync(disk);
    const etag = etagOf(stat);
    const wanted = String(req.headers['x-hash'] ?? '').toLowerCase();
    if (this.opts.hashes && wanted) {
      for (const algo of ['md5', 'sha1', 'sha256']) {
        if ((wanted === algo || wanted === 'all') && hashes[algo]) res.setHeader(`X-Hash-${algo.toUpperCase()}`, hashes[algo]);
      }
    }
    res.writeHead(status, {
      ETag: `"${etag}"`,
      'OC-ETag': `"${etag}"`,
      'OC-FileId': fileIdOf(stat, INSTANCE_ID),
      'Content-Length': 0,
    });
    res.end();
  }

  /**
   * Streams a request body into `file` through the hash and fault stage. Resolves undefined (and removes the
   * file) when the connection goes away before the body is complete.
   */
  private async receive(req: http.IncomingMessage, file: string): Promise<{ bytes: number; hashes: Record<string, string>; truncated: boolean } | undefined> {
    const stage = this.faultStage(req);
    try {
      await pipeline(req, stage, fs.createWriteStream(file));
    } catch {
      await fsp.rm(file, { force: true });
      this.stats.uploadsAborted += 1;
      return undefined;
    }
    if (!req.complete) {
      await fsp.rm(file, { force: true });
      this.stats.uploadsAborted += 1;
      return undefined;
    }
    return { bytes: stage.bytes, hashes: stage.digests(), truncated: stage.truncated };
  }

  /** Counts and hashes bytes as they arrive, and applies the armed faults. */
  private faultStage(req: http.IncomingMessage, countsAsUpload = true): FaultStage {
    const faults = this.faults;
    const wanted = String(req.headers['x-hash'] ?? '').toLowerCase();
    const algorithms = !this.opts.hashes ? [] : wanted === 'all' ? ['md5', 'sha1', 'sha256'] : ['md5', 'sha1', 'sha256'].filter((a) => a === wanted);
    const corrupt = Boolean(faults.corruptNextUpload);
    const truncate = Boolean(faults.truncateNextUpload);
    faults.corruptNextUpload = false;
    faults.truncateNextUpload = false;
    return new FaultStage({
      corrupt,
      truncate,
      algorithms,
      onBytes: countsAsUpload
        ? (n) => {
            this.stats.uploadBytes += n;
            if (faults.stopAfterBytes !== undefined && this.stats.uploadBytes >= faults.stopAfterBytes) {
              faults.stopAfterBytes = undefined;
              void this.stop();
            }
          }
        : undefined,
    });
  }

  // ------------------------------------------------------------------ chunked upload v2

  private async uploads(req: http.IncomingMessage, res: http.ServerResponse, owner: string, id: string | undefined, item: string | undefined): Promise<void> {
    const user = await this.authenticate(req, res);
    if (!user) return;
    if (user !== owner) {
      req.resume();
      return sabreError(res, 404, EXCEPTION.notFound, MESSAGE.principal(owner));
    }
    if (!id) {
      req.resume();
      if (req.method === 'MKCOL') return sabreError(res, 405, EXCEPTION.notAllowed, MESSAGE.exists);
      return sabreError(res, 405, EXCEPTION.notAllowed, `${req.method} is not allowed on the uploads root`);
    }
    const name = decodeURIComponent(id);
    const dir = this.layout.uploadDir(user, name);
    if (!dir) {
      req.resume();
      return sabreError(res, 400, EXCEPTION.badRequest, 'Invalid upload id');
    }
    const destination = typeof req.headers.destination === 'string' ? req.headers.destination : undefined;
    if (destination && !this.destinationOf(destination, user)) {
      req.resume();
      return sabreError(res, 403, EXCEPTION.forbidden, 'The destination is outside the files of this user');
    }
    const missing = MESSAGE.notLocated(`//${name}${item ? `/${decodeURIComponent(item)}` : ''}`);
    if (!item) {
      req.resume();
      if (req.method === 'MKCOL') return this.startUpload(res, dir, destination);
      if (!isDir(dir)) return sabreError(res, 404, EXCEPTION.notFound, missing);
      if (req.method === 'DELETE') return this.abortUpload(res, dir);
      if (req.method === 'PROPFIND') return this.propfindUpload(res, user, name, dir);
      return sabreError(res, 405, EXCEPTION.notAllowed, `${req.method} is not allowed on an upload folder`);
    }
    if (!isDir(dir)) {
      req.resume();
      return sabreError(res, 404, EXCEPTION.notFound, missing);
    }
    if (item === '.file') {
      req.resume();
      if (req.method !== 'MOVE') return sabreError(res, 405, EXCEPTION.notAllowed, 'Only MOVE assembles .file');
      return this.assemble(req, res, user, dir, destination);
    }
    if (req.method === 'PUT') return this.putChunk(req, res, dir, item, destination);
    req.resume();
    return sabreError(res, 405, EXCEPTION.notAllowed, `${req.method} is not allowed on a chunk`);
  }

  private async startUpload(res: http.ServerResponse, dir: string, destination: string | undefined): Promise<void> {
    if (fs.existsSync(dir)) return sabreError(res, 405, EXCEPTION.notAllowed, MESSAGE.exists);
    await fsp.mkdir(dir);
    await fsp.writeFile(path.join(dir, '.meta.json'), JSON.stringify({ destination: destination ?? null }));
    res.writeHead(201, { 'Content-Length': 0 });
    res.end();
  }

  private async abortUpload(res: http.ServerResponse, dir: string): Promise<void> {
    await fsp.rm(dir, { recursive: true, force: true });
    res.writeHead(204);
    res.end();
  }

  private propfindUpload(res: http.ServerResponse, user: string, name: string, dir: string): void {
    const stat = fs.statSync(dir);
    const e: Entry = { rel: `/${name}`, stat, size: folderSize(dir), etag: etagOf(stat), fileId: fileIdOf(stat, INSTANCE_ID), numericId: stat.ino };
    const text = multistatus([e], () => encodeHref(`/remote.php/dav/uploads/${user}/${name}/`));
    res.writeHead(207, { 'Content-Type': 'application/xml; charset=utf-8', 'Content-Length': Buffer.byteLength(text) });
    res.end(text);
  }

  private meta(dir: string): { destination: string | null; totalLength?: number } {
    return JSON.parse(fs.readFileSync(path.join(dir, '.meta.json'), 'utf8')) as { destination: string | null; totalLength?: number };
  }

  private async putChunk(req: http.IncomingMessage, res: http.ServerResponse, dir: string, name: string, destination: string | undefined): Promise<void> {
    const meta = this.meta(dir);
    if (meta.destination !== null) {
      // Chunked upload v2: numbered chunks 1…10000, every request names the same Destination.
      const n = /^\d{1,5}$/.test(name) ? Number(name) : NaN;
      if (!(n >= 1 && n <= 10000)) {
        req.resume();
        return sabreError(res, 400, EXCEPTION.badRequest, 'Invalid chunk name, must be numeric between 1 and 10000');
      }
      if (destination !== meta.destination) {
        req.resume();
        return sabreError(res, 400, EXCEPTION.badRequest, 'Destination header must be the same as for the upload start');
      }
    }
    const total = Number(req.headers['oc-total-length']);
    if (Number.isFinite(total)) {
      if (meta.totalLength !== undefined && meta.totalLength !== total) {
        req.resume();
        return sabreError(res, 400, EXCEPTION.badRequest, 'OC-Total-Length differs from the earlier chunks');
      }
      meta.totalLength = total;
      await fsp.writeFile(path.join(dir, '.meta.json'), JSON.stringify(meta));
    }
    const fail = this.faults.failChunk;
    if (fail && Number(name) === fail.n && (fail.times ?? 1) > 0) {
      fail.times = (fail.times ?? 1) - 1;
      req.resume();
      return sabreError(res, fail.status, EXCEPTION.generic, `Injected failure for chunk ${name}`);
    }
    this.stats.chunkPuts += 1;
    const tmp = path.join(dir, `.${name}.tmp`);
    const written = await this.receive(req, tmp);
    if (!written) return;
    const expected = Number(req.headers['content-length']);
    if (Number.isFinite(expected) && written.bytes !== expected && !written.truncated) {
      await fsp.rm(tmp, { force: true });
      return sabreError(res, 400, EXCEPTION.badRequest, `Expected chunk of ${expected} bytes, got ${written.bytes}`);
    }
    await fsp.rename(tmp, path.join(dir, name));
    res.writeHead(201, { 'Content-Length': 0 });
    res.end();
  }

  private async assemble(req: http.IncomingMessage, res: http.ServerResponse, user: string, dir: string, destination: string | undefined): Promise<void> {
    if (!destination) return sabreError(res, 400, EXCEPTION.badRequest, 'The Destination header is required');
    const meta = this.meta(dir);
    // Nextcloud lets the final MOVE name another file than the start did (a client renaming on conflict).
    const rel = this.destinationOf(destination, user);
    if (!rel) return sabreError(res, 403, EXCEPTION.forbidden, 'Destination outside the files of this user');
    const disk = this.layout.userFile(user, rel)!;
    if (!isDir(path.dirname(disk))) return sabreError(res, 409, EXCEPTION.conflict, MESSAGE.destinationMissing);
    const before = statOrUndefined(disk);
    if (before?.isDirectory()) return sabreError(res, 409, EXCEPTION.conflict, MESSAGE.putOnFolder);
    if (before && String(req.headers.overwrite ?? 'T').toUpperCase() === 'F') return sabreError(res, 412, EXCEPTION.precondition, MESSAGE.noOverwrite);
    const chunks = fs
      .readdirSync(dir)
      .filter((f) => /^\d+$/.test(f))
      .sort((a, b) => Number(a) - Number(b));
    const sizes = chunks.map((c) => fs.statSync(path.join(dir, c)).size);
    const sum = sizes.reduce((a, b) => a + b, 0);
    const small = sizes.slice(0, -1).findIndex((s) => s < this.opts.minChunkSize);
    if (meta.destination !== null && small >= 0) {
      return sabreError(
        res,
        400,
        EXCEPTION.badRequest,
        `Chunk ${chunks[small]} has ${sizes[small]} bytes; chunks but the last must be at least ${this.opts.minChunkSize} bytes`,
      );
    }
    const total = Number(req.headers['oc-total-length'] ?? meta.totalLength);
    if (Number.isFinite(total) && total !== sum) {
      return sabreError(res, 400, EXCEPTION.badRequest, `Chunks on server do not sum up to ${total} but to ${sum} bytes`);
    }
    this.stats.assemblies += 1;
    const part = this.layout.partFile();
    const stage = this.faultStage(req, false);
    const out = fs.createWriteStream(part);
    try {
      for (const c of chunks) {
        for await (const piece of fs.createReadStream(path.join(dir, c))) {
          if (!out.write(stage.process(piece as Buffer))) await once(out, 'drain');
        }
      }
      stage.finish();
      await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
    } catch (err) {
      out.destroy();
      await fsp.rm(part, { force: true });
      throw err;
    }
    const mtime = Number(req.headers['x-oc-mtime']);
    if (Number.isFinite(mtime) && mtime > 0) {
      await fsp.utimes(part, mtime, mtime);
      res.setHeader('X-OC-MTime', 'accepted');
    }
    await fsp.rename(part, disk);
    await fsp.rm(dir, { recursive: true, force: true });
    this.answerStored(req, res, disk, before ? 204 : 201, stage.digests());
  }

  // ------------------------------------------------------------------ OCS and public links

  private async ocs(req: http.IncomingMessage, res: http.ServerResponse, url: URL): Promise<void> {
    const ctx = ocsContext(url, req);
    const user = await this.authenticate(req, res, ctx);
    if (!user) return;
    if (String(req.headers['ocs-apirequest'] ?? '').toLowerCase() !== 'true') {
      req.resume();
      return json(res, 412, { message: 'CSRF check failed' });
    }
    const m = /^\/ocs\/v[12]\.php\/apps\/files_sharing\/api\/v1\/shares(?:\/([^/]+))?\/?$/.exec(url.pathname);
    if (!m) {
      req.resume();
      return sendOcs(
        res,
        ctx,
        404,
        'Invalid query, please check the syntax. API specifications are here: http://www.freedesktop.org/wiki/Specifications/open-collaboration-services.',
        [],
      );
    }
    const id = m[1];
    try {
      if (req.method === 'POST' && !id) {
        const params = await readParams(req);
        if (!this.shareLimit.allow(`${user}:createShare`)) {
          res.writeHead(429, { 'Content-Type': 'text/html; charset=UTF-8', 'Content-Length': 0 });
          res.end();
          return;
        }
        const share = this.shares.create(user, params);
        this.stats.sharesCreated += 1;
        return sendOcs(res, ctx, 200, 'OK', { ...this.shares.describe(share), mail_send: 1 });
      }
      if (req.method !== 'PUT') req.resume();
      if (req.method === 'GET' && !id) {
        return sendOcs(
          res,
          ctx,
          200,
          'OK',
          this.shares.list(user, url.searchParams.get('path') ?? undefined).map((s) => this.shares.describe(s)),
        );
      }
      if (req.method === 'GET' && id) return sendOcs(res, ctx, 200, 'OK', [this.shares.describe(this.shares.get(user, id))]);
      if (req.method === 'PUT' && id) return sendOcs(res, ctx, 200, 'OK', this.shares.describe(this.shares.update(user, id, await readParams(req))));
      if (req.method === 'DELETE' && id) {
        this.shares.delete(user, id);
        return sendOcs(res, ctx, 200, 'OK', []);
      }
      return sendOcs(res, ctx, 405, `Method ${req.method} not allowed here`, []);
    } catch (err) {
      if (err instanceof OcsError) return sendOcs(res, ctx, err.statuscode, err.message, []);
      throw err;
    }
  }

  /** `/index.php/s/<token>[/download]`: the shared file, asking the link password (any user name) when set. */
  private async publicLink(req: http.IncomingMessage, res: http.ServerResponse, token: string): Promise<void> {
    req.resume();
    const share = this.shares.byToken(token);
    if (!share || (share.expiration && share.expiration.slice(0, 10) < today())) return sabreError(res, 404, EXCEPTION.notFound, 'Share not found or expired');
    if (share.password) {
      const basic = parseBasic(req.headers.authorization);
      if (!basic || !sameSecret(share.password, basic.password)) {
        res.setHeader('WWW-Authenticate', 'Basic realm="Nextcloud public share"');
        return sabreError(res, 401, EXCEPTION.notAuthenticated, 'This share is password-protected');
      }
    }
    const disk = this.layout.userFile(share.owner, share.path);
    const stat = disk ? statOrUndefined(disk) : undefined;
    if (!disk || !stat) return sabreError(res, 404, EXCEPTION.notFound, 'The shared file is gone');
    if (stat.isDirectory()) return sabreError(res, 400, EXCEPTION.badRequest, 'The peer serves shared files, not folders');
    res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': stat.size });
    await pipeline(fs.createReadStream(disk), res);
  }
}

/** What status.php says (the keys of Nextcloud 32). */
const STATUS = {
  installed: true,
  maintenance: false,
  needsDbUpgrade: false,
  version: '32.0.1.2',
  versionstring: '32.0.1',
  edition: '',
  productname: 'Nextcloud test peer',
  extendedSupport: false,
};

/** Counts and hashes bytes as they arrive and applies the armed faults; a stream stage or called piece by piece. */
class FaultStage extends Transform {
  bytes = 0;
  truncated = false;
  private readonly hashes: Record<string, ReturnType<typeof createHash>> = {};
  private corrupt: boolean;
  private held?: Buffer;

  /** `algorithms`: what the client asked for with X-Hash (Nextcloud hashes only that). */
  constructor(private readonly opts: { corrupt: boolean; truncate: boolean; algorithms: string[]; onBytes?: (n: number) => void }) {
    super();
    this.corrupt = opts.corrupt;
    for (const a of opts.algorithms) this.hashes[a] = createHash(a);
  }

  /** What of `piece` gets stored (possibly damaged), hashed as stored. */
  process(piece: Buffer): Buffer {
    this.bytes += piece.length;
    this.opts.onBytes?.(piece.length);
    let out = piece;
    if (this.corrupt && out.length > 0) {
      out = Buffer.from(out);
      out[0] ^= 0xff;
      this.corrupt = false;
    }
    if (this.opts.truncate && out.length > 0) {
      // hold back the last byte seen so far; it is dropped at the end
      const joined = this.held ? Buffer.concat([this.held, out]) : out;
      this.held = joined.subarray(joined.length - 1);
      out = joined.subarray(0, joined.length - 1);
    }
    for (const h of Object.values(this.hashes)) h.update(out);
    return out;
  }

  /** Call after the last piece (the Transform does it itself). */
  finish(): void {
    if (this.opts.truncate && this.held) this.truncated = true;
  }

  override _transform(piece: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    done(null, this.process(piece));
  }

  override _flush(done: TransformCallback): void {
    this.finish();
    done();
  }

  digests(): Record<string, string> {
    return Object.fromEntries(Object.entries(this.hashes).map(([k, h]) => [k, h.copy().digest('hex')]));
  }
}

function newStats(): PeerStats {
  return {
    passwordChecks: 0,
    failedLogins: 0,
    sessionsCreated: 0,
    requests: 0,
    puts: 0,
    chunkPuts: 0,
    assemblies: 0,
    uploadsAborted: 0,
    uploadBytes: 0,
    sharesCreated: 0,
    inFlight: 0,
    maxInFlight: 0,
    correlationIds: new Set(),
    methods: {},
  };
}

/** The path below the user's files ("/a/b"), decoded and NFC-normalised as Nextcloud keeps names. */
function relOf(rawRel: string): string {
  const segments = rawRel
    .split('/')
    .filter(Boolean)
    .map((s) => decodeURIComponent(s).normalize('NFC'));
  return `/${segments.join('/')}`;
}

/** The property names a PROPFIND body asks for (`prefix:local`), or undefined for "the usual ones". */
function requestedProps(body: string): string[] | undefined {
  if (!body.trim()) return undefined;
  const root = parseXmlTree(body);
  const prop = root?.children.find((c) => c.name === 'd:prop');
  return prop ? prop.children.map((c) => c.name) : undefined;
}

function folderSize(dir: string): number {
  let total = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    total += e.isDirectory() ? folderSize(p) : (statOrUndefined(p)?.size ?? 0);
  }
  return total;
}

/** The nearest existing path at or above `p`. */
function firstExisting(p: string): { path: string; stat: fs.Stats } | undefined {
  for (let cur = p; cur !== path.dirname(cur); cur = path.dirname(cur)) {
    const stat = statOrUndefined(cur);
    if (stat) return { path: cur, stat };
  }
  return undefined;
}

function json(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

function html(res: http.ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'Content-Type': 'text/html; charset=UTF-8', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

function plain(req: http.IncomingMessage, res: http.ServerResponse, status: number, body: string): void {
  req.resume();
  res.writeHead(status, { 'Content-Type': 'text/plain;charset=UTF-8', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

function parseBasic(header: string | undefined): { user: string; password: string } | undefined {
  const m = /^Basic\s+(.+)$/i.exec(header ?? '');
  if (!m) return undefined;
  const decoded = Buffer.from(m[1], 'base64').toString('utf8');
  const i = decoded.indexOf(':');
  return i < 0 ? undefined : { user: decoded.slice(0, i), password: decoded.slice(i + 1) };
}

function parseCookies(header: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (header ?? '').split(';')) {
    const i = part.indexOf('=');
    if (i > 0) out[part.slice(0, i).trim()] = part.slice(i + 1).trim();
  }
  return out;
}

function sameSecret(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a).digest();
  const hb = createHash('sha256').update(b).digest();
  return timingSafeEqual(ha, hb);
}

async function readBody(req: http.IncomingMessage): Promise<string> {
  const parts: Buffer[] = [];
  for await (const p of req) parts.push(p as Buffer);
  return Buffer.concat(parts).toString('utf8');
}

async function readParams(req: http.IncomingMessage): Promise<Record<string, string>> {
  const text = await readBody(req);
  if (String(req.headers['content-type'] ?? '').includes('application/json')) {
    const obj = JSON.parse(text || '{}') as Record<string, unknown>;
    return Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, String(v)]));
  }
  return Object.fromEntries(new URLSearchParams(text));
}

function statOrUndefined(p: string): fs.Stats | undefined {
  try {
    return fs.statSync(p);
  } catch {
    return undefined;
  }
}

function isDir(p: string): boolean {
  return statOrUndefined(p)?.isDirectory() ?? false;
}
