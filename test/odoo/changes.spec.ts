/**
 * The change feed behind the trigger node, against the peer: polling by write_date/id with a saved
 * cursor (a restart neither replays nor misses), late commits and same-second versions, and automation
 * webhooks sent before the commit (the committed state is emitted, once, whichever source sees it first).
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import type { AddressInfo } from 'node:net';
import { ChangeFeed, type CursorState, type CursorStore } from '../../nodes/clients/odoo/changes';
import type { OdooClient, OdooRecord } from '../../nodes/clients/odoo/client';
import { startOdooPeer, type OdooPeer } from '../../peers/odoo';
import { waitFor } from '../lib/harness';
import { clientFor } from './helpers';

/** A cursor store in a JSON file, re-read by every new feed (a process restart). */
function fileStore(file: string): CursorStore {
  return {
    load: async () => (fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, 'utf8')) as CursorState) : undefined),
    save: async (state) => fs.writeFileSync(file, JSON.stringify(state)),
  };
}

describe('odoo change feed', function () {
  let peer: OdooPeer;
  let client: OdooClient;
  let dir: string;

  before(async () => {
    peer = await startOdooPeer();
    client = clientFor(peer);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'odoo-feed-'));
  });
  after(async () => {
    client.close();
    await peer.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  function feed(name: string, extra: Partial<ConstructorParameters<typeof ChangeFeed>[0]> = {}) {
    const out: Array<{ id: number; name: unknown; phone: unknown; source: string }> = [];
    const f = new ChangeFeed({
      client,
      model: 'res.partner',
      fields: ['name', 'phone'],
      domain: [['name', '=like', `${name}%`]],
      store: fileStore(path.join(dir, `${name}.json`)),
      ...extra,
    });
    const emit = (records: OdooRecord[], source: string) => out.push(...records.map((r) => ({ id: r.id, name: r.name, phone: r.phone, source })));
    return { f, out, poll: () => f.poll(emit), webhook: (p: Record<string, unknown>) => f.webhook(p, emit) };
  }

  it('starts from now, emits each change once, and survives a restart without replaying or missing', async () => {
    await client.create('res.partner', { name: 'Feed antiguo' });
    const a = feed('Feed');
    assert.equal(await a.poll(), 0, 'existing records are not emitted with start "now"');
    const id1 = await client.create('res.partner', { name: 'Feed nuevo 1' });
    const id2 = await client.create('res.partner', { name: 'Feed nuevo 2' });
    assert.equal(await a.poll(), 2);
    assert.equal(await a.poll(), 0);
    await client.write('res.partner', id1, { phone: '111' });
    assert.equal(await a.poll(), 1);
    assert.deepEqual(
      a.out.map((r) => [r.id, r.phone]),
      [
        [id1, false],
        [id2, false],
        [id1, '111'],
      ],
    );

    // "Restart": a new feed reads the saved cursor; changes made while it was down come out once.
    await a.f.flush();
    const id3 = await client.create('res.partner', { name: 'Feed durante la parada' });
    await client.write('res.partner', id2, { phone: '222' });
    const b = feed('Feed');
    assert.equal(await b.poll(), 2);
    assert.deepEqual(
      b.out.map((r) => [r.id, r.phone]).sort((x, y) => Number(x[0]) - Number(y[0])),
      [
        [id2, '222'],
        [id3, false],
      ],
    );
    assert.equal(await b.poll(), 0);
  });

  it('goes on saving its cursor after one save failed (the shared database restarting)', async () => {
    // Found by the fault suite (test/faults/infra-faults.spec.ts): saves were chained on the first failed one, so after
    // a PostgreSQL restart every later poll failed after emitting, and what a failed write left to re-read was never taken.
    const file = path.join(dir, 'flaky.json');
    const inner = fileStore(file);
    let down = false;
    const store: CursorStore = {
      load: inner.load,
      save: async (state) => (down ? Promise.reject(new Error('Connection terminated unexpectedly')) : inner.save(state)),
    };
    const a = feed('Flaky', { store });
    assert.equal(await a.poll(), 0);
    await client.create('res.partner', { name: 'Flaky 1' });
    down = true;
    await assert.rejects(a.poll(), /Connection terminated/);
    assert.equal(a.out.length, 1, 'emitted before the save failed');
    down = false;
    const id2 = await client.create('res.partner', { name: 'Flaky 2' });
    assert.equal(await a.poll(), 1, 'the next poll works');
    await a.f.flush();
    const saved = JSON.parse(fs.readFileSync(file, 'utf8')) as CursorState;
    assert.equal(saved.id, id2, 'and its cursor is saved again');
  });

  it('emits everything first with start "all", page by page', async () => {
    const ids = await client.create(
      'res.partner',
      Array.from({ length: 45 }, (_, i) => ({ name: `Todo ${i}` })),
    );
    const all = feed('Todo', { start: 'all', pageSize: 10 });
    assert.equal(await all.poll(), 45);
    assert.deepEqual(
      all.out.map((r) => r.id),
      ids,
    );
  });

  it('catches a transaction that commits late with an older write_date, and a second version in the same second', async () => {
    const f = feed('Tarde');
    await f.poll();
    const now = Date.now();
    await client.create('res.partner', { name: 'Tarde A' });
    await f.poll();
    peer.setClock(new Date(now - 3000)); // began 3 s ago, commits now
    const late = await client.create('res.partner', { name: 'Tarde B' });
    peer.setClock(null);
    assert.equal(await f.poll(), 1);
    assert.equal(f.out[f.out.length - 1].id, late);

    peer.setClock(new Date(now));
    const same = await client.create('res.partner', { name: 'Tarde C', phone: '1' });
    assert.equal(await f.poll(), 1);
    await client.write('res.partner', same, { phone: '2' }); // same write_date, new values
    peer.setClock(null);
    assert.equal(await f.poll(), 1);
    assert.deepEqual(
      f.out.slice(-2).map((r) => r.phone),
      ['1', '2'],
    );
    assert.equal(await f.poll(), 0);
  });

  it('reads a 1,000-record import stamped in one transaction once, page by page, and stops polling at once', async () => {
    const f = feed('Import', { pageSize: 200 });
    assert.equal(await f.poll(), 0);
    // One create call is one transaction: Odoo gives all 1,000 records the same write_date.
    const ids = await client.create(
      'res.partner',
      Array.from({ length: 1000 }, (_, i) => ({ name: `Import ${i}` })),
    );
    const stamps = new Set((await client.read('res.partner', ids, ['write_date'])).map((r) => r.write_date));
    assert.equal(stamps.size, 1, 'one write_date for the whole import');
    f.f.calls = 0;
    assert.equal(await f.poll(), 1000);
    assert.deepEqual(
      f.out.map((r) => r.id).sort((a, b) => a - b),
      ids,
    );
    assert.ok(f.f.calls <= 2 * (1000 / 200) + 4, `every call moved on: ${f.f.calls} calls for 5 pages`);
    // The next polls re-read the overlap window once each and emit nothing: no loop.
    f.f.calls = 0;
    assert.equal(await f.poll(), 0);
    assert.ok(f.f.calls <= 2 * (1000 / 200) + 4, `${f.f.calls} calls`);
  });

  it('starts "from now" without replaying the records of the newest second', async () => {
    await client.create(
      'res.partner',
      Array.from({ length: 250 }, (_, i) => ({ name: `Ahora ${i}` })),
    );
    const f = feed('Ahora', { pageSize: 100 });
    assert.equal(await f.poll(), 0, 'nothing that existed before the start');
    const id = await client.create('res.partner', { name: 'Ahora nuevo' });
    assert.equal(await f.poll(), 1);
    assert.deepEqual(
      f.out.map((r) => r.id),
      [id],
    );
  });

  it('sees archiving and unarchiving as changes (and skips archived records when asked to)', async () => {
    const id = await client.create('res.partner', { name: 'Archivo 1' });
    const all = new ChangeFeed({
      client,
      model: 'res.partner',
      fields: ['name', 'active'],
      domain: [['name', '=like', 'Archivo%']],
      store: fileStore(path.join(dir, 'archivo.json')),
    });
    const plain = new ChangeFeed({
      client,
      model: 'res.partner',
      fields: ['name', 'active'],
      domain: [['name', '=like', 'Archivo%']],
      includeArchived: false,
      store: fileStore(path.join(dir, 'archivo-plain.json')),
    });
    const seen: Array<[number, unknown]> = [];
    const seenPlain: Array<[number, unknown]> = [];
    await all.poll(() => undefined);
    await plain.poll(() => undefined);
    await client.write('res.partner', id, { active: false });
    await all.poll((rs) => seen.push(...rs.map((r) => [r.id, r.active] as [number, unknown])));
    await plain.poll((rs) => seenPlain.push(...rs.map((r) => [r.id, r.active] as [number, unknown])));
    await client.write('res.partner', id, { active: true });
    await all.poll((rs) => seen.push(...rs.map((r) => [r.id, r.active] as [number, unknown])));
    assert.deepEqual(seen, [
      [id, false],
      [id, true],
    ]);
    assert.deepEqual(seenPlain, [], "Odoo's default search hides the archived record");
  });

  describe('with automation webhooks', () => {
    let server: http.Server;
    let feedUnderTest: ReturnType<typeof feed>;
    const outcomes: string[] = [];

    before(async () => {
      feedUnderTest = feed('Hook', { webhookWaitMs: 3000 });
      await feedUnderTest.poll();
      // The receiver answers at once (Odoo waits for it inside the user's save), then confirms.
      server = http.createServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on('data', (c: Buffer) => chunks.push(c));
        req.on('end', () => {
          res.end('ok');
          const payload = JSON.parse(Buffer.concat(chunks).toString()) as Record<string, unknown>;
          feedUnderTest.webhook(payload).then(
            (o) => outcomes.push(o.outcome),
            (e: Error) => outcomes.push(`error ${e.message}`),
          );
        });
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
      const [model] = await client.searchRead('ir.model', { domain: [['model', '=', 'res.partner']], fields: ['id'] });
      const trigger = await client.search('ir.model.fields', {
        domain: [
          ['model', '=', 'res.partner'],
          ['name', 'in', ['name', 'phone']],
        ],
      });
      const sent = await client.search('ir.model.fields', {
        domain: [
          ['model', '=', 'res.partner'],
          ['name', 'in', ['name', 'phone', 'write_date']],
        ],
      });
      await client.create('base.automation', {
        name: 'Feed hook',
        model_id: model.id,
        trigger: 'on_create_or_write',
        trigger_field_ids: [[6, 0, trigger]],
        filter_domain: "[('name', '=like', 'Hook%')]",
        action_server_ids: [
          [
            0,
            0,
            {
              name: 'Node-RED',
              state: 'webhook',
              webhook_url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
              webhook_field_ids: [[6, 0, sent]],
            },
          ],
        ],
      });
    });
    after(async () => {
      await new Promise<void>((r) => server.close(() => r()));
    });

    it('emits the committed record at once, and polling does not emit it again', async () => {
      const id = await client.create('res.partner', { name: 'Hook 1', phone: '10' });
      await waitFor(() => outcomes.length === 1, 'webhook handled');
      assert.deepEqual(outcomes, ['emitted']);
      assert.deepEqual(
        feedUnderTest.out.map((r) => [r.id, r.phone, r.source]),
        [[id, '10', 'webhook']],
      );
      await client.write('res.partner', id, { phone: '20' });
      await waitFor(() => outcomes.length === 2, 'second webhook handled');
      assert.deepEqual(
        feedUnderTest.out.map((r) => [r.phone, r.source]),
        [
          ['10', 'webhook'],
          ['20', 'webhook'],
        ],
        'the new value, never the stale one',
      );
      assert.equal(await feedUnderTest.poll(), 0, 'seen by both, emitted once');
    });

    it('emits only the latest state when a record is saved twice before the first webhook could confirm', async () => {
      const before = feedUnderTest.out.length;
      outcomes.length = 0;
      const id = await client.create('res.partner', { name: 'Hook doble', phone: 'a' });
      await client.write('res.partner', id, { phone: 'b' });
      await waitFor(() => outcomes.length === 2, 'both webhooks handled');
      const mine = feedUnderTest.out.slice(before);
      assert.equal(mine[mine.length - 1].phone, 'b', 'the latest committed state comes out');
      assert.ok(mine.every((r) => r.phone === 'a' || r.phone === 'b'));
      assert.ok(outcomes.includes('emitted'));
      assert.equal(await feedUnderTest.poll(), 0);
    });

    it('lets polling emit what a lost webhook missed, and ignores a late duplicate webhook', async () => {
      const port = (server.address() as AddressInfo).port;
      const actions = await client.search('ir.actions.server', {
        domain: [
          ['state', '=', 'webhook'],
          ['webhook_url', '=like', '%/hook'],
        ],
      });
      await client.write('ir.actions.server', actions, { webhook_url: `http://127.0.0.1:${port + 1}/down` });
      const id = await client.create('res.partner', { name: 'Hook perdido' });
      await client.write('ir.actions.server', actions, { webhook_url: `http://127.0.0.1:${port}/hook` });
      const before = feedUnderTest.out.length;
      assert.equal(await feedUnderTest.poll(), 1);
      assert.deepEqual(
        feedUnderTest.out.slice(before).map((r) => [r.id, r.source]),
        [[id, 'poll']],
      );
      const [rec] = await client.read('res.partner', id, ['name', 'phone', 'write_date']);
      const again = await feedUnderTest.webhook({ _id: id, _model: 'res.partner', name: rec.name, phone: rec.phone, write_date: rec.write_date });
      assert.equal(again.outcome, 'duplicate');
    });

    it('refuses a webhook for another model and gives up on a record that never commits', async () => {
      await assert.rejects(feedUnderTest.webhook({ _id: 1, _model: 'account.move' }), /received a webhook for account\.move/);
      await assert.rejects(feedUnderTest.webhook({ _model: 'res.partner' }), /no record id/);
      const quick = feed('Hook', { webhookWaitMs: 200 });
      const res = await quick.webhook({ _id: 987654, _model: 'res.partner', write_date: '2030-01-01 00:00:00' });
      assert.deepEqual(res, { outcome: 'not-committed', id: 987654 });
    });
  });
});
