/**
 * An Odoo peer for headless tests: answers XML-RPC (/xmlrpc/2/common, /xmlrpc/2/object, and the old
 * /xmlrpc/*), JSON-RPC (/jsonrpc), JSON-2 (/json/2/<model>/<method>, Odoo 19+), /web/version, the web
 * session login, the /report/pdf, invoice download and portal routes, over an in-memory database with
 * Odoo's models, domains, faults and automation-rule webhooks (sent before the commit, 1 s timeout, no
 * retry, as Odoo does). Like Odoo 18: write_date is stored to the microsecond and given to the second over
 * RPC, a method returning None answers no `result` over JSON-RPC and the marshal fault over XML-RPC (both
 * after committing), reading a missing id gives []; test/conformance checks it against a real Odoo 18.
 * Switchable latency and failures make the fault tests possible.
 *
 *   const peer = await startOdooPeer({ version: 18 });
 *   // peer.url, peer.db, peer.admin.login / .password / .apiKey
 *   ...
 *   await peer.stop();
 *
 * Teams can import it from the installed pack: require('<pack>/dist/peers/odoo').
 */
import * as http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import { defineModels, installModules, MODULES, parseDomainText, refreshAllAccess, renderInvoicePdf } from './catalog';
import { bindArgs, lookupMethod, normaliseIds, ormMethods } from './orm-methods';
import { makePdf } from './pdf';
import { AccessDenied, HttpErr, PyException, PyFloat, TypeErr, UserError, pyJsonDumps } from './python';
import { Registry, Txn, odooNow, pyDatetimeStr, type Env, type MethodDef, type ModelDef, type Rec, type UserDef } from './store';
import { json2Error, jsonRpcError, jsonValue, parseXmlCall, xmlFault, xmlFaultFor, xmlResponse } from './wire';

export { Registry } from './store';
export type { Rec, UserDef } from './store';
export { makePdf } from './pdf';

export type FailureKind =
  /** Answer with this HTTP status and an HTML page, without running the call. */
  | 'http500'
  | 'http502'
  | 'http503'
  | 'http504'
  /** Close the connection without answering, without running the call. */
  | 'reset'
  /** Run and commit the call, then close the connection without answering (the answer is lost). */
  | 'reset-after-commit'
  /** Never answer (until the peer stops): for timeouts. */
  | 'hang';

export interface FailurePlan {
  kind: FailureKind;
  /** How many matching requests fail (default 1). */
  times?: number;
  /** Only calls of this ORM method (search_read, write …) or common method (authenticate, version). */
  method?: string;
  model?: string;
}

export interface OdooPeerOptions {
  /** Odoo major version to imitate: 17, 18 (default) or 19 (adds JSON-2). */
  version?: 17 | 18 | 19;
  db?: string;
  host?: string;
  port?: number;
  /** Installed modules (with their dependencies); default: all the clinic needs. */
  modules?: string[];
  /** Extra users besides admin (uid 2). */
  users?: Array<Partial<UserDef> & { login: string; password: string }>;
  /** Latency added to every RPC call (ms). */
  latencyMs?: number;
  /** Mimic Odoo 18's stale access cache for separately created ir.model.access (default true). */
  staleAccessCache?: boolean;
  /** Timeout of outgoing automation webhooks (Odoo: 1 s). */
  webhookTimeoutMs?: number;
}

export interface CallLogEntry {
  protocol: 'xmlrpc' | 'jsonrpc' | 'json2' | 'web';
  service: string;
  method: string;
  model?: string;
  uid?: number;
  ok: boolean;
  error?: string;
  ms: number;
}

export interface WebhookLogEntry {
  url: string;
  payload: Record<string, unknown>;
  /** The body as sent: Python's json.dumps text. */
  body: string;
  status?: number;
  error?: string;
  ms: number;
  at: string;
}

export interface OdooPeer {
  readonly url: string;
  readonly port: number;
  readonly db: string;
  readonly version: number;
  readonly registry: Registry;
  readonly admin: { uid: number; login: string; password: string; apiKey: string };
  /** Every RPC call answered (newest last, at most 10 000). */
  readonly calls: CallLogEntry[];
  /** Every automation webhook sent. */
  readonly webhooks: WebhookLogEntry[];
  /** E-mails "sent" by the invoice send wizard. */
  readonly sentMail: Registry['sentMail'];
  /** TCP connections accepted, requests being answered now and the most at once. */
  readonly stats: { connections: number; inFlight: number; maxInFlight: number };
  /** Adds latency to every call from now on. */
  setLatency(ms: number): void;
  /** Makes the next matching request(s) fail. */
  failNext(plan: FailurePlan): void;
  /** Cancels planned failures and releases hung requests (they get closed). */
  clearFailures(): void;
  /** The next `n` automation webhooks are lost on the way (Odoo logs the failure and never retries). */
  loseWebhooks(n: number): void;
  /** Inserts a committed record directly (bulk test data; no access checks, no webhooks). */
  insert(model: string, values: Record<string, unknown>): number;
  /** The committed records of a model (raw values: many2one as id). */
  records(model: string): Rec[];
  /** Runs a method as a user would over RPC (webhooks and all), without HTTP. */
  execute(model: string, method: string, args?: unknown[], kwargs?: Record<string, unknown>, uid?: number): Promise<unknown>;
  /** Clears Odoo's caches (e.g. makes separately created access rules visible). */
  clearCaches(): void;
  /** Fixes the clock that write_date and create_date come from (null: real time). */
  setClock(now: Date | null): void;
  stop(): Promise<void>;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** base_automation.py: the triggers run by a create, and by a write. */
const CREATE_TRIGGERS = ['on_create', 'on_create_or_write', 'on_priority_set', 'on_stage_set', 'on_state_set', 'on_tag_set', 'on_user_set'];
const WRITE_TRIGGERS = [
  'on_write',
  'on_archive',
  'on_unarchive',
  'on_create_or_write',
  'on_priority_set',
  'on_stage_set',
  'on_state_set',
  'on_tag_set',
  'on_user_set',
];

export async function startOdooPeer(options: OdooPeerOptions = {}): Promise<OdooPeer> {
  const version = options.version ?? 18;
  const db = options.db ?? 'clinica';
  const reg = new Registry(version);
  reg.staleAccessCache = options.staleAccessCache ?? true;
  const admin = { uid: 2, login: 'admin', password: 'admin', apiKey: `peer-${randomBytes(12).toString('hex')}` };
  reg.users.set(1, { id: 1, login: '__system__', password: randomBytes(16).toString('hex'), name: 'OdooBot', partnerId: 2, admin: true });
  reg.users.set(2, { id: 2, login: admin.login, password: admin.password, apiKey: admin.apiKey, name: 'Mitchell Admin', partnerId: 3, admin: true });
  let nextUid = 6;
  let nextPartner = 100000;
  for (const u of options.users ?? []) {
    const id = u.id ?? nextUid++;
    reg.users.set(id, { id, partnerId: u.partnerId ?? nextPartner++, name: u.name ?? u.login, ...u });
  }
  defineModels(reg);
  installModules(reg, ['base']);
  for (const u of reg.users.values()) {
    if (u.id > 2 && !reg.get(undefined, 'res.partner', u.partnerId))
      reg.insertRaw('res.partner', { id: u.partnerId, name: u.name, active: true, type: 'contact' });
  }
  installModules(reg, options.modules ?? ['contacts', 'calendar', 'product', 'stock', 'account', 'base_automation']);
  const generic = ormMethods(version);
  let latency = options.latencyMs ?? 0;
  const failures: Array<Required<Pick<FailurePlan, 'kind' | 'times'>> & FailurePlan> = [];
  const hung = new Set<http.ServerResponse>();
  const calls: CallLogEntry[] = [];
  const webhooks: WebhookLogEntry[] = [];
  const sessions = new Map<string, { uid: number; db: string }>();
  const sockets = new Set<Socket>();
  const webhookAgent = new http.Agent({ keepAlive: false });
  const webhookTimeout = options.webhookTimeoutMs ?? 1000;
  let webhooksToLose = 0;

  const log = (e: CallLogEntry) => {
    calls.push(e);
    if (calls.length > 10000) calls.splice(0, calls.length - 10000);
  };

  const versionInfo = () => ({
    server_version: `${version}.0`,
    server_version_info: [version, 0, 0, 'final', 0, ''],
    server_serie: `${version}.0`,
    protocol_version: 1,
  });

  const checkDb = (name: unknown) => {
    // psycopg2.connect() failing in sql_db.borrow(): the class is psycopg2.OperationalError itself.
    if (name !== db)
      throw new PyException(
        'psycopg2.OperationalError',
        `connection to server on socket "/var/run/postgresql/.s.PGSQL.5432" failed: FATAL:  database "${String(name)}" does not exist\n`,
        'builtin',
      );
  };

  /** security.check: the uid with its password or one of its API keys. */
  const checkCredentials = (uid: unknown, secret: unknown): UserDef => {
    const u = typeof uid === 'number' ? reg.users.get(uid) : undefined;
    if (!u || u.id === 1 || (secret !== u.password && secret !== u.apiKey)) throw AccessDenied();
    return u;
  };

  const takeFailure = (method: string, model?: string): FailurePlan | undefined => {
    const i = failures.findIndex((f) => (!f.method || f.method === method) && (!f.model || f.model === model));
    if (i === -1) return undefined;
    const plan = failures[i];
    plan.times -= 1;
    if (plan.times <= 0) failures.splice(i, 1);
    return plan;
  };

  // ------------------------------------------------------------------------------- ORM dispatch

  async function runMethod(
    uid: number,
    model: string,
    method: string,
    bind: (m: MethodDef) => { ids: number[]; params: Record<string, unknown> },
    context: Record<string, unknown>,
  ): Promise<unknown> {
    const def = reg.modelOrFail(model);
    const m = lookupMethod(reg, def, method, generic);
    const { ids, params } = bind(m);
    const txn = new Txn(reg.transactionNow());
    const env: Env = { uid, model, context: { ...(context ?? {}) }, txn, registry: reg };
    const release = m.readOnly ? () => undefined : await reg.writeLock.lock();
    try {
      const result = await m.fn(env, ids, params);
      await runAutomations(env);
      reg.commit(txn);
      return result;
    } catch (err) {
      reg.rollback(txn);
      throw err;
    } finally {
      release();
    }
  }

  function executeKw(uid: number, model: string, method: string, args: unknown, kwargs: unknown): Promise<unknown> {
    if (!Array.isArray(args)) throw TypeErr(`execute_kw() argument after * must be an iterable, not ${typeof args}`);
    const kw = (kwargs && typeof kwargs === 'object' ? kwargs : {}) as Record<string, unknown>;
    return runMethod(uid, model, method, (m) => bindArgs(method, m, args, kw), (kw.context as Record<string, unknown>) ?? {});
  }

  // ------------------------------------------------------------------------- automation webhooks

  /**
   * base_automation's patched create/write (Odoo 18 base_automation.py _register_hook): after the
   * change, inside the transaction, each active rule of the model whose trigger covers it runs its
   * actions on the records that pass the pre-domain (before the write), the domain (after it) and, on a
   * write, _check_trigger_fields (a trigger field was written with a different value; no trigger field
   * means every field). Rules by id, their actions by sequence and name, then record by record.
   */
  async function runAutomations(env: Env): Promise<void> {
    if (!reg.installed.has('base_automation') || !env.txn.events.length) return;
    const sys: Env = { ...env, uid: 1, context: {} };
    const rules = [...reg.ids(sys, 'base.automation')].map((id) => reg.get(sys, 'base.automation', id) as Rec).filter((r) => r && r.active !== false);
    if (!rules.length) return;
    for (const ev of env.txn.events) {
      if (ev.op === 'unlink') continue;
      for (const rule of rules) {
        const ruleModel = reg.get(sys, 'ir.model', rule.model_id as number)?.model;
        if (ruleModel !== ev.model) continue;
        const trig = String(rule.trigger);
        if (ev.op === 'create' && !CREATE_TRIGGERS.includes(trig)) continue;
        if (ev.op === 'write' && !WRITE_TRIGGERS.includes(trig)) continue;
        const def = reg.modelOrFail(ev.model);
        const post = rule.filter_domain ? reg.compileDomain(sys, def, parseDomainText(rule.filter_domain)) : undefined;
        const pre = ev.op === 'write' && rule.filter_pre_domain ? reg.compileDomain(sys, def, parseDomainText(rule.filter_pre_domain)) : undefined;
        const triggerNames = ((rule.trigger_field_ids as number[]) ?? []).map((id) => reg.get(sys, 'ir.model.fields', id)?.name as string).filter(Boolean);
        const records: Rec[] = [];
        for (const id of ev.ids) {
          const now = ev.after?.get(id) ?? reg.get(env, ev.model, id);
          if (!now) continue;
          const before = ev.before?.get(id);
          if (pre && !pre(before ?? now)) continue;
          if (post && !post(now)) continue;
          if (ev.op === 'write' && triggerNames.length && !triggerNames.some((n) => ev.fields.has(n) && differs(def, n, before, now))) continue;
          records.push(now);
        }
        if (!records.length) continue;
        const actions = reg
          .search(sys, 'ir.actions.server', [['base_automation_id', '=', rule.id]])
          .map((id) => reg.get(sys, 'ir.actions.server', id) as Rec)
          .filter((a) => a.state === 'webhook');
        for (const action of actions) {
          if (!action.webhook_url) throw UserError("I'll be happy to send a webhook for you, but you really need to give me a URL to reach out to...");
          const names = ((action.webhook_field_ids as number[]) ?? []).map((fid) => reg.get(sys, 'ir.model.fields', fid)?.name as string).filter(Boolean);
          for (const rec of records) {
            const payload: Record<string, unknown> = { _model: ev.model, _id: rec.id, _action: `${String(action.name)}(#${action.id})` };
            // record.read(fields, load=None): many2one as an id, dates as Python objects (json default=str).
            if (names.length) Object.assign(payload, { id: rec.id }, webhookValues(sys, def, rec, names));
            await sendWebhook(String(action.webhook_url), payload);
          }
        }
      }
    }
  }

  /** record[name] != old_vals[name], as recordsets and Python values compare. */
  function differs(def: ModelDef, name: string, before: Rec | undefined, now: Rec): boolean {
    if (!before) return true;
    const f = reg.field(def, name);
    const a = reg.raw(undefined, def, before, name);
    const b = reg.raw(undefined, def, now, name);
    if (f?.type === 'many2many' || f?.type === 'one2many') {
      const x = new Set((a as number[]) ?? []);
      const y = new Set((b as number[]) ?? []);
      return x.size !== y.size || [...x].some((id) => !y.has(id));
    }
    return JSON.stringify(a) !== JSON.stringify(b);
  }

  function webhookValues(sys: Env, def: ModelDef, rec: Rec, names: string[]): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const n of names) {
      const f = reg.field(def, n);
      const v = reg.format(sys, def, rec, n, null);
      if (!f) continue;
      if (f.type === 'datetime') {
        const raw = reg.raw(sys, def, rec, n);
        out[n] = typeof raw === 'string' && raw ? pyDatetimeStr(raw) : false;
      } else if ((f.type === 'float' || f.type === 'monetary') && typeof v === 'number') out[n] = new PyFloat(v);
      else out[n] = v;
    }
    return out;
  }

  /**
   * requests.post(url, data=json.dumps(vals, sort_keys=True, default=str), timeout=1) from Odoo's
   * _run_action_webhook: Python's JSON text and requests' headers; a slow or failing receiver is only
   * logged (the write goes on), never retried.
   */
  function sendWebhook(url: string, payload: Record<string, unknown>): Promise<void> {
    const started = Date.now();
    const text = pyJsonDumps(payload);
    const entry: WebhookLogEntry = { url, payload: JSON.parse(text) as Record<string, unknown>, body: text, ms: 0, at: odooNow() };
    webhooks.push(entry);
    if (webhooksToLose > 0) {
      webhooksToLose -= 1;
      entry.error = 'lost on the way (peer switch)';
      return Promise.resolve();
    }
    return new Promise<void>((resolve) => {
      let done = false;
      const finish = (status?: number, error?: string) => {
        if (done) return;
        done = true;
        entry.status = status;
        entry.error = error;
        entry.ms = Date.now() - started;
        resolve();
      };
      try {
        const body = Buffer.from(text, 'utf8');
        const req = http.request(
          url,
          {
            method: 'POST',
            agent: webhookAgent,
            timeout: webhookTimeout,
            headers: {
              'User-Agent': 'python-requests/2.28.1',
              'Accept-Encoding': 'gzip, deflate',
              Accept: '*/*',
              Connection: 'keep-alive',
              'Content-Type': 'application/json',
              'Content-Length': String(body.length),
            },
          },
          (res) => {
            res.resume();
            res.on('end', () => {
              finish(res.statusCode);
              req.destroy(); // requests.post closes its one-off session
            });
            res.on('error', () => finish(res.statusCode));
          },
        );
        req.on('timeout', () => {
          req.destroy();
          finish(undefined, `Read timed out. (read timeout=${webhookTimeout / 1000})`);
        });
        req.on('error', (e) => finish(undefined, e.message));
        req.end(body);
      } catch (e) {
        finish(undefined, (e as Error).message);
      }
    });
  }

  // --------------------------------------------------------------------------------- services

  async function common(method: string, params: unknown[]): Promise<unknown> {
    switch (method) {
      case 'version':
        return versionInfo();
      case 'about':
        return 'See http://openerp.com';
      case 'login':
      case 'authenticate': {
        const [dbName, login, secret] = params;
        checkDb(dbName);
        const u = [...reg.users.values()].find((x) => x.login === login && x.id !== 1);
        return u && (secret === u.password || (secret === u.apiKey && u.apiKey)) ? u.id : false;
      }
      default:
        throw new PyException('builtins.NameError', `Method not available ${method}`, 'builtin');
    }
  }

  async function objectService(method: string, params: unknown[]): Promise<unknown> {
    const [dbName, uid, secret, model, rpcMethod, ...rest] = params;
    checkDb(dbName);
    const user = checkCredentials(uid, secret);
    if (method === 'execute_kw') return executeKw(user.id, String(model), String(rpcMethod), rest[0] ?? [], rest[1] ?? {});
    if (method === 'execute') return executeKw(user.id, String(model), String(rpcMethod), rest, {});
    throw new PyException('builtins.NameError', `Method not available ${method}`, 'builtin');
  }

  const callModel = (service: string, params: unknown[]) => (service === 'object' ? String(params[3] ?? '') : undefined);
  const callMethod = (service: string, method: string, params: unknown[]) => (service === 'object' ? String(params[4] ?? method) : method);

  // ------------------------------------------------------------------------------------- HTTP

  const send = (res: http.ServerResponse, status: number, type: string, body: string | Buffer, headers: Record<string, string | string[]> = {}) => {
    const buf = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
    res.writeHead(status, { 'Content-Type': type, 'Content-Length': String(buf.length), ...headers });
    res.end(buf);
  };

  const html = (status: number, title: string) => `<!DOCTYPE html>\n<html><head><title>${status} ${title}</title></head><body><h1>${title}</h1></body></html>`;

  /** Applies a planned failure; returns true when the request is consumed by it. */
  function failBefore(plan: FailurePlan | undefined, req: http.IncomingMessage, res: http.ServerResponse): boolean {
    if (!plan) return false;
    switch (plan.kind) {
      case 'http500':
        send(res, 500, 'text/html', html(500, 'Internal Server Error'));
        return true;
      case 'http502':
        send(res, 502, 'text/html', html(502, 'Bad Gateway'));
        return true;
      case 'http503':
        send(res, 503, 'text/html', html(503, 'Service Unavailable'));
        return true;
      case 'http504':
        send(res, 504, 'text/html', html(504, 'Gateway Time-out'));
        return true;
      case 'reset':
        req.socket.destroy();
        return true;
      case 'hang':
        hung.add(res);
        return true;
      default:
        return false;
    }
  }

  async function handleRpc(
    protocol: 'xmlrpc' | 'jsonrpc',
    service: string,
    method: string,
    params: unknown[],
    v1: boolean,
    req: http.IncomingMessage,
    res: http.ServerResponse,
    id?: unknown,
  ): Promise<void> {
    const started = Date.now();
    const model = callModel(service, params);
    const rpcMethod = callMethod(service, method, params);
    const plan = takeFailure(rpcMethod, model);
    if (failBefore(plan, req, res)) return;
    if (latency) await sleep(latency);
    let result: unknown;
    let failed: unknown;
    try {
      if (service === 'common') result = await common(method, params);
      else if (service === 'object') result = await objectService(method, params);
      else if (service === 'db' && method === 'list') result = [db];
      else if (service === 'db' && method === 'server_version') result = `${version}.0`;
      else throw new PyException('builtins.KeyError', `'${service}'`, 'builtin');
    } catch (err) {
      failed = err;
    }
    log({
      protocol,
      service,
      method: rpcMethod,
      model,
      uid: typeof params[1] === 'number' ? params[1] : undefined,
      ok: !failed,
      error: failed ? (failed as Error).message : undefined,
      ms: Date.now() - started,
    });
    if (plan?.kind === 'reset-after-commit') {
      req.socket.destroy();
      return;
    }
    if (protocol === 'xmlrpc') {
      if (failed) {
        send(res, 200, 'text/xml; charset=utf-8', xmlFaultFor(failed, v1));
        return;
      }
      let body: string;
      try {
        body = xmlResponse(result);
      } catch (err) {
        // The work is committed; only the answer fails (Odoo ≤ 18 with methods returning None).
        body = xmlFaultFor(err, v1);
      }
      send(res, 200, 'text/xml; charset=utf-8', body);
      return;
    }
    const envelope = failed
      ? `{"jsonrpc":"2.0","id":${JSON.stringify(id ?? null)},"error":${JSON.stringify(jsonRpcError(failed))}}`
      : // Odoo's JSON-RPC dispatcher sets `result` only when it is not None: a method that returns
        // nothing answers {"jsonrpc": "2.0", "id": N} (after committing, like any other call).
        result === undefined || result === null
        ? `{"jsonrpc":"2.0","id":${JSON.stringify(id ?? null)}}`
        : `{"jsonrpc":"2.0","id":${JSON.stringify(id ?? null)},"result":${jsonValue(result)}}`;
    send(res, 200, 'application/json', envelope);
  }

  async function handleJson2(model: string, method: string, body: Buffer, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const started = Date.now();
    const plan = takeFailure(method, model);
    if (failBefore(plan, req, res)) return;
    if (latency) await sleep(latency);
    let result: unknown;
    let failed: unknown;
    let uid: number | undefined;
    try {
      if (req.method !== 'POST') throw HttpErr('MethodNotAllowed', 405, 'The method is not allowed for the requested URL.');
      const auth = String(req.headers.authorization ?? '');
      const m = /^bearer\s+(.+)$/i.exec(auth);
      const user = m ? [...reg.users.values()].find((u) => u.apiKey && u.apiKey === m[1].trim()) : undefined;
      if (!user) throw HttpErr('Unauthorized', 401, 'Invalid apikey');
      const wantDb = req.headers['x-odoo-database'];
      if (wantDb && wantDb !== db) throw HttpErr('NotFound', 404, `database ${JSON.stringify(wantDb)} not found`);
      uid = user.id;
      let named: Record<string, unknown> = {};
      if (body.length) {
        try {
          named = JSON.parse(body.toString('utf8')) as Record<string, unknown>;
        } catch (e) {
          throw HttpErr('BadRequest', 400, `could not parse the body as json: ${(e as Error).message}`);
        }
        if (!named || typeof named !== 'object' || Array.isArray(named)) throw HttpErr('BadRequest', 400, 'could not parse the body, expecting a json object');
      }
      const { ids, context, ...params } = named as { ids?: unknown; context?: Record<string, unknown> } & Record<string, unknown>;
      if (!reg.model(model)) throw HttpErr('NotFound', 404, `the model '${model}' does not exist`);
      result = await runMethod(
        user.id,
        model,
        method,
        (md) => {
          if (md.api === 'model' && Array.isArray(ids) && ids.length) throw HttpErr('UnprocessableEntity', 422, `cannot call ${model}.${method} with ids`);
          for (const k of Object.keys(params)) {
            if (!md.params.includes(k)) throw HttpErr('UnprocessableEntity', 422, `got an unexpected keyword argument '${k}'`);
          }
          return { ids: md.api === 'records' ? normaliseIds(ids ?? []) : [], params };
        },
        context ?? {},
      ).catch((err: unknown) => {
        if (err instanceof PyException && err.pyName === 'builtins.AttributeError') throw HttpErr('NotFound', 404, err.message);
        if (err instanceof PyException && err.pyName === 'odoo.exceptions.UserError' && /^Object \S+ doesn't exist/.test(err.message))
          throw HttpErr('NotFound', 404, `the model '${model}' does not exist`);
        throw err;
      });
      // BaseModel results come back as ids; here results are already plain.
    } catch (err) {
      failed = err;
    }
    log({
      protocol: 'json2',
      service: 'json2',
      method,
      model,
      uid,
      ok: !failed,
      error: failed ? (failed as Error).message : undefined,
      ms: Date.now() - started,
    });
    if (plan?.kind === 'reset-after-commit') {
      req.socket.destroy();
      return;
    }
    if (failed) {
      const e = json2Error(failed);
      send(res, e.status, 'application/json; charset=utf-8', JSON.stringify(e.body));
      return;
    }
    send(res, 200, 'application/json; charset=utf-8', jsonValue(result));
  }

  function cookie(req: http.IncomingMessage, name: string): string | undefined {
    const header = String(req.headers.cookie ?? '');
    for (const part of header.split(';')) {
      const [k, ...v] = part.trim().split('=');
      if (k === name) return v.join('=');
    }
    return undefined;
  }

  async function route(req: http.IncomingMessage, res: http.ServerResponse, body: Buffer): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://peer');
    const path = url.pathname;
    let m: RegExpExecArray | null;
    if (req.method === 'POST' && (m = /^\/xmlrpc\/(2\/)?(common|object|db)$/.exec(path))) {
      let call: { method: string; params: unknown[] };
      try {
        call = await parseXmlCall(body);
      } catch (err) {
        send(res, 200, 'text/xml; charset=utf-8', xmlFault(1, `Traceback (most recent call last):\nxml.parsers.expat.ExpatError: ${(err as Error).message}\n`));
        return;
      }
      await handleRpc('xmlrpc', m[2], call.method, call.params, !m[1], req, res);
      return;
    }
    if (req.method === 'POST' && path === '/jsonrpc') {
      let msg: { id?: unknown; params?: { service?: string; method?: string; args?: unknown[] } };
      try {
        msg = JSON.parse(body.toString('utf8')) as typeof msg;
      } catch {
        send(res, 400, 'text/html', html(400, 'Bad Request'));
        return;
      }
      const p = msg.params ?? {};
      await handleRpc('jsonrpc', String(p.service ?? ''), String(p.method ?? ''), Array.isArray(p.args) ? p.args : [], false, req, res, msg.id);
      return;
    }
    if ((m = /^\/json\/2\/([^/]+)\/([^/]+)$/.exec(path)) && version >= 19) {
      await handleJson2(decodeURIComponent(m[1]), decodeURIComponent(m[2]), body, req, res);
      return;
    }
    if (version < 19 && path.startsWith('/json/')) {
      // Odoo 17/18's /json/<path> is the web client's auth='user' route: without a session, a redirect to the login.
      const location = `/web/login?redirect=${encodeURIComponent(`${path}?${url.search.slice(1)}`)}`;
      send(
        res,
        303,
        'text/html; charset=utf-8',
        `<!doctype html>\n<html lang=en>\n<title>Redirecting...</title>\n<h1>Redirecting...</h1>\n<p>You should be redirected automatically to the target URL: <a href="${location}">${location}</a>. If not, click the link.\n`,
        { Location: location },
      );
      return;
    }
    if ((path === '/web/version' && version >= 19) || path === '/web/webclient/version_info') {
      const info = { version: `${version}.0`, version_info: [version, 0, 0, 'final', 0, ''] };
      if (path === '/web/version') send(res, 200, 'application/json', JSON.stringify(info));
      else send(res, 200, 'application/json', JSON.stringify({ jsonrpc: '2.0', id: null, result: { ...versionInfo(), ...info } }));
      return;
    }
    if (req.method === 'POST' && path === '/web/session/authenticate') {
      let msg: { id?: unknown; params?: { db?: string; login?: string; password?: string } } = {};
      try {
        msg = JSON.parse(body.toString('utf8') || '{}') as typeof msg;
      } catch {
        /* handled below as a failed login */
      }
      const p = msg.params ?? {};
      const u = [...reg.users.values()].find((x) => x.login === p.login && x.id !== 1);
      // A web session takes the password only: API keys are for RPC.
      if (p.db !== db || !u || p.password !== u.password) {
        log({ protocol: 'web', service: 'session', method: 'authenticate', ok: false, error: 'Access Denied', ms: 0 });
        send(res, 200, 'application/json', JSON.stringify({ jsonrpc: '2.0', id: msg.id ?? null, error: jsonRpcError(AccessDenied()) }));
        return;
      }
      const sid = randomBytes(20).toString('hex');
      sessions.set(sid, { uid: u.id, db });
      log({ protocol: 'web', service: 'session', method: 'authenticate', uid: u.id, ok: true, ms: 0 });
      send(
        res,
        200,
        'application/json',
        JSON.stringify({
          jsonrpc: '2.0',
          id: msg.id ?? null,
          result: {
            uid: u.id,
            is_admin: Boolean(u.admin),
            name: u.name,
            username: u.login,
            db,
            server_version: `${version}.0`,
            user_context: { lang: 'en_US', tz: 'Europe/Madrid', uid: u.id },
          },
        }),
        {
          'Set-Cookie': `session_id=${sid}; Expires=${new Date(Date.now() + 7 * 86400000).toUTCString()}; Max-Age=604800; HttpOnly; Path=/; SameSite=Lax`,
        },
      );
      return;
    }
    if (req.method === 'GET' && (m = /^\/report\/pdf\/([^/]+)\/([\d,]+)$/.exec(path))) {
      const session = sessions.get(cookie(req, 'session_id') ?? '');
      if (!session) {
        send(res, 303, 'text/html; charset=utf-8', html(303, 'See Other'), { Location: `/web/login?redirect=${encodeURIComponent(`${path}?`)}` });
        return;
      }
      const reportName = decodeURIComponent(m[1]);
      const ids = m[2].split(',').map(Number);
      const env: Env = { uid: session.uid, context: {}, txn: new Txn(reg.transactionNow()), registry: reg };
      try {
        const reportId = [...reg.ids(env, 'ir.actions.report')].find((id) => reg.get(env, 'ir.actions.report', id)?.report_name === reportName);
        if (reportId === undefined) throw UserError(`Report not found: ${reportName}`);
        const report = reg.get(env, 'ir.actions.report', reportId) as Rec;
        reg.checkAccess(env, String(report.model), 'read');
        for (const id of ids)
          if (!reg.get(env, String(report.model), id))
            throw new PyException('odoo.exceptions.MissingError', 'Record does not exist or has been deleted.', 'missing');
        const pdf = report.model === 'account.move' && ids.length === 1 ? renderInvoicePdf(env, ids[0]) : makePdf(`${String(report.name)} ${ids.join(', ')}`);
        log({ protocol: 'web', service: 'report', method: reportName, model: String(report.model), uid: session.uid, ok: true, ms: 0 });
        send(res, 200, 'application/pdf', pdf);
      } catch (err) {
        log({ protocol: 'web', service: 'report', method: reportName, uid: session.uid, ok: false, error: (err as Error).message, ms: 0 });
        send(res, 500, 'text/html', html(500, `Internal Server Error: ${(err as Error).message}`));
      }
      return;
    }
    if (req.method === 'GET' && (m = /^\/account\/download_invoice_documents\/([\d,]+)\/pdf$/.exec(path)) && version >= 18) {
      // account/controllers/download_docs.py (auth='user'): the stored invoice PDF, else a proforma rendered on the fly.
      const session = sessions.get(cookie(req, 'session_id') ?? '');
      if (!session) {
        send(res, 303, 'text/html; charset=utf-8', html(303, 'See Other'), { Location: `/web/login?redirect=${encodeURIComponent(`${path}?`)}` });
        return;
      }
      const env: Env = { uid: session.uid, context: {}, txn: new Txn(reg.transactionNow()), registry: reg };
      const id = Number(m[1].split(',')[0]);
      const move = reg.get(env, 'account.move', id);
      if (!move) {
        send(res, 404, 'text/html', html(404, 'Not Found'));
        return;
      }
      const stored = move.invoice_pdf_report_id ? reg.get(env, 'ir.attachment', move.invoice_pdf_report_id as number) : undefined;
      const filename = stored ? String(stored.name) : `${String(move.name).replace(/\//g, '_')}_proforma.pdf`;
      const pdf = stored ? Buffer.from(String(stored.datas), 'base64') : renderInvoicePdf(env, id);
      log({ protocol: 'web', service: 'download', method: 'download_invoice_documents', model: 'account.move', uid: session.uid, ok: true, ms: 0 });
      send(res, 200, 'pdf', pdf, { 'Content-Disposition': `attachment; filename*=UTF-8''${encodeURIComponent(filename)}` });
      return;
    }
    if (req.method === 'GET' && (m = /^\/my\/invoices\/(\d+)$/.exec(path)) && url.searchParams.get('report_type') === 'pdf') {
      // The customer portal (auth='public'): the access token opens the invoice's PDF without a session.
      const env: Env = { uid: 1, context: {}, txn: new Txn(reg.transactionNow()), registry: reg };
      const id = Number(m[1]);
      const move = reg.get(env, 'account.move', id);
      if (!move || !move.access_token || move.access_token !== url.searchParams.get('access_token')) {
        send(res, 303, 'text/html; charset=utf-8', html(303, 'See Other'), { Location: '/my' });
        return;
      }
      log({ protocol: 'web', service: 'portal', method: 'invoice_pdf', model: 'account.move', ok: true, ms: 0 });
      send(
        res,
        200,
        'application/pdf',
        renderInvoicePdf(env, id),
        url.searchParams.get('download') === 'true'
          ? { 'Content-Disposition': `attachment; filename*=UTF-8''${encodeURIComponent(`${String(move.name).replace(/\//g, '_')}.pdf`)}` }
          : {},
      );
      return;
    }
    if (path === '/web/login') {
      send(res, 200, 'text/html', '<!DOCTYPE html><html><body><form action="/web/login" method="post"></form></body></html>');
      return;
    }
    send(res, 404, 'text/html', html(404, 'Not Found'));
  }

  const stats = { connections: 0, inFlight: 0, maxInFlight: 0 };
  const server = http.createServer((req, res) => {
    stats.inFlight += 1;
    stats.maxInFlight = Math.max(stats.maxInFlight, stats.inFlight);
    let counted = true;
    const uncount = () => {
      if (counted) stats.inFlight -= 1;
      counted = false;
    };
    res.on('finish', uncount);
    res.on('close', uncount);
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      route(req, res, Buffer.concat(chunks)).catch((err: unknown) => {
        if (!res.headersSent) send(res, 500, 'text/html', html(500, `Internal Server Error: ${(err as Error).message}`));
      });
    });
  });
  server.keepAliveTimeout = 5000;
  server.on('connection', (s: Socket) => {
    stats.connections += 1;
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://${options.host ?? '127.0.0.1'}:${port}`;

  return {
    url,
    port,
    db,
    version,
    registry: reg,
    admin,
    calls,
    webhooks,
    sentMail: reg.sentMail,
    stats,
    setLatency: (ms) => {
      latency = Math.max(0, ms);
    },
    loseWebhooks: (n) => {
      webhooksToLose = Math.max(0, Math.trunc(n));
    },
    failNext: (plan) => {
      failures.push({ times: 1, ...plan, kind: plan.kind } as Required<Pick<FailurePlan, 'kind' | 'times'>> & FailurePlan);
    },
    clearFailures: () => {
      failures.length = 0;
      for (const res of hung) res.socket?.destroy();
      hung.clear();
    },
    insert: (model, values) => {
      reg.modelOrFail(model);
      return reg.insertRaw(model, values);
    },
    records: (model) => [...(reg.tables.get(model)?.values() ?? [])].map((r) => ({ ...r })),
    execute: (model, method, args = [], kwargs = {}, uid = 2) => executeKw(uid, model, method, args, kwargs),
    clearCaches: () => refreshAllAccess(reg),
    setClock: (now) => {
      reg.clock = now ? () => now : () => new Date();
      reg.fixedClock = Boolean(now);
    },
    stop: async () => {
      for (const res of hung) res.socket?.destroy();
      hung.clear();
      webhookAgent.destroy();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      });
    },
  };
}

export { MODULES };
