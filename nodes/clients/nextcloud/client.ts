/**
 * The Nextcloud client: files under `/remote.php/dav/files/<user>/` (PROPFIND, MKCOL, GET, PUT, MOVE, COPY, DELETE),
 * chunked upload v2 and OCS shares, over plain HTTP with the answers checked the way Nextcloud 32 gives them
 * (test/conformance/ holds the peer to a real one). One instance per config node; it keeps Nextcloud's session
 * cookie so steady traffic skips the password check, and stops using a password Nextcloud refused.
 * No Node-RED import.
 */
import { createHash, randomBytes } from 'node:crypto';
import { PassThrough, type Readable, Transform } from 'node:stream';
import { setTimeout as delay } from 'node:timers/promises';
import { IntegrationError, badInput, isRetryable } from '../common/errors';
import { CleanupQueue } from './cleanup';
import { bufferChunks, describe, isReadable, knownSize, prepend, sourceFailed, streamChunks } from './content';
import { type Entry, PROPFIND_BODY, normEtag, parseMultistatus } from './dav';
import { authError, httpError, isLockout, isNextcloudAnswer, lockoutError, nextcloudError, notNextcloudError, retryAfterMs, verifyFailed } from './errors';
import { type Share, type ShareOptions, ShareBudget, ocsResult, sameShare, shareForm, toShare, validateShareOptions } from './ocs';
import { RENDERING_COMPARE_MAX_BYTES, isPdf, sameRendering } from './renderings';
import { baseName, encodePath, numberedName, parentOf, safePath, safeSegment, splitExtension } from './paths';
import { CookieJar, sessionAgents, type SessionAgents } from './session';
import { Transport, header, type Request, type Response } from './transport';

export type { Entry } from './dav';

export type ConflictPolicy = 'overwrite' | 'rename' | 'skip';
export const CONFLICT_POLICIES: ConflictPolicy[] = ['overwrite', 'rename', 'skip'];

const MiB = 1024 * 1024;
/** Nextcloud's chunked upload v2 numbers chunks 1…10000. */
const MAX_CHUNKS = 10000;
/**
 * Defaults from measurements on a real Nextcloud 32 (docs/nextcloud.md; `node dist/bench/nextcloud-upload.js
 * --chunking --url …`): one PUT beats chunked upload v2 at every size tried, 10 MB to 400 MB (400 MB: 6.7 s against
 * 8.3 s in 64 MiB chunks and 11.2 s in 10 MiB chunks), because the server writes every chunk and then reads them all
 * again to assemble the file. So everything whose length is known goes in one PUT up to 512 MiB (the body limit of
 * Nextcloud's recommended nginx setup); chunks are for longer content and for streams of unknown length, where a
 * chunk is what sits in memory (two at most): 10 MiB chunks are 14–35 % slower than 64 MiB ones from 50 MB on, and
 * hold 108 MiB less.
 */
export const DEFAULT_CHUNK_SIZE = 10 * MiB;
export const DEFAULT_CHUNK_THRESHOLD = 512 * MiB;
/**
 * Without Auto-Mkcol (Nextcloud before 30) a PUT into a missing folder is refused after its body was sent: larger
 * bodies make their folder first.
 */
const RESEND_BYTES = MiB;
/** Under "skip", content larger than this is compared with what is there before it is sent at all. */
const PRECHECK_BYTES = MiB;
const KNOWN_FOLDERS_MAX = 2000;
/** Pauses before sending again a request Nextcloud answered 423 (locked), ms. */
const LOCKED_RETRIES = [100, 300, 900];
const COMMIT_ROUNDS = 32;

export interface NextcloudClientOptions {
  /** Server root, e.g. https://cloud.clinica.example (a sub-path such as /nextcloud is kept). */
  url: string;
  /** The Nextcloud user id (the name in /remote.php/dav/files/<user>/). */
  username: string;
  appPassword: string;
  /** Idle timeout per request, ms (default 30000). */
  timeoutMs?: number;
  /** Bytes per chunk of a chunked upload (default 10 MiB; Nextcloud wants ≥ 5 MiB except the last). */
  chunkSize?: number;
  /**
   * Content of known length (a Buffer, a file stream, a stream with `size`) up to this goes in one PUT, longer
   * content chunked (default 512 MiB). A stream of unknown length is read at most one chunk ahead: one longer than
   * a chunk is always chunked.
   */
  chunkThreshold?: number;
  /** Times a failed chunk is sent again when the fault is transient (default 2). */
  chunkRetries?: number;
  maxSockets?: number;
  rejectUnauthorized?: boolean;
  /**
   * Share creations this client allows itself per `shareLimitPeriodMs`, to stay under Nextcloud's own limit
   * (default 20 per 10 minutes, Nextcloud 32's); 0 turns the client's count off (the server's still applies).
   */
  shareLimit?: number;
  shareLimitPeriodMs?: number;
  /** Told of every retry (a chunk sent again after a transient fault), for metrics and logs. */
  onRetry?: (info: { operation: string; path: string; attempt: number; code?: string }) => void;
  /** Pauses between attempts of a failed clean-up (the DELETE of an aborted upload), ms. */
  cleanupDelaysMs?: number[];
  /** Told when a clean-up is given up (chunks or a temporary file stay on the server). */
  onCleanupFailed?: (info: { what: string; attempts: number }) => void;
}

export interface UploadOptions {
  /**
   * overwrite (default), rename (keep both: "name (2).ext"), skip (keep the existing file when its content is the
   * same, fail when it differs; a PDF given as a Buffer that differs only in its rendering time and id, as Odoo
   * renders a report anew each time, is the same). Under rename and skip no stored file is ever replaced, whatever
   * runs at once.
   */
  conflict?: ConflictPolicy;
  contentType?: string;
  /** Modification time to record (X-OC-Mtime). */
  mtime?: Date;
  /** A stream's length in bytes when the caller knows it (a file stream's is found by itself). */
  size?: number;
  correlationId?: string;
}

export interface UploadResult {
  /** Where the content is now (differs from the requested path after a rename). */
  path: string;
  name: string;
  requestedPath: string;
  size: number;
  sha256: string;
  etag?: string;
  /** Nextcloud's OC-FileId (the numeric file id followed by the instance id). */
  fileId?: string;
  /** `<server>/index.php/f/<file id>`: opens the file for any Nextcloud user who can see it (no share needed). */
  internalUrl?: string;
  /** created, overwritten, renamed (kept both) or skipped (same content was there already). */
  status: 'created' | 'overwritten' | 'renamed' | 'skipped';
  chunked: boolean;
  chunks: number;
  /** How the stored content was checked: the server's SHA-256, its size and ETag, or the existing file's hash. */
  verifiedBy: 'sha256' | 'size' | 'existing';
}

export interface Download {
  path: string;
  data: Buffer;
  size: number;
  etag: string | null;
  contentType?: string;
}

export interface DownloadStream {
  path: string;
  stream: Readable;
  size?: number;
  etag: string | null;
  contentType?: string;
}

export interface InternalLink {
  path: string;
  fileId: string;
  url: string;
}

interface CallOptions {
  correlationId?: string;
}

/** How deep `list` goes (1 = the folder's own entries) and what a missing folder gives. */
export interface ListOptions extends CallOptions {
  depth?: number;
  missing?: 'error' | 'empty';
}

/** The deepest walk `list` makes (a patient's folder is two levels: type folders, then documents). */
export const MAX_LIST_DEPTH = 5;

interface Content {
  sha256: string;
  size: number;
}

/** The server root the user configured, without what a user may paste after it (/remote.php/…, /index.php/…). */
export function serverRoot(url: string): URL {
  let u: URL;
  try {
    u = new URL(url.trim());
  } catch {
    throw notConfigured(`Nextcloud URL "${url}" is not a URL; set it like https://cloud.example.org (or NEXTCLOUD_URL)`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw notConfigured(`Nextcloud URL "${url}" must start with http:// or https://`);
  if (u.username || u.password) throw notConfigured('Nextcloud URL must not carry a user or password; use the user and app password settings');
  u.pathname = u.pathname.replace(/\/(remote|index|status|public)\.php(\/.*)?$/, '').replace(/\/+$/, '');
  u.search = '';
  u.hash = '';
  return u;
}

function notConfigured(message: string): IntegrationError {
  return new IntegrationError(message, { code: 'NEXTCLOUD_NOT_CONFIGURED', system: 'nextcloud', retryable: false });
}

const ok = (status: number) => status === 200 || status === 201 || status === 204;

export class NextcloudClient {
  readonly baseUrl: string;
  readonly username: string;
  readonly chunkSize: number;
  readonly chunkThreshold: number;
  private readonly root: URL;
  private readonly jar: CookieJar;
  private readonly agents: SessionAgents;
  private readonly http: Transport;
  private readonly chunkRetries: number;
  private readonly onRetry?: NextcloudClientOptions['onRetry'];
  private readonly knownFolders = new Set<string>(['/']);
  private readonly shareBudget: ShareBudget;
  private readonly cleanups: CleanupQueue;
  /** Commits (the MOVE into the final name) of one folder, one after the other within this client. */
  private readonly folderTurns = new Map<string, Promise<unknown>>();
  /** Whether the server makes missing folders on a PUT with Auto-Mkcol (Nextcloud 30+); learnt from its answers. */
  private autoMkcol = true;
  /** The first request without a session: the others wait for its cookie instead of logging in too. */
  private firstLogin?: Promise<unknown>;
  /** A login went through (with or without a cookie: a proxy may drop them, then requests must not wait). */
  private loggedIn = false;
  private refused?: IntegrationError;
  private closed = false;

  constructor(options: NextcloudClientOptions) {
    this.root = serverRoot(options.url);
    this.baseUrl = this.root.toString().replace(/\/$/, '');
    if (!options.username?.trim()) throw notConfigured('Nextcloud user is empty; set the user id in the config node or NEXTCLOUD_USERNAME');
    if (!options.appPassword) throw notConfigured('Nextcloud app password is empty; set it in the config node credentials or NEXTCLOUD_APP_PASSWORD');
    this.username = options.username.trim();
    this.chunkSize = Math.max(64 * 1024, Math.floor(options.chunkSize ?? DEFAULT_CHUNK_SIZE));
    this.chunkThreshold = Math.max(0, Math.floor(options.chunkThreshold ?? DEFAULT_CHUNK_THRESHOLD));
    this.chunkRetries = Math.max(0, options.chunkRetries ?? 2);
    this.onRetry = options.onRetry;
    this.shareBudget = new ShareBudget(Math.max(0, options.shareLimit ?? 20), options.shareLimitPeriodMs ?? 10 * 60 * 1000);
    this.cleanups = new CleanupQueue(options.cleanupDelaysMs, (task, attempts) => options.onCleanupFailed?.({ what: task.what, attempts }));
    this.jar = new CookieJar(this.root.hostname);
    this.agents = sessionAgents(this.jar, { maxSockets: options.maxSockets, rejectUnauthorized: options.rejectUnauthorized });
    this.http = new Transport({
      username: this.username,
      password: options.appPassword,
      agents: this.agents,
      timeoutMs: options.timeoutMs ?? 30000,
      userAgent: 'clinica-node-red (Nextcloud integration)',
    });
  }

  /** Sessions Nextcloud started for this client (each one cost a password check); steady traffic keeps it at 1. */
  get sessionsStarted(): number {
    return this.jar.sessionsStarted;
  }

  /** Forgets the session cookie (the next request logs in with the app password again). */
  resetSession(): void {
    this.jar.clear();
  }

  /** The refusal (wrong password, or this host blocked) that stops this client sending, if any. */
  get loginRefused(): IntegrationError | undefined {
    return this.refused;
  }

  /** An operator says the login may work now (the password was fixed on the server, the block reset). */
  retryLogin(): void {
    this.refused = undefined;
    this.loggedIn = false;
  }

  /** Clean-ups (DELETEs of aborted uploads) still waiting for another attempt. */
  get pendingCleanups(): number {
    return this.cleanups.pending;
  }

  /** `/remote.php/dav/files/<user><path>` as a URL. */
  filesUrl(path: string): URL {
    return this.url(`/remote.php/dav/files/${encodeURIComponent(this.username)}${encodePath(path === '/' ? '/' : path)}`);
  }

  private url(suffix: string): URL {
    return new URL(this.root.pathname.replace(/\/$/, '') + suffix, this.root);
  }

  private headers(opts: CallOptions): Record<string, string> {
    return opts.correlationId ? { 'X-Correlation-Id': opts.correlationId } : {};
  }

  /** Checks the URL and the credentials (PROPFIND of the user's root); this also starts the session. */
  async check(opts: CallOptions = {}): Promise<void> {
    const res = await this.send({ method: 'PROPFIND', url: this.filesUrl('/'), headers: { Depth: '0', ...this.headers(opts) } }, 'connection check', '/');
    if (res.status !== 207) throw httpError(res, 'connection check', '/');
  }

  // ---------------------------------------------------------------- upload

  /**
   * Uploads a Buffer, a string or a readable stream to `path`, creating missing folders. A Buffer up to the
   * threshold, or a stream that ends within one chunk, goes in one verified PUT; anything larger streams through
   * chunked upload v2 (at most two chunks in memory).
   */
  async upload(path: string, content: Buffer | string | Readable, opts: UploadOptions = {}): Promise<UploadResult> {
    const target = safePath(path);
    if (target === '/') throw badInput('nextcloud', 'Upload needs a file path, got the root folder');
    const conflict = opts.conflict ?? 'overwrite';
    if (!CONFLICT_POLICIES.includes(conflict)) throw badInput('nextcloud', `Conflict policy "${String(conflict)}" is unknown; use overwrite, rename or skip`);
    if (typeof content === 'string') content = Buffer.from(content, 'utf8');
    if (Buffer.isBuffer(content)) {
      if (content.length <= this.chunkThreshold) return this.putWhole(target, content, conflict, opts);
      return this.putChunked(target, bufferChunks(content, this.chunkSize), content.length, conflict, opts);
    }
    if (!isReadable(content)) {
      throw badInput('nextcloud', `Upload of "${target}" needs msg.payload as a Buffer, a string or a readable stream, got ${describe(content)}`);
    }
    const size = opts.size ?? (await knownSize(content));
    if (size !== undefined && size <= this.chunkThreshold) return this.putStream(target, content, size, conflict, opts);
    const chunks = streamChunks(content, this.chunkSize)[Symbol.asyncIterator]();
    // A stream of unknown length is read at most one chunk ahead: one that ends within a chunk goes in one PUT,
    // anything longer is chunked.
    let head: Buffer[];
    try {
      const first = await chunks.next();
      if (first.done) return await this.putWhole(target, Buffer.alloc(0), conflict, opts);
      if (first.value.length < this.chunkSize && first.value.length <= this.chunkThreshold) {
        return await this.putWhole(target, first.value, conflict, opts);
      }
      const second = await chunks.next();
      if (second.done && first.value.length <= this.chunkThreshold) return await this.putWhole(target, first.value, conflict, opts);
      head = second.done ? [first.value] : [first.value, second.value];
    } catch (err) {
      content.destroy();
      throw err;
    }
    return this.putChunked(target, prepend(head, chunks), size, conflict, opts);
  }

  /**
   * One PUT with the content's SHA-256 asked back (X-Hash) and checked. Overwrite: straight onto the target. Rename
   * and skip: onto a temporary name beside it, then MOVEd with `Overwrite: F` (Nextcloud's If-None-Match is checked
   * when the PUT starts, so two PUTs at once could both pass it; a MOVE is decided in one step).
   * (Hashing before sending measured as fast as hashing slices while sending, or on the thread pool, on 2 cores.)
   */
  private async putWhole(target: string, data: Buffer, conflict: ConflictPolicy, opts: UploadOptions): Promise<UploadResult> {
    const content = { sha256: createHash('sha256').update(data).digest('hex'), size: data.length };
    if (conflict === 'overwrite') {
      const res = await this.putFile(target, data, opts, target);
      return this.verified(target, target, res, content, { status: res.status === 201 ? 'created' : 'overwritten', chunked: false, chunks: 1 });
    }
    if (conflict === 'skip' && data.length > PRECHECK_BYTES) {
      const stored = await this.compareExisting(target, content, opts, data);
      if (stored) return this.skipped(target, { size: content.size, sha256: stored }, false, 0, opts);
    }
    const staging = temporaryName(target);
    const res = await this.putFile(staging, data, opts, target);
    const staged = await this.verified(staging, target, res, content, { status: 'created', chunked: false, chunks: 1 });
    return this.commit(staging, target, conflict, staged, opts, data);
  }

  /**
   * A stream of known length in one PUT, hashed as it goes (nothing held in memory). It cannot be sent twice, so its
   * folder is made first when not known; rename and skip go through a temporary name as for a Buffer.
   */
  private async putStream(target: string, source: Readable, size: number, conflict: ConflictPolicy, opts: UploadOptions): Promise<UploadResult> {
    try {
      if (conflict === 'skip' && size > PRECHECK_BYTES) {
        const there = await this.stat(target, opts);
        if (there && (there.type !== 'file' || there.size !== size)) throw differentFileThere(target);
      }
      await this.ensureFolder(parentOf(target), opts);
    } catch (err) {
      source.destroy();
      throw err;
    }
    const stage = conflict === 'overwrite' ? target : temporaryName(target);
    const hash = createHash('sha256');
    let bytes = 0;
    const counted = new Transform({
      transform(piece: Buffer, _enc, done) {
        hash.update(piece);
        bytes += piece.length;
        done(null, piece);
      },
    });
    source.once('error', (err) => counted.destroy(sourceFailed(err)));
    source.pipe(counted);
    const res = await this.send(
      {
        method: 'PUT',
        url: this.filesUrl(stage),
        headers: {
          ...this.headers(opts),
          'Content-Type': opts.contentType || 'application/octet-stream',
          'Content-Length': String(size),
          'X-Hash': 'sha256',
          'X-OC-Mtime': opts.mtime ? String(Math.floor(opts.mtime.getTime() / 1000)) : undefined,
        },
        bodyStream: counted,
      },
      'upload',
      target,
    ).catch((err: unknown) => {
      source.destroy();
      throw err;
    });
    if (!ok(res.status)) throw httpError(res, 'upload', target);
    if (bytes !== size) {
      await this.discard(stage);
      throw badInput('nextcloud', `Upload of "${target}": the stream gave ${bytes} bytes but its size said ${size}; send the complete file`);
    }
    const content = { sha256: hash.digest('hex'), size };
    const status = conflict !== 'overwrite' || res.status === 201 ? 'created' : 'overwritten';
    const staged = await this.verified(stage, target, res, content, { status, chunked: false, chunks: 1 });
    return conflict === 'overwrite' ? staged : this.commit(stage, target, conflict, staged, opts);
  }

  /**
   * PUT of a whole body with `X-NC-WebDAV-Auto-Mkcol: 1` (Nextcloud makes missing folders). A server without it
   * answers 404 (or 409): the folders are made with MKCOL and the body sent again.
   */
  private async putFile(path: string, body: Buffer, opts: UploadOptions, shown: string): Promise<Response> {
    const folder = parentOf(path);
    const put = () =>
      this.send(
        {
          method: 'PUT',
          url: this.filesUrl(path),
          headers: {
            ...this.headers(opts),
            'Content-Type': opts.contentType || 'application/octet-stream',
            'X-Hash': 'sha256',
            'X-OC-Mtime': opts.mtime ? String(Math.floor(opts.mtime.getTime() / 1000)) : undefined,
            'X-NC-WebDAV-Auto-Mkcol': this.knownFolders.has(folder) ? undefined : '1',
          },
          body,
        },
        'upload',
        shown,
      );
    if (!this.autoMkcol && !this.knownFolders.has(folder) && body.length > RESEND_BYTES) await this.ensureFolder(folder, opts);
    let res = await put();
    if (res.status === 404 || res.status === 409) {
      this.forgetFolder(folder);
      const made = await this.ensureFolder(folder, opts);
      if (res.status === 404 && made) this.autoMkcol = false;
      res = await put();
    }
    if (!ok(res.status)) throw httpError(res, 'upload', shown);
    this.rememberFolder(folder);
    return res;
  }

  /**
   * Moves a verified temporary upload onto its final name without ever replacing a file: `Overwrite: F`; when the
   * name is taken, skip compares (same content: skipped) and rename takes the next free "name (n).ext". Within this
   * client the commits of one folder go one at a time, so concurrent uploads to one name cannot race each other.
   */
  private async commit(
    staging: string,
    target: string,
    conflict: 'rename' | 'skip',
    staged: UploadResult,
    opts: UploadOptions,
    data?: Buffer,
  ): Promise<UploadResult> {
    let settled = false;
    try {
      const result = await this.inFolderTurn(parentOf(target), async () => {
        let path = target;
        for (let round = 0; round < COMMIT_ROUNDS; round++) {
          const res = await this.send(
            {
              method: 'MOVE',
              url: this.filesUrl(staging),
              headers: { ...this.headers(opts), Destination: this.filesUrl(path).toString(), Overwrite: 'F' },
            },
            'upload',
            target,
          );
          if (res.status === 201) {
            settled = true;
            return {
              ...staged,
              path,
              name: baseName(path),
              requestedPath: target,
              status: path === target ? ('created' as const) : ('renamed' as const),
              etag: normEtag(header(res.headers, 'etag')) ?? staged.etag,
            };
          }
          if (res.status === 204) {
            settled = true;
            throw new IntegrationError(
              `Nextcloud replaced "${path}" although the upload asked it not to (MOVE with Overwrite: F answered 204); a proxy in front of Nextcloud may drop the Overwrite header`,
              { code: 'NEXTCLOUD_CONFLICT', system: 'nextcloud', retryable: false, status: 204, details: { path } },
            );
          }
          if (res.status !== 412) throw httpError(res, 'upload', target);
          if (conflict === 'skip') {
            const stored = await this.sameContent(target, staged, opts, data);
            if (stored) return this.skipped(target, { size: staged.size, sha256: stored }, staged.chunked, staged.chunks, opts);
            throw differentFileThere(target);
          }
          path = await this.freeName(target, opts);
        }
        throw new IntegrationError(`Nextcloud upload of "${target}" kept colliding with other uploads; send it again`, {
          code: 'NEXTCLOUD_CONFLICT',
          system: 'nextcloud',
          retryable: true,
          details: { path: target },
        });
      });
      return result;
    } finally {
      if (!settled) await this.discard(staging);
    }
  }

  private async inFolderTurn<T>(folder: string, run: () => Promise<T>): Promise<T> {
    const key = folder.normalize('NFC').toLowerCase();
    const mine = (this.folderTurns.get(key) ?? Promise.resolve()).catch(() => undefined).then(run);
    const tail = mine.catch(() => undefined);
    this.folderTurns.set(key, tail);
    try {
      return await mine;
    } finally {
      if (this.folderTurns.get(key) === tail) this.folderTurns.delete(key);
    }
  }

  /** Chunked upload v2: MKCOL the upload folder, PUT numbered chunks, MOVE `.file` onto the target; DELETE on failure. */
  private async putChunked(
    target: string,
    chunks: AsyncIterator<Buffer>,
    size: number | undefined,
    conflict: ConflictPolicy,
    opts: UploadOptions,
  ): Promise<UploadResult> {
    if (conflict === 'skip' && size !== undefined) {
      const there = await this.stat(target, opts);
      if (there && (there.type !== 'file' || there.size !== size)) {
        await chunks.return?.().catch(() => undefined);
        throw differentFileThere(target);
      }
    }
    // rename and skip assemble under a temporary name, then commit; overwrite assembles onto the target
    const stage = conflict === 'overwrite' ? target : temporaryName(target);
    const uploadUrl = this.url(`/remote.php/dav/uploads/${encodeURIComponent(this.username)}/clinica-${randomBytes(12).toString('hex')}`);
    const base = { ...this.headers(opts), Destination: this.filesUrl(stage).toString(), 'OC-Total-Length': size === undefined ? undefined : String(size) };
    const hash = createHash('sha256');
    let total = 0;
    let count = 0;
    let pending: Promise<IteratorResult<Buffer>> | undefined;
    let started = false;
    let staged: UploadResult;
    try {
      // Nextcloud resolves the Destination's folder when the upload starts, so it must exist first.
      await this.ensureFolder(parentOf(target), opts);
      const made = await this.send({ method: 'MKCOL', url: uploadUrl, headers: base }, 'chunked upload start', target);
      if (made.status !== 201) throw httpError(made, 'chunked upload start', target);
      started = true;
      pending = chunks.next();
      for (;;) {
        const next = await pending;
        pending = undefined;
        if (next.done) break;
        const chunk = next.value;
        count += 1;
        if (count > MAX_CHUNKS) {
          throw badInput('nextcloud', `Upload of "${target}" needs more than ${MAX_CHUNKS} chunks; raise the chunk size of the Nextcloud config node`);
        }
        hash.update(chunk);
        total += chunk.length;
        await this.putChunk(new URL(`${uploadUrl.pathname}/${String(count).padStart(5, '0')}`, uploadUrl), chunk, base, target, count);
        pending = chunks.next();
      }
      if (size !== undefined && total !== size) {
        throw badInput('nextcloud', `Upload of "${target}": the stream gave ${total} bytes but its size said ${size}; send the complete file`);
      }
      const content = { sha256: hash.digest('hex'), size: total };
      const assemble = () =>
        this.send(
          {
            method: 'MOVE',
            url: new URL(`${uploadUrl.pathname}/.file`, uploadUrl),
            headers: {
              ...base,
              'OC-Total-Length': String(total),
              Overwrite: conflict === 'overwrite' ? 'T' : 'F',
              'X-Hash': 'sha256',
              'OC-Checksum': `SHA256:${content.sha256}`,
              'X-OC-Mtime': opts.mtime ? String(Math.floor(opts.mtime.getTime() / 1000)) : undefined,
            },
            timeoutMs: Math.max(120000, 30000 + count * 2000), // the server assembles before it answers
          },
          'chunked upload assembly',
          target,
        );
      let res = await assemble();
      if (res.status === 409) {
        // the folder went away during the upload
        this.forgetFolder(parentOf(target));
        await this.ensureFolder(parentOf(target), opts);
        res = await assemble();
      }
      if (!ok(res.status)) throw httpError(res, 'chunked upload assembly', target);
      started = false; // Nextcloud removed the upload folder when it assembled the file
      const status = conflict !== 'overwrite' || res.status === 201 ? 'created' : 'overwritten';
      staged = await this.verified(stage, target, res, content, { status, chunked: true, chunks: count });
    } catch (err) {
      if (pending) pending.catch(() => undefined);
      await chunks.return?.().catch(() => undefined);
      if (started) await this.abortUpload(uploadUrl);
      throw err;
    }
    return conflict === 'overwrite' ? staged : this.commit(stage, target, conflict, staged, opts);
  }

  private async putChunk(url: URL, chunk: Buffer, headers: Record<string, string | undefined>, target: string, n: number): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        const res = await this.send({ method: 'PUT', url, headers, body: chunk }, `chunk ${n} upload`, target);
        if (ok(res.status)) return;
        throw httpError(res, `chunk ${n} upload`, target);
      } catch (err) {
        if (attempt >= this.chunkRetries || !isRetryable(err) || this.refused) throw err;
        this.onRetry?.({ operation: `chunk ${n} upload`, path: target, attempt: attempt + 1, code: (err as { code?: string }).code });
        await delay(250 * 4 ** attempt);
      }
    }
  }

  /** DELETE of an aborted chunked upload; a failed one is tried again later (the chunks would stay otherwise). */
  private abortUpload(uploadUrl: URL): Promise<void> {
    return this.deleteLater(uploadUrl, `upload folder ${uploadUrl.pathname}`);
  }

  /** Removes a temporary or damaged file, now or (when that fails) later. */
  private discard(path: string): Promise<void> {
    return this.deleteLater(this.filesUrl(path), `"${path}"`);
  }

  private deleteLater(url: URL, what: string): Promise<void> {
    return this.cleanups.add({
      what,
      run: async () => {
        if (this.closed || this.refused) return false;
        const res = await this.http.send({ method: 'DELETE', url, timeoutMs: 10000 });
        return ok(res.status) || res.status === 404;
      },
    });
  }

  /**
   * Checks what the server stored at `path` against what was sent; a mismatch removes the stored copy and fails.
   * `shown` is the path the caller asked for (errors name it, not a temporary name).
   */
  private async verified(
    path: string,
    shown: string,
    res: Response,
    content: Content,
    how: Pick<UploadResult, 'status' | 'chunked' | 'chunks'>,
  ): Promise<UploadResult> {
    const etag = normEtag(header(res.headers, 'oc-etag') ?? header(res.headers, 'etag'));
    const fileId = header(res.headers, 'oc-fileid');
    const remoteHash = header(res.headers, 'x-hash-sha256')?.trim().toLowerCase();
    const result = (verifiedBy: UploadResult['verifiedBy'], finalEtag: string | null): UploadResult => ({
      path,
      name: baseName(path),
      requestedPath: shown,
      size: content.size,
      sha256: content.sha256,
      etag: finalEtag ?? undefined,
      fileId,
      internalUrl: this.internalUrlOf(fileId),
      ...how,
      verifiedBy,
    });
    if (remoteHash) {
      if (remoteHash === content.sha256) return result('sha256', etag);
      await this.discard(path);
      throw verifyFailed(shown, `Nextcloud's SHA-256 ${remoteHash.slice(0, 12)}… differs from the sent ${content.sha256.slice(0, 12)}…`);
    }
    const stored = await this.stat(path);
    if (!stored || stored.type !== 'file') throw verifyFailed(shown, 'the file is not there after the upload');
    if (stored.size !== content.size) {
      await this.discard(path);
      throw verifyFailed(shown, `Nextcloud stored ${stored.size} bytes, ${content.size} were sent`);
    }
    if (etag && stored.etag && normEtag(stored.etag) !== etag) {
      throw verifyFailed(shown, `the file changed right after the upload (ETag ${etag} became ${stored.etag}); another client wrote it`);
    }
    return result('size', normEtag(stored.etag) ?? etag);
  }

  private async skipped(target: string, content: Content, chunked: boolean, chunks: number, opts: CallOptions): Promise<UploadResult> {
    const existing = await this.stat(target, opts);
    return {
      path: target,
      name: baseName(target),
      requestedPath: target,
      size: content.size,
      sha256: content.sha256,
      etag: existing?.etag ?? undefined,
      fileId: existing?.fileId,
      internalUrl: existing?.fileId ? `${this.baseUrl}/index.php/f/${existing.fileId}` : undefined,
      status: 'skipped',
      chunked,
      chunks,
      verifiedBy: 'existing',
    };
  }

  /** undefined when absent, the stored file's SHA-256 when it is the same document or, failing the upload at once, different. */
  private async compareExisting(target: string, content: Content, opts: CallOptions, data?: Buffer): Promise<string | undefined> {
    const there = await this.stat(target, opts);
    if (!there) return undefined;
    const stored = await this.sameContent(target, content, opts, data);
    if (stored) return stored;
    throw differentFileThere(target);
  }

  /**
   * The SHA-256 of the file at `path` when it holds this content: the same size and SHA-256 (read as a stream, only
   * when the sizes agree) or, given the bytes of a PDF, another rendering of it (renderings.ts); else undefined.
   */
  private async sameContent(path: string, content: Content, opts: CallOptions = {}, data?: Buffer): Promise<string | undefined> {
    const existing = await this.stat(path, opts);
    if (!existing || existing.type !== 'file' || existing.size !== content.size) return undefined;
    const { stream } = await this.downloadStream(path, opts);
    const hash = createHash('sha256');
    const kept: Buffer[] | undefined = data && isPdf(data) && data.length <= RENDERING_COMPARE_MAX_BYTES ? [] : undefined;
    try {
      for await (const piece of stream) {
        hash.update(piece as Buffer);
        kept?.push(piece as Buffer);
      }
    } catch (err) {
      throw nextcloudError(err, 'compare', path);
    }
    const stored = hash.digest('hex');
    if (stored === content.sha256) return stored;
    return kept && sameRendering(Buffer.concat(kept), data!) ? stored : undefined;
  }

  /** The first "name (n).ext" not taken in the target's folder. */
  private async freeName(target: string, opts: CallOptions): Promise<string> {
    const folder = parentOf(target);
    const taken = new Set((await this.list(folder, opts)).map((e) => e.name.normalize('NFC').toLowerCase()));
    const name = baseName(target);
    for (let n = 2; n < 10000; n++) {
      const candidate = numberedName(name, n);
      if (!taken.has(candidate.toLowerCase())) return (folder === '/' ? '' : folder) + '/' + safeSegment(candidate, 'file name');
    }
    throw new IntegrationError(`Nextcloud folder "${folder}" has no free name left for "${name}"`, {
      code: 'NEXTCLOUD_CONFLICT',
      system: 'nextcloud',
      retryable: false,
      details: { path: target },
    });
  }

  private internalUrlOf(ocFileId: string | undefined): string | undefined {
    const m = ocFileId ? /^0*(\d+)/.exec(ocFileId) : null;
    return m ? `${this.baseUrl}/index.php/f/${m[1]}` : undefined;
  }

  // ---------------------------------------------------------------- folders

  /**
   * Creates `path` and any missing parents: MKCOL the deepest folder first; Nextcloud answers 409 when the parent
   * is missing (then the parent is made and the folder tried again) and 405 when it exists already.
   */
  async mkdir(path: string, opts: CallOptions = {}): Promise<{ path: string; created: boolean }> {
    const folder = safePath(path);
    const created = await this.ensureFolder(folder, opts);
    return { path: folder, created };
  }

  /**
   * Below a folder known to exist, the missing levels are made top-down (one MKCOL each); with nothing known,
   * bottom-up: MKCOL the folder itself, and on 409 make the parent first. Returns whether `folder` was made.
   */
  private async ensureFolder(folder: string, opts: CallOptions = {}): Promise<boolean> {
    if (folder === '/' || this.knownFolders.has(folder)) return false;
    const known = this.deepestKnownAncestor(folder);
    if (known === '/') return this.ensureFolderUpwards(folder, opts);
    let created = false;
    for (let at = folder.indexOf('/', known.length + 1); ; at = folder.indexOf('/', at + 1)) {
      const level = at < 0 ? folder : folder.slice(0, at);
      const status = await this.mkcol(level, opts);
      if (status === 409) {
        this.forgetFolder(known); // someone removed it meanwhile
        return this.ensureFolderUpwards(folder, opts);
      }
      this.rememberFolder(level);
      created = status === 201;
      if (at < 0) return created;
    }
  }

  private async ensureFolderUpwards(folder: string, opts: CallOptions): Promise<boolean> {
    if (folder === '/') return false;
    const status = await this.mkcol(folder, opts);
    if (status === 409) {
      await this.ensureFolderUpwards(parentOf(folder), opts);
      const again = await this.mkcol(folder, opts);
      if (again === 409) throw httpError({ status: 409 }, 'create folder', folder, { fix: 'a file is in the way of a parent folder' });
      this.rememberFolder(folder);
      return again === 201;
    }
    this.rememberFolder(folder);
    return status === 201;
  }

  private deepestKnownAncestor(folder: string): string {
    for (let p = parentOf(folder); p !== '/'; p = parentOf(p)) if (this.knownFolders.has(p)) return p;
    return '/';
  }

  /**
   * MKCOL; returns 201 (made), 405 (exists) or 409 (parent missing). A 405 can also mean a file of that name: the
   * next upload into it says so.
   */
  private async mkcol(folder: string, opts: CallOptions): Promise<number> {
    const res = await this.send({ method: 'MKCOL', url: this.filesUrl(folder), headers: this.headers(opts) }, 'create folder', folder);
    if (res.status === 201 || res.status === 405 || res.status === 409) return res.status;
    throw httpError(res, 'create folder', folder);
  }

  private rememberFolder(folder: string): void {
    if (this.knownFolders.size >= KNOWN_FOLDERS_MAX) {
      this.knownFolders.clear();
      this.knownFolders.add('/');
    }
    this.knownFolders.add(folder);
  }

  /** Forgets a folder and everything below it (after a 409, a delete or a move). */
  private forgetFolder(folder: string): void {
    for (const f of [...this.knownFolders]) if (f === folder || f.startsWith(`${folder}/`)) this.knownFolders.delete(f);
    this.knownFolders.add('/');
  }

  // ---------------------------------------------------------------- read, list, move, copy, delete

  private async propfind(path: string, depth: '0' | '1', operation: string, opts: CallOptions): Promise<Entry[] | null> {
    const res = await this.send(
      {
        method: 'PROPFIND',
        url: this.filesUrl(path),
        maxBody: 64 * MiB,
        headers: { ...this.headers(opts), Depth: depth, 'Content-Type': 'application/xml; charset=utf-8' },
        body: Buffer.from(PROPFIND_BODY, 'utf8'),
      },
      operation,
      path,
    );
    if (res.status === 404) return null;
    if (res.status !== 207) throw httpError(res, operation, path);
    return parseMultistatus(res.body.toString('utf8'), this.filesUrl('/').pathname);
  }

  /**
   * The folder's entries (name, type, size, modified, ETag, file id), folders first, then by name. `depth` > 1
   * (at most 5) walks the subfolders too, one PROPFIND depth 1 per folder (Nextcloud refuses depth infinity by
   * default): each folder is followed by its own entries. `missing: 'empty'` answers [] for a folder that is not
   * there (else NEXTCLOUD_NOT_FOUND); a subfolder removed during the walk is left out.
   */
  async list(path: string, opts: ListOptions = {}): Promise<Entry[]> {
    const folder = safePath(path);
    const depth = Math.min(Math.max(Math.trunc(opts.depth ?? 1) || 1, 1), MAX_LIST_DEPTH);
    const entries = await this.listLevel(folder, depth, opts);
    if (!entries) {
      if (opts.missing === 'empty') return [];
      throw httpError({ status: 404 }, 'list', folder);
    }
    return entries;
  }

  private async listLevel(folder: string, depth: number, opts: CallOptions): Promise<Entry[] | null> {
    const found = await this.propfind(folder, '1', 'list', opts);
    if (!found) return null;
    const entries = found.filter((e) => e.path !== folder).sort((a, b) => (a.type === b.type ? a.name.localeCompare(b.name) : a.type === 'folder' ? -1 : 1));
    if (depth <= 1) return entries;
    const below = await Promise.all(entries.map((e) => (e.type === 'folder' ? this.listLevel(e.path, depth - 1, opts) : Promise.resolve(null))));
    return entries.flatMap((e, i) => [e, ...(below[i] ?? [])]);
  }

  /** PROPFIND depth 0, or null when nothing is at `path`. */
  async stat(path: string, opts: CallOptions = {}): Promise<Entry | null> {
    const p = safePath(path);
    const entries = await this.propfind(p, '0', 'stat', opts);
    return entries?.[0] ?? null;
  }

  /** The internal link of a file or folder (`<server>/index.php/f/<file id>`): no share is made. */
  async internalLink(path: string, opts: CallOptions = {}): Promise<InternalLink> {
    const p = safePath(path);
    const entry = await this.stat(p, opts);
    if (!entry) throw httpError({ status: 404 }, 'link', p);
    if (!entry.fileId) throw httpError({ status: 500 }, 'link', p, { fix: 'Nextcloud did not say the file id (oc:fileid)' });
    return { path: p, fileId: entry.fileId, url: `${this.baseUrl}/index.php/f/${entry.fileId}` };
  }

  /** The whole file in memory. */
  async download(path: string, opts: CallOptions = {}): Promise<Download> {
    const d = await this.downloadStream(path, opts);
    const parts: Buffer[] = [];
    try {
      for await (const piece of d.stream) parts.push(piece as Buffer);
    } catch (err) {
      throw nextcloudError(err, 'download', d.path);
    }
    const data = Buffer.concat(parts);
    return { path: d.path, data, size: data.length, etag: d.etag, contentType: d.contentType };
  }

  /**
   * The file as a stream (nothing buffered); the caller reads or destroys it. A fault while it is read surfaces as
   * the stream's error, typed (NEXTCLOUD_UNREACHABLE / _TIMEOUT) like every other error of the client.
   */
  async downloadStream(path: string, opts: CallOptions = {}): Promise<DownloadStream> {
    const p = safePath(path);
    const res = await this.open({ method: 'GET', url: this.filesUrl(p), headers: this.headers(opts) }, 'download', p);
    const length = Number(header(res.headers, 'content-length'));
    const typed = new PassThrough();
    res.stream.on('error', (err) => typed.destroy(nextcloudError(err, 'download', p)));
    res.stream.on('aborted', () =>
      typed.destroy(nextcloudError(Object.assign(new Error('connection closed during the download'), { code: 'ECONNRESET' }), 'download', p)),
    );
    typed.on('close', () => {
      if (!res.stream.readableEnded) res.stream.destroy();
    });
    res.stream.pipe(typed);
    return {
      path: p,
      stream: typed,
      size: Number.isFinite(length) ? length : undefined,
      etag: normEtag(header(res.headers, 'oc-etag') ?? header(res.headers, 'etag')),
      contentType: header(res.headers, 'content-type'),
    };
  }

  /** MOVE; `createFolders` makes the destination's folder when missing. */
  async move(from: string, to: string, opts: CallOptions & { overwrite?: boolean; createFolders?: boolean } = {}): Promise<{ from: string; path: string }> {
    return this.transfer('move', from, to, opts);
  }

  /** COPY (folders with their content). */
  async copy(from: string, to: string, opts: CallOptions & { overwrite?: boolean; createFolders?: boolean } = {}): Promise<{ from: string; path: string }> {
    return this.transfer('copy', from, to, opts);
  }

  private async transfer(kind: 'move' | 'copy', from: string, to: string, opts: CallOptions & { overwrite?: boolean; createFolders?: boolean }) {
    const source = safePath(from);
    const target = safePath(to);
    if (source === '/' || target === '/') throw badInput('nextcloud', `Cannot ${kind} the root folder (from "${source}" to "${target}")`);
    if (target === source || target.startsWith(`${source}/`)) throw badInput('nextcloud', `Cannot ${kind} "${source}" into itself ("${target}")`);
    const run = () =>
      this.send(
        {
          method: kind.toUpperCase(),
          url: this.filesUrl(source),
          headers: { ...this.headers(opts), Destination: this.filesUrl(target).toString(), Overwrite: opts.overwrite ? 'T' : 'F' },
        },
        kind,
        `${source}" → "${target}`,
      );
    let res = await run();
    if (res.status === 409 && opts.createFolders !== false) {
      await this.ensureFolder(parentOf(target), opts);
      res = await run();
    }
    if (!ok(res.status)) {
      if (res.status === 412) throw httpError(res, kind, target, { fix: `"${target}" exists; allow overwriting or choose another destination` });
      if (res.status === 404) throw httpError(res, kind, source, { fix: `nothing is at "${source}"` });
      throw httpError(res, kind, `${source}" → "${target}`);
    }
    if (kind === 'move') this.forgetFolder(source);
    return { from: source, path: target };
  }

  /** DELETE a file or a folder with its content. */
  async delete(path: string, opts: CallOptions = {}): Promise<{ path: string }> {
    const p = safePath(path);
    if (p === '/') throw badInput('nextcloud', 'Refusing to delete the root folder of the user');
    const res = await this.send({ method: 'DELETE', url: this.filesUrl(p), headers: this.headers(opts) }, 'delete', p);
    if (!ok(res.status)) throw httpError(res, 'delete', p);
    this.forgetFolder(p);
    return { path: p };
  }

  // ---------------------------------------------------------------- shares (OCS)

  /**
   * Creates a share of `path`: a public link (password, expiry, label) or a share with a user or group. With
   * `reuse`, an existing share of the path that gives the same (type, recipient, label, expiry, password or not) is
   * returned instead (`reused: true`; its password, if any, is not known). Creations are counted against the
   * client's budget (Nextcloud's 20 per user per 10 minutes): over it the call fails at once with
   * NEXTCLOUD_RATE_LIMITED and `details.retryAfterMs`, without asking Nextcloud.
   */
  async share(path: string, options: ShareOptions, opts: CallOptions & { reuse?: boolean } = {}): Promise<Share> {
    const p = safePath(path);
    if (p === '/') throw badInput('nextcloud', 'Refusing to share the root folder of the user');
    validateShareOptions(options);
    if (opts.reuse) {
      const existing = (await this.listShares(p, opts)).find((s) => sameShare(s, options));
      // a link's password is not readable: the one asked for is set on it (updates are not rate limited)
      if (existing && options.type === 'link' && options.password) {
        return { ...(await this.updateShare(existing.id, { password: options.password }, opts)), hasPassword: true, reused: true };
      }
      if (existing) return { ...existing, reused: true };
    }
    const wait = this.shareBudget.waitMs();
    if (wait > 0) throw this.overShareBudget(p, wait);
    this.shareBudget.spend();
    const res = await this.ocs('POST', '', shareForm(p, options), opts, 'share', p);
    if (res.status === 429) {
      const later = retryAfterMs(res.headers) ?? (this.shareBudget.waitMs() || 60000);
      this.shareBudget.exhausted(later);
      throw httpError(res, 'share', p, {
        retryAfterMs: later,
        fix: `Nextcloud allows ${this.shareBudget.limit || 20} share creations per user per 10 minutes and this user is over it (another client of the same user?); it will be retried later`,
      });
    }
    const share = toShare(ocsResult(res, 'share', p), this.baseUrl);
    if (options.password) share.hasPassword = true;
    return { ...share, reused: false };
  }

  private overShareBudget(path: string, waitMs: number): IntegrationError {
    const minutes = Math.round(this.shareBudget.periodMs / 60000);
    return new IntegrationError(
      `Nextcloud share of "${path}" was not sent: this client created ${this.shareBudget.limit} shares in the last ${minutes} minutes, ` +
        `Nextcloud's limit for one user; it will be retried in ${Math.ceil(waitMs / 1000)} s. Reuse shares or link without a share ` +
        "(see the Nextcloud node's help), or raise the limit on both sides (docs/nextcloud.md)",
      { code: 'NEXTCLOUD_RATE_LIMITED', system: 'nextcloud', retryable: true, status: 429, details: { path, operation: 'share', retryAfterMs: waitMs } },
    );
  }

  /** The shares of `path` (or all of the user's shares). */
  async listShares(path?: string, opts: CallOptions = {}): Promise<Share[]> {
    const p = path === undefined ? undefined : safePath(path);
    const query = p ? `path=${encodeURIComponent(p)}&reshares=false` : '';
    const res = await this.ocs('GET', '', undefined, opts, 'list shares', p ?? '/', query);
    const data = ocsResult(res, 'list shares', p ?? '/');
    return (Array.isArray(data) ? data : []).map((d) => toShare(d, this.baseUrl));
  }

  /** Changes a share (password, expiry, label, note); Nextcloud does not count updates against the share limit. */
  async updateShare(id: string, changes: Pick<ShareOptions, 'password' | 'expireDate' | 'label' | 'note'>, opts: CallOptions = {}): Promise<Share> {
    if (!/^[A-Za-z0-9:_-]+$/.test(id)) throw badInput('nextcloud', `Share id "${id}" is not valid`);
    const form = new URLSearchParams();
    for (const [k, v] of Object.entries(changes)) if (v !== undefined) form.set(k, v);
    const res = await this.ocs('PUT', `/${id}`, form, opts, 'update share', `share ${id}`);
    return toShare(ocsResult(res, 'update share', `share ${id}`), this.baseUrl);
  }

  async deleteShare(id: string, opts: CallOptions = {}): Promise<void> {
    if (!/^[A-Za-z0-9:_-]+$/.test(id)) throw badInput('nextcloud', `Share id "${id}" is not valid`);
    const res = await this.ocs('DELETE', `/${id}`, undefined, opts, 'delete share', `share ${id}`);
    ocsResult(res, 'delete share', `share ${id}`);
  }

  private async ocs(
    method: string,
    suffix: string,
    form: URLSearchParams | undefined,
    opts: CallOptions,
    operation: string,
    path: string,
    query = '',
  ): Promise<Response> {
    const url = this.url(`/ocs/v2.php/apps/files_sharing/api/v1/shares${suffix}?format=json${query ? `&${query}` : ''}`);
    return this.send(
      {
        method,
        url,
        headers: {
          ...this.headers(opts),
          'OCS-APIRequest': 'true',
          Accept: 'application/json',
          'Content-Type': form ? 'application/x-www-form-urlencoded' : undefined,
        },
        body: form ? Buffer.from(form.toString(), 'utf8') : undefined,
      },
      operation,
      path,
    );
  }

  // ---------------------------------------------------------------- plumbing

  /** Refuses to send when closed or when Nextcloud refused the login (until an operator retries). */
  private assertUsable(operation: string, path: string): void {
    if (this.closed)
      throw new IntegrationError(`Nextcloud ${operation} of "${path}": the connection was closed (flow redeployed)`, {
        code: 'NEXTCLOUD_CLOSED',
        system: 'nextcloud',
        retryable: true,
      });
    const refused = this.refused;
    if (refused) {
      throw new IntegrationError(`Nextcloud ${operation} of "${path}" was not sent: ${refused.message}`, {
        code: refused.code,
        system: 'nextcloud',
        retryable: false,
        status: refused.status,
        details: { path, operation, refusedAt: refused.details?.operation },
      });
    }
  }

  /**
   * Without a session yet, one request goes first and the others wait for its cookie: a cold start with several
   * uploads at once logs in once (one entry in the user's "Devices & sessions" with a login password, one password
   * check with an app password), and a wrong password is tried once, not once per waiting request.
   */
  private async oneLoginAtATime<T>(operation: string, path: string, run: () => Promise<T>): Promise<T> {
    const settled = () => this.loggedIn || this.jar.size > 0;
    while (!settled() && this.firstLogin) {
      await this.firstLogin.catch(() => undefined);
      this.assertUsable(operation, path);
    }
    if (settled()) return run();
    const first = run();
    this.firstLogin = first;
    try {
      return await first;
    } finally {
      if (this.firstLogin === first) this.firstLogin = undefined;
    }
  }

  /** What every answer is checked for first: a refused login, a blocked host, a URL that is not Nextcloud. */
  private screen(res: { status: number; headers: Response['headers']; body?: Buffer }, operation: string, path: string): void {
    if (res.status === 401) {
      this.jar.clear();
      this.loggedIn = false;
      this.refused = authError(this.username, operation, path);
      throw this.refused;
    }
    if (isLockout({ status: res.status, body: res.body })) {
      this.jar.clear();
      this.loggedIn = false;
      this.refused = lockoutError(operation, path);
      throw this.refused;
    }
    this.loggedIn = true;
    if ((res.status === 404 || res.status === 405) && !isNextcloudAnswer(res)) throw notNextcloudError(this.baseUrl, res.status, operation, path);
  }

  /**
   * Sends a request and screens its answer. A 423 (locked) is waited out a few times when the request can be sent
   * again: Nextcloud locks a folder while a request creates it, so uploads at once into a new patient's folder
   * (Auto-Mkcol) meet each other's lock for a moment.
   */
  private async send(req: Request, operation: string, path: string): Promise<Response> {
    for (let attempt = 0; ; attempt++) {
      this.assertUsable(operation, path);
      const res = await this.oneLoginAtATime(operation, path, async () => {
        let answer: Response;
        try {
          answer = await this.http.send(req);
        } catch (err) {
          throw nextcloudError(err, operation, path);
        }
        this.screen(answer, operation, path);
        return answer;
      });
      if (res.status !== 423 || req.bodyStream || attempt >= LOCKED_RETRIES.length) return res;
      this.onRetry?.({ operation, path, attempt: attempt + 1, code: 'NEXTCLOUD_LOCKED' });
      await delay(LOCKED_RETRIES[attempt]);
    }
  }

  /** A request whose answer is streamed when it is a success; an error answer is read (bounded) and typed. */
  private async open(req: Request, operation: string, path: string) {
    this.assertUsable(operation, path);
    return this.oneLoginAtATime(operation, path, async () => {
      let res;
      try {
        res = await this.http.open(req);
      } catch (err) {
        throw nextcloudError(err, operation, path);
      }
      if (res.status === 200) return res;
      const parts: Buffer[] = [];
      let kept = 0;
      try {
        for await (const piece of res.stream) {
          if (kept < 65536) parts.push(piece as Buffer);
          kept += (piece as Buffer).length;
        }
      } catch (err) {
        throw nextcloudError(err, operation, path);
      }
      const answer = { status: res.status, headers: res.headers, body: Buffer.concat(parts) };
      this.screen(answer, operation, path);
      throw httpError(answer, operation, path);
    });
  }

  /** Tries the clean-ups still waiting once more, then stops. */
  async closeGracefully(): Promise<void> {
    await this.cleanups.flush();
    this.close();
  }

  close(): void {
    this.closed = true;
    this.cleanups.close();
    this.agents.destroy();
  }
}

/** A hidden name beside the target for an upload that is moved onto the target only once verified. */
function temporaryName(target: string): string {
  const [, ext] = splitExtension(baseName(target));
  const folder = parentOf(target);
  return `${folder === '/' ? '' : folder}/.clinica-upload-${randomBytes(8).toString('hex')}${ext}`;
}

function differentFileThere(target: string): IntegrationError {
  return new IntegrationError(
    `Nextcloud upload of "${target}" was not done: a different file is there already and the conflict policy is "skip"; choose overwrite or rename to store it`,
    { code: 'NEXTCLOUD_CONFLICT', system: 'nextcloud', retryable: false, status: 412, details: { path: target } },
  );
}
