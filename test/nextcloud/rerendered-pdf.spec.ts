/**
 * A real Odoo 18 renders an invoice's PDF anew for every request and stamps it with the time (wkhtmltopdf writes
 * `/CreationDate (D:20261201083351Z)`; two renderings a second apart differ in that one value). A retry after the
 * upload, a redelivery or a replay uploads such a new rendering to the name the first one was stored under: under
 * `skip` it is the document already stored (kept, nothing replaced), while a different document is still refused.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import { makePdf } from '../../seeds/lib/pdf';
import { rejection, sha256, usePeerPerTest } from './fixture';

const at = (s: string) => new Date(`2026-12-01T08:33:${s}Z`);
const invoice = (when: Date, total = '60.00') => makePdf('Invoice INV/2026/00103', ['Customer: Paciente 1', `Total: ${total}`], { creationDate: when });

describe('nextcloud client: a new rendering of a stored PDF under "skip"', function () {
  this.timeout(60000);
  const nc = usePeerPerTest();
  const path = '/Documentos_Clinicos/Pacientes/20226/Facturas/INV_2026_00103.pdf';

  it("keeps the stored file when only the rendering time differs (upload reports skipped, with the stored file's hash)", async function () {
    const c = nc.client();
    const first = invoice(at('51'));
    const again = invoice(at('52'));
    assert.equal(first.length, again.length);
    assert.notEqual(sha256(first), sha256(again));
    assert.equal((await c.upload(path, first, { conflict: 'skip' })).status, 'created');
    const r = await c.upload(path, again, { conflict: 'skip' });
    assert.deepEqual([r.status, r.path, r.verifiedBy, r.sha256], ['skipped', path, 'existing', sha256(first)]);
    assert.ok(r.internalUrl, 'the link of the stored file');
    assert.equal(sha256(fs.readFileSync(nc.peer.diskPath('alice', path))), sha256(first), 'the first rendering stays');
    assert.deepEqual(fs.readdirSync(nc.peer.diskPath('alice', '/Documentos_Clinicos/Pacientes/20226/Facturas')), ['INV_2026_00103.pdf']);
  });

  it('the same over 1 MiB, where "skip" compares before sending', async function () {
    const c = nc.client();
    const big = (when: Date) =>
      makePdf(
        'Historia clínica',
        Array.from({ length: 16000 }, (_, i) => `línea ${i} ${'·'.repeat(60)}`),
        { creationDate: when },
      );
    assert.ok(big(at('51')).length > 1024 * 1024);
    await c.upload(path, big(at('51')), { conflict: 'skip' });
    const r = await c.upload(path, big(at('59')), { conflict: 'skip' });
    assert.deepEqual([r.status, r.sha256], ['skipped', sha256(big(at('51')))]);
    assert.equal(nc.peer.stats.methods.PUT, 1, 'the new rendering was not sent');
  });

  it('still refuses another document of the same size, and a non-PDF that differs in the same place', async function () {
    const c = nc.client();
    await c.upload(path, invoice(at('51')), { conflict: 'skip' });
    const other = invoice(at('52'), '61.00');
    assert.equal(other.length, invoice(at('51')).length);
    const refused = await rejection(c.upload(path, other, { conflict: 'skip' }));
    assert.equal(refused.code, 'NEXTCLOUD_CONFLICT', refused.message);
    const text = '/Documentos_Clinicos/Pacientes/20226/Facturas/notes.txt';
    await c.upload(text, Buffer.from('/CreationDate (D:20261201083351Z)'), { conflict: 'skip' });
    assert.equal((await rejection(c.upload(text, Buffer.from('/CreationDate (D:20261201083352Z)'), { conflict: 'skip' }))).code, 'NEXTCLOUD_CONFLICT');
  });
});
