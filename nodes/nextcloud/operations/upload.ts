/** upload: msg.payload stored at the path, by the node's conflict policy; chunked when large. */
import { count } from '../../clients/common/metrics';
import { CONFLICT_POLICIES } from '../../clients/nextcloud/client';
import { baseName } from '../../clients/nextcloud/paths';
import type { NextcloudOperation } from './context';

const CONTENT_TYPES: Record<string, string> = {
  '.pdf': 'application/pdf',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.txt': 'text/plain',
  '.csv': 'text/csv',
  '.json': 'application/json',
  '.xml': 'application/xml',
  '.html': 'text/html',
  '.doc': 'application/msword',
  '.docx': 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  '.xlsx': 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
  '.odt': 'application/vnd.oasis.opendocument.text',
};

/** msg.document.contentType when it is one, else the type its extension names. */
export function contentTypeOf(name: string, given: unknown): string {
  if (typeof given === 'string' && /^[\w.+-]+\/[\w.+-]+/.test(given)) return given;
  const dot = name.lastIndexOf('.');
  return (dot >= 0 && CONTENT_TYPES[name.slice(dot).toLowerCase()]) || 'application/octet-stream';
}

export const upload: NextcloudOperation = async ({ def, client, msg, path }) => {
  const document = (msg.document ?? {}) as { contentType?: unknown; modified?: unknown; size?: unknown };
  const mtime = document.modified ? new Date(String(document.modified)) : undefined;
  const size = typeof document.size === 'number' && Number.isSafeInteger(document.size) && document.size >= 0 ? document.size : undefined;
  const result = await client.upload(path, msg.payload as Buffer, {
    conflict: CONFLICT_POLICIES.includes(def.conflict) ? def.conflict : 'skip',
    contentType: contentTypeOf(baseName(path), document.contentType),
    mtime: mtime && !Number.isNaN(mtime.getTime()) ? mtime : undefined,
    size,
    correlationId: msg.correlationId,
  });
  count('nextcloud', 'uploads', { status: result.status, chunked: String(result.chunked) });
  count('nextcloud', 'bytes_uploaded', {}, result.status === 'skipped' ? 0 : result.size);
  return { payload: { ...result }, details: { ...result } };
};
