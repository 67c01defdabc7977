/**
 * clinica-nextcloud: one operation on the clinic's document store — upload, download, list, mkdir, move, copy,
 * delete, share or link (the internal link of a file, no share). Paths are built from validated segments: in "patient document" mode from msg.patientId,
 * the document type and the file name (`/Documentos_Clinicos/Pacientes/<id>/<Facturas|Recetas|Historiales>/<file>`),
 * in "path" mode from the node's path (or msg.path), confined to the node's "restrict to" folder.
 */
import type { Node, NodeAPI, NodeDef } from 'node-red';
import { attachToConfig } from '../lib/config-node';
import { intSetting } from '../lib/env';
import { badInput } from '../clients/common/errors';
import { count } from '../clients/common/metrics';
import { handleInput, logEvent, registerType, setRED, type Msg } from '../lib/node-runtime';
import { CONFLICT_POLICIES, type ConflictPolicy, type NextcloudClient } from '../clients/nextcloud/client';
import { daysFromNow, generateSharePassword, type ShareOptions, type ShareType } from '../clients/nextcloud/ocs';
import {
  PATIENT_ROOT, assertWithin, baseName, patientDocumentPath, patientFolder, safePatientId, safePath, safeSegment,
} from '../clients/nextcloud/paths';
import { nextcloudConfigOf, notConfigured } from './types';

type Operation = 'upload' | 'download' | 'list' | 'mkdir' | 'move' | 'copy' | 'delete' | 'share' | 'link';
const OPERATIONS: Operation[] = ['upload', 'download', 'list', 'mkdir', 'move', 'copy', 'delete', 'share', 'link'];
/** Operations that name one document (a file) rather than a folder, in patient mode. */
const FILE_OPERATIONS = new Set<Operation>(['upload', 'download', 'move', 'copy', 'delete', 'share', 'link']);

interface NextcloudDef extends NodeDef {
  config: string;
  /** An operation, or "msg" to take msg.operation. */
  operation: Operation | 'msg';
  /** "patient": path from msg.patientId + document type + file name; "path": the path setting or msg.path. */
  target: 'patient' | 'path';
  path: string;
  /** Every path of this node must be inside this folder (path mode). */
  restrictTo: string;
  /** invoice | prescription | record | "msg" (msg.document.type). */
  docType: string;
  /** File name in patient mode; empty = msg.document.name. */
  filename: string;
  /** Move/copy destination; empty = msg.destination. */
  destination: string;
  conflict: ConflictPolicy;
  overwrite: boolean;
  output: 'buffer' | 'stream';
  shareType: ShareType;
  shareWith: string;
  expireDays: string | number;
  linkLabel: string;
  /** none | credential (the node's share password) | generate (a new random one per share). */
  passwordMode: 'none' | 'credential' | 'generate';
  /** Hand out an existing equal share of the path instead of creating one (default true; false only when set). */
  reuse?: boolean;
}

interface NextcloudCredentials {
  sharePassword?: string;
}

const CONTENT_TYPES: Record<string, string> = {
  '.pdf': 'application/pdf', '.png': 'image/png', '.jpg': 'image/jpeg', '.jpeg': 'image/jpeg', '.txt': 'text/plain',
  '.csv': 'text/csv', '.json': 'application/json', '.xml': 'application/xml', '.html': 'text/html',
  '.doc': 'application/msword', '.docx': 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  '.xlsx': 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet', '.odt': 'application/vnd.oasis.opendocument.text',
};

function contentTypeOf(name: string, given: unknown): string {
  if (typeof given === 'string' && /^[\w.+-]+\/[\w.+-]+/.test(given)) return given;
  const dot = name.lastIndexOf('.');
  return (dot >= 0 && CONTENT_TYPES[name.slice(dot).toLowerCase()]) || 'application/octet-stream';
}

const text = (v: unknown) => (typeof v === 'string' ? v.trim() : typeof v === 'number' ? String(v) : '');

export = function (RED: NodeAPI): void {
  setRED(RED);

  function NextcloudNode(this: Node<NextcloudCredentials>, def: NextcloudDef): void {
    RED.nodes.createNode(this, def);
    const node = this;
    const config = nextcloudConfigOf(RED, def.config);
    attachToConfig(node, config);
    const restrictTo = def.restrictTo?.trim() || '/';

    handleInput(node, { system: 'nextcloud' }, async (msg: Msg, send) => {
      if (!config) throw notConfigured(node);
      const op = operationOf(msg);
      const client = config.getClient();
      const started = Date.now();
      try {
        const details = await run(op, client, msg);
        msg.nextcloud = { operation: op, ...details, durationMs: Date.now() - started };
        config.report();
      } catch (err) {
        config.report(err);
        throw err;
      }
      count('nextcloud', 'operation', { op });
      logEvent(node, 'info', `nextcloud.${op}`, { correlationId: msg.correlationId, path: (msg.nextcloud as { path?: string }).path, ms: Date.now() - started });
      send(msg);
    });

    function operationOf(msg: Msg): Operation {
      const op = def.operation === 'msg' ? msg.operation : def.operation || 'upload';
      if (!OPERATIONS.includes(op as Operation)) {
        throw badInput('nextcloud', `Nextcloud node "${node.name || node.id}": operation "${String(op)}" is unknown; use one of ${OPERATIONS.join(', ')}`);
      }
      return op as Operation;
    }

    /** The folder every path of this message must stay in, and the path the operation works on. */
    function locate(op: Operation, msg: Msg): { path: string; jail: string } {
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
      const jail = safePath(restrictTo, 'restrict-to folder');
      const given = text(def.path) || text(msg.path) || text((msg.nextcloud as { path?: unknown } | undefined)?.path);
      if (!given) throw badInput('nextcloud', `Nextcloud ${op} needs a path: set it on the node or send msg.path`);
      const path = safePath(given);
      assertWithin(jail, path);
      return { path, jail };
    }

    function destinationOf(msg: Msg, jail: string, source: string): string {
      const given = text(def.destination) || text(msg.destination);
      if (!given) throw badInput('nextcloud', `Nextcloud move/copy of "${source}" needs a destination: set it on the node or send msg.destination`);
      // A bare file name means "same folder, new name".
      const path = given.includes('/') ? safePath(given) : `${source.slice(0, source.lastIndexOf('/'))}/${safeSegment(given, 'file name')}`;
      assertWithin(jail, path);
      return path;
    }

    async function run(op: Operation, client: NextcloudClient, msg: Msg): Promise<Record<string, unknown>> {
      const { path, jail } = locate(op, msg);
      const correlationId = msg.correlationId;
      switch (op) {
        case 'upload': {
          const document = (msg.document ?? {}) as { contentType?: unknown; modified?: unknown; size?: unknown };
          const mtime = document.modified ? new Date(String(document.modified)) : undefined;
          const size = typeof document.size === 'number' && Number.isSafeInteger(document.size) && document.size >= 0 ? document.size : undefined;
          const result = await client.upload(path, msg.payload as Buffer, {
            conflict: CONFLICT_POLICIES.includes(def.conflict) ? def.conflict : 'skip',
            contentType: contentTypeOf(baseName(path), document.contentType),
            mtime: mtime && !Number.isNaN(mtime.getTime()) ? mtime : undefined,
            size,
            correlationId,
          });
          count('nextcloud', 'uploads', { status: result.status, chunked: String(result.chunked) });
          count('nextcloud', 'bytes_uploaded', {}, result.status === 'skipped' ? 0 : result.size);
          msg.payload = { ...result };
          return { ...result };
        }
        case 'download': {
          if (def.output === 'stream') {
            const d = await client.downloadStream(path, { correlationId });
            msg.payload = d.stream;
            return { path: d.path, size: d.size, etag: d.etag, contentType: d.contentType };
          }
          const d = await client.download(path, { correlationId });
          msg.payload = d.data;
          return { path: d.path, size: d.size, etag: d.etag, contentType: d.contentType };
        }
        case 'list': {
          const entries = await client.list(path, { correlationId });
          msg.payload = entries;
          return { path, count: entries.length };
        }
        case 'mkdir': {
          const made = await client.mkdir(path, { correlationId });
          msg.payload = made;
          return { ...made };
        }
        case 'move':
        case 'copy': {
          const to = destinationOf(msg, jail, path);
          const opts = { correlationId, overwrite: Boolean(def.overwrite), createFolders: true };
          const done = op === 'move' ? await client.move(path, to, opts) : await client.copy(path, to, opts);
          msg.payload = done;
          return { ...done };
        }
        case 'delete': {
          const done = await client.delete(path, { correlationId });
          msg.payload = done;
          return { ...done };
        }
        case 'share': {
          const { options, generated } = shareOptions(msg);
          const share = await client.share(path, options, { correlationId, reuse: def.reuse !== false });
          count('nextcloud', 'shares', { reused: String(Boolean(share.reused)) });
          msg.payload = { ...share, ...(generated ? { password: generated } : {}) };
          return {
            path: share.path || path, shareId: share.id, url: share.url, shareType: share.type, expiration: share.expiration,
            hasPassword: share.hasPassword, reused: Boolean(share.reused),
          };
        }
        case 'link': {
          // right after an upload of this path its answer named the file id: no need to ask again
          const before = msg.nextcloud as { operation?: string; path?: string; internalUrl?: string; fileId?: string } | undefined;
          const fileId = before?.operation === 'upload' && before.path === path ? /^0*(\d+)/.exec(before.fileId ?? '')?.[1] : undefined;
          const link = fileId && before?.internalUrl ? { path, fileId, url: before.internalUrl } : await client.internalLink(path, { correlationId });
          msg.payload = link;
          return { ...link };
        }
      }
    }

    /** Share settings: the node's, with msg.share.{shareWith, expireDate, label, password} taking over when sent. */
    function shareOptions(msg: Msg): { options: ShareOptions; generated?: string } {
      const over = (msg.share && typeof msg.share === 'object' ? msg.share : {}) as Record<string, unknown>;
      const type = (text(over.type) || def.shareType || 'link') as ShareType;
      const days = intSetting(def.expireDays, 0, 0, 3650);
      const expireDate = text(over.expireDate) || (days > 0 ? daysFromNow(days) : undefined);
      let password = text(over.password) || undefined;
      let generated: string | undefined;
      if (!password && type === 'link') {
        if (def.passwordMode === 'credential') {
          password = node.credentials?.sharePassword || undefined;
          if (!password) throw badInput('nextcloud', `Nextcloud node "${node.name || node.id}" is set to use its share password but none is stored; set it in the node`);
        } else if (def.passwordMode === 'generate') {
          password = generated = generateSharePassword();
        }
      }
      return {
        options: {
          type,
          shareWith: text(over.shareWith) || text(def.shareWith) || undefined,
          password,
          expireDate,
          label: text(over.label) || text(def.linkLabel) || undefined,
        },
        generated,
      };
    }
  }

  registerType('clinica-nextcloud', NextcloudNode, { credentials: { sharePassword: { type: 'password' } } });
};
