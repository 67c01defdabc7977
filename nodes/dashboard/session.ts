/**
 * The dashboards' browser session, as plain functions: a signed cookie (HMAC-SHA256, no server state), the
 * role each dashboard page needs, where a login may send the browser back to, and the 403 page. The plugin
 * (dashboard-auth.ts) wires these to Node-RED; the unit tests (test/dashboard/session.spec.ts) hold them.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export interface DashboardUser {
  /** Keycloak subject. */
  sub: string;
  username: string;
  name: string;
  email?: string;
  roles: string[];
}

export interface Session extends DashboardUser {
  /** Expiry, ms since the epoch. */
  exp: number;
}

/** Page (first segment after /dashboard/) → roles that may open it; any other path needs any of all the roles. */
export type PageRoles = Record<string, string[]>;

export const DEFAULT_PAGE_ROLES: PageRoles = { farmacia: ['farmacia', 'admin'], integracion: ['admin'] };

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64url');
const sign = (secret: string, body: string) => createHmac('sha256', secret).update(body).digest('base64url');

/** `value` signed: `<base64url JSON>.<base64url HMAC>`. */
export function seal(secret: string, value: object): string {
  const body = b64(JSON.stringify(value));
  return `${body}.${sign(secret, body)}`;
}

/** The value of a sealed string when its signature holds and it has not expired (`exp`), else undefined. */
export function unseal<T extends { exp: number }>(secret: string, sealed: string | undefined, now = Date.now()): T | undefined {
  if (!sealed) return undefined;
  const dot = sealed.lastIndexOf('.');
  if (dot <= 0) return undefined;
  const body = sealed.slice(0, dot);
  const given = Buffer.from(sealed.slice(dot + 1));
  const expected = Buffer.from(sign(secret, body));
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
  try {
    const value = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as T;
    return typeof value.exp === 'number' && value.exp > now ? value : undefined;
  } catch {
    return undefined;
  }
}

/** Cookies of a request header as a map (first value of a name wins). */
export function parseCookies(header: string | undefined): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    const name = eq > 0 ? part.slice(0, eq).trim() : '';
    if (!name || out.has(name)) continue;
    try {
      out.set(name, decodeURIComponent(part.slice(eq + 1).trim()));
    } catch {
      // a malformed %-escape: the cookie is not ours
    }
  }
  return out;
}

/** A Set-Cookie line: HttpOnly, SameSite=Lax, Path=/, Secure on https; maxAge 0 deletes it. */
export function cookieLine(name: string, value: string, maxAgeSec: number, secure: boolean): string {
  return `${name}=${encodeURIComponent(value)}; Path=/; HttpOnly; SameSite=Lax; Max-Age=${Math.max(0, Math.floor(maxAgeSec))}${secure ? '; Secure' : ''}`;
}

/**
 * The roles a path under the dashboard needs: the page's own list for `/dashboard/<page>[/…]`, and for
 * anything else (the app's assets, its setup call, the socket) any role of any page.
 */
export function rolesFor(path: string, base: string, pages: PageRoles = DEFAULT_PAGE_ROLES): string[] {
  const rest = path.slice(base.length).replace(/^\/+/, '');
  const page = rest.split(/[/?#]/)[0];
  if (page && pages[page]) return pages[page];
  return [...new Set(Object.values(pages).flat())];
}

/** True when the user holds one of `needed` (an empty list lets everyone in). */
export const allowed = (roles: string[], needed: string[]): boolean => needed.length === 0 || needed.some((r) => roles.includes(r));

/** Where a login may return to: a path under the dashboard (never another site), else the dashboard itself. */
export function safeNext(next: unknown, base: string): string {
  if (typeof next !== 'string' || !next.startsWith(`${base}/`) || next.startsWith('//') || /[\\\r\n]/.test(next)) return base;
  return next;
}

/** Page names of `pages` the user may open, for the 403 page's links. */
export const pagesOf = (roles: string[], pages: PageRoles = DEFAULT_PAGE_ROLES): string[] =>
  Object.entries(pages)
    .filter(([, needed]) => allowed(roles, needed))
    .map(([page]) => page);

const escape = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** A small bilingual HTML page (403, login off, login failed, logged out). */
export function page(title: string, lines: string[], links: Array<{ href: string; text: string }> = []): string {
  return `<!doctype html><html lang="es"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escape(title)}</title><style>body{font-family:system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem;color:#222}
h1{font-size:1.4rem}a{display:inline-block;margin:.5rem 1rem 0 0}</style></head><body><h1>${escape(title)}</h1>
${lines.map((l) => `<p>${escape(l)}</p>`).join('\n')}
${links.map((l) => `<a href="${escape(l.href)}">${escape(l.text)}</a>`).join('')}
</body></html>`;
}

/** Roles a message sent to the dashboards is meant for (`msg.dashboardRoles`), if it says. */
export function audienceOf(msg: unknown): string[] | undefined {
  const roles = (msg as { dashboardRoles?: unknown } | null)?.dashboardRoles;
  return Array.isArray(roles) ? roles.filter((r): r is string => typeof r === 'string') : undefined;
}
