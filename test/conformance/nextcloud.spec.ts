/**
 * The Nextcloud peer against a real Nextcloud 32: the conformance battery (nextcloud-battery.ts) run on a fresh
 * peer must give exactly what a real Nextcloud 32 gave (the recording nextcloud-32.json, made with
 * `node dist/test/conformance/nextcloud-cli.js --record`). With NEXTCLOUD_CONFORMANCE_URL (+ _USER, _PASSWORD) set,
 * the battery also runs against that server, and every difference from the peer is reported.
 */
import { strict as assert } from 'node:assert';
import { NextcloudPeer } from '../../peers/nextcloud/peer';
import { NEXTCLOUD_PROBES } from './nextcloud-battery';
import { concurrentRename, newPatients, wrongPassword } from './nextcloud-scenarios';
import { loadRecording, realTarget, runOnPeer } from './nextcloud';
import { compare, formatDifferences, runBattery } from './nextcloud-runner';

describe('Nextcloud conformance: the peer answers like a real Nextcloud 32', function () {
  this.timeout(120000);

  it('every probe of the battery gives what the recorded Nextcloud 32 gave', async function () {
    const recording = loadRecording();
    assert.deepEqual(recording.result.skipped, [], 'the recording covers every probe, the opt-in ones included');
    const peer = await runOnPeer();
    assert.deepEqual(Object.keys(peer.probes).sort(), NEXTCLOUD_PROBES.map((p) => p.id).sort());
    const diffs = compare(recording.result, peer);
    assert.equal(diffs.length, 0, `the peer differs from ${recording.server} (${recording.recordedAt}):\n${formatDifferences(diffs, 'nextcloud', 'peer')}`);
  });

  it('the battery notices a server that differs (a peer playing a Nextcloud without Auto-Mkcol)', async function () {
    const old = await new NextcloudPeer({ users: { conformance: 'pw' }, autoMkcol: false }).start();
    try {
      const result = await runBattery({ name: 'old', url: old.url, user: 'conformance', password: 'pw' }, NEXTCLOUD_PROBES, { isPeer: true, only: ['put'] });
      const diffs = compare({ ...loadRecording().result, probes: { put: loadRecording().result.probes.put } }, result);
      assert.ok(
        diffs.some((d) => d.step === 'Auto-Mkcol, X-Hash sha256' && d.at === 'status' && d.expected === 201 && d.actual === 404),
        formatDifferences(diffs, 'nextcloud', 'old'),
      );
    } finally {
      await old.close();
    }
  });

  it('a real Nextcloud (NEXTCLOUD_CONFORMANCE_URL) answers like the peer', async function () {
    const target = realTarget();
    if (!target) this.skip();
    const real = await runBattery(target!, NEXTCLOUD_PROBES, { isPeer: false });
    const peer = await runOnPeer();
    const diffs = compare(real, peer);
    assert.equal(diffs.length, 0, `${target!.url} differs from the peer:\n${formatDifferences(diffs, 'real', 'peer')}`);
  });
});

describe('Nextcloud scenarios of issue 9 on the peer (the same code runs against a real server with nextcloud-cli.js --scenarios)', function () {
  this.timeout(60000);
  let peer: NextcloudPeer;
  const target = () => ({ name: 'peer', url: peer.url, user: 'alice', password: 'alice-app-password' });

  beforeEach(async function () {
    peer = await new NextcloudPeer({ passwordCheckMs: 5 }).start();
  });

  afterEach(async function () {
    await peer.close();
  });

  it('50 documents for 50 new patients, five at once: all stored and linked on the first try, no share made', async function () {
    const r = await newPatients(target(), 'np', 50, 5);
    assert.deepEqual([r.stored, r.linked, r.failed, r.sharesMade, r.sessions], [50, 50, [], 0, 1], JSON.stringify(r));
  });

  it('four uploads of different content to one name at once, twelve times: every content kept', async function () {
    peer.faults.putDelayMs = 20;
    const r = await concurrentRename(target(), 'cr', 12);
    assert.deepEqual([r.kept, r.lost, r.leftovers], [48, 0, 0], JSON.stringify(r));
    assert.deepEqual(r.statuses, { created: 12, renamed: 36 });
  });

  it('a wrong app password under load reaches Nextcloud once', async function () {
    const r = await wrongPassword(target(), 'wp', 20);
    assert.deepEqual(r.codes, ['NEXTCLOUD_AUTH']);
    assert.equal(peer.stats.failedLogins, 1);
  });
});
