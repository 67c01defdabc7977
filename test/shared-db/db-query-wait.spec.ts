/**
 * clinica-db-query's *Wait for DB*: a statement sent while PostgreSQL restarts is sent again until the database
 * answers (the shipped sync tabs set it on "record error", so what a failed write left to re-read is not lost when
 * the database itself was the failure: found by test/faults/infra-faults.spec.ts). A private PostgreSQL
 * (test/lib/private-servers.ts), since the machine's shared one must never be restarted.
 */
import { strict as assert } from 'node:assert';
import { collect, helper, sleep, waitFor } from '../lib/harness';
import { startPrivatePostgres, type PrivatePostgres } from '../lib/private-servers';

const dbConfig = require('../../nodes/shared-db/db-config');
const dbQuery = require('../../nodes/shared-db/db-query');

type Msg = Record<string, any>;

describe('db query: waits for a restarting database when told to (private PostgreSQL, Node-RED test helper)', function () {
  this.timeout(60000);
  let pg: PrivatePostgres;

  before(async function () {
    pg = await startPrivatePostgres({ password: 'db-query-wait-password' });
    await new Promise<void>((resolve) => helper.startServer(() => resolve()));
  });

  after(async function () {
    await helper.unload();
    await new Promise<void>((resolve) => helper.stopServer(() => resolve()));
    await pg?.stop();
  });

  it('with Wait for DB, a statement sent while PostgreSQL is down runs once it is back; without, it fails SHARED_DB_UNREACHABLE at once', async function () {
    const query = (id: string, wait: number) => ({
      id,
      type: 'clinica-db-query',
      z: 'tab',
      config: 'db',
      sql: 'SELECT $1::int AS n',
      params: 'params',
      paramsType: 'msg',
      output: 'first',
      wait,
      wires: [['out']],
    });
    await helper.load(
      [dbConfig, dbQuery],
      [
        { id: 'tab', type: 'tab', label: 'test' },
        { id: 'db', type: 'clinica-db-config', url: pg.url, migrate: true, poolSize: 2 },
        query('patient', 30),
        query('hasty', 0),
        { id: 'catcher', type: 'catch', z: 'tab', scope: null, uncaught: false, wires: [['errors']] },
        { id: 'errors', type: 'helper', z: 'tab' },
        { id: 'out', type: 'helper', z: 'tab' },
      ],
    );
    const out = collect<Msg>(helper.getNode('out'));
    const errors = collect<Msg>(helper.getNode('errors'));
    helper.getNode('patient').receive({ params: [1] });
    await waitFor(() => out.length === 1, 'the database up and migrated', 30000);

    const restarted = pg.restart(2000);
    await sleep(300); // stopped now (pg_ctl stop -m fast takes well under a second)
    helper.getNode('hasty').receive({ params: [2] });
    helper.getNode('patient').receive({ params: [3] });
    await waitFor(() => errors.length === 1, 'the query without a wait to fail', 10000);
    assert.equal(errors[0].errorInfo?.code, 'SHARED_DB_UNREACHABLE');
    assert.equal(out.length, 1, 'the waiting query has not answered while the database is down');
    await restarted;
    await waitFor(() => out.length === 2, 'the waiting query to answer once the database is back', 20000);
    assert.equal(out[1].payload.n, 3);
    assert.equal(errors.length, 1);
  });
});
