/** The clinica-odoo node's input: its settings, the message's overrides, the model, the record ids and values. */
import type { Node } from 'node-red';
import { badInput } from '../../clients/common/errors';
import { DEFAULT_ACTIVITY_TYPE } from '../../clients/odoo/activity';
import { expandEnv, intSetting } from '../../lib/env';
import type { Msg } from '../../lib/node-runtime';
import { checkDomain, fieldList, idList, jsonSetting, label } from '../types';
import { isObj, type Obj, type OdooDef, type OdooSettings, type OperationContext, type Query } from './context';

export function parseSettings(node: Node, def: OdooDef): OdooSettings {
  return {
    domain: checkDomain(node, jsonSetting(node, def.domain, 'domain', []), 'the domain setting'),
    fields: fieldList(node, def.fields, 'the fields setting'),
    order: def.order?.trim() || undefined,
    limit: intSetting(def.limit, 0, 0),
    paging: def.paging === 'all' || def.paging === 'pages' ? def.paging : 'none',
    pageSize: intSetting(def.pageSize, 500, 1, 100000),
    values: jsonSetting<unknown>(node, def.values, 'values', {}),
    method: (def.method || '').trim(),
    args: jsonSetting<unknown[]>(node, def.args, 'args', []),
    kwargs: jsonSetting<Obj>(node, def.kwargs, 'kwargs', {}),
    body: (def.body || '').trim(),
    subtype: def.subtype,
    context: jsonSetting<Obj>(node, def.context, 'context', {}),
    ids: idList(node, def.ids, 'the ids setting'),
    activityUser: expandEnv(def.activityUser).trim() || undefined,
    activityType: expandEnv(def.activityType).trim() || DEFAULT_ACTIVITY_TYPE,
    activityDeadlineDays: deadlineDays(node, def.activityDeadlineDays),
  };
}

function deadlineDays(node: Node, value: unknown): number {
  const text = expandEnv(value === undefined || value === null ? '' : String(value)).trim();
  if (!text) return 0;
  if (!/^-?\d+$/.test(text))
    throw badInput('odoo', `${label(node)}: the activityDeadlineDays setting must be a whole number of days; got ${JSON.stringify(value)}`);
  return Number(text);
}

/** The model: the node's setting, else msg.topic; it must look like an Odoo model name. */
export function modelOf(node: Node, def: Pick<OdooDef, 'model'>, msg: Msg): string {
  const model = (def.model || '').trim() || (typeof msg.topic === 'string' ? msg.topic.trim() : '');
  if (!model) throw badInput('odoo', `${label(node)}: no model; set the model in the node or send it as msg.topic (e.g. res.partner)`);
  if (!/^[a-z_][a-z0-9_.]*$/i.test(model)) throw badInput('odoo', `${label(node)}: "${model}" is not an Odoo model name (e.g. res.partner, account.move)`);
  return model;
}

/** The node's Odoo context with msg.context over it; undefined when empty. */
export function contextOf(s: OdooSettings, msg: Msg): Obj | undefined {
  const context = isObj(msg.context) ? { ...s.context, ...msg.context } : s.context;
  return Object.keys(context).length ? context : undefined;
}

export function queryOf(node: Node, s: OdooSettings, msg: Msg): Query {
  const domain = msg.domain !== undefined ? checkDomain(node, msg.domain, 'msg.domain') : s.domain;
  const fields = msg.fields !== undefined ? fieldList(node, msg.fields, 'msg.fields') : s.fields;
  const order = typeof msg.order === 'string' && msg.order.trim() ? msg.order.trim() : s.order;
  const limit = msg.limit !== undefined ? intSetting(msg.limit, -1, 0) : s.limit;
  if (limit < 0) throw badInput('odoo', `${label(node)}: msg.limit must be a whole number ≥ 0; got ${JSON.stringify(msg.limit)}`);
  const offset = msg.offset !== undefined ? intSetting(msg.offset, -1, 0) : 0;
  if (offset < 0) throw badInput('odoo', `${label(node)}: msg.offset must be a whole number ≥ 0; got ${JSON.stringify(msg.offset)}`);
  return { domain, fields, order, limit, offset };
}

/** Ids: the setting, else msg.ids, else the payload (number, list or {id}), else msg.odoo.id of the same model. */
export function idsFrom({ node, operation, model, msg, settings }: OperationContext, payloadAllowed: boolean): number[] {
  const fromSetting = settings.ids;
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
  throw badInput(
    'odoo',
    `${label(node)}: ${operation} on ${model} needs record ids: set them in the node, or send msg.ids (or msg.payload.id, or msg.odoo.id from a node that worked on a ${model})`,
  );
}

/** Field values: msg.payload (an object, or a list for create) over the Values setting; an `id` is never a value. */
export function valuesFrom({ node, operation, model, msg, settings }: OperationContext): Obj | Obj[] {
  const base = isObj(settings.values) ? settings.values : {};
  const p = msg.payload;
  const merge = (v: unknown): Obj => {
    if (!isObj(v))
      throw badInput('odoo', `${label(node)}: ${operation} on ${model} needs field values as an object, e.g. {"name": "Ana"}; got ${JSON.stringify(v)}`);
    const { id: _id, ...rest } = v;
    void _id;
    return { ...base, ...rest };
  };
  if (Array.isArray(p) && operation === 'create') {
    if (!p.length) throw badInput('odoo', `${label(node)}: create on ${model} got an empty list in msg.payload`);
    return p.map(merge);
  }
  const vals = isObj(p) ? merge(p) : merge(base);
  if (!Object.keys(vals).length)
    throw badInput('odoo', `${label(node)}: ${operation} on ${model} has no values; send them in msg.payload or set Values in the node`);
  return vals;
}
