/**
 * A conformance battery, for any family of peers: named probes make the same calls against a reference
 * system (the real Odoo, Nextcloud …) and against the pack's peer, each returning an observation (plain
 * JSON). Volatile parts (the run's unique tag, ids the probe names, dates and times, tracebacks) are
 * normalised, the two observations are compared leaf by leaf, and every difference is reported: either
 * as a documented, justified exception (KnownDifference) or as a failure. An exception that no longer
 * matches any difference is reported as stale, so the list shrinks as the peer improves.
 *
 * The reference observations are recorded once from the real system (a JSON file in the repository), so
 * CI compares the peer with what the real system answered, without needing it; with the real system at
 * hand the battery compares the peer with it live.
 */

export interface ProbeContext {
  /** A string unique to this run, to put in the names of what the probe creates (normalised away). */
  readonly tag: string;
  /** Replaces `value` with `placeholder` in this probe's observation (ids, names that differ by nature). */
  alias(value: string | number, placeholder: string): void;
  /** Sleeps (some probes need the clock to move). */
  sleep(ms: number): Promise<void>;
}

export interface Probe<T> {
  /** Stable name: family.topic (e.g. timestamps.domain-microseconds). */
  name: string;
  /** One line: what is checked. */
  about: string;
  run(target: T, ctx: ProbeContext): Promise<unknown>;
}

export interface ProbeResult {
  name: string;
  about: string;
  /** The normalised observation (absent when the probe itself failed). */
  observed?: unknown;
  /** Why the probe could not run to the end (a bug of the probe or of the system). */
  error?: string;
  ms: number;
}

export interface KnownDifference {
  probe: string;
  /** Observation path (dotted, array indexes as numbers); a prefix covers everything below it. */
  path: string;
  /** Why the peer may answer differently here, and why that does not matter to the pack. */
  reason: string;
}

export interface Difference {
  path: string;
  reference: unknown;
  actual: unknown;
}

export interface Verdict {
  probe: string;
  about: string;
  status: 'same' | 'excepted' | 'different' | 'missing';
  differences: Difference[];
  excepted: Array<Difference & { reason: string }>;
  error?: string;
}

const DATETIME_US = /\b\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d\.\d{1,6}\b/g;
const DATETIME_S = /\b\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d\b/g;
const DATE = /\b\d{4}-\d\d-\d\d\b/g;

/** A datetime or date text reduced to its shape: what matters is the precision, not the value. */
export function timeShape(text: string): string {
  return text.replace(DATETIME_US, '<datetime.us>').replace(DATETIME_S, '<datetime>').replace(DATE, '<date>');
}

/** The exception line of a Python traceback ("TypeError: cannot marshal None …"). */
export function tracebackTail(text: string): string {
  const lines = text.trimEnd().split('\n');
  for (let i = lines.length - 1; i >= 0; i--) {
    if (/^[A-Za-z_][\w.]*: /.test(lines[i]) && !lines[i].startsWith(' ')) return lines.slice(i).join('\n');
  }
  return lines[lines.length - 1] ?? '';
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Deep copy with aliases applied (numbers equal to an aliased id, strings containing an aliased text) and times shaped. */
export function normalise(value: unknown, aliases: Map<string | number, string>): unknown {
  const texts = [...aliases.entries()].filter(([k]) => typeof k === 'string' && k !== '').sort(([a], [b]) => String(b).length - String(a).length);
  const pattern = texts.length ? new RegExp(texts.map(([k]) => escapeRe(String(k))).join('|'), 'g') : undefined;
  const byText = new Map(texts.map(([k, v]) => [String(k), v]));
  const walk = (v: unknown): unknown => {
    if (typeof v === 'number') return aliases.get(v) ?? v;
    if (typeof v === 'string') return timeShape(pattern ? v.replace(pattern, (m) => byText.get(m) ?? m) : v);
    if (Array.isArray(v)) return v.map(walk);
    if (v && typeof v === 'object') {
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v as Record<string, unknown>)) out[k] = walk(x);
      return out;
    }
    return v;
  };
  return walk(value);
}

/** Every leaf where `actual` differs from `reference` (missing keys included). */
export function differences(reference: unknown, actual: unknown, path = ''): Difference[] {
  const join = (k: string | number) => (path ? `${path}.${k}` : String(k));
  if (Array.isArray(reference) && Array.isArray(actual)) {
    const out: Difference[] = [];
    for (let i = 0; i < Math.max(reference.length, actual.length); i++) out.push(...differences(reference[i], actual[i], join(i)));
    return out;
  }
  const isObj = (x: unknown): x is Record<string, unknown> => Boolean(x) && typeof x === 'object' && !Array.isArray(x);
  if (isObj(reference) && isObj(actual)) {
    const keys = [...new Set([...Object.keys(reference), ...Object.keys(actual)])].sort();
    return keys.flatMap((k) => differences(reference[k], actual[k], join(k)));
  }
  return JSON.stringify(reference) === JSON.stringify(actual) ? [] : [{ path: path || '(root)', reference, actual }];
}

/** Runs the probes one after the other against one system; a failing probe is reported, not thrown. */
export async function runProbes<T>(
  probes: Array<Probe<T>>,
  target: T,
  options: { tag: string; only?: RegExp; log?: (line: string) => void },
): Promise<ProbeResult[]> {
  const results: ProbeResult[] = [];
  for (const probe of probes) {
    if (options.only && !options.only.test(probe.name)) continue;
    const aliases = new Map<string | number, string>([[options.tag, '<tag>']]);
    const ctx: ProbeContext = {
      tag: options.tag,
      alias: (value, placeholder) => {
        aliases.set(value, placeholder);
      },
      sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
    };
    const started = Date.now();
    try {
      const observed = normalise(await probe.run(target, ctx), aliases);
      results.push({ name: probe.name, about: probe.about, observed, ms: Date.now() - started });
    } catch (err) {
      const e = err as Error;
      results.push({ name: probe.name, about: probe.about, error: String(normalise(e?.stack ?? e?.message ?? err, aliases)), ms: Date.now() - started });
    }
    options.log?.(`${probe.name}: ${results[results.length - 1].error ? 'probe failed' : 'observed'} (${Date.now() - started} ms)`);
  }
  return results;
}

const covers = (k: KnownDifference, probe: string, path: string) => k.probe === probe && (path === k.path || path.startsWith(`${k.path}.`) || k.path === '');

/** The actual system's observations judged against the reference's, with the documented exceptions. */
export function judge(reference: ProbeResult[], actual: ProbeResult[], known: KnownDifference[]): Verdict[] {
  return reference.map((ref) => {
    const act = actual.find((a) => a.name === ref.name);
    if (!act) return { probe: ref.name, about: ref.about, status: 'missing' as const, differences: [], excepted: [] };
    if (ref.error || act.error) {
      const d: Difference = { path: '(probe)', reference: ref.error ?? 'ran', actual: act.error ?? 'ran' };
      return { probe: ref.name, about: ref.about, status: 'different' as const, differences: [d], excepted: [], error: act.error ?? ref.error };
    }
    const all = differences(ref.observed, act.observed);
    const excepted: Verdict['excepted'] = [];
    const rest: Difference[] = [];
    for (const d of all) {
      const k = known.find((x) => covers(x, ref.name, d.path));
      if (k) excepted.push({ ...d, reason: k.reason });
      else rest.push(d);
    }
    const status = rest.length ? 'different' : excepted.length ? 'excepted' : 'same';
    return { probe: ref.name, about: ref.about, status, differences: rest, excepted };
  });
}

/** Documented exceptions that matched no difference: the peer got better (or the probe changed). */
export function staleExceptions(verdicts: Verdict[], known: KnownDifference[]): KnownDifference[] {
  return known.filter((k) => !verdicts.some((v) => v.excepted.some((e) => covers(k, v.probe, e.path))));
}

const cell = (v: unknown) => {
  const s = v === undefined ? '(absent)' : JSON.stringify(v);
  return (s.length > 90 ? `${s.slice(0, 87)}…` : s).replace(/\|/g, '\\|').replace(/\n/g, ' ');
};

/** A Markdown table, one row per probe (and one per difference), for the docs and the test log. */
export function markdownTable(verdicts: Verdict[], labels: { reference: string; actual: string }): string {
  const rows = [`| probe | checks | ${labels.actual} vs ${labels.reference} |`, '| --- | --- | --- |'];
  for (const v of verdicts) {
    const status =
      v.status === 'same'
        ? 'same'
        : v.status === 'excepted'
          ? `same, except ${v.excepted.length} documented difference${v.excepted.length > 1 ? 's' : ''}`
          : v.status;
    rows.push(`| \`${v.probe}\` | ${v.about.replace(/\|/g, '\\|')} | ${status} |`);
    for (const d of [...v.differences, ...v.excepted]) {
      const why = 'reason' in d ? ` — ${(d as { reason: string }).reason}` : '';
      rows.push(`| | \`${d.path}\` | ${labels.reference} ${cell(d.reference)}, ${labels.actual} ${cell(d.actual)}${why.replace(/\|/g, '\\|')} |`);
    }
  }
  return rows.join('\n');
}
