/** mkdir: the folder and its parents, when missing. */
import type { NextcloudOperation } from './context';

export const mkdir: NextcloudOperation = async ({ client, msg: { correlationId }, path }) => {
  const made = await client.mkdir(path, { correlationId });
  return { payload: made, details: { ...made } };
};
