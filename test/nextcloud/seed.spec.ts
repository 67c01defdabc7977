import { strict as assert } from 'node:assert';
import { NextcloudClient } from '../../nodes/clients/nextcloud/client';
import { seedNextcloud } from '../../seeds/nextcloud/seed';
import { NextcloudPeer } from '../peers/nextcloud/peer';

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

  it('refuses a patient id that would leave the tree', async function () {
    await assert.rejects(seedNextcloud(client, ['../7']), (err: { code?: string }) => err.code === 'NEXTCLOUD_BAD_PATH');
  });
});
