/**
 * Runs the Nextcloud test peer on its own (benchmarks start it as a child process, so its work does not count
 * against the measured process; also handy to point a local Node-RED at it).
 *   node dist/peers/nextcloud/cli.js [--port 8082] [--password-check-ms 200] [--min-chunk-mb 5] [--root DIR]
 * Prints one JSON line {url, root, users} when listening and runs until SIGTERM / SIGINT. With --stdin-control
 * (benchmarks) it also stops when its standard input closes, and reads "password-check-ms <n>" lines there.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { NextcloudPeer } from './peer';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && process.argv[i + 1] !== undefined ? Number(process.argv[i + 1]) : fallback;
}

function text(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : undefined;
}

async function main(): Promise<void> {
  const root = text('root');
  const peer = await new NextcloudPeer({
    rootDir: root ? fs.mkdtempSync(path.join(root, 'nextcloud-peer-')) : undefined,
    port: arg('port', 0),
    passwordCheckMs: arg('password-check-ms', 0),
    minChunkSize: arg('min-chunk-mb', 5) * 1024 * 1024,
  }).start();
  process.stdout.write(`${JSON.stringify({ url: peer.url, root: peer.layout.root, users: { alice: 'alice-app-password', bob: 'bob-app-password' } })}\n`);
  const stop = () =>
    void peer.close().then(() => {
      if (root) fs.rmSync(peer.layout.root, { recursive: true, force: true });
      process.exit(0);
    });
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  if (!process.argv.includes('--stdin-control')) return;
  process.stdin.on('end', stop);
  process.stdin.resume();
  // the parent may change the simulated password cost: a line "password-check-ms <n>"
  process.stdin.on('data', (d: Buffer) => {
    const m = /password-check-ms (\d+)/.exec(d.toString());
    if (m) peer.setPasswordCheckMs(Number(m[1]));
  });
}

void main();
