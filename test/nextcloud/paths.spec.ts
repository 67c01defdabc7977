import { strict as assert } from 'node:assert';
import { patientDocumentPath, patientFolder, resolveWithin, safePath, safePatientId, safeSegment, numberedName } from '../../nodes/clients/nextcloud/paths';
import { CookieJar } from '../../nodes/clients/nextcloud/session';
import { serverRoot } from '../../nodes/clients/nextcloud/client';
import { parseOcs, validateShareOptions } from '../../nodes/clients/nextcloud/ocs';
import { parseXmlTree, xmlValue } from '../../nodes/clients/nextcloud/xml';

const badPath = (fn: () => unknown, re?: RegExp) =>
  assert.throws(fn, (err: { code?: string; message: string; retryable?: boolean }) => {
    assert.equal(err.code, 'NEXTCLOUD_BAD_PATH');
    assert.equal(err.retryable, false);
    if (re) assert.match(err.message, re);
    return true;
  });

describe('nextcloud safe paths (no server)', function () {
  it('builds the clinic layout for each document kind, in English or Spanish', function () {
    assert.equal(patientDocumentPath(42, 'invoice', 'FAC-2025-001.pdf'), '/Documentos_Clinicos/Pacientes/42/Facturas/FAC-2025-001.pdf');
    assert.equal(patientDocumentPath('P-0042', 'receta', 'r.pdf'), '/Documentos_Clinicos/Pacientes/P-0042/Recetas/r.pdf');
    assert.equal(patientDocumentPath('7', 'Historiales', 'h.pdf'), '/Documentos_Clinicos/Pacientes/7/Historiales/h.pdf');
    assert.equal(patientFolder(7), '/Documentos_Clinicos/Pacientes/7');
    assert.equal(patientFolder(7, 'record'), '/Documentos_Clinicos/Pacientes/7/Historiales');
    assert.throws(() => patientDocumentPath(7, 'radiografia', 'x.pdf'), /invoice \(Facturas\), prescription \(Recetas\) or record/);
  });

  it('rejects traversal attempts in patient ids and file names', function () {
    for (const id of ['..', '../8', '8/../9', '8/9', '.hidden', '', ' ', '8\u0000', '８/９', '%2e%2e', 'a'.repeat(65), -1, 1.5, null, {}]) {
      badPath(() => patientDocumentPath(id, 'invoice', 'f.pdf'));
    }
    for (const name of [
      '..',
      '.',
      '../f.pdf',
      '../../etc/passwd',
      'a/b.pdf',
      'a\\b.pdf',
      '..\\..\\x',
      'f\u0000.pdf',
      'f\n.pdf',
      'f\u202e.fdp',
      'zero\u200bwidth.pdf',
      'a\u2215b.pdf',
      'a\uff0fb.pdf',
      '．．',
      '\ud800.pdf',
      '',
      '   ',
      'x.part',
      '.htaccess',
      'x'.repeat(251),
    ]) {
      badPath(() => patientDocumentPath(42, 'invoice', name));
    }
  });

  it('normalises Unicode so one name has one spelling (as Nextcloud stores it), and changes nothing else', function () {
    const decomposed = 'Informe Mu\u0301n\u0303oz.pdf'; // Múñoz with combining marks
    assert.equal(safeSegment(decomposed), 'Informe M\u00fa\u00f1oz.pdf');
    assert.equal(safeSegment('Informe final.pdf'), 'Informe final.pdf');
    badPath(() => safeSegment(' Informe.pdf'), /starts or ends with a space/);
    badPath(() => safeSegment('Informe.pdf '), /starts or ends with a space/);
    badPath(() => safeSegment('\ufeffInforme.pdf'), /byte-order mark/);
    badPath(() => safeSegment('Informe\u00a0final.pdf'), /U\+00A0, a space that is not a plain space/);
    badPath(() => safeSegment('Informe\u3000final.pdf'), /U\+3000/);
    assert.equal(safePatientId(42), '42');
    assert.equal(safePatientId('P-0042'), 'P-0042');
    badPath(() => safePatientId('４２'), /did you mean "42"/);
    badPath(() => safePatientId(' 42'), /did you mean "42"/);
    for (const id of ['Ana María', '.x', '42\u00a0', '4/2']) badPath(() => safePatientId(id));
  });

  it('splits user paths into checked segments and keeps them inside a base folder', function () {
    assert.equal(safePath('/a//b/c.pdf/'), '/a/b/c.pdf');
    assert.equal(safePath(''), '/');
    assert.equal(resolveWithin('/Documentos_Clinicos', 'Pacientes/1/f.pdf'), '/Documentos_Clinicos/Pacientes/1/f.pdf');
    badPath(() => safePath('/a/../../b'), /relative path step/);
    badPath(() => safePath('/a/b\\c'), /backslash/);
    badPath(() => resolveWithin('/Documentos_Clinicos', '../x'));
  });

  it('numbers a kept-both copy the way Nextcloud clients do', function () {
    assert.equal(numberedName('informe.pdf', 2), 'informe (2).pdf');
    assert.equal(numberedName('.bashrc', 3), '.bashrc (3)');
    assert.equal(numberedName('archivo', 2), 'archivo (2)');
  });
});

describe('nextcloud client pieces (no server)', function () {
  it('keeps only the server root of a pasted URL and refuses credentials in it', function () {
    assert.equal(serverRoot('https://cloud.example.org/nextcloud/remote.php/dav/files/alice/').toString(), 'https://cloud.example.org/nextcloud');
    assert.equal(serverRoot('http://localhost:8082/').toString(), 'http://localhost:8082/');
    assert.throws(
      () => serverRoot('https://u:p@cloud.example.org'),
      (e: { code: string }) => e.code === 'NEXTCLOUD_NOT_CONFIGURED',
    );
    assert.throws(
      () => serverRoot('ftp://x'),
      (e: { code: string }) => e.code === 'NEXTCLOUD_NOT_CONFIGURED',
    );
  });

  it('cookie jar: stores, sends by path, expires and deletes', function () {
    let now = 1_000_000;
    const jar = new CookieJar('cloud.example.org', () => now);
    const url = new URL('https://cloud.example.org/remote.php/dav/files/alice/x');
    jar.store(['ocabc=s1; path=/; HttpOnly; SameSite=Lax', 'short=1; Max-Age=10; path=/', 'sub=2; path=/remote.php/dav', 'other=3; Domain=evil.example'], url);
    assert.equal(jar.header(url), 'ocabc=s1; short=1; sub=2');
    assert.equal(jar.header(new URL('https://cloud.example.org/ocs/v2.php/x')), 'ocabc=s1; short=1');
    assert.equal(jar.header(new URL('https://elsewhere.example.org/')), undefined);
    now += 11_000;
    assert.equal(jar.header(url), 'ocabc=s1; sub=2');
    jar.store('ocabc=deleted; expires=Thu, 01 Jan 1970 00:00:00 GMT; path=/', url);
    assert.equal(jar.header(url), 'sub=2');
    assert.equal(jar.sessionsStarted, 1);
  });

  it('reads OCS envelopes in JSON and XML', function () {
    const res = (body: string, status = 200) => ({ status, headers: {}, body: Buffer.from(body) });
    const json = parseOcs(res('{"ocs":{"meta":{"status":"ok","statuscode":200,"message":"OK"},"data":{"id":"7","url":"http://x/s/t"}}}'));
    assert.deepEqual(json, { status: 'ok', statuscode: 200, message: 'OK', data: { id: '7', url: 'http://x/s/t' } });
    const xml = parseOcs(
      res('<?xml version="1.0"?>\n<ocs><meta><status>failure</status><statuscode>404</statuscode><message>Wrong path &amp; more</message></meta><data/></ocs>'),
    );
    assert.deepEqual(xml, { status: 'failure', statuscode: 404, message: 'Wrong path & more', data: null });
    assert.deepEqual(xmlValue(parseXmlTree('<data><element><id>1</id></element><element><id>2</id></element></data>')!), [{ id: '1' }, { id: '2' }]);
  });

  it('checks share options before sending', function () {
    assert.throws(() => validateShareOptions({ type: 'link', expireDate: '2020-01-01' }, '2025-06-01'), /in the past/);
    assert.throws(() => validateShareOptions({ type: 'link', expireDate: '2025-02-30' }, '2025-01-01'), /not a date/);
    assert.throws(() => validateShareOptions({ type: 'user' }), /needs the user id/);
    assert.throws(() => validateShareOptions({ type: 'group', shareWith: 'x', password: 'p' }), /Only link shares/);
    validateShareOptions({ type: 'link', password: 'p', expireDate: '2025-06-01', label: 'l' }, '2025-06-01');
  });
});
