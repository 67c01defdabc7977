/**
 * The Odoo client: one typed API over XML-RPC, JSON-RPC and JSON-2. No Node-RED import.
 *
 *  - logs in once and caches the uid (again only after Odoo rejects the cached one);
 *  - keep-alive sockets, at most `concurrency` requests in flight, a deadline per request;
 *  - retries with back-off only what cannot have changed anything twice: reads on network faults,
 *    timeouts and 5xx; writes only when the request never reached Odoo. Business faults never;
 *  - a write whose answer was lost is reported as ODOO_OUTCOME_UNKNOWN (not retryable), and Odoo's
 *    "cannot marshal None" XML-RPC fault for methods returning None as the success it is.
 */
import { IntegrationError, badInput } from '../common/errors';
import { count } from '../common/metrics';
import { OdooFault, odooError, type OdooOperation } from './errors';
import { HttpFailure, HttpTransport } from './http';
import {
  HttpStatusError,
  Json2ArgumentError,
  Json2Protocol,
  JsonRpcProtocol,
  ProtocolError,
  XmlRpcProtocol,
  type Credentials,
  type Protocol,
  type ProtocolName,
  type VersionInfo,
} from './protocols';
import { setTimeout as sleep } from 'node:timers/promises';

export type Domain = unknown[];
export type OdooRecord = Record<string, unknown> & { id: number };
export type Context = Record<string, unknown>;

export interface OdooClientOptions {
  /** http(s)://host:port of Odoo (a path prefix is kept). */
  url: string;
  db: string;
  username: string;
  /** API key (Preferences → Account Security): preferred for RPC, required for JSON-2. */
  apiKey?: string;
  /** Password: works for RPC where API keys are not used, and is the only way to open a web session. */
  password?: string;
  /** 'auto' (default) asks common.version: JSON-2 on Odoo 19+ with an API key, otherwise JSON-RPC. */
  protocol?: 'auto' | ProtocolName;
  /** Per request, ms (default 30000). */
  timeoutMs?: number;
  /** Requests in flight at once (default 4). */
  concurrency?: number;
  /** Extra attempts for retryable failures (default 2). */
  retries?: number;
  /** First back-off delay, doubled each attempt with jitter, capped at 5 s (default 250). */
  retryDelayMs?: number;
  /** Context sent with every call (e.g. {lang: 'es_ES', tz: 'Europe/Madrid'}). */
  context?: Context;
  userAgent?: string;
  /** Called before each retry (for logs / status). */
  onRetry?: (info: { operation: string; attempt: number; delayMs: number; error: IntegrationError }) => void;
}

export interface SearchReadQuery {
  domain?: Domain;
  fields?: string[];
  order?: string;
  limit?: number;
  offset?: number;
  context?: Context;
}

export interface PagedQuery extends SearchReadQuery {
  /** Records per call (default 500). */
  pageSize?: number;
}

export interface Page {
  records: OdooRecord[];
  /** 0-based page number. */
  index: number;
  /** Records before this page. */
  offset: number;
  /** true for the final page (known because the next page was fetched ahead). */
  last: boolean;
}

export interface MessagePostOptions {
  body: string;
  subject?: string;
  /** 'comment' (default) or 'notification'. */
  messageType?: string;
  /** 'mail.mt_note' (internal note, default) or 'mail.mt_comment' (sent to followers). */
  subtypeXmlid?: string;
  partnerIds?: number[];
  attachmentIds?: number[];
  context?: Context;
}

/** Methods that only read: safe to repeat after any transient failure. */
const READ_ONLY_METHODS = new Set([
  'search',
  'search_read',
  'read',
  'search_count',
  'fields_get',
  'name_search',
  'name_get',
  'read_group',
  'web_search_read',
  'web_read',
  'check_access_rights',
  'has_group',
  'context_get',
  'default_get',
  'search_fetch',
  'get_views',
  'fields_view_get',
  'exists',
  'version',
  'authenticate',
  'login',
  'about',
]);

function isReadOnlyMethod(method: string): boolean {
  return READ_ONLY_METHODS.has(method);
}

function normaliseBaseUrl(url: string): string {
  const trimmed = url.trim().replace(/\/+$/, '');
  if (!/^https?:\/\//i.test(trimmed)) {
    throw new IntegrationError(`Odoo URL "${url}" is not an http(s) URL; set it in the Odoo config node or ODOO_URL (e.g. http://localhost:8069)`, {
      code: 'ODOO_NOT_CONFIGURED',
      system: 'odoo',
      retryable: false,
    });
  }
  return trimmed;
}

function majorVersion(v: VersionInfo): number | undefined {
  const first = v.server_version_info?.[0];
  if (typeof first === 'number') return first;
  const m = /(\d+)/.exec(String(first ?? v.server_version ?? ''));
  return m ? Number(m[1]) : undefined;
}

const isIdOrder = (order: string | undefined) => !order || /^\s*id(\s+(asc|desc))?\s*$/i.test(order);

export class OdooClient {
  readonly url: string;
  readonly db: string;
  readonly username: string;
  private readonly http: HttpTransport;
  private readonly secret: string;
  private protocolReady?: Promise<Protocol>;
  private uidReady?: Promise<number>;
  private versionInfo?: VersionInfo;

  constructor(readonly options: OdooClientOptions) {
    this.url = normaliseBaseUrl(options.url ?? '');
    this.db = (options.db ?? '').trim();
    this.username = (options.username ?? '').trim();
    this.secret = options.apiKey || options.password || '';
    const missing = [!this.db && 'database (ODOO_DB)', !this.username && 'user (ODOO_USERNAME)', !this.secret && 'API key or password (ODOO_API_KEY)'].filter(
      Boolean,
    );
    if (missing.length) {
      throw new IntegrationError(`Odoo connection to ${this.url} is missing its ${missing.join(', ')}; fill them in the Odoo config node or the environment`, {
        code: 'ODOO_NOT_CONFIGURED',
        system: 'odoo',
        retryable: false,
      });
    }
    this.http = new HttpTransport(this.url, {
      timeoutMs: options.timeoutMs ?? 30000,
      concurrency: options.concurrency ?? 4,
      userAgent: options.userAgent ?? 'clinica-node-red-odoo/0.1',
    });
  }

  private get creds(): Credentials {
    return { db: this.db, username: this.username, secret: this.secret };
  }

  /** Requests in flight and waiting (for status and the bench). */
  get load(): { inFlight: number; queued: number } {
    return { inFlight: this.http.limiter.inFlight, queued: this.http.limiter.queued };
  }

  /** The transport in use, chosen on first use. */
  async protocol(): Promise<Protocol> {
    this.protocolReady ??= this.chooseProtocol().catch((err: unknown) => {
      this.protocolReady = undefined;
      throw err;
    });
    return this.protocolReady;
  }

  async protocolName(): Promise<ProtocolName> {
    return (await this.protocol()).name;
  }

  private async chooseProtocol(): Promise<Protocol> {
    const wanted = this.options.protocol ?? 'auto';
    if (wanted === 'xmlrpc') return new XmlRpcProtocol(this.http);
    if (wanted === 'jsonrpc') return new JsonRpcProtocol(this.http);
    if (wanted === 'json2') {
      if (!this.options.apiKey) {
        throw new IntegrationError(
          `Odoo JSON-2 at ${this.url} needs an API key (a password is not accepted as bearer token); set ODOO_API_KEY or choose JSON-RPC`,
          {
            code: 'ODOO_NOT_CONFIGURED',
            system: 'odoo',
            retryable: false,
          },
        );
      }
      return new Json2Protocol(this.http);
    }
    const jsonrpc = new JsonRpcProtocol(this.http);
    try {
      this.versionInfo = await this.withRetry({ method: 'version' }, true, () => jsonrpc.version());
    } catch (err) {
      // Odoo 20+ drops /jsonrpc: JSON-2 answers /web/version instead.
      if ((err as IntegrationError).code === 'ODOO_NOT_FOUND' && this.options.apiKey) {
        const json2 = new Json2Protocol(this.http);
        this.versionInfo = await this.withRetry({ method: 'version' }, true, () => json2.version());
        return json2;
      }
      throw err;
    }
    const major = majorVersion(this.versionInfo);
    return major !== undefined && major >= 19 && this.options.apiKey ? new Json2Protocol(this.http) : jsonrpc;
  }

  /** common.version (cached): server_version, server_version_info … */
  async version(): Promise<VersionInfo> {
    if (this.versionInfo) return this.versionInfo;
    const p = await this.protocol();
    if (!this.versionInfo) this.versionInfo = await this.withRetry({ method: 'version' }, true, () => p.version());
    return this.versionInfo;
  }

  /** Odoo's major version number (17, 18, 19 …). */
  async majorVersion(): Promise<number> {
    return majorVersion(await this.version()) ?? 0;
  }

  /** Logs in once (the uid is cached); rejects with ODOO_ACCESS_DENIED when Odoo refuses. */
  async login(): Promise<number> {
    this.uidReady ??= this.authenticate().catch((err: unknown) => {
      this.uidReady = undefined;
      throw err;
    });
    return this.uidReady;
  }

  private async authenticate(): Promise<number> {
    const p = await this.protocol();
    const uid = await this.withRetry({ method: 'authenticate' }, true, () => p.authenticate(this.creds));
    if (uid === false) {
      throw odooError({ name: 'odoo.exceptions.AccessDenied', message: 'Access Denied' }, { method: 'authenticate' }, { db: this.db, username: this.username });
    }
    return uid;
  }

  /**
   * Calls any public method: `execute_kw(db, uid, key, model, method, args, kwargs)` or its JSON-2 form.
   * Record methods take the ids as args[0]. Returns null for methods that return nothing.
   */
  async call<T = unknown>(model: string, method: string, args: unknown[] = [], kwargs: Record<string, unknown> = {}): Promise<T> {
    if (!model || typeof model !== 'string') throw badInput('odoo', `Odoo ${method}: no model given; set the model in the node or msg.topic`);
    if (!method || typeof method !== 'string') throw badInput('odoo', `Odoo call on ${model}: no method given`);
    if (method.startsWith('_')) {
      throw badInput('odoo', `Odoo ${method} on ${model}: private methods (starting with _) cannot be called remotely; call a public method`);
    }
    const p = await this.protocol();
    const uid = p.name === 'json2' ? 0 : await this.login();
    const kw = this.options.context ? { ...kwargs, context: { ...this.options.context, ...((kwargs.context as Context | undefined) ?? {}) } } : kwargs;
    const op: OdooOperation = {
      model,
      method,
      ids: Array.isArray(args[0]) && args[0].every((x) => Number.isInteger(x)) ? args[0] : Number.isInteger(args[0]) ? args[0] : undefined,
    };
    const readOnly = isReadOnlyMethod(method);
    count('odoo', 'calls', { method: readOnly ? method : method.length > 40 ? 'other' : method });
    const outcome = await this.withRetry(op, readOnly, () => p.execute(this.creds, uid, model, method, args, kw));
    if (!outcome.ok) {
      if (outcome.fault.name.endsWith('AccessDenied')) this.uidReady = undefined;
      throw odooError(outcome.fault, op, { db: this.db, username: this.username });
    }
    if (outcome.none) count('odoo', 'none_results', { method });
    return outcome.value as T;
  }

  // ------------------------------------------------------------------------------------ typed operations

  searchRead<T extends OdooRecord = OdooRecord>(model: string, q: SearchReadQuery = {}): Promise<T[]> {
    const kwargs: Record<string, unknown> = { domain: q.domain ?? [] };
    if (q.fields?.length) kwargs.fields = q.fields;
    if (q.order) kwargs.order = q.order;
    if (q.limit) kwargs.limit = q.limit;
    if (q.offset) kwargs.offset = q.offset;
    if (q.context) kwargs.context = q.context;
    return this.call<T[]>(model, 'search_read', [], kwargs);
  }

  search(model: string, q: Omit<SearchReadQuery, 'fields'> = {}): Promise<number[]> {
    const kwargs: Record<string, unknown> = {};
    if (q.order) kwargs.order = q.order;
    if (q.limit) kwargs.limit = q.limit;
    if (q.offset) kwargs.offset = q.offset;
    if (q.context) kwargs.context = q.context;
    return this.call<number[]>(model, 'search', [q.domain ?? []], kwargs);
  }

  /**
   * search_read page by page on the server. Ordered by id (the default), it pages by key
   * (`id > last id seen`), so records created or deleted meanwhile neither shift nor repeat a page; any
   * other order pages by offset. The next page is fetched before a page is yielded so `last` is exact.
   */
  async *searchReadPages<T extends OdooRecord = OdooRecord>(model: string, q: PagedQuery = {}): AsyncGenerator<Page & { records: T[] }> {
    const pageSize = Math.max(1, Math.min(q.pageSize ?? 500, 100000));
    const keyset = isIdOrder(q.order);
    const descending = keyset && /desc/i.test(q.order ?? '');
    const fields = q.fields?.length && keyset && !q.fields.includes('id') ? [...q.fields, 'id'] : q.fields;
    const baseDomain = q.domain ?? [];
    const limit = q.limit && q.limit > 0 ? q.limit : Infinity;
    let fetched = 0;
    let index = 0;
    let offset = q.offset ?? 0;

    const fetchPage = async (afterId: number | undefined): Promise<T[]> => {
      const want = Math.min(pageSize, limit - fetched - (pending?.length ?? 0));
      if (want <= 0) return [];
      const domain = keyset && afterId !== undefined ? [...baseDomain, ['id', descending ? '<' : '>', afterId]] : baseDomain;
      const records = await this.searchRead<T>(model, {
        domain,
        fields,
        context: q.context,
        limit: want,
        order: keyset ? (descending ? 'id desc' : 'id asc') : q.order,
        offset: keyset ? (afterId === undefined ? offset : 0) : offset,
      });
      if (!keyset) offset += records.length;
      return records;
    };

    let pending: T[] | undefined;
    let current = await fetchPage(undefined);
    for (;;) {
      const full = current.length === Math.min(pageSize, limit - fetched);
      pending = current;
      const next = full && fetched + current.length < limit ? await fetchPage(current.length ? current[current.length - 1].id : undefined) : [];
      pending = undefined;
      const last = next.length === 0;
      yield { records: current, index, offset: fetched, last };
      fetched += current.length;
      index += 1;
      if (last) return;
      current = next;
    }
  }

  /** Every record matching, read page by page (see searchReadPages). */
  async searchReadAll<T extends OdooRecord = OdooRecord>(model: string, q: PagedQuery = {}): Promise<T[]> {
    const out: T[] = [];
    for await (const page of this.searchReadPages<T>(model, q)) {
      for (const r of page.records) out.push(r);
    }
    return out;
  }

  /**
   * The records with these ids, in Odoo's answer order. Odoo 17+ answers a read of a deleted id with no
   * record rather than a fault; the records asked for by id are expected to exist, so missing ones are
   * ODOO_MISSING_RECORD naming them (use searchRead to read what may be gone).
   */
  async read<T extends OdooRecord = OdooRecord>(model: string, ids: number | number[], fields?: string[], context?: Context): Promise<T[]> {
    const list = Array.isArray(ids) ? ids : [ids];
    const kwargs: Record<string, unknown> = {};
    if (fields?.length) kwargs.fields = fields;
    if (context) kwargs.context = context;
    const records = await this.call<T[]>(model, 'read', [list], kwargs);
    if (Array.isArray(records) && records.length < new Set(list).size) {
      const found = new Set(records.map((r) => r.id));
      const missing = list.filter((id) => !found.has(id));
      throw odooError(
        { name: 'odoo.exceptions.MissingError', message: `Record does not exist or has been deleted.\n(Record: ${model}(${missing.join(', ')},), User: ?)` },
        { model, method: 'read', ids: missing },
        { db: this.db, username: this.username },
      );
    }
    return records;
  }

  async searchCount(model: string, domain: Domain = [], context?: Context): Promise<number> {
    return this.call<number>(model, 'search_count', [domain], context ? { context } : {});
  }

  /** One record (returns its id) or several (returns their ids). */
  async create(model: string, values: Record<string, unknown>, context?: Context): Promise<number>;
  async create(model: string, values: Array<Record<string, unknown>>, context?: Context): Promise<number[]>;
  async create(model: string, values: Record<string, unknown> | Array<Record<string, unknown>>, context?: Context): Promise<number | number[]> {
    const many = Array.isArray(values);
    const result = await this.call<number | number[]>(model, 'create', [many ? values : [values]], context ? { context } : {});
    const ids = Array.isArray(result) ? result : [result];
    return many ? ids : ids[0];
  }

  async write(model: string, ids: number | number[], values: Record<string, unknown>, context?: Context): Promise<boolean> {
    const result = await this.call<unknown>(model, 'write', [Array.isArray(ids) ? ids : [ids], values], context ? { context } : {});
    return result !== false;
  }

  async unlink(model: string, ids: number | number[], context?: Context): Promise<boolean> {
    const result = await this.call<unknown>(model, 'unlink', [Array.isArray(ids) ? ids : [ids]], context ? { context } : {});
    return result !== false;
  }

  /** Posts on a record's chatter; returns the mail.message id. */
  async messagePost(model: string, id: number, m: MessagePostOptions): Promise<number> {
    const kwargs: Record<string, unknown> = {
      body: m.body,
      message_type: m.messageType ?? 'comment',
      subtype_xmlid: m.subtypeXmlid ?? 'mail.mt_note',
    };
    if (m.subject) kwargs.subject = m.subject;
    if (m.partnerIds?.length) kwargs.partner_ids = m.partnerIds;
    if (m.attachmentIds?.length) kwargs.attachment_ids = m.attachmentIds;
    if (m.context) kwargs.context = m.context;
    const result = await this.call<number | number[]>(model, 'message_post', [[id]], kwargs);
    return Array.isArray(result) ? result[0] : result;
  }

  fieldsGet(
    model: string,
    attributes: string[] = ['string', 'type', 'required', 'readonly', 'relation', 'store'],
  ): Promise<Record<string, Record<string, unknown>>> {
    return this.call(model, 'fields_get', [], { attributes });
  }

  /**
   * Odoo's clock as seen in its last answer's Date header (1 s resolution, so it runs up to 1 s behind),
   * or this machine's clock before any answer. Used to compute "the last N seconds" in Odoo's time.
   */
  serverNow(): Date {
    const c = this.http.serverClock;
    return c ? new Date(c.serverMs + (Date.now() - c.localMs)) : new Date();
  }

  /** true when a password is configured (the web-session routes, e.g. /report/pdf, need one). */
  get hasPassword(): boolean {
    return Boolean(this.options.password);
  }

  /**
   * A plain HTTP request to this Odoo under the same concurrency limit and keep-alive sockets, for web
   * routes such as /web/session/authenticate and /report/pdf. Network faults come back typed.
   */
  async httpRequest(
    method: 'GET' | 'POST',
    path: string,
    body?: string,
    headers: Record<string, string> = {},
    readOnly = method === 'GET',
  ): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> {
    try {
      return await this.http.request(method, path, body, headers);
    } catch (err) {
      throw this.classify(err, { method: `${method} ${path}` }, readOnly).error;
    }
  }

  /** The password, for the web session only (never logged). */
  webPassword(): string | undefined {
    return this.options.password || undefined;
  }

  /** Closes the kept-alive sockets; later calls fail. */
  close(): void {
    this.http.close();
  }

  // --------------------------------------------------------------------------------------- failure policy

  private async withRetry<T>(op: OdooOperation, readOnly: boolean, fn: () => Promise<T>): Promise<T> {
    const retries = Math.max(0, this.options.retries ?? 2);
    const base = Math.max(1, this.options.retryDelayMs ?? 250);
    for (let attempt = 0; ; attempt++) {
      try {
        return await fn();
      } catch (err) {
        const { error, repeatable } = this.classify(err, op, readOnly);
        if (!repeatable || attempt >= retries) throw error;
        const delayMs = Math.min(5000, base * 2 ** attempt) * (0.75 + Math.random() * 0.5);
        count('odoo', 'retries', { code: error.code });
        this.options.onRetry?.({ operation: `${op.model ?? 'common'}.${op.method}`, attempt: attempt + 1, delayMs, error });
        await sleep(delayMs);
      }
    }
  }

  /** The typed error for anything a call threw, and whether repeating the call is known to be safe. */
  private classify(err: unknown, op: OdooOperation, readOnly: boolean): { error: IntegrationError; repeatable: boolean } {
    const where = `${op.model ? `${op.model}.` : ''}${op.method}`;
    const ctx = { db: this.db, username: this.username };
    const details = { model: op.model, method: op.method, ids: op.ids, url: this.url };
    if (err instanceof IntegrationError) return { error: err, repeatable: false };
    if (err instanceof OdooFault) return { error: odooError(err.info, op, ctx), repeatable: false };
    if (err instanceof Json2ArgumentError) return { error: badInput('odoo', err.message, details), repeatable: false };
    if (err instanceof HttpFailure) {
      if (!err.sent) {
        return {
          error: new IntegrationError(
            `Odoo at ${this.url} is unreachable (${where}): ${err.message}. It will be retried; check that Odoo runs and ODOO_URL is right.`,
            {
              code: err.timedOut ? 'ODOO_TIMEOUT' : 'ODOO_UNREACHABLE',
              system: 'odoo',
              retryable: true,
              details: { ...details, cause: err.code },
              cause: err,
            },
          ),
          repeatable: true,
        };
      }
      if (readOnly) {
        return {
          error: new IntegrationError(
            `Odoo ${where} got no answer from ${this.url}: ${err.message}. Reads are retried; raise the timeout of the Odoo config node if Odoo is just slow.`,
            {
              code: err.timedOut ? 'ODOO_TIMEOUT' : 'ODOO_UNREACHABLE',
              system: 'odoo',
              retryable: true,
              details: { ...details, cause: err.code },
              cause: err,
            },
          ),
          repeatable: true,
        };
      }
      return { error: outcomeUnknown(where, this.url, err.message, details, err), repeatable: false };
    }
    if (err instanceof HttpStatusError) {
      const s = err.status;
      if (s === 503 || s === 429 || (readOnly && s >= 500)) {
        return {
          error: new IntegrationError(
            `Odoo ${where} answered HTTP ${s} (${err.bodySnippet || 'no body'}); Odoo or its proxy is overloaded or restarting. It will be retried.`,
            {
              code: 'ODOO_UNAVAILABLE',
              system: 'odoo',
              retryable: true,
              status: s,
              details,
              cause: err,
            },
          ),
          repeatable: true,
        };
      }
      if (s >= 500) return { error: outcomeUnknown(where, this.url, `HTTP ${s} ${err.bodySnippet}`, details, err), repeatable: false };
      if ((s === 303 || s === 302) && err.path.startsWith('/json/2/')) {
        return {
          error: new IntegrationError(
            `Odoo at ${this.url} does not speak JSON-2 (${where}: ${err.path} redirects to the login page, as Odoo 18 and older do). JSON-2 needs Odoo 19 or later: set the protocol of the Odoo config node to automatic or JSON-RPC.`,
            {
              code: 'ODOO_PROTOCOL_UNSUPPORTED',
              system: 'odoo',
              retryable: false,
              status: s,
              details,
              cause: err,
            },
          ),
          repeatable: false,
        };
      }
      if (s === 404) {
        return {
          error: new IntegrationError(
            `Odoo ${where}: ${err.path} does not exist at ${this.url} (HTTP 404). Check the URL of the Odoo config node and the protocol (JSON-2 needs Odoo 19+).`,
            {
              code: 'ODOO_NOT_FOUND',
              system: 'odoo',
              retryable: false,
              status: s,
              details,
              cause: err,
            },
          ),
          repeatable: false,
        };
      }
      return {
        error: new IntegrationError(`Odoo ${where} answered HTTP ${s} from ${err.path}: ${err.bodySnippet}. Check the URL of the Odoo config node.`, {
          code: 'ODOO_HTTP_ERROR',
          system: 'odoo',
          retryable: false,
          status: s,
          details,
          cause: err,
        }),
        repeatable: false,
      };
    }
    if (err instanceof ProtocolError) {
      return {
        error: new IntegrationError(`Odoo ${where}: ${err.message}. Is ${this.url} an Odoo server?`, {
          code: 'ODOO_BAD_RESPONSE',
          system: 'odoo',
          retryable: false,
          details,
          cause: err,
        }),
        repeatable: false,
      };
    }
    return {
      error: new IntegrationError(`Odoo ${where} failed: ${(err as Error)?.message ?? String(err)}`, {
        code: 'ODOO_ERROR',
        system: 'odoo',
        retryable: false,
        details,
        cause: err,
      }),
      repeatable: false,
    };
  }
}

function outcomeUnknown(where: string, url: string, why: string, details: Record<string, unknown>, cause: unknown): IntegrationError {
  return new IntegrationError(
    `Odoo ${where} was sent to ${url} but its answer was lost (${why}); Odoo may have applied it. ` +
      'It is not retried automatically: check the record in Odoo before sending it again.',
    { code: 'ODOO_OUTCOME_UNKNOWN', system: 'odoo', retryable: false, details, cause },
  );
}
