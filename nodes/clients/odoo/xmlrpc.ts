/**
 * A small, fast XML-RPC codec for Odoo's `/xmlrpc/2/*` endpoints.
 *
 * Why not the `xmlrpc` package: it parses responses through a SAX parser that fires an event per tag and
 * spends most of a large `search_read` in that machinery. Odoo's answers use a handful of tags, so a
 * hand-written scanner over the response string (indexOf and charCode checks, no regular expression per
 * value) parses the same bytes several times faster. It accepts what any XML-RPC server writes: values
 * with or without a type tag, whitespace between tags, `<i4>`, `<i8>`, `<nil/>`, `<base64>`,
 * `<dateTime.iso8601>`, empty `<data/>` and entities.
 */

export interface XmlRpcFault {
  faultCode: number | string;
  faultString: string;
}

export type XmlRpcResult = { ok: true; value: unknown } | { ok: false; fault: XmlRpcFault };

export class XmlRpcParseError extends Error {
  constructor(
    message: string,
    readonly position: number,
  ) {
    super(`${message} at character ${position}`);
    this.name = 'XmlRpcParseError';
  }
}

// ----------------------------------------------------------------------------------------------- writing

const XML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;' };
// XML 1.0 forbids control characters other than tab, newline and carriage return (Odoo strips them too).
// eslint-disable-next-line no-control-regex
const CONTROL_CHARS = /[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g;

function escapeXml(text: string): string {
  return text.replace(/[&<>]/g, (c) => XML_ESCAPES[c]).replace(CONTROL_CHARS, '');
}

const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;

/** A JS Date as Odoo writes datetimes: "YYYY-MM-DD HH:MM:SS" in UTC. */
export function odooDatetime(d: Date): string {
  return d.toISOString().slice(0, 19).replace('T', ' ');
}

function writeValue(value: unknown, out: string[]): void {
  if (value === null || value === undefined) {
    out.push('<value><nil/></value>');
    return;
  }
  switch (typeof value) {
    case 'string':
      out.push('<value><string>', escapeXml(value), '</string></value>');
      return;
    case 'boolean':
      out.push(value ? '<value><boolean>1</boolean></value>' : '<value><boolean>0</boolean></value>');
      return;
    case 'number':
      if (Number.isInteger(value)) {
        out.push(value >= INT32_MIN && value <= INT32_MAX ? `<value><int>${value}</int></value>` : `<value><i8>${value}</i8></value>`);
      } else if (Number.isFinite(value)) {
        out.push(`<value><double>${value}</double></value>`);
      } else {
        throw new TypeError(`cannot send ${value} over XML-RPC`);
      }
      return;
    case 'bigint':
      out.push(`<value><i8>${value.toString()}</i8></value>`);
      return;
    case 'object':
      break;
    default:
      throw new TypeError(`cannot send a ${typeof value} over XML-RPC`);
  }
  if (Array.isArray(value)) {
    out.push('<value><array><data>');
    for (const item of value) writeValue(item, out);
    out.push('</data></array></value>');
    return;
  }
  if (Buffer.isBuffer(value)) {
    out.push('<value><base64>', value.toString('base64'), '</base64></value>');
    return;
  }
  if (value instanceof Date) {
    // Odoo reads dates and datetimes as strings in its own format, never as dateTime.iso8601.
    out.push('<value><string>', odooDatetime(value), '</string></value>');
    return;
  }
  out.push('<value><struct>');
  for (const [key, member] of Object.entries(value as Record<string, unknown>)) {
    if (member === undefined) continue;
    out.push('<member><name>', escapeXml(key), '</name>');
    writeValue(member, out);
    out.push('</member>');
  }
  out.push('</struct></value>');
}

export function serializeMethodCall(method: string, params: unknown[]): string {
  const out: string[] = ['<?xml version="1.0"?><methodCall><methodName>', escapeXml(method), '</methodName><params>'];
  for (const p of params) {
    out.push('<param>');
    writeValue(p, out);
    out.push('</param>');
  }
  out.push('</params></methodCall>');
  return out.join('');
}

// ----------------------------------------------------------------------------------------------- reading

const ENTITY = /&(#x[0-9a-fA-F]+|#[0-9]+|amp|lt|gt|quot|apos);/g;
const NAMED: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function unescapeXml(text: string): string {
  if (text.indexOf('&') === -1) return text;
  return text.replace(ENTITY, (_m, e: string) => {
    if (e.charCodeAt(0) === 35 /* # */) {
      const code = e.charCodeAt(1) === 120 /* x */ ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10);
      return String.fromCodePoint(code);
    }
    return NAMED[e];
  });
}

const enum C {
  LT = 60, // <
  GT = 62, // >
  SLASH = 47,
  SPACE = 32,
  TAB = 9,
  LF = 10,
  CR = 13,
}

class Scanner {
  i = 0;
  constructor(readonly s: string) {}

  fail(message: string): never {
    throw new XmlRpcParseError(message, this.i);
  }

  ws(): void {
    const s = this.s;
    let i = this.i;
    for (;;) {
      const c = s.charCodeAt(i);
      if (c === C.SPACE || c === C.LF || c === C.CR || c === C.TAB) i++;
      else break;
    }
    this.i = i;
  }

  /** Consumes `tag` (e.g. "<value>") after optional whitespace, or fails. */
  expect(tag: string): void {
    this.ws();
    if (!this.s.startsWith(tag, this.i)) this.fail(`expected ${tag}`);
    this.i += tag.length;
  }

  /** Consumes `tag` after optional whitespace when it is there. */
  accept(tag: string): boolean {
    this.ws();
    if (this.s.startsWith(tag, this.i)) {
      this.i += tag.length;
      return true;
    }
    return false;
  }

  /** Text up to the next '<', which must open `close`; both are consumed. */
  textUntil(close: string): string {
    const end = this.s.indexOf(close, this.i);
    if (end === -1) this.fail(`expected ${close}`);
    const text = this.s.slice(this.i, end);
    this.i = end + close.length;
    return text;
  }

  /** Character data up to `close` (entities decoded, CDATA sections kept verbatim); consumes `close`. */
  chars(close: string): string {
    const s = this.s;
    let out = '';
    for (;;) {
      const lt = s.indexOf('<', this.i);
      if (lt === -1) this.fail(`expected ${close}`);
      if (s.startsWith('<![CDATA[', lt)) {
        const end = s.indexOf(']]>', lt + 9);
        if (end === -1) this.fail('unterminated CDATA');
        out += unescapeXml(s.slice(this.i, lt)) + s.slice(lt + 9, end);
        this.i = end + 3;
        continue;
      }
      if (!s.startsWith(close, lt)) {
        this.i = lt;
        this.fail(`expected ${close}`);
      }
      out += unescapeXml(s.slice(this.i, lt));
      this.i = lt + close.length;
      return out;
    }
  }

  value(): unknown {
    this.ws();
    const s = this.s;
    if (s.startsWith('<value/>', this.i)) {
      this.i += 8;
      return '';
    }
    if (!s.startsWith('<value>', this.i)) this.fail('expected <value>');
    this.i += 7;
    const textStart = this.i;
    this.ws();
    if (s.charCodeAt(this.i) !== C.LT || s.startsWith('<![CDATA[', this.i)) {
      // Untyped value: a string up to </value> (whitespace included).
      this.i = textStart;
      return this.chars('</value>');
    }
    if (s.charCodeAt(this.i + 1) === C.SLASH) {
      // <value></value> or <value>  </value>: the raw text between is the string.
      const raw = s.slice(textStart, this.i);
      this.expect('</value>');
      return raw;
    }
    const nameEnd = this.tagNameEnd(this.i + 1);
    const tag = s.slice(this.i + 1, nameEnd);
    const selfClosing = s.charCodeAt(nameEnd) === C.SLASH;
    this.i = s.indexOf('>', nameEnd) + 1;
    if (this.i === 0) this.fail('unterminated tag');
    let result: unknown;
    if (selfClosing) {
      result = tag === 'nil' ? null : tag === 'string' ? '' : tag === 'array' ? [] : tag === 'struct' ? {} : this.fail(`empty <${tag}/>`);
    } else {
      switch (tag) {
        case 'string':
          result = this.chars('</string>');
          break;
        case 'int':
        case 'i4':
        case 'i8':
          result = this.integer(tag);
          break;
        case 'boolean': {
          const t = this.textUntil('</boolean>').trim();
          result = t === '1' || t === 'true';
          break;
        }
        case 'double': {
          result = parseFloat(this.textUntil('</double>'));
          break;
        }
        case 'nil':
          this.expect('</nil>');
          result = null;
          break;
        case 'array':
          result = this.array();
          break;
        case 'struct':
          result = this.struct();
          break;
        case 'base64':
          result = Buffer.from(this.textUntil('</base64>').replace(/\s+/g, ''), 'base64');
          break;
        case 'dateTime.iso8601':
          // Odoo never sends these (it writes datetimes as strings); other servers may: keep the text.
          result = this.textUntil('</dateTime.iso8601>').trim();
          break;
        default:
          this.fail(`unknown XML-RPC type <${tag}>`);
      }
    }
    this.expect('</value>');
    return result;
  }

  private tagNameEnd(from: number): number {
    const s = this.s;
    let i = from;
    for (;;) {
      const c = s.charCodeAt(i);
      if (c === C.GT || c === C.SLASH || c === C.SPACE || c === C.LF || c === C.TAB || c === C.CR || Number.isNaN(c)) return i;
      i++;
    }
  }

  private integer(tag: string): number {
    const s = this.s;
    let i = this.i;
    while (s.charCodeAt(i) === C.SPACE || s.charCodeAt(i) === C.LF) i++;
    let neg = false;
    let c = s.charCodeAt(i);
    if (c === 45 /* - */) {
      neg = true;
      i++;
    } else if (c === 43 /* + */) {
      i++;
    }
    let n = 0;
    let digits = 0;
    for (;;) {
      c = s.charCodeAt(i);
      if (c >= 48 && c <= 57) {
        n = n * 10 + (c - 48);
        i++;
        digits++;
      } else break;
    }
    if (!digits) this.fail(`bad <${tag}>`);
    while (s.charCodeAt(i) === C.SPACE || s.charCodeAt(i) === C.LF) i++;
    const close = `</${tag}>`;
    if (!s.startsWith(close, i)) {
      this.i = i;
      this.fail(`expected ${close}`);
    }
    this.i = i + close.length;
    return neg ? -n : n;
  }

  private array(): unknown[] {
    const out: unknown[] = [];
    if (this.accept('<data/>')) {
      this.expect('</array>');
      return out;
    }
    this.expect('<data>');
    for (;;) {
      this.ws();
      if (this.s.startsWith('</data>', this.i)) {
        this.i += 7;
        break;
      }
      out.push(this.value());
    }
    this.expect('</array>');
    return out;
  }

  private struct(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (;;) {
      this.ws();
      if (this.s.startsWith('</struct>', this.i)) {
        this.i += 9;
        return out;
      }
      this.expect('<member>');
      this.expect('<name>');
      const name = unescapeXml(this.textUntil('</name>'));
      out[name] = this.value();
      this.expect('</member>');
    }
  }
}

/** Parses a `<methodResponse>`: the single returned value, or the fault. */
export function parseMethodResponse(xml: string): XmlRpcResult {
  const sc = new Scanner(xml);
  const start = xml.indexOf('<methodResponse');
  if (start === -1) sc.fail('not an XML-RPC response (no <methodResponse>)');
  sc.i = xml.indexOf('>', start) + 1;
  if (sc.accept('<fault>')) {
    const fault = sc.value() as Partial<XmlRpcFault> | null;
    if (!fault || typeof fault !== 'object' || fault.faultString === undefined) return sc.fail('malformed <fault>');
    return { ok: false, fault: { faultCode: fault.faultCode ?? 0, faultString: String(fault.faultString) } };
  }
  sc.expect('<params>');
  if (sc.accept('</params>')) return { ok: true, value: null };
  sc.expect('<param>');
  const value = sc.value();
  sc.expect('</param>');
  return { ok: true, value };
}

/** Parses a `<methodCall>` into its name and parameters (used by the test peer and tests). */
export function parseMethodCall(xml: string): { method: string; params: unknown[] } {
  const sc = new Scanner(xml);
  const start = xml.indexOf('<methodCall');
  if (start === -1) sc.fail('not an XML-RPC call (no <methodCall>)');
  sc.i = xml.indexOf('>', start) + 1;
  sc.expect('<methodName>');
  const method = sc.textUntil('</methodName>').trim();
  const params: unknown[] = [];
  if (sc.accept('<params/>')) return { method, params };
  if (!sc.accept('<params>')) return { method, params };
  for (;;) {
    if (sc.accept('</params>')) break;
    sc.expect('<param>');
    params.push(sc.value());
    sc.expect('</param>');
  }
  return { method, params };
}
