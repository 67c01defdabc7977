/** link: the internal link of a file (for users who can already see it); no share is made. */
import type { NextcloudOperation } from './context';

export const link: NextcloudOperation = async ({ client, msg, path }) => {
  // right after an upload of this path its answer named the file id: no need to ask again
  const before = msg.nextcloud as { operation?: string; path?: string; internalUrl?: string; fileId?: string } | undefined;
  const fileId = before?.operation === 'upload' && before.path === path ? /^0*(\d+)/.exec(before.fileId ?? '')?.[1] : undefined;
  const found =
    fileId && before?.internalUrl ? { path, fileId, url: before.internalUrl } : await client.internalLink(path, { correlationId: msg.correlationId });
  return { payload: found, details: { ...found } };
};
