/**
 * The Odoo peer itself, through the pack's client: domains in prefix notation with every operator,
 * order / limit / offset, automatic write_date, modules, custom models and access rules, and
 * automation-rule webhooks sent inside the write, before the commit.
 */
import * as assert from 'node:assert/strict';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { OdooClient } from '../../nodes/clients/odoo/client';
import { startOdooPeer, type OdooPeer } from '../../peers/odoo';
import { clientFor } from './helpers';

describe('odoo peer', function () {
  let peer: OdooPeer;
  let client: OdooClient;
  let ids: Record<string, number>;

  before(async () => {
    peer = await startOdooPeer({ version: 18 });
    client = clientFor(peer);
    const tag = await client.create('res.partner.category', { name: 'Paciente' });
    ids = {
      ana: await client.create('res.partner', { name: 'Ana Torres', email: 'ana@x.es', city: 'Madrid', customer_rank: 3, category_id: [[6, 0, [tag]]] }),
      bea: await client.create('res.partner', { name: 'Beatriz Ortega', city: 'Sevilla', customer_rank: 1 }),
      carlos: await client.create('res.partner', { name: 'carlos ruiz', city: 'Madrid', customer_rank: 0, active: false }),
      dani: await client.create('res.partner', { name: 'Daniel_Gil', city: false, customer_rank: 7, category_id: [[4, tag]] }),
      tag,
    };
  });
  after(async () => {
    client.close();
    await peer.stop();
  });

  const names = async (domain: unknown[], extra: Record<string, unknown> = {}) =>
    (
      await client.call<Array<{ name: string }>>('res.partner', 'search_read', [domain], {
        fields: ['name'],
        order: 'name',
        context: { active_test: false },
        ...extra,
      })
    )
      .map((r) => r.name)
      .filter((n) => ['Ana Torres', 'Beatriz Ortega', 'carlos ruiz', 'Daniel_Gil'].includes(n));

  it('evaluates every comparison operator', async () => {
    assert.deepEqual(await names([['city', '=', 'Madrid']]), ['Ana Torres', 'carlos ruiz']);
    assert.deepEqual(await names([['city', '!=', 'Madrid']]), ['Beatriz Ortega', 'Daniel_Gil'], '!= includes empty values, as in Odoo');
    assert.deepEqual(await names([['city', '=', false]]), ['Daniel_Gil']);
    assert.deepEqual(await names([['customer_rank', '<', 3]]), ['Beatriz Ortega', 'carlos ruiz']);
    assert.deepEqual(await names([['customer_rank', '<=', 3]]), ['Ana Torres', 'Beatriz Ortega', 'carlos ruiz']);
    assert.deepEqual(await names([['customer_rank', '>', 3]]), ['Daniel_Gil']);
    assert.deepEqual(await names([['customer_rank', '>=', 3]]), ['Ana Torres', 'Daniel_Gil']);
    assert.deepEqual(await names([['id', 'in', [ids.ana, ids.dani]]]), ['Ana Torres', 'Daniel_Gil']);
    assert.deepEqual(await names([['id', 'not in', [ids.ana, ids.dani]]]), ['Beatriz Ortega', 'carlos ruiz']);
    assert.deepEqual(await names([['name', 'like', 'Torres']]), ['Ana Torres']);
    assert.deepEqual(await names([['name', 'like', 'ruiz']]), ['carlos ruiz']);
    assert.deepEqual(await names([['name', 'like', 'RUIZ']]), []);
    assert.deepEqual(await names([['name', 'ilike', 'RUIZ']]), ['carlos ruiz']);
    assert.deepEqual(await names([['name', 'not ilike', 'a']]), []);
    assert.deepEqual(await names([['name', '=like', 'Daniel_Gil']]), ['Daniel_Gil']);
    assert.deepEqual(await names([['name', '=like', 'Dan%']]), ['Daniel_Gil']);
    assert.deepEqual(await names([['name', '=like', 'dan%']]), []);
    assert.deepEqual(await names([['name', '=ilike', 'dan%']]), ['Daniel_Gil']);
    assert.deepEqual(await names([['name', '=like', 'Ana_Torres']]), ['Ana Torres'], '_ matches one character');
    assert.deepEqual(await names([['category_id', 'in', [ids.tag]]]), ['Ana Torres', 'Daniel_Gil']);
    assert.deepEqual(await names([['category_id.name', '=', 'Paciente']]), ['Ana Torres', 'Daniel_Gil']);
    assert.deepEqual(
      await names([
        ['country_id', '=', false],
        ['name', '=', 'Ana Torres'],
      ]),
      ['Ana Torres'],
    );
  });

  it('combines with &, | and ! in prefix notation, and ANDs the top level', async () => {
    assert.deepEqual(await names(['|', ['city', '=', 'Sevilla'], ['customer_rank', '>', 5]]), ['Beatriz Ortega', 'Daniel_Gil']);
    assert.deepEqual(await names(['&', ['city', '=', 'Madrid'], ['customer_rank', '>', 0]]), ['Ana Torres']);
    assert.deepEqual(await names(['!', ['city', '=', 'Madrid']]), ['Beatriz Ortega', 'Daniel_Gil']);
    assert.deepEqual(await names(['|', '&', ['city', '=', 'Madrid'], ['customer_rank', '=', 0], ['name', 'ilike', 'bea']]), ['Beatriz Ortega', 'carlos ruiz']);
    assert.deepEqual(await names(['|', ['city', '=', 'Sevilla'], ['city', '=', 'Madrid'], ['customer_rank', '>=', 1]]), ['Ana Torres', 'Beatriz Ortega']);
    assert.deepEqual(await names(['!', '|', ['city', '=', 'Sevilla'], ['city', '=', 'Madrid']]), ['Daniel_Gil']);
  });

  it('hides archived records unless asked, orders, limits and offsets', async () => {
    const active = (
      await client.searchRead('res.partner', {
        domain: [
          ['customer_rank', '>=', 0],
          ['name', 'in', ['Ana Torres', 'carlos ruiz']],
        ],
        fields: ['name'],
      })
    ).map((r) => r.name);
    assert.deepEqual(active, ['Ana Torres']);
    assert.deepEqual(await names([['active', '=', false]]), ['carlos ruiz']);
    const byRank = await client.searchRead('res.partner', {
      domain: [['id', 'in', [ids.ana, ids.bea, ids.dani]]],
      fields: ['customer_rank'],
      order: 'customer_rank desc',
    });
    assert.deepEqual(
      byRank.map((r) => r.customer_rank),
      [7, 3, 1],
    );
    const page = await client.searchRead('res.partner', {
      domain: [['id', 'in', [ids.ana, ids.bea, ids.dani]]],
      fields: ['name'],
      order: 'customer_rank desc',
      limit: 1,
      offset: 1,
    });
    assert.deepEqual(
      page.map((r) => r.name),
      ['Ana Torres'],
    );
    const cities = await client.searchRead('res.partner', {
      domain: [['id', 'in', [ids.ana, ids.bea, ids.dani]]],
      fields: ['city'],
      order: 'city asc, id desc',
    });
    assert.deepEqual(
      cities.map((r) => r.city),
      ['Madrid', 'Sevilla', false],
      'NULLs last ascending',
    );
    await assert.rejects(client.searchRead('res.partner', { order: 'shoe_size' }), /ODOO_UNKNOWN_FIELD|Invalid field 'shoe_size'/);
    await assert.rejects(client.searchRead('res.partner', { order: 'name; drop table' }), /Invalid "order"/);
  });

  it('sets write_date and write_uid automatically on every write', async () => {
    peer.setClock(new Date('2025-05-01T08:00:00Z'));
    const id = await client.create('res.partner', { name: 'Reloj' });
    peer.setClock(new Date('2025-05-01T09:30:15Z'));
    await client.write('res.partner', id, { phone: '1' });
    peer.setClock(null);
    const [r] = await client.read('res.partner', id, ['create_date', 'write_date', 'write_uid', 'display_name']);
    assert.deepEqual(
      [r.create_date, r.write_date, r.write_uid, r.display_name],
      ['2025-05-01 08:00:00', '2025-05-01 09:30:15', [2, 'Mitchell Admin'], 'Reloj'],
    );
    const changed = await client.searchRead('res.partner', {
      domain: [
        ['write_date', '>', '2025-05-01 09:00:00'],
        ['write_date', '<', '2025-05-02 00:00:00'],
      ],
      fields: ['name'],
    });
    assert.deepEqual(
      changed.map((x) => x.name),
      ['Reloj'],
    );
  });

  it('rolls back every change of a call that fails', async () => {
    const before = await client.searchCount('res.partner', [['name', '=like', 'Lote %']]);
    await assert.rejects(client.create('res.partner', [{ name: 'Lote 1' }, { name: 'Lote 2' }, { email: 'sin-nombre' }]), /Contacts require a name/);
    assert.equal(await client.searchCount('res.partner', [['name', '=like', 'Lote %']]), before);
  });

  it('answers common.version, JSON-RPC envelopes with data.name and XML-RPC faults 3/4 like Odoo', async () => {
    const res = await fetch(`${peer.url}/jsonrpc`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({
        jsonrpc: '2.0',
        method: 'call',
        id: 7,
        params: { service: 'object', method: 'execute_kw', args: [peer.db, 2, 'bad', 'res.partner', 'search', [[]]] },
      }),
    });
    const body = (await res.json()) as { id: number; error: { code: number; message: string; data: { name: string; message: string } } };
    assert.equal(res.status, 200);
    assert.deepEqual(
      [body.id, body.error.code, body.error.message, body.error.data.name, body.error.data.message],
      [7, 200, 'Odoo Server Error', 'odoo.exceptions.AccessDenied', 'Access Denied'],
    );
    const xml = await (
      await fetch(`${peer.url}/xmlrpc/2/object`, {
        method: 'POST',
        body: '<?xml version="1.0"?><methodCall><methodName>execute_kw</methodName><params><param><value><string>clinica</string></value></param><param><value><int>2</int></value></param><param><value><string>bad</string></value></param><param><value><string>res.partner</string></value></param><param><value><string>search</string></value></param><param><value><array><data/></array></value></param></params></methodCall>',
      })
    ).text();
    assert.ok(xml.includes('<name>faultCode</name>\n<value><int>3</int></value>') && xml.includes('<value><string>Access Denied</string></value>'), xml);
  });

  it('installs modules with button_immediate_install, and their models appear', async () => {
    const p = await startOdooPeer({ modules: ['contacts'] });
    const c = clientFor(p);
    await assert.rejects(c.searchCount('calendar.event'), /ODOO_UNKNOWN_MODEL|doesn't exist/);
    const [mod] = await c.searchRead('ir.module.module', { domain: [['name', '=', 'calendar']], fields: ['state'] });
    assert.equal(mod.state, 'uninstalled');
    const action = await c.call<{ tag: string }>('ir.module.module', 'button_immediate_install', [[mod.id]]);
    assert.equal(action.tag, 'reload');
    assert.equal(await c.searchCount('calendar.event'), 0);
    assert.equal((await c.read('ir.module.module', mod.id, ['state']))[0].state, 'installed');
    c.close();
    await p.stop();
  });

  it('creates custom models: access_ids given at creation work at once, a separate ir.model.access is not seen', async () => {
    const modelId = await client.create('ir.model', {
      name: 'Historia clínica',
      model: 'x_historia',
      is_mail_thread: true,
      field_id: [
        [0, 0, { name: 'x_name', field_description: 'Nombre', ttype: 'char', required: true }],
        [0, 0, { name: 'x_patient_id', field_description: 'Paciente', ttype: 'many2one', relation: 'res.partner' }],
      ],
      access_ids: [[0, 0, { name: 'historia all', group_id: 1, perm_read: true, perm_write: true, perm_create: true, perm_unlink: true }]],
    });
    const recId = await client.create('x_historia', { x_name: 'HC-1', x_patient_id: ids.ana });
    assert.deepEqual((await client.read('x_historia', recId, ['x_patient_id']))[0].x_patient_id, [ids.ana, 'Ana Torres']);
    await client.create('ir.model.fields', { model_id: modelId, name: 'x_nextcloud_url', field_description: 'Enlace Nextcloud', ttype: 'char' });
    await client.write('x_historia', recId, { x_nextcloud_url: 'https://nube/s/abc' });
    assert.ok(await client.messagePost('x_historia', recId, { body: 'PDF en Nextcloud' }));
    await assert.rejects(client.create('ir.model', { name: 'Mal', model: 'historia' }), /must start with 'x_'/);

    await client.create('ir.model', { name: 'Receta', model: 'x_receta', field_id: [[0, 0, { name: 'x_name', field_description: 'Nombre', ttype: 'char' }]] });
    const [receta] = await client.searchRead('ir.model', { domain: [['model', '=', 'x_receta']], fields: ['id'] });
    await client.create('ir.model.access', {
      name: 'receta all',
      model_id: receta.id,
      group_id: 1,
      perm_read: true,
      perm_write: true,
      perm_create: true,
      perm_unlink: true,
    });
    await assert.rejects(client.create('x_receta', { x_name: 'R-1' }), /You are not allowed to create 'Receta' \(x_receta\) records/);
    peer.clearCaches();
    assert.ok(await client.create('x_receta', { x_name: 'R-1' }));
  });

  describe('automation webhooks', () => {
    let server: http.Server;
    let hookUrl: string;
    let seenDuringHook: Array<{ payload: Record<string, unknown>; committed: unknown }> = [];
    let reader: OdooClient;

    before(async () => {
      reader = clientFor(peer);
      server = http.createServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on('data', (c: Buffer) => chunks.push(c));
        req.on('end', () => {
          const payload = JSON.parse(Buffer.concat(chunks).toString()) as Record<string, unknown>;
          // Read the record while Odoo waits for us: the write is not committed yet (a raw read, which Odoo
          // answers with [] for a record it cannot see).
          reader
            .call<Array<{ phone?: unknown }>>('res.partner', 'read', [[payload._id as number]], { fields: ['phone'] })
            .then(
              (rows) => seenDuringHook.push({ payload, committed: rows[0]?.phone }),
              (err: Error) => seenDuringHook.push({ payload, committed: `error: ${err.message}` }),
            )
            .finally(() => res.end('ok'));
        });
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
      hookUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/odoo/hook`;
      const [partnerModel] = await client.searchRead('ir.model', { domain: [['model', '=', 'res.partner']], fields: ['id'] });
      const fieldIds = await client.search('ir.model.fields', {
        domain: [
          ['model', '=', 'res.partner'],
          ['name', 'in', ['phone', 'name', 'write_date']],
        ],
      });
      const phoneField = await client.search('ir.model.fields', {
        domain: [
          ['model', '=', 'res.partner'],
          ['name', '=', 'phone'],
        ],
      });
      await client.create('base.automation', {
        name: 'Paciente cambiado',
        model_id: partnerModel.id,
        trigger: 'on_create_or_write',
        trigger_field_ids: [[6, 0, phoneField]],
        filter_domain: "[('name', 'like', 'Webhook')]",
        action_server_ids: [
          [0, 0, { name: 'Avisar a Node-RED', model_id: partnerModel.id, state: 'webhook', webhook_url: hookUrl, webhook_field_ids: [[6, 0, fieldIds]] }],
        ],
      });
    });
    after(async () => {
      reader.close();
      await new Promise<void>((r) => server.close(() => r()));
    });
    beforeEach(() => {
      seenDuringHook = [];
    });

    it('posts {_id, _model, _action, fields} inside the write, before the commit', async () => {
      const id = await client.create('res.partner', { name: 'Webhook Uno', phone: '100' });
      await client.write('res.partner', id, { phone: '200' });
      assert.equal(seenDuringHook.length, 2);
      const [created, written] = seenDuringHook;
      assert.deepEqual([created.payload._id, created.payload._model, created.payload.phone], [id, 'res.partner', '100']);
      // Odoo 18 names a rule's webhook action itself; the body holds str(datetime): to the microsecond.
      assert.match(String(created.payload._action), /^Send Webhook Notification\(#\d+\)$/);
      assert.match(String(created.payload.write_date), /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d{6})?$/);
      assert.equal(created.committed, undefined, 'a created record is not visible before the commit (read gives [])');
      assert.equal(written.payload.phone, '200');
      assert.equal(written.committed, '100', 'a read from the handler still sees the old value');
      assert.equal((await client.read('res.partner', id, ['phone']))[0].phone, '200', 'committed after the answer');
    });

    it('fires on update only through the trigger fields, and only inside filter_domain', async () => {
      const id = await client.create('res.partner', { name: 'Webhook Dos' });
      seenDuringHook = [];
      await client.write('res.partner', id, { email: 'x@y.es' });
      await client.create('res.partner', { name: 'Otro paciente', phone: '1' });
      assert.equal(seenDuringHook.length, 0);
    });

    it('loses the webhook (1 s timeout, no retry) while the write succeeds when the receiver is down', async () => {
      const down = `http://127.0.0.1:${(server.address() as AddressInfo).port + 1}/nobody`;
      const rules = await client.search('ir.actions.server', { domain: [['state', '=', 'webhook']] });
      await client.write('ir.actions.server', rules, { webhook_url: down });
      const before = peer.webhooks.length;
      const id = await client.create('res.partner', { name: 'Webhook Perdido', phone: '5' });
      assert.ok(id);
      const sent = peer.webhooks.slice(before);
      assert.equal(sent.length, 1);
      assert.ok(sent[0].error, 'delivery failed and was not retried');
      await client.write('ir.actions.server', rules, { webhook_url: hookUrl });
    });
  });
});
