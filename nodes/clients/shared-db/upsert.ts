/**
 * Idempotent batch upsert into the shared tables: one transaction per batch, one statement per chunk of
 * up to 20,000 rows, values passed as one typed array per column (unnest), so no value ever reaches the SQL
 * text and the parameter count does not grow with the batch. A repeat of the same batch changes nothing:
 * rows whose values are equal are left alone (last_sync included) and counted as unchanged; a record older
 * than the stored one (by its Odoo write date) never overwrites it. The batch's correlation id is set for the
 * transaction (`clinica.correlation_id`) so that what a trigger raises names the change that caused it.
 */
import { entitySpec, prepareBatch, type ColumnType, type EntitySpec, type PreparedBatch, type PrepareOptions } from './entities';
import { quoteIdent, type Queryable, type SharedDb } from './pool';

const ARRAY_TYPE: Record<ColumnType, string> = {
  int: 'int4[]',
  numeric: 'numeric[]',
  text: 'text[]',
  timestamptz: 'timestamptz[]',
  date: 'date[]',
  bool: 'bool[]',
};

const UPSERT_CHUNK_ROWS = 20000;

export interface UpsertResult {
  entity: string;
  table: string;
  received: number;
  rows: number;
  inserted: number;
  updated: number;
  unchanged: number;
  duplicatesDropped: number;
}

/** The statement for one spec and column set (cached: batches of one shape share it). */
function upsertStatement(spec: EntitySpec, columns: string[]): string {
  const q = quoteIdent;
  const insertCols = [...columns];
  const selectCols = columns.map((c) => `u.${q(c)}`);
  let join = '';
  if (spec.resolve && columns.includes(spec.resolve.from)) {
    insertCols.push(spec.resolve.target);
    selectCols.push('r.id');
    join = ` LEFT JOIN ${q(spec.resolve.table)} r ON r.${q(spec.resolve.match)} = u.${q(spec.resolve.from)}`;
  }
  const source = columns.map((c, i) => `$${i + 1}::${ARRAY_TYPE[spec.columns[c].type]}`).join(', ');
  const updatable = insertCols.filter((c) => !spec.keys.includes(c));
  let onConflict: string;
  if (updatable.length === 0) {
    onConflict = 'DO NOTHING';
  } else {
    const set = [...updatable.map((c) => `${q(c)} = EXCLUDED.${q(c)}`), 'last_sync = now()'].join(', ');
    const changed = `ROW(${updatable.map((c) => `t.${q(c)}`).join(', ')}) IS DISTINCT FROM ROW(${updatable.map((c) => `EXCLUDED.${q(c)}`).join(', ')})`;
    const v = spec.versionColumn && columns.includes(spec.versionColumn) ? q(spec.versionColumn) : undefined;
    const fresh = v ? ` AND (EXCLUDED.${v} IS NULL OR t.${v} IS NULL OR EXCLUDED.${v} >= t.${v})` : '';
    onConflict = `DO UPDATE SET ${set} WHERE ${changed}${fresh}`;
  }
  return `WITH written AS (
  INSERT INTO ${q(spec.table)} AS t (${[...insertCols, 'last_sync'].map(q).join(', ')})
  SELECT ${[...selectCols, 'now()'].join(', ')} FROM unnest(${source}) AS u(${columns.map(q).join(', ')})${join}
  ON CONFLICT (${spec.keys.map(q).join(', ')}) ${onConflict}
  RETURNING (xmax = 0) AS inserted)
SELECT count(*) FILTER (WHERE inserted)::int AS inserted, count(*) FILTER (WHERE NOT inserted)::int AS updated FROM written`;
}

const statements = new Map<string, string>();

function statementFor(spec: EntitySpec, columns: string[]): string {
  const key = `${spec.name}|${columns.join(',')}`;
  let sql = statements.get(key);
  if (!sql) {
    sql = upsertStatement(spec, columns);
    statements.set(key, sql);
  }
  return sql;
}

/** Writes an already checked batch inside the caller's transaction. */
async function writeBatch(client: Queryable, spec: EntitySpec, batch: PreparedBatch, received: number): Promise<UpsertResult> {
  const sql = statementFor(spec, batch.columns);
  let inserted = 0;
  let updated = 0;
  for (let start = 0; start < batch.rows; start += UPSERT_CHUNK_ROWS) {
    const params = batch.arrays.map((a) => (batch.rows <= UPSERT_CHUNK_ROWS ? a : a.slice(start, start + UPSERT_CHUNK_ROWS)));
    const res = await client.query<{ inserted: number; updated: number }>(sql, params);
    inserted += res.rows[0].inserted;
    updated += res.rows[0].updated;
  }
  return {
    entity: spec.name,
    table: spec.table,
    received,
    rows: batch.rows,
    inserted,
    updated,
    unchanged: batch.rows - inserted - updated,
    duplicatesDropped: batch.duplicatesDropped,
  };
}

/** Upserts a batch of one entity (patients, appointments, medications, stock_movements, pharmacy_movements). */
export async function upsert(
  db: SharedDb,
  entity: string,
  records: unknown[],
  options: PrepareOptions & { correlationId?: string } = {},
): Promise<UpsertResult> {
  const spec = entitySpec(entity);
  // Checked before taking a connection: a bad batch never opens a transaction.
  const batch = prepareBatch(spec, records, options);
  return db.transaction(async (client) => {
    // What the triggers record as the cause of what they raise (a stock alert names the change that caused it).
    if (options.correlationId) await client.query("SELECT set_config('clinica.correlation_id', $1, true)", [options.correlationId.slice(0, 100)]);
    return writeBatch(client, spec, batch, records.length);
  }, `upsert of ${spec.name} into ${spec.table}`);
}
