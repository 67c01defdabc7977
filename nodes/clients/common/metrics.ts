/**
 * Process-wide counters for every node family (docs/conventions.md "Logs and metrics"): operations, failures,
 * retries and whatever else a family wants to count. A monitor flow or a `/metrics` endpoint enumerates them
 * through snapshot() (every series with its family, name, labels and value).
 *
 * Two ways to count: count(family, name, labels) finds the series by a key built from its labels (fine for
 * rare events), and counter(family, name, labels) returns the series itself, bound once, for hot paths that
 * count on every message (no key, no label object per call).
 */
type Labels = Record<string, string>;

/** One series: `<family>_<name>{labels}`; add() on a bound counter costs one addition. */
export interface Counter {
  readonly family: string;
  readonly name: string;
  readonly labels: Readonly<Labels>;
  readonly value: number;
  add(n?: number): void;
}

class Series implements Counter {
  value = 0;
  constructor(
    readonly family: string,
    readonly name: string,
    readonly labels: Readonly<Labels>,
  ) {}
  add(n = 1): void {
    this.value += n;
  }
}

const series = new Map<string, Series>();

function keyOf(family: string, name: string, labels: Labels): string {
  const keys = Object.keys(labels);
  if (keys.length === 0) return `${family}|${name}|`;
  if (keys.length === 1) return `${family}|${name}|${keys[0]}=${labels[keys[0]]}`;
  return `${family}|${name}|${keys
    .sort()
    .map((k) => `${k}=${labels[k]}`)
    .join(',')}`;
}

/** The series `<family>_<name>{labels}`, created at 0 when new; keep it and call add() on the hot path. */
export function counter(family: string, name: string, labels: Labels = {}): Counter {
  const key = keyOf(family, name, labels);
  let found = series.get(key);
  if (!found) {
    found = new Series(family, name, Object.freeze({ ...labels }));
    series.set(key, found);
  }
  return found;
}

/** Adds n (default 1) to the counter `<family>_<name>{labels}`. */
export function count(family: string, name: string, labels: Labels = {}, n = 1): void {
  counter(family, name, labels).add(n);
}

/** One counter's current value (0 when never counted), summed over label sets that include `labels`. */
export function valueOf(family: string, name: string, labels: Labels = {}): number {
  let total = 0;
  for (const s of series.values()) {
    if (s.family !== family || s.name !== name) continue;
    if (Object.entries(labels).every(([k, v]) => s.labels[k] === v)) total += s.value;
  }
  return total;
}

/** Every series with its family, name, labels and value (for a `/metrics` endpoint or a monitor flow). */
export function snapshot(): Array<{ family: string; name: string; labels: Labels; value: number }> {
  return [...series.values()].map((s) => ({ family: s.family, name: s.name, labels: { ...s.labels }, value: s.value }));
}
