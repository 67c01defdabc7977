/**
 * Peak memory of a 1 GiB upload from a stream (target: RSS < 150 MB): the content is made on the fly and read
 * by the client one 10 MiB chunk at a time (two buffers, reused), sent with Nextcloud's chunked upload v2 and
 * assembled by the peer (a child process, files in the OS temp folder), then checked by SHA-256. Measured for the
 * pack's client alone and for the clinica-nextcloud node in an embedded Node-RED, each in a fresh process. "RSS
 * before" is taken after start-up (for the node: Node-RED running with the whole pack loaded), "peak" during the
 * upload; the difference is what the upload costs.
 *
 *   npm run build && node dist/bench/nextcloud-memory.js [--mb 1024] [--chunk-mb 10]
 */
import { spawnSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { NextcloudClient } from '../nodes/clients/nextcloud/client';
import { patternSha256, patternStream } from '../test/peers/nextcloud/data';
import { startEmbedded } from './lib/embedded';
import { arg, rssSampler, startPeerProcess } from './nextcloud-peer';

const MB = 1024 * 1024;
const SIZE = arg('mb', 1024) * MB;
const CHUNK_MB = arg('chunk-mb', 10);

interface Measured {
  variant: string;
  mb: number;
  seconds: number;
  mbPerSecond: number;
  rssBeforeMb: number;
  peakRssMb: number;
  kernelMaxRssMb: number;
  chunks: number;
  sha256Ok: boolean;
}

async function viaClient(url: string): Promise<{ chunks: number; sha256: string }> {
  const client = new NextcloudClient({ url, username: 'alice', appPassword: 'alice-app-password', chunkSize: CHUNK_MB * MB });
  try {
    const r = await client.upload('/bench/memory/client-1g.bin', patternStream(SIZE, 77), { conflict: 'overwrite' });
    return { chunks: r.chunks, sha256: r.sha256 };
  } finally {
    client.close();
  }
}

/** Starts Node-RED with the upload flow; the returned function runs one upload through the node. */
async function prepareNode(url: string): Promise<{ run: () => Promise<{ chunks: number; sha256: string }>; stop: () => Promise<void> }> {
  const red = await startEmbedded([
    { id: 'tab', type: 'tab', label: 'bench' },
    { id: 'nc', type: 'clinica-nextcloud-config', url, username: 'alice', timeout: 120, chunkSizeMb: CHUNK_MB },
    { id: 'up', type: 'clinica-nextcloud', z: 'tab', config: 'nc', operation: 'upload', target: 'path', path: '/bench/memory/node-1g.bin', conflict: 'overwrite', wires: [['sink']] },
    { id: 'sink', type: 'function', z: 'tab', func: 'return null;', wires: [] },
  ], { nc: { appPassword: 'alice-app-password' } });
  return {
    run: () => new Promise((resolve) => {
      red.getNode('sink').once('input', (msg: { payload: { chunks: number; sha256: string } }) => resolve(msg.payload));
      red.getNode('up').receive({ payload: patternStream(SIZE, 77) });
    }),
    stop: () => red.stop(),
  };
}

/** One variant in this process (called in a child: node --expose-gc nextcloud-memory.js --run client|node --url …). */
async function runOne(variant: string, url: string): Promise<void> {
  const node = variant === 'node' ? await prepareNode(url) : undefined;
  global.gc?.();
  const rssBeforeMb = process.memoryUsage.rss() / MB;
  const sampler = rssSampler(10);
  const start = performance.now();
  const r = node ? await node.run() : await viaClient(url);
  const seconds = (performance.now() - start) / 1000;
  const { peakMb, maxRssMb } = sampler.stop();
  await node?.stop();
  const expected = patternSha256(SIZE, 77);
  const m: Measured = {
    variant, mb: SIZE / MB, seconds: +seconds.toFixed(2), mbPerSecond: +(SIZE / MB / seconds).toFixed(1),
    rssBeforeMb: +rssBeforeMb.toFixed(1), peakRssMb: +peakMb.toFixed(1), kernelMaxRssMb: +maxRssMb.toFixed(1),
    chunks: r.chunks, sha256Ok: r.sha256 === expected,
  };
  process.stdout.write(`${JSON.stringify(m)}\n`);
}

async function main(): Promise<void> {
  const i = process.argv.indexOf('--run');
  if (i > 0) return runOne(process.argv[i + 1], process.argv[process.argv.indexOf('--url') + 1]);
  const peer = await startPeerProcess({ minChunkMb: 5 });
  const results: Measured[] = [];
  try {
    for (const variant of ['client', 'node']) {
      // a fresh process per variant, so one's garbage does not count against the other
      const child = spawnSync(process.execPath, ['--expose-gc', __filename, '--run', variant, '--url', peer.url, '--mb', String(SIZE / MB), '--chunk-mb', String(CHUNK_MB)], {
        encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, BENCH_LOG: 'error' },
      });
      const line = child.stdout.trim().split('\n').pop() ?? '';
      results.push(JSON.parse(line) as Measured);
    }
  } finally {
    await peer.stop();
  }
  console.log(`\n${SIZE / MB} MiB streamed upload, chunked upload v2 with ${CHUNK_MB} MiB chunks (target: peak RSS < 150 MB)`);
  console.log('variant   seconds    MB/s   RSS before   peak RSS (sampled)   upload adds   max RSS (kernel)   chunks   sha256');
  for (const m of results) {
    console.log(`${m.variant.padEnd(8)} ${m.seconds.toFixed(1).padStart(8)} ${m.mbPerSecond.toFixed(0).padStart(7)} ${m.rssBeforeMb.toFixed(0).padStart(9)} MB ${m.peakRssMb.toFixed(0).padStart(15)} MB ${(m.peakRssMb - m.rssBeforeMb).toFixed(0).padStart(10)} MB ${m.kernelMaxRssMb.toFixed(0).padStart(15)} MB ${String(m.chunks).padStart(8)}   ${m.sha256Ok ? 'ok' : 'MISMATCH'}`);
  }
  console.log(`\n${JSON.stringify({ bench: 'nextcloud-memory', node: process.version, results })}`);
}

void main().catch((err) => {
  console.error(err);
  process.exit(1);
});
