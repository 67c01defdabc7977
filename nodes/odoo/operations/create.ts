/** create: one record from an object, or one per element of a list; answers the new id (or ids). */
import type { OdooOperation } from './context';
import { valuesFrom } from './input';

export const create: OdooOperation = async (c) => {
  const vals = valuesFrom(c);
  if (Array.isArray(vals)) {
    const ids = await c.client.create(c.model, vals, c.context);
    return { payload: ids, details: { ids } };
  }
  const id = await c.client.create(c.model, vals, c.context);
  return { payload: id, details: { id, ids: [id] } };
};
