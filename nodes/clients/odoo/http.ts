/**
 * The HTTP layer under the three Odoo protocols: keep-alive sockets, a per-config concurrency limit, a
 * deadline per request, and enough knowledge about a failure to tell whether Odoo may have acted on it.
 */
import * as http from 'node:http';
import * as https from 'node:https';

export interface HttpOptions {
  /** Deadline for one request, connect to last byte (ms). */
  timeoutMs: number;
  /** Requests in flight at once for this client; more wait their turn. */
  concurrency: number;
  userAgent: string;
}

export interface HttpResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/**
 * A request that got no HTTP answer. `sent` tells whether Odoo may have received it: false when the
 * connection was never made (refused, DNS, connect timeout) or a kept-alive socket was found closed
 * before anything came back, which are the only cases where repeating a write is known to be safe.
 */
export class HttpFailure extends Error {
  constructor(
    message: string,
    readonly code: string,
    readonly sent: boolean,
    readonly timedOut: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'HttpFailure';
  }
}

/** A counting semaphore: at most `limit` holders; the others queue in arrival order. */
export class Limiter {
  private active = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(private limit: number) {}

  get inFlight(): number {
    return this.active;
  }

  get queued(): number {
    return this.waiting.length;
  }

  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.active >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.active += 1;
    try {
      return await fn();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.active -= 1;
    }
  }
}

const NOT_SENT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL']);

export class HttpTransport {
  readonly base: URL;
  private readonly agent: http.Agent;
  private readonly lib: typeof http | typeof https;
  readonly limiter: Limiter;
  private closed = false;
  /** The server's clock from its last Date header, and when that answer arrived here. */
  serverClock?: { serverMs: number; localMs: number };

  constructor(
    baseUrl: string,
    readonly options: HttpOptions,
  ) {
    this.base = new URL(baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`);
    const isHttps = this.base.protocol === 'https:';
    this.lib = isHttps ? https : http;
    // timeout: idle kept-alive sockets are dropped after 4 s, before a server (werkzeug 5 s, nginx 75 s) would.
    const agentOptions = { keepAlive: true, keepAliveMsecs: 10000, timeout: 4000, maxSockets: Math.max(1, options.concurrency), scheduling: 'lifo' as const };
    this.agent = isHttps ? new https.Agent(agentOptions) : new http.Agent(agentOptions);
    this.limiter = new Limiter(Math.max(1, options.concurrency));
  }

  /** One HTTP exchange under the concurrency limit. Resolves for every HTTP status; rejects with HttpFailure. */
  request(
    method: 'GET' | 'POST',
    path: string,
    body?: string | Buffer,
    headers: Record<string, string> = {},
    timeoutMs = this.options.timeoutMs,
  ): Promise<HttpResponse> {
    return this.limiter.run(() => this.exchange(method, path, body, headers, timeoutMs));
  }

  private exchange(method: string, path: string, body: string | Buffer | undefined, headers: Record<string, string>, timeoutMs: number): Promise<HttpResponse> {
    if (this.closed) return Promise.reject(new HttpFailure('the Odoo client was closed', 'CLIENT_CLOSED', false, false));
    const url = new URL(path.replace(/^\//, ''), this.base);
    const payload = body === undefined ? undefined : typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
    return new Promise<HttpResponse>((resolve, reject) => {
      let connected = false;
      let settled = false;
      const finish = (err: HttpFailure | undefined, res?: HttpResponse) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (err) reject(err);
        else resolve(res as HttpResponse);
      };
      const req = this.lib.request(url, {
        method,
        agent: this.agent,
        headers: {
          'User-Agent': this.options.userAgent,
          Accept: '*/*',
          ...(payload ? { 'Content-Length': String(payload.length) } : {}),
          ...headers,
        },
      });
      const timer = setTimeout(() => {
        const err = new HttpFailure(`no answer from ${url.origin}${url.pathname} within ${timeoutMs} ms`, 'ETIMEDOUT', connected || req.reusedSocket, true);
        finish(err);
        req.destroy(err);
      }, timeoutMs);
      req.on('socket', (socket) => {
        if (req.reusedSocket || !socket.connecting) connected = true;
        else
          socket.once('connect', () => {
            connected = true;
          });
      });
      req.on('response', (res) => {
        const date = res.headers.date ? Date.parse(res.headers.date) : NaN;
        if (!Number.isNaN(date)) this.serverClock = { serverMs: date, localMs: Date.now() };
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          finish(undefined, { status: res.statusCode ?? 0, headers: res.headers, body: chunks.length === 1 ? chunks[0] : Buffer.concat(chunks) }),
        );
        res.on('error', (e) =>
          finish(
            new HttpFailure(
              `the answer from ${url.origin}${url.pathname} broke off: ${e.message}`,
              (e as NodeJS.ErrnoException).code ?? 'ECONNRESET',
              true,
              false,
              { cause: e },
            ),
          ),
        );
        res.on('aborted', () => finish(new HttpFailure(`the answer from ${url.origin}${url.pathname} broke off`, 'ECONNRESET', true, false)));
      });
      req.on('error', (e: NodeJS.ErrnoException) => {
        if (settled) return;
        const code = e.code ?? 'ECONNRESET';
        // Only a connection that was never made proves the request did not reach Odoo. A kept-alive socket
        // reset before any answer looks the same whether Odoo closed it idle or crashed after committing,
        // so it counts as sent (reads are retried anyway; writes are not). Idle sockets are closed by us
        // before the server's keep-alive timeout (agent timeout) to make that race rare.
        const sent = NOT_SENT_CODES.has(code) ? false : connected || Boolean(req.reusedSocket);
        finish(new HttpFailure(`${method} ${url.origin}${url.pathname} failed: ${e.message}`, code, sent, false, { cause: e }));
      });
      if (payload) req.end(payload);
      else req.end();
    });
  }

  close(): void {
    this.closed = true;
    this.agent.destroy();
  }
}
