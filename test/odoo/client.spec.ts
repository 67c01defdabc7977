/**
 * The Odoo client against the Odoo peer (a real HTTP server on 127.0.0.1): the three protocols, login
 * once, typed faults, the marshal-None success, paging, concurrency, keep-alive, timeouts and the retry
 * policy (reads retried, writes never repeated once they may have been applied).
 */
import * as assert from 'node:assert/strict';
import * as net from 'node:net';
import { OdooClient } from '../../nodes/clients/odoo/client';
import { IntegrationError } from '../../nodes/clients/common/errors';
import { startOdooPeer, type OdooPeer } from '../../peers/odoo';
import { clientFor, insertPartners } from './helpers';

async function rejects(p: Promise<unknown>, code: string, message?: RegExp): Promise<IntegrationError> {
  try {
    await p;
  } catch (err) {
    const e = err as IntegrationError;
    assert.ok(e instanceof IntegrationError, `expected an IntegrationError, got ${String(err)}`);
    assert.equal(e.code, code, e.message);
    assert.equal(e.system, 'odoo');
    if (message) assert.match(e.message, message);
    return e;
  }
  assert.fail(`expected ${code}`);
}

async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

describe('odoo client', function () {
  let peer: OdooPeer;
  let peer19: OdooPeer;

  before(async () => {
    peer = await startOdooPeer({ version: 18 });
    peer19 = await startOdooPeer({ version: 19 });
  });
  after(async () => {
    await peer.stop();
    await peer19.stop();
  });
  afterEach(() => {
    peer.clearFailures();
    peer.setLatency(0);
  });

  for (const protocol of ['xmlrpc', 'jsonrpc', 'json2'] as const) {
    describe(`over ${protocol}`, () => {
      let client: OdooClient;
      let p: OdooPeer;
      before(() => {
        p = protocol === 'json2' ? peer19 : peer;
        client = clientFor(p, { protocol });
      });
      after(() => client.close());

      it('creates, reads, searches, writes, counts, posts on the chatter and unlinks', async () => {
        const id = await client.create('res.partner', { name: 'Lucía Pérez', email: 'lucia@clinica.example', country_id: 68 });
        const ids = await client.create('res.partner', [{ name: 'Tomás Ruiz' }, { name: 'Marta Gil' }]);
        assert.equal(ids.length, 2);
        const [rec] = await client.read('res.partner', id, ['name', 'country_id', 'write_date', 'phone']);
        assert.deepEqual(rec.country_id, [68, 'Spain']);
        assert.equal(rec.phone, false);
        assert.match(String(rec.write_date), /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
        const phone = `+34 911 000 ${protocol}`;
        assert.equal(await client.write('res.partner', [id], { phone }), true);
        const found = await client.searchRead('res.partner', { domain: [['phone', '=', phone]], fields: ['name'] });
        assert.deepEqual(found, [{ id, name: 'Lucía Pérez' }]);
        assert.equal(await client.searchCount('res.partner', [['id', 'in', ids]]), 2);
        const messageId = await client.messagePost('res.partner', id, { body: 'Documento guardado en Nextcloud' });
        const [msg] = await client.read('mail.message', messageId, ['model', 'res_id', 'body', 'subtype_id']);
        assert.deepEqual([msg.model, msg.res_id, msg.body], ['res.partner', id, 'Documento guardado en Nextcloud']);
        assert.deepEqual(msg.subtype_id, [2, 'Note']);
        assert.equal(await client.unlink('res.partner', ids), true);
        await rejects(client.read('res.partner', ids), 'ODOO_MISSING_RECORD', new RegExp(`res.partner \\(records ${ids.join(', ')}\\)`));
      });

      it('turns faults into typed errors naming model, method and record', async () => {
        await rejects(client.searchRead('res.partner', { domain: [['nope', '=', 1]] }), 'ODOO_UNKNOWN_FIELD', /search_read on res\.partner.*nope/);
        await rejects(client.searchRead('res.partner', { domain: [['name', 'like', 'x'], '|'] }), 'ODOO_BAD_DOMAIN');
        await rejects(client.searchRead('res.partner', { domain: [['name', 'resembles', 'x']] }), 'ODOO_BAD_DOMAIN', /Invalid leaf/);
        await rejects(client.read('res.partner', [987654], ['name']), 'ODOO_MISSING_RECORD', /record 987654/);
        await rejects(client.write('res.partner', [987654], { name: 'x' }), 'ODOO_MISSING_RECORD');
        await rejects(client.searchCount('res.patient'), 'ODOO_UNKNOWN_MODEL', /res\.patient/);
        await rejects(client.call('res.partner', 'frobnicate', [[1]]), 'ODOO_UNKNOWN_METHOD');
        await rejects(client.create('res.partner', { name: 'x', shoe_size: 44 }), 'ODOO_UNKNOWN_FIELD', /shoe_size/);
        await rejects(client.create('res.partner', { name: 'x', customer_rank: 'many' }), 'ODOO_BAD_VALUE', /many/);
        await rejects(
          client.create('calendar.event', { name: 'Cita', start: 'mañana', stop: '2025-01-01 10:00:00' }),
          'ODOO_BAD_VALUE',
          /does not match format/,
        );
        await rejects(client.create('res.partner', { email: 'sin-nombre@x.es' }), 'ODOO_VALIDATION_ERROR', /Contacts require a name/);
        await rejects(client.call('stock.quant', 'create', [{ product_id: 1, inventory_quantity: 3 }]), 'ODOO_USER_ERROR', /Quant's creation is restricted/);
        await rejects(client.call('res.partner', '_private', [[1]]), 'BAD_INPUT', /private methods/);
      });
    });
  }

  describe('login, protocol choice and access', () => {
    it('logs in once and reuses the uid for every call', async () => {
      const client = clientFor(peer, { protocol: 'jsonrpc' });
      const before = peer.calls.filter((c) => c.method === 'authenticate').length;
      await Promise.all([client.searchCount('res.partner'), client.searchCount('res.partner'), client.searchCount('res.country')]);
      await client.searchCount('res.partner');
      assert.equal(peer.calls.filter((c) => c.method === 'authenticate').length - before, 1);
      assert.equal(await client.login(), 2);
      client.close();
    });

    it('detects the protocol from common.version: JSON-RPC up to 18, JSON-2 on 19 with an API key', async () => {
      const c18 = clientFor(peer);
      const c19 = clientFor(peer19);
      const c19pw = new OdooClient({ url: peer19.url, db: peer19.db, username: 'admin', password: 'admin' });
      assert.equal(await c18.protocolName(), 'jsonrpc');
      assert.equal(await c19.protocolName(), 'json2');
      assert.equal(await c19pw.protocolName(), 'jsonrpc');
      assert.equal(await c19.majorVersion(), 19);
      assert.ok((await c19pw.searchCount('res.partner')) > 0);
      for (const c of [c18, c19, c19pw]) c.close();
    });

    it('reports a bad API key or password as ODOO_ACCESS_DENIED, on every protocol', async () => {
      for (const [p, protocol] of [
        [peer, 'xmlrpc'],
        [peer, 'jsonrpc'],
        [peer19, 'json2'],
      ] as const) {
        const client = clientFor(p, { protocol, apiKey: 'wrong-key' });
        const err = await rejects(client.searchCount('res.partner'), 'ODOO_ACCESS_DENIED', /user "admin" on database "clinica"/);
        assert.equal(err.retryable, false);
        client.close();
      }
      const badDb = clientFor(peer, { db: 'otra' });
      await rejects(badDb.searchCount('res.partner'), 'ODOO_UNKNOWN_DATABASE', /no database "otra".*ODOO_DB/);
      badDb.close();
    });

    it('reports missing access rights as ODOO_ACCESS_ERROR naming the model', async () => {
      const p = await startOdooPeer({ users: [{ login: 'recepcion', password: 'r3cep', readOnly: true }] });
      const client = new OdooClient({ url: p.url, db: p.db, username: 'recepcion', password: 'r3cep' });
      assert.ok((await client.searchCount('res.partner')) >= 1);
      await rejects(client.create('res.partner', { name: 'x' }), 'ODOO_ACCESS_ERROR', /not allowed to create 'Contact' \(res\.partner\).*user "recepcion"/s);
      client.close();
      await p.stop();
    });

    it('refuses JSON-2 without an API key and a URL that is not http(s)', async () => {
      const client = new OdooClient({ url: peer19.url, db: 'clinica', username: 'admin', password: 'admin', protocol: 'json2' });
      await rejects(client.searchCount('res.partner'), 'ODOO_NOT_CONFIGURED', /API key/);
      assert.throws(() => new OdooClient({ url: 'localhost:8069', db: 'x', username: 'y', apiKey: 'z' }), /not an http\(s\) URL/);
      assert.throws(
        () => new OdooClient({ url: 'http://localhost:8069', db: '', username: '', apiKey: '' }),
        /database \(ODOO_DB\), user \(ODOO_USERNAME\), API key/,
      );
      client.close();
    });
  });

  describe('methods that return None', () => {
    it('reports success with null over XML-RPC (Odoo committed, then failed to marshal None) and applies once', async () => {
      for (const protocol of ['xmlrpc', 'jsonrpc'] as const) {
        const client = clientFor(peer, { protocol });
        const productId = await client.create('product.product', { name: `Paracetamol ${protocol}`, is_storable: true });
        const quantId = await client.call<number>('stock.quant', 'create', [{ product_id: productId, location_id: 8, inventory_quantity: 40 }], {
          context: { inventory_mode: true },
        });
        const before = peer.calls.length;
        const result = await client.call('stock.quant', 'action_apply_inventory', [[quantId]]);
        assert.equal(result, null);
        assert.equal(peer.calls.length - before, 1, 'called exactly once, never retried');
        const [product] = await client.read('product.product', productId, ['qty_available']);
        assert.equal(product.qty_available, 40);
        const moves = await client.searchRead('stock.move', { domain: [['product_id', '=', productId]], fields: ['quantity', 'state'] });
        assert.deepEqual(
          moves.map((m) => [m.quantity, m.state]),
          [[40, 'done']],
        );
        client.close();
      }
    });

    it('names the inventory move after context.inventory_name plus the user, as Odoo 18 does (why movements are keyed on a transfer origin instead); the warehouse is found by a plain search', async () => {
      const client = clientFor(peer);
      const [warehouse] = await client.searchRead('stock.warehouse', { fields: ['lot_stock_id'], limit: 1 });
      assert.deepEqual(warehouse.lot_stock_id, [8, 'WH/Stock'], 'the warehouse and its stock location are active, as in Odoo');
      const productId = await client.create('product.product', { name: 'Ibuprofeno ref', is_storable: true });
      const context = { inventory_mode: true, inventory_name: 'FARM-0001' };
      const quantId = await client.call<number>('stock.quant', 'create', [{ product_id: productId, location_id: 8, inventory_quantity: 12 }], { context });
      await client.call('stock.quant', 'action_apply_inventory', [[quantId]], { context });
      const moves = await client.searchRead('stock.move', { domain: [['product_id', '=', productId]], fields: ['name', 'reference', 'quantity'] });
      const [user] = await client.read('res.users', [2], ['name']);
      assert.deepEqual(
        moves.map((m) => [m.name, m.reference, m.quantity]),
        [[`FARM-0001 (${String(user.name)})`, `FARM-0001 (${String(user.name)})`, 12]],
      );
      client.close();
    });
  });

  describe('paging', () => {
    let ids: number[];
    before(() => {
      ids = insertPartners(peer, 1234, 'Paginado');
    });

    it('pages by id on the server: full pages, an exact last flag, nothing twice', async () => {
      const client = clientFor(peer);
      const domain = [['name', '=like', 'Paginado %']];
      const pages = [];
      for await (const page of client.searchReadPages('res.partner', { domain, fields: ['name'], pageSize: 500 })) pages.push(page);
      assert.deepEqual(
        pages.map((p) => [p.index, p.offset, p.records.length, p.last]),
        [
          [0, 0, 500, false],
          [1, 500, 500, false],
          [2, 1000, 234, true],
        ],
      );
      assert.deepEqual(
        pages.flatMap((p) => p.records.map((r) => r.id)),
        ids,
      );
      const calls = peer.calls.filter((c) => c.method === 'search_read').slice(-3);
      assert.equal(calls.length, 3, 'one call per page, the last page known without an extra call');
      client.close();
    });

    it('stops at the limit, honours an offset, and pages by offset for other orders', async () => {
      const client = clientFor(peer);
      const domain = [['name', '=like', 'Paginado %']];
      const limited = await client.searchReadAll('res.partner', { domain, fields: ['name'], pageSize: 100, limit: 250, offset: 10 });
      assert.deepEqual(
        limited.map((r) => r.id),
        ids.slice(10, 260),
      );
      const byName = await client.searchReadAll('res.partner', { domain, fields: ['name'], pageSize: 300, order: 'name desc' });
      assert.equal(byName.length, 1234);
      assert.equal(byName[0].name, 'Paginado 01233');
      assert.equal(new Set(byName.map((r) => r.id)).size, 1234);
      const exact = [];
      for await (const page of client.searchReadPages('res.partner', { domain: [['id', 'in', ids.slice(0, 200)]], fields: ['name'], pageSize: 100 }))
        exact.push([page.records.length, page.last]);
      assert.deepEqual(exact, [
        [100, false],
        [100, true],
      ]);
      client.close();
    });

    it('neither skips nor repeats when records are created or deleted while paging', async () => {
      const client = clientFor(peer);
      const domain = [['name', '=like', 'Paginado %']];
      const seen: number[] = [];
      let first = true;
      for await (const page of client.searchReadPages('res.partner', { domain, fields: ['name'], pageSize: 400 })) {
        seen.push(...page.records.map((r) => r.id));
        if (first) {
          first = false;
          await client.unlink('res.partner', [ids[5], ids[6]]); // already read
          await client.create('res.partner', { name: 'Paginado 99999' }); // after the last id: read at the end
        }
      }
      assert.equal(new Set(seen).size, seen.length);
      assert.equal(seen.length, 1235);
      client.close();
    });
  });

  describe('connections, concurrency, timeouts and retries', () => {
    it('keeps connections alive and never has more than `concurrency` requests in flight', async () => {
      const client = clientFor(peer, { concurrency: 2 });
      await client.searchCount('res.partner');
      const connections = peer.stats.connections;
      peer.stats.maxInFlight = 0;
      peer.setLatency(30);
      await Promise.all(Array.from({ length: 8 }, () => client.searchCount('res.partner')));
      assert.equal(peer.stats.maxInFlight, 2);
      assert.ok(peer.stats.connections - connections <= 2, 'reuses its sockets');
      client.close();
    });

    it('retries reads after 502/503/reset and succeeds; gives up with a retryable error', async () => {
      const client = clientFor(peer, { retries: 2 });
      await client.login();
      peer.failNext({ kind: 'http503', method: 'search_count' });
      peer.failNext({ kind: 'reset', method: 'search_count' });
      assert.ok((await client.searchCount('res.partner')) > 0);
      peer.failNext({ kind: 'http502', method: 'search_count', times: 3 });
      const err = await rejects(client.searchCount('res.partner'), 'ODOO_UNAVAILABLE', /HTTP 502/);
      assert.equal(err.retryable, true);
      client.close();
    });

    it('never repeats a write whose answer was lost: ODOO_OUTCOME_UNKNOWN, applied once', async () => {
      const client = clientFor(peer, { retries: 3 });
      const id = await client.create('res.partner', { name: 'Contador', customer_rank: 0 });
      peer.failNext({ kind: 'reset-after-commit', method: 'write' });
      const err = await rejects(client.write('res.partner', id, { customer_rank: 1 }), 'ODOO_OUTCOME_UNKNOWN', /may have applied it/);
      assert.equal(err.retryable, false);
      assert.equal(peer.calls.filter((c) => c.method === 'write' && c.model === 'res.partner').length >= 1, true);
      const [rec] = await client.read('res.partner', id, ['customer_rank']);
      assert.equal(rec.customer_rank, 1);
      peer.failNext({ kind: 'http504', method: 'create' });
      await rejects(client.create('res.partner', { name: 'Otro' }), 'ODOO_OUTCOME_UNKNOWN');
      // 503 means the request was not processed: a write is retried then.
      peer.failNext({ kind: 'http503', method: 'create' });
      assert.ok(await client.create('res.partner', { name: 'Tras 503' }));
      client.close();
    });

    it('times out a hung Odoo: reads end retryable (ODOO_TIMEOUT), writes end ODOO_OUTCOME_UNKNOWN', async () => {
      const client = clientFor(peer, { timeoutMs: 150, retries: 1 });
      await client.login();
      peer.failNext({ kind: 'hang', method: 'search_count', times: 2 });
      const err = await rejects(client.searchCount('res.partner'), 'ODOO_TIMEOUT', /within 150 ms/);
      assert.equal(err.retryable, true);
      peer.failNext({ kind: 'hang', method: 'write' });
      await rejects(client.write('res.partner', [1], { ref: 'x' }), 'ODOO_OUTCOME_UNKNOWN');
      client.close();
    });

    it('reports a dead Odoo as ODOO_UNREACHABLE after retrying, also for writes', async () => {
      const port = await freePort();
      let retries = 0;
      const client = new OdooClient({
        url: `http://127.0.0.1:${port}`,
        db: 'clinica',
        username: 'admin',
        apiKey: 'k',
        retries: 2,
        retryDelayMs: 5,
        onRetry: () => {
          retries += 1;
        },
      });
      const err = await rejects(client.create('res.partner', { name: 'x' }), 'ODOO_UNREACHABLE', /unreachable/);
      assert.equal(err.retryable, true);
      assert.equal(retries, 2);
      client.close();
    });
  });
});
