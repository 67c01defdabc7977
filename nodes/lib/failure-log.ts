/**
 * A failing system is logged once when it fails, then at a backed-off pace (1 min, 2, 4 … at most 1 h, with the
 * number of repeats in between), and once when it recovers: a system that is down for an hour does not write the
 * same warning at every poll. Keys name the failure (e.g. the tab, the sync and the error code).
 */
import type { Node } from 'node-red';
import { logEvent } from './node-runtime';

interface Failing {
  first: number;
  last: number;
  /** Repeats since the last line logged. */
  repeats: number;
  intervalMs: number;
}

const FIRST_INTERVAL_MS = 60_000;
const MAX_INTERVAL_MS = 3_600_000;
const failing = new Map<string, Failing>();

/** Logs a failure at warn the first time and then at a backed-off pace; repeats in between go to debug. */
export function logFailure(node: Node, key: string, event: string, fields: Record<string, unknown>, now = Date.now()): void {
  const f = failing.get(key);
  if (!f) {
    failing.set(key, { first: now, last: now, repeats: 0, intervalMs: FIRST_INTERVAL_MS });
    logEvent(node, 'warn', event, fields);
    return;
  }
  f.repeats += 1;
  if (now - f.last < f.intervalMs) {
    logEvent(node, 'debug', event, { ...fields, repeat: true });
    return;
  }
  logEvent(node, 'warn', event, { ...fields, repeats: f.repeats, failingSince: new Date(f.first).toISOString() });
  f.last = now;
  f.repeats = 0;
  f.intervalMs = Math.min(f.intervalMs * 2, MAX_INTERVAL_MS);
}

/** Logs, once, that the failures whose key starts with `prefix` are over (nothing when none was failing). */
export function logRecovery(node: Node, prefix: string, event: string, fields: Record<string, unknown> = {}, now = Date.now()): void {
  for (const [key, f] of failing) {
    if (!key.startsWith(prefix)) continue;
    failing.delete(key);
    logEvent(node, 'info', event, { ...fields, key, failedForMs: now - f.first });
  }
}

/** For tests: forget every failure. */
export function forgetFailures(): void {
  failing.clear();
}
