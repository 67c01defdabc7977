/**
 * What an operation of the clinica-odoo node gets and gives back. The node resolves the model, the settings
 * and the message's overrides once; an operation is then one function from this context to a result, so it can
 * be tested with a stand-in client (the routing follows n8n's Odoo v2 node: `actions/<resource>/<operation>`).
 */
import type { Node, NodeDef } from 'node-red';
import type { OdooClient } from '../../clients/odoo/client';
import type { Msg, Send } from '../../lib/node-runtime';

export type Operation = 'search_read' | 'read' | 'search_count' | 'create' | 'write' | 'unlink' | 'message_post' | 'call' | 'stock_movement' | 'activity';

export type Obj = Record<string, unknown>;
export const isObj = (v: unknown): v is Obj => Boolean(v) && typeof v === 'object' && !Array.isArray(v) && !Buffer.isBuffer(v);

export interface OdooDef extends NodeDef {
  config: string;
  operation: Operation;
  model: string;
  domain: string;
  fields: string;
  order: string;
  limit: string | number;
  /** none: one call (limit applies); all: every page in one message; pages: one message per page. */
  paging: 'none' | 'all' | 'pages';
  pageSize: string | number;
  ids: string;
  values: string;
  method: string;
  args: string;
  kwargs: string;
  body: string;
  subtype: 'note' | 'comment';
  context: string;
  /** activity: login of the user assigned (a value or ${ENV}); empty = the integration user. */
  activityUser?: string;
  /** activity: external id of the activity type (default mail.mail_activity_data_todo). */
  activityType?: string;
  /** activity: deadline in days from today in Odoo's clock (default 0). */
  activityDeadlineDays?: string | number;
}

/** The node's settings, parsed once so a bad one fails every message the same way. */
export interface OdooSettings {
  domain: unknown[];
  fields?: string[];
  order?: string;
  limit: number;
  paging: 'none' | 'all' | 'pages';
  pageSize: number;
  ids?: number[];
  values: unknown;
  method: string;
  args: unknown[];
  kwargs: Obj;
  body: string;
  subtype: 'note' | 'comment';
  context: Obj;
  activityUser?: string;
  activityType: string;
  activityDeadlineDays: number;
}

/** The search of this message: the settings, with msg.domain/fields/order/limit/offset over them. */
export interface Query {
  domain: unknown[];
  fields?: string[];
  order?: string;
  /** 0: no limit. */
  limit: number;
  offset: number;
}

export interface OperationContext {
  /** The clinica-odoo node, named in error messages. */
  readonly node: Node;
  readonly operation: Operation;
  /** The Odoo model, already checked. */
  readonly model: string;
  readonly msg: Msg;
  /** For operations that send messages of their own (one per page). */
  readonly send: Send;
  readonly client: OdooClient;
  readonly settings: OdooSettings;
  readonly query: Query;
  /** Odoo context of the call (the node's, with msg.context over it); undefined when empty. */
  readonly context?: Obj;
}

/** msg.payload and what msg.odoo tells about the operation; or `sent` when it sent its own messages. */
export type OperationResult = { payload: unknown; details: Obj } | { sent: true };

export type OdooOperation = (c: OperationContext) => Promise<OperationResult>;
