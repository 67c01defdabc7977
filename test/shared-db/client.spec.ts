import { strict as assert } from 'node:assert';
import { SharedDb, migrate, upsert, MIGRATIONS, PgListener, type Notification } from '../../nodes/clients/shared-db';
import { type IntegrationError } from '../../nodes/clients/common/errors';
import { createTestDatabase, dropTestDatabase, killConnections } from '../lib/pg';
import { waitFor } from '../lib/harness';

describe('shared-db client (real PostgreSQL)', function () {
  let url: string;
  let db: SharedDb;

  before(async function () {
    url = await createTestDatabase();
    db = new SharedDb({ url });
  });

  after(async function () {
    await db?.close();
    if (url) await dropTestDatabase(url);
  });

  async function schemaFingerprint(): Promise<string> {
    const cols = await db.query(
      `SELECT table_name, column_name, data_type, is_nullable, column_default FROM information_schema.columns
        WHERE table_schema = 'public' ORDER BY table_name, ordinal_position`,
    );
    const views = await db.query(`SELECT matviewname, definition FROM pg_matviews ORDER BY 1`);
    const idx = await db.query(`SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' ORDER BY 1`);
    const trg = await db.query(`SELECT tgname FROM pg_trigger WHERE NOT tgisinternal ORDER BY 1`);
    return JSON.stringify([cols.rows, views.rows, idx.rows, trg.rows]);
  }

  describe('migrations', function () {
    it('creates the schema of docs/mission.md, then a second run changes nothing', async function () {
      const first = await migrate(db);
      assert.deepEqual(
        first.applied.map((m) => m.version),
        MIGRATIONS.map((m) => m.version),
      );
      const before = await schemaFingerprint();
      for (const table of ['shared_patients', 'shared_appointments', 'shared_medications', 'shared_stock_movements']) {
        assert.ok(before.includes(`"table_name":"${table}"`), `${table} exists`);
      }
      assert.ok(before.includes('low_stock_alerts'), 'materialized view exists');
      const second = await migrate(db);
      assert.deepEqual(second.applied, []);
      assert.equal(await schemaFingerprint(), before);
      const versions = await db.query('SELECT version FROM schema_migrations ORDER BY version');
      assert.deepEqual(
        versions.rows.map((r) => r.version),
        MIGRATIONS.map((m) => m.version),
      );
    });

    it("has the brief's columns on every shared table", async function () {
      const expected: Record<string, string[]> = {
        shared_patients: ['id', 'odoo_id', 'name', 'email', 'phone', 'last_sync'],
        shared_appointments: ['id', 'patient_id', 'datetime', 'status', 'doctor_name', 'odoo_id', 'last_sync'],
        shared_medications: [
          'id',
          'odoo_product_id',
          'name',
          'generic_name',
          'category',
          'stock_quantity',
          'min_stock_level',
          'max_stock_level',
          'unit_price',
          'expiration_date',
          'supplier_id',
          'last_sync',
          'sync_status',
        ],
        shared_stock_movements: ['id', 'medication_id', 'movement_type', 'quantity', 'reference_document', 'movement_date', 'user_id', 'notes'],
        low_stock_alerts: ['id', 'odoo_product_id', 'stock_quantity', 'min_stock_level', 'is_low_stock'],
      };
      for (const [table, columns] of Object.entries(expected)) {
        const res = await db.query<{ attname: string }>(`SELECT attname FROM pg_attribute WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped`, [
          table,
        ]);
        const have = res.rows.map((r) => r.attname);
        for (const c of columns) assert.ok(have.includes(c), `${table}.${c}`);
      }
    });

    it('refuses to run when an applied migration was edited', async function () {
      const edited = MIGRATIONS.map((m) => (m.version === 1 ? { ...m, sql: `${m.sql}\n-- edited` } : m));
      await assert.rejects(migrate(db, edited), (err: IntegrationError) => err.code === 'SHARED_DB_MIGRATION_CHANGED');
    });
  });

  describe('upsert', function () {
    const patients = (n: number, writeDate = '2025-03-01 10:00:00') =>
      Array.from({ length: n }, (_, i) => ({
        odoo_id: 1000 + i,
        name: `Paciente ${i}`,
        email: `p${i}@clinica.test`,
        phone: false,
        odoo_write_date: writeDate,
      }));

    it('inserts a batch, and the same batch again changes nothing (last_sync included)', async function () {
      const first = await upsert(db, 'patients', patients(250));
      assert.deepEqual([first.inserted, first.updated, first.unchanged], [250, 0, 0]);
      const syncBefore = await db.query('SELECT max(last_sync) AS t, count(*)::int AS n FROM shared_patients');
      const again = await upsert(db, 'patients', patients(250));
      assert.deepEqual([again.inserted, again.updated, again.unchanged], [0, 0, 250]);
      const syncAfter = await db.query('SELECT max(last_sync) AS t, count(*)::int AS n FROM shared_patients');
      assert.deepEqual(syncAfter.rows, syncBefore.rows);
    });

    it('updates only what changed, and never with an older version', async function () {
      const batch = patients(3, '2025-03-02 10:00:00');
      batch[0].name = 'Renamed';
      const stale = { ...patients(3, '2024-01-01 00:00:00')[1], name: 'Stale name' };
      const res = await upsert(db, 'patients', [batch[0], stale]);
      assert.equal(res.updated, 1);
      const rows = await db.query('SELECT odoo_id, name FROM shared_patients WHERE odoo_id IN (1000, 1001) ORDER BY odoo_id');
      assert.deepEqual(rows.rows, [
        { odoo_id: 1000, name: 'Renamed' },
        { odoo_id: 1001, name: 'Paciente 1' },
      ]);
    });

    it('keeps the last of duplicate keys in one batch', async function () {
      const res = await upsert(db, 'medications', [
        { odoo_product_id: 1, name: 'Paracetamol 500', stock_quantity: 10, min_stock_level: 20 },
        { odoo_product_id: 1, name: 'Paracetamol 500 mg', stock_quantity: 12, min_stock_level: 20 },
      ]);
      assert.equal(res.duplicatesDropped, 1);
      const row = await db.query('SELECT name, stock_quantity::float AS q FROM shared_medications WHERE odoo_product_id = 1');
      assert.deepEqual(row.rows[0], { name: 'Paracetamol 500 mg', q: 12 });
    });

    it('links appointments to patients that arrive later, and movements to medications', async function () {
      await upsert(db, 'appointments', [
        { odoo_id: 7, patient_odoo_id: 5555, datetime: '2025-04-01 09:30:00', status: 'confirmed', doctor_name: 'Dra. Pérez' },
      ]);
      let a = await db.query('SELECT patient_id FROM shared_appointments WHERE odoo_id = 7');
      assert.equal(a.rows[0].patient_id, null);
      await upsert(db, 'patients', [{ odoo_id: 5555, name: 'Llega tarde' }]);
      a = await db.query('SELECT a.patient_id = p.id AS linked FROM shared_appointments a, shared_patients p WHERE a.odoo_id = 7 AND p.odoo_id = 5555');
      assert.equal(a.rows[0].linked, true);
      const m = await upsert(db, 'stock_movements', [
        { odoo_move_id: 31, odoo_product_id: 1, movement_type: 'out', quantity: 2, movement_date: '2025-04-01 10:00:00' },
      ]);
      assert.equal(m.inserted, 1);
      const mv = await db.query(
        'SELECT mv.medication_id = m.id AS linked FROM shared_stock_movements mv, shared_medications m WHERE mv.odoo_move_id = 31 AND m.odoo_product_id = 1',
      );
      assert.equal(mv.rows[0].linked, true);
    });

    it('rejects a bad batch whole, naming each bad record, and writes nothing', async function () {
      const before = await db.query('SELECT count(*)::int AS n FROM shared_patients');
      await assert.rejects(
        upsert(db, 'patients', [
          { odoo_id: 9001, name: 'ok' },
          { odoo_id: 'x', name: 'bad id' },
          { odoo_id: 9003, nmae: 'typo' },
        ]),
        (err: IntegrationError) => {
          assert.equal(err.code, 'BAD_INPUT');
          assert.equal(err.retryable, false);
          assert.match(err.message, /record 1 \(odoo_id="x"\): odoo_id must be a whole number/);
          assert.match(err.message, /record 2 has unknown property "nmae"/);
          return true;
        },
      );
      const after = await db.query('SELECT count(*)::int AS n FROM shared_patients');
      assert.equal(after.rows[0].n, before.rows[0].n);
    });

    it('gives a column its default when some records of a batch leave it out', async function () {
      await upsert(db, 'patients', [
        { odoo_id: 8801, name: 'Con active', active: false },
        { odoo_id: 8802, name: 'Sin active' },
      ]);
      const rows = await db.query('SELECT odoo_id, active FROM shared_patients WHERE odoo_id IN (8801, 8802) ORDER BY odoo_id');
      assert.deepEqual(rows.rows, [
        { odoo_id: 8801, active: false },
        { odoo_id: 8802, active: true },
      ]);
    });

    it('stores hostile text as text (no SQL reaches the statement)', async function () {
      const name = `Robert'); DROP TABLE shared_patients; --`;
      await upsert(db, 'patients', [{ odoo_id: 666, name }]);
      const row = await db.query('SELECT name FROM shared_patients WHERE odoo_id = $1', [666]);
      assert.equal(row.rows[0].name, name);
    });

    it('refreshes low_stock_alerts with what is under its minimum', async function () {
      await upsert(db, 'medications', [
        { odoo_product_id: 2, name: 'Ibuprofeno', stock_quantity: 50, min_stock_level: 10 },
        { odoo_product_id: 3, name: 'Amoxicilina', stock_quantity: 1, min_stock_level: 5 },
      ]);
      await db.query('REFRESH MATERIALIZED VIEW CONCURRENTLY low_stock_alerts');
      const low = await db.query('SELECT odoo_product_id, is_low_stock FROM low_stock_alerts ORDER BY odoo_product_id');
      assert.deepEqual(low.rows, [
        { odoo_product_id: 1, is_low_stock: true },
        { odoo_product_id: 3, is_low_stock: true },
      ]);
    });
  });

  describe('connections ended by the server (a PostgreSQL restart)', function () {
    it('a transaction whose connection is terminated between statements fails typed and retryable, without an uncaught error; the pool goes on', async function () {
      // Found by the fault suite (test/faults/infra-faults.spec.ts): a checked-out client has no 'error' listener of the
      // pool, so the server's "terminating connection" between two statements was an uncaught exception (a crash).
      const other = new SharedDb({ url, applicationName: 'clinica-test-terminated' });
      try {
        await assert.rejects(
          other.transaction(async (client) => {
            await client.query('SELECT 1');
            assert.equal(await killConnections(url, 'clinica-test-terminated'), 1);
            await new Promise((resolve) => setTimeout(resolve, 300)); // the server's message arrives while no statement runs
            await client.query('SELECT 2');
          }, 'terminated transaction'),
          (err: IntegrationError) => err.system === 'shared-db' && err.retryable === true,
        );
        assert.equal((await other.query<{ n: number }>('SELECT 3 AS n')).rows[0].n, 3);
      } finally {
        await other.close();
      }
    });
  });

  describe('listener', function () {
    it('delivers notifications, survives its connection being killed, and keeps delivering', async function () {
      const listener = new PgListener({ url, channels: ['shared_changes', 'test_channel'], minDelayMs: 100, applicationName: 'clinica-test-listener' });
      const got: Notification[] = [];
      let reconnected = 0;
      listener.on('notification', (n) => got.push(n));
      listener.on('reconnected', () => reconnected++);
      listener.start();
      try {
        await waitFor(() => listener.state === 'listening', 'listener up');
        await db.query(`SELECT pg_notify('test_channel', '{"n":1}')`);
        await waitFor(() => got.length === 1, 'first notification');
        assert.deepEqual(got[0].payload, { n: 1 });

        const killed = await killConnections(url, 'clinica-test-listener');
        assert.equal(killed, 1);
        await waitFor(() => reconnected === 1 && listener.state === 'listening', 'reconnection');

        await upsert(db, 'patients', [{ odoo_id: 777, name: 'Tras reconexión' }]);
        await waitFor(() => got.some((n) => n.channel === 'shared_changes'), 'shared_changes after reconnect');
        const change = got.find((n) => n.channel === 'shared_changes')!.payload as { table: string; op: string; rows: number };
        assert.deepEqual([change.table, change.op, change.rows], ['shared_patients', 'insert', 1]);
      } finally {
        await listener.close();
      }
    });
  });
});
