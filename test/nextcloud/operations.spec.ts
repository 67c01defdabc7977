/**
 * The clinica-nextcloud node's operations as plain functions: the operation and path rules, and each operation
 * against a stand-in client that records its calls (no server, no Node-RED runtime). The node tests run the same
 * operations on a WebDAV peer.
 */
import * as assert from 'node:assert/strict';
import type { Node } from 'node-red';
import type { NextcloudClient } from '../../nodes/clients/nextcloud/client';
import type { Msg } from '../../nodes/lib/node-runtime';
import { OPERATIONS } from '../../nodes/nextcloud/operations';
import type { NextcloudCredentials, NextcloudDef, Operation } from '../../nodes/nextcloud/operations/context';
import { destinationOf, locate, operationOf } from '../../nodes/nextcloud/operations/input';
import { shareOptions } from '../../nodes/nextcloud/operations/share';
import { contentTypeOf } from '../../nodes/nextcloud/operations/upload';

type Call = [string, ...unknown[]];
const node = { type: 'clinica-nextcloud', id: 'n1', name: 'Docs', credentials: {} } as Node<NextcloudCredentials>;

/** Answers every client method with what `answers` names for it and records the call. */
function stubClient(answers: Record<string, unknown> = {}): { client: NextcloudClient; calls: Call[] } {
  const calls: Call[] = [];
  const client = new Proxy(
    {},
    {
      get: (_t, method: string) =>
        method === 'baseUrl'
          ? 'https://nc'
          : async (...args: unknown[]) => {
              calls.push([method, ...args]);
              return answers[method];
            },
    },
  ) as NextcloudClient;
  return { client, calls };
}

async function run(operation: Operation, def: Partial<NextcloudDef>, msg: Msg, answers: Record<string, unknown> = {}) {
  const { client, calls } = stubClient(answers);
  const full = { target: 'path', ...def } as NextcloudDef;
  const { path, jail } = locate(full, operation, msg);
  const result = await OPERATIONS[operation]({ node, def: full, operation, client, msg, path, jail });
  return { ...result, calls };
}

const badInput = (fn: () => unknown, re: RegExp) =>
  assert.throws(fn, (err: { code?: string; message: string }) => {
    assert.equal(err.code, 'BAD_INPUT');
    assert.match(err.message, re);
    return true;
  });

describe('nextcloud operations (functions, stand-in client)', function () {
  it('takes the node operation, or msg.operation when set to "msg", and names the known ones when it is not', function () {
    assert.deepEqual(Object.keys(OPERATIONS).sort(), ['copy', 'delete', 'download', 'link', 'list', 'mkdir', 'move', 'share', 'upload']);
    assert.equal(operationOf(node, { operation: 'list' }, {} as Msg), 'list');
    assert.equal(operationOf(node, { operation: 'msg' }, { operation: 'share' } as unknown as Msg), 'share');
    badInput(
      () => operationOf(node, { operation: 'msg' }, { operation: 'rm -rf' } as unknown as Msg),
      /operation "rm -rf" is unknown; use one of upload, download/,
    );
  });

  it('locates a patient document, or a path confined to the node folder', function () {
    const patient = { target: 'patient', docType: 'msg' } as NextcloudDef;
    const msg = { patientId: 42, document: { type: 'invoice', name: 'FAC-1.pdf' } } as unknown as Msg;
    assert.deepEqual(locate(patient, 'upload', msg), {
      path: '/Documentos_Clinicos/Pacientes/42/Facturas/FAC-1.pdf',
      jail: '/Documentos_Clinicos/Pacientes/42',
    });
    assert.deepEqual(locate(patient, 'list', msg), { path: '/Documentos_Clinicos/Pacientes/42/Facturas', jail: '/Documentos_Clinicos/Pacientes/42' });
    badInput(
      () => locate(patient, 'download', { patientId: 42, document: { type: 'invoice' } } as unknown as Msg),
      /download for patient 42 needs a file name/,
    );
    const inbox = { target: 'path', restrictTo: '/Inbox' } as NextcloudDef;
    assert.deepEqual(locate(inbox, 'list', { path: '/Inbox/2025' } as unknown as Msg), { path: '/Inbox/2025', jail: '/Inbox' });
    assert.throws(() => locate(inbox, 'list', { path: '/Documentos_Clinicos' } as unknown as Msg), /Inbox/);
    badInput(() => locate(inbox, 'list', {} as Msg), /list needs a path/);
  });

  it('sends a move or copy to the destination; a bare name keeps the folder, and the jail holds', async function () {
    assert.equal(destinationOf({ destination: 'new.pdf' }, {} as Msg, '/Inbox', '/Inbox/a/old.pdf'), '/Inbox/a/new.pdf');
    assert.throws(() => destinationOf({ destination: '' }, { destination: '/Elsewhere/x.pdf' } as unknown as Msg, '/Inbox', '/Inbox/old.pdf'), /Inbox/);
    const moved = await run('move', { path: '/Inbox/a.pdf', destination: '/Inbox/b.pdf', overwrite: true }, {} as Msg, {
      move: { from: '/Inbox/a.pdf', path: '/Inbox/b.pdf' },
    });
    assert.deepEqual(moved.calls, [['move', '/Inbox/a.pdf', '/Inbox/b.pdf', { correlationId: undefined, overwrite: true, createFolders: true }]]);
    assert.deepEqual(
      [moved.payload, moved.details],
      [
        { from: '/Inbox/a.pdf', path: '/Inbox/b.pdf' },
        { from: '/Inbox/a.pdf', path: '/Inbox/b.pdf' },
      ],
    );
    const copied = await run('copy', { path: '/Inbox/a.pdf' }, { destination: 'c.pdf' } as unknown as Msg, {
      copy: { from: '/Inbox/a.pdf', path: '/Inbox/c.pdf' },
    });
    assert.equal(copied.calls[0][0], 'copy');
  });

  it('uploads with the content type of msg.document or of the extension, and the skip policy unless set', async function () {
    assert.equal(contentTypeOf('a.PDF', undefined), 'application/pdf');
    assert.equal(contentTypeOf('a.bin', 'image/png'), 'image/png');
    assert.equal(contentTypeOf('noext', 'not a type'), 'application/octet-stream');
    const answer = { path: '/Inbox/a.pdf', status: 'created', chunked: false, size: 3 };
    const up = await run(
      'upload',
      { path: '/Inbox/a.pdf' },
      { payload: Buffer.from('pdf'), correlationId: 'c-1', document: { size: 3, modified: 'not a date' } } as unknown as Msg,
      { upload: answer },
    );
    assert.deepEqual(up.calls[0].slice(3), [{ conflict: 'skip', contentType: 'application/pdf', mtime: undefined, size: 3, correlationId: 'c-1' }]);
    assert.deepEqual([up.payload, up.details], [answer, answer]);
  });

  it('downloads bytes or a stream, and tells path, size, etag and type', async function () {
    const d = { path: '/Inbox/a.pdf', data: Buffer.from('x'), stream: 'the stream', size: 1, etag: '"e"', contentType: 'application/pdf' };
    const bytes = await run('download', { path: '/Inbox/a.pdf' }, {} as Msg, { download: d });
    assert.deepEqual([bytes.payload, bytes.details], [d.data, { path: d.path, size: 1, etag: '"e"', contentType: 'application/pdf' }]);
    const stream = await run('download', { path: '/Inbox/a.pdf', output: 'stream' }, {} as Msg, { downloadStream: d });
    assert.equal(stream.payload, 'the stream');
  });

  it('links a file just uploaded from the upload answer, without asking the server', async function () {
    const msg = { nextcloud: { operation: 'upload', path: '/Inbox/a.pdf', fileId: '00000123oc', internalUrl: 'https://nc/f/123' } } as unknown as Msg;
    const linked = await run('link', { path: '/Inbox/a.pdf' }, msg);
    assert.deepEqual([linked.payload, linked.calls], [{ path: '/Inbox/a.pdf', fileId: '123', url: 'https://nc/f/123' }, []]);
    const asked = await run('link', { path: '/Inbox/b.pdf' }, msg, { internalLink: { path: '/Inbox/b.pdf', fileId: '9', url: 'https://nc/f/9' } });
    assert.equal(asked.calls[0][0], 'internalLink');
  });

  it('shares with the node settings under msg.share, and a link password from the credential or made anew', async function () {
    const def = { shareType: 'link', passwordMode: 'generate', linkLabel: 'Paciente' } as NextcloudDef;
    const generated = shareOptions({ node, def }, {} as Msg);
    assert.ok(generated.generated && generated.options.password === generated.generated);
    assert.equal(generated.options.label, 'Paciente');
    const given = shareOptions({ node, def }, { share: { password: 'own-Pa55word', label: 'Otra' } } as unknown as Msg);
    assert.deepEqual([given.generated, given.options.password, given.options.label], [undefined, 'own-Pa55word', 'Otra']);
    badInput(() => shareOptions({ node, def: { ...def, passwordMode: 'credential' } }, {} as Msg), /is set to use its share password but none is stored/);
    const made = { id: '7', path: '/Inbox/a.pdf', url: 'https://nc/s/x', type: 'link', hasPassword: true, reused: true };
    const shared = await run('share', { path: '/Inbox/a.pdf', shareType: 'link', passwordMode: 'none', reuse: false }, {} as Msg, { share: made });
    assert.deepEqual((shared.calls[0][3] as { reuse: boolean }).reuse, false);
    assert.deepEqual(shared.details, {
      path: '/Inbox/a.pdf',
      shareId: '7',
      url: 'https://nc/s/x',
      shareType: 'link',
      expiration: undefined,
      hasPassword: true,
      reused: true,
    });
  });

  it('lists, makes folders and deletes, telling the path', async function () {
    const listed = await run('list', { path: '/Inbox' }, {} as Msg, { list: [{ name: 'a.pdf' }] });
    assert.deepEqual(listed.details, { path: '/Inbox', count: 1 });
    const tree = [
      { path: '/P/7/Facturas', name: 'Facturas', type: 'folder', fileId: '5' },
      { path: '/P/7/Facturas/a.pdf', name: 'a.pdf', type: 'file' },
    ];
    const deep = await run('list', { path: '/P/7', depth: '2', missing: 'empty' }, { correlationId: 'c-1' } as Msg, { list: tree });
    assert.deepEqual(deep.calls[0], ['list', '/P/7', { correlationId: 'c-1', depth: 2, missing: 'empty' }]);
    assert.deepEqual(deep.details, { path: '/P/7', count: 2, depth: 2 });
    assert.deepEqual(
      (deep.payload as Array<{ url?: string }>).map((e) => e.url),
      ['https://nc/index.php/f/5', undefined],
      'the internal link of every entry Nextcloud gave a file id',
    );
    const capped = await run('list', { path: '/P', depth: 99 }, {} as Msg, { list: [] });
    assert.deepEqual(capped.calls[0][2], { correlationId: undefined, depth: 5, missing: 'error' });
    const made = await run('mkdir', { path: '/Inbox/new' }, {} as Msg, { mkdir: { path: '/Inbox/new', created: true } });
    assert.deepEqual(made.details, { path: '/Inbox/new', created: true });
    const gone = await run('delete', { path: '/Inbox/new' }, {} as Msg, { delete: { path: '/Inbox/new' } });
    assert.deepEqual([gone.payload, gone.calls[0][0]], [{ path: '/Inbox/new' }, 'delete']);
  });
});
