/** list: the entries of a folder. */
import type { NextcloudOperation } from './context';

export const list: NextcloudOperation = async ({ client, msg: { correlationId }, path }) => {
  const entries = await client.list(path, { correlationId });
  return { payload: entries, details: { path, count: entries.length } };
};
