/** delete: the file or folder (to the user's trash bin). */
import type { NextcloudOperation } from './context';

export const remove: NextcloudOperation = async ({ client, msg: { correlationId }, path }) => {
  const done = await client.delete(path, { correlationId });
  return { payload: done, details: { ...done } };
};
