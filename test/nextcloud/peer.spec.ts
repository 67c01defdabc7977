/**
 * The test peer itself follows Nextcloud's behaviour (so the client tests mean something): OCS envelopes and status
 * codes, the OCS-APIRequest guard, chunk assembly rules, 404/409/412 on files, sessions, brute-force protection and
 * the share rate limit. (test/conformance/ holds it to a recording of a real Nextcloud 32, call by call.)
 */
import { strict as assert } from 'node:assert';
import { NextcloudPeer } from '../../peers/nextcloud/peer';

describe('nextcloud test peer (documented Nextcloud behaviour)', function () {
  let peer: NextcloudPeer;
  const auth = { Authorization: `Basic ${Buffer.from('alice:alice-app-password').toString('base64')}` };
  const dav = (p: string) => `${peer.url}/remote.php/dav/files/alice${p}`;
  const up = (p: string) => `${peer.url}/remote.php/dav/uploads/alice${p}`;

  before(async function () {
    peer = await new NextcloudPeer({ minChunkSize: 4 }).start();
  });

  after(async function () {
    await peer.close();
  });

  it('OCS: refuses calls without OCS-APIRequest, answers XML by default and JSON on request, v1 and v2 codes', async function () {
    await fetch(dav('/doc.txt'), { method: 'PUT', headers: auth, body: 'doc' });
    const form = { ...auth, 'Content-Type': 'application/x-www-form-urlencoded' };
    const shares = (v: number, q = '') => `${peer.url}/ocs/v${v}.php/apps/files_sharing/api/v1/shares${q}`;

    const csrf = await fetch(shares(2), { method: 'POST', headers: form, body: 'path=/doc.txt&shareType=3' });
    assert.equal(csrf.status, 412);
    assert.deepEqual(await csrf.json(), { message: 'CSRF check failed' });

    const xml = await fetch(shares(2), { method: 'POST', headers: { ...form, 'OCS-APIRequest': 'true' }, body: 'path=/doc.txt&shareType=3' });
    assert.equal(xml.status, 200);
    assert.match(xml.headers.get('content-type') ?? '', /xml/);
    const xmlText = await xml.text();
    assert.match(xmlText, /<status>ok<\/status>\s*<statuscode>200<\/statuscode>/);
    assert.match(xmlText, /<url>http:\/\/127\.0\.0\.1:\d+\/index\.php\/s\/\w{15}<\/url>/);

    const json = await fetch(shares(2, '?format=json'), {
      method: 'POST',
      headers: { ...form, 'OCS-APIRequest': 'true' },
      body: 'path=/doc.txt&shareType=3&expireDate=2099-01-31',
    });
    const body = (await json.json()) as { ocs: { meta: { statuscode: number }; data: { expiration: string; share_type: number } } };
    assert.deepEqual([body.ocs.meta.statuscode, body.ocs.data.share_type, body.ocs.data.expiration], [200, 3, '2099-01-31 00:00:00']);

    const v2missing = await fetch(shares(2, '?format=json'), {
      method: 'POST',
      headers: { ...form, 'OCS-APIRequest': 'true' },
      body: 'path=/nope.txt&shareType=3',
    });
    assert.equal(v2missing.status, 404);
    const v1missing = await fetch(shares(1, '?format=json'), {
      method: 'POST',
      headers: { ...form, 'OCS-APIRequest': 'true' },
      body: 'path=/nope.txt&shareType=3',
    });
    assert.equal(v1missing.status, 200, 'OCS v1 answers HTTP 200 and puts the failure in the envelope');
    const v1body = (await v1missing.json()) as { ocs: { meta: { status: string; statuscode: number; message: string } } };
    assert.deepEqual([v1body.ocs.meta.status, v1body.ocs.meta.statuscode, v1body.ocs.meta.message], ['failure', 404, 'Wrong path, file/folder does not exist']);
    const v1ok = await fetch(shares(1, '?format=json'), { headers: { ...auth, 'OCS-APIRequest': 'true' } });
    assert.equal(((await v1ok.json()) as { ocs: { meta: { statuscode: number } } }).ocs.meta.statuscode, 100);
  });

  it('files: PUT into a missing folder 404 (Auto-Mkcol makes it), MKCOL 409, 405 for an existing folder, 412 for If-None-Match *', async function () {
    assert.equal((await fetch(dav('/a/b/'), { method: 'MKCOL', headers: auth })).status, 409);
    assert.equal((await fetch(dav('/a/b.txt'), { method: 'PUT', headers: auth, body: 'x' })).status, 404);
    assert.equal(
      (await fetch(dav('/a/b.txt'), { method: 'PUT', headers: { ...auth, 'X-NC-WebDAV-AutoMkcol': '1' }, body: 'x' })).status,
      404,
      'the misspelled header does nothing',
    );
    assert.equal((await fetch(dav('/m/n/o.txt'), { method: 'PUT', headers: { ...auth, 'X-NC-WebDAV-Auto-Mkcol': '1' }, body: 'x' })).status, 201);
    assert.equal((await fetch(dav('/m/n/o.txt'), { method: 'DELETE', headers: auth })).status, 204);
    assert.equal((await fetch(dav('/a/'), { method: 'MKCOL', headers: auth })).status, 201);
    assert.equal((await fetch(dav('/a/'), { method: 'MKCOL', headers: auth })).status, 405);
    const put = await fetch(dav('/a/b.txt'), { method: 'PUT', headers: { ...auth, 'X-Hash': 'sha256' }, body: 'hola' });
    assert.equal(put.status, 201);
    assert.equal(put.headers.get('x-hash-sha256'), 'b221d9dbb083a7f33428d7c2a3c3198ae925614d70210e28716ccaa7cd4ddb79');
    assert.ok(put.headers.get('oc-etag') && put.headers.get('oc-fileid'));
    assert.equal((await fetch(dav('/a/b.txt'), { method: 'PUT', headers: auth, body: 'otra' })).status, 204);
    assert.equal((await fetch(dav('/a/b.txt'), { method: 'PUT', headers: { ...auth, 'If-None-Match': '*' }, body: 'x' })).status, 412);
    assert.equal((await fetch(`${peer.url}/remote.php/dav/files/bob/x.txt`, { method: 'PUT', headers: auth, body: 'x' })).status, 403);
  });

  it('brute-force protection: after more than 10 wrong passwords from one address every login from it is 429, until reset', async function () {
    const wrong = { Authorization: `Basic ${Buffer.from('alice:wrong').toString('base64')}` };
    const statuses: number[] = [];
    for (let i = 0; i < 13; i++) statuses.push((await fetch(dav('/'), { method: 'PROPFIND', headers: { ...wrong, Depth: '0' } })).status);
    assert.deepEqual(statuses, [...Array(11).fill(401), 429, 429], 'as Nextcloud 32: the 12th attempt is refused');
    const right = await fetch(dav('/'), { method: 'PROPFIND', headers: { ...auth, Depth: '0' } });
    assert.equal(right.status, 429, 'the right password too');
    assert.match(await right.text(), /TooManyRequests/);
    peer.resetLockout();
    assert.equal((await fetch(dav('/'), { method: 'PROPFIND', headers: { ...auth, Depth: '0' } })).status, 207);
  });

  it('share rate limit: 20 creations per user per 10 minutes, then 429 with an empty body; listing still works', async function () {
    peer.resetRateLimits();
    await fetch(dav('/limited.txt'), { method: 'PUT', headers: auth, body: 'x' });
    const create = () =>
      fetch(`${peer.url}/ocs/v2.php/apps/files_sharing/api/v1/shares?format=json`, {
        method: 'POST',
        headers: { ...auth, 'OCS-APIRequest': 'true', 'Content-Type': 'application/x-www-form-urlencoded' },
        body: 'path=/limited.txt&shareType=3',
      });
    const statuses: number[] = [];
    for (let i = 0; i < 21; i++) statuses.push((await create()).status);
    assert.deepEqual(statuses, [...Array(20).fill(200), 429]);
    const limited = await create();
    assert.deepEqual([limited.status, await limited.text(), limited.headers.get('retry-after')], [429, '', null]);
    const list = await fetch(`${peer.url}/ocs/v2.php/apps/files_sharing/api/v1/shares?format=json&path=/limited.txt`, {
      headers: { ...auth, 'OCS-APIRequest': 'true' },
    });
    assert.equal(list.status, 200);
    peer.resetRateLimits();
  });

  it('chunked upload v2: chunks assembled in numeric order on MOVE of .file, sizes checked, DELETE aborts', async function () {
    const dest = dav('/big.txt');
    const h = { ...auth, Destination: dest };
    assert.equal((await fetch(up('/u1'), { method: 'MKCOL', headers: h })).status, 201);
    assert.equal((await fetch(up('/u1'), { method: 'MKCOL', headers: h })).status, 405);
    assert.equal((await fetch(up('/u1/10'), { method: 'PUT', headers: { ...h, 'OC-Total-Length': '14' }, body: 'TAIL' })).status, 201);
    assert.equal((await fetch(up('/u1/2'), { method: 'PUT', headers: { ...h, 'OC-Total-Length': '14' }, body: 'MIDDLE' })).status, 201);
    assert.equal((await fetch(up('/u1/00001'), { method: 'PUT', headers: { ...h, 'OC-Total-Length': '14' }, body: 'HEAD' })).status, 201);
    assert.equal((await fetch(up('/u1/0'), { method: 'PUT', headers: h, body: 'x' })).status, 400, 'chunk names are 1…10000');
    assert.equal((await fetch(up('/u1/10001'), { method: 'PUT', headers: h, body: 'x' })).status, 400);
    assert.equal(
      (await fetch(up('/u1/3'), { method: 'PUT', headers: { ...auth, Destination: dav('/other.txt') }, body: 'x' })).status,
      400,
      'same Destination on every request',
    );
    const wrongTotal = await fetch(up('/u1/.file'), { method: 'MOVE', headers: { ...h, 'OC-Total-Length': '99' } });
    assert.equal(wrongTotal.status, 400);
    assert.match(await wrongTotal.text(), /do not sum up to 99 but to 14 bytes/);
    const moved = await fetch(up('/u1/.file'), { method: 'MOVE', headers: { ...h, 'OC-Total-Length': '14', 'X-Hash': 'md5' } });
    assert.equal(moved.status, 201);
    assert.ok(moved.headers.get('x-hash-md5'));
    assert.equal(await (await fetch(dest, { headers: auth })).text(), 'HEADMIDDLETAIL');
    assert.deepEqual(peer.openUploads('alice'), [], 'the upload folder is gone after assembly');

    assert.equal((await fetch(up('/u2'), { method: 'MKCOL', headers: h })).status, 201);
    assert.equal((await fetch(up('/u2/1'), { method: 'PUT', headers: h, body: 'again' })).status, 201);
    assert.equal((await fetch(up('/u2/.file'), { method: 'MOVE', headers: { ...h, Overwrite: 'F' } })).status, 412, 'Overwrite: F keeps the existing file');
    assert.equal((await fetch(up('/u2'), { method: 'DELETE', headers: auth })).status, 204);
    assert.equal((await fetch(up('/u2/.file'), { method: 'MOVE', headers: h })).status, 404);
    assert.equal(await (await fetch(dest, { headers: auth })).text(), 'HEADMIDDLETAIL');
  });

  it('sessions: a cookie on the first authenticated answer replaces the password until it expires', async function () {
    const checks = peer.stats.passwordChecks;
    const first = await fetch(dav('/'), { method: 'PROPFIND', headers: { ...auth, Depth: '0' } });
    assert.equal(first.status, 207);
    const cookies = first.headers
      .getSetCookie()
      .map((c) => c.split(';')[0])
      .join('; ');
    assert.match(cookies, /(^|; )ocpeer000001=\w+/);
    const again = await fetch(dav('/'), { method: 'PROPFIND', headers: { Cookie: cookies, Depth: '0' } });
    assert.equal(again.status, 207);
    assert.equal(peer.stats.passwordChecks, checks + 1);
    peer.expireSessions();
    assert.equal((await fetch(dav('/'), { method: 'PROPFIND', headers: { Cookie: cookies, Depth: '0' } })).status, 401);
  });
});
