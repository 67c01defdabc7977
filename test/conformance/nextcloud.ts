/**
 * Where the Nextcloud battery runs: a fresh test peer, and a real Nextcloud named by the environment
 * (NEXTCLOUD_CONFORMANCE_URL, _USER, _PASSWORD, optional _LOCAL_ADDRESS); the recording of a real Nextcloud 32
 * that the peer is held to inside `npm test`.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { NextcloudPeer } from '../../peers/nextcloud/peer';
import { NEXTCLOUD_PROBES } from './nextcloud-battery';
import { type BatteryResult, type Target, runBattery } from './nextcloud-runner';

/** The recording, in the source tree (the CLI rewrites it with --record). */
export const RECORDING = path.resolve(__dirname, '..', '..', '..', 'test', 'conformance', 'nextcloud-32.json');

export interface Recording {
  server: string;
  recordedAt: string;
  result: BatteryResult;
}

export function loadRecording(): Recording {
  return JSON.parse(fs.readFileSync(RECORDING, 'utf8')) as Recording;
}

export function saveRecording(recording: Recording): void {
  fs.writeFileSync(RECORDING, `${JSON.stringify(recording, null, 1)}\n`);
}

/** The real server of the environment, or undefined when NEXTCLOUD_CONFORMANCE_URL is not set. */
export function realTarget(env = process.env): Target | undefined {
  if (!env.NEXTCLOUD_CONFORMANCE_URL) return undefined;
  return {
    name: 'real',
    url: env.NEXTCLOUD_CONFORMANCE_URL.replace(/\/+$/, ''),
    user: env.NEXTCLOUD_CONFORMANCE_USER || 'admin',
    password: env.NEXTCLOUD_CONFORMANCE_PASSWORD || '',
    localAddress: env.NEXTCLOUD_CONFORMANCE_LOCAL_ADDRESS || undefined,
  };
}

/** Runs the battery against a fresh peer (every probe, the opt-in ones included) and stops it. */
export async function runOnPeer(): Promise<BatteryResult> {
  const peer = await new NextcloudPeer({ users: { conformance: 'conformance-app-password' } }).start();
  try {
    return await runBattery(
      { name: 'peer', url: peer.url, user: 'conformance', password: 'conformance-app-password', localAddress: '127.0.0.2' },
      NEXTCLOUD_PROBES,
      { isPeer: true },
    );
  } finally {
    await peer.close();
  }
}
