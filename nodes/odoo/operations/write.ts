/** write: the values on the records named by the setting, msg.ids, msg.payload.id or msg.odoo.id. */
import { idList } from '../types';
import { isObj, type Obj, type OdooOperation } from './context';
import { idsFrom, valuesFrom } from './input';

export const write: OdooOperation = async (c) => {
  const p = c.msg.payload;
  const target = c.settings.ids ?? idList(c.node, c.msg.ids, 'msg.ids') ?? (isObj(p) && typeof p.id === 'number' ? [p.id] : idsFrom(c, false));
  const vals = valuesFrom(c) as Obj;
  const done = await c.client.write(c.model, target, vals, c.context);
  return { payload: done, details: { ids: target, ...(target.length === 1 ? { id: target[0] } : {}), values: Object.keys(vals) } };
};
