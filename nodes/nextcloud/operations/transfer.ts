/** move and copy: the file to the destination (inside the same folder jail), making missing folders. */
import type { NextcloudOperation } from './context';
import { destinationOf } from './input';

function transfer(kind: 'move' | 'copy'): NextcloudOperation {
  return async ({ def, client, msg, path, jail }) => {
    const to = destinationOf(def, msg, jail, path);
    const done = await client[kind](path, to, { correlationId: msg.correlationId, overwrite: Boolean(def.overwrite), createFolders: true });
    return { payload: done, details: { ...done } };
  };
}

export const move = transfer('move');
export const copy = transfer('copy');
