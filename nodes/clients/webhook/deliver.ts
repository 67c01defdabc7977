/**
 * One outgoing webhook delivery (Standard Webhooks): a signed POST, its answer classified into the result or an
 * IntegrationError of system 'webhook' that says whether to try again. Node's global fetch (undici: keep-alive
 * connections per origin), a timeout over the whole exchange, redirects not followed.
 */
import { performance } from 'node:perf_hooks';
import { IntegrationError, badInput, errorMessage } from '../common/errors';
import { count } from '../common/metrics';
import { secretKey, sign } from './signing';

export interface DeliverOptions {
  /** The subscriber's endpoint, http: or https:. User and password in it are sent as Basic authorization. */
  url: string;
  /** The subscriber's `whsec_…` signing secret. Never logged nor put in an error. */
  secret: string;
  /** The webhook id (`webhook-id`): the same for every attempt of one event, so the subscriber can deduplicate. */
  id: string;
  /** Unix seconds of this attempt (`webhook-timestamp`); now when absent. */
  timestamp?: number;
  /** The body: a string or bytes as they are, anything else as JSON. */
  body: unknown;
  /** Time for the whole exchange, connection to last byte of the answer; default 10,000 ms. */
  timeoutMs?: number;
  /** Extra request headers (not the three webhook-* ones, which this sets). */
  headers?: Record<string, string>;
}

export interface DeliveryResult {
  status: number;
  durationMs: number;
  outcome: 'delivered';
}

export const DEFAULT_TIMEOUT_MS = 10_000;
/** The longest wait a Retry-After is taken for (a subscriber asking for days is asked again in an hour). */
const MAX_RETRY_AFTER_MS = 60 * 60 * 1000;
const USER_AGENT = 'node-red-contrib-clinica-integration (Standard Webhooks)';
const RESPONSE_BODY_CHARS = 500;
/** Bytes of an answer read at most; the rest is dropped with the connection. */
const MAX_ANSWER_BYTES = 64 * 1024;
const RESERVED_HEADERS = new Set(['webhook-id', 'webhook-timestamp', 'webhook-signature']);
const ID_PATTERN = /^[\x21-\x7e]{1,256}$/;

/** The url as messages may show it: scheme, host, port and path; no user, password, query or fragment. */
function displayUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return url.replace(/\/\/[^@/]*@/, '//').replace(/[?#].*$/, '');
  }
}

/** Retry-After (delay in seconds or an HTTP date) in ms, at most an hour; undefined when absent or unreadable. */
export function retryAfterMs(value: string | null, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const s = value.trim();
  const ms = /^\d+$/.test(s) ? Number(s) * 1000 : Date.parse(s) - now;
  return Number.isFinite(ms) ? Math.min(Math.max(0, ms), MAX_RETRY_AFTER_MS) : undefined;
}

interface Prepared {
  url: URL;
  shown: string;
  id: string;
  timestamp: number;
  body: string | Buffer;
  timeoutMs: number;
  headers: Headers;
}

function bodyOf(body: unknown, id: string): string | Buffer {
  if (typeof body === 'string' || Buffer.isBuffer(body)) return body;
  if (body instanceof Uint8Array) return Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  if (body === undefined) throw badInput('webhook', `Webhook ${id} has no body: send the event as msg.payload (an object is sent as JSON)`, { id });
  try {
    return JSON.stringify(body);
  } catch (err) {
    throw badInput('webhook', `Webhook ${id}: the body cannot be written as JSON (${errorMessage(err)}); send a plain object or a string`, { id });
  }
}

function prepare(options: DeliverOptions): Prepared & { key: Buffer } {
  if (!options || typeof options !== 'object') throw badInput('webhook', 'A webhook delivery needs {url, secret, id, body}');
  const id = options.id;
  if (typeof id !== 'string' || !ID_PATTERN.test(id)) {
    throw badInput(
      'webhook',
      'The webhook id must be 1 to 256 printable characters without spaces (e.g. "msg_2x8..." or the event id); keep it for every attempt of one event',
    );
  }
  let url: URL;
  try {
    url = new URL(String(options.url));
  } catch {
    throw badInput('webhook', `Webhook ${id}: "${displayUrl(String(options.url))}" is not a URL; give the subscriber's endpoint as http(s)://host/path`, {
      id,
    });
  }
  const shown = displayUrl(url.href);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw badInput('webhook', `Webhook ${id}: ${shown} is not an http or https URL; give the subscriber's endpoint as http(s)://host/path`, { id, url: shown });
  }
  const key = secretKey(options.secret);
  const timestamp = options.timestamp ?? Math.floor(Date.now() / 1000);
  if (!Number.isSafeInteger(timestamp) || timestamp < 0) {
    throw badInput('webhook', `Webhook ${id} to ${shown}: the timestamp must be whole Unix seconds (or left out for now)`, { id, url: shown });
  }
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) {
    throw badInput('webhook', `Webhook ${id} to ${shown}: the timeout must be a positive number of milliseconds`, { id, url: shown });
  }
  const body = bodyOf(options.body, id);
  const headers = new Headers();
  headers.set('content-type', 'application/json');
  headers.set('user-agent', USER_AGENT);
  if (url.username || url.password) {
    const credentials = `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`;
    headers.set('authorization', `Basic ${Buffer.from(credentials).toString('base64')}`);
    url.username = '';
    url.password = '';
  }
  for (const [name, value] of Object.entries(options.headers ?? {})) {
    if (RESERVED_HEADERS.has(name.toLowerCase())) {
      throw badInput('webhook', `Webhook ${id} to ${shown}: the header ${name} is set by the delivery itself; leave it out of the extra headers`, {
        id,
        url: shown,
      });
    }
    try {
      headers.set(name, String(value));
    } catch {
      throw badInput('webhook', `Webhook ${id} to ${shown}: the extra header "${name}" is not a valid HTTP header`, { id, url: shown });
    }
  }
  headers.set('webhook-id', id);
  headers.set('webhook-timestamp', String(timestamp));
  return { url, shown, id, timestamp, body, timeoutMs, headers, key };
}

/** The start of an answer's body (for error details), reading at most MAX_ANSWER_BYTES; never throws. */
async function readAnswer(res: Response): Promise<string> {
  if (!res.body) return '';
  const reader = res.body.getReader();
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(Buffer.from(value));
      size += value.byteLength;
      if (size >= MAX_ANSWER_BYTES) {
        await reader.cancel().catch(() => undefined);
        break;
      }
    }
  } catch {
    // A body cut short (timeout, reset) changes nothing: the status decided already.
  }
  return Buffer.concat(chunks).toString('utf8');
}

const elapsed = (started: number) => Math.round((performance.now() - started) * 10) / 10;

function fail(code: string, message: string, retryable: boolean, details: Record<string, unknown>, cause?: unknown, status?: number): IntegrationError {
  count('webhook', 'deliveries', { outcome: code });
  return new IntegrationError(message, { code, system: 'webhook', retryable, status, details, cause });
}

/**
 * Sends one signed delivery and classifies the answer: 2xx delivered; 408, 429, 5xx WEBHOOK_RETRY (with
 * details.retryAfterMs from Retry-After); 410 WEBHOOK_GONE; 3xx and other 4xx WEBHOOK_REJECTED; no answer in
 * time WEBHOOK_TIMEOUT; no connection WEBHOOK_UNREACHABLE; bad options BAD_INPUT.
 */
export async function deliver(options: DeliverOptions): Promise<DeliveryResult> {
  const p = prepare(options);
  p.headers.set('webhook-signature', sign(p.key, p.id, p.timestamp, p.body));
  const base = { id: p.id, url: p.shown };
  const signal = AbortSignal.timeout(p.timeoutMs);
  const started = performance.now();
  let res: Response;
  try {
    res = await fetch(p.url, { method: 'POST', headers: p.headers, body: p.body as string | Uint8Array as BodyInit, redirect: 'manual', signal });
  } catch (err) {
    const durationMs = elapsed(started);
    if (signal.aborted || (err as { name?: string })?.name === 'TimeoutError') {
      throw fail(
        'WEBHOOK_TIMEOUT',
        `Webhook ${p.id} to ${p.shown} got no answer within ${p.timeoutMs} ms: the subscriber should answer 2xx at once and do its work afterwards (retryable: deliver again with the same webhook id)`,
        true,
        { ...base, timeoutMs: p.timeoutMs, durationMs },
        err,
      );
    }
    const cause = (err as { cause?: unknown })?.cause;
    const reason = cause ? errorMessage(cause) : errorMessage(err);
    throw fail(
      'WEBHOOK_UNREACHABLE',
      `Webhook ${p.id} to ${p.shown} could not be sent (${reason}): check the url and that the subscriber is up (retryable: deliver again with the same webhook id)`,
      true,
      { ...base, durationMs, reason: (cause as { code?: string })?.code ?? reason },
      err,
    );
  }
  const answer = await readAnswer(res);
  const durationMs = elapsed(started);
  const status = res.status;
  if (status >= 200 && status < 300) {
    count('webhook', 'deliveries', { outcome: 'delivered' });
    return { status, durationMs, outcome: 'delivered' };
  }
  const responseBody = answer.slice(0, RESPONSE_BODY_CHARS);
  if (status === 408 || status === 429 || status >= 500) {
    const after = retryAfterMs(res.headers.get('retry-after'));
    const when = after === undefined ? 'later' : `in ${Math.ceil(after / 1000)} s (its Retry-After)`;
    throw fail(
      'WEBHOOK_RETRY',
      `Webhook ${p.id} to ${p.shown} answered ${status}: the subscriber cannot take it now; deliver again ${when} with the same webhook id`,
      true,
      { ...base, status, ...(after === undefined ? {} : { retryAfterMs: after }), durationMs, responseBody },
      undefined,
      status,
    );
  }
  if (status === 410) {
    throw fail(
      'WEBHOOK_GONE',
      `Webhook ${p.id} to ${p.shown} answered 410 Gone: the subscriber no longer takes these events; disable this subscription instead of retrying`,
      false,
      { ...base, status, durationMs, responseBody },
      undefined,
      status,
    );
  }
  if (status >= 300 && status < 400) {
    const location = res.headers.get('location');
    const target = location ? displayUrl(URL.canParse(location, p.url) ? new URL(location, p.url).href : location) : 'no Location';
    throw fail(
      'WEBHOOK_REJECTED',
      `Webhook ${p.id} to ${p.shown} answered ${status} redirecting to ${target}: redirects are not followed; register the final URL as the subscriber's endpoint`,
      false,
      { ...base, status, location: location ? target : undefined, durationMs, responseBody },
      undefined,
      status,
    );
  }
  const hint = status === 401 || status === 403 ? ' (the subscriber may verify with another secret: give it the current one)' : '';
  throw fail(
    'WEBHOOK_REJECTED',
    `Webhook ${p.id} to ${p.shown} was rejected with ${status}${hint}: fix the event or the subscription; delivering it again as it is will not help`,
    false,
    { ...base, status, durationMs, responseBody },
    undefined,
    status,
  );
}
