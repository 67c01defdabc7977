/**
 * A Nextcloud test peer: the npm `webdav-server` serves the files at Nextcloud's layout
 * (`/remote.php/dav/files/<user>/`), and this front adds what Nextcloud does and webdav-server does not:
 *
 * - Basic auth with app passwords, a (simulated) costly password check, and a session cookie on authenticated
 *   answers that lets later requests skip that check until the session expires;
 * - PUT as Nextcloud does it: written to a part file and moved into place only when complete (an interrupted
 *   upload leaves nothing), `If-None-Match: *`, `X-Hash` → `X-Hash-SHA256`/`-SHA1`/`-MD5`, `OC-ETag`,
 *   `OC-FileId`, `X-OC-Mtime`, 409 when the parent folder is missing (`X-NC-WebDAV-AutoMkcol` when enabled);
 * - chunked upload v2 under `/remote.php/dav/uploads/<user>/<id>` (MKCOL, numbered chunk PUTs with
 *   `Destination` and `OC-Total-Length`, MOVE of `.file` assembling into the destination, DELETE to abort);
 * - the OCS share API (see ocs.ts) and public links at `/s/<token>/download`;
 * - faults for tests: a byte corrupted in transit, the server stopping after N bytes, a chunk refused.
 *
 * webdav-server keeps PROPFIND, GET, MKCOL, MOVE, COPY, DELETE, LOCK and PROPPATCH.
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
import { OcsError, ShareStore, ocsContext, sendOcs, today } from './ocs';
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
  /** Honour X-NC-WebDAV-AutoMkcol (Nextcloud 30+); default false, so clients must handle 409. */
  autoMkcol?: boolean;
  linkPasswordRequired?: boolean;
  minPasswordLength?: number;
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
}

export interface PeerStats {
  passwordChecks: number;
  sessionsCreated: number;
  requests: number;
  puts: number;
  chunkPuts: number;
  assemblies: number;
  uploadsAborted: number;
  uploadBytes: number;
  correlationIds: Set<string>;
  methods: Record<string, number>;
}

const INSTANCE_ID = 'ocpeer1';
const SESSION_COOKIE = `oc${INSTANCE_ID}`;
const DEFAULT_USERS = { alice: 'alice-app-password', bob: 'bob-app-password' };
const DEFAULT_GROUPS = { medicos: ['alice', 'bob'] };

export class NextcloudPeer {
  readonly layout: Layout;
  readonly stats: PeerStats = newStats();
  faults: PeerFaults = {};
  readonly shares: ShareStore;
  private readonly opts: Required<Omit<PeerOptions, 'rootDir' | 'port'>>;
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
      users: options.users ?? DEFAULT_USERS,
      groups: options.groups ?? DEFAULT_GROUPS,
      passwordCheckMs: options.passwordCheckMs ?? 0,
      sessionTtlMs: options.sessionTtlMs ?? 30 * 60 * 1000,
      hashes: options.hashes ?? true,
      minChunkSize: options.minChunkSize ?? 5 * 1024 * 1024,
      autoMkcol: options.autoMkcol ?? false,
      linkPasswordRequired: options.linkPasswordRequired ?? false,
      minPasswordLength: options.minPasswordLength ?? 0,
    };
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

  async start(): Promise<this> {
    const server = http.createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        if (!res.headersSent) sabreError(res, 500, `peer failure: ${(err as Error).message}`);
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
    const url = new URL(req.url ?? '/', 'http://peer');
    const p = url.pathname;
    if (p === '/status.php') return json(res, 200, { installed: true, maintenance: false, version: '32.0.0.0', versionstring: '32.0.0', productname: 'Nextcloud test peer' });
    if (p.startsWith('/s/')) return this.publicLink(req, res, p);
    if (p.startsWith('/ocs/v1.php/') || p.startsWith('/ocs/v2.php/')) return this.ocs(req, res, url);
    const files = /^\/remote\.php\/dav\/files\/([^/]+)(\/.*)?$/.exec(p);
    if (files) return this.files(req, res, url, decodeURIComponent(files[1]), files[2] ?? '/');
    const uploads = /^\/remote\.php\/dav\/uploads\/([^/]+)(?:\/([^/]+))?(?:\/([^/]+))?\/?$/.exec(p);
    if (uploads) return this.uploads(req, res, decodeURIComponent(uploads[1]), uploads[2], uploads[3]);
    return sabreError(res, 404, `No route for ${p}`);
  }

  // ------------------------------------------------------------------ authentication and sessions

  /** The authenticated user, or undefined after answering 401. */
  private async authenticate(req: http.IncomingMessage, res: http.ServerResponse, ocs?: ReturnType<typeof ocsContext>): Promise<string | undefined> {
    const basic = parseBasic(req.headers.authorization);
    const session = this.sessionOf(req);
    if (session && (!basic || basic.user === session.user)) return session.user;
    if (basic) {
      this.stats.passwordChecks += 1;
      if (this.opts.passwordCheckMs > 0) await new Promise((r) => setTimeout(r, this.opts.passwordCheckMs));
      const expected = this.opts.users[basic.user];
      if (expected !== undefined && sameSecret(expected, basic.password)) {
        this.startSession(res, basic.user);
        return basic.user;
      }
    }
    res.setHeader('WWW-Authenticate', 'Basic realm="Nextcloud", charset="UTF-8"');
    if (ocs) sendOcs(res, ocs, 997, 'Current user is not logged in', []);
    else sabreError(res, 401, 'No public access to this resource., No \'Authorization: Basic\' header found, Either no user or password was provided');
    req.resume();
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
    const id = randomBytes(16).toString('hex');
    this.sessions.set(id, { user, expiresAt: Date.now() + this.opts.sessionTtlMs });
    this.stats.sessionsCreated += 1;
    res.setHeader('Set-Cookie', [
      `${SESSION_COOKIE}=${id}; path=/; HttpOnly; SameSite=Lax`,
      `oc_sessionPassphrase=${randomBytes(24).toString('base64url')}; path=/; HttpOnly; SameSite=Lax`,
      'nc_sameSiteCookielax=true; path=/; HttpOnly; expires=Fri, 31-Dec-2100 23:59:59 GMT; SameSite=lax',
      'nc_sameSiteCookiestrict=true; path=/; HttpOnly; expires=Fri, 31-Dec-2100 23:59:59 GMT; SameSite=strict',
    ]);
  }

  // ------------------------------------------------------------------ files

  private async files(req: http.IncomingMessage, res: http.ServerResponse, url: URL, owner: string, rawRel: string): Promise<void> {
    const user = await this.authenticate(req, res);
    if (!user) return;
    if (user !== owner) {
      req.resume();
      return sabreError(res, 403, `User ${user} may not access the files of ${owner}`);
    }
    let rel: string;
    try {
      rel = decodeURIComponent(rawRel);
    } catch {
      req.resume();
      return sabreError(res, 400, 'Invalid percent-encoding in the path');
    }
    const destination = req.headers.destination;
    if (typeof destination === 'string' && !this.sameUserFiles(destination, user)) {
      req.resume();
      return sabreError(res, 403, 'The destination is outside the files of this user');
    }
    if (req.method === 'PUT') return this.put(req, res, user, rel);
    if ((req.method === 'MOVE' || req.method === 'COPY') && typeof destination === 'string') {
      // Sabre answers 409 when the destination's folder is missing (webdav-server fails with 500).
      const destRel = decodeURIComponent(new URL(destination, 'http://peer').pathname.replace(/^\/remote\.php\/dav\/files\/[^/]+/, ''));
      const destDisk = this.layout.userFile(user, destRel);
      if (!destDisk || !isDir(path.dirname(destDisk))) {
        req.resume();
        return sabreError(res, 409, 'The destination node is not found');
      }
      if (String(req.headers.overwrite ?? 'T').toUpperCase() === 'F' && fs.existsSync(destDisk)) {
        // webdav-server's COPY overwrites regardless; Sabre refuses.
        req.resume();
        return sabreError(res, 412, 'The destination node already exists, and the overwrite header is set to false');
      }
    }
    if (req.method === 'GET' || req.method === 'HEAD') {
      const disk = this.layout.userFile(user, rel);
      const stat = disk ? statOrUndefined(disk) : undefined;
      if (stat?.isFile()) {
        res.setHeader('ETag', `"${etagOf(stat)}"`);
        res.setHeader('OC-ETag', `"${etagOf(stat)}"`);
        res.setHeader('OC-FileId', fileIdOf(stat, INSTANCE_ID));
      }
    }
    // Everything else is webdav-server's: it sees the user's folder as /<user>/… and writes hrefs under rootPath.
    delete req.headers.authorization;
    req.url = `/${encodeURIComponent(owner)}${rawRel}${url.search}`;
    this.dav.executeRequest(req, res, '/remote.php/dav/files');
  }

  private sameUserFiles(destination: string, user: string): boolean {
    try {
      const p = new URL(destination, 'http://peer').pathname;
      const m = /^\/remote\.php\/dav\/files\/([^/]+)\//.exec(p);
      return Boolean(m) && decodeURIComponent(m![1]) === user;
    } catch {
      return false;
    }
  }

  /** PUT as Nextcloud does it: part file, then moved into place once complete; hashes and identity headers. */
  private async put(req: http.IncomingMessage, res: http.ServerResponse, user: string, rel: string): Promise<void> {
    const disk = this.layout.userFile(user, rel);
    if (!disk || rel.endsWith('/') || disk === path.join(this.layout.files, user)) {
      req.resume();
      return sabreError(res, 405, 'PUT is not allowed on a folder');
    }
    const parent = path.dirname(disk);
    if (!isDir(parent)) {
      if (this.opts.autoMkcol && req.headers['x-nc-webdav-automkcol'] === '1' && !existsAsFile(parent)) {
        await fsp.mkdir(parent, { recursive: true });
      } else {
        req.resume();
        return sabreError(res, 409, 'Files can only be created as children of collections');
      }
    }
    const before = statOrUndefined(disk);
    if (before?.isDirectory()) {
      req.resume();
      return sabreError(res, 405, 'A folder exists at this path');
    }
    if (req.headers['if-none-match'] === '*' && before) {
      req.resume();
      return sabreError(res, 412, 'An If-None-Match header was specified, but the ETag matched (or * was specified).');
    }
    const ifMatch = req.headers['if-match'];
    if (typeof ifMatch === 'string' && (!before || (ifMatch !== '*' && ifMatch.replace(/"/g, '') !== etagOf(before)))) {
      req.resume();
      return sabreError(res, 412, 'An If-Match header was specified, but none of the specified ETags matched.');
    }
    this.stats.puts += 1;
    const part = this.layout.partFile();
    const written = await this.receive(req, part);
    if (!written) return; // connection gone: part file removed, nothing else changed
    const expected = Number(req.headers['content-length']);
    if (Number.isFinite(expected) && written.bytes !== expected && !written.truncated) {
      await fsp.rm(part, { force: true });
      return sabreError(res, 400, `Expected filesize of ${expected} bytes but read (from Nextcloud client) and wrote (to Nextcloud storage) ${written.bytes} bytes. Could either be a network problem on the sending side or a problem writing to the storage on the server side.`);
    }
    const mtime = Number(req.headers['x-oc-mtime']);
    if (Number.isFinite(mtime) && mtime > 0) {
      await fsp.utimes(part, mtime, mtime);
      res.setHeader('X-OC-MTime', 'accepted');
    }
    await fsp.rename(part, disk);
    this.answerStored(req, res, disk, before ? 204 : 201, written.hashes);
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
      onBytes: countsAsUpload ? (n) => {
        this.stats.uploadBytes += n;
        if (faults.stopAfterBytes !== undefined && this.stats.uploadBytes >= faults.stopAfterBytes) {
          faults.stopAfterBytes = undefined;
          void this.stop();
        }
      } : undefined,
    });
  }

  // ------------------------------------------------------------------ chunked upload v2

  private async uploads(req: http.IncomingMessage, res: http.ServerResponse, owner: string, id: string | undefined, item: string | undefined): Promise<void> {
    const user = await this.authenticate(req, res);
    if (!user) return;
    if (user !== owner) {
      req.resume();
      return sabreError(res, 403, `User ${user} may not use the uploads of ${owner}`);
    }
    if (!id) {
      req.resume();
      if (req.method === 'PROPFIND' || req.method === 'MKCOL') return sabreError(res, 405, 'The uploads root is not writable');
      return sabreError(res, 404, 'Nothing here');
    }
    const dir = this.layout.uploadDir(user, decodeURIComponent(id));
    if (!dir) {
      req.resume();
      return sabreError(res, 400, 'Invalid upload id');
    }
    const destination = typeof req.headers.destination === 'string' ? req.headers.destination : undefined;
    if (destination && !this.sameUserFiles(destination, user)) {
      req.resume();
      return sabreError(res, 403, 'The destination is outside the files of this user');
    }
    if (!item) {
      req.resume();
      if (req.method === 'MKCOL') return this.startUpload(res, dir, destination);
      if (req.method === 'DELETE') return this.abortUpload(res, dir);
      return sabreError(res, 405, `${req.method} is not supported on an upload folder by this peer`);
    }
    if (!isDir(dir)) {
      req.resume();
      return sabreError(res, 404, 'Upload folder not found (expired or never created)');
    }
    if (item === '.file') {
      req.resume();
      if (req.method !== 'MOVE') return sabreError(res, 405, 'Only MOVE assembles .file');
      return this.assemble(req, res, user, dir, destination);
    }
    if (req.method === 'PUT') return this.putChunk(req, res, dir, item, destination);
    req.resume();
    return sabreError(res, 405, `${req.method} is not supported on a chunk`);
  }

  private async startUpload(res: http.ServerResponse, dir: string, destination: string | undefined): Promise<void> {
    if (fs.existsSync(dir)) return sabreError(res, 405, 'The resource you tried to create already exists');
    await fsp.mkdir(dir);
    await fsp.writeFile(path.join(dir, '.meta.json'), JSON.stringify({ destination: destination ?? null }));
    res.writeHead(201, { 'Content-Length': 0 });
    res.end();
  }

  private async abortUpload(res: http.ServerResponse, dir: string): Promise<void> {
    if (!fs.existsSync(dir)) return sabreError(res, 404, 'Upload folder not found');
    await fsp.rm(dir, { recursive: true, force: true });
    res.writeHead(204);
    res.end();
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
        return sabreError(res, 400, 'Chunk name must be a number between 1 and 10000');
      }
      if (destination !== meta.destination) {
        req.resume();
        return sabreError(res, 400, 'Destination header must be the same as for the upload start');
      }
    }
    const total = Number(req.headers['oc-total-length']);
    if (Number.isFinite(total)) {
      if (meta.totalLength !== undefined && meta.totalLength !== total) {
        req.resume();
        return sabreError(res, 400, 'OC-Total-Length differs from the earlier chunks');
      }
      meta.totalLength = total;
      await fsp.writeFile(path.join(dir, '.meta.json'), JSON.stringify(meta));
    }
    const fail = this.faults.failChunk;
    if (fail && Number(name) === fail.n && (fail.times ?? 1) > 0) {
      fail.times = (fail.times ?? 1) - 1;
      req.resume();
      return sabreError(res, fail.status, `Injected failure for chunk ${name}`);
    }
    this.stats.chunkPuts += 1;
    const tmp = path.join(dir, `.${name}.tmp`);
    const written = await this.receive(req, tmp);
    if (!written) return;
    const expected = Number(req.headers['content-length']);
    if (Number.isFinite(expected) && written.bytes !== expected && !written.truncated) {
      await fsp.rm(tmp, { force: true });
      return sabreError(res, 400, `Expected chunk of ${expected} bytes, got ${written.bytes}`);
    }
    await fsp.rename(tmp, path.join(dir, name));
    res.writeHead(201, { 'Content-Length': 0 });
    res.end();
  }

  private async assemble(req: http.IncomingMessage, res: http.ServerResponse, user: string, dir: string, destination: string | undefined): Promise<void> {
    if (!destination) return sabreError(res, 400, 'The Destination header is required');
    const meta = this.meta(dir);
    if (meta.destination !== null && meta.destination !== destination) {
      // Nextcloud lets the final MOVE name another file than the start did (a client renaming on conflict).
    }
    const rel = decodeURIComponent(new URL(destination, 'http://peer').pathname.replace(/^\/remote\.php\/dav\/files\/[^/]+/, '')) || '/';
    const disk = this.layout.userFile(user, rel);
    if (!disk) return sabreError(res, 403, 'Destination outside the files of this user');
    if (!isDir(path.dirname(disk))) return sabreError(res, 409, 'The destination node is not found');
    const before = statOrUndefined(disk);
    if (before?.isDirectory()) return sabreError(res, 409, 'A folder is at the destination');
    if (before && String(req.headers.overwrite ?? 'T').toUpperCase() === 'F') {
      return sabreError(res, 412, 'The destination node already exists, and the overwrite header is set to false');
    }
    const chunks = fs.readdirSync(dir).filter((f) => /^\d+$/.test(f)).sort((a, b) => Number(a) - Number(b));
    const sizes = chunks.map((c) => fs.statSync(path.join(dir, c)).size);
    const sum = sizes.reduce((a, b) => a + b, 0);
    const small = sizes.slice(0, -1).findIndex((s) => s < this.opts.minChunkSize);
    if (meta.destination !== null && small >= 0) {
      return sabreError(res, 400, `Chunk ${chunks[small]} has ${sizes[small]} bytes; chunks but the last must be at least ${this.opts.minChunkSize} bytes`);
    }
    const total = Number(req.headers['oc-total-length'] ?? meta.totalLength);
    if (Number.isFinite(total) && total !== sum) {
      return sabreError(res, 400, `Chunks on server do not sum up to ${total} but to ${sum} bytes`);
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
    if (String(req.headers['ocs-apirequest'] ?? '').toLowerCase() !== 'true') {
      req.resume();
      return sendOcs(res, ctx, 997, 'CSRF check failed', []);
    }
    const user = await this.authenticate(req, res, ctx);
    if (!user) return;
    const m = /^\/ocs\/v[12]\.php\/apps\/files_sharing\/api\/v1\/shares(?:\/([^/]+))?\/?$/.exec(url.pathname);
    if (!m) {
      req.resume();
      return sendOcs(res, ctx, 404, 'Invalid query, please check the syntax. API specifications are here: http://www.freedesktop.org/wiki/Specifications/open-collaboration-services.', []);
    }
    const id = m[1];
    try {
      if (req.method === 'POST' && !id) {
        const share = this.shares.create(user, await readParams(req));
        return sendOcs(res, ctx, 200, 'OK', this.shares.describe(share));
      }
      req.resume();
      if (req.method === 'GET' && !id) {
        return sendOcs(res, ctx, 200, 'OK', this.shares.list(user, url.searchParams.get('path') ?? undefined).map((s) => this.shares.describe(s)));
      }
      if (req.method === 'GET' && id) return sendOcs(res, ctx, 200, 'OK', [this.shares.describe(this.shares.get(user, id))]);
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

  /** `/s/<token>` and `/s/<token>/download`: the shared file, asking the link password (any user name) when set. */
  private async publicLink(req: http.IncomingMessage, res: http.ServerResponse, p: string): Promise<void> {
    req.resume();
    const token = p.split('/')[2] ?? '';
    const share = this.shares.byToken(token);
    if (!share || (share.expiration && share.expiration.slice(0, 10) < today())) return sabreError(res, 404, 'Share not found or expired');
    if (share.password) {
      const basic = parseBasic(req.headers.authorization);
      if (!basic || !sameSecret(share.password, basic.password)) {
        res.setHeader('WWW-Authenticate', 'Basic realm="Nextcloud public share"');
        return sabreError(res, 401, 'This share is password-protected');
      }
    }
    const disk = this.layout.userFile(share.owner, share.path);
    const stat = disk ? statOrUndefined(disk) : undefined;
    if (!disk || !stat) return sabreError(res, 404, 'The shared file is gone');
    if (stat.isDirectory()) return sabreError(res, 400, 'The peer serves shared files, not folders');
    res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': stat.size });
    await pipeline(fs.createReadStream(disk), res);
  }
}

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
  return { passwordChecks: 0, sessionsCreated: 0, requests: 0, puts: 0, chunkPuts: 0, assemblies: 0, uploadsAborted: 0, uploadBytes: 0, correlationIds: new Set(), methods: {} };
}

function sabreError(res: http.ServerResponse, status: number, message: string): void {
  const body = `<?xml version="1.0" encoding="utf-8"?>\n<d:error xmlns:d="DAV:" xmlns:s="http://sabredav.org/ns">\n  <s:exception>Sabre\\DAV\\Exception</s:exception>\n  <s:message>${message.replace(/&/g, '&amp;').replace(/</g, '&lt;')}</s:message>\n</d:error>\n`;
  res.writeHead(status, { 'Content-Type': 'application/xml; charset=utf-8', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

function json(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
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

async function readParams(req: http.IncomingMessage): Promise<Record<string, string>> {
  const parts: Buffer[] = [];
  for await (const p of req) parts.push(p as Buffer);
  const text = Buffer.concat(parts).toString('utf8');
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

function existsAsFile(p: string): boolean {
  // a file anywhere on the way makes AutoMkcol fail, as in Nextcloud
  for (let cur = p; cur !== path.dirname(cur); cur = path.dirname(cur)) {
    const s = statOrUndefined(cur);
    if (s) return !s.isDirectory();
  }
  return false;
}
