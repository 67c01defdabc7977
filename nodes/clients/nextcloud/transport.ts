/**
 * Plain HTTP for what the `webdav` package does not do: PUT with the response headers we verify against
 * (X-Hash-SHA256, OC-ETag, OC-FileId), chunked upload v2 (MKCOL/PUT/MOVE with Destination and OC-Total-Length),
 * streamed downloads and the OCS API. Goes through the same session agents as the `webdav` client.
 */
import * as http from 'node:http';
import * as https from 'node:https';
import type { Readable } from 'node:stream';
import type { SessionAgents } from './session';

export interface TransportOptions {
  username: string;
  password: string;
  agents: SessionAgents;
  /** Idle timeout per request (no byte sent or received for this long), ms. */
  timeoutMs: number;
  userAgent: string;
}

export interface Request {
  method: string;
  url: URL;
  headers?: Record<string, string | number | undefined>;
  body?: Buffer;
  /** A body streamed as it is read (sent once: never repeated); `Content-Length` must be given in `headers`. */
  bodyStream?: Readable;
  /** Response bytes kept (default 1 MiB); the rest is read and dropped. */
  maxBody?: number;
  timeoutMs?: number;
}

export interface Response {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

export interface StreamResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  stream: Readable;
}

/** Methods that may be sent again when a kept-alive socket turns out to be closed by the server. */
const REPEATABLE = new Set(['GET', 'HEAD', 'PROPFIND', 'PUT', 'DELETE', 'MKCOL', 'OPTIONS']);

export class Transport {
  private readonly authorization: string;

  constructor(private readonly options: TransportOptions) {
    this.authorization = `Basic ${Buffer.from(`${options.username}:${options.password}`, 'utf8').toString('base64')}`;
  }

  get auth(): string {
    return this.authorization;
  }

  /** Sends a request and reads its whole (bounded) answer; rejects only on network faults, not on HTTP errors. */
  async send(req: Request): Promise<Response> {
    try {
      return await this.sendOnce(req);
    } catch (err) {
      if ((err as { reusedSocket?: boolean }).reusedSocket && REPEATABLE.has(req.method) && !req.bodyStream && isSocketReset(err)) {
        return this.sendOnce(req);
      }
      throw err;
    }
  }

  /** Sends a request and hands back the answer as a stream (for downloads); the caller must read or destroy it. */
  open(req: Request): Promise<StreamResponse> {
    return new Promise((resolve, reject) => {
      const r = this.start(req, reject);
      r.on('response', (res) => {
        res.setTimeout(req.timeoutMs ?? this.options.timeoutMs, () => res.destroy(timeoutError(req)));
        resolve({ status: res.statusCode ?? 0, headers: res.headers, stream: res });
      });
      this.finish(r, req);
    });
  }

  private sendOnce(req: Request): Promise<Response> {
    return new Promise((resolve, reject) => {
      const r = this.start(req, (err) => {
        (err as { reusedSocket?: boolean }).reusedSocket = r.reusedSocket;
        reject(err);
      });
      r.on('response', (res) => {
        const max = req.maxBody ?? 1024 * 1024;
        const parts: Buffer[] = [];
        let kept = 0;
        res.on('data', (piece: Buffer) => {
          if (kept >= max) return;
          const take = piece.length <= max - kept ? piece : piece.subarray(0, max - kept);
          parts.push(take);
          kept += take.length;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts) }));
        res.on('error', reject);
        res.on('aborted', () => reject(Object.assign(new Error('connection closed while reading the answer'), { code: 'ECONNRESET' })));
      });
      this.finish(r, req);
    });
  }

  /** Ends the request with its body: a Buffer at once, a stream piped (a stream error aborts the request). */
  private finish(r: http.ClientRequest, req: Request): void {
    if (!req.bodyStream) {
      r.end(req.body);
      return;
    }
    const source = req.bodyStream;
    source.once('error', (err) => r.destroy(err));
    r.once('close', () => source.unpipe(r));
    source.pipe(r);
  }

  private start(req: Request, fail: (err: Error) => void): http.ClientRequest {
    const secure = req.url.protocol === 'https:';
    const headers: Record<string, string | number> = {
      Authorization: this.authorization,
      'User-Agent': this.options.userAgent,
    };
    for (const [k, v] of Object.entries(req.headers ?? {})) if (v !== undefined) headers[k] = v;
    if (req.body) headers['Content-Length'] = req.body.length;
    else if (req.method === 'PUT' && !req.bodyStream) headers['Content-Length'] = 0;
    const r = (secure ? https : http).request(req.url, {
      method: req.method,
      headers,
      agent: secure ? this.options.agents.https : this.options.agents.http,
    });
    r.setTimeout(req.timeoutMs ?? this.options.timeoutMs, () => r.destroy(timeoutError(req)));
    r.on('error', fail);
    return r;
  }
}

function timeoutError(req: Request): Error {
  return Object.assign(new Error(`no answer from Nextcloud to ${req.method} within the timeout`), { code: 'ETIMEDOUT' });
}

function isSocketReset(err: unknown): boolean {
  const code = (err as { code?: string }).code;
  return code === 'ECONNRESET' || code === 'EPIPE';
}

/** One header as a string (first value when repeated). */
export function header(headers: http.IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}
