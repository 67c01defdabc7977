/**
 * Peak memory of a 1 GiB upload from a stream (target: RSS < 150 MB): the content is made on the fly; a stream of
 * unknown length is read by the client one 10 MiB chunk at a time (two buffers, reused) and sent with Nextcloud's
 * chunked upload v2; a stream whose length is known goes in one PUT, hashed on the way. The server is the peer (a
 * child process, files in the OS temp folder) or a real Nextcloud (--url, --user, --password); the SHA-256 is
 * checked. Measured for the pack's client alone (both kinds of stream) and for the clinica-nextcloud node in an
 * embedded Node-RED, each in a fresh process. "RSS before" is taken after start-up (for the node: Node-RED running
 * with the whole pack loaded), "peak" during the upload; the difference is what the upload costs.
 *
 *   npm run build && node dist/bench/nextcloud-memory.js [--mb 1024] [--chunk-mb 10] [--url … --user … --password …]
 */
import { spawnSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { NextcloudClient } from '../nodes/clients/nextcloud/client';
import { patternSha256, patternStream } from '../peers/nextcloud/data';
import { startEmbedded } from './lib/embedded';
import { arg, benchServer, rssSampler, textArg } from './nextcloud-peer';

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

interface Login {
  url: string;
  user: string;
  password: string;
}

const FOLDER = `/bench-memory-${process.pid}`;

/** `known`: the stream's length is given (one PUT); else it is not (chunked upload v2). */
async function viaClient(s: Login, known: boolean): Promise<{ chunks: number; sha256: string }> {
  const client = new NextcloudClient({ url: s.url, username: s.user, appPassword: s.password, chunkSize: CHUNK_MB * MB, timeoutMs: 300000 });
  try {
    const r = await client.upload(`${FOLDER}/client-${known ? 'known' : 'unknown'}.bin`, patternStream(SIZE, 77), {
      conflict: 'overwrite',
      size: known ? SIZE : undefined,
    });
    return { chunks: r.chunks, sha256: r.sha256 };
  } finally {
    client.close();
  }
}

/** Starts Node-RED with the upload flow; the returned function runs one upload through the node. */
async function prepareNode(s: Login): Promise<{ run: () => Promise<{ chunks: number; sha256: string }>; stop: () => Promise<void> }> {
  const red = await startEmbedded(
    [
      { id: 'tab', type: 'tab', label: 'bench' },
      { id: 'nc', type: 'clinica-nextcloud-config', url: s.url, username: s.user, timeout: 300, chunkSizeMb: CHUNK_MB },
      {
        id: 'up',
        type: 'clinica-nextcloud',
        z: 'tab',
        config: 'nc',
        operation: 'upload',
        target: 'path',
        path: `${FOLDER}/node.bin`,
        conflict: 'overwrite',
        wires: [['sink']],
      },
      { id: 'sink', type: 'function', z: 'tab', func: 'return null;', wires: [] },
    ],
    { nc: { appPassword: s.password } },
  );
  return {
    run: () =>
      new Promise((resolve) => {
        red.getNode('sink').once('input', (msg: { payload: { chunks: number; sha256: string } }) => resolve(msg.payload));
        red.getNode('up').receive({ payload: patternStream(SIZE, 77) });
      }),
    stop: () => red.stop(),
  };
}

/** One variant in this process (called in a child: node --expose-gc nextcloud-memory.js --run client|known|node, login in the environment). */
async function runOne(variant: string): Promise<void> {
  const login = JSON.parse(process.env.BENCH_NEXTCLOUD_LOGIN ?? '{}') as Login;
  const node = variant === 'node' ? await prepareNode(login) : undefined;
  global.gc?.();
  const rssBeforeMb = process.memoryUsage.rss() / MB;
  const sampler = rssSampler(10);
  const start = performance.now();
  const r = node ? await node.run() : await viaClient(login, variant === 'client, known length');
  const seconds = (performance.now() - start) / 1000;
  const { peakMb, maxRssMb } = sampler.stop();
  await node?.stop();
  const cleaner = new NextcloudClient({ url: login.url, username: login.user, appPassword: login.password });
  await cleaner.delete(FOLDER).finally(() => cleaner.close());
  const expected = patternSha256(SIZE, 77);
  const m: Measured = {
    variant,
    mb: SIZE / MB,
    seconds: +seconds.toFixed(2),
    mbPerSecond: +(SIZE / MB / seconds).toFixed(1),
    rssBeforeMb: +rssBeforeMb.toFixed(1),
    peakRssMb: +peakMb.toFixed(1),
    kernelMaxRssMb: +maxRssMb.toFixed(1),
    chunks: r.chunks,
    sha256Ok: r.sha256 === expected,
  };
  process.stdout.write(`${JSON.stringify(m)}\n`);
}

async function main(): Promise<void> {
  const i = process.argv.indexOf('--run');
  if (i > 0) return runOne(process.argv[i + 1]);
  const server = await benchServer({ minChunkMb: 5 });
  const results: Measured[] = [];
  try {
    for (const variant of ['client', 'client, known length', 'node']) {
      // a fresh process per variant, so one's garbage does not count against the other
      const child = spawnSync(process.execPath, ['--expose-gc', __filename, '--run', variant, '--mb', String(SIZE / MB), '--chunk-mb', String(CHUNK_MB)], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'inherit'],
        env: { ...process.env, BENCH_LOG: 'error', BENCH_NEXTCLOUD_LOGIN: JSON.stringify({ url: server.url, user: server.user, password: server.password }) },
      });
      const line = child.stdout.trim().split('\n').pop() ?? '';
      results.push(JSON.parse(line) as Measured);
    }
  } finally {
    await server.stop();
  }
  console.log(
    `\n${SIZE / MB} MiB streamed upload to the ${server.kind} server ${textArg('url', 'NEXTCLOUD_BENCH_URL') ?? ''}: unknown length in chunked upload v2 with ${CHUNK_MB} MiB chunks, known length in one PUT (target: peak RSS < 150 MB)`,
  );
  console.log('variant                seconds    MB/s   RSS before   peak RSS (sampled)   upload adds   max RSS (kernel)   chunks   sha256');
  for (const m of results) {
    console.log(
      `${m.variant.padEnd(21)} ${m.seconds.toFixed(1).padStart(8)} ${m.mbPerSecond.toFixed(0).padStart(7)} ${m.rssBeforeMb.toFixed(0).padStart(9)} MB ${m.peakRssMb.toFixed(0).padStart(15)} MB ${(m.peakRssMb - m.rssBeforeMb).toFixed(0).padStart(10)} MB ${m.kernelMaxRssMb.toFixed(0).padStart(15)} MB ${String(m.chunks).padStart(8)}   ${m.sha256Ok ? 'ok' : 'MISMATCH'}`,
    );
  }
  console.log(`\n${JSON.stringify({ bench: 'nextcloud-memory', node: process.version, server: server.kind, results })}`);
}

void main().catch((err) => {
  console.error(err);
  process.exit(1);
});
