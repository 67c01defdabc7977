/**
 * How Nextcloud's WebDAV server (Sabre) words its answers, for the test peer: error bodies with the exception
 * class and message Nextcloud 32 sends, multistatus bodies with the properties it lists for files and folders
 * (held against a real Nextcloud 32 by test/conformance/nextcloud.spec.ts), hrefs encoded as Sabre encodes them,
 * and mime types by file extension.
 */
import type * as fs from 'node:fs';
import type * as http from 'node:http';

export const EXCEPTION = {
  notFound: 'Sabre\\DAV\\Exception\\NotFound',
  conflict: 'Sabre\\DAV\\Exception\\Conflict',
  notAllowed: 'Sabre\\DAV\\Exception\\MethodNotAllowed',
  precondition: 'Sabre\\DAV\\Exception\\PreconditionFailed',
  forbidden: 'Sabre\\DAV\\Exception\\Forbidden',
  badRequest: 'Sabre\\DAV\\Exception\\BadRequest',
  notAuthenticated: 'Sabre\\DAV\\Exception\\NotAuthenticated',
  tooManyRequests: 'OCA\\DAV\\Connector\\Sabre\\Exception\\TooManyRequests',
  locked: 'OCA\\DAV\\Connector\\Sabre\\Exception\\FileLocked',
  storage: 'Sabre\\DAV\\Exception\\InsufficientStorage',
  generic: 'Sabre\\DAV\\Exception',
} as const;

/** The messages Nextcloud 32 sends (test/conformance/nextcloud-32.json). */
export const MESSAGE = {
  notLocated: (rel: string) => `File with name ${rel} could not be located`,
  exists: 'The resource you tried to create already exists',
  parentMissing: 'Parent node does not exist',
  putOnFolder: 'PUT is not allowed on non-files.',
  childOfFile: 'Files can only be created as children of collections',
  nodeNotFound: (name: string) => `Node with name '${name}' could not be found`,
  ifNoneMatch: 'An If-None-Match header was specified, but the ETag matched (or * was specified).',
  ifMatch: 'An If-Match header was specified, but none of the specified ETags matched.',
  noOverwrite: 'The destination node already exists, and the overwrite header is set to false',
  destinationMissing: 'The destination node is not found',
  principal: (user: string) => `Principal with name ${user} not found`,
  wrongPassword:
    "No public access to this resource., AppAPIAuth has not passed, This request is not for a federated calendar, Username or password was incorrect, No 'Authorization: Bearer' header found. Either the client didn't send one, or the server is mis-configured, Username or password was incorrect",
  noLogin:
    "No public access to this resource., AppAPIAuth has not passed, This request is not for a federated calendar, No 'Authorization: Basic' header found. Either the client didn't send one, or the server is misconfigured, No 'Authorization: Bearer' header found. Either the client didn't send one, or the server is mis-configured, No 'Authorization: Basic' header found. Either the client didn't send one, or the server is misconfigured",
};

const escapeXml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** A Sabre error answer: `<d:error>` with `<s:exception>` and `<s:message>` (and Nextcloud's hint when given). */
export function sabreError(res: http.ServerResponse, status: number, exception: string, message: string, hint?: string): void {
  const body =
    '<?xml version="1.0" encoding="utf-8"?>\n' +
    `<d:error xmlns:d="DAV:" xmlns:s="http://sabredav.org/ns"${hint ? ' xmlns:o="http://owncloud.org/ns"' : ''}>\n` +
    `  <s:exception>${escapeXml(exception)}</s:exception>\n` +
    (message ? `  <s:message>${escapeXml(message)}</s:message>\n` : '  <s:message/>\n') +
    (hint ? `  <o:hint xmlns:o="o:">${escapeXml(hint)}</o:hint>\n` : '') +
    '</d:error>\n';
  res.writeHead(status, { 'Content-Type': 'application/xml; charset=utf-8', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

/** Sabre\HTTP\encodePath: everything but letters, digits and `_-.~()/:@` percent-encoded (UTF-8). */
export function encodeHref(path: string): string {
  return path.replace(/[^A-Za-z0-9_\-.~()/:@]/gu, (ch) => [...Buffer.from(ch, 'utf8')].map((b) => `%${b.toString(16).padStart(2, '0')}`).join(''));
}

const MIME: Record<string, string> = {
  pdf: 'application/pdf',
  txt: 'text/plain',
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  json: 'application/json',
  xml: 'application/xml',
  html: 'text/html',
  csv: 'text/csv',
  md: 'text/markdown',
  odt: 'application/vnd.oasis.opendocument.text',
  doc: 'application/msword',
  docx: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  xlsx: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
  zip: 'application/zip',
  dcm: 'application/dicom',
};

/** Nextcloud detects a file's type from its extension (not from what the client said). */
export function mimeOf(name: string): string {
  const dot = name.lastIndexOf('.');
  return (dot > 0 && MIME[name.slice(dot + 1).toLowerCase()]) || 'application/octet-stream';
}

export interface Entry {
  /** The path below the user's files, "/a/b". */
  rel: string;
  stat: fs.Stats;
  /** Folders: the size of everything inside. */
  size: number;
  etag: string;
  fileId: string;
  numericId: number;
}

/** A property Nextcloud answers (value XML), or undefined for "404 Not Found" in this propstat. */
type PropRule = (e: Entry) => string | undefined;

const PROPS: Record<string, PropRule> = {
  'd:getlastmodified': (e) => e.stat.mtime.toUTCString(),
  'd:getcontentlength': (e) => (e.stat.isDirectory() ? undefined : String(e.stat.size)),
  'd:resourcetype': (e) => (e.stat.isDirectory() ? '<d:collection/>' : ''),
  'd:quota-used-bytes': (e) => (e.stat.isDirectory() ? String(e.size) : undefined),
  'd:quota-available-bytes': (e) => (e.stat.isDirectory() ? '-3' : undefined),
  'd:getetag': (e) => `&quot;${e.etag}&quot;`,
  'd:getcontenttype': (e) => (e.stat.isDirectory() ? undefined : mimeOf(e.rel)),
  'oc:fileid': (e) => String(e.numericId),
  'oc:id': (e) => e.fileId,
  'oc:permissions': (e) => (e.stat.isDirectory() ? 'RGDNVCK' : 'RGDNVW'),
  'oc:size': (e) => String(e.stat.isDirectory() ? e.size : e.stat.size),
};

/** What Nextcloud lists when the PROPFIND names no properties. */
const FOLDER_DEFAULT = ['d:getlastmodified', 'd:resourcetype', 'd:quota-used-bytes', 'd:quota-available-bytes', 'd:getetag'];
const FILE_DEFAULT = ['d:getlastmodified', 'd:getcontentlength', 'd:resourcetype', 'd:getetag', 'd:getcontenttype'];

/** `<d:x/>`, or for a name in another namespace (`{uri}local`) an element declaring it. */
function emptyElement(name: string): string {
  const m = /^\{(.*)\}(.+)$/.exec(name);
  return m ? `<x:${m[2]} xmlns:x="${escapeXml(m[1])}"/>` : `<${name}/>`;
}

const NAMESPACES = 'xmlns:d="DAV:" xmlns:s="http://sabredav.org/ns" xmlns:oc="http://owncloud.org/ns" xmlns:nc="http://nextcloud.org/ns"';

/** A 207 body for the entries; `wanted` are `prefix:local` names (d:, oc:, nc:), or undefined for the defaults. */
export function multistatus(entries: Entry[], hrefOf: (e: Entry) => string, wanted?: string[]): string {
  const responses = entries.map((e) => {
    const names = wanted ?? (e.stat.isDirectory() ? FOLDER_DEFAULT : FILE_DEFAULT);
    const found: string[] = [];
    const missing: string[] = [];
    for (const name of names) {
      const value = PROPS[name]?.(e);
      if (value === undefined) missing.push(emptyElement(name));
      else found.push(value === '' ? `<${name}/>` : `<${name}>${value}</${name}>`);
    }
    const propstat = (props: string[], status: string) =>
      props.length ? `<d:propstat><d:prop>${props.join('')}</d:prop><d:status>HTTP/1.1 ${status}</d:status></d:propstat>` : '';
    return `<d:response><d:href>${hrefOf(e)}</d:href>${propstat(found, '200 OK')}${propstat(missing, '404 Not Found')}</d:response>`;
  });
  return `<?xml version="1.0"?>\n<d:multistatus ${NAMESPACES}>${responses.join('')}</d:multistatus>\n`;
}
