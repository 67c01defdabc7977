/**
 * Stock alerts decided in PostgreSQL (migration 4), on the machine's real PostgreSQL: one alert per crossing
 * whatever writes the stock, re-armed when the stock recovers, one per crossing under concurrent writers; the
 * outbox claimed by one process at a time; deliveries and their audit rows.
 */
import { strict as assert } from 'node:assert';
import { PgListener, SharedDb, migrate, upsert } from '../../nodes/clients/shared-db';
import { createTestDatabase, dropTestDatabase } from '../lib/pg';

type Row = Record<string, any>;

describe('shared DB: stock alerts (real PostgreSQL)', function () {
  this.timeout(30000);
  let url: string;
  let db: SharedDb;
  let other: SharedDb;
  let next = 1000;

  const medication = (id: number, stock: number, min: number | null, extra: Row = {}) => ({
    odoo_product_id: id,
    name: `Med ${id}`,
    stock_quantity: stock,
    min_stock_level: min,
    max_stock_level: null,
    active: true,
    ...extra,
  });
  const alerts = async (productId: number) =>
    (
      await db.query<Row>(
        `SELECT id, crossing, stock_quantity::float AS qty, min_stock_level::float AS min, rearmed_at, correlation_id
           FROM stock_alerts WHERE odoo_product_id = $1 ORDER BY crossing`,
        [productId],
      )
    ).rows;
  const setStock = (productId: number, stock: number, correlationId?: string) =>
    upsert(db, 'medications', [medication(productId, stock, 10)], correlationId ? { correlationId } : {});

  before(async function () {
    url = await createTestDatabase('clinica_alerts');
    db = new SharedDb({ url });
    other = new SharedDb({ url });
    await migrate(db);
  });
  after(async function () {
    await db?.close();
    await other?.close();
    if (url) await dropTestDatabase(url);
  });

  it('raises one alert when the stock drops under the minimum, naming the change that caused it', async function () {
    const id = next++;
    await setStock(id, 50);
    assert.equal((await alerts(id)).length, 0, 'above the minimum: no alert');
    await setStock(id, 4, 'corr-drop-1');
    const [a] = await alerts(id);
    assert.deepEqual(
      { crossing: a.crossing, qty: a.qty, min: a.min, correlation: a.correlation_id, rearmed: a.rearmed_at },
      {
        crossing: 1,
        qty: 4,
        min: 10,
        correlation: 'corr-drop-1',
        rearmed: null,
      },
    );
  });

  it('adds nothing while the stock stays low: a lower count, a repeat, a reconcile of everything', async function () {
    const id = next++;
    await setStock(id, 4);
    await setStock(id, 3);
    await setStock(id, 3);
    await upsert(db, 'medications', [medication(id, 2, 10), medication(next++, 40, 10)]);
    assert.equal((await alerts(id)).length, 1);
  });

  it('re-arms when the stock is back at the minimum; the next drop is a new alert', async function () {
    const id = next++;
    await setStock(id, 5);
    await setStock(id, 10); // at the minimum: not low
    const [first] = await alerts(id);
    assert.ok(first.rearmed_at, 'the first alert is marked re-armed');
    await setStock(id, 9);
    const all = await alerts(id);
    assert.deepEqual(
      all.map((a) => [a.crossing, a.qty, a.rearmed_at === null]),
      [
        [1, 5, false],
        [2, 9, true],
      ],
    );
  });

  it('counts a raised minimum, an archived and an unarchived medication as crossings too', async function () {
    const id = next++;
    await upsert(db, 'medications', [medication(id, 8, 5)]);
    assert.equal((await alerts(id)).length, 0);
    await upsert(db, 'medications', [medication(id, 8, 12)]); // the reorder rule changed
    assert.equal((await alerts(id)).length, 1);
    await upsert(db, 'medications', [medication(id, 8, 12, { active: false })]); // archived: re-armed
    await upsert(db, 'medications', [medication(id, 8, 12, { active: true })]); // back and still low
    assert.equal((await alerts(id)).length, 2);
    const noMinimum = next++;
    await upsert(db, 'medications', [medication(noMinimum, 0, null)]);
    assert.equal((await alerts(noMinimum)).length, 0, 'no reorder rule: never an alert');
  });

  it('raises one alert per crossing when two writers (two processes) lower the same stock at once', async function () {
    const ids = Array.from({ length: 20 }, () => next++);
    await upsert(
      db,
      'medications',
      ids.map((id) => medication(id, 50, 10)),
    );
    // Two connections pools write the same drops concurrently, in opposite orders and overlapping batches.
    await Promise.all([
      upsert(
        db,
        'medications',
        ids.map((id) => medication(id, 3, 10)),
      ),
      upsert(
        other,
        'medications',
        [...ids].reverse().map((id) => medication(id, 2, 10)),
      ),
      ...ids.map((id, i) => upsert(i % 2 ? db : other, 'medications', [medication(id, 1, 10)])),
    ]);
    const counts = await db.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM stock_alerts WHERE odoo_product_id = ANY($1::int[]) GROUP BY odoo_product_id',
      [ids],
    );
    assert.equal(counts.rows.length, 20);
    assert.ok(
      counts.rows.every((r) => r.n === 1),
      'one alert each',
    );
  });

  it('notifies stock_alerts with the alert when it is committed', async function () {
    const id = next++;
    const seen: unknown[] = [];
    const l = new PgListener({ url, channels: ['stock_alerts'] });
    l.on('notification', (n) => seen.push(n.payload));
    const listening = new Promise<void>((resolve) => l.on('state', (s) => s === 'listening' && resolve()));
    l.start();
    await listening;
    try {
      await setStock(id, 1, 'corr-notify');
      const deadline = Date.now() + 5000;
      while (!seen.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      const n = seen[0] as Row;
      assert.equal(n.odoo_product_id, id);
      assert.equal(n.quantity, 1);
      assert.equal(n.correlation_id, 'corr-notify');
    } finally {
      await l.close();
    }
  });

  describe('the outbox', function () {
    it('hands each alert to one claimer at a time, again after its lease, never once published', async function () {
      await db.query('UPDATE stock_alerts SET published_at = now()'); // the tests above
      const ids = Array.from({ length: 6 }, () => next++);
      await upsert(
        db,
        'medications',
        ids.map((id) => medication(id, 1, 10)),
      );
      const [a, b] = await Promise.all([
        db.query<Row>('SELECT id FROM stock_alerts_claim(30, 4)'),
        other.query<Row>('SELECT id FROM stock_alerts_claim(30, 4)'),
      ]);
      const claimed = [...a.rows, ...b.rows].map((r) => Number(r.id));
      assert.equal(claimed.length, 6, 'every alert claimed');
      assert.equal(new Set(claimed).size, 6, 'none twice');
      assert.equal((await db.query('SELECT * FROM stock_alerts_claim(30, 10)')).rows.length, 0, 'leased: nothing to claim');
      // One publish failed: its lease is cut short; the others are published.
      await db.query("UPDATE stock_alerts SET publish_claimed_until = now() - interval '1 second', publish_error = 'AMQP_NOT_CONFIRMED' WHERE id = $1", [
        claimed[0],
      ]);
      await db.query('UPDATE stock_alerts SET published_at = now(), publish_claimed_until = NULL WHERE id = ANY($1::bigint[])', [claimed.slice(1)]);
      const again = await db.query<Row>('SELECT id, publish_attempts FROM stock_alerts_claim(30, 10)');
      assert.deepEqual(
        again.rows.map((r) => [Number(r.id), r.publish_attempts]),
        [[claimed[0], 2]],
      );
    });
  });

  describe('deliveries and their audit', function () {
    let alertId: number;
    before(async function () {
      const id = next++;
      await setStock(id, 1);
      alertId = Number((await alerts(id))[0].id);
    });

    it('opens a delivery once and returns it as it stands', async function () {
      const first = (await db.query<Row>("SELECT * FROM alert_delivery_open($1, 'email', 0)", [alertId])).rows[0];
      assert.equal(first.state, 'pending');
      const again = (await db.query<Row>("SELECT * FROM alert_delivery_open($1, 'email', 0)", [alertId])).rows[0];
      assert.equal(again.attempts, 0);
      assert.equal((await db.query("SELECT 1 FROM alert_deliveries WHERE alert_id = $1 AND channel = 'email'", [alertId])).rowCount, 1);
    });

    it('records every attempt with its number; a delivered delivery is never set back', async function () {
      const rec = (outcome: string, status: number | null, retryInMs: number | null) =>
        db.query<Row>("SELECT * FROM alert_delivery_record($1, 'webhook', 7, $2, $3, NULL, 12, $4, NULL, NULL, NULL, 'c')", [
          alertId,
          outcome,
          status,
          retryInMs,
        ]);
      assert.equal((await rec('retry', 500, 1000)).rows[0].state, 'retrying');
      const after2 = (await rec('retry', 500, 2000)).rows[0];
      assert.equal(after2.attempts, 2);
      assert.ok(after2.next_retry_at, 'next retry recorded');
      const delivered = (await rec('delivered', 200, null)).rows[0];
      assert.equal(delivered.state, 'delivered');
      assert.ok(delivered.delivered_at);
      assert.equal(delivered.next_retry_at, null);
      assert.equal((await rec('failed', 500, null)).rows[0].state, 'delivered', 'a late failure does not undo a delivery');
      const audit = await db.query<Row>(
        "SELECT attempt, outcome, http_status, duration_ms, next_retry_at IS NOT NULL AS has_retry FROM alert_delivery_attempts WHERE alert_id = $1 AND channel = 'webhook' ORDER BY attempt",
        [alertId],
      );
      assert.deepEqual(
        audit.rows.map((r) => [r.attempt, r.outcome, r.http_status, r.duration_ms, r.has_retry]),
        [
          [1, 'retry', 500, 12, true],
          [2, 'retry', 500, 12, true],
          [3, 'delivered', 200, 12, false],
          [4, 'failed', 500, 12, false],
        ],
      );
    });

    it('replays a failed delivery (back to pending, counted) and refuses to replay a delivered one', async function () {
      await db.query("SELECT * FROM alert_delivery_record($1, 'odoo', 0, 'failed', NULL, NULL, 5, NULL, 'ODOO_ACCESS_ERROR', 'denied', NULL, 'c')", [alertId]);
      const replay = (await db.query<Row>("SELECT * FROM alert_delivery_replay($1, 'odoo', 0)", [alertId])).rows[0];
      assert.equal(replay.previous_state, 'failed');
      assert.equal(replay.replays, 1);
      assert.equal(Number(replay.alert.id), alertId);
      assert.equal((await db.query<Row>("SELECT state FROM alert_deliveries WHERE alert_id = $1 AND channel = 'odoo'", [alertId])).rows[0].state, 'pending');
      const delivered = (await db.query<Row>("SELECT * FROM alert_delivery_replay($1, 'webhook', 7)", [alertId])).rows[0];
      assert.equal(delivered.previous_state, 'delivered');
      assert.equal((await db.query("SELECT * FROM alert_delivery_replay($1, 'email', 99)", [alertId])).rowCount, 0, 'no such delivery');
    });
  });
});
