/**
 * Process-wide counters for every node family (docs/conventions.md "Logs and metrics"): operations, failures,
 * retries and whatever else a family wants to count. A monitor flow or a `/metrics` endpoint reads them
 * through snapshot() or renderPrometheus().
 */
type Labels = Record<string, string>;

interface Series {
  family: string;
  name: string;
  labels: Labels;
  value: number;
}

const series = new Map<string, Series>();

function keyOf(family: string, name: string, labels: Labels): string {
  const keys = Object.keys(labels);
  // Counted on every message: the common cases skip the sort.
  if (keys.length === 0) return `${family}|${name}|`;
  if (keys.length === 1) return `${family}|${name}|${keys[0]}=${labels[keys[0]]}`;
  return `${family}|${name}|${keys
    .sort()
    .map((k) => `${k}=${labels[k]}`)
    .join(',')}`;
}

/** Adds n (default 1) to the counter `<family>_<name>{labels}`. */
export function count(family: string, name: string, labels: Labels = {}, n = 1): void {
  const key = keyOf(family, name, labels);
  const found = series.get(key);
  if (found) found.value += n;
  else series.set(key, { family, name, labels: { ...labels }, value: n });
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

/** Every counter counted so far: family, name, labels and value (for a /metrics endpoint). */
export function allCounters(): ReadonlyArray<Readonly<Series>> {
  return [...series.values()];
}
