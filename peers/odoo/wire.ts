/**
 * How the peer writes its answers, byte for byte the way Odoo does:
 *  - XML-RPC as Python's xmlrpc.client.Marshaller (one tag per line, `<int>`, `<string>`, `<boolean>`,
 *    `<double>` with Python's repr, `allow_none=False`, so None raises "cannot marshal None unless
 *    allow_none is enabled"), wrapped by odoo's dumps(); faults per rpc.py xmlrpc_handle_exception_int;
 *  - JSON-RPC envelopes with `error: {code: 200, message: "Odoo Server Error", data: {name, debug, message,
 *    arguments, context}}`;
 *  - JSON-2 errors as a 4xx/5xx with `{name, message, arguments, context, debug}`.
 * Records that the store tagged as cacheable are serialised once per version (the bench needs a peer
 * that is not the bottleneck).
 */
import { Readable } from 'node:stream';
import { PyException, TypeErr, traceback } from './python';
import { CACHE_KEY } from './store';

const MAXINT = 2 ** 31 - 1;
const MININT = -(2 ** 31);

const cache = new Map<string, string>();
const CACHE_LIMIT = 400000;

function remember(key: string, value: string): string {
  if (cache.size >= CACHE_LIMIT) cache.clear();
  cache.set(key, value);
  return value;
}

function escape(s: string): string {
  // eslint-disable-next-line no-control-regex
  const clean = s.replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, ''); // Odoo's dump_unicode strips control chars
  if (!/[&<>]/.test(clean)) return clean;
  return clean.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function pyFloat(v: number): string {
  if (Number.isInteger(v) && Math.abs(v) < 1e16) return `${v}.0`;
  return String(v);
}

function dump(v: unknown, out: string[]): void {
  if (v === null || v === undefined) throw TypeErr('cannot marshal None unless allow_none is enabled');
  switch (typeof v) {
    case 'boolean':
      out.push(`<value><boolean>${v ? 1 : 0}</boolean></value>\n`);
      return;
    case 'number':
      if (Number.isInteger(v)) {
        if (v > MAXINT || v < MININT) throw new PyException('builtins.OverflowError', 'int exceeds XML-RPC limits', 'builtin');
        out.push(`<value><int>${v}</int></value>\n`);
      } else out.push(`<value><double>${pyFloat(v)}</double></value>\n`);
      return;
    case 'string':
      out.push(`<value><string>${escape(v)}</string></value>\n`);
      return;
    default:
      break;
  }
  if (Array.isArray(v)) {
    out.push('<value><array><data>\n');
    for (const item of v) dump(item, out);
    out.push('</data></array></value>\n');
    return;
  }
  if (Buffer.isBuffer(v)) {
    out.push(`<value><string>${escape(v.toString('utf8'))}</string></value>\n`); // Odoo dumps bytes as str
    return;
  }
  const key = (v as Record<symbol, string>)[CACHE_KEY];
  if (key) {
    const hit = cache.get(`x:${key}`);
    if (hit) {
      out.push(hit);
      return;
    }
    const part: string[] = [];
    dumpStruct(v as Record<string, unknown>, part);
    out.push(remember(`x:${key}`, part.join('')));
    return;
  }
  dumpStruct(v as Record<string, unknown>, out);
}

function dumpStruct(v: Record<string, unknown>, out: string[]): void {
  out.push('<value><struct>\n');
  for (const [k, x] of Object.entries(v)) {
    out.push(`<member>\n<name>${escape(k)}</name>\n`);
    dump(x, out);
    out.push('</member>\n');
  }
  out.push('</struct></value>\n');
}

function wrap(inner: string): string {
  return `<?xml version="1.0"?>\n<methodResponse>\n${inner}\n</methodResponse>\n`;
}

/** A successful XML-RPC answer; throws TypeError for None (the caller turns it into a fault). */
export function xmlResponse(value: unknown): string {
  const out: string[] = ['<params>\n<param>\n'];
  dump(value, out);
  out.push('</param>\n</params>\n');
  return wrap(out.join(''));
}

export function xmlFault(code: number | string, faultString: string): string {
  const out: string[] = ['<fault>\n'];
  dumpStruct({ faultCode: code, faultString }, out);
  out.push('</fault>\n');
  return wrap(out.join(''));
}

/** An exception as /xmlrpc/2 reports it (int codes) or as /xmlrpc/ (v1, string codes) does. */
export function xmlFaultFor(err: unknown, v1 = false): string {
  const exc = asPy(err);
  if (v1) {
    switch (exc.kind) {
      case 'missing':
        return xmlFault(`warning -- MissingError\n\n${exc.message}`, '');
      case 'access_error':
        return xmlFault(`warning -- AccessError\n\n${exc.message}`, '');
      case 'access_denied':
        return xmlFault('AccessDenied', exc.message);
      case 'user':
      case 'validation':
        return xmlFault(`warning -- UserError\n\n${exc.message}`, '');
      default:
        return xmlFault(exc.message, traceback(exc));
    }
  }
  return xmlFault(exc.faultCode, exc.faultCode === 1 ? traceback(exc) : exc.message);
}

function asPy(err: unknown): PyException {
  if (err instanceof PyException) return err;
  const e = err as Error;
  return new PyException(`builtins.${e?.name && e.name !== 'Error' ? e.name : 'Exception'}`, e?.message ?? String(err), 'builtin');
}

/** JSON text of a result, reusing cached record serialisations. */
export function jsonValue(v: unknown): string {
  if (v === undefined || v === null) return 'null';
  if (Array.isArray(v)) {
    let s = '[';
    for (let i = 0; i < v.length; i++) s += (i ? ',' : '') + jsonValue(v[i]);
    return `${s}]`;
  }
  if (typeof v === 'object' && !Buffer.isBuffer(v)) {
    const key = (v as Record<symbol, string>)[CACHE_KEY];
    if (key) return cache.get(`j:${key}`) ?? remember(`j:${key}`, JSON.stringify(v));
  }
  return JSON.stringify(v);
}

export function jsonRpcError(err: unknown): Record<string, unknown> {
  const exc = asPy(err);
  const debug = exc.kind === 'access_denied' ? '' : traceback(exc, 'dispatch_rpc');
  return {
    code: 200,
    message: 'Odoo Server Error',
    data: { name: exc.pyName, debug, message: exc.message, arguments: [exc.message], context: {} },
  };
}

export function json2Error(err: unknown): { status: number; body: Record<string, unknown> } {
  const exc = asPy(err);
  return {
    status: exc.json2Status,
    body: {
      name: exc.pyName,
      message: exc.message,
      arguments: [exc.message, exc.json2Status],
      context: {},
      debug: exc.kind === 'access_denied' ? '' : traceback(exc, 'web_json_2_rpc'),
    },
  };
}

/** Parses an XML-RPC <methodCall> with the `xmlrpc` package (independent of the client's own parser). */
export function parseXmlCall(body: Buffer): Promise<{ method: string; params: unknown[] }> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const Deserializer = require('xmlrpc/lib/deserializer') as new () => {
    deserializeMethodCall(s: Readable, cb: (e: Error | null, m?: string, p?: unknown[]) => void): void;
  };
  return new Promise((resolve, reject) => {
    new Deserializer().deserializeMethodCall(Readable.from([body]), (err, method, params) => {
      if (err) reject(err);
      else resolve({ method: method as string, params: (params ?? []).map(fromXmlrpcPackage) });
    });
  });
}

/** The xmlrpc package decodes dateTime.iso8601 to Date; Odoo (use_datetime=True) would see a datetime. */
function fromXmlrpcPackage(v: unknown): unknown {
  if (v instanceof Date) return v.toISOString().slice(0, 19).replace('T', ' ');
  if (Array.isArray(v)) return v.map(fromXmlrpcPackage);
  if (v && typeof v === 'object' && !Buffer.isBuffer(v)) {
    return Object.fromEntries(Object.entries(v as Record<string, unknown>).map(([k, x]) => [k, fromXmlrpcPackage(x)]));
  }
  return v;
}
