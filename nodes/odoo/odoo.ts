/**
 * clinica-odoo: one Odoo operation on any model — search_read (paged on the server: every record in one
 * message, or one message per page), read, search_count, create, write, unlink, message_post on a
 * record's chatter, or any public method with args/kwargs. Settings first; the message overrides only
 * what the help lists (msg.topic for the model, msg.domain/fields/order/limit/offset, msg.ids, msg.payload
 * for values and ids, msg.method/args/kwargs, msg.context).
 */
import { randomUUID } from 'node:crypto';
import type { Node, NodeAPI, NodeDef } from 'node-red';
import { badInput } from '../clients/common/errors';
import { attachToConfig } from '../lib/config-node';
import { intSetting } from '../lib/env';
import { handleInput, registerType, setRED, type Msg, type Send } from '../lib/node-runtime';
import type { OdooClient } from '../clients/odoo/client';
import { applyStockMovement, type MovementType } from '../clients/odoo/stock';
import { checkDomain, fieldList, idList, jsonSetting, label, notConfigured, odooConfigOf } from './types';

type Operation = 'search_read' | 'read' | 'search_count' | 'create' | 'write' | 'unlink' | 'message_post' | 'call' | 'stock_movement';
const OPERATIONS = new Set<Operation>(['search_read', 'read', 'search_count', 'create', 'write', 'unlink', 'message_post', 'call', 'stock_movement']);

interface OdooDef extends NodeDef {
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
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => Boolean(v) && typeof v === 'object' && !Array.isArray(v) && !Buffer.isBuffer(v);

export = function (RED: NodeAPI): void {
  setRED(RED);

  function Odoo(this: Node, def: OdooDef): void {
    RED.nodes.createNode(this, def);
    const node = this;
    const config = odooConfigOf(RED, def.config);
    attachToConfig(node, config);
    const operation: Operation = OPERATIONS.has(def.operation) ? def.operation : 'search_read';
    const paging = def.paging === 'all' || def.paging === 'pages' ? def.paging : 'none';
    const pageSize = intSetting(def.pageSize, 500, 1, 100000);

    /** The settings that never change, parsed once so a bad one fails every message the same way. */
    let settings: { domain: unknown[]; fields?: string[]; values: unknown; args: unknown[]; kwargs: Obj; context: Obj; ids?: number[] } | undefined;
    const parsedSettings = () => {
      settings ??= {
        domain: checkDomain(node, jsonSetting(node, def.domain, 'domain', []), 'the domain setting'),
        fields: fieldList(node, def.fields, 'the fields setting'),
        values: jsonSetting<unknown>(node, def.values, 'values', {}),
        args: jsonSetting<unknown[]>(node, def.args, 'args', []),
        kwargs: jsonSetting<Obj>(node, def.kwargs, 'kwargs', {}),
        context: jsonSetting<Obj>(node, def.context, 'context', {}),
        ids: idList(node, def.ids, 'the ids setting'),
      };
      return settings;
    };

    handleInput(node, { system: 'odoo' }, async (msg: Msg, send: Send) => {
      if (!config) throw notConfigured(node);
      const s = parsedSettings();
      const model = operation === 'stock_movement' ? 'stock.picking' : (def.model || '').trim() || (typeof msg.topic === 'string' ? msg.topic.trim() : '');
      if (!model) throw badInput('odoo', `${label(node)}: no model; set the model in the node or send it as msg.topic (e.g. res.partner)`);
      if (!/^[a-z_][a-z0-9_.]*$/i.test(model)) throw badInput('odoo', `${label(node)}: "${model}" is not an Odoo model name (e.g. res.partner, account.move)`);
      const context = isObj(msg.context) ? { ...s.context, ...msg.context } : s.context;
      const ctx = Object.keys(context).length ? context : undefined;
      const client = config.getClient();
      const started = Date.now();
      const details: Obj = { model, operation };
      try {
        const result = await run(client, model, s, msg, ctx, details, send);
        config.report();
        if (result === PAGES_SENT) return;
        msg.payload = result;
        msg.topic = model;
        msg.odoo = { ...details, protocol: await client.protocolName(), durationMs: Date.now() - started };
        send(msg);
      } catch (err) {
        config.report(err);
        throw err;
      }
    });

    const PAGES_SENT = Symbol('pages sent');

    /** Ids: the setting, else msg.ids, else the payload (number, list or {id}), else msg.odoo.id of the same model. */
    function idsFrom(s: { ids?: number[] }, msg: Msg, model: string, payloadAllowed: boolean): number[] {
      const fromSetting = s.ids;
      if (fromSetting) return fromSetting;
      const fromMsg = idList(node, msg.ids, 'msg.ids');
      if (fromMsg) return fromMsg;
      if (payloadAllowed) {
        const p = msg.payload;
        if (typeof p === 'number' || (Array.isArray(p) && p.every((x) => typeof x === 'number')) || (isObj(p) && 'id' in p && typeof p.id === 'number')) {
          return idList(node, p, 'msg.payload') as number[];
        }
      }
      const odoo = msg.odoo as { model?: unknown; id?: unknown } | undefined;
      if (odoo && odoo.model === model && typeof odoo.id === 'number') return [odoo.id];
      throw badInput('odoo', `${label(node)}: ${operation} on ${model} needs record ids: set them in the node, or send msg.ids (or msg.payload.id, or msg.odoo.id from a node that worked on a ${model})`);
    }

    function valuesFrom(s: { values: unknown }, msg: Msg, model: string): Obj | Obj[] {
      const base = isObj(s.values) ? s.values : {};
      const p = msg.payload;
      const merge = (v: unknown): Obj => {
        if (!isObj(v)) throw badInput('odoo', `${label(node)}: ${operation} on ${model} needs field values as an object, e.g. {"name": "Ana"}; got ${JSON.stringify(v)}`);
        const { id: _id, ...rest } = v;
        void _id;
        return { ...base, ...rest };
      };
      if (Array.isArray(p) && operation === 'create') {
        if (!p.length) throw badInput('odoo', `${label(node)}: create on ${model} got an empty list in msg.payload`);
        return p.map(merge);
      }
      const vals = isObj(p) ? merge(p) : merge(base);
      if (!Object.keys(vals).length) throw badInput('odoo', `${label(node)}: ${operation} on ${model} has no values; send them in msg.payload or set Values in the node`);
      return vals;
    }

    async function run(client: OdooClient, model: string, s: NonNullable<typeof settings>, msg: Msg, ctx: Obj | undefined, details: Obj, send: Send): Promise<unknown> {
      const domain = msg.domain !== undefined ? checkDomain(node, msg.domain, 'msg.domain') : s.domain;
      const fields = msg.fields !== undefined ? fieldList(node, msg.fields, 'msg.fields') : s.fields;
      const order = typeof msg.order === 'string' && msg.order.trim() ? msg.order.trim() : def.order?.trim() || undefined;
      const limit = msg.limit !== undefined ? intSetting(msg.limit, -1, 0) : intSetting(def.limit, 0, 0);
      if (limit < 0) throw badInput('odoo', `${label(node)}: msg.limit must be a whole number ≥ 0; got ${JSON.stringify(msg.limit)}`);
      const offset = msg.offset !== undefined ? intSetting(msg.offset, -1, 0) : 0;
      if (offset < 0) throw badInput('odoo', `${label(node)}: msg.offset must be a whole number ≥ 0; got ${JSON.stringify(msg.offset)}`);

      switch (operation) {
        case 'search_read': {
          Object.assign(details, { domain, limit: limit || undefined, offset: offset || undefined });
          if (paging === 'none') {
            const records = await client.searchRead(model, { domain, fields, order, limit: limit || undefined, offset: offset || undefined, context: ctx });
            details.count = records.length;
            return records;
          }
          const query = { domain, fields, order, limit: limit || undefined, offset: offset || undefined, context: ctx, pageSize };
          if (paging === 'all') {
            const records = await client.searchReadAll(model, query);
            Object.assign(details, { count: records.length, pageSize });
            return records;
          }
          const partsId = randomUUID();
          const protocol = await client.protocolName();
          const started = Date.now();
          for await (const page of client.searchReadPages(model, query)) {
            const out = RED.util.cloneMessage(msg) as Msg;
            out.payload = page.records;
            out.topic = model;
            out.parts = { id: partsId, index: page.index, ...(page.last ? { count: page.index + 1 } : {}) };
            out.odoo = { ...details, protocol, count: page.records.length, page: { index: page.index, offset: page.offset, size: pageSize, last: page.last }, durationMs: Date.now() - started };
            send(out);
          }
          return PAGES_SENT;
        }
        case 'search_count': {
          details.domain = domain;
          const n = await client.searchCount(model, domain, ctx);
          details.count = n;
          return n;
        }
        case 'read': {
          const ids = idsFrom(s, msg, model, true);
          details.ids = ids;
          const records = await client.read(model, ids, fields, ctx);
          details.count = records.length;
          if (ids.length === 1) details.id = ids[0];
          return records;
        }
        case 'create': {
          const vals = valuesFrom(s, msg, model);
          if (Array.isArray(vals)) {
            const ids = await client.create(model, vals, ctx);
            details.ids = ids;
            return ids;
          }
          const id = await client.create(model, vals, ctx);
          details.id = id;
          details.ids = [id];
          return id;
        }
        case 'write': {
          const p = msg.payload;
          const target = s.ids ?? idList(node, msg.ids, 'msg.ids') ?? (isObj(p) && typeof p.id === 'number' ? [p.id] : idsFrom(s, msg, model, false));
          const vals = valuesFrom(s, msg, model) as Obj;
          details.ids = target;
          if (target.length === 1) details.id = target[0];
          details.values = Object.keys(vals);
          return client.write(model, target, vals, ctx);
        }
        case 'unlink': {
          const ids = idsFrom(s, msg, model, true);
          details.ids = ids;
          return client.unlink(model, ids, ctx);
        }
        case 'message_post': {
          const ids = idsFrom(s, msg, model, false);
          if (ids.length !== 1) throw badInput('odoo', `${label(node)}: message_post goes on one record of ${model}; got ids ${ids.join(', ')}`);
          const p = msg.payload;
          const body = (def.body || '').trim() || (typeof p === 'string' ? p : isObj(p) && typeof p.body === 'string' ? p.body : '');
          if (!body) throw badInput('odoo', `${label(node)}: message_post on ${model} ${ids[0]} has no text; send it as msg.payload (or msg.payload.body) or set Body`);
          const subject = isObj(p) && typeof p.subject === 'string' ? p.subject : undefined;
          const messageId = await client.messagePost(model, ids[0], {
            body, subject, subtypeXmlid: def.subtype === 'comment' ? 'mail.mt_comment' : 'mail.mt_note', context: ctx,
            attachmentIds: isObj(p) && Array.isArray(p.attachmentIds) ? (p.attachmentIds as number[]) : undefined,
          });
          Object.assign(details, { id: ids[0], ids, messageId });
          return messageId;
        }
        case 'call': {
          const method = (def.method || '').trim() || (typeof msg.method === 'string' ? msg.method.trim() : '');
          if (!method) throw badInput('odoo', `${label(node)}: no method to call on ${model}; set Method in the node or send msg.method`);
          if (!/^[a-z][a-z0-9_]*$/i.test(method)) throw badInput('odoo', `${label(node)}: "${method}" is not a public method name (private ones start with _ and cannot be called)`);
          const args = msg.args !== undefined ? msg.args : s.args;
          const kwargs = msg.kwargs !== undefined ? msg.kwargs : s.kwargs;
          if (!Array.isArray(args)) throw badInput('odoo', `${label(node)}: args for ${model}.${method} must be a list (record ids first for record methods); got ${JSON.stringify(args)}`);
          if (!isObj(kwargs)) throw badInput('odoo', `${label(node)}: kwargs for ${model}.${method} must be an object; got ${JSON.stringify(kwargs)}`);
          const kw = ctx ? { ...kwargs, context: { ...ctx, ...(isObj(kwargs.context) ? kwargs.context : {}) } } : kwargs;
          Object.assign(details, { method });
          if (Array.isArray(args[0]) && (args[0] as unknown[]).every((x) => typeof x === 'number')) details.ids = args[0];
          return client.call(model, method, args, kw);
        }
        case 'stock_movement': {
          const p = msg.payload;
          if (!isObj(p)) throw badInput('odoo', `${label(node)}: a stock movement needs msg.payload {reference, product_id, type, quantity, notes}; got ${JSON.stringify(p)}`);
          const applied = await applyStockMovement(client, {
            reference: (p.reference ?? p.external_ref) as string,
            productId: (p.product_id ?? p.odoo_product_id) as number,
            type: (p.type ?? p.movement_type) as MovementType,
            quantity: p.quantity as number,
            notes: typeof p.notes === 'string' ? p.notes : undefined,
          });
          Object.assign(details, { id: applied.pickingId, ids: [applied.pickingId], moveId: applied.moveId, reference: applied.reference, applied: applied.applied });
          return applied;
        }
        default:
          throw badInput('odoo', `${label(node)}: unknown operation ${String(operation)}`);
      }
    }
  }

  registerType('clinica-odoo', Odoo);
};
