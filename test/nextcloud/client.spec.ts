import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import { KiB, MiB, patternBuffer, patternSha256, patternStream } from '../../peers/nextcloud/data';
import { waitFor } from '../lib/harness';
import { type Rejection, rejection, sha256, usePeerPerTest } from './fixture';

const fileSha256 = (p: string) => sha256(fs.readFileSync(p));

/** The error `p` fails with, checked to have `code` (and a message matching `re`). */
async function rejects(p: Promise<unknown>, code: string, re?: RegExp): Promise<Rejection> {
  const caught = await rejection(p);
  assert.equal(caught.code, code, caught.message);
  if (re) assert.match(caught.message, re);
  return caught;
}

describe('nextcloud client (against the Nextcloud peer)', function () {
  this.timeout(60000);
  const nc = usePeerPerTest();
  const client = nc.client;

  it('stores the first document of a new patient: one PUT with Auto-Mkcol (Nextcloud 32 answers 404 into a missing folder)', async function () {
    const c = client();
    const r = await c.upload('/Documentos_Clinicos/Pacientes/7/Historiales/alta.pdf', Buffer.from('%PDF-1.7 alta'));
    assert.equal(r.status, 'created');
    assert.equal(fs.readFileSync(nc.peer.diskPath('alice', r.path), 'utf8'), '%PDF-1.7 alta');
    assert.deepEqual([nc.peer.stats.methods.PUT, nc.peer.stats.methods.MKCOL], [1, undefined], 'Nextcloud made the folders');
    await c.upload('/Documentos_Clinicos/Pacientes/7/Historiales/evolucion.pdf', Buffer.from('%PDF-1.7 evolución'), { conflict: 'skip' });
    await c.upload('/Documentos_Clinicos/Pacientes/8/Recetas/r.pdf', Buffer.from('%PDF-1.7 otro'), { conflict: 'rename' });
    assert.equal(fs.readFileSync(nc.peer.diskPath('alice', '/Documentos_Clinicos/Pacientes/8/Recetas/r.pdf'), 'utf8'), '%PDF-1.7 otro');
    const made = await c.mkdir('/Documentos_Clinicos/Pacientes/9/Recetas/2025');
    assert.deepEqual(made, { path: '/Documentos_Clinicos/Pacientes/9/Recetas/2025', created: true });
    assert.ok(fs.statSync(nc.peer.diskPath('alice', made.path)).isDirectory());
    assert.deepEqual(await c.mkdir('/Documentos_Clinicos/Pacientes/9/Recetas/2025'), { path: made.path, created: false });
  });

  it('on a Nextcloud without Auto-Mkcol the 404 makes the folders (MKCOL from the deepest) and sends again', async function () {
    await nc.restart({ minChunkSize: 1 * MiB, autoMkcol: false });
    const c = client();
    const r = await c.upload('/Documentos_Clinicos/Pacientes/7/Historiales/alta.pdf', Buffer.from('%PDF-1.7 alta'));
    assert.equal(r.status, 'created');
    assert.equal(fs.readFileSync(nc.peer.diskPath('alice', r.path), 'utf8'), '%PDF-1.7 alta');
    assert.equal(nc.peer.stats.methods.MKCOL, 7, 'three 409s walking up, the top folder made, then three on the way down');
    assert.equal(nc.peer.stats.methods.PUT, 2, 'refused once (404), then stored');
    await c.upload('/Documentos_Clinicos/Pacientes/7/Historiales/evolucion.pdf', Buffer.from('%PDF-1.7 evolución'));
    await c.upload('/Documentos_Clinicos/Pacientes/8/Historiales/alta.pdf', Buffer.from('%PDF-1.7 otro'), { conflict: 'skip' });
    assert.equal(nc.peer.stats.methods.MKCOL, 9, 'a known folder costs nothing; a sibling patient needs only its own two folders');
    const big = patternBuffer(3 * MiB, 3);
    const b = await c.upload('/Documentos_Clinicos/Pacientes/10/Historiales/tac.bin', big, { conflict: 'rename' });
    assert.equal(fileSha256(nc.peer.diskPath('alice', b.path)), sha256(big));
    assert.equal(nc.peer.stats.methods.PUT, 6, 'small bodies: sent, refused, sent again (2 + 1 + 2); a large one waits for its folder (1)');
  });

  it('uploads 0-byte, 100 KB and 50 MB files in one PUT, verified by the SHA-256 Nextcloud returns', async function () {
    const c = client({ chunkThreshold: 64 * MiB });
    for (const [name, size] of [
      ['vacio.pdf', 0],
      ['informe.pdf', 100 * KiB],
      ['estudio.dcm', 50 * MiB],
    ] as const) {
      const data = patternBuffer(size, size + 3);
      const r = await c.upload(`/Documentos_Clinicos/Pacientes/1/Historiales/${name}`, data);
      assert.deepEqual([r.status, r.size, r.chunked, r.verifiedBy, r.sha256], ['created', size, false, 'sha256', sha256(data)]);
      assert.equal(fileSha256(nc.peer.diskPath('alice', r.path)), sha256(data), `${name} stored intact`);
      assert.ok(r.etag && r.fileId, 'ETag and file id come back');
    }
    assert.equal(nc.peer.stats.chunkPuts, 0);
  });

  it('streams a file above the threshold through chunked upload v2, one chunk at a time, leaving no upload folder', async function () {
    const c = client({ chunkSize: 8 * MiB });
    const size = 50 * MiB + 123;
    const r = await c.upload('/Documentos_Clinicos/Pacientes/2/Historiales/tac.bin', patternStream(size, 9));
    assert.deepEqual([r.status, r.size, r.chunked, r.chunks, r.verifiedBy], ['created', size, true, 7, 'sha256']);
    assert.equal(r.sha256, patternSha256(size, 9));
    assert.equal(fileSha256(nc.peer.diskPath('alice', r.path)), r.sha256);
    assert.deepEqual([nc.peer.stats.chunkPuts, nc.peer.stats.assemblies, nc.peer.stats.puts], [7, 1, 0]);
    assert.deepEqual(nc.peer.openUploads('alice'), []);
    assert.deepEqual(nc.peer.partFiles(), []);

    const data = patternBuffer(3 * MiB, 4);
    const b = await c.upload('/Documentos_Clinicos/Pacientes/2/Historiales/small-chunks.bin', data, {});
    assert.equal(b.chunked, false, 'a Buffer under the threshold goes in one PUT');
    const forced = client({ chunkSize: 1 * MiB, chunkThreshold: 1 * MiB });
    const cb = await forced.upload('/Documentos_Clinicos/Pacientes/2/Historiales/buffer-chunks.bin', data);
    assert.deepEqual([cb.chunked, cb.chunks, cb.sha256], [true, 3, sha256(data)]);
  });

  it('applies the conflict policies: overwrite, keep both, and skip only when the content is the same', async function () {
    const c = client();
    const path = '/Documentos_Clinicos/Pacientes/3/Facturas/FAC-1.pdf';
    assert.equal((await c.upload(path, Buffer.from('v1'))).status, 'created');
    const over = await c.upload(path, Buffer.from('v2'), { conflict: 'overwrite' });
    assert.equal(over.status, 'overwritten');
    assert.equal(fs.readFileSync(nc.peer.diskPath('alice', path), 'utf8'), 'v2');

    const kept = await c.upload(path, Buffer.from('v3'), { conflict: 'rename' });
    assert.deepEqual([kept.status, kept.path, kept.requestedPath], ['renamed', '/Documentos_Clinicos/Pacientes/3/Facturas/FAC-1 (2).pdf', path]);
    const kept3 = await c.upload(path, Buffer.from('v4'), { conflict: 'rename' });
    assert.equal(kept3.name, 'FAC-1 (3).pdf');
    assert.equal(fs.readFileSync(nc.peer.diskPath('alice', path), 'utf8'), 'v2', 'keep both never touches the original');

    const same = await c.upload(path, Buffer.from('v2'), { conflict: 'skip' });
    assert.deepEqual([same.status, same.verifiedBy], ['skipped', 'existing']);
    await rejects(c.upload(path, Buffer.from('v9'), { conflict: 'skip' }), 'NEXTCLOUD_CONFLICT', /different file is there already/);
    assert.equal(fs.readFileSync(nc.peer.diskPath('alice', path), 'utf8'), 'v2');

    // the same rules for chunked uploads, decided at the final MOVE
    const chunky = client({ chunkSize: 1 * MiB, chunkThreshold: 1 * MiB });
    const big = patternBuffer(2 * MiB + 5, 5);
    const bigPath = '/Documentos_Clinicos/Pacientes/3/Historiales/rm.bin';
    assert.equal((await chunky.upload(bigPath, patternStream(big.length, 5))).status, 'created');
    const skipped = await chunky.upload(bigPath, patternStream(big.length, 5), { conflict: 'skip' });
    assert.equal(skipped.status, 'skipped');
    const renamed = await chunky.upload(bigPath, patternStream(big.length, 6), { conflict: 'rename' });
    assert.equal(renamed.name, 'rm (2).bin');
    await rejects(chunky.upload(bigPath, patternStream(big.length, 7), { conflict: 'skip' }), 'NEXTCLOUD_CONFLICT');
    assert.deepEqual(nc.peer.openUploads('alice'), [], 'skipped and refused uploads are deleted from the server');
  });

  it('rejects traversal attempts before sending anything', async function () {
    const c = client();
    const before = nc.peer.stats.requests;
    for (const path of ['/Documentos_Clinicos/../../etc/passwd', '../x.pdf', '/a/./b.pdf', '/a/b\\..\\c.pdf', '/a/\u0000.pdf', '/a/\u2215etc.pdf', '/']) {
      await rejects(c.upload(path, Buffer.from('x')), path === '/' ? 'BAD_INPUT' : 'NEXTCLOUD_BAD_PATH');
    }
    await rejects(c.move('/a.pdf', '/../b.pdf'), 'NEXTCLOUD_BAD_PATH');
    await rejects(c.delete('/'), 'BAD_INPUT');
    await rejects(c.share('/x/../../y', { type: 'link' }), 'NEXTCLOUD_BAD_PATH');
    assert.equal(nc.peer.stats.requests, before, 'no request reached the server');
  });

  it('the server stopped mid-upload: a retryable error, no file left, and the retry stores it', async function () {
    const c = client({ chunkThreshold: 64 * MiB });
    const path = '/Documentos_Clinicos/Pacientes/4/Historiales/rx.bin';
    await c.mkdir('/Documentos_Clinicos/Pacientes/4/Historiales');
    nc.peer.faults.stopAfterBytes = nc.peer.stats.uploadBytes + 5 * MiB;
    const err = await rejects(
      c.upload(path, patternBuffer(20 * MiB, 2)),
      'NEXTCLOUD_UNREACHABLE',
      /upload of "\/Documentos_Clinicos\/Pacientes\/4\/Historiales\/rx.bin"/,
    );
    assert.equal(err.retryable, true);
    assert.equal(nc.peer.running, false);
    assert.equal(fs.existsSync(nc.peer.diskPath('alice', path)), false, 'no half file');
    await waitFor(() => nc.peer.partFiles().length === 0, 'the interrupted part file to be removed');

    await nc.peer.start();
    const retry = await c.upload(path, patternBuffer(20 * MiB, 2));
    assert.equal(retry.status, 'created');
    assert.equal(fileSha256(nc.peer.diskPath('alice', path)), retry.sha256);
  });

  it('the server stopped in the middle of a chunked upload: a retryable error and no file', async function () {
    const c = client({ chunkSize: 2 * MiB, chunkThreshold: 2 * MiB });
    const path = '/Documentos_Clinicos/Pacientes/4/Historiales/tac.bin';
    await c.mkdir('/Documentos_Clinicos/Pacientes/4/Historiales');
    nc.peer.faults.stopAfterBytes = nc.peer.stats.uploadBytes + 5 * MiB;
    const source = patternStream(12 * MiB, 3);
    const err = await rejects(
      c.upload(path, source),
      'NEXTCLOUD_UNREACHABLE',
      /chunk \d upload of "\/Documentos_Clinicos\/Pacientes\/4\/Historiales\/tac.bin"/,
    );
    assert.equal(err.retryable, true);
    assert.equal(fs.existsSync(nc.peer.diskPath('alice', path)), false, 'nothing assembled');
    assert.ok(source.destroyed, 'the source stream was released');
    await nc.peer.start();
    assert.deepEqual(await c.list('/Documentos_Clinicos/Pacientes/4/Historiales'), []);
  });

  it('a content mismatch (X-Hash-SHA256 differs) is an error, and the damaged copy is removed', async function () {
    const c = client({ chunkSize: 1 * MiB, chunkThreshold: 1 * MiB });
    nc.peer.faults.corruptNextUpload = true;
    const path = '/Documentos_Clinicos/Pacientes/5/Facturas/f.pdf';
    const err = await rejects(c.upload(path, Buffer.from('%PDF-1.7 factura')), 'NEXTCLOUD_VERIFY_FAILED', /SHA-256 .* differs/);
    assert.equal(err.retryable, true);
    assert.equal(fs.existsSync(nc.peer.diskPath('alice', path)), false);
    nc.peer.faults.corruptNextUpload = true;
    await rejects(c.upload(path, patternStream(3 * MiB, 1)), 'NEXTCLOUD_VERIFY_FAILED');
    assert.equal(fs.existsSync(nc.peer.diskPath('alice', path)), false);
  });

  it('without hash headers the upload is checked by size and ETag, and a short write fails', async function () {
    await nc.restart({ hashes: false, minChunkSize: 1 * MiB });
    const c = client({ chunkSize: 1 * MiB, chunkThreshold: 1 * MiB });
    const ok = await c.upload('/d/ok.pdf', Buffer.from('contenido'));
    assert.equal(ok.verifiedBy, 'size');
    const chunked = await c.upload('/d/ok.bin', patternStream(2 * MiB + 1, 2));
    assert.deepEqual([chunked.verifiedBy, chunked.chunked], ['size', true]);
    nc.peer.faults.truncateNextUpload = true;
    await rejects(c.upload('/d/short.pdf', Buffer.from('contenido')), 'NEXTCLOUD_VERIFY_FAILED', /stored 8 bytes, 9 were sent/);
    assert.equal(fs.existsSync(nc.peer.diskPath('alice', '/d/short.pdf')), false);
  });

  it('keeps the Nextcloud session: 20 operations cost one password check; an expired session costs one more', async function () {
    const c = client();
    for (let i = 0; i < 10; i++) await c.upload(`/s/f${i}.txt`, Buffer.from(`n${i}`));
    await c.list('/s');
    await c.download('/s/f1.txt');
    await c.share('/s/f2.txt', { type: 'link' });
    for (let i = 0; i < 7; i++) await c.stat(`/s/f${i}.txt`);
    assert.equal(nc.peer.stats.passwordChecks, 1);
    assert.equal(c.sessionsStarted, 1);
    nc.peer.expireSessions();
    await c.upload('/s/after.txt', Buffer.from('x'));
    await c.upload('/s/after2.txt', Buffer.from('y'));
    assert.equal(nc.peer.stats.passwordChecks, 2, 'the expired session fell back to the password once');
    assert.equal(c.sessionsStarted, 2);
  });

  it('sends a failed chunk again when the fault is transient, and aborts the upload when it is not', async function () {
    const retries: unknown[] = [];
    const c = client({ chunkSize: 1 * MiB, chunkThreshold: 1 * MiB, onRetry: (i) => retries.push(i) });
    nc.peer.faults.failChunk = { n: 2, status: 503, times: 1 };
    const r = await c.upload('/c/retry.bin', patternStream(3 * MiB, 8));
    assert.deepEqual([r.status, r.chunks], ['created', 3]);
    assert.deepEqual(retries, [{ operation: 'chunk 2 upload', path: '/c/retry.bin', attempt: 1, code: 'NEXTCLOUD_SERVER_ERROR' }]);
    assert.equal(fileSha256(nc.peer.diskPath('alice', '/c/retry.bin')), patternSha256(3 * MiB, 8));

    nc.peer.faults.failChunk = { n: 2, status: 507, times: 5 };
    const err = await rejects(c.upload('/c/full.bin', patternStream(3 * MiB, 8)), 'NEXTCLOUD_INSUFFICIENT_STORAGE', /quota/);
    assert.equal(err.retryable, false);
    assert.deepEqual(nc.peer.openUploads('alice'), [], 'the partial upload was deleted');
    assert.equal(fs.existsSync(nc.peer.diskPath('alice', '/c/full.bin')), false);
  });

  it('downloads, lists, moves, copies and deletes', async function () {
    const c = client();
    const data = patternBuffer(300 * KiB, 11);
    await c.upload('/Archivo/2025/a.pdf', data);
    await c.upload('/Archivo/2025/b.pdf', Buffer.from('b'));
    await c.mkdir('/Archivo/2025/sub');
    const d = await c.download('/Archivo/2025/a.pdf');
    assert.equal(sha256(d.data), sha256(data));
    assert.ok(d.etag);
    const s = await c.downloadStream('/Archivo/2025/a.pdf');
    const parts: Buffer[] = [];
    for await (const p of s.stream) parts.push(p as Buffer);
    assert.equal(sha256(Buffer.concat(parts)), sha256(data));

    const list = await c.list('/Archivo/2025');
    assert.deepEqual(
      list.map((e) => [e.name, e.type, e.size]),
      [
        ['sub', 'folder', 0],
        ['a.pdf', 'file', data.length],
        ['b.pdf', 'file', 1],
      ],
    );
    assert.ok(list[1].etag && list[1].modified);

    await c.move('/Archivo/2025/b.pdf', '/Archivo/2026/enero/b.pdf');
    await c.copy('/Archivo/2025/a.pdf', '/Archivo/2026/enero/a.pdf');
    await rejects(c.copy('/Archivo/2025/a.pdf', '/Archivo/2026/enero/a.pdf'), 'NEXTCLOUD_EXISTS', /allow overwriting/);
    await c.copy('/Archivo/2025/a.pdf', '/Archivo/2026/enero/a.pdf', { overwrite: true });
    assert.deepEqual(
      (await c.list('/Archivo/2026/enero')).map((e) => e.name),
      ['a.pdf', 'b.pdf'],
    );
    await c.delete('/Archivo/2025');
    assert.equal(await c.stat('/Archivo/2025'), null);
    await rejects(c.download('/Archivo/2025/a.pdf'), 'NEXTCLOUD_NOT_FOUND');
    await rejects(c.delete('/Archivo/nada'), 'NEXTCLOUD_NOT_FOUND');
  });

  it('lists a folder tree to a depth (one PROPFIND per folder) and a missing folder as empty when asked', async function () {
    const c = client();
    await c.upload('/Documentos_Clinicos/Pacientes/5/Facturas/INV_1.pdf', Buffer.from('%PDF f'));
    await c.upload('/Documentos_Clinicos/Pacientes/5/Recetas/R_2.pdf', Buffer.from('%PDF rr'));
    await c.upload('/Documentos_Clinicos/Pacientes/5/Recetas/2024/old.pdf', Buffer.from('%PDF old'));
    await c.upload('/Documentos_Clinicos/Pacientes/5/nota.txt', Buffer.from('n'));
    const before = nc.peer.stats.methods.PROPFIND ?? 0;
    const tree = await c.list('/Documentos_Clinicos/Pacientes/5', { depth: 2 });
    assert.deepEqual(
      tree.map((e) => [e.path.slice('/Documentos_Clinicos/Pacientes/5'.length), e.type]),
      [
        ['/Facturas', 'folder'],
        ['/Facturas/INV_1.pdf', 'file'],
        ['/Recetas', 'folder'],
        ['/Recetas/2024', 'folder'],
        ['/Recetas/R_2.pdf', 'file'],
        ['/nota.txt', 'file'],
      ],
      'each folder followed by its entries; depth 2 stops above Recetas/2024/old.pdf',
    );
    assert.equal((nc.peer.stats.methods.PROPFIND ?? 0) - before, 3, 'the folder and its two subfolders');
    assert.ok(tree[1].fileId && tree[1].modified && tree[1].size === 6);
    assert.equal((await c.list('/Documentos_Clinicos/Pacientes/5', { depth: 3 })).length, 7);
    assert.deepEqual(await c.list('/Documentos_Clinicos/Pacientes/404', { depth: 2, missing: 'empty' }), []);
    await rejects(c.list('/Documentos_Clinicos/Pacientes/404', { depth: 2 }), 'NEXTCLOUD_NOT_FOUND');
  });

  it('fails clearly on a wrong app password and on a server that is not there', async function () {
    const wrong = client({ appPassword: 'nope' });
    const auth = await rejects(wrong.upload('/x.txt', Buffer.from('x')), 'NEXTCLOUD_AUTH', /app password/);
    assert.equal(auth.retryable, false);
    await rejects(wrong.check(), 'NEXTCLOUD_AUTH');
    await rejects(wrong.list('/'), 'NEXTCLOUD_AUTH');
    const gone = client({ url: 'http://127.0.0.1:1', appPassword: 'x' });
    const down = await rejects(gone.upload('/x.txt', Buffer.from('x')), 'NEXTCLOUD_UNREACHABLE');
    assert.equal(down.retryable, true);
    await rejects(gone.list('/'), 'NEXTCLOUD_UNREACHABLE');
  });

  it('carries the correlation id in X-Correlation-Id', async function () {
    const c = client();
    await c.upload('/corr/a.txt', Buffer.from('a'), { correlationId: 'corr-upload-1' });
    await c.list('/corr', { correlationId: 'corr-list-1' });
    assert.ok(nc.peer.stats.correlationIds.has('corr-upload-1'));
    assert.ok(nc.peer.stats.correlationIds.has('corr-list-1'));
  });

  describe('shares (OCS)', function () {
    it('creates a public link with password, expiry and label; the link asks for the password', async function () {
      const c = client();
      await c.upload('/Documentos_Clinicos/Pacientes/6/Facturas/FAC-6.pdf', Buffer.from('%PDF factura 6'));
      const share = await c.share('/Documentos_Clinicos/Pacientes/6/Facturas/FAC-6.pdf', {
        type: 'link',
        password: 'Clave-Segura-2025',
        expireDate: '2099-12-31',
        label: 'Factura paciente 6',
      });
      assert.equal(share.type, 'link');
      assert.match(share.url ?? '', new RegExp(`^${nc.peer.url}/index.php/s/[A-Za-z0-9]{15}$`));
      assert.deepEqual([share.expiration, share.label, share.hasPassword], ['2099-12-31', 'Factura paciente 6', true]);
      assert.ok(share.id);

      const anonymous = await fetch(`${share.url}/download`);
      assert.equal(anonymous.status, 401);
      const withPassword = await fetch(`${share.url}/download`, {
        headers: { Authorization: `Basic ${Buffer.from('anonymous:Clave-Segura-2025').toString('base64')}` },
      });
      assert.equal(await withPassword.text(), '%PDF factura 6');

      const listed = await c.listShares('/Documentos_Clinicos/Pacientes/6/Facturas/FAC-6.pdf');
      assert.deepEqual(
        listed.map((s) => s.id),
        [share.id],
      );
      await c.deleteShare(share.id);
      assert.equal((await fetch(`${share.url}/download`)).status, 404);
      await rejects(c.deleteShare(share.id), 'NEXTCLOUD_NOT_FOUND', /Wrong share ID/);
    });

    it('shares with a user and a group and returns the internal link', async function () {
      const c = client();
      await c.mkdir('/Documentos_Clinicos/Pacientes/6/Recetas');
      const user = await c.share('/Documentos_Clinicos/Pacientes/6/Recetas', { type: 'user', shareWith: 'bob' });
      assert.equal(user.type, 'user');
      assert.equal(user.shareWith, 'bob');
      assert.match(user.url ?? '', new RegExp(`^${nc.peer.url}/index.php/f/\\d+$`));
      const group = await c.share('/Documentos_Clinicos/Pacientes/6/Recetas', { type: 'group', shareWith: 'medicos', expireDate: '2099-01-01' });
      assert.deepEqual([group.type, group.shareWith, group.expiration], ['group', 'medicos', '2099-01-01']);
    });

    it('reports what Nextcloud refuses, and refuses bad options before sending', async function () {
      const c = client();
      await c.upload('/sh/a.pdf', Buffer.from('a'));
      await rejects(c.share('/sh/missing.pdf', { type: 'link' }), 'NEXTCLOUD_NOT_FOUND', /Wrong path, file\/folder does not exist/);
      await rejects(c.share('/sh/a.pdf', { type: 'user', shareWith: 'nadie' }), 'NEXTCLOUD_NOT_FOUND', /valid account/);
      const before = nc.peer.stats.requests;
      await rejects(c.share('/sh/a.pdf', { type: 'link', expireDate: '2001-01-01' }), 'BAD_INPUT', /in the past/);
      await rejects(c.share('/sh/a.pdf', { type: 'link', expireDate: '31/12/2099' }), 'BAD_INPUT', /YYYY-MM-DD/);
      assert.equal(nc.peer.stats.requests, before);

      await nc.restart({ linkPasswordRequired: true, minPasswordLength: 10 });
      const strict = client();
      await strict.upload('/sh/a.pdf', Buffer.from('a'));
      const forbidden = await rejects(strict.share('/sh/a.pdf', { type: 'link' }), 'NEXTCLOUD_SHARE_FORBIDDEN', /Passwords are enforced/);
      assert.equal(forbidden.retryable, false);
      await rejects(strict.share('/sh/a.pdf', { type: 'link', password: 'corta' }), 'NEXTCLOUD_SHARE_REJECTED', /at least 10 characters/);
    });
  });
});
