/**
 * What a real Nextcloud 32 does to a client, and how the pack's client copes (issue 9): concurrent uploads to one
 * name, rate limits and brute-force protection, a refused password, a cold start, a clean-up that fails, a cut
 * connection, a wrong URL. Against the Nextcloud peer, which answers like Nextcloud 32 (test/conformance/).
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { UploadResult } from '../../nodes/clients/nextcloud/client';
import { MiB, patternBuffer, patternStream } from '../../peers/nextcloud/data';
import { waitFor } from '../lib/harness';
import { rejection, sha256, usePeerPerTest } from './fixture';

describe('nextcloud client on a server that behaves like Nextcloud 32', function () {
  this.timeout(60000);
  const nc = usePeerPerTest();
  const client = nc.client;

  const files = (folder: string) => fs.readdirSync(nc.peer.diskPath('alice', folder)).sort();
  const read = (p: string) => fs.readFileSync(nc.peer.diskPath('alice', p), 'utf8');

  describe('concurrent uploads to one name', function () {
    it('under rename, four at once keep four documents (If-None-Match alone lets them replace each other)', async function () {
      nc.peer.faults.putDelayMs = 40; // every PUT's body is in before any is put in place: all pass If-None-Match
      const c = client();
      const folder = '/Documentos_Clinicos/Pacientes/5/Facturas';
      await c.mkdir(folder);
      const results = await Promise.all([1, 2, 3, 4].map((i) => c.upload(`${folder}/FAC-5.pdf`, Buffer.from(`factura versión ${i}`), { conflict: 'rename' })));
      assert.deepEqual(files(folder), ['FAC-5 (2).pdf', 'FAC-5 (3).pdf', 'FAC-5 (4).pdf', 'FAC-5.pdf'], 'no temporary file left either');
      assert.deepEqual(results.map((r) => r.status).sort(), ['created', 'renamed', 'renamed', 'renamed']);
      for (const [i, r] of results.entries()) assert.equal(read(r.path), `factura versión ${i + 1}`, `${r.path} holds what its upload sent`);
    });

    it('under skip, four different contents at once: one stored, three refused, nothing replaced', async function () {
      nc.peer.faults.putDelayMs = 40;
      const c = client();
      const target = '/Documentos_Clinicos/Pacientes/5/Recetas/R-1.pdf';
      const outcomes = await Promise.allSettled([1, 2, 3, 4].map((i) => c.upload(target, Buffer.from(`receta ${i}`), { conflict: 'skip' })));
      const stored = outcomes.filter((o): o is PromiseFulfilledResult<UploadResult> => o.status === 'fulfilled');
      assert.equal(stored.length, 1);
      assert.equal(stored[0].value.status, 'created');
      for (const o of outcomes.filter((x) => x.status === 'rejected')) assert.equal((o as PromiseRejectedResult).reason.code, 'NEXTCLOUD_CONFLICT');
      assert.equal(read(target), `receta ${outcomes.indexOf(stored[0]) + 1}`);
      assert.deepEqual(files('/Documentos_Clinicos/Pacientes/5/Recetas'), ['R-1.pdf']);
    });

    it('two clients (two Node-RED instances) at once: Overwrite: F on the MOVE keeps both documents', async function () {
      nc.peer.faults.putDelayMs = 40;
      const [a, b] = [client(), client()];
      const results = await Promise.all([a, b, a, b].map((c, i) => c.upload('/x/informe.pdf', Buffer.from(`informe ${i}`), { conflict: 'rename' })));
      assert.equal(new Set(results.map((r) => r.path)).size, 4);
      for (const [i, r] of results.entries()) assert.equal(read(r.path), `informe ${i}`);
    });

    it('a lock that lasts a moment (423, as uploads at once into a new folder meet) is waited out', async function () {
      const retries: unknown[] = [];
      const c = client({ onRetry: (i) => retries.push(i) });
      nc.peer.faults.failRequest = { method: 'PUT', status: 423, times: 2 };
      const r = await c.upload('/nueva/a.pdf', Buffer.from('a'), { conflict: 'skip' });
      assert.equal(r.status, 'created');
      assert.deepEqual(
        retries.map((x) => (x as { code: string }).code),
        ['NEXTCLOUD_LOCKED', 'NEXTCLOUD_LOCKED'],
      );
    });

    it('a file that stays locked (423) is a retryable error and the temporary upload is removed', async function () {
      const c = client();
      await c.upload('/x/bloqueado.pdf', Buffer.from('uno'));
      nc.peer.faults.failRequest = { method: 'MOVE', status: 423, times: 4 };
      const err = await rejection(c.upload('/x/bloqueado.pdf', Buffer.from('dos'), { conflict: 'rename' }));
      assert.deepEqual([err.code, err.system, err.retryable], ['NEXTCLOUD_LOCKED', 'nextcloud', true]);
      assert.deepEqual(files('/x'), ['bloqueado.pdf']);
    });
  });

  describe('rate limits', function () {
    it('a 429 of WebDAV is retryable and carries Retry-After as retryAfterMs', async function () {
      const c = client();
      nc.peer.faults.failRequest = { method: 'PUT', status: 429, headers: { 'Retry-After': '7' } };
      const err = await rejection(c.upload('/x/a.pdf', Buffer.from('a')));
      assert.deepEqual([err.code, err.retryable, err.details?.retryAfterMs], ['NEXTCLOUD_RATE_LIMITED', true, 7000]);
      assert.match(err.message, /HTTP 429.*in 7 s/);
    });

    it('a 429 of the share API is the same retryable error, and the client then waits instead of asking again', async function () {
      await nc.restart({ shareRateLimit: { limit: 2, periodMs: 600000 } });
      const c = client({ shareLimit: 0 }); // the client's own count off: the server's limit is met
      await c.upload('/x/a.pdf', Buffer.from('a'));
      await c.share('/x/a.pdf', { type: 'link' });
      await c.share('/x/a.pdf', { type: 'link', label: 'dos' });
      const err = await rejection(c.share('/x/a.pdf', { type: 'link', label: 'tres' }));
      assert.deepEqual([err.code, err.retryable], ['NEXTCLOUD_RATE_LIMITED', true]);
      assert.ok(Number(err.details?.retryAfterMs) > 0);
      const requests = nc.peer.stats.requests;
      const again = await rejection(c.share('/x/a.pdf', { type: 'link', label: 'cuatro' }));
      assert.equal(again.code, 'NEXTCLOUD_RATE_LIMITED');
      assert.equal(nc.peer.stats.requests, requests, 'not sent: the client knows it is over the limit');
    });

    it("the client keeps under Nextcloud's 20 shares per 10 minutes itself, and reuses an equal share", async function () {
      const c = client({ shareLimit: 3 });
      await c.upload('/x/a.pdf', Buffer.from('a'));
      const first = await c.share('/x/a.pdf', { type: 'link', label: 'Odoo' }, { reuse: true });
      const again = await c.share('/x/a.pdf', { type: 'link', label: 'Odoo' }, { reuse: true });
      assert.deepEqual([first.reused, again.reused, again.id, again.url], [false, true, first.id, first.url]);
      await c.share('/x/a.pdf', { type: 'link', label: 'otro' }, { reuse: true });
      await c.share('/x/a.pdf', { type: 'link', password: 'Clave-Segura-2025' }, { reuse: true });
      const before = nc.peer.stats.requests;
      const over = await rejection(c.share('/x/a.pdf', { type: 'link', label: 'cuarto' }));
      assert.deepEqual([over.code, over.retryable, nc.peer.stats.requests], ['NEXTCLOUD_RATE_LIMITED', true, before]);
      const wait = Number(over.details?.retryAfterMs);
      assert.ok(wait > 590000 && wait <= 600000, `${wait} ms: until the oldest of the three leaves the 10 minutes`);
      assert.equal(nc.peer.stats.sharesCreated, 3);
    });
  });

  describe('a refused login', function () {
    it('a wrong password is tried once: then nothing is sent until an operator retries', async function () {
      const c = client({ appPassword: 'wrong' });
      const attempts = [c.upload('/x/a.pdf', Buffer.from('a')), c.list('/'), c.share('/x', { type: 'link' }), c.mkdir('/y')];
      const errors = await Promise.all(attempts.map(rejection));
      errors.push(await rejection(c.upload('/x/b.pdf', Buffer.from('b'))), await rejection(c.check()));
      for (const err of errors) assert.deepEqual([err.code, err.retryable], ['NEXTCLOUD_AUTH', false], err.message);
      assert.equal(nc.peer.stats.failedLogins, 1, 'one wrong password reached Nextcloud, not six');
      assert.match(errors[0].message, /refused the login of user "alice".*app password.*Devices & sessions/);
      assert.doesNotMatch(errors[0].message, /AppAPIAuth|federated calendar/, "not the server's six reasons");
      assert.ok(c.loginRefused);
      c.retryLogin();
      await rejection(c.check());
      assert.equal(nc.peer.stats.failedLogins, 2, "the operator's retry is one more attempt");
    });

    it('brute-force protection (429 to every login) is told apart from a rate limit, and stops the client', async function () {
      for (let i = 0; i < 11; i++) nc.peer.bruteForce.failed('127.0.0.1');
      const c = client();
      const err = await rejection(c.upload('/x/a.pdf', Buffer.from('a')));
      assert.deepEqual([err.code, err.retryable], ['NEXTCLOUD_LOCKED_OUT', false]);
      assert.match(err.message, /brute-force protection.*occ security:bruteforce:reset/);
      const requests = nc.peer.stats.requests;
      assert.equal((await rejection(c.list('/'))).code, 'NEXTCLOUD_LOCKED_OUT');
      assert.equal(nc.peer.stats.requests, requests);
      nc.peer.resetLockout();
      c.retryLogin();
      await c.check();
    });

    it('a cold start with four uploads at once logs in once (one session, one password check)', async function () {
      await nc.restart({ passwordCheckMs: 30 });
      const c = client();
      await Promise.all([1, 2, 3, 4].map((i) => c.upload(`/Documentos_Clinicos/Pacientes/${i}/Facturas/f.pdf`, Buffer.from(`f${i}`), { conflict: 'skip' })));
      assert.deepEqual([nc.peer.stats.sessionsCreated, nc.peer.stats.passwordChecks, c.sessionsStarted], [1, 1, 1]);
    });
  });

  describe('without session cookies', function () {
    it('behind a proxy that drops cookies, requests still go out at once after the first login', async function () {
      await nc.restart({ sessionCookies: false });
      nc.peer.faults.putDelayMs = 30;
      const c = nc.client();
      await c.check();
      await Promise.all([1, 2, 3, 4].map((i) => c.upload(`/x/f${i}.pdf`, Buffer.from(`f${i}`))));
      assert.ok(nc.peer.stats.maxInFlight >= 3, `uploads went out together (at most ${nc.peer.stats.maxInFlight} at once)`);
    });
  });

  describe('faults', function () {
    it('a clean-up DELETE that fails is tried again later, so no chunks stay on the server', async function () {
      const gaveUp: unknown[] = [];
      const c = client({ chunkSize: 1 * MiB, chunkThreshold: 1 * MiB, cleanupDelaysMs: [50, 50], onCleanupFailed: (i) => gaveUp.push(i) });
      nc.peer.faults.failChunk = { n: 2, status: 507, times: 5 };
      nc.peer.faults.failRequest = { method: 'DELETE', path: '/uploads/', status: 503, times: 1 };
      const err = await rejection(c.upload('/x/grande.bin', patternStream(3 * MiB, 1)));
      assert.equal(err.code, 'NEXTCLOUD_INSUFFICIENT_STORAGE');
      assert.equal(nc.peer.openUploads('alice').length, 1, 'the first DELETE failed');
      assert.equal(c.pendingCleanups, 1);
      await waitFor(() => nc.peer.openUploads('alice').length === 0 && c.pendingCleanups === 0, 'the clean-up to be tried again', 5000);
      assert.deepEqual(gaveUp, []);
    });

    it('a connection cut while "skip" compares with the stored file is a typed, retryable error', async function () {
      const c = client();
      await c.upload('/x/tac.bin', patternBuffer(2 * MiB, 1));
      nc.peer.faults.cutNextDownload = { afterBytes: 64 * 1024 };
      const err = await rejection(c.upload('/x/tac.bin', patternBuffer(2 * MiB, 2), { conflict: 'skip' }));
      assert.deepEqual([err.code, err.system, err.retryable], ['NEXTCLOUD_UNREACHABLE', 'nextcloud', true], err.message);
      assert.match(err.message, /"\/x\/tac\.bin"/);
      nc.peer.faults.cutNextDownload = { afterBytes: 1000 };
      const d = await c.downloadStream('/x/tac.bin');
      const streamErr = await rejection(
        (async () => {
          for await (const piece of d.stream) void piece;
        })(),
      );
      assert.deepEqual([streamErr.code, streamErr.retryable], ['NEXTCLOUD_UNREACHABLE', true]);
    });

    it('a URL with a wrong sub-path says so (not "a file or folder is in the way")', async function () {
      const c = client({ url: `${nc.peer.url}/nextcloud` });
      const err = await rejection(c.check());
      assert.deepEqual([err.code, err.retryable], ['NEXTCLOUD_NOT_CONFIGURED', false]);
      assert.match(err.message, new RegExp(`${nc.peer.url}/nextcloud answered HTTP 405 with a web page, not Nextcloud's WebDAV.*server root`));
      assert.equal((await rejection(c.upload('/x/a.pdf', Buffer.from('a')))).code, 'NEXTCLOUD_NOT_CONFIGURED');
    });
  });

  describe('uploads', function () {
    it('a stream of known length goes in one PUT, hashed on the way (no chunks, nothing buffered)', async function () {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nc-stream-'));
      try {
        const file = path.join(dir, 'tac.bin');
        const data = patternBuffer(12 * MiB, 4);
        fs.writeFileSync(file, data);
        const c = client({ chunkSize: 5 * MiB });
        const r = await c.upload('/x/tac.bin', fs.createReadStream(file), { conflict: 'rename' });
        assert.deepEqual([r.status, r.chunked, r.verifiedBy, r.sha256], ['created', false, 'sha256', sha256(data)]);
        assert.deepEqual([nc.peer.stats.chunkPuts, nc.peer.stats.puts], [0, 1]);
        const broken = fs.createReadStream(file);
        broken.once('data', () => broken.destroy(new Error('disk gone')));
        const err = await rejection(c.upload('/x/roto.bin', broken, { size: data.length }));
        assert.deepEqual([err.code, err.retryable], ['NEXTCLOUD_SOURCE_FAILED', false]);
        assert.deepEqual(files('/x'), ['tac.bin']);
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });

    it('gives the internal link of an upload (no share needed) and of any path', async function () {
      const c = client();
      const r = await c.upload('/x/a.pdf', Buffer.from('a'));
      const ino = fs.statSync(nc.peer.diskPath('alice', '/x/a.pdf')).ino;
      assert.equal(r.internalUrl, `${nc.peer.url}/index.php/f/${ino}`);
      assert.deepEqual(await c.internalLink('/x/a.pdf'), { path: '/x/a.pdf', fileId: String(ino), url: r.internalUrl });
      assert.equal((await rejection(c.internalLink('/x/nada.pdf'))).code, 'NEXTCLOUD_NOT_FOUND');
    });
  });
});
