/**
 * Safe Nextcloud paths. Every path the pack sends to Nextcloud is built from validated segments, so a patient id
 * or a file name taken from Odoo (or from a message) can never climb out of its folder: `..`, slashes and
 * backslashes (also their Unicode look-alikes), control and invisible characters, and names Nextcloud refuses are
 * rejected; Unicode is normalised (NFC, as Nextcloud stores names) so one name has one spelling. Nothing else about
 * a name is changed: outer spaces, no-break and other odd spaces, a byte-order mark are refused with a message that
 * says what to send instead, never trimmed or replaced behind the caller's back.
 */
import { IntegrationError } from '../common/errors';

/** Root of the clinic's patient documents (docs/mission.md, solution 1). */
export const PATIENT_ROOT = '/Documentos_Clinicos/Pacientes';

export type DocumentKind = 'invoice' | 'prescription' | 'record';

/** The folder of each document kind inside a patient's folder. */
export const KIND_FOLDERS: Record<DocumentKind, string> = {
  invoice: 'Facturas',
  prescription: 'Recetas',
  record: 'Historiales',
};

/** Names a flow may use for a kind (English, Spanish, the folder name itself), lower case. */
const KIND_ALIASES: Record<string, DocumentKind> = {
  invoice: 'invoice',
  invoices: 'invoice',
  factura: 'invoice',
  facturas: 'invoice',
  'account.move': 'invoice',
  prescription: 'prescription',
  prescriptions: 'prescription',
  receta: 'prescription',
  recetas: 'prescription',
  record: 'record',
  records: 'record',
  'medical-record': 'record',
  medical_record: 'record',
  medical: 'record',
  historial: 'record',
  historiales: 'record',
  'historia-clinica': 'record',
};

/** Slash and backslash look-alikes that some systems fold into a real separator. */
const SEPARATOR_LOOKALIKES = /[\u2044\u2215\u2216\u29f5\u29f8\u29f9\ufe68\uff0f\uff3c]/u;
/** Control (Cc), format/invisible/bidi (Cf), private use (Co), unassigned (Cn), line/paragraph separators. */
const INVISIBLE_OR_CONTROL = /[\p{Cc}\p{Cf}\p{Co}\p{Cn}\p{Zl}\p{Zp}]/u;
/** Names Nextcloud refuses to store (its blacklist and part-file suffixes). */
const NEXTCLOUD_FORBIDDEN = [/^\.htaccess$/i, /^\.ocdata$/i, /\.(part|filepart)$/i];
const MAX_SEGMENT_BYTES = 250;
const LONE_SURROGATE = /\p{Cs}/u;

function badPath(message: string, details?: Record<string, unknown>): IntegrationError {
  return new IntegrationError(message, { code: 'NEXTCLOUD_BAD_PATH', system: 'nextcloud', retryable: false, details });
}

/** JSON-quoted, so a control character in an error message shows as \u0000 instead of breaking the log line. */
const shown = (s: string) => JSON.stringify(s.length > 80 ? `${s.slice(0, 80)}…` : s);

/** Space characters; all but the plain one (U+0020) are refused: no-break, thin, ideographic… */
const SPACE = /[\p{Zs}\u180e]/u;

/**
 * One path segment (a folder or file name), normalised to NFC; throws NEXTCLOUD_BAD_PATH when it could name
 * something else than one entry of its folder, or when sending it would change it silently.
 */
export function safeSegment(raw: unknown, what = 'name'): string {
  if (typeof raw === 'number' && Number.isFinite(raw)) raw = String(raw);
  if (typeof raw !== 'string') throw badPath(`Nextcloud ${what} must be text, got ${raw === null ? 'null' : typeof raw}`);
  if (LONE_SURROGATE.test(raw)) throw badPath(`Nextcloud ${what} ${shown(raw)} has broken Unicode (a lone surrogate); send valid UTF-8 text`);
  const name = raw.normalize('NFC');
  const fix = 'use a plain name without path separators';
  if (!name.trim()) throw badPath(`Nextcloud ${what} is empty; give a non-empty ${what}`);
  if (/^[\s\p{Zs}\ufeff]|[\s\p{Zs}\ufeff]$/u.test(name)) {
    throw badPath(`Nextcloud ${what} ${shown(raw)} starts or ends with a space (or a byte-order mark); remove it, the name is not changed for you`);
  }
  const odd = [...name].find((ch) => ch !== ' ' && SPACE.test(ch));
  if (odd) {
    throw badPath(
      `Nextcloud ${what} ${shown(raw)} contains U+${odd.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}, a space that is not a plain space; use a plain space`,
    );
  }
  if (name.includes('/') || name.includes('\\')) throw badPath(`Nextcloud ${what} ${shown(raw)} contains a path separator; ${fix}`);
  if (SEPARATOR_LOOKALIKES.test(name)) throw badPath(`Nextcloud ${what} ${shown(raw)} contains a character that looks like a slash; ${fix}`);
  if (INVISIBLE_OR_CONTROL.test(name)) throw badPath(`Nextcloud ${what} ${shown(raw)} contains a control or invisible character; remove it`);
  const folded = name.normalize('NFKC');
  if (name === '.' || name === '..' || folded === '.' || folded === '..' || /^\.+$/.test(folded)) {
    throw badPath(`Nextcloud ${what} ${shown(raw)} is a relative path step; ${fix}`);
  }
  if (folded.includes('/') || folded.includes('\\')) throw badPath(`Nextcloud ${what} ${shown(raw)} turns into a path separator when normalised; ${fix}`);
  if (NEXTCLOUD_FORBIDDEN.some((re) => re.test(name))) throw badPath(`Nextcloud refuses the ${what} ${shown(raw)}; choose another name`);
  if (Buffer.byteLength(name, 'utf8') > MAX_SEGMENT_BYTES) {
    throw badPath(`Nextcloud ${what} ${shown(raw)} is longer than ${MAX_SEGMENT_BYTES} bytes; shorten it`);
  }
  return name;
}

/**
 * A path inside the user's files ("/a/b/c.pdf", "a/b", "/"), each segment checked by safeSegment. Empty segments
 * (double or trailing slashes) are dropped; `.` and `..` are rejected, not resolved.
 */
export function safePath(raw: unknown, what = 'path'): string {
  if (Array.isArray(raw)) return joinSegments(raw.map((s) => safeSegment(s, what)));
  if (typeof raw !== 'string') throw badPath(`Nextcloud ${what} must be text, got ${raw === null ? 'null' : typeof raw}`);
  if (raw.includes('\\')) throw badPath(`Nextcloud ${what} ${shown(raw)} contains a backslash; separate folders with "/"`);
  return joinSegments(
    raw
      .split('/')
      .filter((s) => s !== '')
      .map((s) => safeSegment(s, what)),
  );
}

function joinSegments(segments: string[]): string {
  return '/' + segments.join('/');
}

/** Joins a base folder and a relative path (both validated), refusing anything that would leave the base. */
export function resolveWithin(base: string, relative: unknown, what = 'path'): string {
  const root = safePath(base, 'base folder');
  const rel = safePath(relative, what);
  const full = root === '/' ? rel : rel === '/' ? root : root + rel;
  assertWithin(root, full);
  return full;
}

/** Throws unless `path` is `base` or below it (a last guard; validated segments cannot escape anyway). */
export function assertWithin(base: string, path: string): void {
  if (base === '/' || path === base || path.startsWith(base.endsWith('/') ? base : base + '/')) return;
  throw badPath(`Nextcloud path ${shown(path)} is outside ${shown(base)}; a document may only be stored in its own folder`);
}

export function parentOf(path: string): string {
  const i = path.lastIndexOf('/');
  return i <= 0 ? '/' : path.slice(0, i);
}

export function baseName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

/** "informe.pdf" → ["informe", ".pdf"]; a leading dot is part of the name (".bashrc" has no extension). */
export function splitExtension(name: string): [string, string] {
  const dot = name.lastIndexOf('.');
  return dot > 0 ? [name.slice(0, dot), name.slice(dot)] : [name, ''];
}

/** The name a "keep both" upload takes: "informe.pdf" → "informe (2).pdf", as Nextcloud's own clients do. */
export function numberedName(name: string, n: number): string {
  const [stem, ext] = splitExtension(name);
  return `${stem} (${n})${ext}`;
}

/**
 * A patient id as a folder name: ASCII letters, digits, `-`, `_` and `.` (not first), at most 64 — the one rule of the
 * node and the seed. Nothing is folded or trimmed: "４２" (full-width) or " 42" are refused, not made into "42".
 */
export function safePatientId(raw: unknown): string {
  const text = typeof raw === 'number' && Number.isInteger(raw) && raw >= 0 ? String(raw) : raw;
  if (typeof text !== 'string')
    throw badPath(`Patient id must be a whole number or text, got ${text === null ? 'null' : typeof text === 'number' ? String(text) : typeof text}`);
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/.test(text)) {
    const folded = text.normalize('NFKC').trim();
    const hint = folded !== text && /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/.test(folded) ? ` (did you mean "${folded}"?)` : '';
    throw badPath(`Patient id ${shown(text)} is not allowed as a folder name${hint}; use ASCII letters, digits, "-", "_" or "." (not first), at most 64`);
  }
  return text;
}

function documentKind(raw: unknown): DocumentKind {
  const key = typeof raw === 'string' ? raw.trim().toLowerCase() : '';
  const kind = KIND_ALIASES[key];
  if (!kind) {
    throw badPath(`Document type ${shown(String(raw))} is unknown; use invoice (Facturas), prescription (Recetas) or record (Historiales)`);
  }
  return kind;
}

/** `/Documentos_Clinicos/Pacientes/<id>` or, with a kind, `/Documentos_Clinicos/Pacientes/<id>/<Facturas|Recetas|Historiales>`. */
export function patientFolder(patientId: unknown, kind?: unknown): string {
  const folder = `${PATIENT_ROOT}/${safePatientId(patientId)}`;
  return kind === undefined || kind === null || kind === '' ? folder : `${folder}/${KIND_FOLDERS[documentKind(kind)]}`;
}

/** `/Documentos_Clinicos/Pacientes/<id>/<Facturas|Recetas|Historiales>/<file>`, every part checked. */
export function patientDocumentPath(patientId: unknown, kind: unknown, fileName: unknown): string {
  const folder = patientFolder(patientId, kind);
  const path = `${folder}/${safeSegment(fileName, 'file name')}`;
  assertWithin(`${PATIENT_ROOT}/${safePatientId(patientId)}`, path);
  return path;
}

/** A validated path as it goes into a URL: each segment percent-encoded. */
export function encodePath(path: string): string {
  return path
    .split('/')
    .map((s) => encodeURIComponent(s))
    .join('/');
}
