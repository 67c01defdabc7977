/** unlink: deletes the records of the given ids. */
import type { OdooOperation } from './context';
import { idsFrom } from './input';

export const unlink: OdooOperation = async (c) => {
  const ids = idsFrom(c, true);
  return { payload: await c.client.unlink(c.model, ids, c.context), details: { ids } };
};
