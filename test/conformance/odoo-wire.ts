/**
 * Raw access to an Odoo (real or peer) for the conformance probes: JSON-RPC and XML-RPC envelopes as
 * they come off the wire, plain HTTP without following redirects, a web session, and a receiver for
 * automation-rule webhooks. Deliberately independent of the pack's client: the battery checks the peer
 * against Odoo, not the client against either.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';

export interface OdooTarget {
  label: string;
  url: string;
  db: string;
  login: string;
  password: string;
  uid: number;
  /** How this machine is reached from the Odoo server (webhook URLs); default 127.0.0.1. */
  hookHost: string;
}

export interface HttpAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** One HTTP request, redirects not followed. */
export function request(url: string, method: string, body?: string | Buffer, headers: Record<string, string> = {}, timeoutMs = 60000): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : Buffer.isBuffer(body) ? body : Buffer.from(body, 'utf8');
    const req = http.request(
      url,
      { method, headers: { ...(data ? { 'Content-Length': String(data.length) } : {}), ...headers }, timeout: timeoutMs, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${url}: no answer in ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(data);
  });
}

let nextId = 1;

/** A JSON-RPC call exactly as answered: the envelope's keys, result or error. */
export async function jsonrpc(t: OdooTarget, service: string, method: string, args: unknown[]): Promise<{ status: number; envelope: Record<string, unknown> }> {
  const id = nextId++;
  const res = await request(`${t.url}/jsonrpc`, 'POST', JSON.stringify({ jsonrpc: '2.0', method: 'call', id, params: { service, method, args } }), {
    'Content-Type': 'application/json',
  });
  const envelope = JSON.parse(res.body.toString('utf8')) as Record<string, unknown>;
  return { status: res.status, envelope };
}

export interface Failure {
  name: string;
  message: string;
}

export class OdooCallError extends Error {
  constructor(readonly failure: Failure) {
    super(`${failure.name}: ${failure.message}`);
  }
}

/** execute_kw over JSON-RPC as the target's user: the result, or the envelope's error as { name, message }. */
export async function call(
  t: OdooTarget,
  model: string,
  method: string,
  args: unknown[] = [],
  kwargs: Record<string, unknown> = {},
): Promise<{ ok: true; value: unknown; hasResult: boolean } | { ok: false; failure: Failure }> {
  const { envelope } = await jsonrpc(t, 'object', 'execute_kw', [t.db, t.uid, t.password, model, method, args, kwargs]);
  const error = envelope.error as { data?: { name?: string; message?: string } } | undefined;
  if (error) return { ok: false, failure: { name: String(error.data?.name), message: String(error.data?.message) } };
  return { ok: true, value: envelope.result, hasResult: 'result' in envelope };
}

/** execute_kw over JSON-RPC that must succeed. */
export async function kw<R = unknown>(t: OdooTarget, model: string, method: string, args: unknown[] = [], kwargs: Record<string, unknown> = {}): Promise<R> {
  const out = await call(t, model, method, args, kwargs);
  if (!out.ok) throw new OdooCallError(out.failure);
  return out.value as R;
}

const xmlSerializer = require('xmlrpc/lib/serializer') as { serializeMethodCall(method: string, params: unknown[]): string };

const XmlDeserializer = require('xmlrpc/lib/deserializer') as new () => {
  deserializeMethodResponse(s: Readable, cb: (e: (Error & { faultCode?: unknown; faultString?: string }) | null, v?: unknown) => void): void;
};

export type XmlOutcome = { ok: true; value: unknown } | { ok: false; faultCode: unknown; faultString: string };

/** An XML-RPC call to /xmlrpc/2/<service> (or /xmlrpc/<service> with v1): the value or the fault. */
export async function xmlrpc(t: OdooTarget, service: string, method: string, params: unknown[], v1 = false): Promise<XmlOutcome> {
  const res = await request(`${t.url}/xmlrpc/${v1 ? '' : '2/'}${service}`, 'POST', xmlSerializer.serializeMethodCall(method, params), {
    'Content-Type': 'text/xml',
  });
  return new Promise((resolve, reject) => {
    new XmlDeserializer().deserializeMethodResponse(Readable.from([res.body]), (err, value) => {
      if (err && err.faultCode !== undefined) resolve({ ok: false, faultCode: err.faultCode, faultString: String(err.faultString ?? '') });
      else if (err) reject(err);
      else resolve({ ok: true, value });
    });
  });
}

/** execute_kw over XML-RPC as the target's user. */
export function xkw(t: OdooTarget, model: string, method: string, args: unknown[] = [], kwargs: Record<string, unknown> = {}): Promise<XmlOutcome> {
  return xmlrpc(t, 'object', 'execute_kw', [t.db, t.uid, t.password, model, method, args, kwargs]);
}

/** Logs in with common.authenticate; the uid goes into the target. */
export async function connect(target: Omit<OdooTarget, 'uid'>): Promise<OdooTarget> {
  const { envelope } = await jsonrpc({ ...target, uid: 0 }, 'common', 'authenticate', [target.db, target.login, target.password, {}]);
  if (typeof envelope.result !== 'number')
    throw new Error(`cannot log in to ${target.url} (db ${target.db}) as ${target.login}: ${JSON.stringify(envelope).slice(0, 300)}`);
  return { ...target, uid: envelope.result };
}

/** A web session (POST /web/session/authenticate with the password): its session_id cookie. */
export async function webSession(t: OdooTarget, password = t.password): Promise<{ ok: boolean; session?: string; error?: Failure }> {
  const res = await request(
    `${t.url}/web/session/authenticate`,
    'POST',
    JSON.stringify({ jsonrpc: '2.0', method: 'call', id: nextId++, params: { db: t.db, login: t.login, password } }),
    { 'Content-Type': 'application/json' },
  );
  const body = JSON.parse(res.body.toString('utf8')) as { result?: { uid?: number }; error?: { data?: { name?: string; message?: string } } };
  if (body.error) return { ok: false, error: { name: String(body.error.data?.name), message: String(body.error.data?.message) } };
  const cookies = ([] as string[]).concat(res.headers['set-cookie'] ?? []);
  const session = cookies.map((c) => /^session_id=([^;]+)/.exec(c)?.[1]).find(Boolean);
  return { ok: Boolean(body.result?.uid && session), session };
}

// ----------------------------------------------------------------------------------- webhooks

export interface HookCall {
  path: string;
  headers: http.IncomingHttpHeaders;
  body: string;
  /** What another connection saw of the record while Odoo waited for this answer. */
  during?: unknown;
  receivedAt: number;
}

export interface HookReceiver {
  /** The URL Odoo must call for `path`. */
  url(path: string): string;
  calls: HookCall[];
  /** Called for each webhook before answering (e.g. read the record through another connection). */
  onCall?: (payload: Record<string, unknown>) => Promise<unknown>;
  /** Answer after this many ms (by path prefix). */
  delays: Map<string, number>;
  stop(): Promise<void>;
}

export async function startHookReceiver(hookHost: string): Promise<HookReceiver> {
  const receiver: HookReceiver = {
    url: () => '',
    calls: [],
    delays: new Map(),
    stop: async () => undefined,
  };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const call: HookCall = { path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), receivedAt: Date.now() };
      receiver.calls.push(call);
      void (async () => {
        try {
          if (receiver.onCall) call.during = await receiver.onCall(JSON.parse(call.body) as Record<string, unknown>);
        } catch (err) {
          call.during = `error: ${(err as Error).message}`;
        }
        const delay = [...receiver.delays.entries()].find(([p]) => call.path.startsWith(p))?.[1] ?? 0;
        if (delay) await new Promise((r) => setTimeout(r, delay));
        if (!res.destroyed) res.end('ok');
      })();
    });
  });
  const bind = hookHost === '127.0.0.1' || hookHost === 'localhost' ? '127.0.0.1' : '0.0.0.0';
  await new Promise<void>((r) => server.listen(0, bind, () => r()));
  const port = (server.address() as AddressInfo).port;
  receiver.url = (path) => `http://${hookHost}:${port}${path}`;
  receiver.stop = () =>
    new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    });
  return receiver;
}
