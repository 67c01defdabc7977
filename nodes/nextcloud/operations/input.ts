/** The clinica-nextcloud node's input: the operation, and the paths built from validated segments. */
import type { Node } from 'node-red';
import { badInput } from '../../clients/common/errors';
import { PATIENT_ROOT, assertWithin, patientDocumentPath, patientFolder, safePatientId, safePath, safeSegment } from '../../clients/nextcloud/paths';
import type { Msg } from '../../lib/node-runtime';
import type { NextcloudDef, Operation } from './context';

const OPERATION_NAMES: readonly Operation[] = ['upload', 'download', 'list', 'mkdir', 'move', 'copy', 'delete', 'share', 'link'];
/** Operations that name one document (a file) rather than a folder, in patient mode. */
const FILE_OPERATIONS = new Set<Operation>(['upload', 'download', 'move', 'copy', 'delete', 'share', 'link']);

export const text = (v: unknown) => (typeof v === 'string' ? v.trim() : typeof v === 'number' ? String(v) : '');

/** The node's operation, or msg.operation when it is set to "msg". */
export function operationOf(node: Node, def: Pick<NextcloudDef, 'operation'>, msg: Msg): Operation {
  const op = def.operation === 'msg' ? msg.operation : def.operation || 'upload';
  if (!OPERATION_NAMES.includes(op as Operation)) {
    throw badInput('nextcloud', `Nextcloud node "${node.name || node.id}": operation "${String(op)}" is unknown; use one of ${OPERATION_NAMES.join(', ')}`);
  }
  return op as Operation;
}

/** The folder every path of this message must stay in, and the path the operation works on. */
export function locate(def: NextcloudDef, op: Operation, msg: Msg): { path: string; jail: string } {
  if (def.target === 'patient') {
    const patient = safePatientId(msg.patientId);
    const document = (msg.document ?? {}) as { type?: unknown; name?: unknown };
    const kind = def.docType === 'msg' || !def.docType ? document.type : def.docType;
    const jail = `${PATIENT_ROOT}/${patient}`;
    if (!FILE_OPERATIONS.has(op)) return { path: patientFolder(patient, kind || undefined), jail };
    const name = text(def.filename) || document.name;
    if (name === undefined || name === null || name === '') {
      throw badInput('nextcloud', `Nextcloud ${op} for patient ${patient} needs a file name: set it on the node or send msg.document.name`);
    }
    return { path: patientDocumentPath(patient, kind, name), jail };
  }
  const jail = safePath(def.restrictTo?.trim() || '/', 'restrict-to folder');
  const given = text(def.path) || text(msg.path) || text((msg.nextcloud as { path?: unknown } | undefined)?.path);
  if (!given) throw badInput('nextcloud', `Nextcloud ${op} needs a path: set it on the node or send msg.path`);
  const path = safePath(given);
  assertWithin(jail, path);
  return { path, jail };
}

/** Where a move or copy goes: the node's destination or msg.destination; a bare file name keeps the folder. */
export function destinationOf(def: Pick<NextcloudDef, 'destination'>, msg: Msg, jail: string, source: string): string {
  const given = text(def.destination) || text(msg.destination);
  if (!given) throw badInput('nextcloud', `Nextcloud move/copy of "${source}" needs a destination: set it on the node or send msg.destination`);
  const path = given.includes('/') ? safePath(given) : `${source.slice(0, source.lastIndexOf('/'))}/${safeSegment(given, 'file name')}`;
  assertWithin(jail, path);
  return path;
}
