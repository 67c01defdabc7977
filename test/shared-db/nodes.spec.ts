import { strict as assert } from 'node:assert';
import { Client } from 'pg';
import { helper, waitFor, collect } from '../lib/harness';
import { createTestDatabase, dropTestDatabase, killConnections } from '../lib/pg';

const dbConfig = require('../../nodes/shared-db/db-config');
const dbQuery = require('../../nodes/shared-db/db-query');
const dbUpsert = require('../../nodes/shared-db/db-upsert');
const dbListen = require('../../nodes/shared-db/db-listen');
const nodes = [dbConfig, dbQuery, dbUpsert, dbListen];

type Msg = Record<string, any>;

describe('shared-db nodes (real PostgreSQL, Node-RED test helper)', function () {
  let url: string;

  before(async function () {
    url = await createTestDatabase();
    await new Promise<void>((resolve) => helper.startServer(() => resolve()));
  });

  after(async function () {
    await new Promise<void>((resolve) => helper.stopServer(() => resolve()));
    if (url) await dropTestDatabase(url);
  });

  afterEach(async function () {
    await helper.unload();
  });

  const config = () => ({ id: 'db', type: 'clinica-db-config', url, migrate: true, poolSize: 4 });

  function flow(extra: Msg[]): Msg[] {
    return [
      { id: 'tab', type: 'tab', label: 'test' },
      { ...config(), z: undefined },
      ...extra.map((n) => ({ z: 'tab', ...n })),
      { id: 'catcher', type: 'catch', z: 'tab', scope: null, uncaught: false, wires: [['errors']] },
      { id: 'errors', type: 'helper', z: 'tab' },
      { id: 'out', type: 'helper', z: 'tab' },
    ];
  }

  it('upserts a batch idempotently and reads it back with parameters', async function () {
    await helper.load(
      nodes,
      flow([
        { id: 'up', type: 'clinica-db-upsert', config: 'db', entity: 'patients', wires: [['q']] },
        {
          id: 'q',
          type: 'clinica-db-query',
          config: 'db',
          sql: 'SELECT count(*)::int AS n FROM shared_patients WHERE name LIKE $1',
          params: 'params',
          paramsType: 'msg',
          output: 'first',
          wires: [['out']],
        },
      ]),
    );
    const out = collect<Msg>(helper.getNode('out'));
    const batch = Array.from({ length: 100 }, (_, i) => ({ odoo_id: i + 1, name: `Paciente ${i}`, odoo_write_date: '2025-05-01 08:00:00' }));
    helper.getNode('up').receive({ payload: batch, params: ['Paciente%'] });
    await waitFor(() => out.length === 1, 'first batch');
    assert.deepEqual(out[0].payload, { n: 100 });
    assert.equal(out[0].db.rowCount, 1);
    assert.ok(out[0].correlationId, 'a correlation id is set at entry');

    helper.getNode('up').receive({ payload: batch, params: ['Paciente%'], correlationId: 'corr-1' });
    await waitFor(() => out.length === 2, 'second batch');
    assert.deepEqual(out[1].payload, { n: 100 });
    assert.equal(out[1].correlationId, 'corr-1');
  });

  it('reports the upsert counts on msg.db', async function () {
    await helper.load(nodes, flow([{ id: 'up', type: 'clinica-db-upsert', config: 'db', entity: 'msg', wires: [['out']] }]));
    const out = collect<Msg>(helper.getNode('out'));
    helper.getNode('up').receive({ topic: 'medications', payload: { odoo_product_id: 10, name: 'Omeprazol', stock_quantity: 3, min_stock_level: 5 } });
    helper.getNode('up').receive({ topic: 'medications', payload: { odoo_product_id: 10, name: 'Omeprazol', stock_quantity: 3, min_stock_level: 5 } });
    await waitFor(() => out.length === 2, 'two upserts');
    const counts = out.map((m) => [m.db.inserted, m.db.updated, m.db.unchanged]).sort();
    assert.deepEqual(counts, [
      [0, 0, 1],
      [1, 0, 0],
    ]);
  });

  it('fails bad input through done(err) so a Catch node sees code and reason', async function () {
    await helper.load(
      nodes,
      flow([
        { id: 'up', type: 'clinica-db-upsert', config: 'db', entity: 'patients', wires: [['out']] },
        {
          id: 'q',
          type: 'clinica-db-query',
          config: 'db',
          sql: 'SELECT * FROM no_such_table WHERE id = $1',
          params: '[1]',
          paramsType: 'json',
          wires: [['out']],
        },
      ]),
    );
    const errors = collect<Msg>(helper.getNode('errors'));
    helper.getNode('up').receive({ payload: [{ odoo_id: 'abc', name: 'x' }] });
    helper.getNode('q').receive({ payload: null });
    await waitFor(() => errors.length === 2, 'two errors caught');
    const bySource = Object.fromEntries(errors.map((m) => [m.error.source.id, m]));
    assert.match(bySource.up.error.message, /odoo_id must be a whole number/);
    assert.deepEqual([bySource.up.errorInfo.code, bySource.up.errorInfo.retryable], ['BAD_INPUT', false]);
    assert.equal(bySource.q.errorInfo.code, 'SHARED_DB_SCHEMA');
    assert.match(bySource.q.error.message, /Run the migrations/);
  });

  it('listen node reconnects after its connection is killed and keeps delivering', async function () {
    await helper.load(
      nodes,
      flow([{ id: 'listen', type: 'clinica-db-listen', config: 'db', channels: 'shared_changes', notifyReconnect: true, wires: [['out']] }]),
    );
    const out = collect<Msg>(helper.getNode('out'));
    const listen = helper.getNode('listen');
    const statuses: string[] = [];
    listen.on('call:status', (call: { args: [{ text?: string }] }) => statuses.push(String(call.args[0].text)));
    const client = new Client({ connectionString: url });
    await client.connect();
    try {
      await waitFor(
        async () =>
          (await client.query(`SELECT 1 FROM pg_stat_activity WHERE application_name LIKE 'node-red-listen:%' AND query LIKE 'SELECT pg_backend_pid%'`))
            .rowCount,
        'listener connected',
      );
      await client.query(`INSERT INTO shared_patients (odoo_id, name) VALUES (424242, 'uno')`);
      await waitFor(() => out.some((m) => m.topic === 'shared_changes'), 'first change');

      // At least ours (a listener of an earlier test of this file may not have hung up yet).
      assert.ok((await killConnections(url, 'node-red-listen:%')) >= 1);
      await waitFor(() => out.some((m) => m.topic === 'reconnected'), 'reconnected message', 15000);
      await client.query(`UPDATE shared_patients SET name = 'dos' WHERE odoo_id = 424242`);
      await waitFor(() => out.some((m) => m.topic === 'shared_changes' && m.payload.op === 'update'), 'change after reconnect');
      assert.ok(statuses.includes('status.reconnecting'), `statuses seen: ${statuses.join(', ')}`);
    } finally {
      await client.end();
    }
  });

  it('starts with the database down: red status, no crash', async function () {
    const down = 'postgres://postgres@127.0.0.1:1/clinica_shared';
    await helper.load(nodes, [
      { id: 'tab', type: 'tab' },
      { id: 'dbdown', type: 'clinica-db-config', url: down, migrate: true },
      { id: 'q', z: 'tab', type: 'clinica-db-query', config: 'dbdown', sql: 'SELECT 1', wires: [['out']] },
      { id: 'catcher', type: 'catch', z: 'tab', scope: null, wires: [['errors']] },
      { id: 'errors', type: 'helper', z: 'tab' },
      { id: 'out', type: 'helper', z: 'tab' },
    ]);
    const q = helper.getNode('q');
    const statuses: Msg[] = [];
    q.on('call:status', (call: { args: [Msg] }) => statuses.push(call.args[0]));
    const errors = collect<Msg>(helper.getNode('errors'));
    q.receive({ payload: 1 });
    await waitFor(() => errors.length === 1, 'error for the message');
    assert.equal(errors[0].errorInfo.code, 'SHARED_DB_UNREACHABLE');
    assert.equal(errors[0].errorInfo.retryable, true);
    assert.ok(
      statuses.some((s) => s.fill === 'red'),
      'red status shown',
    );
  });
});
