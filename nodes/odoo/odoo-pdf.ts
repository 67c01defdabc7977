/**
 * clinica-odoo-pdf: the PDF bytes of a record's report (an invoice by default), ready for the Nextcloud
 * node: msg.payload is the Buffer, msg.document {type, name, contentType} and msg.patientId are set.
 * Tries the stored attachment, then the web-session report route when a password is configured; only when
 * the node is set to, (invoices) the send wizard, which attaches the PDF without e-mailing but marks the
 * invoice as sent. An invoice just read by the flow (msg.odoo.record with the fields of MOVE_FIELDS) is not read again. msg.odoo.pdf says which path worked and why the others did not (nodes/clients/odoo/pdf.ts).
 */
import type { Node, NodeAPI, NodeDef } from 'node-red';
import { badInput } from '../clients/common/errors';
import { attachToConfig } from '../lib/config-node';
import { handleInput, registerType, setRED, type Msg } from '../lib/node-runtime';
import { fetchRecordPdf, type PdfPath } from '../clients/odoo/pdf';
import { idList, label, notConfigured, odooConfigOf } from './types';

interface OdooPdfDef extends NodeDef {
  config: string;
  model: string;
  /** Record id; empty = from the message. */
  recordId: string;
  /** Report technical name for the report route (account.report_invoice for invoices). */
  report: string;
  /** auto (attachment, report) | send (auto, then the send wizard) | attachment | generate (attachment, send wizard) | report */
  mode: string;
  /** invoice | prescription | record: the document type for the Nextcloud node. */
  docType: string;
  /** many2one field that names the patient (partner_id for invoices); empty = none. */
  patientField: string;
}

const MODES: Record<string, PdfPath[] | undefined> = {
  auto: undefined,
  send: ['attachment', 'report-route', 'send-wizard'],
  attachment: ['attachment'],
  generate: ['attachment', 'send-wizard'],
  report: ['report-route'],
};

export = function (RED: NodeAPI): void {
  setRED(RED);

  function OdooPdf(this: Node, def: OdooPdfDef): void {
    RED.nodes.createNode(this, def);
    const node = this;
    const config = odooConfigOf(RED, def.config);
    attachToConfig(node, config);
    const model = (def.model || 'account.move').trim();
    const paths = MODES[def.mode || 'auto'];
    const docType = def.docType || (model === 'account.move' ? 'invoice' : 'record');
    const patientField = (def.patientField ?? '').trim() || (model === 'account.move' ? 'partner_id' : '');

    handleInput(node, { system: 'odoo' }, async (msg: Msg, send) => {
      if (!config) throw notConfigured(node);
      const odoo = msg.odoo as { model?: unknown; id?: unknown; record?: unknown } | undefined;
      const p = msg.payload;
      const ids =
        idList(node, def.recordId, 'the record id setting') ??
        (typeof p === 'number' || (p && typeof p === 'object' && !Buffer.isBuffer(p) && typeof (p as { id?: unknown }).id === 'number')
          ? idList(node, p, 'msg.payload')
          : undefined) ??
        (odoo && odoo.model === model && typeof odoo.id === 'number' ? [odoo.id] : undefined);
      if (!ids || ids.length !== 1) {
        throw badInput(
          'odoo',
          `${label(node)}: which ${model} record? Send its id as msg.payload (or {id}), or msg.odoo.id from a node that worked on a ${model}`,
        );
      }
      const client = config.getClient();
      try {
        // The record a read just before gave (msg.odoo.record, e.g. the document chain's): no second read of it.
        const record = odoo?.model === model && odoo.record && typeof odoo.record === 'object' ? (odoo.record as Record<string, unknown>) : undefined;
        const pdf = await fetchRecordPdf(client, { model, id: ids[0], reportName: def.report?.trim() || undefined, paths, record });
        let patientId: unknown = pdf.partner?.[0];
        if (patientField && model !== 'account.move') {
          const [rec] = await client.read(model, ids[0], [patientField]);
          const v = rec?.[patientField];
          patientId = Array.isArray(v) ? v[0] : typeof v === 'number' ? v : undefined;
        }
        config.report();
        msg.payload = pdf.content;
        msg.filename = pdf.filename;
        msg.document = { type: docType, name: pdf.filename, contentType: pdf.mimetype };
        if (msg.patientId === undefined && patientId !== undefined) msg.patientId = patientId;
        msg.odoo = {
          model,
          id: ids[0],
          operation: 'pdf',
          name: pdf.recordName,
          pdf: { path: pdf.path, attachmentId: pdf.attachmentId, attempts: pdf.attempts, bytes: pdf.content.length },
        };
      } catch (err) {
        config.report(err);
        throw err;
      }
      send(msg);
    });
  }

  registerType('clinica-odoo-pdf', OdooPdf);
};
