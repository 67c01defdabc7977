/**
 * The Nextcloud battery from the command line: runs it against a real Nextcloud and a fresh peer and prints every
 * difference; --record stores the real server's answers as the recording the peer is held to in `npm test`.
 *
 *   NEXTCLOUD_CONFORMANCE_URL=http://127.0.0.1:8082 NEXTCLOUD_CONFORMANCE_USER=… NEXTCLOUD_CONFORMANCE_PASSWORD=… \
 *   [NEXTCLOUD_CONFORMANCE_LOCAL_ADDRESS=127.0.0.2 [NEXTCLOUD_CONFORMANCE_LOCKOUT=1]] [NEXTCLOUD_CONFORMANCE_RATE_LIMIT=1] \
 *   node dist/test/conformance/nextcloud-cli.js [--record] [--show real|peer] [--only probe,probe]
 *   node dist/test/conformance/nextcloud-cli.js --scenarios   (the scenarios of nextcloud-scenarios.ts on the real server)
 */
import { NEXTCLOUD_PROBES } from './nextcloud-battery';
import { loadRecording, realTarget, runOnPeer, saveRecording } from './nextcloud';
import { concurrentRename, newPatients, wrongPassword } from './nextcloud-scenarios';
import { compare, formatDifferences, runBattery } from './nextcloud-runner';

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const onlyAt = args.indexOf('--only');
  const only = onlyAt >= 0 ? args[onlyAt + 1].split(',') : undefined;
  const showAt = args.indexOf('--show');
  const target = realTarget();
  if (!target) throw new Error('set NEXTCLOUD_CONFORMANCE_URL (and _USER, _PASSWORD) to the real Nextcloud');
  if (args.includes('--scenarios')) {
    const run = `sc${Date.now().toString(36)}`;
    console.log('50 new patients:', JSON.stringify(await newPatients(target, run)));
    console.log('4 concurrent uploads to one name, 12 trials:', JSON.stringify(await concurrentRename(target, run)));
    console.log('wrong app password, 20 messages:', JSON.stringify(await wrongPassword(target, run)));
    console.log(`(failed logins Nextcloud counted: occ security:bruteforce:attempts <this host's address>)`);
    return;
  }
  const real = await runBattery(target, NEXTCLOUD_PROBES, { isPeer: false, only });
  const peer = await runOnPeer();
  if (only) for (const id of Object.keys(peer.probes)) if (!only.includes(id)) delete peer.probes[id];
  if (showAt >= 0) console.log(JSON.stringify(args[showAt + 1] === 'peer' ? peer : real, null, 1));
  const diffs = compare(real, peer);
  console.log(
    `${Object.keys(real.probes).length} probes on ${target.url} (skipped: ${real.skipped.join(', ') || 'none'}); ${diffs.length} differences from the peer`,
  );
  if (diffs.length) console.log(formatDifferences(diffs, 'real', 'peer'));
  if (args.includes('--record')) {
    const status = real.probes.status?.get as { major?: string } | undefined;
    let recording = { server: `Nextcloud ${status?.major ?? '?'} at ${target.url}`, recordedAt: new Date().toISOString(), result: real };
    if (only) {
      // keep the other probes of the earlier recording
      const before = loadRecording();
      recording = {
        ...recording,
        result: { ...real, probes: { ...before.result.probes, ...real.probes }, skipped: before.result.skipped.filter((s) => !only.includes(s)) },
      };
    }
    saveRecording(recording);
    console.log('recorded');
  }
  process.exitCode = diffs.length ? 1 : 0;
}

void main().catch((err) => {
  console.error(err);
  process.exit(2);
});
