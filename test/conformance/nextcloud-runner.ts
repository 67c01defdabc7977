/**
 * A conformance runner: the same HTTP calls sent to a test peer and to the real system it stands in for, each
 * answer reduced to what a client may rely on (status, chosen headers, the shape of the body) with every
 * run-specific value (ids, dates, ETags, the run's folder) replaced by a placeholder or a pattern, so that two
 * servers — or one server and a recording of the real one — can be compared call by call.
 *
 * Nothing here knows a system: a battery (e.g. nextcloud-battery.ts) is a list of probes, each a few calls whose
 * answers it records with `observe`. `runBattery` runs them against one target; `compare` lists every difference.
 */
import * as http from 'node:http';
import * as https from 'node:https';
import { type XmlElement, child, parseXmlTree } from '../../nodes/clients/nextcloud/xml';

export { type XmlElement, child, parseXmlTree };

export interface Target {
  /** "peer", "real", … (for reports). */
  name: string;
  /** Server root, e.g. http://127.0.0.1:8082 */
  url: string;
  user: string;
  password: string;
  /** Source address for the calls of probes that may get the address blocked (e.g. 127.0.0.2). */
  localAddress?: string;
}

export interface Call {
  method: string;
  /** Path and query below the server root, sent as is (no normalisation of `..`). */
  path: string;
  headers?: Record<string, string | undefined>;
  body?: Buffer | string;
  /** 'user' (default): Basic with the target's login; 'none'; or another login. */
  auth?: 'user' | 'none' | { user: string; password: string };
  /** Send from the target's localAddress. */
  fromLocalAddress?: boolean;
}

export interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  ms: number;
}

/** A normalised answer: plain JSON, equal between two servers that answer alike. */
export type Observation = { [key: string]: unknown };

export interface Difference {
  probe: string;
  step: string;
  /** Where in the observation, e.g. "status" or "body.responses[1].props". */
  at: string;
  expected: unknown;
  actual: unknown;
}

/** Values a probe substitutes with placeholders before comparing (the run's folder, the user, the URL). */
export interface Placeholders {
  [literal: string]: string;
}

export class ProbeContext {
  readonly steps: Record<string, Observation> = {};
  readonly placeholders: Placeholders;
  /** Whole values replaced (the user id as a value, e.g. a share's owner). */
  readonly exact: Placeholders;

  constructor(
    readonly target: Target,
    readonly runId: string,
  ) {
    this.placeholders = { [target.url]: '<url>', [runId]: '<run>', [`/${target.user}/`]: '/<user>/', [`::${target.user}`]: '::<user>' };
    this.exact = { [target.user]: '<user>' };
  }

  /** Sends a call; never throws on HTTP errors (only on network faults). */
  send(call: Call): Promise<Answer> {
    // the path goes out exactly as given (a URL object would resolve "..")
    const url = new URL(this.target.url);
    const path = url.pathname.replace(/\/$/, '') + call.path;
    const headers: Record<string, string | number> = { 'User-Agent': 'clinica-conformance' };
    const auth = call.auth ?? 'user';
    if (auth !== 'none') {
      const { user, password } = auth === 'user' ? { user: this.target.user, password: this.target.password } : auth;
      headers.Authorization = `Basic ${Buffer.from(`${user}:${password}`, 'utf8').toString('base64')}`;
    }
    for (const [k, v] of Object.entries(call.headers ?? {})) if (v !== undefined) headers[k] = v;
    const body = call.body === undefined ? undefined : Buffer.isBuffer(call.body) ? call.body : Buffer.from(call.body, 'utf8');
    if (body) headers['Content-Length'] = body.length;
    else if (['PUT', 'POST'].includes(call.method)) headers['Content-Length'] = 0;
    const started = Date.now();
    return new Promise((resolve, reject) => {
      const req = (url.protocol === 'https:' ? https : http).request(
        {
          protocol: url.protocol,
          hostname: url.hostname,
          port: url.port,
          path,
          method: call.method,
          headers,
          agent: false,
          localAddress: call.fromLocalAddress ? this.target.localAddress : undefined,
        },
        (res) => {
          const parts: Buffer[] = [];
          res.on('data', (p: Buffer) => parts.push(p));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts), ms: Date.now() - started }));
          res.on('error', reject);
        },
      );
      req.setTimeout(120000, () => req.destroy(new Error(`${call.method} ${call.path}: no answer in 120 s`)));
      req.on('error', reject);
      req.end(body);
    });
  }

  /** Records a step's observation under `step` (also returned). */
  record(step: string, observation: Observation): Observation {
    this.steps[step] = this.substitute(observation) as Observation;
    return this.steps[step];
  }

  /** Replaces every placeholder literal in every string of `value`. */
  substitute(value: unknown): unknown {
    if (typeof value === 'string') {
      if (Object.hasOwn(this.exact, value)) return this.exact[value];
      let s = value;
      for (const [literal, placeholder] of Object.entries(this.placeholders).sort((a, b) => b[0].length - a[0].length)) {
        if (literal) s = s.split(literal).join(placeholder);
      }
      return s;
    }
    if (Array.isArray(value)) return value.map((v) => this.substitute(v));
    if (value && typeof value === 'object') {
      return Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([k, v]) => [this.substitute(k) as string, this.substitute(v)]));
    }
    return value;
  }
}

export interface Probe {
  id: string;
  /** What the probe shows, for the report. */
  title: string;
  /**
   * On a real server some probes have lasting effects (using up a rate limit, blocking the address): they run
   * there only when this environment variable is set. On the peer they always run.
   */
  optIn?: string;
  run(ctx: ProbeContext): Promise<void>;
}

export interface BatteryResult {
  target: string;
  /** probe id → step → observation; a probe that threw has {error}. */
  probes: Record<string, Record<string, Observation>>;
  skipped: string[];
}

/** Runs every probe against one target, one after the other. */
export async function runBattery(
  target: Target,
  probes: Probe[],
  opts: { isPeer: boolean; runId?: string; only?: string[] } = { isPeer: true },
): Promise<BatteryResult> {
  const runId = opts.runId ?? `conf${Date.now().toString(36)}`;
  const result: BatteryResult = { target: target.name, probes: {}, skipped: [] };
  for (const probe of probes) {
    if (opts.only && !opts.only.includes(probe.id)) continue;
    if (!opts.isPeer && probe.optIn && !process.env[probe.optIn]) {
      result.skipped.push(probe.id);
      continue;
    }
    const ctx = new ProbeContext(target, runId);
    try {
      await probe.run(ctx);
      result.probes[probe.id] = ctx.steps;
    } catch (err) {
      result.probes[probe.id] = { ...ctx.steps, error: { message: (err as Error).message } };
    }
  }
  return result;
}

/** Every difference between an expected result (e.g. the real server's) and an actual one (the peer's). */
export function compare(expected: BatteryResult, actual: BatteryResult): Difference[] {
  const out: Difference[] = [];
  const ids = new Set([...Object.keys(expected.probes), ...Object.keys(actual.probes)]);
  for (const id of ids) {
    if (expected.skipped.includes(id) || actual.skipped.includes(id)) continue;
    const e = expected.probes[id];
    const a = actual.probes[id];
    if (!e || !a) {
      out.push({ probe: id, step: '*', at: '', expected: e ? 'ran' : 'absent', actual: a ? 'ran' : 'absent' });
      continue;
    }
    for (const step of new Set([...Object.keys(e), ...Object.keys(a)])) diffValue(id, step, '', e[step], a[step], out);
  }
  return out;
}

function diffValue(probe: string, step: string, at: string, e: unknown, a: unknown, out: Difference[]): void {
  if (isPlainObject(e) && isPlainObject(a)) {
    for (const k of new Set([...Object.keys(e), ...Object.keys(a)])) diffValue(probe, step, at ? `${at}.${k}` : k, e[k], a[k], out);
    return;
  }
  if (Array.isArray(e) && Array.isArray(a) && e.length === a.length) {
    e.forEach((v, i) => diffValue(probe, step, `${at}[${i}]`, v, a[i], out));
    return;
  }
  if (JSON.stringify(e) !== JSON.stringify(a)) out.push({ probe, step, at, expected: e, actual: a });
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return !!v && typeof v === 'object' && !Array.isArray(v);
}

/** One line per difference, for test failures and the CLI. */
export function formatDifferences(diffs: Difference[], expectedName: string, actualName: string): string {
  return diffs
    .map((d) => `${d.probe} / ${d.step}${d.at ? ` / ${d.at}` : ''}: ${expectedName} ${JSON.stringify(d.expected)}, ${actualName} ${JSON.stringify(d.actual)}`)
    .join('\n');
}

// ------------------------------------------------------------------ body shapes

/** What kind of body an answer has: empty, json, xml (with its root element), html or text. */
export function bodyKind(answer: Answer): string {
  const text = answer.body.toString('utf8').trim();
  if (!text) return 'empty';
  if (text.startsWith('{') || text.startsWith('[')) return 'json';
  if (/^<!doctype html|^<html/i.test(text)) return 'html';
  if (text.startsWith('<')) return `xml:${parseXmlTree(text)?.name ?? '?'}`;
  return 'text';
}

/** The media type of Content-Type, lower case, without parameters ("application/xml"). */
export function mediaType(answer: Answer): string | null {
  const v = answer.headers['content-type'];
  const s = Array.isArray(v) ? v[0] : v;
  return s ? s.split(';')[0].trim().toLowerCase() : null;
}

export function headerOf(answer: Answer, name: string): string | undefined {
  const v = answer.headers[name.toLowerCase()];
  return Array.isArray(v) ? v.join(', ') : v;
}
