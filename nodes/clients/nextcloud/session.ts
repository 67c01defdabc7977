/**
 * Session reuse. Nextcloud checks an app password on every request that carries one (a slow hash: about 200 ms
 * of a 220 ms upload on a small server) unless the request also carries the session cookie an earlier
 * authenticated response set; its own clients keep those cookies and so should we. The jar keeps them, and the
 * HTTP agents below put them on every request made through them (the `webdav` package's and ours alike) and
 * store whatever the server sets. The password still goes with every request, so an expired session simply
 * costs one password check and the server hands out a new cookie.
 */
import * as http from 'node:http';
import * as https from 'node:https';

interface Cookie {
  name: string;
  value: string;
  path: string;
  secure: boolean;
  expiresAt?: number;
}

export class CookieJar {
  private readonly cookies = new Map<string, Cookie>();
  /** How many times the server started a new session (set a cookie we did not have): one password check each. */
  sessionsStarted = 0;

  constructor(
    private readonly host: string,
    private readonly now: () => number = Date.now,
  ) {}

  get size(): number {
    this.dropExpired();
    return this.cookies.size;
  }

  clear(): void {
    this.cookies.clear();
  }

  /** Stores the Set-Cookie headers of a response from `url`. */
  store(setCookie: string[] | string | undefined, url: URL): void {
    if (!setCookie) return;
    let fresh = false;
    for (const line of Array.isArray(setCookie) ? setCookie : [setCookie]) {
      const cookie = this.parse(line, url);
      if (!cookie) continue;
      const key = `${cookie.name}\u0000${cookie.path}`;
      if (cookie.expiresAt !== undefined && cookie.expiresAt <= this.now()) {
        this.cookies.delete(key);
        continue;
      }
      const before = this.cookies.get(key);
      if (!before || before.value !== cookie.value) fresh = true;
      this.cookies.set(key, cookie);
    }
    if (fresh) this.sessionsStarted += 1;
  }

  /** The Cookie header for a request to `url`, or undefined when the jar has nothing for it. */
  header(url: URL): string | undefined {
    this.dropExpired();
    if (url.hostname !== this.host) return undefined;
    const path = url.pathname || '/';
    const secure = url.protocol === 'https:';
    const pairs: string[] = [];
    for (const c of this.cookies.values()) {
      if (c.secure && !secure) continue;
      if (!pathMatches(path, c.path)) continue;
      pairs.push(`${c.name}=${c.value}`);
    }
    return pairs.length ? pairs.join('; ') : undefined;
  }

  private dropExpired(): void {
    const now = this.now();
    for (const [key, c] of this.cookies) if (c.expiresAt !== undefined && c.expiresAt <= now) this.cookies.delete(key);
  }

  private parse(line: string, url: URL): Cookie | undefined {
    const [pair, ...attrs] = line.split(';');
    const eq = pair.indexOf('=');
    if (eq <= 0) return undefined;
    const cookie: Cookie = { name: pair.slice(0, eq).trim(), value: pair.slice(eq + 1).trim(), path: defaultPath(url), secure: false };
    for (const attr of attrs) {
      const i = attr.indexOf('=');
      const key = (i < 0 ? attr : attr.slice(0, i)).trim().toLowerCase();
      const value = i < 0 ? '' : attr.slice(i + 1).trim();
      if (key === 'path' && value.startsWith('/')) cookie.path = value;
      else if (key === 'secure') cookie.secure = true;
      else if (key === 'max-age' && /^-?\d+$/.test(value)) cookie.expiresAt = this.now() + Number(value) * 1000;
      else if (key === 'expires' && cookie.expiresAt === undefined) {
        const t = Date.parse(value);
        if (Number.isFinite(t)) cookie.expiresAt = t;
      } else if (key === 'domain' && value) {
        const domain = value.replace(/^\./, '').toLowerCase();
        if (url.hostname !== domain && !url.hostname.endsWith(`.${domain}`)) return undefined;
      }
    }
    return cookie;
  }
}

function defaultPath(url: URL): string {
  const p = url.pathname;
  const i = p.lastIndexOf('/');
  return i <= 0 ? '/' : p.slice(0, i);
}

function pathMatches(requestPath: string, cookiePath: string): boolean {
  if (requestPath === cookiePath) return true;
  if (!requestPath.startsWith(cookiePath)) return false;
  return cookiePath.endsWith('/') || requestPath[cookiePath.length] === '/';
}

/** What Node's Agent does with each request; not in @types/node but stable since Node 0.x. */
interface AgentWithAddRequest {
  addRequest(req: http.ClientRequest, options: http.RequestOptions): void;
}

/**
 * Puts the jar's cookies on each request and keeps the cookies of each response. The agent sees every request
 * before its headers are written (Node calls addRequest at the end of the ClientRequest constructor), which is
 * what lets one mechanism serve the `webdav` package and our own requests.
 */
function withSession<A extends http.Agent>(agent: A, jar: CookieJar, protocol: 'http:' | 'https:'): A {
  const target = agent as unknown as AgentWithAddRequest;
  const original = target.addRequest.bind(agent);
  target.addRequest = (req, options) => {
    const host = req.host.includes(':') ? `[${req.host}]` : req.host;
    const url = new URL(`${protocol}//${host}${req.path}`);
    const cookie = jar.header(url);
    if (cookie && !req.headersSent) {
      const existing = req.getHeader('cookie');
      req.setHeader('cookie', existing ? `${String(existing)}; ${cookie}` : cookie);
    }
    req.prependListener('response', (res: http.IncomingMessage) => jar.store(res.headers['set-cookie'], url));
    original(req, options);
  };
  return agent;
}

export interface SessionAgents {
  http: http.Agent;
  https: https.Agent;
  destroy(): void;
}

/** Keep-alive agents bound to a jar (one pair per client, i.e. per config node). */
export function sessionAgents(jar: CookieJar, options: { maxSockets?: number; rejectUnauthorized?: boolean } = {}): SessionAgents {
  const common = { keepAlive: true, keepAliveMsecs: 1000, maxSockets: options.maxSockets ?? 8, maxFreeSockets: 4, scheduling: 'lifo' as const };
  const h = withSession(new http.Agent(common), jar, 'http:');
  const s = withSession(new https.Agent({ ...common, rejectUnauthorized: options.rejectUnauthorized ?? true }), jar, 'https:');
  return {
    http: h,
    https: s,
    destroy() {
      h.destroy();
      s.destroy();
    },
  };
}
