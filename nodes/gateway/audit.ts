/**
 * The audit of patient-data access (api_audit, migration 5): one row per request that read or wrote patient data.
 * Rows are written by group commit — whatever requests are waiting go in one INSERT while the previous one runs —
 * so the audit costs one round trip per burst, not per request, and the answer waits for its row: if the row
 * cannot be written the request fails (patient data is never served unaudited).
 */
import type { Pool } from 'pg';

export interface AuditRow {
  at: string;
  subject: string | null;
  username: string | null;
  roles: string[];
  client: string | null;
  method: string;
  route: string;
  path: string;
  status: number;
  patient_ids: number[];
  correlation_id: string | null;
}

interface Waiting {
  row: AuditRow;
  resolve: () => void;
  reject: (err: unknown) => void;
}

export class AuditWriter {
  private waiting: Waiting[] = [];
  private writing = false;
  /** Rows written, batches written (for /metrics). */
  readonly stats = { rows: 0, batches: 0, failures: 0 };

  constructor(
    private readonly pool: Pool,
    private readonly maxBatch = 500,
  ) {}

  /** Resolves once the row is committed; rejects when it could not be (the caller fails the request). */
  write(row: AuditRow): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.waiting.push({ row, resolve, reject });
      if (!this.writing) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.writing = true;
    while (this.waiting.length) {
      const batch = this.waiting.splice(0, this.maxBatch);
      try {
        await this.pool.query(
          `INSERT INTO api_audit (at, subject, username, roles, client, method, route, path, status, patient_ids, correlation_id)
           SELECT at, subject, username, roles, client, method, route, path, status, patient_ids, correlation_id
             FROM json_populate_recordset(NULL::api_audit, $1::json)`,
          [JSON.stringify(batch.map((w) => w.row))],
        );
        this.stats.rows += batch.length;
        this.stats.batches += 1;
        for (const w of batch) w.resolve();
      } catch (err) {
        this.stats.failures += batch.length;
        for (const w of batch) w.reject(err);
      }
    }
    this.writing = false;
  }
}

/** The patient ids an answer names: a path parameter, or fields of its `data` items. */
export function patientIdsOf(spec: { param?: string; fields?: string[] }, params: Record<string, string>, body: unknown): number[] {
  const ids = new Set<number>();
  const add = (v: unknown) => {
    const n = typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v;
    if (Number.isInteger(n) && (n as number) > 0 && (n as number) <= 2147483647) ids.add(n as number);
  };
  if (spec.param) add(params[spec.param]);
  if (spec.fields?.length && body && typeof body === 'object') {
    const data = (body as { data?: unknown }).data ?? body;
    for (const item of Array.isArray(data) ? data : [data]) {
      if (!item || typeof item !== 'object') continue;
      for (const f of spec.fields) {
        const v = (item as Record<string, unknown>)[f];
        add(Array.isArray(v) ? v[0] : v);
      }
    }
  }
  return [...ids];
}
