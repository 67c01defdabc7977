/**
 * The Python side of the Odoo peer: Odoo's exception classes (with the XML-RPC fault code, JSON-2 status
 * and qualified name Odoo reports for each), Python's repr() of values as they appear in Odoo's messages,
 * a fake traceback for application errors, and a parser for the Python literals Odoo stores in text
 * fields (e.g. an automation rule's filter_domain).
 */

export type PyKind = 'user' | 'missing' | 'validation' | 'access_error' | 'access_denied' | 'redirect' | 'builtin' | 'http';

/** An exception raised inside the peer's "Odoo"; the wire layer renders it per protocol. */
export class PyException extends Error {
  constructor(
    /** Fully qualified Python class: odoo.exceptions.MissingError, builtins.ValueError, psycopg2.errors.… */
    readonly pyName: string,
    message: string,
    readonly kind: PyKind,
    /** JSON-2 status for HTTP-level errors (werkzeug). */
    readonly httpStatus?: number,
  ) {
    super(message);
    this.name = pyName;
  }

  /** XML-RPC /xmlrpc/2 fault code (odoo/addons/base/controllers/rpc.py xmlrpc_handle_exception_int). */
  get faultCode(): number {
    switch (this.kind) {
      case 'redirect':
      case 'user':
      case 'missing':
      case 'validation':
        return 2;
      case 'access_denied':
        return 3;
      case 'access_error':
        return 4;
      default:
        return 1;
    }
  }

  /** JSON-2 status: UserError.http_code and friends, werkzeug codes, else 500. */
  get json2Status(): number {
    if (this.httpStatus) return this.httpStatus;
    switch (this.kind) {
      case 'access_denied':
        return 401;
      case 'access_error':
        return 403;
      case 'missing':
        return 404;
      case 'user':
      case 'validation':
      case 'redirect':
        return 422;
      default:
        return 500;
    }
  }

  /** The class name as a traceback's last line shows it (builtins unqualified). */
  get tracebackName(): string {
    return this.pyName.startsWith('builtins.') ? this.pyName.slice(9) : this.pyName;
  }
}

export const UserError = (m: string) => new PyException('odoo.exceptions.UserError', m, 'user');
const MissingError = (m: string) => new PyException('odoo.exceptions.MissingError', m, 'missing');
export const ValidationError = (m: string) => new PyException('odoo.exceptions.ValidationError', m, 'validation');
export const AccessError = (m: string) => new PyException('odoo.exceptions.AccessError', m, 'access_error');
export const AccessDenied = (m = 'Access Denied') => new PyException('odoo.exceptions.AccessDenied', m, 'access_denied');
export const ValueErr = (m: string) => new PyException('builtins.ValueError', m, 'builtin');
export const TypeErr = (m: string) => new PyException('builtins.TypeError', m, 'builtin');
export const AttributeErr = (m: string) => new PyException('builtins.AttributeError', m, 'builtin');
export const KeyErr = (m: string) => new PyException('builtins.KeyError', m, 'builtin');
export const PgError = (cls: string, m: string) => new PyException(`psycopg2.errors.${cls}`, m, 'builtin');
export const HttpErr = (cls: string, status: number, m: string) => new PyException(`werkzeug.exceptions.${cls}`, m, 'http', status);

/** "Record does not exist or has been deleted." as Odoo 17/18 word it. */
export function missingRecord(model: string, ids: number[], uid: number): PyException {
  return MissingError(`Record does not exist or has been deleted.\n(Record: ${model}(${ids.join(', ')}${ids.length === 1 ? ',' : ''}), User: ${uid})`);
}

/** A plausible Odoo traceback ending in the exception line, as XML-RPC fault code 1 carries it. */
export function traceback(exc: PyException | Error, where = 'execute_kw'): string {
  const name = exc instanceof PyException ? exc.tracebackName : `${exc.name}`;
  return [
    'Traceback (most recent call last):',
    '  File "/usr/lib/python3/dist-packages/odoo/addons/base/controllers/rpc.py", line 138, in xmlrpc_2',
    '    response = self._xmlrpc(service)',
    '  File "/usr/lib/python3/dist-packages/odoo/addons/base/controllers/rpc.py", line 110, in _xmlrpc',
    '    result = dispatch_rpc(service, method, params)',
    '  File "/usr/lib/python3/dist-packages/odoo/http.py", line 388, in dispatch_rpc',
    '    return dispatch(method, params)',
    '  File "/usr/lib/python3/dist-packages/odoo/service/model.py", line 39, in dispatch',
    `    res = ${where}(db, uid, *params[3:])`,
    `${name}: ${exc.message}`,
    '',
  ].join('\n');
}

// --------------------------------------------------------------------------------------------- repr()

export function pyRepr(v: unknown): string {
  if (v === null || v === undefined) return 'None';
  if (v === true) return 'True';
  if (v === false) return 'False';
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : String(v).includes('.') || String(v).includes('e') ? String(v) : `${v}.0`;
  if (typeof v === 'string') {
    const quote = v.includes("'") && !v.includes('"') ? '"' : "'";
    const body = v
      .replace(/\\/g, '\\\\')
      .replace(/\n/g, '\\n')
      .replace(quote === "'" ? /'/g : /"/g, `\\${quote}`);
    return `${quote}${body}${quote}`;
  }
  if (Array.isArray(v)) return `[${v.map(pyRepr).join(', ')}]`;
  if (typeof v === 'object')
    return `{${Object.entries(v as Record<string, unknown>)
      .map(([k, x]) => `${pyRepr(k)}: ${pyRepr(x)}`)
      .join(', ')}}`;
  return String(v);
}

/** A leaf as Odoo prints it: a tuple. */
export function leafRepr(leaf: unknown[]): string {
  return `(${leaf.map(pyRepr).join(', ')})`;
}

// ------------------------------------------------------------------------------------ Python literals

/** Parses a Python literal (lists, tuples, dicts, strings, numbers, True/False/None), as ast.literal_eval. */
export function parsePyLiteral(text: string): unknown {
  let i = 0;
  const s = text;
  const ws = () => {
    while (i < s.length && /\s/.test(s[i])) i++;
  };
  const fail = (what: string): never => {
    throw ValueErr(`malformed node or string on line 1: ${what} at ${i} in ${pyRepr(text)}`);
  };
  const value = (): unknown => {
    ws();
    const c = s[i];
    if (c === '[' || c === '(') {
      const close = c === '[' ? ']' : ')';
      i++;
      const out: unknown[] = [];
      for (;;) {
        ws();
        if (s[i] === close) {
          i++;
          return out;
        }
        out.push(value());
        ws();
        if (s[i] === ',') i++;
        else if (s[i] !== close) fail(`expected , or ${close}`);
      }
    }
    if (c === '{') {
      i++;
      const out: Record<string, unknown> = {};
      for (;;) {
        ws();
        if (s[i] === '}') {
          i++;
          return out;
        }
        const k = value();
        ws();
        if (s[i] !== ':') fail('expected :');
        i++;
        out[String(k)] = value();
        ws();
        if (s[i] === ',') i++;
        else if (s[i] !== '}') fail('expected , or }');
      }
    }
    if (c === "'" || c === '"') {
      const q = c;
      i++;
      let out = '';
      while (i < s.length && s[i] !== q) {
        if (s[i] === '\\') {
          i++;
          const e = s[i];
          out += e === 'n' ? '\n' : e === 't' ? '\t' : e;
        } else out += s[i];
        i++;
      }
      if (s[i] !== q) fail('unterminated string');
      i++;
      return out;
    }
    const m = /^(True|False|None|-?\d+(\.\d+)?([eE][-+]?\d+)?)/.exec(s.slice(i));
    if (!m) return fail('unexpected character');
    i += m[0].length;
    if (m[0] === 'True') return true;
    if (m[0] === 'False') return false;
    if (m[0] === 'None') return null;
    return Number(m[0]);
  };
  const v = value();
  ws();
  if (i < s.length) fail('trailing characters');
  return v;
}

// --------------------------------------------------------------------------------------- json.dumps

/** A number that Python holds as a float (json.dumps writes 5.0, not 5). */
export class PyFloat {
  constructor(readonly value: number) {}
}

function pyFloatRepr(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (!Number.isFinite(v)) return v > 0 ? 'Infinity' : '-Infinity';
  if (Number.isInteger(v) && Math.abs(v) < 1e16) return `${v}.0`;
  // JS and Python agree on the shortest digits; Python pads the exponent to two digits.
  return String(v).replace(/e([+-])(\d)$/, 'e$10$2');
}

function pyJsonString(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0) as number;
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (ch === '\b') out += '\\b';
    else if (ch === '\f') out += '\\f';
    else if (c < 0x20 || c > 0x7e) {
      // ensure_ascii: \uXXXX, astral characters as a surrogate pair.
      for (let i = 0; i < ch.length; i++) out += `\\u${ch.charCodeAt(i).toString(16).padStart(4, '0')}`;
    } else out += ch;
  }
  return `${out}"`;
}

/** json.dumps(value, sort_keys=True) with Python's defaults: ", " and ": " separators, ensure_ascii. */
export function pyJsonDumps(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (v === true) return 'true';
  if (v === false) return 'false';
  if (v instanceof PyFloat) return pyFloatRepr(v.value);
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : pyFloatRepr(v);
  if (typeof v === 'string') return pyJsonString(v);
  if (Array.isArray(v)) return `[${v.map(pyJsonDumps).join(', ')}]`;
  const entries = Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, x]) => `${pyJsonString(k)}: ${pyJsonDumps(x)}`).join(', ')}}`;
}
