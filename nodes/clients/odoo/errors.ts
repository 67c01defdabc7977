/**
 * Odoo's faults as the pack's typed errors. The three protocols report a failure differently:
 *  - XML-RPC (/xmlrpc/2): a <fault> with an int faultCode (1 application error with the Python traceback
 *    as faultString, 2 UserError and its subclasses MissingError / ValidationError, 3 AccessDenied,
 *    4 AccessError) and the exception message;
 *  - JSON-RPC (/jsonrpc): HTTP 200 with `error: {code: 200, message: "Odoo Server Error", data: {name,
 *    message, arguments, context, debug}}`, where `name` is the Python class, e.g. odoo.exceptions.AccessError;
 *  - JSON-2 (/json/2): a 4xx/5xx status with the same `{name, message, arguments, context, debug}` body.
 * All are reduced to an Odoo exception name and message, then to one code, whatever the transport.
 */
import { IntegrationError } from '../common/errors';

export interface OdooOperation {
  model?: string;
  method: string;
  ids?: unknown;
}

/** What an Odoo failure says, transport aside. */
export interface OdooFaultInfo {
  /** Python exception, fully qualified when known: odoo.exceptions.MissingError, builtins.ValueError … */
  name: string;
  message: string;
  /** XML-RPC faultCode or HTTP status, for the record. */
  protocolCode?: number | string;
  /** The server-side traceback, when Odoo sent one (kept out of the message). */
  debug?: string;
}

/** The marshalling fault Odoo ≤ 18 returns over XML-RPC for a method that returned None — after committing. */
const MARSHAL_NONE = 'cannot marshal None unless allow_none is enabled';

/** A fault as thrown by the protocol layer; the client turns it into an IntegrationError. */
export class OdooFault extends Error {
  constructor(readonly info: OdooFaultInfo) {
    super(`${info.name}: ${info.message}`);
    this.name = 'OdooFault';
  }
}

export function isMarshalNoneFault(info: OdooFaultInfo): boolean {
  return info.message.includes(MARSHAL_NONE) || (info.debug ?? '').includes(MARSHAL_NONE);
}

/** Reads the exception out of an XML-RPC fault (code + string, the string being a traceback for code 1). */
export function faultFromXmlRpc(faultCode: number | string, faultString: string): OdooFaultInfo {
  const code = typeof faultCode === 'string' && /^\d+$/.test(faultCode) ? Number(faultCode) : faultCode;
  switch (code) {
    case 3:
      return { name: 'odoo.exceptions.AccessDenied', message: faultString || 'Access Denied', protocolCode: code };
    case 4:
      return { name: 'odoo.exceptions.AccessError', message: faultString, protocolCode: code };
    case 2:
      return { name: userErrorName(faultString), message: faultString, protocolCode: code };
    default: {
      if (typeof code === 'string' && code !== '') {
        // The historical /xmlrpc/ (v1) endpoint: "warning -- MissingError\n\n<message>", "AccessDenied".
        const m = /^warning -- (\w+)\n\n([\s\S]*)$/.exec(code);
        if (m) return { name: `odoo.exceptions.${m[1] === 'Warning' ? 'UserError' : m[1]}`, message: m[2], protocolCode: code };
        if (code === 'AccessDenied') return { name: 'odoo.exceptions.AccessDenied', message: faultString || 'Access Denied', protocolCode: code };
      }
      const last = lastTracebackLine(faultString);
      return { name: last.name, message: last.message, protocolCode: code, debug: faultString };
    }
  }
}

/** Over XML-RPC, UserError, MissingError and ValidationError share code 2; the text tells them apart. */
function userErrorName(message: string): string {
  if (/^Record does not exist or has been deleted/.test(message) || (/\(Records?: [\w.]+\(/.test(message) && /does not exist/.test(message))) {
    return 'odoo.exceptions.MissingError';
  }
  if (/^The operation cannot be completed/.test(message)) return 'odoo.exceptions.ValidationError';
  return 'odoo.exceptions.UserError';
}

/** "ValueError: Invalid field …" from the end of a Python traceback. */
export function lastTracebackLine(text: string): { name: string; message: string } {
  const lines = text.split('\n');
  // The exception line is the last one at column 0 that looks like "Name: message" (the message may span lines).
  for (let i = lines.length - 1; i >= 0; i--) {
    const m = /^([A-Za-z_][\w.]*(?:Error|Exception|Denied|Warning|Fault|Exit|Interrupt|Iteration)?): ?(.*)$/.exec(lines[i]);
    if (m && !lines[i].startsWith(' ') && !/^(Traceback|File)\b/.test(lines[i])) {
      const name = m[1].includes('.') ? m[1] : `builtins.${m[1]}`;
      return { name, message: [m[2], ...lines.slice(i + 1)].join('\n').trim() };
    }
  }
  return { name: 'builtins.Exception', message: text.trim().split('\n').pop() ?? text };
}

/** The JSON-RPC `error` member or a JSON-2 error body. */
export function faultFromJson(error: unknown, httpStatus?: number): OdooFaultInfo {
  if (typeof error === 'string') {
    return { name: jsonStatusName(httpStatus), message: error, protocolCode: httpStatus };
  }
  const e = (error ?? {}) as { code?: number; message?: string; data?: Record<string, unknown>; name?: string; debug?: string; arguments?: unknown[] };
  const data = (e.data && typeof e.data === 'object' ? e.data : e) as { name?: string; message?: string; debug?: string; arguments?: unknown[] };
  const name = typeof data.name === 'string' && data.name ? data.name : jsonStatusName(httpStatus);
  const message =
    typeof data.message === 'string' && data.message
      ? data.message
      : Array.isArray(data.arguments) && typeof data.arguments[0] === 'string'
        ? data.arguments[0]
        : String(e.message ?? 'Odoo Server Error');
  return { name, message, protocolCode: httpStatus ?? e.code, debug: typeof data.debug === 'string' ? data.debug : undefined };
}

function jsonStatusName(status: number | undefined): string {
  switch (status) {
    case 401:
      return 'werkzeug.exceptions.Unauthorized';
    case 403:
      return 'odoo.exceptions.AccessError';
    case 404:
      return 'werkzeug.exceptions.NotFound';
    case 422:
      return 'odoo.exceptions.UserError';
    default:
      return 'builtins.Exception';
  }
}

function short(name: string): string {
  return name.slice(name.lastIndexOf('.') + 1);
}

function describeOp(op: OdooOperation): string {
  const ids = Array.isArray(op.ids) ? (op.ids.length > 10 ? `${op.ids.slice(0, 10).join(', ')}, … (${op.ids.length})` : op.ids.join(', ')) : op.ids;
  const on = op.model ? ` on ${op.model}` : '';
  const rec = ids !== undefined && ids !== '' ? ` (record${Array.isArray(op.ids) && op.ids.length === 1 ? '' : 's'} ${ids})` : '';
  return `Odoo ${op.method}${on}${rec}`;
}

/**
 * One Odoo failure as an IntegrationError: the code says what went wrong, the message names the
 * operation and the record and says what to do. Business faults are never retryable.
 */
export function odooError(info: OdooFaultInfo, op: OdooOperation, ctx: { db?: string; username?: string } = {}): IntegrationError {
  const what = describeOp(op);
  const text = info.message.trim();
  const make = (code: string, message: string, retryable = false) =>
    new IntegrationError(message, {
      code,
      system: 'odoo',
      retryable,
      status: typeof info.protocolCode === 'number' ? info.protocolCode : undefined,
      details: { model: op.model, method: op.method, ids: op.ids, odooError: info.name, odooMessage: text },
    });
  const name = short(info.name);

  if (name === 'AccessDenied' || name === 'Unauthorized' || name === 'SessionExpiredException') {
    return make(
      'ODOO_ACCESS_DENIED',
      `Odoo rejected the login of user "${ctx.username ?? '?'}" on database "${ctx.db ?? '?'}" (${what}: ${text}). ` +
        'Check the URL, database, user name and API key (or password) of the Odoo config node, or ODOO_URL, ODOO_DB, ODOO_USERNAME and ODOO_API_KEY.',
    );
  }
  if (name === 'AccessError') {
    return make(
      'ODOO_ACCESS_ERROR',
      `${what} was refused: ${text}. Give the Odoo user "${ctx.username ?? '?'}" the access rights it lacks, or use another user.`,
    );
  }
  if (name === 'MissingError') {
    return make('ODOO_MISSING_RECORD', `${what} failed: ${text}. The record was deleted or never existed; check the id.`);
  }
  // XML-RPC gives UserError and its subclasses one fault code (2), so the class cannot decide the code: the
  // text does, the same on every protocol. A database constraint (mandatory field, foreign key, unique) is
  // a validation error; any other refusal, @api.constrains included, is a user error.
  if (name === 'ValidationError' || name === 'UserError' || name === 'RedirectWarning' || name === 'Warning' || name === 'UnprocessableEntity') {
    if (/^The operation cannot be completed/.test(text)) {
      return make('ODOO_VALIDATION_ERROR', `${what} was rejected by Odoo's validation: ${text}. Fix the values sent.`);
    }
    if (/^Object \S+ doesn't exist/.test(text) || /the model .* does not exist/.test(text)) {
      return make(
        'ODOO_UNKNOWN_MODEL',
        `${what} failed: model "${op.model}" does not exist in this Odoo (${text}). Check the model name or install the module that provides it.`,
      );
    }
    if (name === 'UnprocessableEntity') {
      return make('ODOO_BAD_ARGUMENTS', `${what} was called with arguments it does not take: ${text}. Fix the arguments.`);
    }
    return make('ODOO_USER_ERROR', `${what} was refused by Odoo: ${text}`);
  }
  if (name === 'NotFound') {
    if (/^the model .* does not exist/i.test(text)) {
      return make(
        'ODOO_UNKNOWN_MODEL',
        `${what} failed: model "${op.model}" does not exist in this Odoo (${text}). Check the model name or install the module that provides it.`,
      );
    }
    if (/method|attribute/i.test(text)) {
      return make('ODOO_UNKNOWN_METHOD', `${what} failed: ${text}. Check the method name; private methods (starting with _) cannot be called remotely.`);
    }
    return make('ODOO_NOT_FOUND', `${what} failed: ${text}. Check the URL of the Odoo config node (and that this Odoo version has this endpoint).`);
  }
  if (name === 'KeyError' && op.model && text.replace(/['"]/g, '') === op.model) {
    return make(
      'ODOO_UNKNOWN_MODEL',
      `${what} failed: model "${op.model}" does not exist in this Odoo. Check the model name or install the module that provides it.`,
    );
  }
  if (name === 'AttributeError') {
    return make('ODOO_UNKNOWN_METHOD', `${what} failed: ${text}. Check the method name.`);
  }
  if (name === 'ValueError' && /Invalid field|Unknown field|invalid field/i.test(text)) {
    return make('ODOO_UNKNOWN_FIELD', `${what} failed: ${text}. Check the field names (fields_get lists them).`);
  }
  if (name === 'ValueError' && /domain|leaf|condition|operator/i.test(text)) {
    return make(
      'ODOO_BAD_DOMAIN',
      `${what} failed: bad domain: ${text}. A domain is a list of [field, operator, value] conditions, optionally with '&', '|', '!' in prefix notation.`,
    );
  }
  if (name === 'TypeError' && /argument/.test(text)) {
    return make('ODOO_BAD_ARGUMENTS', `${what} was called with arguments it does not take: ${text}. Fix args / kwargs.`);
  }
  if (
    name === 'ValueError' ||
    name === 'TypeError' ||
    /^psycopg2\.errors\.(InvalidTextRepresentation|InvalidDatetimeFormat|NumericValueOutOfRange|DatatypeMismatch|StringDataRightTruncation)$/.test(info.name) ||
    /psycopg2\.(DataError|errors\.Data)/.test(info.name)
  ) {
    return make('ODOO_BAD_VALUE', `${what} failed: a value has the wrong type or format: ${text}. Fix the value sent.`);
  }
  const missingDb =
    /database "([^"]*)" does not exist/.exec(text) ?? (name === 'KeyError' && ctx.db && text.replace(/['"]/g, '') === ctx.db ? [text, ctx.db] : null);
  if (missingDb) {
    return make(
      'ODOO_UNKNOWN_DATABASE',
      `Odoo has no database "${missingDb[1]}" (${what}). Set the database of the Odoo config node or ODOO_DB to one that exists on this server (its /web/database/selector lists them).`,
    );
  }
  if (/serialization|could not serialize|concurrent update|LockNotAvailable|SerializationFailure/i.test(info.name + text)) {
    return make('ODOO_CONFLICT', `${what} collided with a concurrent change in Odoo: ${text}. Trying again is safe.`, true);
  }
  return make('ODOO_SERVER_ERROR', `${what} failed inside Odoo with ${info.name}: ${text}. See the Odoo server log for the traceback.`);
}
