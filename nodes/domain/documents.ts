/**
 * The clinic's documents as the document flows (tabs 01 and 02) know them: which Odoo models are documents,
 * where each keeps its patient and its reference, the file name in the patient's folder, the chatter note,
 * the queue message and the notification of a stored document. Plain TypeScript, no Node-RED import.
 */
import { IntegrationError, badInput } from '../clients/common/errors';
import { KIND_FOLDERS, PATIENT_ROOT } from '../clients/nextcloud/paths';
import { MOVE_FIELDS } from '../clients/odoo/pdf';
import { numberOf, ownEntry, shown } from './input';

export type DocumentKind = 'invoice' | 'record' | 'prescription';

export interface DocumentModel {
  kind: DocumentKind;
  /** The field that names the record (the invoice number, the record's reference). */
  nameField: string;
  /** The many2one to the patient (res.partner). */
  patientField: string;
  /** The routing key of its queue message (docs/mission.md). */
  routingKey: 'invoice.created' | 'medical.created';
}

/** The three kinds of clinical document, by Odoo model. */
export const DOCUMENT_MODELS: Readonly<Record<string, DocumentModel>> = {
  'account.move': { kind: 'invoice', nameField: 'name', patientField: 'partner_id', routingKey: 'invoice.created' },
  x_medical_record: { kind: 'record', nameField: 'x_name', patientField: 'x_patient_id', routingKey: 'medical.created' },
  x_prescription: { kind: 'prescription', nameField: 'x_name', patientField: 'x_patient_id', routingKey: 'medical.created' },
};

/** What the chain knows of the document it stores (msg.docRef). */
export interface DocRef extends DocumentModel {
  model: string;
  id: number;
  name?: string;
  patient?: { id: number; name: string };
  /** Path and link an earlier run wrote on the record. */
  stored?: { path: string | null; url: string | null };
  file?: { path: string; name: string; status: string; size?: number };
  link?: { url: string; created: boolean };
  chatter?: 'posted' | 'already';
}

/** The document asked for ({model, id}), checked: a known document model and a positive id. */
export function documentRef(payload: unknown): DocRef {
  const p = payload && typeof payload === 'object' && !Array.isArray(payload) ? (payload as { model?: unknown; id?: unknown }) : {};
  const spec = ownEntry(DOCUMENT_MODELS, p.model);
  const id = numberOf(p.id);
  if (!spec || !Number.isInteger(id) || id <= 0) {
    throw badInput(
      'node-red',
      `store document: send {model, id} with model ${Object.keys(DOCUMENT_MODELS).join(', ')} and a positive record id; got ${shown(payload ?? null)}`,
    );
  }
  return { model: p.model as string, id, ...spec };
}

/**
 * The fields to read of a document's record: its name, its patient, and the path and link of an earlier run; for an
 * invoice also what the PDF node looks at (its stored PDF, `invoice_pdf_report_id`, Odoo 17+), so that node does not
 * read the invoice a second time.
 */
export function recordFields(ref: DocRef): string[] {
  const fields = [ref.nameField, ref.patientField, 'x_nextcloud_path', 'x_nextcloud_url'];
  return ref.model === 'account.move' ? [...new Set([...fields, ...MOVE_FIELDS])] : fields;
}

/** The record read from Odoo, folded into the reference: its name, its patient, what an earlier run stored. */
export function withRecord(ref: DocRef, record: Record<string, unknown> | undefined): DocRef {
  if (!record) {
    throw new IntegrationError(`${ref.model} ${ref.id} does not exist in Odoo (deleted, or a wrong id)`, {
      code: 'ODOO_MISSING_RECORD',
      system: 'odoo',
      retryable: false,
      details: { model: ref.model, id: ref.id },
    });
  }
  const patient = record[ref.patientField];
  if (!Array.isArray(patient) || typeof patient[0] !== 'number') {
    throw badInput('odoo', `${ref.model} ${ref.id} has no patient (${ref.patientField} is empty): set it in Odoo, then send the document again`, {
      model: ref.model,
      id: ref.id,
    });
  }
  const text = (v: unknown) => (typeof v === 'string' && v ? v : null);
  return {
    ...ref,
    name: text(record[ref.nameField]) ?? `${ref.model}-${ref.id}`,
    patient: { id: patient[0], name: String(patient[1] ?? '') },
    stored: { path: text(record.x_nextcloud_path), url: text(record.x_nextcloud_url) },
  };
}

/**
 * The file name in the patient's folder. Invoices keep their unique number (INV/2025/00001 →
 * INV_2025_00001.pdf); records and prescriptions get their reference and id (HC-PAC-0001_7.pdf), so two
 * records never claim the same file.
 */
export function documentFileName(ref: DocRef): string {
  const clean = (s: string) =>
    s
      .normalize('NFC')
      .replace(/[^\p{L}\p{N}._ -]+/gu, '_')
      .replace(/_+/g, '_')
      .replace(/^[ ._]+|[ ._]+$/g, '')
      .slice(0, 120);
  const name = ref.name ?? '';
  const base = ref.model === 'account.move' ? clean(name) : `${clean(name)}_${ref.id}`;
  return `${base || `${ref.model}-${ref.id}`}.pdf`;
}

/** true when an earlier run left the same file and wrote its path and link in Odoo: nothing to write again. */
export function alreadyLinked(ref: DocRef, upload: { path: string; status: string }): boolean {
  return upload.status === 'skipped' && ref.stored?.path === upload.path && Boolean(ref.stored?.url);
}

/** The chatter note of a stored document (Spanish: the clinic's staff read it in Odoo). */
export function noteText(ref: DocRef): string {
  return `Documento archivado en Nextcloud: ${ref.file?.path ?? '?'} · enlace: ${ref.link?.url ?? '?'}`;
}

/** A domain for mail.message: a note of this record that already names the path (posted once, even on replays). */
export function noteDomain(ref: DocRef): unknown[] {
  return [
    ['model', '=', ref.model],
    ['res_id', '=', ref.id],
    ['body', 'ilike', ref.file?.path ?? ''],
  ];
}

/** What the caller of the chain gets back. */
export function storedResult(ref: DocRef): Record<string, unknown> {
  return {
    model: ref.model,
    id: ref.id,
    name: ref.name,
    kind: ref.kind,
    patient: ref.patient,
    path: ref.file?.path,
    file: ref.file?.name,
    url: ref.link?.url,
    stored: ref.file?.status,
    linked: ref.link?.created ? 'now' : 'before',
    chatter: ref.chatter,
  };
}

export interface QueueMessage {
  topic: string;
  messageId: string;
  payload: { model: string; id: number; name: string | null; patientId: number | null; source: string };
}

/**
 * One queue message per document: the routing key by model, the message id <model>-<id> (so a re-publish of
 * the same document is recognised by the consumer). undefined for a record that is not a document.
 */
export function queueMessage(model: unknown, record: Record<string, unknown> | undefined, source: string): QueueMessage | undefined {
  const spec = ownEntry(DOCUMENT_MODELS, model);
  const id = record?.id;
  if (!spec || typeof id !== 'number' || !Number.isInteger(id)) return undefined;
  const patient = record?.[spec.patientField];
  const name = record?.[spec.nameField];
  return {
    topic: spec.routingKey,
    messageId: `${model as string}-${id}`,
    payload: {
      model: model as string,
      id,
      name: typeof name === 'string' && name ? name : null,
      patientId: Array.isArray(patient) && typeof patient[0] === 'number' ? patient[0] : null,
      source,
    },
  };
}

/** One search per document model for what Odoo holds without a Nextcloud path (invoices: posted ones). */
export function unstoredSearches(): Array<{ topic: string; domain: unknown[]; fields: string[] }> {
  const missing = ['x_nextcloud_path', '=', false];
  return Object.entries(DOCUMENT_MODELS).map(([model, spec]) => ({
    topic: model,
    domain: model === 'account.move' ? [['move_type', '=', 'out_invoice'], ['state', '=', 'posted'], missing] : [missing],
    fields: [spec.nameField, spec.patientField],
  }));
}

/** The notification of a stored document for notification_queue: who, what and where. */
export function storedNotification(
  result: Record<string, unknown>,
  correlationId: string | undefined,
): { messageId: string; payload: Record<string, unknown> } {
  return {
    messageId: `notification-${String(result.model)}-${String(result.id)}`,
    payload: {
      event: 'document.stored',
      patient: result.patient,
      document: { model: result.model, id: result.id, name: result.name, type: result.kind, file: result.file },
      path: result.path,
      url: result.url,
      correlationId,
    },
  };
}

/** One document of a patient as GET /api/documents/<patient id> lists it. */
export interface PatientDocument {
  type: DocumentKind;
  name: string;
  /** Last modified in Nextcloud (ISO). */
  date: string | null;
  size: number;
  /** The file's internal Nextcloud link (`<Nextcloud>/index.php/f/<file id>`). */
  url: string | null;
  path: string;
}

const KIND_OF_FOLDER: Readonly<Record<string, DocumentKind>> = Object.fromEntries(
  Object.entries(KIND_FOLDERS).map(([kind, folder]) => [folder, kind as DocumentKind]),
);

/**
 * The documents of a patient from a depth-2 listing of its folder (`/Documentos_Clinicos/Pacientes/<id>`): the
 * files right inside `Facturas` (invoice), `Recetas` (prescription) and `Historiales` (record), newest first.
 * Anything else there (other folders, deeper files, files beside the type folders) is not a clinical document.
 */
export function patientDocuments(patientId: number, entries: ReadonlyArray<Record<string, unknown>>): PatientDocument[] {
  const base = `${PATIENT_ROOT}/${patientId}/`;
  const out: PatientDocument[] = [];
  for (const e of entries) {
    if (e.type !== 'file' || typeof e.path !== 'string' || !e.path.startsWith(base)) continue;
    const [folder, name, ...deeper] = e.path.slice(base.length).split('/');
    const type = KIND_OF_FOLDER[folder];
    if (!type || !name || deeper.length) continue;
    const date = typeof e.modified === 'string' ? e.modified : null;
    out.push({ type, name, date, size: Number(e.size) || 0, url: typeof e.url === 'string' ? e.url : null, path: e.path });
  }
  return out.sort((a, b) => (b.date ?? '').localeCompare(a.date ?? '') || a.name.localeCompare(b.name));
}

/** A patient asked for who is not in shared_patients: 404 (a patient with no folder yet has no documents: 200 []). */
export function patientNotFound(patientId: number): IntegrationError {
  return new IntegrationError(`patient ${patientId} is not in the shared database (shared_patients)`, {
    code: 'PATIENT_NOT_FOUND',
    system: 'node-red',
    retryable: false,
  });
}
