/**
 * Creates the Nextcloud app password that Node-RED uses and hands it over (seeds/lib/handover.ts). Nextcloud turns a
 * login password into an app password at `GET /ocs/v2.php/core/getapppassword` (OCS, Basic auth with the login
 * password; the token is named after the User-Agent, which is what Settings → Security → Devices & sessions lists).
 * It refuses (403) when asked with an app password, so the seeder needs the login password. Seen on Nextcloud 32.
 * Idempotent: an app password handed over earlier that still logs in is kept.
 *
 *   NEXTCLOUD_URL=… NEXTCLOUD_USERNAME=… NEXTCLOUD_PASSWORD=<login password> NEXTCLOUD_APP_PASSWORD_FILE=/path \
 *     node dist/seeds/nextcloud/app-password.js
 * With NEXTCLOUD_APP_PASSWORD set (one of your own in .env) it only checks it and writes nothing.
 */
import { IntegrationError } from '../../nodes/clients/common/errors';
import { NextcloudClient, serverRoot } from '../../nodes/clients/nextcloud/client';
import { handoverFile, logLine, readHandover, writeHandover } from '../lib/handover';

export const DEFAULT_DEVICE_NAME = 'Node-RED (clinic integration)';

export interface NextcloudLogin {
  url: string;
  username: string;
  /** The login password: Nextcloud makes app passwords from it only. */
  password: string;
}

/** true when `appPassword` logs `username` in (WebDAV); false when Nextcloud refuses it; throws otherwise. */
export async function nextcloudPasswordWorks(o: Omit<NextcloudLogin, 'password'>, appPassword: string): Promise<boolean> {
  const client = new NextcloudClient({ url: o.url, username: o.username, appPassword, timeoutMs: 15000 });
  try {
    await client.check();
    return true;
  } catch (err) {
    if (err instanceof IntegrationError && err.code === 'NEXTCLOUD_AUTH') return false;
    throw err;
  } finally {
    client.close();
  }
}

/** A new app password of `username`, named `device` in the user's security settings. */
export async function createAppPassword(o: NextcloudLogin, device: string = DEFAULT_DEVICE_NAME): Promise<string> {
  const url = new URL(`${serverRoot(o.url).pathname.replace(/\/$/, '')}/ocs/v2.php/core/getapppassword`, serverRoot(o.url));
  const res = await fetch(url, {
    headers: {
      Authorization: `Basic ${Buffer.from(`${o.username}:${o.password}`).toString('base64')}`,
      'OCS-APIRequest': 'true',
      Accept: 'application/json',
      'User-Agent': device,
    },
    signal: AbortSignal.timeout(30000),
  });
  const text = await res.text();
  let body: { ocs?: { meta?: { message?: string }; data?: { apppassword?: string } } } = {};
  try {
    body = JSON.parse(text) as typeof body;
  } catch {
    /* reported below */
  }
  const appPassword = body.ocs?.data?.apppassword;
  if (res.status === 200 && appPassword) return appPassword;
  const why =
    res.status === 401
      ? 'the login password is wrong'
      : res.status === 403
        ? 'it was asked with an app password; give the login password'
        : res.status === 429
          ? 'too many failed logins from this address (php occ security:bruteforce:reset <address>)'
          : (body.ocs?.meta?.message ?? text.slice(0, 120));
  throw new Error(`Nextcloud made no app password for "${o.username}" (HTTP ${res.status}): ${why}`);
}

/** The app password handed over earlier when it still works, otherwise a new one. */
export async function ensureAppPassword(
  o: NextcloudLogin,
  opts: { device?: string; current?: string } = {},
): Promise<{ appPassword: string; reused: boolean }> {
  if (opts.current && (await nextcloudPasswordWorks(o, opts.current))) return { appPassword: opts.current, reused: true };
  return { appPassword: await createAppPassword(o, opts.device), reused: false };
}

async function main(): Promise<void> {
  const env = process.env;
  const login: NextcloudLogin = {
    url: env.NEXTCLOUD_URL || 'http://localhost:8082',
    username: env.NEXTCLOUD_USERNAME || 'admin',
    password: env.NEXTCLOUD_PASSWORD || '',
  };
  const given = env.NEXTCLOUD_APP_PASSWORD?.trim();
  if (given) {
    if (!(await nextcloudPasswordWorks(login, given))) {
      throw new Error(`NEXTCLOUD_APP_PASSWORD does not log "${login.username}" in; fix it in .env or leave it empty`);
    }
    logLine('info', 'nextcloud.app_password.given', { user: login.username });
    return;
  }
  const file = handoverFile('NEXTCLOUD_APP_PASSWORD', env);
  if (!file) throw new Error('set NEXTCLOUD_APP_PASSWORD_FILE: where to hand the app password over to Node-RED');
  if (!login.password) throw new Error('set NEXTCLOUD_PASSWORD: Nextcloud makes app passwords from the login password only');
  const result = await ensureAppPassword(login, { current: readHandover(file) });
  if (!result.reused) writeHandover(file, result.appPassword);
  logLine('info', 'nextcloud.app_password.ready', { user: login.username, reused: result.reused, file });
}

if (require.main === module) {
  main().catch((err: Error) => {
    logLine('error', 'nextcloud.app_password.failed', { msg: err.message });
    process.exit(1);
  });
}
