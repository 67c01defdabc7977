/**
 * The PDF of a record's report (an invoice, a prescription …), by the first path that works:
 *
 *  1. attachment  — the PDF Odoo keeps for the record: for invoices `account.move.invoice_pdf_report_id`
 *                   (Odoo 17+), otherwise the newest PDF `ir.attachment` of the record. RPC only.
 *  2. report-route — `/report/pdf/<report>/<id>` with a web session: needs the user's password (API keys
 *                   cannot open a web session). Renders the report without storing it or changing the record.
 *  3. send-wizard — invoices only, and only when asked for (it changes the invoice): a posted invoice has no
 *                   PDF attachment until it is sent, and printing does not create one. Creating the send
 *                   wizard over RPC with context active_model/active_ids, no sending method, and calling
 *                   action_send_and_print generates and attaches it without e-mailing anyone (Odoo 18+:
 *                   account.move.send.wizard; Odoo 17: account.move.send) — but Odoo then marks the invoice
 *                   as sent (is_move_sent) and its write_date changes. RPC only; then (1) again.
 *
 * By default (invoices and other records alike) the paths are attachment then report-route: nothing in Odoo
 * changes. Every attempt is recorded with why it failed, and the result says which path gave the bytes.
 */
import { IntegrationError, badInput } from '../common/errors';
import type { OdooClient } from './client';

export type PdfPath = 'attachment' | 'send-wizard' | 'report-route';

export interface PdfAttempt {
  path: PdfPath;
  ok: boolean;
  /** Why this path gave no PDF (absent when ok). */
  reason?: string;
}

export interface PdfRequest {
  model: string;
  id: number;
  /** Report technical name for the report route, e.g. account.report_invoice. */
  reportName?: string;
  /** Paths to try, in order (default: all that apply to the model). */
  paths?: PdfPath[];
  /**
   * The invoice as the caller has just read it: used instead of reading it again when it is this record and carries
   * every field the paths look at (MOVE_FIELDS, `invoice_pdf_report_id` included). Only for the first look: after the
   * send wizard the invoice is always read again.
   */
  record?: Record<string, unknown>;
}

export interface PdfResult {
  content: Buffer;
  filename: string;
  mimetype: string;
  path: PdfPath;
  attachmentId?: number;
  attempts: PdfAttempt[];
  /** Partner of the invoice ([id, name]) when the record is an account.move. */
  partner?: [number, string];
  recordName?: string;
}

const INVOICE_MODEL = 'account.move';
const DEFAULT_INVOICE_REPORT = 'account.report_invoice';

interface MoveInfo extends Record<string, unknown> {
  id: number;
  name: string | false;
  state: string;
  move_type?: string;
  partner_id: [number, string] | false;
  invoice_pdf_report_id?: [number, string] | false;
}

/** What the paths read of an invoice (invoice_pdf_report_id: Odoo 17+). */
export const MOVE_FIELDS = ['name', 'state', 'move_type', 'partner_id', 'invoice_pdf_report_id'] as const;

/** The paths that never change the record: the stored attachment, then the report route. */
const DEFAULT_PATHS: PdfPath[] = ['attachment', 'report-route'];

const sessions = new WeakMap<OdooClient, Promise<string>>();

function reasonOf(err: unknown): string {
  const e = err as IntegrationError;
  return e?.code ? `${e.code}: ${e.message}` : String((err as Error)?.message ?? err);
}

function safeFilename(name: string): string {
  // eslint-disable-next-line no-control-regex -- a file name must not carry control characters
  return name.replace(/[\\/:*?"<>|\u0000-\u001f]+/g, '_').trim() || 'document';
}

async function readAttachment(client: OdooClient, attachmentId: number): Promise<{ content: Buffer; filename: string; mimetype: string }> {
  const [att] = await client.read<{ id: number; name: string; datas: string | false; mimetype: string | false }>(
    'ir.attachment',
    [attachmentId],
    ['name', 'datas', 'mimetype'],
  );
  if (!att) throw new Error(`ir.attachment ${attachmentId} is gone`);
  if (!att.datas) throw new Error(`ir.attachment ${attachmentId} ("${att.name}") has no content`);
  return {
    content: Buffer.from(att.datas, 'base64'),
    filename: safeFilename(att.name || `attachment-${attachmentId}.pdf`),
    mimetype: att.mimetype || 'application/pdf',
  };
}

async function readMove(client: OdooClient, id: number, withPdfField: boolean): Promise<MoveInfo> {
  const fields = MOVE_FIELDS.filter((f) => withPdfField || f !== 'invoice_pdf_report_id');
  const [move] = await client.read<MoveInfo>(INVOICE_MODEL, [id], fields);
  if (!move) {
    throw new IntegrationError(`Odoo invoice account.move ${id} does not exist; check the id`, {
      code: 'ODOO_MISSING_RECORD',
      system: 'odoo',
      retryable: false,
      details: { model: INVOICE_MODEL, id },
    });
  }
  return move;
}

/** The newest PDF attachment of any record. */
async function latestPdfAttachment(client: OdooClient, model: string, id: number): Promise<number | undefined> {
  const found = await client.search('ir.attachment', {
    domain: [
      ['res_model', '=', model],
      ['res_id', '=', id],
      ['mimetype', '=', 'application/pdf'],
    ],
    order: 'id desc',
    limit: 1,
  });
  return found[0];
}

async function webSession(client: OdooClient): Promise<string> {
  let s = sessions.get(client);
  if (!s) {
    s = openWebSession(client);
    sessions.set(client, s);
    s.catch(() => sessions.delete(client));
  }
  return s;
}

async function openWebSession(client: OdooClient): Promise<string> {
  const password = client.webPassword();
  if (!password)
    throw new Error('no password configured: a web session cannot be opened with an API key (set ODOO_PASSWORD or the password of the Odoo config node)');
  const res = await client.httpRequest(
    'POST',
    '/web/session/authenticate',
    JSON.stringify({
      jsonrpc: '2.0',
      method: 'call',
      id: 1,
      params: { db: client.db, login: client.username, password },
    }),
    { 'Content-Type': 'application/json' },
    true,
  );
  const body = JSON.parse(res.body.toString('utf8') || '{}') as {
    result?: { uid?: number | false };
    error?: { data?: { message?: string }; message?: string };
  };
  if (body.error || !body.result?.uid) {
    throw new Error(`the web login of "${client.username}" was refused (${body.error?.data?.message ?? body.error?.message ?? 'no uid'})`);
  }
  const cookies = ([] as string[]).concat(res.headers['set-cookie'] ?? []);
  const session = cookies.map((c) => /^session_id=([^;]+)/.exec(c)?.[1]).find(Boolean);
  if (!session) throw new Error('Odoo opened no web session (no session_id cookie)');
  return session;
}

async function reportRoute(client: OdooClient, reportName: string, id: number, retried = false): Promise<Buffer> {
  const session = await webSession(client);
  const path = `/report/pdf/${encodeURIComponent(reportName)}/${id}`;
  const res = await client.httpRequest('GET', path, undefined, { Cookie: `session_id=${session}` });
  const type = String(res.headers['content-type'] ?? '');
  if (res.status === 200 && type.includes('pdf') && res.body.subarray(0, 5).toString('latin1') === '%PDF-') return res.body;
  if (!retried && (res.status === 303 || res.status === 302 || /\/web\/login/.test(String(res.headers.location ?? '')))) {
    sessions.delete(client); // the session expired: log in again once
    return reportRoute(client, reportName, id, true);
  }
  throw new Error(`${path} answered HTTP ${res.status} ${type || ''}: ${res.body.subarray(0, 160).toString('utf8').replace(/\s+/g, ' ')}`);
}

async function sendWizard(client: OdooClient, move: MoveInfo): Promise<void> {
  if (move.state !== 'posted') {
    throw new Error(`invoice ${move.name || move.id} is in state "${move.state}"; only a posted invoice can be sent (post it first)`);
  }
  const major = await client.majorVersion();
  const context = { active_model: INVOICE_MODEL, active_ids: [move.id], active_id: move.id };
  const wizardModel = major >= 18 ? 'account.move.send.wizard' : 'account.move.send';
  // No sending method: the wizard renders and attaches the PDF and e-mails nobody.
  const values = major >= 18 ? { sending_methods: [] } : { checkbox_send_mail: false, checkbox_download: false };
  const wizardId = await client.create(wizardModel, values, context);
  await client.call(wizardModel, 'action_send_and_print', [[wizardId]], { context });
}

/** The PDF bytes of a record's report; see the module comment for the paths tried. */
export async function fetchRecordPdf(client: OdooClient, req: PdfRequest): Promise<PdfResult> {
  if (!req.model) throw badInput('odoo', 'PDF: no model given; set the model of the PDF node (account.move for invoices)');
  if (!Number.isInteger(req.id) || req.id <= 0)
    throw badInput('odoo', `PDF of ${req.model}: "${String(req.id)}" is not a record id; send the id in msg.payload`);
  const isInvoice = req.model === INVOICE_MODEL;
  const reportName = req.reportName || (isInvoice ? DEFAULT_INVOICE_REPORT : '');
  const paths = req.paths?.length ? req.paths : DEFAULT_PATHS;
  const attempts: PdfAttempt[] = [];
  let move: MoveInfo | undefined;
  let hasPdfField = true;
  // The caller's copy spares the first read (a document chain reads the record just before).
  let known = isInvoice && req.record && req.record.id === req.id && MOVE_FIELDS.every((f) => f in req.record!) ? (req.record as MoveInfo) : undefined;

  const loadMove = async (): Promise<MoveInfo> => {
    if (known) {
      const m = known;
      known = undefined;
      return m;
    }
    try {
      return await readMove(client, req.id, hasPdfField);
    } catch (err) {
      if ((err as IntegrationError).code === 'ODOO_UNKNOWN_FIELD' && hasPdfField) {
        hasPdfField = false; // Odoo 16 and older keep no invoice_pdf_report_id
        return readMove(client, req.id, false);
      }
      throw err;
    }
  };

  const tryAttachment = async (): Promise<PdfResult | undefined> => {
    let attachmentId: number | undefined;
    if (isInvoice) {
      move = await loadMove();
      if (hasPdfField) {
        attachmentId = move.invoice_pdf_report_id ? move.invoice_pdf_report_id[0] : undefined;
        if (!attachmentId) {
          attempts.push({
            path: 'attachment',
            ok: false,
            reason: `invoice ${move.name || req.id} has no PDF attachment yet (invoice_pdf_report_id is empty: Odoo attaches it when the invoice is sent)`,
          });
          return undefined;
        }
      }
    }
    attachmentId ??= await latestPdfAttachment(client, req.model, req.id);
    if (!attachmentId) {
      attempts.push({ path: 'attachment', ok: false, reason: `${req.model} ${req.id} has no PDF attachment` });
      return undefined;
    }
    const att = await readAttachment(client, attachmentId);
    attempts.push({ path: 'attachment', ok: true });
    return { ...att, path: 'attachment', attachmentId, attempts, partner: move?.partner_id || undefined, recordName: move?.name || undefined };
  };

  for (const path of paths) {
    try {
      if (path === 'attachment') {
        const found = await tryAttachment();
        if (found) return found;
      } else if (path === 'send-wizard') {
        if (!isInvoice) {
          attempts.push({ path, ok: false, reason: `the send wizard exists only for invoices (account.move), not ${req.model}` });
          continue;
        }
        move ??= await loadMove();
        await sendWizard(client, move);
        const before = attempts.length;
        const found = await tryAttachment();
        if (found) {
          found.path = 'send-wizard';
          attempts.splice(before, attempts.length - before, { path: 'send-wizard', ok: true });
          return found;
        }
        attempts.splice(before, attempts.length - before, { path, ok: false, reason: 'action_send_and_print ran but the invoice still has no PDF attachment' });
      } else if (path === 'report-route') {
        if (!reportName) {
          attempts.push({ path, ok: false, reason: `no report name set for ${req.model} (e.g. account.report_invoice)` });
          continue;
        }
        if (!client.hasPassword) {
          attempts.push({
            path,
            ok: false,
            reason: `the report route needs a web session, which needs the password (an API key cannot open one): set ODOO_PASSWORD or the password of the Odoo config node${isInvoice && !paths.includes('send-wizard') ? ', or let the PDF node use the send wizard (it marks the invoice as sent)' : ''}`,
          });
          continue;
        }
        const content = await reportRoute(client, reportName, req.id);
        attempts.push({ path, ok: true });
        const name = move?.name ? String(move.name) : `${req.model}-${req.id}`;
        return {
          content,
          filename: safeFilename(`${name}.pdf`),
          mimetype: 'application/pdf',
          path,
          attempts,
          partner: move?.partner_id || undefined,
          recordName: move?.name || undefined,
        };
      }
    } catch (err) {
      const code = (err as IntegrationError).code;
      // A record that does not exist, or an Odoo that cannot be reached, will not do better on another path.
      if (code === 'ODOO_MISSING_RECORD' || code === 'ODOO_ACCESS_DENIED' || code === 'ODOO_UNREACHABLE' || code === 'ODOO_TIMEOUT') throw err;
      attempts.push({ path, ok: false, reason: reasonOf(err) });
    }
  }
  const tried = attempts.map((a) => `${a.path}: ${a.reason}`).join('; ');
  throw new IntegrationError(`No PDF for ${req.model} ${req.id}: ${tried || 'no path to try'}`, {
    code: 'ODOO_PDF_UNAVAILABLE',
    system: 'odoo',
    retryable: false,
    details: { model: req.model, id: req.id, attempts },
  });
}
