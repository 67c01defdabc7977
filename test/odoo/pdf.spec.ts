/**
 * Invoice and document PDFs through the client against the peer: the stored attachment, the web-session
 * report route (the default: nothing in Odoo changes), the send wizard only when asked for (it marks the
 * invoice as sent; Odoo 18 and 17 wizards), and a clear account of every path tried when none works.
 */
import * as assert from 'node:assert/strict';
import { OdooClient } from '../../nodes/clients/odoo/client';
import { MOVE_FIELDS, fetchRecordPdf } from '../../nodes/clients/odoo/pdf';
import { type IntegrationError } from '../../nodes/clients/common/errors';
import { startOdooPeer, type OdooPeer } from '../../peers/odoo';
import { clientFor, postedInvoice } from './helpers';

const isPdf = (b: Buffer) => b.subarray(0, 5).toString('latin1') === '%PDF-' && b.includes(Buffer.from('%%EOF'));

describe('odoo pdf', function () {
  for (const version of [18, 17] as const) {
    describe(`on Odoo ${version}`, () => {
      let peer: OdooPeer;
      let client: OdooClient;
      before(async () => {
        peer = await startOdooPeer({ version });
        client = clientFor(peer);
      });
      after(async () => {
        client.close();
        await peer.stop();
      });

      it('by default changes nothing: a posted invoice without attachment and no password has no PDF, the invoice untouched', async () => {
        const moveId = await postedInvoice(client, `Intacta ${version}`);
        const before = (await client.read('account.move', moveId, ['write_date', 'is_move_sent']))[0];
        const err = await fetchRecordPdf(client, { model: 'account.move', id: moveId }).catch((e: IntegrationError) => e);
        assert.equal((err as IntegrationError).code, 'ODOO_PDF_UNAVAILABLE');
        assert.match((err as IntegrationError).message, /set ODOO_PASSWORD .* or let the PDF node use the send wizard \(it marks the invoice as sent\)/);
        assert.deepEqual((await client.read('account.move', moveId, ['write_date', 'is_move_sent']))[0], before);
        assert.ok(!peer.calls.some((c) => c.method === 'action_send_and_print'));
      });

      it('with the send wizard asked for: generates the missing attachment, e-mailing nobody, marks the invoice sent, then reads it', async () => {
        const moveId = await postedInvoice(client, `Paciente ${version}`, 'paciente@correo.example');
        assert.equal((await client.read('account.move', moveId, ['invoice_pdf_report_id']))[0].invoice_pdf_report_id, false);
        const first = await fetchRecordPdf(client, { model: 'account.move', id: moveId, paths: ['attachment', 'send-wizard'] });
        assert.equal(first.path, 'send-wizard');
        assert.deepEqual(
          first.attempts.map((a) => [a.path, a.ok]),
          [
            ['attachment', false],
            ['send-wizard', true],
          ],
        );
        assert.match(first.attempts[0].reason ?? '', /no PDF attachment yet/);
        assert.ok(isPdf(first.content));
        assert.match(first.filename, /^INV_\d{4}_\d{5}\.pdf$/);
        assert.equal(peer.sentMail.length, 0, 'nobody was e-mailed although the customer has an address');
        const wizardModel = version >= 18 ? 'account.move.send.wizard' : 'account.move.send';
        assert.ok(peer.calls.some((c) => c.model === wizardModel && c.method === 'action_send_and_print'));
        assert.equal((await client.read('account.move', moveId, ['is_move_sent']))[0].is_move_sent, true, 'Odoo marks it sent: why it is not the default');
        const second = await fetchRecordPdf(client, { model: 'account.move', id: moveId });
        assert.equal(second.path, 'attachment');
        assert.equal(second.attachmentId, first.attachmentId);
        assert.deepEqual(second.content, first.content);
        assert.equal(second.partner?.[1], `Paciente ${version}`);
      });

      it('renders a posted invoice through the report route with a web session when a password is configured, changing nothing', async () => {
        const moveId = await postedInvoice(client, `Ruta ${version}`);
        const before = (await client.read('account.move', moveId, ['write_date', 'is_move_sent', 'invoice_pdf_report_id']))[0];
        const withPassword = new OdooClient({ url: peer.url, db: peer.db, username: 'admin', apiKey: peer.admin.apiKey, password: 'admin' });
        const result = await fetchRecordPdf(withPassword, { model: 'account.move', id: moveId });
        assert.equal(result.path, 'report-route');
        assert.deepEqual(
          result.attempts.map((a) => [a.path, a.ok]),
          [
            ['attachment', false],
            ['report-route', true],
          ],
        );
        assert.ok(isPdf(result.content));
        assert.deepEqual(
          (await client.read('account.move', moveId, ['write_date', 'is_move_sent', 'invoice_pdf_report_id']))[0],
          before,
          'the invoice is untouched',
        );
        withPassword.close();
      });

      it('takes the invoice the caller has just read instead of reading it again; after the send wizard it reads it anew', async () => {
        const moveId = await postedInvoice(client, `Leída ${version}`);
        const [record] = await client.read('account.move', moveId, [...MOVE_FIELDS, 'amount_total']);
        const reads = () => peer.calls.filter((c) => c.method === 'read' && c.model === 'account.move').length;
        const withPassword = new OdooClient({ url: peer.url, db: peer.db, username: 'admin', apiKey: peer.admin.apiKey, password: 'admin' });
        try {
          let before = reads();
          const rendered = await fetchRecordPdf(withPassword, { model: 'account.move', id: moveId, record });
          assert.equal(rendered.path, 'report-route');
          assert.equal(reads(), before, 'no second read of the invoice');
          assert.equal(rendered.partner?.[1], `Leída ${version}`, 'its partner and name come from the record given');
          assert.match(rendered.filename, /^INV_\d{4}_\d{5}\.pdf$/);
          // Another record, or one without every field the paths look at, is read as before.
          for (const other of [
            { ...record, id: moveId + 1000 },
            { id: moveId, name: record.name },
          ]) {
            before = reads();
            await fetchRecordPdf(withPassword, { model: 'account.move', id: moveId, record: other });
            assert.equal(reads(), before + 1, `read again with ${JSON.stringify(Object.keys(other))}`);
          }
          // The send wizard attaches the PDF: the invoice is then read again (the copy given says "no attachment").
          before = reads();
          const sent = await fetchRecordPdf(withPassword, { model: 'account.move', id: moveId, record, paths: ['attachment', 'send-wizard'] });
          assert.equal(sent.path, 'send-wizard');
          assert.equal(reads(), before + 1, 'read once, after the wizard');
          assert.ok(sent.attachmentId);
        } finally {
          withPassword.close();
        }
      });

      it('says which path failed and why when none works', async () => {
        const draft = await client.create('account.move', {
          move_type: 'out_invoice',
          partner_id: 3,
          invoice_line_ids: [[0, 0, { name: 'Consulta', price_unit: 40 }]],
        });
        try {
          await fetchRecordPdf(client, { model: 'account.move', id: draft, paths: ['attachment', 'send-wizard', 'report-route'] });
          assert.fail('expected ODOO_PDF_UNAVAILABLE');
        } catch (err) {
          const e = err as IntegrationError;
          assert.equal(e.code, 'ODOO_PDF_UNAVAILABLE');
          assert.match(e.message, /attachment: invoice .* has no PDF attachment yet/);
          assert.match(e.message, /send-wizard: .*only a posted invoice can be sent/);
          assert.match(e.message, /report-route: .*needs a web session, which needs the password/);
        }
        await assert.rejects(fetchRecordPdf(client, { model: 'account.move', id: 999999 }), (e: IntegrationError) => e.code === 'ODOO_MISSING_RECORD');
      });
    });
  }

  it('reads the newest PDF attachment of any record, or renders its report', async () => {
    const peer = await startOdooPeer();
    const client = clientFor(peer);
    const partnerId = await client.create('res.partner', { name: 'Con receta' });
    const pdf = Buffer.from('%PDF-1.4\n% receta\n%%EOF\n');
    await client.create('ir.attachment', { name: 'receta-vieja.pdf', datas: pdf.toString('base64'), res_model: 'res.partner', res_id: partnerId });
    const newest = await client.create('ir.attachment', {
      name: 'receta.pdf',
      datas: pdf.toString('base64'),
      res_model: 'res.partner',
      res_id: partnerId,
      mimetype: 'application/pdf',
    });
    const found = await fetchRecordPdf(client, { model: 'res.partner', id: partnerId });
    assert.deepEqual([found.path, found.attachmentId, found.filename], ['attachment', newest, 'receta.pdf']);
    assert.deepEqual(found.content, pdf);
    const none = await fetchRecordPdf(client, { model: 'res.partner', id: 3 }).catch((e: IntegrationError) => e);
    assert.match((none as IntegrationError).message, /res.partner 3 has no PDF attachment; report-route: no report name set/);
    client.close();
    await peer.stop();
  });
});
