/** search_count: how many records match the domain. */
import type { OdooOperation } from './context';

export const searchCount: OdooOperation = async ({ client, model, query: { domain }, context }) => {
  const n = await client.searchCount(model, domain, context);
  return { payload: n, details: { domain, count: n } };
};
