/**
 * list: the entries of a folder, each with its internal link (`url`) when Nextcloud gave its file id; with the
 * node's depth > 1 the subfolders' entries too, and with "a missing folder is empty" [] for a folder not there.
 */
import { MAX_LIST_DEPTH } from '../../clients/nextcloud/client';
import { intSetting } from '../../lib/env';
import type { NextcloudOperation } from './context';

export const list: NextcloudOperation = async ({ client, def, msg: { correlationId }, path }) => {
  const depth = intSetting(def.depth, 1, 1, MAX_LIST_DEPTH);
  const missing = def.missing === 'empty' ? 'empty' : 'error';
  const entries = await client.list(path, { correlationId, depth, missing });
  const payload = entries.map((e) => (e.fileId ? { ...e, url: `${client.baseUrl}/index.php/f/${e.fileId}` } : e));
  return { payload, details: { path, count: entries.length, ...(depth > 1 ? { depth } : {}) } };
};
