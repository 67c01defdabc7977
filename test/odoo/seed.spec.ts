/**
 * The Odoo seed against a bare peer (base only): installs the clinic's modules, fills the data, creates
 * the custom models and the webhook rules; a second run writes nothing; the rules do call Node-RED.
 */
import * as assert from 'node:assert/strict';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { seedOdoo, WEBHOOK_PATHS } from '../../seeds/odoo/seed';
import type { OdooClient } from '../../nodes/clients/odoo/client';
import { startOdooPeer, type OdooPeer } from '../../peers/odoo';
import { waitFor } from '../lib/harness';
import { clientFor } from './helpers';

const WRITES = new Set(['create', 'write', 'unlink', 'button_immediate_install', 'action_post', 'action_apply_inventory']);

for (const version of [18, 17] as const) {
  describe(`odoo seed (peer Odoo ${version} with base only)`, function () {
    let peer: OdooPeer;
    let client: OdooClient;
    let receiver: http.Server;
    let nodeRedUrl: string;
    const received: Array<{ path: string; body: Record<string, unknown> }> = [];

    before(async () => {
      peer = await startOdooPeer({ version, modules: ['base'] });
      client = clientFor(peer, { protocol: 'xmlrpc' });
      receiver = http.createServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on('data', (c: Buffer) => chunks.push(c));
        req.on('end', () => {
          received.push({ path: req.url ?? '', body: JSON.parse(Buffer.concat(chunks).toString() || '{}') as Record<string, unknown> });
          res.end();
        });
      });
      await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', () => r()));
      nodeRedUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
    });
    after(async () => {
      client.close();
      await peer.stop();
      await new Promise<void>((r) => receiver.close(() => r()));
    });

    it('installs the modules and seeds the clinic', async () => {
      const report = await seedOdoo({ client, nodeRedUrl });
      assert.equal(report.odooVersion, version);
      assert.deepEqual(report.installed.sort(), ['account', 'base_automation', 'calendar', 'contacts', 'stock']);
      const patients = await client.searchCount('res.partner', [
        ['x_is_patient', '=', true],
        ['category_id.name', '=', 'Paciente'],
      ]);
      assert.equal(patients, 200);
      assert.equal(await client.searchCount('res.partner', [['category_id.name', '=', 'Médico']]), 8);
      assert.equal(await client.searchCount('calendar.event', []), 120);
      const meds = await client.searchRead('product.product', { domain: [['categ_id.name', '=', 'Medicamentos']], fields: ['qty_available', 'default_code'] });
      assert.equal(meds.length, 100);
      assert.ok(meds.every((m) => Number(m.qty_available) > 0));
      assert.equal(await client.searchCount('stock.warehouse.orderpoint', []), 100);
      const under = await client.searchRead('stock.warehouse.orderpoint', { fields: ['product_min_qty', 'qty_on_hand'] });
      assert.equal(under.filter((o) => Number(o.qty_on_hand) < Number(o.product_min_qty)).length, 10, 'a few medications start under their minimum');
      const invoices = await client.searchRead('account.move', { domain: [['move_type', '=', 'out_invoice']], fields: ['state', 'name', 'amount_total'] });
      assert.equal(invoices.length, 6);
      assert.ok(invoices.every((i) => i.state === 'posted' && /^INV\//.test(String(i.name)) && Number(i.amount_total) > 0));
      for (const model of ['x_medical_record', 'x_prescription']) {
        assert.equal(await client.searchCount(model, []), 10, `${model} rows`);
        const fields = await client.fieldsGet(model, ['type']);
        for (const f of ['x_patient_id', 'x_nextcloud_path', 'x_nextcloud_url']) assert.ok(fields[f], `${model}.${f}`);
      }
      assert.ok((await client.fieldsGet('account.move', ['type'])).x_nextcloud_url);
      const rules = await client.searchRead('base.automation', { fields: ['name', 'trigger_field_ids', 'action_server_ids'] });
      assert.equal(rules.length, 7);
      assert.ok(
        rules.every((r) => (r.trigger_field_ids as number[]).length > 0),
        'trigger fields set explicitly',
      );
      const actions = await client.searchRead('ir.actions.server', { domain: [['state', '=', 'webhook']], fields: ['webhook_url'] });
      assert.deepEqual(actions.map((a) => String(a.webhook_url).replace(nodeRedUrl, '')).sort(), Object.values(WEBHOOK_PATHS).sort());
    });

    it('changes nothing on a second run', async () => {
      const before = peer.calls.length;
      const report = await seedOdoo({ client, nodeRedUrl });
      const writes = peer.calls.slice(before).filter((c) => WRITES.has(c.method));
      assert.deepEqual(
        writes.map((c) => `${c.model}.${c.method}`),
        [],
      );
      assert.deepEqual(report, { odooVersion: version, installed: [], created: {}, updated: {} });
    });

    it('makes Odoo call Node-RED when a medical record is created or an invoice posted', async () => {
      received.length = 0;
      const [patient] = await client.search('res.partner', { domain: [['ref', '=', 'PAC-0050']] });
      const recordId = await client.create('x_medical_record', { x_name: 'HC-prueba', x_patient_id: patient });
      const invoiceId = await client.create('account.move', {
        move_type: 'out_invoice',
        partner_id: patient,
        invoice_line_ids: [[0, 0, { name: 'Consulta', price_unit: 30 }]],
      });
      await client.call('account.move', 'action_post', [[invoiceId]]);
      await waitFor(() => received.length >= 2, 'two webhooks');
      const record = received.find((r) => r.path === WEBHOOK_PATHS.medicalRecord);
      const invoice = received.find((r) => r.path === WEBHOOK_PATHS.invoice);
      assert.deepEqual([record?.body._id, record?.body._model, record?.body.x_patient_id], [recordId, 'x_medical_record', patient]);
      assert.deepEqual([invoice?.body._id, invoice?.body.state], [invoiceId, 'posted']);
      assert.ok(typeof invoice?.body.write_date === 'string');
    });
  });
}
