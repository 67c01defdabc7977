/**
 * Versioned, idempotent migrations of `clinica_shared` (docs/mission.md "Shared database"). Each runs once, in
 * its own transaction, under an advisory lock so that two Node-RED instances starting together do not race;
 * an applied migration whose text changed is reported, never silently re-run.
 */
import { createHash } from 'node:crypto';
import { IntegrationError } from '../common/errors';
import { type SharedDb, watchCheckedOut } from './pool';

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
  {
    version: 4,
    name: 'stock alerts: one per crossing under the minimum, an outbox, deliveries per channel and every attempt audited',
    sql: `
-- One row per medication that was ever under its minimum: low now? how many crossings so far?
CREATE TABLE IF NOT EXISTS stock_alert_state (
  medication_id INTEGER PRIMARY KEY REFERENCES shared_medications(id) ON DELETE CASCADE,
  low           BOOLEAN NOT NULL,
  crossings     INTEGER NOT NULL DEFAULT 0,
  changed_at    TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- One row per crossing (unique per medication and crossing number), and the outbox of its queue message.
CREATE TABLE IF NOT EXISTS stock_alerts (
  id                    BIGSERIAL PRIMARY KEY,
  medication_id         INTEGER NOT NULL REFERENCES shared_medications(id) ON DELETE CASCADE,
  odoo_product_id       INTEGER NOT NULL,
  medication_name       VARCHAR(255) NOT NULL,
  crossing              INTEGER NOT NULL,
  stock_quantity        NUMERIC(14,3) NOT NULL,
  min_stock_level       NUMERIC(14,3) NOT NULL,
  raised_at             TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(),
  rearmed_at            TIMESTAMPTZ,
  correlation_id        VARCHAR(100),
  published_at          TIMESTAMPTZ,
  publish_attempts      INTEGER NOT NULL DEFAULT 0,
  publish_claimed_until TIMESTAMPTZ,
  publish_error         TEXT,
  UNIQUE (medication_id, crossing)
);
CREATE INDEX IF NOT EXISTS stock_alerts_outbox_idx ON stock_alerts (id) WHERE published_at IS NULL;
CREATE INDEX IF NOT EXISTS stock_alerts_raised_idx ON stock_alerts (raised_at DESC, id DESC);

-- Subscribers of the signed webhooks (managed through /api/webhook-subscribers; the secret is never read back).
CREATE TABLE IF NOT EXISTS webhook_subscribers (
  id          SERIAL PRIMARY KEY,
  url         TEXT NOT NULL,
  secret      TEXT NOT NULL,
  event_types TEXT[] NOT NULL DEFAULT '{stock.low}',
  active      BOOLEAN NOT NULL DEFAULT TRUE,
  description VARCHAR(255),
  created_by  VARCHAR(255),
  created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
  deleted_at  TIMESTAMPTZ
);

-- The state of one alert on one channel (subscriber 0 = the channel itself; a webhook subscriber's id otherwise).
CREATE TABLE IF NOT EXISTS alert_deliveries (
  alert_id        BIGINT NOT NULL REFERENCES stock_alerts(id) ON DELETE CASCADE,
  channel         VARCHAR(20) NOT NULL CHECK (channel IN ('queue', 'email', 'webhook', 'odoo')),
  subscriber_id   INTEGER NOT NULL DEFAULT 0,
  state           VARCHAR(20) NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'retrying', 'delivered', 'failed')),
  attempts        INTEGER NOT NULL DEFAULT 0,
  last_attempt_at TIMESTAMPTZ,
  last_outcome    VARCHAR(20),
  last_status     INTEGER,
  last_answer     TEXT,
  last_error      TEXT,
  next_retry_at   TIMESTAMPTZ,
  delivered_at    TIMESTAMPTZ,
  external_id     VARCHAR(255),
  replays         INTEGER NOT NULL DEFAULT 0,
  created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
  PRIMARY KEY (alert_id, channel, subscriber_id)
);
CREATE INDEX IF NOT EXISTS alert_deliveries_open_idx ON alert_deliveries (state) WHERE state <> 'delivered';

-- Every attempt, as it happened.
CREATE TABLE IF NOT EXISTS alert_delivery_attempts (
  id             BIGSERIAL PRIMARY KEY,
  alert_id       BIGINT NOT NULL REFERENCES stock_alerts(id) ON DELETE CASCADE,
  channel        VARCHAR(20) NOT NULL,
  subscriber_id  INTEGER NOT NULL DEFAULT 0,
  attempt        INTEGER NOT NULL,
  attempted_at   TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(),
  outcome        VARCHAR(20) NOT NULL CHECK (outcome IN ('delivered', 'retry', 'failed')),
  http_status    INTEGER,
  answer         TEXT,
  duration_ms    INTEGER,
  next_retry_at  TIMESTAMPTZ,
  error_code     VARCHAR(100),
  error          TEXT,
  correlation_id VARCHAR(100)
);
CREATE INDEX IF NOT EXISTS alert_delivery_attempts_alert_idx ON alert_delivery_attempts (alert_id, channel, subscriber_id, attempt);

-- The crossing is decided here, in the transaction that changes the stock, whoever changes it: a row lock on the
-- state row makes two writers (two Node-RED processes, a poll and a webhook) raise one alert per crossing.
CREATE OR REPLACE FUNCTION shared_stock_alert_check() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  is_low boolean := NEW.active AND NEW.min_stock_level IS NOT NULL AND NEW.stock_quantity < NEW.min_stock_level;
  n integer;
  alert stock_alerts;
BEGIN
  IF is_low THEN
    INSERT INTO stock_alert_state AS s (medication_id, low, crossings, changed_at) VALUES (NEW.id, true, 1, now())
    ON CONFLICT (medication_id) DO UPDATE SET low = true, crossings = s.crossings + 1, changed_at = now() WHERE NOT s.low
    RETURNING crossings INTO n;
    IF FOUND THEN
      INSERT INTO stock_alerts (medication_id, odoo_product_id, medication_name, crossing, stock_quantity, min_stock_level, correlation_id)
      VALUES (NEW.id, NEW.odoo_product_id, NEW.name, n, NEW.stock_quantity, NEW.min_stock_level,
              NULLIF(current_setting('clinica.correlation_id', true), ''))
      RETURNING * INTO alert;
      PERFORM pg_notify('stock_alerts', json_build_object(
        'id', alert.id, 'medication_id', alert.medication_id, 'odoo_product_id', alert.odoo_product_id, 'name', alert.medication_name,
        'quantity', alert.stock_quantity, 'minimum', alert.min_stock_level, 'crossing', alert.crossing,
        'raised_at', alert.raised_at, 'correlation_id', alert.correlation_id)::text);
    END IF;
  ELSE
    UPDATE stock_alert_state SET low = false, changed_at = now() WHERE medication_id = NEW.id AND low RETURNING crossings INTO n;
    IF FOUND THEN
      UPDATE stock_alerts SET rearmed_at = clock_timestamp() WHERE medication_id = NEW.id AND crossing = n;
    END IF;
  END IF;
  RETURN NULL;
END $$;
DROP TRIGGER IF EXISTS shared_medications_stock_alert_insert ON shared_medications;
CREATE TRIGGER shared_medications_stock_alert_insert AFTER INSERT ON shared_medications
  FOR EACH ROW WHEN (NEW.active AND NEW.stock_quantity < NEW.min_stock_level) EXECUTE FUNCTION shared_stock_alert_check();
DROP TRIGGER IF EXISTS shared_medications_stock_alert_update ON shared_medications;
CREATE TRIGGER shared_medications_stock_alert_update AFTER UPDATE OF stock_quantity, min_stock_level, active ON shared_medications
  FOR EACH ROW WHEN (OLD.stock_quantity IS DISTINCT FROM NEW.stock_quantity OR OLD.min_stock_level IS DISTINCT FROM NEW.min_stock_level
                     OR OLD.active IS DISTINCT FROM NEW.active)
  EXECUTE FUNCTION shared_stock_alert_check();

-- Medications already under their minimum when this is installed raise their alert now, like a first sync would.
INSERT INTO stock_alert_state (medication_id, low, crossings)
  SELECT id, true, 1 FROM shared_medications WHERE active AND stock_quantity < min_stock_level
  ON CONFLICT DO NOTHING;
INSERT INTO stock_alerts (medication_id, odoo_product_id, medication_name, crossing, stock_quantity, min_stock_level, correlation_id)
  SELECT id, odoo_product_id, name, 1, stock_quantity, min_stock_level, 'migration-4' FROM shared_medications
   WHERE active AND stock_quantity < min_stock_level
  ON CONFLICT DO NOTHING;

-- The outbox: alerts not yet published, taken under a lease so that one process publishes each (SKIP LOCKED).
CREATE OR REPLACE FUNCTION stock_alerts_claim(p_lease_seconds integer, p_limit integer) RETURNS SETOF stock_alerts LANGUAGE sql AS $$
  UPDATE stock_alerts a
     SET publish_claimed_until = clock_timestamp() + make_interval(secs => p_lease_seconds), publish_attempts = a.publish_attempts + 1
   WHERE a.id IN (SELECT id FROM stock_alerts
                   WHERE published_at IS NULL AND (publish_claimed_until IS NULL OR publish_claimed_until <= clock_timestamp())
                   ORDER BY id LIMIT p_limit FOR UPDATE SKIP LOCKED)
  RETURNING a.*;
$$;

-- A channel takes up an alert: its delivery row, created once (pending) and returned as it stands.
CREATE OR REPLACE FUNCTION alert_delivery_open(p_alert bigint, p_channel text, p_subscriber integer) RETURNS alert_deliveries LANGUAGE sql AS $$
  INSERT INTO alert_deliveries AS d (alert_id, channel, subscriber_id) VALUES (p_alert, p_channel, COALESCE(p_subscriber, 0))
  ON CONFLICT (alert_id, channel, subscriber_id) DO UPDATE SET alert_id = d.alert_id
  RETURNING d.*;
$$;

-- One attempt: its audit row, and the delivery's state (a delivered one is never set back).
CREATE OR REPLACE FUNCTION alert_delivery_record(
  p_alert bigint, p_channel text, p_subscriber integer, p_outcome text, p_status integer, p_answer text, p_duration_ms integer,
  p_retry_in_ms integer, p_error_code text, p_error text, p_external_id text, p_correlation_id text
) RETURNS alert_deliveries LANGUAGE plpgsql AS $$
DECLARE
  d alert_deliveries;
  retry_at timestamptz := CASE WHEN p_outcome = 'retry' AND p_retry_in_ms IS NOT NULL
                               THEN clock_timestamp() + make_interval(secs => p_retry_in_ms / 1000.0) END;
BEGIN
  INSERT INTO alert_deliveries AS x (alert_id, channel, subscriber_id, state, attempts, last_attempt_at, last_outcome, last_status,
                                     last_answer, last_error, next_retry_at, delivered_at, external_id)
  VALUES (p_alert, p_channel, COALESCE(p_subscriber, 0),
          CASE p_outcome WHEN 'delivered' THEN 'delivered' WHEN 'retry' THEN 'retrying' ELSE 'failed' END,
          1, clock_timestamp(), p_outcome, p_status, left(p_answer, 1000), left(p_error, 2000), retry_at,
          CASE WHEN p_outcome = 'delivered' THEN clock_timestamp() END, p_external_id)
  ON CONFLICT (alert_id, channel, subscriber_id) DO UPDATE SET
    attempts = x.attempts + 1,
    state = CASE WHEN x.state = 'delivered' THEN 'delivered' ELSE EXCLUDED.state END,
    last_attempt_at = EXCLUDED.last_attempt_at, last_outcome = EXCLUDED.last_outcome, last_status = EXCLUDED.last_status,
    last_answer = EXCLUDED.last_answer, last_error = EXCLUDED.last_error, next_retry_at = EXCLUDED.next_retry_at,
    delivered_at = COALESCE(x.delivered_at, EXCLUDED.delivered_at), external_id = COALESCE(EXCLUDED.external_id, x.external_id)
  RETURNING * INTO d;
  INSERT INTO alert_delivery_attempts (alert_id, channel, subscriber_id, attempt, outcome, http_status, answer, duration_ms, next_retry_at,
                                       error_code, error, correlation_id)
  VALUES (p_alert, p_channel, COALESCE(p_subscriber, 0), d.attempts, p_outcome, p_status, left(p_answer, 1000), p_duration_ms, retry_at,
          p_error_code, left(p_error, 2000), p_correlation_id);
  RETURN d;
END $$;

-- A replay asked by an admin: the delivery back to pending (a delivered one stays as it is); what it was before,
-- how many replays it had, and the alert to send again.
CREATE OR REPLACE FUNCTION alert_delivery_replay(p_alert bigint, p_channel text, p_subscriber integer)
RETURNS TABLE (previous_state text, replays integer, alert json) LANGUAGE plpgsql AS $$
DECLARE
  d alert_deliveries;
BEGIN
  SELECT * INTO d FROM alert_deliveries x
   WHERE x.alert_id = p_alert AND x.channel = p_channel AND x.subscriber_id = COALESCE(p_subscriber, 0) FOR UPDATE;
  IF NOT FOUND THEN
    RETURN;
  END IF;
  IF d.state <> 'delivered' THEN
    UPDATE alert_deliveries x SET state = 'pending', next_retry_at = NULL, replays = x.replays + 1
     WHERE x.alert_id = p_alert AND x.channel = p_channel AND x.subscriber_id = COALESCE(p_subscriber, 0);
    d.replays := d.replays + 1;
  END IF;
  RETURN QUERY SELECT d.state::text, d.replays, row_to_json(a) FROM stock_alerts a WHERE a.id = p_alert;
END $$;
`,
  },
  {
    version: 5,
    name: 'API gateway: rate-limit counters shared by every Node-RED process, and the audit of patient-data access',
    sql: `
-- rate-limiter-flexible's PostgreSQL store (its own layout): one row per client and route class. UNLOGGED: a crash
-- forgets the current windows (at worst a client gets a fresh window), and no WAL is written per request.
CREATE UNLOGGED TABLE IF NOT EXISTS api_rate_limits (
  key    VARCHAR(255) PRIMARY KEY,
  points INTEGER NOT NULL DEFAULT 0,
  expire BIGINT
);

-- Every read or write of patient data through the API: who, with which roles, what, which patients, when.
CREATE TABLE IF NOT EXISTS api_audit (
  id             BIGSERIAL PRIMARY KEY,
  at             TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(),
  subject        VARCHAR(255),
  username       VARCHAR(255),
  roles          TEXT[] NOT NULL DEFAULT '{}',
  client         VARCHAR(255),
  method         VARCHAR(10) NOT NULL,
  route          VARCHAR(255) NOT NULL,
  path           TEXT NOT NULL,
  status         INTEGER NOT NULL,
  patient_ids    INTEGER[] NOT NULL DEFAULT '{}',
  correlation_id VARCHAR(100)
);
CREATE INDEX IF NOT EXISTS api_audit_at_idx ON api_audit (at DESC);
CREATE INDEX IF NOT EXISTS api_audit_patients_idx ON api_audit USING GIN (patient_ids);
`,
  },
  {
    version: 6,
    name: 'replicas: leases (one poller at a time), trigger cursors and pending re-reads in the shared database',
    sql: `
-- Who runs the polls and reconciles of a tab: one row per lease, taken or renewed with one UPSERT
-- (WHERE expires_at < now() OR holder = me); a holder that dies stops renewing and another takes over.
CREATE TABLE IF NOT EXISTS leases (
  name        VARCHAR(200) PRIMARY KEY,
  holder      VARCHAR(200) NOT NULL,
  expires_at  TIMESTAMPTZ NOT NULL,
  acquired_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- The cursor of a clinica-odoo-trigger that names the shared database: (second, id) only moves forward.
CREATE TABLE IF NOT EXISTS odoo_trigger_cursors (
  name       VARCHAR(200) PRIMARY KEY,
  state      JSONB NOT NULL,
  updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- What a failed write left to re-read (a reconcile, Odoo moves from a write_date), for whichever replica polls next.
ALTER TABLE sync_state ADD COLUMN IF NOT EXISTS resync_pending BOOLEAN NOT NULL DEFAULT false;
ALTER TABLE sync_state ADD COLUMN IF NOT EXISTS resync_from VARCHAR(32);
`,
  },
  {
    version: 7,
    name: 'trace events: the path of a correlation id through the systems (what the monitor shows)',
    sql: `
-- One row per step a message took through the pack's nodes (a queue, Nextcloud, Odoo, an answer), by correlation id.
-- Written in batches by the pack's plugin, rate-capped; kept for CLINICA_TRACE_DAYS (7 by default).
CREATE TABLE IF NOT EXISTS trace_events (
  id             BIGSERIAL PRIMARY KEY,
  at             TIMESTAMPTZ NOT NULL,
  correlation_id VARCHAR(100) NOT NULL,
  system         VARCHAR(40) NOT NULL,
  step           TEXT NOT NULL,
  ok             BOOLEAN NOT NULL,
  error_code     VARCHAR(100),
  node_type      VARCHAR(100) NOT NULL,
  flow           VARCHAR(100)
);
CREATE INDEX IF NOT EXISTS trace_events_correlation_idx ON trace_events (correlation_id, at);
CREATE INDEX IF NOT EXISTS trace_events_at_idx ON trace_events (at);
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
  const checkedOut = watchCheckedOut(client);
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
    checkedOut.release();
  }
}
