/** read: the records of the given ids, with the fields of the node or the message. */
import type { OdooOperation } from './context';
import { idsFrom } from './input';

export const read: OdooOperation = async (c) => {
  const ids = idsFrom(c, true);
  const records = await c.client.read(c.model, ids, c.query.fields, c.context);
  return { payload: records, details: { ids, count: records.length, ...(ids.length === 1 ? { id: ids[0] } : {}) } };
};
