/**
 * The Odoo nodes in Node-RED (test helper) against the Odoo peer: config from credentials or ODOO_* env,
 * every operation, paging, bad input and dead Odoo ending in done(err), invoice PDFs, and the trigger
 * (polling, webhooks through http in / http response, cursor kept across a restart in a file store).
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { core, helper, collect, waitFor, sleep } from '../lib/harness';
import { getRED } from '../../nodes/lib/node-runtime';
import { startOdooPeer, type OdooPeer } from '../../peers/odoo';
import { clientFor, insertPartners, postedInvoice } from './helpers';
import type { OdooClient } from '../../nodes/clients/odoo/client';

const configNode = require('../../nodes/odoo/odoo-config');
const odooNode = require('../../nodes/odoo/odoo');
const pdfNode = require('../../nodes/odoo/odoo-pdf');
const triggerNode = require('../../nodes/odoo/odoo-trigger');

const nodes = [configNode, odooNode, pdfNode, triggerNode, core.httpIn];

type Msg = Record<string, any>;

function serveHttpNodes(): Promise<{ server: http.Server; url: string }> {
  const server = http.createServer((req, res) => (getRED().httpNode as unknown as http.RequestListener)(req, res));
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve({ server, url: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}` })),
  );
}

describe('odoo nodes (Node-RED test helper, Odoo peer)', function () {
  let peer: OdooPeer;
  let client: OdooClient;
  let web: { server: http.Server; url: string };

  before(async () => {
    peer = await startOdooPeer({ version: 18 });
    client = clientFor(peer);
    web = await serveHttpNodes();
    await new Promise<void>((resolve) => helper.startServer(() => resolve()));
  });
  after(async () => {
    await new Promise<void>((resolve) => helper.stopServer(() => resolve()));
    web.server.closeAllConnections();
    await new Promise<void>((resolve) => web.server.close(() => resolve()));
    client.close();
    await peer.stop();
  });
  afterEach(async () => {
    peer.clearFailures();
    peer.setLatency(0);
    await helper.unload();
  });

  const cfg = (extra: Msg = {}) => ({
    id: 'cfg',
    type: 'clinica-odoo-config',
    url: peer.url,
    db: peer.db,
    username: 'admin',
    protocol: 'auto',
    timeout: 5,
    retries: 1,
    ...extra,
  });
  const creds = () => ({ cfg: { apiKey: peer.admin.apiKey } });
  const op = (props: Msg) => [
    { id: 'tab', type: 'tab' },
    cfg(props.cfg ?? {}),
    { id: 'n', type: 'clinica-odoo', z: 'tab', config: 'cfg', wires: [['out']], ...props },
    { id: 'out', type: 'helper', z: 'tab' },
    { id: 'catcher', type: 'catch', z: 'tab', scope: null, uncaught: false, wires: [['errors']] },
    { id: 'errors', type: 'helper', z: 'tab' },
  ];

  async function ask(props: Msg, input: Msg): Promise<{ out: Msg[]; errors: Msg[] }> {
    await helper.load(nodes, op(props), creds());
    const out = collect<Msg>(helper.getNode('out'));
    const errors = collect<Msg>(helper.getNode('errors'));
    helper.getNode('n').receive(input);
    await waitFor(() => out.length > 0 || errors.length > 0, 'an answer or an error');
    await sleep(20);
    return { out, errors };
  }

  describe('config', () => {
    it('takes URL, database, user and API key from ODOO_* when its fields are empty, and shows connected', async () => {
      const saved = { ...process.env };
      Object.assign(process.env, { ODOO_URL: peer.url, ODOO_DB: peer.db, ODOO_USERNAME: 'admin', ODOO_API_KEY: peer.admin.apiKey });
      try {
        await helper.load(nodes, op({ operation: 'search_count', model: 'res.country', cfg: { url: '', db: '', username: '' } }), {});
        const n = helper.getNode('n');
        const statuses: Msg[] = [];
        n.on('call:status', (call: { args: Msg[] }) => statuses.push(call.args[0]));
        const out = collect<Msg>(helper.getNode('out'));
        n.receive({ payload: 'go' });
        await waitFor(() => out.length === 1, 'count');
        assert.ok(out[0].payload >= 5);
        assert.equal(helper.getNode('cfg').url, peer.url);
      } finally {
        for (const k of ['ODOO_URL', 'ODOO_DB', 'ODOO_USERNAME', 'ODOO_API_KEY']) {
          if (saved[k] === undefined) delete process.env[k];
          else process.env[k] = saved[k];
        }
      }
    });

    it('shows ODOO_ACCESS_DENIED on its users for a bad key, never the key itself', async () => {
      await helper.load(nodes, op({ operation: 'search_count', model: 'res.partner' }), { cfg: { apiKey: 'not-the-key' } });
      const n = helper.getNode('n');
      const statuses: Msg[] = [];
      n.on('call:status', (call: { args: Msg[] }) => statuses.push(call.args[0]));
      const errors = collect<Msg>(helper.getNode('errors'));
      n.receive({});
      await waitFor(() => errors.length === 1, 'error');
      assert.equal(errors[0].errorInfo.code, 'ODOO_ACCESS_DENIED');
      await waitFor(() => statuses.some((s) => s.text === 'ODOO_ACCESS_DENIED' && s.fill === 'red'), 'red status');
      assert.ok(!JSON.stringify(errors[0]).includes('not-the-key'));
    });
  });

  describe('operation node', () => {
    let ids: number[];
    before(() => {
      ids = insertPartners(peer, 120, 'Nodo');
    });

    it('search_read with the node settings, the message overriding domain, fields and limit', async () => {
      const { out } = await ask({ operation: 'search_read', model: 'res.partner', domain: '[["name", "=like", "Nodo %"]]', fields: 'name', limit: 5 }, {});
      assert.equal(out[0].payload.length, 5);
      assert.deepEqual(Object.keys(out[0].payload[0]).sort(), ['id', 'name']);
      assert.equal(out[0].topic, 'res.partner');
      assert.equal(out[0].odoo.protocol, 'jsonrpc');
      assert.equal(out[0].odoo.count, 5);
      await helper.unload();
      const again = await ask(
        { operation: 'search_read', model: '', domain: '[]', fields: 'name' },
        { topic: 'res.partner', domain: [['id', '=', ids[3]]], fields: ['email'], limit: 0 },
      );
      assert.deepEqual(again.out[0].payload, [{ id: ids[3], email: 'p3@clinica.example' }]);
    });

    it('pages on the server: all records in one message, or one message per page with msg.parts', async () => {
      const all = await ask(
        { operation: 'search_read', model: 'res.partner', domain: '[["name", "=like", "Nodo %"]]', fields: 'name', paging: 'all', pageSize: 50 },
        {},
      );
      assert.equal(all.out[0].payload.length, 120);
      assert.deepEqual(
        all.out[0].payload.map((r: Msg) => r.id),
        ids,
      );
      await helper.unload();
      await helper.load(
        nodes,
        op({ operation: 'search_read', model: 'res.partner', domain: '[["name", "=like", "Nodo %"]]', fields: 'name', paging: 'pages', pageSize: 50 }),
        creds(),
      );
      const out = collect<Msg>(helper.getNode('out'));
      helper.getNode('n').receive({ correlationId: 'c-1' });
      await waitFor(() => out.length === 3, 'three pages');
      assert.deepEqual(
        out.map((m) => [m.payload.length, m.parts.index, m.parts.count, m.odoo.page.last]),
        [
          [50, 0, undefined, false],
          [50, 1, undefined, false],
          [20, 2, 3, true],
        ],
      );
      assert.equal(new Set(out.map((m) => m.parts.id)).size, 1);
      assert.ok(out.every((m) => m.correlationId === 'c-1'));
    });

    it('creates, reads, writes (ids from msg.odoo), posts on the chatter, calls a method and unlinks', async () => {
      const created = await ask({ operation: 'create', model: 'res.partner', values: '{"city": "Toledo"}' }, { payload: { name: 'Nodo Nuevo' } });
      const id = created.out[0].payload as number;
      assert.deepEqual([created.out[0].odoo.id, created.out[0].odoo.model], [id, 'res.partner']);
      await helper.unload();
      const many = await ask({ operation: 'create', model: 'res.partner' }, { payload: [{ name: 'Lote A' }, { name: 'Lote B' }] });
      assert.equal(many.out[0].payload.length, 2);
      await helper.unload();
      const read = await ask({ operation: 'read', model: 'res.partner', fields: 'name, city' }, { payload: id });
      assert.deepEqual(read.out[0].payload, [{ id, name: 'Nodo Nuevo', city: 'Toledo' }]);
      await helper.unload();
      const written = await ask({ operation: 'write', model: 'res.partner' }, { payload: { phone: '+34 925 000 000' }, odoo: { model: 'res.partner', id } });
      assert.equal(written.out[0].payload, true);
      await helper.unload();
      const posted = await ask(
        { operation: 'message_post', model: 'res.partner', subtype: 'note' },
        { payload: 'Factura guardada en Nextcloud', odoo: { model: 'res.partner', id } },
      );
      const [message] = await client.read('mail.message', posted.out[0].payload, ['res_id', 'body']);
      assert.deepEqual([message.res_id, message.body], [id, 'Factura guardada en Nextcloud']);
      await helper.unload();
      const moveId = await client.create('account.move', {
        move_type: 'out_invoice',
        partner_id: id,
        invoice_line_ids: [[0, 0, { name: 'Consulta', price_unit: 50 }]],
      });
      const called = await ask({ operation: 'call', model: 'account.move', method: 'action_post' }, { args: [[moveId]] });
      assert.equal(called.out[0].payload, false);
      assert.equal((await client.read('account.move', moveId, ['state']))[0].state, 'posted');
      await helper.unload();
      const count = await ask({ operation: 'search_count', model: 'res.partner', domain: '[["city", "=", "Toledo"]]' }, {});
      assert.equal(count.out[0].payload, 1);
      await helper.unload();
      const removed = await ask({ operation: 'unlink', model: 'res.partner' }, { ids: many.out[0].payload });
      assert.equal(removed.out[0].payload, true);
    });

    const badCases: Array<[string, Msg, Msg, string, RegExp]> = [
      [
        'a domain setting that is not JSON',
        { operation: 'search_read', model: 'res.partner', domain: '[["name", "=",' },
        {},
        'BAD_INPUT',
        /domain setting is not valid JSON/,
      ],
      [
        'a domain that is not a list',
        { operation: 'search_read', model: 'res.partner' },
        { domain: { name: 'x' } },
        'BAD_INPUT',
        /msg\.domain must be a domain list/,
      ],
      ['an unknown field', { operation: 'search_read', model: 'res.partner', domain: '[["shoe_size", ">", 40]]' }, {}, 'ODOO_UNKNOWN_FIELD', /shoe_size/],
      ['a bad operator', { operation: 'search_read', model: 'res.partner', domain: '[["name", "resembles", "x"]]' }, {}, 'ODOO_BAD_DOMAIN', /Invalid leaf/],
      ['a wrong type', { operation: 'write', model: 'res.partner', ids: '1' }, { payload: { customer_rank: 'muchos' } }, 'ODOO_BAD_VALUE', /muchos/],
      ['a missing record', { operation: 'read', model: 'res.partner' }, { payload: 99999 }, 'ODOO_MISSING_RECORD', /res\.partner \(record 99999\)/],
      ['no model', { operation: 'search_read', model: '' }, {}, 'BAD_INPUT', /no model/],
      ['ids that are not ids', { operation: 'read', model: 'res.partner' }, { ids: ['uno'] }, 'BAD_INPUT', /msg\.ids must be record ids/],
      ['write without ids', { operation: 'write', model: 'res.partner' }, { payload: { name: 'x' } }, 'BAD_INPUT', /needs record ids/],
      ['an unknown model', { operation: 'search_count', model: 'res.patient' }, {}, 'ODOO_UNKNOWN_MODEL', /res\.patient/],
    ];
    for (const [what, props, input, code, message] of badCases) {
      it(`ends ${what} in done(err) with ${code}`, async () => {
        const { out, errors } = await ask(props, input);
        assert.equal(out.length, 0);
        assert.equal(errors.length, 1);
        assert.equal(errors[0].errorInfo.code, code);
        assert.equal(errors[0].errorInfo.system, 'odoo');
        assert.match(errors[0].error.message, message);
      });
    }

    it('times out a hung Odoo with a red status and a retryable error, never a hung flow', async () => {
      await helper.load(nodes, op({ operation: 'search_count', model: 'res.partner', cfg: { timeout: 1, retries: 0 } }), creds());
      const n = helper.getNode('n');
      const statuses: Msg[] = [];
      n.on('call:status', (call: { args: Msg[] }) => statuses.push(call.args[0]));
      const errors = collect<Msg>(helper.getNode('errors'));
      n.receive({ payload: 'warm up' });
      await waitFor(() => collect.length >= 0 && statuses.some((s) => s.fill === undefined || s.fill === 'green'), 'first call done', 5000).catch(
        () => undefined,
      );
      await sleep(100);
      peer.failNext({ kind: 'hang', method: 'search_count' });
      n.receive({ payload: 'hung' });
      await waitFor(() => errors.length === 1, 'timeout error', 5000);
      assert.equal(errors[0].errorInfo.code, 'ODOO_TIMEOUT');
      assert.equal(errors[0].errorInfo.retryable, true);
      assert.ok(statuses.some((s) => s.fill === 'red' && s.text === 'ODOO_TIMEOUT'));
    });

    it('reports a dead Odoo as ODOO_UNREACHABLE', async () => {
      const srv = net.createServer();
      await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
      const port = (srv.address() as net.AddressInfo).port;
      await new Promise<void>((r) => srv.close(() => r()));
      const { errors } = await ask({ operation: 'search_count', model: 'res.partner', cfg: { url: `http://127.0.0.1:${port}`, retries: 1 } }, {});
      assert.equal(errors[0].errorInfo.code, 'ODOO_UNREACHABLE');
    });
  });

  describe('pdf node', () => {
    it('returns the invoice PDF with msg.document and msg.patientId for the Nextcloud node', async () => {
      const moveId = await postedInvoice(client, 'Paciente PDF');
      const [move] = await client.read('account.move', moveId, ['partner_id', 'name']);
      await helper.load(
        nodes,
        [
          { id: 'tab', type: 'tab' },
          cfg(),
          {
            id: 'n',
            type: 'clinica-odoo-pdf',
            z: 'tab',
            config: 'cfg',
            model: 'account.move',
            mode: 'send',
            docType: 'invoice',
            patientField: 'partner_id',
            wires: [['out']],
          },
          { id: 'out', type: 'helper', z: 'tab' },
        ],
        creds(),
      );
      const out = collect<Msg>(helper.getNode('out'));
      helper.getNode('n').receive({ payload: moveId });
      await waitFor(() => out.length === 1, 'pdf');
      const m = out[0];
      assert.ok(Buffer.isBuffer(m.payload) && m.payload.subarray(0, 5).toString() === '%PDF-');
      assert.deepEqual(m.document, { type: 'invoice', name: `${String(move.name).replace(/\//g, '_')}.pdf`, contentType: 'application/pdf' });
      assert.equal(m.patientId, (move.partner_id as [number, string])[0]);
      assert.equal(m.odoo.pdf.path, 'send-wizard');
      assert.equal(peer.sentMail.length, 0);
    });

    it('ends in done(err) naming every path when no PDF can be had', async () => {
      const draft = await client.create('account.move', { move_type: 'out_invoice', partner_id: 3, invoice_line_ids: [[0, 0, { name: 'x', price_unit: 1 }]] });
      await helper.load(
        nodes,
        [
          { id: 'tab', type: 'tab' },
          cfg(),
          { id: 'n', type: 'clinica-odoo-pdf', z: 'tab', config: 'cfg', model: 'account.move', mode: 'send', wires: [[]] },
          { id: 'catcher', type: 'catch', z: 'tab', scope: null, uncaught: false, wires: [['errors']] },
          { id: 'errors', type: 'helper', z: 'tab' },
        ],
        creds(),
      );
      const errors = collect<Msg>(helper.getNode('errors'));
      helper.getNode('n').receive({ odoo: { model: 'account.move', id: draft } });
      await waitFor(() => errors.length === 1, 'error');
      assert.equal(errors[0].errorInfo.code, 'ODOO_PDF_UNAVAILABLE');
      assert.match(errors[0].error.message, /attachment: .*report-route: .*send-wizard: /s);
    });
  });

  describe('trigger node', () => {
    it('polls: emits records changed after it started, one message each, once', async () => {
      await helper.load(
        nodes,
        [
          { id: 'tab', type: 'tab' },
          cfg(),
          {
            id: 't',
            type: 'clinica-odoo-trigger',
            z: 'tab',
            config: 'cfg',
            model: 'res.partner',
            domain: '[["name", "=like", "Trig %"]]',
            fields: 'name, phone',
            interval: 0,
            start: 'now',
            output: 'record',
            wires: [['out']],
          },
          { id: 'out', type: 'helper', z: 'tab' },
        ],
        creds(),
      );
      const out = collect<Msg>(helper.getNode('out'));
      const t = helper.getNode('t');
      await client.create('res.partner', { name: 'Trig antes' });
      t.receive({ payload: 'poll' });
      await sleep(100);
      const before = out.length;
      const a = await client.create('res.partner', { name: 'Trig A' });
      t.receive({ payload: 'poll' });
      await waitFor(() => out.length === before + 1, 'one record');
      const m = out[out.length - 1];
      assert.deepEqual([m.payload.id, m.payload.name, m.topic, m.odoo.source, m.odoo.event], [a, 'Trig A', 'res.partner', 'poll', 'created']);
      t.receive({ payload: 'poll' });
      await sleep(100);
      assert.equal(out.length, before + 1, 'nothing twice');
    });

    it('answers Odoo at once through http response and emits the committed record of the webhook once', async () => {
      await helper.load(
        nodes,
        [
          { id: 'tab', type: 'tab' },
          cfg(),
          { id: 'in', type: 'http in', z: 'tab', url: '/odoo/patients', method: 'post', wires: [['t', 'resp']] },
          { id: 'resp', type: 'http response', z: 'tab', statusCode: '200' },
          {
            id: 't',
            type: 'clinica-odoo-trigger',
            z: 'tab',
            config: 'cfg',
            model: 'res.partner',
            domain: '[["name", "=like", "Hook %"]]',
            fields: 'name, phone',
            interval: 0,
            webhookWait: 3,
            wires: [['out']],
          },
          { id: 'out', type: 'helper', z: 'tab' },
        ],
        creds(),
      );
      const out = collect<Msg>(helper.getNode('out'));
      helper.getNode('t').receive({ payload: 'poll' });
      await sleep(100);
      const [model] = await client.searchRead('ir.model', { domain: [['model', '=', 'res.partner']], fields: ['id'] });
      const triggerFields = await client.search('ir.model.fields', {
        domain: [
          ['model', '=', 'res.partner'],
          ['name', 'in', ['name', 'phone']],
        ],
      });
      const sentFields = await client.search('ir.model.fields', {
        domain: [
          ['model', '=', 'res.partner'],
          ['name', 'in', ['name', 'phone', 'write_date']],
        ],
      });
      const ruleId = await client.create('base.automation', {
        name: 'Pacientes a Node-RED',
        model_id: model.id,
        trigger: 'on_create_or_write',
        trigger_field_ids: [[6, 0, triggerFields]],
        filter_domain: "[('name', '=like', 'Hook %')]",
        action_server_ids: [[0, 0, { name: 'Webhook', state: 'webhook', webhook_url: `${web.url}/odoo/patients`, webhook_field_ids: [[6, 0, sentFields]] }]],
      });
      try {
        const id = await client.create('res.partner', { name: 'Hook Nodo', phone: '1' });
        await waitFor(() => out.length === 1, 'the created record');
        await client.write('res.partner', id, { phone: '2' });
        await waitFor(() => out.length === 2, 'the updated record');
        assert.deepEqual(
          out.map((m) => [m.payload.id, m.payload.phone, m.odoo.source]),
          [
            [id, '1', 'webhook'],
            [id, '2', 'webhook'],
          ],
        );
        assert.match(String(out[1].odoo.action), /^Send Webhook Notification\(#\d+\)$/);
        const hooks = peer.webhooks.slice(-2);
        // Answered within Odoo's 1 s webhook timeout: otherwise the peer records the timeout and no status.
        assert.deepEqual(
          hooks.map((h) => [h.status, h.error]),
          [
            [200, undefined],
            [200, undefined],
          ],
          'Odoo got its answer',
        );
        helper.getNode('t').receive({ payload: 'poll' });
        await sleep(150);
        assert.equal(out.length, 2, 'polling does not emit them again');
        assert.ok(
          out.every((m) => !m.res && !m.req),
          'emitted messages do not carry the http request',
        );
      } finally {
        await client.unlink('base.automation', [ruleId]);
      }
    });

    it('reports a failing timed poll to Catch nodes with a red status, and keeps polling', async () => {
      const srv = net.createServer();
      await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
      const port = (srv.address() as net.AddressInfo).port;
      await new Promise<void>((r) => srv.close(() => r()));
      await helper.load(
        nodes,
        [
          { id: 'tab', type: 'tab' },
          cfg({ url: `http://127.0.0.1:${port}`, retries: 0 }),
          { id: 't', type: 'clinica-odoo-trigger', z: 'tab', config: 'cfg', model: 'res.partner', interval: 1, wires: [[]] },
          { id: 'catcher', type: 'catch', z: 'tab', scope: null, uncaught: false, wires: [['errors']] },
          { id: 'errors', type: 'helper', z: 'tab' },
        ],
        creds(),
      );
      const t = helper.getNode('t');
      const statuses: Msg[] = [];
      t.on('call:status', (call: { args: Msg[] }) => statuses.push(call.args[0]));
      const errors = collect<Msg>(helper.getNode('errors'));
      await waitFor(() => errors.length >= 2, 'two failed polls');
      assert.deepEqual([errors[0].errorInfo.code, errors[0].errorInfo.retryable, errors[0].topic], ['ODOO_UNREACHABLE', true, 'res.partner']);
      assert.ok(statuses.some((st) => st.fill === 'red' && st.text === 'ODOO_UNREACHABLE'));
    });

    it('keeps its cursor in the file context store: a restart neither replays nor misses', async () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'odoo-trigger-ctx-'));

      const context = (helper as any)._context as { load(): Promise<void>; close(): Promise<void> };
      helper.settings({
        contextStorage: { default: 'memory', memory: { module: 'memory' }, file: { module: 'localfilesystem', config: { dir, flushInterval: 0 } } },
      });
      const flow = [
        { id: 'tab', type: 'tab' },
        cfg(),
        {
          id: 't',
          type: 'clinica-odoo-trigger',
          z: 'tab',
          config: 'cfg',
          model: 'res.partner',
          domain: '[["name", "=like", "Reinicio %"]]',
          fields: 'name',
          interval: 0,
          start: 'now',
          wires: [['out']],
        },
        { id: 'out', type: 'helper', z: 'tab' },
      ];

      const h = helper as any;
      /** helper.unload() without its context.clean(), which would delete the stored cursor. */
      const stopFlows = async () => {
        h._redNodes.clearRegistry();
        h._logSpy?.restore();
        h._sandbox.restore();
        await h._redNodes.stopFlows();
      };
      const boot = async () => {
        await helper.load(nodes, flow, creds());
        await context.load();
        return collect<Msg>(helper.getNode('out'));
      };
      const poll = async (out: Msg[], expected: number) => {
        helper.getNode('t').receive({ payload: 'poll' });
        await waitFor(() => out.length >= expected, `${expected} records`);
        await sleep(100);
      };
      try {
        let out = await boot();
        await poll(out, 0);
        const a = await client.create('res.partner', { name: 'Reinicio A' });
        await poll(out, 1);
        assert.deepEqual(
          out.map((m) => m.payload.id),
          [a],
        );
        // Stop as Node-RED does: flows stop, the context store flushes to disk and is closed.
        await stopFlows();
        await context.close();
        const stored = JSON.parse(fs.readFileSync(path.join(dir, 'context', 'tab', 't.json'), 'utf8'));
        assert.equal(stored.odooTriggerCursor.v, 1, 'the cursor is on disk');
        const b = await client.create('res.partner', { name: 'Reinicio B (mientras estaba parado)' });
        out = await boot();
        await poll(out, 1);
        assert.deepEqual(
          out.map((m) => m.payload.id),
          [b],
          'no replay of A, B not missed',
        );
      } finally {
        await helper.unload();
        await context.close().catch(() => undefined);
        helper.settings({});
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });
  });
});
