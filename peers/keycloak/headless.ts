/**
 * A headless browser for the authorization-code flow: follows redirects by hand, keeps cookies per host,
 * fills Keycloak's login form. Enough for a person logging into the Node-RED editor through the peer.
 */
export interface Hop {
  url: string;
  status: number;
  location?: string;
}

export class HeadlessBrowser {
  private readonly jar = new Map<string, Map<string, string>>();
  readonly hops: Hop[] = [];

  /** GET `url`, following redirects until a non-redirect answer or a URL starting with `stopAt`. */
  async open(url: string, stopAt?: string): Promise<{ url: string; status: number; body: string }> {
    let current = url;
    for (let i = 0; i < 20; i++) {
      if (stopAt && current.startsWith(stopAt)) return { url: current, status: 0, body: '' };
      const res = await this.request(current, { method: 'GET' });
      const location = res.headers.get('location');
      this.hops.push({ url: current, status: res.status, ...(location ? { location } : {}) });
      if (res.status >= 300 && res.status < 400 && location) {
        await res.arrayBuffer();
        current = new URL(location, current).href;
        continue;
      }
      return { url: current, status: res.status, body: await res.text() };
    }
    throw new Error(`too many redirects from ${url}`);
  }

  /** Posts the login form found on `page` and follows the redirects that come back. */
  async submitLogin(
    page: { url: string; body: string },
    username: string,
    password: string,
    stopAt?: string,
  ): Promise<{ url: string; status: number; body: string }> {
    const action = /<form[^>]*id="kc-form-login"[^>]*action="([^"]+)"/.exec(page.body)?.[1];
    if (!action) throw new Error(`no login form at ${page.url}: ${page.body.slice(0, 200)}`);
    const target = new URL(action.replace(/&amp;/g, '&'), page.url).href;
    const res = await this.request(target, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ username, password }).toString(),
    });
    const location = res.headers.get('location');
    this.hops.push({ url: target, status: res.status, ...(location ? { location } : {}) });
    if (res.status >= 300 && res.status < 400 && location) {
      await res.arrayBuffer();
      return this.open(new URL(location, target).href, stopAt);
    }
    return { url: target, status: res.status, body: await res.text() };
  }

  private async request(url: string, init: RequestInit): Promise<Response> {
    const host = new URL(url).host;
    const cookies = this.jar.get(host);
    const headers = new Headers(init.headers);
    if (cookies && cookies.size) headers.set('cookie', [...cookies].map(([k, v]) => `${k}=${v}`).join('; '));
    const res = await fetch(url, { ...init, headers, redirect: 'manual' });
    for (const line of res.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const eq = pair.indexOf('=');
      if (eq < 0) continue;
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      const jar = this.jar.get(host) ?? new Map<string, string>();
      if (/expires=Thu, 01 Jan 1970/i.test(line) || value === '') jar.delete(name);
      else jar.set(name, value);
      this.jar.set(host, jar);
    }
    return res;
  }
}
