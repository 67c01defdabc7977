/**
 * Versioned, idempotent migrations of `clinica_shared` (docs/mission.md "Shared database"). Each runs once, in
 * its own transaction, under an advisory lock so that two Node-RED instances starting together do not race;
 * an applied migration whose text changed is reported, never silently re-run.
 */
import { createHash } from 'node:crypto';
import { IntegrationError } from '../common/errors';
import { type SharedDb } from './pool';

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

const SHARED_TABLES = ['shared_patients', 'shared_appointments', 'shared_medications', 'shared_stock_movements'];

/** Statement-level change notifications: one NOTIFY per statement (not per row) on channel shared_changes. */
function notifyTriggers(): string {
  const parts: string[] = [];
  for (const table of SHARED_TABLES) {
    for (const op of ['INSERT', 'UPDATE', 'DELETE']) {
      const rows = op === 'DELETE' ? 'OLD' : 'NEW';
      parts.push(`
DROP TRIGGER IF EXISTS ${table}_notify_${op.toLowerCase()} ON ${table};
CREATE TRIGGER ${table}_notify_${op.toLowerCase()}
  AFTER ${op} ON ${table}
  REFERENCING ${rows} TABLE AS changed_rows
  FOR EACH STATEMENT EXECUTE FUNCTION shared_notify_changes();`);
    }
  }
  return parts.join('\n');
}

export const MIGRATIONS: Migration[] = [
  {
    version: 1,
    name: 'shared schema: patients, appointments, medications, stock movements, low_stock_alerts',
    sql: `
CREATE TABLE IF NOT EXISTS shared_patients (
  id              SERIAL PRIMARY KEY,
  odoo_id         INTEGER NOT NULL UNIQUE,
  name            VARCHAR(255) NOT NULL,
  email           VARCHAR(255),
  phone           VARCHAR(50),
  vat             VARCHAR(50),
  birthdate       DATE,
  active          BOOLEAN NOT NULL DEFAULT TRUE,
  odoo_write_date TIMESTAMPTZ,
  last_sync       TIMESTAMPTZ NOT NULL DEFAULT now(),
  created_at      TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS shared_appointments (
  id              SERIAL PRIMARY KEY,
  odoo_id         INTEGER NOT NULL UNIQUE,
  patient_id      INTEGER REFERENCES shared_patients(id) ON DELETE SET NULL,
  patient_odoo_id INTEGER,
  name            VARCHAR(255),
  datetime        TIMESTAMPTZ,
  end_datetime    TIMESTAMPTZ,
  status          VARCHAR(50),
  doctor_name     VARCHAR(255),
  active          BOOLEAN NOT NULL DEFAULT TRUE,
  odoo_write_date TIMESTAMPTZ,
  last_sync       TIMESTAMPTZ NOT NULL DEFAULT now(),
  created_at      TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS shared_appointments_patient_odoo_id_idx ON shared_appointments (patient_odoo_id);
CREATE INDEX IF NOT EXISTS shared_appointments_datetime_idx ON shared_appointments (datetime);

CREATE TABLE IF NOT EXISTS shared_medications (
  id               SERIAL PRIMARY KEY,
  odoo_product_id  INTEGER NOT NULL UNIQUE,
  name             VARCHAR(255) NOT NULL,
  generic_name     VARCHAR(255),
  category         VARCHAR(100),
  stock_quantity   NUMERIC(14,3) NOT NULL DEFAULT 0,
  min_stock_level  NUMERIC(14,3),
  max_stock_level  NUMERIC(14,3),
  unit_price       DECIMAL(10,2),
  expiration_date  DATE,
  supplier_id      INTEGER,
  active           BOOLEAN NOT NULL DEFAULT TRUE,
  odoo_write_date  TIMESTAMPTZ,
  last_sync        TIMESTAMPTZ NOT NULL DEFAULT now(),
  sync_status      VARCHAR(20) NOT NULL DEFAULT 'synced',
  created_at       TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS shared_stock_movements (
  id                 SERIAL PRIMARY KEY,
  medication_id      INTEGER REFERENCES shared_medications(id) ON DELETE CASCADE,
  odoo_product_id    INTEGER,
  odoo_move_id       INTEGER UNIQUE,
  external_ref       VARCHAR(100) UNIQUE,
  source             VARCHAR(20) NOT NULL DEFAULT 'odoo' CHECK (source IN ('odoo', 'pharmacy')),
  movement_type      VARCHAR(20) NOT NULL CHECK (movement_type IN ('in', 'out', 'adjustment')),
  quantity           NUMERIC(14,3) NOT NULL,
  reference_document VARCHAR(100),
  movement_date      TIMESTAMPTZ NOT NULL DEFAULT now(),
  user_id            INTEGER,
  notes              TEXT,
  sync_status        VARCHAR(20) NOT NULL DEFAULT 'synced',
  last_sync          TIMESTAMPTZ NOT NULL DEFAULT now(),
  created_at         TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS shared_stock_movements_medication_idx ON shared_stock_movements (medication_id, movement_date);
CREATE INDEX IF NOT EXISTS shared_stock_movements_pending_idx ON shared_stock_movements (sync_status) WHERE sync_status <> 'synced';

CREATE MATERIALIZED VIEW IF NOT EXISTS low_stock_alerts AS
  SELECT m.*, (m.stock_quantity < m.min_stock_level) AS is_low_stock,
         (m.min_stock_level - m.stock_quantity) AS shortage
    FROM shared_medications m
   WHERE m.active AND m.stock_quantity < m.min_stock_level;
CREATE UNIQUE INDEX IF NOT EXISTS low_stock_alerts_id_idx ON low_stock_alerts (id);

-- Sync bookkeeping: one row per sync (cursor = last write_date/id seen, counters, last error).
CREATE TABLE IF NOT EXISTS sync_state (
  name        VARCHAR(100) PRIMARY KEY,
  cursor      JSONB,
  last_run    TIMESTAMPTZ,
  last_error  TEXT,
  records     BIGINT NOT NULL DEFAULT 0,
  updated_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);
`,
  },
  {
    version: 2,
    name: 'appointments find their patient whenever it arrives',
    sql: `
CREATE OR REPLACE FUNCTION shared_link_appointments() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE shared_appointments a SET patient_id = p.id
    FROM new_patients p
   WHERE a.patient_odoo_id = p.odoo_id AND a.patient_id IS DISTINCT FROM p.id;
  RETURN NULL;
END $$;
DROP TRIGGER IF EXISTS shared_patients_link_appointments ON shared_patients;
CREATE TRIGGER shared_patients_link_appointments
  AFTER INSERT ON shared_patients REFERENCING NEW TABLE AS new_patients
  FOR EACH STATEMENT EXECUTE FUNCTION shared_link_appointments();
`,
  },
  {
    version: 3,
    name: 'change notifications on channel shared_changes',
    sql: `
CREATE OR REPLACE FUNCTION shared_notify_changes() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  n integer;
  ids integer[];
BEGIN
  SELECT count(*), (array_agg(id ORDER BY id))[1:200] INTO n, ids FROM changed_rows;
  IF n > 0 THEN
    PERFORM pg_notify('shared_changes', json_build_object(
      'table', TG_TABLE_NAME, 'op', lower(TG_OP), 'rows', n, 'ids', ids, 'truncated', n > 200)::text);
  END IF;
  RETURN NULL;
END $$;
${notifyTriggers()}
`,
  },
];

export interface MigrationReport {
  applied: Array<{ version: number; name: string }>;
  current: number;
}

const checksum = (sql: string) => createHash('sha256').update(sql).digest('hex');
const LOCK_KEY = 7267110; // arbitrary constant: "clinica_shared migrations"

/** Applies every migration not yet applied; returns what it did. Safe to run at every start. */
export async function migrate(db: SharedDb, migrations: Migration[] = MIGRATIONS): Promise<MigrationReport> {
  const client = await db.pool.connect().catch((err: unknown) => {
    throw new IntegrationError(`Shared DB migrations could not connect: ${(err as Error).message}`, {
      code: 'SHARED_DB_UNREACHABLE',
      system: 'shared-db',
      retryable: true,
      cause: err,
    });
  });
  const applied: MigrationReport['applied'] = [];
  try {
    await client.query('SELECT pg_advisory_lock($1)', [LOCK_KEY]);
    await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version INTEGER PRIMARY KEY, name TEXT NOT NULL, checksum TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())`);
    const done = new Map<number, string>();
    for (const row of (await client.query<{ version: number; checksum: string }>('SELECT version, checksum FROM schema_migrations')).rows) {
      done.set(row.version, row.checksum);
    }
    for (const m of [...migrations].sort((a, b) => a.version - b.version)) {
      const sum = checksum(m.sql);
      const previous = done.get(m.version);
      if (previous !== undefined) {
        if (previous !== sum) {
          throw new IntegrationError(
            `Shared DB migration ${m.version} ("${m.name}") was changed after it was applied; add a new migration instead of editing it`,
            { code: 'SHARED_DB_MIGRATION_CHANGED', system: 'shared-db', retryable: false, details: { version: m.version } },
          );
        }
        continue;
      }
      try {
        await client.query('BEGIN');
        await client.query(m.sql);
        await client.query('INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)', [m.version, m.name, sum]);
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw new IntegrationError(`Shared DB migration ${m.version} ("${m.name}") failed: ${(err as Error).message}`, {
          code: 'SHARED_DB_MIGRATION_FAILED',
          system: 'shared-db',
          retryable: false,
          cause: err,
          details: { version: m.version },
        });
      }
      applied.push({ version: m.version, name: m.name });
    }
    const current = Math.max(0, ...migrations.map((m) => m.version));
    return { applied, current };
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [LOCK_KEY]).catch(() => undefined);
    client.release();
  }
}
