/**
 * The three ways to talk to Odoo, behind one interface:
 *  - XML-RPC: POST /xmlrpc/2/common (version, authenticate) and /xmlrpc/2/object (execute_kw), Odoo 8–19;
 *  - JSON-RPC: POST /jsonrpc {"method":"call","params":{service, method, args}}, same services, Odoo 8–19;
 *  - JSON-2: POST /json/2/<model>/<method>, named arguments, `Authorization: bearer <API key>`, Odoo 19+.
 * Each turns an answer into a value or an OdooFaultInfo; retry policy lives in the client.
 */
import type { HttpResponse, HttpTransport } from './http';
import { OdooFault, faultFromJson, faultFromXmlRpc, isMarshalNoneFault, type OdooFaultInfo } from './errors';
import { parseMethodResponse, serializeMethodCall, XmlRpcParseError } from './xmlrpc';

export type ProtocolName = 'xmlrpc' | 'jsonrpc' | 'json2';

export interface VersionInfo {
  server_version: string;
  server_version_info: Array<number | string>;
  server_serie: string;
  protocol_version: number;
  [key: string]: unknown;
}

export interface Credentials {
  db: string;
  username: string;
  /** API key or password: both work for RPC calls. */
  secret: string;
}

/**
 * The answer of one call: a value, or a fault Odoo raised (after which nothing was committed). `none` marks a
 * method that returned None: Odoo ≤ 18 answers it over JSON-RPC without a `result` key and over XML-RPC with
 * the "cannot marshal None" fault, both after committing, so both are the success they are.
 */
export type CallOutcome = { ok: true; value: unknown; none?: boolean } | { ok: false; fault: OdooFaultInfo };

/** An HTTP answer that is not Odoo's: a proxy error, a 5xx, a login page. */
export class HttpStatusError extends Error {
  constructor(
    readonly status: number,
    readonly path: string,
    readonly bodySnippet: string,
  ) {
    super(`HTTP ${status} from ${path}${bodySnippet ? `: ${bodySnippet}` : ''}`);
    this.name = 'HttpStatusError';
  }
}

/** An answer that could not be read as the protocol says (truncated, HTML, garbage). */
export class ProtocolError extends Error {
  constructor(
    message: string,
    readonly path: string,
  ) {
    super(message);
    this.name = 'ProtocolError';
  }
}

export interface Protocol {
  readonly name: ProtocolName;
  version(): Promise<VersionInfo>;
  /** uid, or false when Odoo rejects the login. JSON-2 has no login step: it returns 0. */
  authenticate(creds: Credentials): Promise<number | false>;
  execute(creds: Credentials, uid: number, model: string, method: string, args: unknown[], kwargs: Record<string, unknown>): Promise<CallOutcome>;
}

function snippet(body: Buffer): string {
  return body.subarray(0, 200).toString('utf8').replace(/\s+/g, ' ').trim();
}

function checkStatus(res: HttpResponse, path: string): void {
  if (res.status >= 200 && res.status < 300) return;
  throw new HttpStatusError(res.status, path, snippet(res.body));
}

// ------------------------------------------------------------------------------------ XML-RPC and JSON-RPC

/**
 * XML-RPC and JSON-RPC reach the same two services (common: version, authenticate; object: execute_kw) with the
 * same arguments; only the envelope of one call differs, and each protocol writes just that.
 */
abstract class RpcProtocol implements Protocol {
  abstract readonly name: ProtocolName;
  constructor(protected readonly http: HttpTransport) {}

  /** One call of `method` on a service, with positional params, as this protocol sends and reads it. */
  protected abstract call(service: 'common' | 'object', method: string, params: unknown[]): Promise<CallOutcome>;

  async version(): Promise<VersionInfo> {
    const out = await this.call('common', 'version', []);
    if (!out.ok) throw new OdooFault(out.fault);
    return out.value as VersionInfo;
  }

  async authenticate(c: Credentials): Promise<number | false> {
    const out = await this.call('common', 'authenticate', [c.db, c.username, c.secret, {}]);
    if (!out.ok) throw new OdooFault(out.fault);
    return typeof out.value === 'number' && out.value > 0 ? out.value : false;
  }

  execute(c: Credentials, uid: number, model: string, method: string, args: unknown[], kwargs: Record<string, unknown>): Promise<CallOutcome> {
    return this.call('object', 'execute_kw', [c.db, uid, c.secret, model, method, args, kwargs]);
  }
}

/** POST /xmlrpc/2/<service> with an XML methodCall. */
export class XmlRpcProtocol extends RpcProtocol {
  readonly name = 'xmlrpc' as const;

  protected override async call(service: 'common' | 'object', method: string, params: unknown[]): Promise<CallOutcome> {
    const path = `/xmlrpc/2/${service}`;
    const res = await this.http.request('POST', path, serializeMethodCall(method, params), { 'Content-Type': 'text/xml; charset=utf-8' });
    checkStatus(res, path);
    let parsed;
    try {
      parsed = parseMethodResponse(res.body.toString('utf8'));
    } catch (err) {
      if (err instanceof XmlRpcParseError) throw new ProtocolError(`unreadable XML-RPC answer from ${path} (${err.message}): ${snippet(res.body)}`, path);
      throw err;
    }
    if (parsed.ok) return { ok: true, value: parsed.value };
    const fault = faultFromXmlRpc(parsed.fault.faultCode, parsed.fault.faultString);
    // Odoo ran the method and committed, then could not encode its None result: that is a success.
    if (isMarshalNoneFault(fault)) return { ok: true, value: null, none: true };
    return { ok: false, fault };
  }
}

/** POST /jsonrpc {"method": "call", "params": {service, method, args}}. */
export class JsonRpcProtocol extends RpcProtocol {
  readonly name = 'jsonrpc' as const;
  private nextId = 1;

  protected override async call(service: 'common' | 'object', method: string, args: unknown[]): Promise<CallOutcome> {
    const path = '/jsonrpc';
    const body = JSON.stringify({ jsonrpc: '2.0', method: 'call', params: { service, method, args }, id: this.nextId++ });
    const res = await this.http.request('POST', path, body, { 'Content-Type': 'application/json' });
    checkStatus(res, path);
    let parsed: { result?: unknown; error?: unknown };
    try {
      parsed = JSON.parse(res.body.toString('utf8')) as typeof parsed;
    } catch {
      throw new ProtocolError(`unreadable JSON-RPC answer from ${path}: ${snippet(res.body)}`, path);
    }
    if (parsed && typeof parsed === 'object' && 'error' in parsed && parsed.error) return { ok: false, fault: faultFromJson(parsed.error) };
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) {
      throw new ProtocolError(`JSON-RPC answer from ${path} is not a JSON-RPC object: ${snippet(res.body)}`, path);
    }
    // Odoo's JsonRPCDispatcher._response sets `result` only when it is not None: a method that returned
    // None (after committing) answers {"jsonrpc": "2.0", "id": N}. That envelope is the success it is.
    if (!('result' in parsed)) {
      const envelope = parsed as { jsonrpc?: unknown; id?: unknown };
      if (envelope.jsonrpc === '2.0' && 'id' in envelope) return { ok: true, value: null, none: true };
      throw new ProtocolError(`JSON-RPC answer from ${path} has neither result nor error: ${snippet(res.body)}`, path);
    }
    if (parsed.result === null) return { ok: true, value: null, none: true };
    return { ok: true, value: parsed.result };
  }
}

// ------------------------------------------------------------------------------------------------- JSON-2

/**
 * JSON-2 takes arguments by name. execute_kw's positional arguments of the usual methods map onto their
 * Python parameter names; `ids` are the first positional argument of record methods.
 */
const POSITIONAL_NAMES: Record<string, { records: boolean; names: string[] }> = {
  search: { records: false, names: ['domain', 'offset', 'limit', 'order'] },
  search_read: { records: false, names: ['domain', 'fields', 'offset', 'limit', 'order'] },
  search_count: { records: false, names: ['domain', 'limit'] },
  search_fetch: { records: false, names: ['domain', 'field_names', 'offset', 'limit', 'order'] },
  read: { records: true, names: ['fields', 'load'] },
  read_group: { records: false, names: ['domain', 'fields', 'groupby', 'offset', 'limit', 'orderby', 'lazy'] },
  create: { records: false, names: ['vals_list'] },
  write: { records: true, names: ['vals'] },
  unlink: { records: true, names: [] },
  copy: { records: true, names: ['default'] },
  fields_get: { records: false, names: ['allfields', 'attributes'] },
  default_get: { records: false, names: ['fields_list'] },
  name_search: { records: false, names: ['name', 'domain', 'operator', 'limit'] },
  name_create: { records: false, names: ['name'] },
  message_post: { records: true, names: [] },
  check_access_rights: { records: false, names: ['operation', 'raise_exception'] },
  context_get: { records: false, names: [] },
};

const isIdList = (v: unknown): v is number[] => Array.isArray(v) && v.every((x) => Number.isInteger(x));

export class Json2ArgumentError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'Json2ArgumentError';
  }
}

/** execute_kw's (args, kwargs) as a JSON-2 body: ids + named parameters + context. */
function json2Body(model: string, method: string, args: unknown[], kwargs: Record<string, unknown>): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  const known = POSITIONAL_NAMES[method];
  let rest = args;
  if (known?.records || (!known && rest.length > 0 && (isIdList(rest[0]) || Number.isInteger(rest[0])))) {
    body.ids = Number.isInteger(rest[0]) ? [rest[0]] : (rest[0] ?? []);
    rest = rest.slice(1);
  }
  if (rest.length > 0) {
    if (!known || rest.length > known.names.length) {
      throw new Json2ArgumentError(
        `JSON-2 passes arguments by name and ${model}.${method} was given ${rest.length} positional argument(s) after the ids; pass them as kwargs`,
      );
    }
    rest.forEach((v, i) => {
      body[known.names[i]] = v;
    });
  }
  // Odoo 17+'s create takes a list; a single dict still works but JSON-2 would answer [id] either way.
  Object.assign(body, kwargs);
  return body;
}

export class Json2Protocol implements Protocol {
  readonly name = 'json2' as const;
  constructor(private readonly http: HttpTransport) {}

  async version(): Promise<VersionInfo> {
    const path = '/web/version';
    const res = await this.http.request('GET', path);
    checkStatus(res, path);
    try {
      const v = JSON.parse(res.body.toString('utf8')) as { version?: string; version_info?: Array<number | string> };
      const info = v.version_info ?? [];
      return {
        server_version: String(v.version ?? info.slice(0, 2).join('.')),
        server_version_info: info,
        server_serie: info.slice(0, 2).join('.'),
        protocol_version: 1,
      };
    } catch {
      throw new ProtocolError(`unreadable answer from ${path}: ${snippet(res.body)}`, path);
    }
  }

  /** JSON-2 authenticates every call with the bearer key; checking it costs one cheap call. */
  async authenticate(c: Credentials): Promise<number | false> {
    const out = await this.execute(c, 0, 'res.users', 'context_get', [], {});
    if (!out.ok) {
      if (/Unauthorized|AccessDenied/.test(out.fault.name)) return false;
      throw new OdooFault(out.fault);
    }
    const uid = (out.value as { uid?: unknown } | null)?.uid;
    return typeof uid === 'number' ? uid : 0;
  }

  async execute(c: Credentials, _uid: number, model: string, method: string, args: unknown[], kwargs: Record<string, unknown>): Promise<CallOutcome> {
    const path = `/json/2/${encodeURIComponent(model)}/${encodeURIComponent(method)}`;
    const body = JSON.stringify(json2Body(model, method, args, kwargs));
    const res = await this.http.request('POST', path, body, {
      'Content-Type': 'application/json; charset=utf-8',
      Authorization: `bearer ${c.secret}`,
      ...(c.db ? { 'X-Odoo-Database': c.db } : {}),
    });
    const text = res.body.toString('utf8');
    const json = (() => {
      try {
        return { ok: true as const, value: JSON.parse(text) as unknown };
      } catch {
        return { ok: false as const };
      }
    })();
    if (res.status >= 200 && res.status < 300) {
      if (!json.ok) throw new ProtocolError(`unreadable JSON-2 answer from ${path}: ${snippet(res.body)}`, path);
      return { ok: true, value: json.value };
    }
    const isOdooError =
      json.ok && (typeof json.value === 'string' || (json.value !== null && typeof json.value === 'object' && 'message' in (json.value as object)));
    // A 4xx/5xx with Odoo's JSON error object is Odoo's verdict; anything else came from a proxy or a crash.
    if (isOdooError && res.status <= 500) return { ok: false, fault: faultFromJson(json.value, res.status) };
    throw new HttpStatusError(res.status, path, snippet(res.body));
  }
}
