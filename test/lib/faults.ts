/**
 * What the fault-injection suites (test/faults/) share: the scale of a run, the outcome of a case and the table
 * they print, and the transcript of everything the runtimes wrote, grepped for the secrets they were given.
 */
import type { LogRecord } from './runtime';

/** FAULTS_SCALE=4 (npm run test:faults): four times the jobs and the longer outages; 1 in `npm test`. */
export const SCALE = Math.max(1, Number(process.env.FAULTS_SCALE) || 1);

export interface Outcome {
  fault: string;
  jobs: number;
  lost: number;
  duplicated: number;
  deadLettered: number;
  /** From the fault's injection until every job's effect was there (the outage included). */
  recoveryMs: number;
}

/** The table each suite prints (the README keeps the latest one of `npm run test:faults`). */
export function faultTable(outcomes: Outcome[]): string {
  const line = (o: Outcome) => `| ${o.fault} | ${o.jobs} | ${o.lost} | ${o.duplicated} | ${o.deadLettered} | ${(o.recoveryMs / 1000).toFixed(1)} s |`;
  return `\n      | fault | jobs | lost | duplicated | dead-lettered | done after the fault |\n      | --- | --- | --- | --- | --- | --- |\n${outcomes
    .map((o) => `      ${line(o)}`)
    .join('\n')}\n\n`;
}

/**
 * Everything the runtimes of a suite wrote where an operator or a scraper can read it: log records, child
 * replicas' output, flow exports, /metrics, error messages, dead letters. `leaks` finds any of the secrets in it
 * (also URL-encoded or base64-encoded).
 */
export class Transcript {
  private readonly parts: Array<{ source: string; text: string }> = [];

  add(source: string, value: unknown): void {
    let text: string;
    if (typeof value === 'string') text = value;
    else if (Buffer.isBuffer(value)) text = value.toString('utf8');
    else {
      try {
        text = JSON.stringify(value, (_k, v: unknown) =>
          typeof v === 'bigint' ? String(v) : v instanceof Error ? { ...v, message: v.message, stack: v.stack } : v,
        );
      } catch {
        text = String(value);
      }
    }
    if (text) this.parts.push({ source, text });
  }

  /** Log records of an in-process runtime (Node-RED's log handler), each as one line. */
  addLogs(source: string, logs: LogRecord[]): void {
    this.add(source, logs.map((r) => JSON.stringify(r)).join('\n'));
  }

  get size(): number {
    return this.parts.reduce((n, p) => n + p.text.length, 0);
  }

  get sources(): string[] {
    return [...new Set(this.parts.map((p) => p.source))];
  }

  /** "source (size)" for each source, for the test's output. */
  summary(): string {
    const sizes = new Map<string, number>();
    for (const p of this.parts) sizes.set(p.source, (sizes.get(p.source) ?? 0) + p.text.length);
    return [...sizes].map(([s, n]) => `${s} (${n >= 1e6 ? `${(n / 1e6).toFixed(1)} MB` : `${Math.ceil(n / 1e3)} kB`})`).join(', ');
  }

  /** Which secret appears where (with 60 characters around it). */
  leaks(secrets: Record<string, string>): Array<{ secret: string; source: string; context: string }> {
    const found: Array<{ secret: string; source: string; context: string }> = [];
    for (const [name, value] of Object.entries(secrets)) {
      if (!value || value.length < 8) throw new Error(`secret ${name} is too short to grep for meaningfully`);
      const forms = new Set([value, encodeURIComponent(value), Buffer.from(value).toString('base64')]);
      for (const p of this.parts) {
        for (const form of forms) {
          const at = p.text.indexOf(form);
          if (at >= 0) found.push({ secret: name, source: p.source, context: p.text.slice(Math.max(0, at - 60), at + form.length + 60) });
        }
      }
    }
    return found;
  }
}
