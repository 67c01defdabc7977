/**
 * The Nextcloud conformance battery: the WebDAV, chunked-upload, OCS and login calls the pack makes (and the
 * failures it must understand), sent to a server and reduced to comparable observations. Run against the peer in
 * `npm test` (compared with the recording of a real Nextcloud 32, nextcloud-32.json) and against a real Nextcloud
 * when NEXTCLOUD_CONFORMANCE_URL is set (see nextcloud.spec.ts and nextcloud-cli.ts).
 *
 * Probes with lasting effects on a real server run there only when asked:
 * - NEXTCLOUD_CONFORMANCE_LOCAL_ADDRESS (e.g. 127.0.0.2): wrong-password calls are sent from this address, so the
 *   brute-force counter of the address the pack uses is not touched;
 * - NEXTCLOUD_CONFORMANCE_LOCKOUT=1: eleven wrong passwords from that address, which Nextcloud then blocks
 *   (`occ security:bruteforce:reset <address>` afterwards);
 * - NEXTCLOUD_CONFORMANCE_RATE_LIMIT=1: share creations until the user's limit answers 429 (20 per 10 minutes).
 */
import { createHash } from 'node:crypto';
import {
  type Answer,
  type Observation,
  type Probe,
  type ProbeContext,
  type XmlElement,
  bodyKind,
  child,
  headerOf,
  mediaType,
  parseXmlTree,
} from './nextcloud-runner';

const MiB = 1024 * 1024;
const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

// ------------------------------------------------------------------ normalising what Nextcloud says

const ETAG = /^(W\/)?"?[0-9a-f]{6,64}"?$/i;
const FILE_ID = /^\d{8,}oc[a-z0-9]{10}$/;
const HTTP_DATE = /^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$/;

function etag(v: string | undefined | null): string | null {
  if (v === undefined || v === null) return null;
  if (!ETAG.test(v)) return v;
  return v.startsWith('"') ? '"<etag>"' : '<etag>';
}

function fileId(v: string | undefined): string | null {
  if (v === undefined) return null;
  return FILE_ID.test(v) ? '<file id>' : v;
}

/** Cookie names set by an answer, the instance cookie (named after the instance id) shown as oc<instance>. */
function cookieNames(a: Answer): string[] {
  const set = a.headers['set-cookie'] ?? [];
  return [...new Set(set.map((c) => c.split('=')[0].trim()).map((n) => (/^oc[a-z0-9]{10}$/.test(n) ? 'oc<instance>' : n)))].sort();
}

type HeaderRule = (a: Answer, content?: Buffer | string) => unknown;

const HEADERS: Record<string, HeaderRule> = {
  'content-type': (a) => mediaType(a),
  etag: (a) => etag(headerOf(a, 'etag')),
  'oc-etag': (a) => etag(headerOf(a, 'oc-etag')),
  'oc-fileid': (a) => fileId(headerOf(a, 'oc-fileid')),
  'x-hash-sha256': (a, content) => {
    const v = headerOf(a, 'x-hash-sha256');
    return v === undefined ? null : content !== undefined && v === sha256(content) ? 'sha256 of the content' : v;
  },
  'x-hash-md5': (a) => (headerOf(a, 'x-hash-md5') === undefined ? null : 'present'),
  'x-oc-mtime': (a) => headerOf(a, 'x-oc-mtime') ?? null,
  'www-authenticate': (a) => headerOf(a, 'www-authenticate') ?? null,
  'retry-after': (a) => (headerOf(a, 'retry-after') === undefined ? null : 'present'),
  'set-cookie': (a) => cookieNames(a),
};

/** A Sabre error body: the exception class and its message. */
function sabre(a: Answer): Observation {
  const root = parseXmlTree(a.body.toString('utf8'));
  if (!root || root.name !== 'd:error') return { kind: bodyKind(a) };
  return { exception: child(root, 's:exception')?.text ?? null, message: child(root, 's:message')?.text ?? null };
}

function propValue(el: XmlElement): unknown {
  const text = el.text.trim();
  switch (el.name) {
    case 'd:getetag':
      return etag(text);
    case 'd:getlastmodified':
      return HTTP_DATE.test(text) ? '<http date>' : text;
    case 'd:resourcetype':
      return el.children.map((c) => c.name).join(',');
    case 'oc:fileid':
      return /^\d+$/.test(text) ? '<number>' : text;
    case 'oc:id':
      return fileId(text);
    case 'oc:checksums':
      return el.children.map((c) => c.text.replace(/:[0-9a-f]+/g, ':<hex>')).join(' ');
    default:
      return el.children.length ? el.children.map((c) => c.name).join(',') : text;
  }
}

/** A multistatus: per response its href and, per propstat status, the properties and their normalised values. */
function multistatus(a: Answer): Observation {
  const root = parseXmlTree(a.body.toString('utf8'));
  if (!root || root.name !== 'd:multistatus') return { kind: bodyKind(a) };
  const responses = root.children
    .filter((c) => c.name === 'd:response')
    .map((r) => {
      const propstats: Record<string, Record<string, unknown>> = {};
      for (const ps of r.children.filter((c) => c.name === 'd:propstat')) {
        const status = child(ps, 'd:status')?.text ?? '?';
        const props: Record<string, unknown> = {};
        for (const p of child(ps, 'd:prop')?.children ?? []) props[p.name] = propValue(p);
        propstats[status] = Object.fromEntries(Object.entries(props).sort(([x], [y]) => x.localeCompare(y)));
      }
      return { href: child(r, 'd:href')?.text ?? null, propstats };
    });
  // the folder itself first (as Nextcloud answers), its children in name order
  const [self, ...rest] = responses;
  return { responses: self ? [self, ...rest.sort((x, y) => String(x.href).localeCompare(String(y.href)))] : [] };
}

const SHARE_VALUES: Record<string, (v: unknown) => unknown> = {
  id: (v) => (/^\d+$/.test(String(v)) ? '<id>' : v),
  token: (v) => (typeof v === 'string' && /^[A-Za-z0-9]{15}$/.test(v) ? '<token>' : v),
  url: (v) => (typeof v === 'string' ? v.replace(/\/s\/[A-Za-z0-9]{15}$/, '/s/<token>') : v),
  stime: (v) => (Number.isInteger(v) ? '<time>' : v),
  item_mtime: (v) => (Number.isInteger(v) ? '<time>' : v),
  item_source: (v) => (Number.isInteger(v) ? '<file>' : v),
  file_source: (v) => (Number.isInteger(v) ? '<file>' : v),
  file_parent: (v) => (Number.isInteger(v) ? '<file>' : v),
  storage: (v) => (Number.isInteger(v) ? '<storage>' : v),
  expiration: (v) => (typeof v === 'string' ? v.replace(/^\d{4}-\d{2}-\d{2}/, '<date>') : v),
  password: (v) => (typeof v === 'string' && v ? '<hash>' : v),
  // a password-protected link says the hash of its password here
  share_with: (v) => (typeof v === 'string' && /^\d+\|\$/.test(v) ? '<hash>' : v),
};

/** A share as the OCS API describes it: every key, its value normalised (ids, tokens, times). */
function shareShape(data: unknown): unknown {
  if (!data || typeof data !== 'object' || Array.isArray(data)) return data;
  const d = data as Record<string, unknown>;
  return Object.fromEntries(
    Object.keys(d)
      .sort()
      .map((k) => [k, SHARE_VALUES[k] ? SHARE_VALUES[k](d[k]) : d[k]]),
  );
}

/** An OCS answer in JSON or XML: the envelope's meta and the shape of its data. */
function ocs(a: Answer, dataShape: (data: unknown) => unknown = shareShape): Observation {
  const text = a.body.toString('utf8').trim();
  if (text.startsWith('{')) {
    const json = JSON.parse(text) as { ocs?: { meta?: Record<string, unknown>; data?: unknown } } & Record<string, unknown>;
    if (!json.ocs) return { kind: 'json', body: json };
    const meta = json.ocs.meta ?? {};
    const data = json.ocs.data;
    return {
      kind: 'ocs-json',
      meta: { status: meta.status, statuscode: meta.statuscode, message: meta.message ?? null },
      data: Array.isArray(data) ? data.map(dataShape) : dataShape(data),
    };
  }
  const root = text.startsWith('<') ? parseXmlTree(text) : undefined;
  if (root?.name === 'ocs') {
    const meta = child(root, 'meta');
    const data = child(root, 'data');
    return {
      kind: 'ocs-xml',
      meta: { status: child(meta, 'status')?.text ?? null, statuscode: Number(child(meta, 'statuscode')?.text), message: child(meta, 'message')?.text ?? null },
      dataElements: data?.children.map((c) => c.name).sort() ?? [],
    };
  }
  return { kind: bodyKind(a) };
}

type BodyRule = 'sabre' | 'multistatus' | 'ocs' | 'kind' | 'json' | 'none';

/** One answer as an observation: status, the named headers (normalised) and the body by `body`. */
function see(a: Answer, headers: string[] = [], body: BodyRule = 'kind', content?: Buffer | string): Observation {
  const o: Observation = { status: a.status };
  if (headers.length) o.headers = Object.fromEntries(headers.map((h) => [h, HEADERS[h](a, content)]));
  if (body === 'sabre') o.body = a.body.length ? sabre(a) : 'empty';
  else if (body === 'multistatus') o.body = multistatus(a);
  else if (body === 'ocs') o.body = ocs(a);
  else if (body === 'json') o.body = bodyKind(a) === 'json' ? JSON.parse(a.body.toString('utf8')) : bodyKind(a);
  else if (body === 'kind') o.body = bodyKind(a);
  return o;
}

// ------------------------------------------------------------------ calls

const dav = (ctx: ProbeContext, rel: string) => `/remote.php/dav/files/${encodeURIComponent(ctx.target.user)}${rel}`;
const uploads = (ctx: ProbeContext, rel: string) => `/remote.php/dav/uploads/${encodeURIComponent(ctx.target.user)}${rel}`;
const shares = (v = 2, query = '?format=json') => `/ocs/v${v}.php/apps/files_sharing/api/v1/shares${query}`;
const OCS = { 'OCS-APIRequest': 'true' };
const FORM = { ...OCS, 'Content-Type': 'application/x-www-form-urlencoded' };
/** The run's own folder for a probe: /<run>/<probe>. */
const home = (ctx: ProbeContext, probe: string) => `/${ctx.runId}/${probe}`;

async function mkcols(ctx: ProbeContext, path: string): Promise<void> {
  let at = '';
  for (const part of path.split('/').filter(Boolean)) {
    at += `/${part}`;
    await ctx.send({ method: 'MKCOL', path: dav(ctx, at) });
  }
}

async function put(ctx: ProbeContext, path: string, content: Buffer | string, headers: Record<string, string> = {}): Promise<Answer> {
  return ctx.send({ method: 'PUT', path: dav(ctx, path), body: content, headers });
}

const PROPFIND_NAMED = `<?xml version="1.0"?>
<d:propfind xmlns:d="DAV:" xmlns:oc="http://owncloud.org/ns" xmlns:nc="http://nextcloud.org/ns">
  <d:prop>
    <d:getlastmodified/><d:getetag/><d:getcontenttype/><d:getcontentlength/><d:resourcetype/>
    <oc:fileid/><oc:id/><oc:permissions/><oc:size/><oc:checksums/><oc:clinica-unknown/>
  </d:prop>
</d:propfind>`;

const FILE_STEPS = ['etag', 'oc-etag', 'oc-fileid', 'x-hash-sha256', 'x-hash-md5'];

// ------------------------------------------------------------------ the probes

export const NEXTCLOUD_PROBES: Probe[] = [
  {
    id: 'status',
    title: 'status.php names a Nextcloud 32 that is installed and not in maintenance',
    async run(ctx) {
      const a = await ctx.send({ method: 'GET', path: '/status.php', auth: 'none' });
      const body = JSON.parse(a.body.toString('utf8')) as Record<string, unknown>;
      ctx.record('get', {
        status: a.status,
        type: mediaType(a),
        keys: Object.keys(body).sort(),
        installed: body.installed,
        maintenance: body.maintenance,
        major: String(body.version).split('.')[0],
      });
    },
  },
  {
    id: 'put',
    title: 'PUT into a missing folder is 404; Auto-Mkcol creates it (the other spelling does not); hashes and ids come back',
    async run(ctx) {
      const base = home(ctx, 'put');
      await mkcols(ctx, base);
      ctx.record('into missing folder', see(await put(ctx, `${base}/missing/a.txt`, 'uno'), [], 'sabre'));
      ctx.record('misspelled Auto-Mkcol', see(await put(ctx, `${base}/missing/a.txt`, 'uno', { 'X-NC-WebDAV-AutoMkcol': '1' }), [], 'sabre'));
      const content = 'contenido del documento';
      ctx.record(
        'Auto-Mkcol, X-Hash sha256',
        see(await put(ctx, `${base}/auto/deep/a.txt`, content, { 'X-NC-WebDAV-Auto-Mkcol': '1', 'X-Hash': 'sha256' }), FILE_STEPS, 'kind', content),
      );
      ctx.record('again: overwritten', see(await put(ctx, `${base}/auto/deep/a.txt`, 'otro', { 'X-Hash': 'sha256' }), FILE_STEPS, 'kind', 'otro'));
      ctx.record('If-None-Match * on an existing file', see(await put(ctx, `${base}/auto/deep/a.txt`, 'x', { 'If-None-Match': '*' }), [], 'sabre'));
      ctx.record('If-None-Match * on a new file', see(await put(ctx, `${base}/auto/deep/b.txt`, 'b', { 'If-None-Match': '*' }), ['oc-fileid'], 'kind'));
      ctx.record('onto a folder', see(await put(ctx, `${base}/auto/deep`, 'x'), [], 'sabre'));
      ctx.record('under a file', see(await put(ctx, `${base}/auto/deep/a.txt/c.txt`, 'x', { 'X-NC-WebDAV-Auto-Mkcol': '1' }), [], 'sabre'));
      ctx.record('with X-OC-Mtime', see(await put(ctx, `${base}/auto/deep/m.txt`, 'm', { 'X-OC-Mtime': '1700000000' }), ['x-oc-mtime'], 'kind'));
    },
  },
  {
    id: 'names',
    title: 'names with outer spaces, a no-break space or a BOM are stored as sent (the pack refuses them itself)',
    async run(ctx) {
      const base = home(ctx, 'names');
      await mkcols(ctx, base);
      for (const [label, name] of [
        ['trailing space', 'x '],
        ['leading space', ' x'],
        ['no-break space', 'x\u00a0y'],
        ['BOM', '\ufeffx'],
      ]) {
        const a = await put(ctx, `${base}/${encodeURIComponent(name)}`, 'n');
        const back = await ctx.send({ method: 'PROPFIND', path: dav(ctx, `${base}/${encodeURIComponent(name)}`), headers: { Depth: '0' } });
        ctx.record(label, { put: a.status, propfind: back.status });
      }
    },
  },
  {
    id: 'mkcol',
    title: 'MKCOL: 201 new, 405 existing folder or file, 409 missing parent',
    async run(ctx) {
      const base = home(ctx, 'mkcol');
      await mkcols(ctx, `/${ctx.runId}`);
      ctx.record('new', see(await ctx.send({ method: 'MKCOL', path: dav(ctx, base) }), [], 'kind'));
      ctx.record('existing', see(await ctx.send({ method: 'MKCOL', path: dav(ctx, base) }), [], 'sabre'));
      ctx.record('missing parent', see(await ctx.send({ method: 'MKCOL', path: dav(ctx, `${base}/no/such`) }), [], 'sabre'));
      await put(ctx, `${base}/f.txt`, 'f');
      ctx.record('over a file', see(await ctx.send({ method: 'MKCOL', path: dav(ctx, `${base}/f.txt`) }), [], 'sabre'));
    },
  },
  {
    id: 'propfind',
    title: 'PROPFIND: the properties of a folder, its children and a file; named properties; 404',
    async run(ctx) {
      const base = home(ctx, 'propfind');
      await mkcols(ctx, `${base}/sub`);
      await put(ctx, `${base}/informe.pdf`, '%PDF-1.7 informe');
      await put(ctx, `${base}/sub/nota.txt`, 'nota');
      ctx.record(
        'folder, depth 1',
        see(await ctx.send({ method: 'PROPFIND', path: dav(ctx, `${base}/`), headers: { Depth: '1' } }), ['content-type'], 'multistatus'),
      );
      ctx.record(
        'folder without slash, depth 0',
        see(await ctx.send({ method: 'PROPFIND', path: dav(ctx, base), headers: { Depth: '0' } }), [], 'multistatus'),
      );
      ctx.record(
        'file, depth 0',
        see(await ctx.send({ method: 'PROPFIND', path: dav(ctx, `${base}/informe.pdf`), headers: { Depth: '0' } }), [], 'multistatus'),
      );
      ctx.record(
        'named properties of a file',
        see(
          await ctx.send({
            method: 'PROPFIND',
            path: dav(ctx, `${base}/informe.pdf`),
            headers: { Depth: '0', 'Content-Type': 'application/xml' },
            body: PROPFIND_NAMED,
          }),
          [],
          'multistatus',
        ),
      );
      ctx.record(
        'named properties of a folder',
        see(
          await ctx.send({
            method: 'PROPFIND',
            path: dav(ctx, `${base}/sub`),
            headers: { Depth: '0', 'Content-Type': 'application/xml' },
            body: PROPFIND_NAMED,
          }),
          [],
          'multistatus',
        ),
      );
      ctx.record(
        'missing',
        see(await ctx.send({ method: 'PROPFIND', path: dav(ctx, `${base}/nada.pdf`), headers: { Depth: '0' } }), ['content-type'], 'sabre'),
      );
    },
  },
  {
    id: 'get-delete',
    title: 'GET a file (type, ETags, id), 404; DELETE is 204 for a file and a folder, 404 when missing',
    async run(ctx) {
      const base = home(ctx, 'get-delete');
      await mkcols(ctx, `${base}/sub`);
      await put(ctx, `${base}/informe.pdf`, '%PDF-1.7 informe', { 'Content-Type': 'application/pdf' });
      const got = await ctx.send({ method: 'GET', path: dav(ctx, `${base}/informe.pdf`) });
      ctx.record('get', {
        ...see(got, ['content-type', 'etag', 'oc-etag', 'oc-fileid'], 'none'),
        body: got.body.toString('utf8'),
        length: headerOf(got, 'content-length') ?? null,
      });
      ctx.record('get missing', see(await ctx.send({ method: 'GET', path: dav(ctx, `${base}/nada.pdf`) }), [], 'sabre'));
      ctx.record('delete file', see(await ctx.send({ method: 'DELETE', path: dav(ctx, `${base}/informe.pdf`) }), [], 'kind'));
      ctx.record('delete missing', see(await ctx.send({ method: 'DELETE', path: dav(ctx, `${base}/informe.pdf`) }), [], 'sabre'));
      ctx.record('delete folder', see(await ctx.send({ method: 'DELETE', path: dav(ctx, `${base}/sub`) }), [], 'kind'));
    },
  },
  {
    id: 'move-copy',
    title: 'MOVE and COPY: 201 new, 204 replaced, 412 with Overwrite: F, 409 into a missing folder, 404 missing source',
    async run(ctx) {
      const base = home(ctx, 'move-copy');
      await mkcols(ctx, base);
      const url = (rel: string) => `${ctx.target.url}${dav(ctx, `${base}/${rel}`)}`;
      await put(ctx, `${base}/a.txt`, 'a');
      await put(ctx, `${base}/b.txt`, 'b');
      for (const method of ['COPY', 'MOVE']) {
        const m = method.toLowerCase();
        ctx.record(
          `${m} to a new name`,
          see(await ctx.send({ method, path: dav(ctx, `${base}/a.txt`), headers: { Destination: url(`${m}-new.txt`) } }), ['oc-fileid', 'etag'], 'kind'),
        );
        ctx.record(
          `${m} onto an existing file, Overwrite: F`,
          see(await ctx.send({ method, path: dav(ctx, `${base}/${m}-new.txt`), headers: { Destination: url('b.txt'), Overwrite: 'F' } }), [], 'sabre'),
        );
        ctx.record(
          `${m} into a missing folder`,
          see(await ctx.send({ method, path: dav(ctx, `${base}/${m}-new.txt`), headers: { Destination: url('no/such/x.txt') } }), [], 'sabre'),
        );
        ctx.record(
          `${m} of a missing file`,
          see(await ctx.send({ method, path: dav(ctx, `${base}/nada.txt`), headers: { Destination: url('x.txt') } }), [], 'sabre'),
        );
      }
      ctx.record(
        'move onto an existing file, Overwrite: T',
        see(await ctx.send({ method: 'MOVE', path: dav(ctx, `${base}/move-new.txt`), headers: { Destination: url('b.txt'), Overwrite: 'T' } }), [], 'kind'),
      );
      const back = await ctx.send({ method: 'GET', path: dav(ctx, `${base}/b.txt`) });
      ctx.record('what is at the destination', { body: back.body.toString('utf8') });
    },
  },
  {
    id: 'paths',
    title: 'a path with ".." is 404 (never resolved); another user\'s files are out of reach',
    async run(ctx) {
      const base = home(ctx, 'paths');
      await mkcols(ctx, base);
      ctx.record(
        'PROPFIND with ..',
        see(await ctx.send({ method: 'PROPFIND', path: dav(ctx, `${base}/../${base.split('/').pop()}/`), headers: { Depth: '0' } }), [], 'kind'),
      );
      ctx.record('PUT with ..', see(await put(ctx, `${base}/../x.txt`, 'x'), [], 'kind'));
      ctx.record('PUT with encoded ..', see(await put(ctx, `${base}/%2e%2e/y.txt`, 'y'), [], 'kind'));
      ctx.record(
        'another user',
        see(await ctx.send({ method: 'PROPFIND', path: `/remote.php/dav/files/clinica-nobody-${ctx.runId}/`, headers: { Depth: '0' } }), [], 'sabre'),
      );
    },
  },
  {
    id: 'url',
    title: 'a wrong sub-path in the server URL answers HTML, not WebDAV (405 to PROPFIND, 404 to PUT)',
    async run(ctx) {
      const wrong = `/nextcloud/remote.php/dav/files/${encodeURIComponent(ctx.target.user)}/`;
      ctx.record('PROPFIND', see(await ctx.send({ method: 'PROPFIND', path: wrong, headers: { Depth: '0' } }), ['content-type'], 'kind'));
      ctx.record('PUT', see(await ctx.send({ method: 'PUT', path: `${wrong}x.txt`, body: 'x' }), ['content-type'], 'kind'));
      ctx.record('status.php', { status: (await ctx.send({ method: 'GET', path: '/nextcloud/status.php', auth: 'none' })).status });
    },
  },
  {
    id: 'chunked',
    title: 'chunked upload v2: MKCOL, numbered chunks, MOVE of .file (X-Hash), 412 with Overwrite: F, DELETE aborts',
    async run(ctx) {
      const base = home(ctx, 'chunked');
      await mkcols(ctx, base);
      const target = `${ctx.target.url}${dav(ctx, `${base}/grande.bin`)}`;
      const one = Buffer.alloc(5 * MiB, 7);
      const two = Buffer.from('el final');
      const total = String(one.length + two.length);
      const up = uploads(ctx, `/${ctx.runId}-1`);
      const h = { Destination: target, 'OC-Total-Length': total };
      ctx.record('start', see(await ctx.send({ method: 'MKCOL', path: up, headers: { Destination: target } }), [], 'kind'));
      ctx.record('chunk 1', see(await ctx.send({ method: 'PUT', path: `${up}/00001`, headers: h, body: one }), [], 'kind'));
      ctx.record('chunk 2', see(await ctx.send({ method: 'PUT', path: `${up}/00002`, headers: h, body: two }), [], 'kind'));
      const moved = await ctx.send({ method: 'MOVE', path: `${up}/.file`, headers: { ...h, 'X-Hash': 'sha256', 'X-OC-Mtime': '1700000000' } });
      ctx.record('assemble', see(moved, ['etag', 'oc-etag', 'oc-fileid', 'x-hash-sha256', 'x-oc-mtime'], 'kind', Buffer.concat([one, two])));
      const got = await ctx.send({ method: 'GET', path: dav(ctx, `${base}/grande.bin`) });
      ctx.record('stored', { status: got.status, sha256: sha256(got.body) === sha256(Buffer.concat([one, two])) ? 'as sent' : 'different' });
      ctx.record('upload folder after assembly', see(await ctx.send({ method: 'PROPFIND', path: up, headers: { Depth: '0' } }), [], 'sabre'));

      const up2 = uploads(ctx, `/${ctx.runId}-2`);
      await ctx.send({ method: 'MKCOL', path: up2, headers: { Destination: target } });
      await ctx.send({ method: 'PUT', path: `${up2}/00001`, headers: { Destination: target, 'OC-Total-Length': '4' }, body: 'otro' });
      ctx.record(
        'assemble onto an existing file, Overwrite: F',
        see(await ctx.send({ method: 'MOVE', path: `${up2}/.file`, headers: { Destination: target, 'OC-Total-Length': '4', Overwrite: 'F' } }), [], 'sabre'),
      );
      ctx.record('abort', see(await ctx.send({ method: 'DELETE', path: up2 }), [], 'kind'));
      ctx.record('abort again', see(await ctx.send({ method: 'DELETE', path: up2 }), [], 'sabre'));
      const after = await ctx.send({ method: 'GET', path: dav(ctx, `${base}/grande.bin`) });
      ctx.record('the existing file is kept', { sha256: sha256(after.body) === sha256(Buffer.concat([one, two])) ? 'as before' : 'changed' });
    },
  },
  {
    id: 'session',
    title: 'a login sets the session cookies; the cookies alone are enough afterwards',
    async run(ctx) {
      const first = await ctx.send({ method: 'PROPFIND', path: dav(ctx, '/'), headers: { Depth: '0' } });
      ctx.record('login', see(first, ['set-cookie'], 'none'));
      const cookie = (first.headers['set-cookie'] ?? []).map((c) => c.split(';')[0]).join('; ');
      const again = await ctx.send({ method: 'PROPFIND', path: dav(ctx, '/'), headers: { Depth: '0', Cookie: cookie }, auth: 'none' });
      ctx.record('cookies only', see(again, ['set-cookie'], 'none'));
    },
  },
  {
    id: 'auth',
    title: 'a wrong password: 401 with the realm; OCS says 997; no Authorization at all is 401 too',
    optIn: 'NEXTCLOUD_CONFORMANCE_LOCAL_ADDRESS',
    async run(ctx) {
      const wrong = { user: ctx.target.user, password: `wrong-${ctx.runId}` };
      ctx.record(
        'WebDAV, wrong password',
        see(
          await ctx.send({ method: 'PROPFIND', path: dav(ctx, '/'), headers: { Depth: '0' }, auth: wrong, fromLocalAddress: true }),
          ['www-authenticate', 'content-type'],
          'sabre',
        ),
      );
      ctx.record(
        'OCS, wrong password',
        see(await ctx.send({ method: 'GET', path: shares(), headers: OCS, auth: wrong, fromLocalAddress: true }), ['www-authenticate'], 'ocs'),
      );
      ctx.record(
        'WebDAV, no login',
        see(
          await ctx.send({ method: 'PROPFIND', path: dav(ctx, '/'), headers: { Depth: '0' }, auth: 'none', fromLocalAddress: true }),
          ['www-authenticate'],
          'sabre',
        ),
      );
    },
  },
  {
    id: 'ocs',
    title: 'OCS shares: the CSRF guard (412), a link share in JSON, XML and v1, listing by path, refusals, delete',
    async run(ctx) {
      const base = home(ctx, 'ocs');
      await mkcols(ctx, base);
      await put(ctx, `${base}/factura.pdf`, '%PDF factura');
      const path = encodeURIComponent(`${base}/factura.pdf`);
      const body = `path=${path}&shareType=3`;
      ctx.record(
        'without OCS-APIRequest',
        see(
          await ctx.send({ method: 'POST', path: shares(), headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body }),
          ['content-type'],
          'json',
        ),
      );
      const created = await ctx.send({ method: 'POST', path: shares(), headers: FORM, body: `${body}&label=Odoo&expireDate=2099-12-31` });
      ctx.record('link share, JSON', see(created, ['content-type'], 'ocs'));
      const id = (JSON.parse(created.body.toString('utf8')) as { ocs: { data: { id: string } } }).ocs.data.id;
      ctx.record('list by path', see(await ctx.send({ method: 'GET', path: shares(2, `?format=json&path=${path}&reshares=false`), headers: OCS }), [], 'ocs'));
      ctx.record('list by path, XML', see(await ctx.send({ method: 'GET', path: shares(2, `?path=${path}`), headers: OCS }), ['content-type'], 'ocs'));
      ctx.record('v1 list by path', see(await ctx.send({ method: 'GET', path: shares(1, `?format=json&path=${path}`), headers: OCS }), [], 'ocs'));
      ctx.record(
        'missing path',
        see(await ctx.send({ method: 'POST', path: shares(), headers: FORM, body: `path=${encodeURIComponent(`${base}/nada.pdf`)}&shareType=3` }), [], 'ocs'),
      );
      ctx.record(
        'missing path, v1',
        see(await ctx.send({ method: 'POST', path: shares(1), headers: FORM, body: `path=${encodeURIComponent(`${base}/nada.pdf`)}&shareType=3` }), [], 'ocs'),
      );
      ctx.record(
        'unknown user',
        see(
          await ctx.send({
            method: 'POST',
            path: shares(),
            headers: FORM,
            body: `${body.replace('shareType=3', 'shareType=0')}&shareWith=clinica-nobody-${ctx.runId}`,
          }),
          [],
          'ocs',
        ),
      );
      ctx.record(
        'expiry in the past',
        see(await ctx.send({ method: 'POST', path: shares(), headers: FORM, body: `${body}&expireDate=2001-01-01` }), [], 'ocs'),
      );
      ctx.record(
        'update: a password',
        see(await ctx.send({ method: 'PUT', path: shares(2, `/${id}?format=json`), headers: FORM, body: 'password=Clave-Segura-2025-x' }), [], 'ocs'),
      );
      ctx.record('delete', see(await ctx.send({ method: 'DELETE', path: shares(2, `/${id}?format=json`), headers: OCS }), [], 'ocs'));
      ctx.record('delete again', see(await ctx.send({ method: 'DELETE', path: shares(2, `/${id}?format=json`), headers: OCS }), [], 'ocs'));
    },
  },
  {
    id: 'share-rate-limit',
    title: 'share creation is limited per user (20 per 10 minutes): then 429 with an empty body and no Retry-After',
    optIn: 'NEXTCLOUD_CONFORMANCE_RATE_LIMIT',
    async run(ctx) {
      const base = home(ctx, 'rate');
      await mkcols(ctx, base);
      await put(ctx, `${base}/f.pdf`, 'f');
      let limited: Answer | undefined;
      let created = 0;
      for (let i = 0; i < 25 && !limited; i++) {
        const a = await ctx.send({ method: 'POST', path: shares(), headers: FORM, body: `path=${encodeURIComponent(`${base}/f.pdf`)}&shareType=3` });
        if (a.status === 429) limited = a;
        else if (a.status === 200) created += 1;
      }
      ctx.record('limited', { within21: Boolean(limited) && created <= 20, ...(limited ? see(limited, ['content-type', 'retry-after'], 'kind') : {}) });
      ctx.record('listing still works', {
        status: (await ctx.send({ method: 'GET', path: shares(2, `?format=json&path=${encodeURIComponent(`${base}/f.pdf`)}`), headers: OCS })).status,
      });
      ctx.record('WebDAV still works', { status: (await put(ctx, `${base}/g.pdf`, 'g')).status });
    },
  },
  {
    id: 'cleanup',
    title: "the run's folder is deleted (204)",
    async run(ctx) {
      ctx.record('delete', { status: (await ctx.send({ method: 'DELETE', path: dav(ctx, `/${ctx.runId}`) })).status });
    },
  },
  {
    id: 'lockout',
    title: 'about ten wrong passwords from one address: then 429 for every login from it, the right one included',
    optIn: 'NEXTCLOUD_CONFORMANCE_LOCKOUT',
    async run(ctx) {
      const wrong = { user: ctx.target.user, password: `wrong-${ctx.runId}` };
      const statuses: number[] = [];
      for (let i = 0; i < 14 && statuses[statuses.length - 1] !== 429; i++) {
        statuses.push((await ctx.send({ method: 'PROPFIND', path: dav(ctx, '/'), headers: { Depth: '0' }, auth: wrong, fromLocalAddress: true })).status);
      }
      const firstLimited = statuses.indexOf(429);
      // how many it takes depends on the failures the address already had (12 hours count); 14 are always enough
      ctx.record('wrong passwords', { unauthorisedBefore: statuses.slice(0, firstLimited).every((s) => s === 401), locked: firstLimited > 0 });
      ctx.record(
        'WebDAV, right password',
        see(
          await ctx.send({ method: 'PROPFIND', path: dav(ctx, '/'), headers: { Depth: '0' }, fromLocalAddress: true }),
          ['content-type', 'retry-after'],
          'sabre',
        ),
      );
      ctx.record('OCS, right password', see(await ctx.send({ method: 'GET', path: shares(), headers: OCS, fromLocalAddress: true }), ['retry-after'], 'ocs'));
      ctx.record('status.php', { status: (await ctx.send({ method: 'GET', path: '/status.php', auth: 'none', fromLocalAddress: true })).status });
    },
  },
];
