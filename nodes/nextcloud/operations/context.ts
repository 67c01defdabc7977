/**
 * What an operation of the clinica-nextcloud node gets and gives back: the node resolves the operation and the
 * path (confined to its folder) first; an operation is then one function from this context to the new
 * msg.payload and what msg.nextcloud tells about it, testable with a stand-in client.
 */
import type { Node, NodeDef } from 'node-red';
import type { ConflictPolicy, NextcloudClient } from '../../clients/nextcloud/client';
import type { ShareType } from '../../clients/nextcloud/ocs';
import type { Msg } from '../../lib/node-runtime';

export type Operation = 'upload' | 'download' | 'list' | 'mkdir' | 'move' | 'copy' | 'delete' | 'share' | 'link';

export interface NextcloudDef extends NodeDef {
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
  /** list: how many levels (1 = the folder's own entries, at most 5). */
  depth?: string | number;
  /** list: a folder that is not there fails (error, the default) or lists as empty. */
  missing?: 'error' | 'empty';
  /** Hand out an existing equal share of the path instead of creating one (default true; false only when set). */
  reuse?: boolean;
}

export interface NextcloudCredentials {
  sharePassword?: string;
}

export interface OperationContext {
  /** The clinica-nextcloud node: named in error messages, holds the share password. */
  readonly node: Node<NextcloudCredentials>;
  readonly def: NextcloudDef;
  readonly operation: Operation;
  readonly client: NextcloudClient;
  readonly msg: Msg;
  /** The path the operation works on, already checked. */
  readonly path: string;
  /** The folder every path of this message must stay in. */
  readonly jail: string;
}

/** The new msg.payload, and what msg.nextcloud tells about the operation (beside its name and duration). */
export interface OperationResult {
  payload: unknown;
  details: Record<string, unknown>;
}

export type NextcloudOperation = (c: OperationContext) => Promise<OperationResult>;
