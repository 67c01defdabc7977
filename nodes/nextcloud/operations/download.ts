/** download: the file's bytes as a Buffer, or a readable stream when the node says so. */
import type { DownloadStream } from '../../clients/nextcloud/client';
import type { NextcloudOperation } from './context';

const about = (d: Omit<DownloadStream, 'stream'>) => ({ path: d.path, size: d.size, etag: d.etag, contentType: d.contentType });

export const download: NextcloudOperation = async ({ def, client, msg: { correlationId }, path }) => {
  if (def.output === 'stream') {
    const d = await client.downloadStream(path, { correlationId });
    return { payload: d.stream, details: about(d) };
  }
  const d = await client.download(path, { correlationId });
  return { payload: d.data, details: about(d) };
};
