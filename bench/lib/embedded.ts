/**
 * What the benchmarks share: a real Node-RED runtime in this process (no test helper, no spies) and latency
 * summaries.
 */
import { startRuntime } from '../../test/lib/runtime';

/* eslint-disable @typescript-eslint/no-explicit-any */
export interface EmbeddedRed {
  RED: any;
  getNode(id: string): any;
  stop(): Promise<void>;
}

/** A real Node-RED runtime with the flow (see test/lib/runtime.ts), quiet: only warnings are kept. */
export function startEmbedded(flow: object[], credentials?: Record<string, unknown>): Promise<EmbeddedRed> {
  return startRuntime(flow, { credentials, logLevel: 'warn' });
}

/** Percentile of a sorted array of numbers. */
function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

export function summarize(latencies: number[]): { p50: number; p99: number; max: number } {
  const s = [...latencies].sort((a, b) => a - b);
  return { p50: percentile(s, 50), p99: percentile(s, 99), max: s[s.length - 1] };
}

/** `--name value` from the command line, or the fallback. */
export function option(name: string, fallback?: string): string | undefined {
  const argv = process.argv.slice(2);
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && argv[i + 1] !== undefined ? argv[i + 1] : fallback;
}

/** Polls `check` every few ms until it gives a value, or undefined after `ms` (a miss is counted, not thrown). */
export async function until<T>(check: () => T | undefined | false | Promise<T | undefined | false>, ms: number, everyMs = 5): Promise<T | undefined> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > end) return undefined;
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
