/**
 * Reading Nextcloud's WebDAV answers: the PROPFIND the client sends (the properties it needs, the file id included)
 * and the multistatus it gets back, as entries with paths relative to the user's files.
 */
import { child, parseXmlTree, type XmlElement } from './xml';

export interface Entry {
  path: string;
  name: string;
  type: 'file' | 'folder';
  size: number;
  /** ISO date. */
  modified: string | null;
  etag: string | null;
  contentType?: string;
  /** Nextcloud's numeric file id (what internal links `/index.php/f/<id>` name). */
  fileId?: string;
}

export const PROPFIND_BODY =
  '<?xml version="1.0"?>\n' +
  '<d:propfind xmlns:d="DAV:" xmlns:oc="http://owncloud.org/ns"><d:prop>' +
  '<d:getlastmodified/><d:getetag/><d:getcontenttype/><d:getcontentlength/><d:resourcetype/><oc:fileid/><oc:size/>' +
  '</d:prop></d:propfind>';

export const normEtag = (e: string | null | undefined): string | null => (e ? e.replace(/^W\//, '').replace(/"/g, '') : null);

/**
 * The entries of a multistatus. `filesRoot` is the URL path of the user's files (`/remote.php/dav/files/<user>`):
 * hrefs are made relative to it, decoded and NFC-normalised.
 */
export function parseMultistatus(body: string, filesRoot: string): Entry[] {
  const root = parseXmlTree(body);
  if (!root || root.name !== 'd:multistatus') return [];
  const base = decodeURIComponent(filesRoot).replace(/\/+$/, '');
  return root.children
    .filter((r) => r.name === 'd:response')
    .map((r) => {
      const href = decodeURIComponent((child(r, 'd:href')?.text ?? '').trim().replace(/^https?:\/\/[^/]+/, ''));
      const props = okProps(r);
      const folder = Boolean(child(props.get('d:resourcetype'), 'd:collection'));
      let path = (href.startsWith(base) ? href.slice(base.length) : href).replace(/\/+$/, '') || '/';
      path = path.normalize('NFC');
      const modified = props.get('d:getlastmodified')?.text ? new Date(props.get('d:getlastmodified')!.text.trim()) : null;
      const size = Number((folder ? props.get('oc:size') : (props.get('d:getcontentlength') ?? props.get('oc:size')))?.text ?? 0);
      return {
        path,
        name: path === '/' ? '' : path.slice(path.lastIndexOf('/') + 1),
        type: folder ? 'folder' : 'file',
        size: folder || !Number.isFinite(size) ? 0 : size,
        modified: modified && !Number.isNaN(modified.getTime()) ? modified.toISOString() : null,
        etag: normEtag(props.get('d:getetag')?.text.trim()),
        contentType: folder ? undefined : props.get('d:getcontenttype')?.text.trim() || undefined,
        fileId: props.get('oc:fileid')?.text.trim() || undefined,
      };
    });
}

/** The properties of the response's "200 OK" propstats, by name. */
function okProps(response: XmlElement): Map<string, XmlElement> {
  const out = new Map<string, XmlElement>();
  for (const ps of response.children.filter((c) => c.name === 'd:propstat')) {
    if (!/\s200\s/.test(` ${child(ps, 'd:status')?.text ?? ''} `)) continue;
    for (const p of child(ps, 'd:prop')?.children ?? []) out.set(p.name, p);
  }
  return out;
}
