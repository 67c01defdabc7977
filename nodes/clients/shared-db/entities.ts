/**
 * What the upsert writes: one spec per shared table (its key, columns and their types), and the checks that
 * turn a record from a flow into a row or into a clear BAD_INPUT error naming the record and the column.
 */
import { badInput } from '../common/errors';

export type ColumnType = 'int' | 'numeric' | 'text' | 'timestamptz' | 'date' | 'bool';

export interface ColumnSpec {
  type: ColumnType;
  /** For text: the VARCHAR length; longer values are rejected, not cut. */
  max?: number;
  required?: boolean;
  /** Allowed values for short status-like columns. */
  oneOf?: readonly string[];
  /**
   * Value of a NOT NULL column when a record leaves it out (or sends null) while others of the batch set it;
   * a function is evaluated per batch (e.g. now).
   */
  default?: unknown;
}

export interface Resolve {
  /** Column filled from another table, e.g. patient_id. */
  target: string;
  /** Input column carrying the other table's Odoo id, e.g. patient_odoo_id. */
  from: string;
  table: string;
  /** Column of the other table matched against `from`. */
  match: string;
}

export interface EntitySpec {
  name: string;
  table: string;
  /** The unique column(s) that identify a record: the ON CONFLICT target. */
  keys: string[];
  columns: Record<string, ColumnSpec>;
  /** Source write date column: an older version never overwrites a newer one. */
  versionColumn?: string;
  resolve?: Resolve;
}

const ENTITIES: Record<string, EntitySpec> = {
  patients: {
    name: 'patients',
    table: 'shared_patients',
    keys: ['odoo_id'],
    versionColumn: 'odoo_write_date',
    columns: {
      odoo_id: { type: 'int', required: true },
      name: { type: 'text', max: 255, required: true },
      email: { type: 'text', max: 255 },
      phone: { type: 'text', max: 50 },
      vat: { type: 'text', max: 50 },
      birthdate: { type: 'date' },
      active: { type: 'bool', default: true },
      odoo_write_date: { type: 'timestamptz' },
    },
  },
  appointments: {
    name: 'appointments',
    table: 'shared_appointments',
    keys: ['odoo_id'],
    versionColumn: 'odoo_write_date',
    resolve: { target: 'patient_id', from: 'patient_odoo_id', table: 'shared_patients', match: 'odoo_id' },
    columns: {
      odoo_id: { type: 'int', required: true },
      patient_odoo_id: { type: 'int' },
      name: { type: 'text', max: 255 },
      datetime: { type: 'timestamptz' },
      end_datetime: { type: 'timestamptz' },
      status: { type: 'text', max: 50 },
      doctor_name: { type: 'text', max: 255 },
      active: { type: 'bool', default: true },
      odoo_write_date: { type: 'timestamptz' },
    },
  },
  medications: {
    name: 'medications',
    table: 'shared_medications',
    keys: ['odoo_product_id'],
    versionColumn: 'odoo_write_date',
    columns: {
      odoo_product_id: { type: 'int', required: true },
      name: { type: 'text', max: 255, required: true },
      generic_name: { type: 'text', max: 255 },
      category: { type: 'text', max: 100 },
      stock_quantity: { type: 'numeric', default: 0 },
      min_stock_level: { type: 'numeric' },
      max_stock_level: { type: 'numeric' },
      unit_price: { type: 'numeric' },
      expiration_date: { type: 'date' },
      supplier_id: { type: 'int' },
      active: { type: 'bool', default: true },
      sync_status: { type: 'text', max: 20, default: 'synced' },
      odoo_write_date: { type: 'timestamptz' },
    },
  },
  stock_movements: {
    name: 'stock_movements',
    table: 'shared_stock_movements',
    keys: ['odoo_move_id'],
    resolve: { target: 'medication_id', from: 'odoo_product_id', table: 'shared_medications', match: 'odoo_product_id' },
    columns: {
      odoo_move_id: { type: 'int', required: true },
      odoo_product_id: { type: 'int', required: true },
      external_ref: { type: 'text', max: 100 },
      source: { type: 'text', max: 20, oneOf: ['odoo', 'pharmacy'], default: 'odoo' },
      movement_type: { type: 'text', max: 20, required: true, oneOf: ['in', 'out', 'adjustment'] },
      quantity: { type: 'numeric', required: true },
      reference_document: { type: 'text', max: 100 },
      movement_date: { type: 'timestamptz', default: () => new Date().toISOString() },
      user_id: { type: 'int' },
      notes: { type: 'text' },
      sync_status: { type: 'text', max: 20, default: 'synced' },
    },
  },
};

/** Stock movements recorded on the pharmacy side: keyed by their own reference until Odoo has them. */
ENTITIES.pharmacy_movements = {
  ...ENTITIES.stock_movements,
  name: 'pharmacy_movements',
  keys: ['external_ref'],
  columns: {
    ...ENTITIES.stock_movements.columns,
    odoo_move_id: { type: 'int' },
    external_ref: { type: 'text', max: 100, required: true },
    source: { type: 'text', max: 20, oneOf: ['odoo', 'pharmacy'], default: 'pharmacy' },
    sync_status: { type: 'text', max: 20, default: 'pending' },
  },
};

export const ENTITY_NAMES = Object.keys(ENTITIES);

export function entitySpec(name: string): EntitySpec {
  const spec = ENTITIES[name];
  if (!spec) throw badInput('shared-db', `Unknown shared-db entity "${name}"; use one of: ${ENTITY_NAMES.join(', ')}`);
  return spec;
}

const ODOO_DATETIME = /^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/;
const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;

/**
 * One value checked and converted for its column. Odoo sends `false` for empty fields and naive UTC
 * datetimes ("2025-01-31 10:00:00"); both are understood. Returns an error text instead of throwing.
 */
function convertValue(value: unknown, col: ColumnSpec): { ok: true; value: unknown } | { ok: false; reason: string } {
  if (value === null || value === undefined || (value === false && col.type !== 'bool')) {
    return col.required ? { ok: false, reason: 'is required' } : { ok: true, value: null };
  }
  switch (col.type) {
    case 'int': {
      const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
      if (typeof n !== 'number' || !Number.isInteger(n) || Math.abs(n) > 2147483647)
        return { ok: false, reason: `must be a whole number, got ${JSON.stringify(value)}` };
      return { ok: true, value: n };
    }
    case 'numeric': {
      const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
      if (typeof n !== 'number' || !Number.isFinite(n)) return { ok: false, reason: `must be a number, got ${JSON.stringify(value)}` };
      return { ok: true, value: n };
    }
    case 'bool':
      if (typeof value !== 'boolean') return { ok: false, reason: `must be true or false, got ${JSON.stringify(value)}` };
      return { ok: true, value };
    case 'text': {
      if (typeof value !== 'string' && typeof value !== 'number') return { ok: false, reason: `must be text, got ${typeof value}` };
      const s = String(value);
      if (s.includes('\u0000')) return { ok: false, reason: 'contains a NUL character' };
      if (col.max !== undefined && s.length > col.max) return { ok: false, reason: `is longer than ${col.max} characters` };
      if (col.oneOf && !col.oneOf.includes(s)) return { ok: false, reason: `must be one of ${col.oneOf.join(', ')}, got "${s}"` };
      return { ok: true, value: s };
    }
    case 'date': {
      if (value instanceof Date && !Number.isNaN(value.getTime())) return { ok: true, value: value.toISOString().slice(0, 10) };
      if (typeof value === 'string' && DATE_ONLY.test(value) && !Number.isNaN(Date.parse(value))) return { ok: true, value };
      return { ok: false, reason: `must be a date YYYY-MM-DD, got ${JSON.stringify(value)}` };
    }
    case 'timestamptz': {
      if (value instanceof Date && !Number.isNaN(value.getTime())) return { ok: true, value: value.toISOString() };
      if (typeof value === 'number' && Number.isFinite(value)) return { ok: true, value: new Date(value).toISOString() };
      if (typeof value === 'string') {
        // Odoo datetimes carry no zone and are UTC.
        const text = ODOO_DATETIME.test(value) ? `${value.replace(' ', 'T')}Z` : value;
        const t = Date.parse(text);
        if (!Number.isNaN(t)) return { ok: true, value: new Date(t).toISOString() };
      }
      return { ok: false, reason: `must be a date-time, got ${JSON.stringify(value)}` };
    }
  }
}

export interface PreparedBatch {
  columns: string[];
  /** Column-major values, one array per column: what unnest() takes. */
  arrays: unknown[][];
  rows: number;
  duplicatesDropped: number;
}

export interface PrepareOptions {
  /** Ignore properties that are not columns (default false: they are an error, to catch typos). */
  ignoreUnknown?: boolean;
}

/**
 * Checks a batch and lays it out per column. Every problem of the batch is reported at once (up to 10),
 * naming the record's position and key; nothing is written when any record is bad.
 */
export function prepareBatch(spec: EntitySpec, records: unknown[], options: PrepareOptions = {}): PreparedBatch {
  if (!Array.isArray(records) || records.length === 0) {
    throw badInput('shared-db', `Upsert of ${spec.name} needs msg.payload to be a record or a non-empty array of records`);
  }
  const known = Object.keys(spec.columns);
  const present = new Set<string>(spec.keys);
  const problems: string[] = [];
  for (let i = 0; i < records.length && problems.length < 10; i++) {
    const r = records[i];
    if (!r || typeof r !== 'object' || Array.isArray(r)) {
      problems.push(`record ${i} is not an object`);
      continue;
    }
    for (const k of Object.keys(r)) {
      if (spec.columns[k]) present.add(k);
      else if (!options.ignoreUnknown) problems.push(`record ${i} has unknown property "${k}" (columns: ${known.join(', ')})`);
    }
  }
  for (const [name, col] of Object.entries(spec.columns)) if (col.required) present.add(name);
  const columns = known.filter((c) => present.has(c));

  const defaults: Record<string, unknown> = {};
  for (const c of columns) {
    const d = spec.columns[c].default;
    if (d !== undefined) defaults[c] = typeof d === 'function' ? (d as () => unknown)() : d;
  }

  // Last occurrence of a key wins: one statement may not touch the same row twice.
  const byKey = new Map<string, number>();
  const converted: unknown[][] = [];
  for (let i = 0; i < records.length && problems.length < 10; i++) {
    const r = records[i] as Record<string, unknown>;
    if (!r || typeof r !== 'object') continue;
    const row: unknown[] = [];
    let bad = false;
    for (const c of columns) {
      const res = convertValue(r[c] ?? defaults[c], spec.columns[c]);
      if (!res.ok) {
        const key = spec.keys.map((k) => `${k}=${JSON.stringify(r[k])}`).join(', ');
        problems.push(`record ${i} (${key}): ${c} ${res.reason}`);
        bad = true;
        continue;
      }
      row.push(res.value);
    }
    if (bad) continue;
    const key = spec.keys.map((k) => String(row[columns.indexOf(k)])).join('\u0001');
    const previous = byKey.get(key);
    if (previous !== undefined) converted[previous] = row;
    else {
      byKey.set(key, converted.length);
      converted.push(row);
    }
  }
  if (problems.length) {
    throw badInput('shared-db', `Upsert of ${spec.name} rejected the batch, nothing was written: ${problems.join('; ')}`, {
      entity: spec.name,
      problems,
    });
  }
  const arrays = columns.map((_, ci) => converted.map((row) => row[ci]));
  return { columns, arrays, rows: converted.length, duplicatesDropped: records.length - converted.length };
}
