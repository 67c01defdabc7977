/**
 * Creates the Odoo API key that Node-RED uses, the way a person does in Preferences → Account Security → New API
 * Key, and hands it over (seeds/lib/handover.ts). Odoo 17–19 create keys only through that wizard
 * (`res.users.apikeys.description.make_key`), behind an identity check: a web session (login + password), then the
 * password again in `res.users.identitycheck`, then the key, shown once. Seen on a real Odoo 18:
 *   make_key → {res_model: 'res.users.identitycheck', res_id} → write {password} → run_check
 *            → {res_model: 'res.users.apikeys.show', context: {default_key}}
 * Idempotent: a key handed over earlier that still logs in is kept; otherwise a new one is made and the older keys of
 * the same name are revoked, so restarts do not pile keys up.
 *
 *   ODOO_URL=… ODOO_DB=… ODOO_USERNAME=… ODOO_PASSWORD=… ODOO_API_KEY_FILE=/path node dist/seeds/odoo/api-key.js
 * With ODOO_API_KEY set (a key of your own in .env) it only checks that key and writes nothing.
 */
import { OdooClient } from '../../nodes/clients/odoo/client';
import { IntegrationError } from '../../nodes/clients/common/errors';
import { handoverFile, logLine, readHandover, writeHandover } from '../lib/handover';

export const DEFAULT_KEY_NAME = 'Node-RED (clinic integration)';

export interface OdooLogin {
  url: string;
  db: string;
  login: string;
  /** The user's password: the only credential that opens a web session and passes the identity check. */
  password: string;
  timeoutMs?: number;
}

export interface OdooKeyResult {
  key: string;
  /** true when the key handed over earlier still works and was kept. */
  reused: boolean;
  /** Older keys of the same name revoked after the new one was made. */
  revoked: number;
}

/** true when `key` logs `login` in over RPC; false when Odoo refuses it; throws when Odoo cannot be asked. */
export async function odooKeyWorks(o: Omit<OdooLogin, 'password'>, key: string): Promise<boolean> {
  const client = new OdooClient({ url: o.url, db: o.db, username: o.login, apiKey: key, timeoutMs: o.timeoutMs, retries: 2 });
  try {
    await client.login();
    return true;
  } catch (err) {
    if (err instanceof IntegrationError && err.code === 'ODOO_ACCESS_DENIED') return false;
    throw err;
  } finally {
    client.close();
  }
}

/** The key handed over earlier when it still works, otherwise a new key (older keys of that name revoked). */
export async function ensureOdooApiKey(o: OdooLogin, opts: { name?: string; current?: string } = {}): Promise<OdooKeyResult> {
  const name = opts.name ?? DEFAULT_KEY_NAME;
  if (opts.current && (await odooKeyWorks(o, opts.current))) return { key: opts.current, reused: true, revoked: 0 };
  const web = await OdooWebSession.open(o);
  try {
    const stale = await web.keyIds(name);
    const key = await web.makeKey(name);
    if (stale.length) await web.removeKeys(stale);
    return { key, reused: false, revoked: stale.length };
  } finally {
    web.close();
  }
}

/** Revokes every key of `name` of this user (a test cleans up with it; also a way to rotate by hand). */
export async function revokeOdooApiKeys(o: OdooLogin, name: string = DEFAULT_KEY_NAME): Promise<number> {
  const web = await OdooWebSession.open(o);
  try {
    const ids = await web.keyIds(name);
    if (ids.length) await web.removeKeys(ids);
    return ids.length;
  } finally {
    web.close();
  }
}

interface Action {
  type?: string;
  res_model?: string;
  res_id?: number;
  context?: Record<string, unknown>;
}

const IDENTITY_CHECK = 'res.users.identitycheck';
const KEY_WIZARD = 'res.users.apikeys.description';

/** A web session of one user: what the browser does, as JSON-RPC calls. */
class OdooWebSession {
  private constructor(
    private readonly client: OdooClient,
    private readonly o: OdooLogin,
    private sessionId: string,
    readonly uid: number,
  ) {}

  static async open(o: OdooLogin): Promise<OdooWebSession> {
    const client = new OdooClient({ url: o.url, db: o.db, username: o.login, password: o.password, timeoutMs: o.timeoutMs });
    try {
      const res = await client.httpRequest(
        'POST',
        '/web/session/authenticate',
        rpcBody({ db: o.db, login: o.login, password: o.password }),
        JSON_HEADERS,
        true,
      );
      const result = rpcResult<{ uid?: number | false }>(res.body, `the web login of "${o.login}" on database "${o.db}"`);
      const sid = sessionCookie(res.headers['set-cookie']);
      if (!result.uid || !sid) throw new Error(`Odoo refused the web login of "${o.login}" on database "${o.db}"; check ODOO_USERNAME and ODOO_PASSWORD`);
      return new OdooWebSession(client, o, sid, result.uid);
    } catch (err) {
      client.close();
      throw err;
    }
  }

  async call<T>(model: string, method: string, args: unknown[], kwargs: Record<string, unknown> = {}): Promise<T> {
    const res = await this.client.httpRequest(
      'POST',
      `/web/dataset/call_kw/${model}/${method}`,
      rpcBody({ model, method, args, kwargs }),
      { ...JSON_HEADERS, Cookie: `session_id=${this.sessionId}` },
      false,
    );
    this.sessionId = sessionCookie(res.headers['set-cookie']) ?? this.sessionId;
    return rpcResult<T>(res.body, `${model}.${method}`);
  }

  /** Runs a button that may stop at the identity check: answers it with the password, returns the final action. */
  private async button(model: string, method: string, ids: number[]): Promise<Action> {
    const action = await this.call<Action | null>(model, method, [ids]);
    if (action?.res_model !== IDENTITY_CHECK || !action.res_id) return action ?? {};
    await this.call(IDENTITY_CHECK, 'write', [[action.res_id], { password: this.o.password }]);
    return (await this.call<Action | null>(IDENTITY_CHECK, 'run_check', [[action.res_id]])) ?? {};
  }

  async keyIds(name: string): Promise<number[]> {
    const rows = await this.call<Array<{ id: number }>>('res.users.apikeys', 'search_read', [], {
      domain: [
        ['name', '=', name],
        ['user_id', '=', this.uid],
      ],
      fields: ['id'],
    });
    return rows.map((r) => r.id);
  }

  async makeKey(name: string): Promise<string> {
    // Odoo 18+ asks how long the key lives ('0' = persistent, offered to administrators); Odoo 17 has no such field.
    const fields = await this.call<Record<string, unknown>>(KEY_WIZARD, 'fields_get', [], { attributes: ['type'] });
    const wizard = await this.call<number>(KEY_WIZARD, 'create', [{ name, ...('duration' in fields ? { duration: '0' } : {}) }]);
    const action = await this.button(KEY_WIZARD, 'make_key', [wizard]);
    const key = action.context?.default_key;
    if (typeof key !== 'string' || !key) {
      throw new Error(
        `Odoo did not show the new API key (the wizard answered ${JSON.stringify(action).slice(0, 200)}); is "${this.o.login}" an internal user?`,
      );
    }
    return key;
  }

  async removeKeys(ids: number[]): Promise<void> {
    await this.button('res.users.apikeys', 'remove', ids);
  }

  close(): void {
    this.client.close();
  }
}

const JSON_HEADERS = { 'Content-Type': 'application/json' };

function rpcBody(params: unknown): string {
  return JSON.stringify({ jsonrpc: '2.0', method: 'call', id: 1, params });
}

function rpcResult<T>(body: Buffer, what: string): T {
  let msg: { result?: T; error?: { message?: string; data?: { name?: string; message?: string } } };
  try {
    msg = JSON.parse(body.toString('utf8')) as typeof msg;
  } catch {
    throw new Error(`${what}: Odoo answered something that is not JSON-RPC: ${body.subarray(0, 120).toString('utf8')}`);
  }
  if (msg.error) throw new Error(`${what}: ${msg.error.data?.name ?? 'Odoo error'}: ${msg.error.data?.message ?? msg.error.message ?? 'no message'}`);
  return msg.result as T;
}

function sessionCookie(header: string | string[] | undefined): string | undefined {
  return ([] as string[])
    .concat(header ?? [])
    .map((c) => /^session_id=([^;]+)/.exec(c)?.[1])
    .find(Boolean);
}

async function main(): Promise<void> {
  const env = process.env;
  const login: OdooLogin = {
    url: env.ODOO_URL || 'http://localhost:8069',
    db: env.ODOO_DB || 'clinica',
    login: env.ODOO_USERNAME || 'admin',
    password: env.ODOO_PASSWORD || '',
  };
  const given = env.ODOO_API_KEY?.trim();
  if (given) {
    if (!(await odooKeyWorks(login, given)))
      throw new Error(`ODOO_API_KEY does not log "${login.login}" in to "${login.db}"; fix it in .env or leave it empty`);
    logLine('info', 'odoo.api_key.given', { user: login.login });
    return;
  }
  const file = handoverFile('ODOO_API_KEY', env);
  if (!file) throw new Error('set ODOO_API_KEY_FILE: where to hand the new key over to Node-RED');
  if (!login.password) throw new Error('set ODOO_PASSWORD: Odoo creates API keys only in a web session, which needs the password');
  const result = await ensureOdooApiKey(login, { current: readHandover(file) });
  if (!result.reused) writeHandover(file, result.key);
  logLine('info', 'odoo.api_key.ready', { user: login.login, db: login.db, reused: result.reused, revoked: result.revoked, file });
}

if (require.main === module) {
  main().catch((err: Error) => {
    logLine('error', 'odoo.api_key.failed', { msg: err.message });
    process.exit(1);
  });
}
