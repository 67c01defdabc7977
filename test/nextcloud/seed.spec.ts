import { strict as assert } from 'node:assert';
import { NextcloudClient } from '../../nodes/clients/nextcloud/client';
import { patientsArg, seedNextcloud } from '../../seeds/nextcloud/seed';
import { NextcloudPeer } from '../../peers/nextcloud/peer';

describe('Nextcloud seed (Nextcloud peer)', function () {
  let peer: NextcloudPeer;
  let client: NextcloudClient;

  before(async function () {
    peer = await new NextcloudPeer().start();
    client = new NextcloudClient({ url: peer.url, username: 'alice', appPassword: 'alice-app-password' });
  });

  after(async function () {
    client?.close();
    await peer?.stop();
  });

  it('creates the document tree of the brief, and a second run creates nothing', async function () {
    const first = await seedNextcloud(client, ['7', '8']);
    assert.ok(first.created.includes('/Documentos_Clinicos/Pacientes'));
    for (const kind of ['Facturas', 'Recetas', 'Historiales']) assert.ok(first.created.includes(`/Documentos_Clinicos/Pacientes/7/${kind}`));
    assert.equal(first.created.length, 7);
    const names = (await client.list('/Documentos_Clinicos/Pacientes/8')).map((e) => e.name).sort();
    assert.deepEqual(names, ['Facturas', 'Historiales', 'Recetas']);
    const second = await seedNextcloud(client, ['7', '8']);
    assert.deepEqual(second.created, []);
    assert.equal(second.existing.length, 7);
  });

  it('refuses a patient id that would leave the tree, or that the node would refuse or name differently, before making anything', async function () {
    const before = peer.stats.methods.MKCOL ?? 0;
    for (const id of ['../7', '４２', 'Ana María', '.x', ' 42']) {
      await assert.rejects(seedNextcloud(client, ['9', id]), (err: { code?: string }) => err.code === 'NEXTCLOUD_BAD_PATH', id);
    }
    assert.equal(peer.stats.methods.MKCOL ?? 0, before, 'nothing was made');
  });

  it('shares the patient tree once with the staff group (internal links then open for them); a second run reuses it', async function () {
    const first = await seedNextcloud(client, ['7'], { shareWithGroup: 'medicos' });
    const second = await seedNextcloud(client, ['7'], { shareWithGroup: 'medicos' });
    assert.deepEqual([first.shared?.reused, second.shared?.reused, second.shared?.shareId], [false, true, first.shared?.shareId]);
    assert.deepEqual(
      peer.shares.list('alice').map((s) => [s.path, s.shareType, s.shareWith]),
      [['/Documentos_Clinicos/Pacientes', 1, 'medicos']],
    );
  });

  it('reads --patients N as patients 1…N, and --ids (or --patients) a,b as a list', function () {
    assert.deepEqual(patientsArg(['--patients', '3']), ['1', '2', '3']);
    assert.deepEqual(patientsArg(['--patients', '7,8']), ['7', '8']);
    assert.deepEqual(patientsArg(['--ids', '7']), ['7']);
    assert.deepEqual(patientsArg([]), []);
    assert.throws(() => patientsArg(['--patients']), /needs a value/);
    assert.throws(() => patientsArg(['--patients', '2', '--ids', '3']), /not both/);
  });
});
