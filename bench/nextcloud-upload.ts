/**
 * Upload throughput, side by side, against the Nextcloud test peer (a child process) or a real Nextcloud (--url):
 *   raw    the `webdav` package alone: putFileContents into an existing folder (no verification)
 *   raw+hash the `webdav` package doing the same verification as ours (X-Hash: sha256 asked and compared)
 *   client the pack's NextcloudClient.upload (folders, conflict policy "skip", X-Hash verification, session reuse):
 *          a temporary name, then a MOVE with Overwrite: F — two requests, so no stored file is ever replaced
 *   client overwrite  the same with policy "overwrite": one PUT, the same promise as raw's
 *   node   clinica-nextcloud in an embedded Node-RED runtime (the client plus the node: paths, logs, metrics; "skip")
 *   chunked (50 MB only) the client made to use chunked upload v2 with 10 MiB chunks
 * for 100 KB and 50 MB files, taking turns in rounds so that both share the machine's noise alike. On the peer
 * twice: with its password check free (target node ≥ 90 % of raw) and costing --check-ms (default 200, what a small
 * Nextcloud 32 spends on an app password), where keeping the session matters. On a real server once, as it is.
 *
 * --chunking: one PUT against chunked upload v2 for several sizes and chunk sizes (what the config node's
 * defaults are chosen from): "put" a Buffer in one PUT, "stream" a stream of known length in one PUT, "chunked N"
 * chunks of N MiB.
 *
 *   npm run build && node dist/bench/nextcloud-upload.js [--small 60] [--large 4] [--rounds 4] [--check-ms 200]
 *     [--url http://127.0.0.1:8082 --user admin --password <app password>]
 *     [--chunking [--sizes 10,50,100,200] [--chunk-mb 10,32,64,100]]
 */
import * as fs from 'node:fs';
import { performance } from 'node:perf_hooks';
import { createHash } from 'node:crypto';
import { AuthType, createClient } from 'webdav';
import { NextcloudClient, type NextcloudClientOptions } from '../nodes/clients/nextcloud/client';
import { patternBuffer, patternStream } from '../peers/nextcloud/data';
import { startEmbedded, type EmbeddedRed } from './lib/embedded';
import { arg, benchServer, textArg, type BenchServer } from './nextcloud-peer';

const KB = 1024;
const MB = 1024 * 1024;
const SMALL = arg('small', 60);
const LARGE = arg('large', 4);
const ROUNDS = arg('rounds', 4);
const CHECK_MS = arg('check-ms', 200);
const RUN = `bench-${Date.now().toString(36)}`;

type Upload = (path: string, data: Buffer) => Promise<void>;

interface Variant {
  name: string;
  upload: Upload;
  ms: number;
  count: number;
  bytes: number;
}

function rawClient(s: BenchServer): Upload {
  const dav = createClient(`${s.url}/remote.php/dav/files/${s.user}`, { authType: AuthType.Password, username: s.user, password: s.password });
  return async (path, data) => {
    const ok = await dav.putFileContents(path, data, { overwrite: true, contentLength: data.length });
    if (!ok) throw new Error(`raw upload of ${path} failed`);
  };
}

/** The raw client doing the same verification as ours: X-Hash asked, the SHA-256 compared (customRequest, since
 * putFileContents hides the response headers). */
function rawVerified(s: BenchServer): Upload {
  const dav = createClient(`${s.url}/remote.php/dav/files/${s.user}`, { authType: AuthType.Password, username: s.user, password: s.password });
  return async (path, data) => {
    const sha = createHash('sha256').update(data).digest('hex');
    const res = await dav.customRequest(path, { method: 'PUT', data, headers: { 'Content-Length': String(data.length), 'X-Hash': 'sha256' } });
    if (res.status >= 300 || res.headers.get('x-hash-sha256') !== sha) throw new Error(`raw verified upload of ${path} failed`);
  };
}

function packClient(s: BenchServer, extra: Partial<NextcloudClientOptions> = {}): NextcloudClient {
  return new NextcloudClient({ url: s.url, username: s.user, appPassword: s.password, timeoutMs: 300000, ...extra });
}

function clientUpload(client: NextcloudClient, conflict: 'skip' | 'overwrite' = 'skip'): Upload {
  return async (path, data) => void (await client.upload(path, data, { conflict }));
}

async function nodeRed(s: BenchServer): Promise<{ upload: Upload; red: EmbeddedRed }> {
  const red = await startEmbedded(
    [
      { id: 'tab', type: 'tab', label: 'bench' },
      { id: 'nc', type: 'clinica-nextcloud-config', url: s.url, username: s.user, timeout: 300 },
      { id: 'up', type: 'clinica-nextcloud', z: 'tab', config: 'nc', operation: 'upload', target: 'path', path: '', conflict: 'skip', wires: [['sink']] },
      { id: 'sink', type: 'function', z: 'tab', func: 'return null;', wires: [] },
    ],
    { nc: { appPassword: s.password } },
  );
  const up = red.getNode('up');
  const sink = red.getNode('sink');
  const waiting = new Map<string, () => void>();
  sink.on('input', (msg: { _benchId: string }) => waiting.get(msg._benchId)?.());
  let n = 0;
  return {
    red,
    upload: (path, data) =>
      new Promise<void>((resolve) => {
        const id = `b${n++}`;
        waiting.set(id, () => {
          waiting.delete(id);
          resolve();
        });
        up.receive({ _benchId: id, path, payload: data });
      }),
  };
}

async function measure(variants: Variant[], folder: string, size: number, perRound: number): Promise<void> {
  const data = patternBuffer(size, size);
  for (let round = 0; round < ROUNDS; round++) {
    for (const v of round % 2 ? [...variants].reverse() : variants) {
      const start = performance.now();
      for (let i = 0; i < perRound; i++) await v.upload(`${folder}/${v.name}-r${round}-${i}.bin`, data);
      v.ms += performance.now() - start;
      v.count += perRound;
      v.bytes += perRound * size;
    }
  }
}

function report(title: string, variants: Variant[]): Record<string, unknown> {
  const raw = variants.find((v) => v.name === 'raw')!;
  const rawRate = raw.count / (raw.ms / 1000);
  console.log(`\n${title}`);
  console.log('variant            uploads   total s   uploads/s      MB/s   vs raw');
  const rows: Record<string, unknown> = {};
  for (const v of variants) {
    const perSec = v.count / (v.ms / 1000);
    const mbs = v.bytes / MB / (v.ms / 1000);
    const ratio = perSec / rawRate;
    console.log(
      `${v.name.padEnd(17)} ${String(v.count).padStart(8)} ${(v.ms / 1000).toFixed(2).padStart(9)} ${perSec.toFixed(1).padStart(11)} ${mbs.toFixed(1).padStart(9)} ${(ratio * 100).toFixed(0).padStart(7)} %`,
    );
    rows[v.name] = {
      uploads: v.count,
      seconds: +(v.ms / 1000).toFixed(3),
      perSecond: +perSec.toFixed(2),
      mbPerSecond: +mbs.toFixed(2),
      vsRaw: +ratio.toFixed(3),
    };
  }
  return rows;
}

async function scenario(s: BenchServer, label: string, small: number, large: number): Promise<Record<string, unknown>> {
  const client = packClient(s);
  const chunking = packClient(s, { chunkThreshold: 10 * MB, chunkSize: 10 * MB });
  const { red, upload: nodeUpload } = await nodeRed(s);
  const base = `/${RUN}/${label.replace(/\W+/g, '-')}`;
  // the folders exist before timing (raw cannot create them); every variant then writes new files
  await client.mkdir(`${base}/small`);
  await client.mkdir(`${base}/large`);
  const make = () => [
    { name: 'raw', upload: rawClient(s), ms: 0, count: 0, bytes: 0 },
    { name: 'raw+hash', upload: rawVerified(s), ms: 0, count: 0, bytes: 0 },
    { name: 'client', upload: clientUpload(client), ms: 0, count: 0, bytes: 0 },
    { name: 'client overwrite', upload: clientUpload(client, 'overwrite'), ms: 0, count: 0, bytes: 0 },
    { name: 'node', upload: nodeUpload, ms: 0, count: 0, bytes: 0 },
  ];
  // warm-up: connections, JIT, the sessions
  for (const v of make()) await v.upload(`${base}/warm-${v.name}.bin`, patternBuffer(100 * KB, 1));
  const smallVariants = make();
  await measure(smallVariants, `${base}/small`, 100 * KB, Math.max(1, Math.round(small / ROUNDS)));
  const smallRows = report(`100 KB files, ${label}`, smallVariants);
  let largeRows: Record<string, unknown> = {};
  if (large > 0) {
    const largeVariants = [...make(), { name: 'chunked', upload: clientUpload(chunking), ms: 0, count: 0, bytes: 0 }];
    await measure(largeVariants, `${base}/large`, 50 * MB, Math.max(1, Math.round(large / ROUNDS)));
    largeRows = report(`50 MB files (one PUT each; "chunked": the client forced to chunked upload v2, 10 MiB chunks), ${label}`, largeVariants);
  }
  if (s.kind === 'real') await client.delete(`/${RUN}`); // the bench leaves nothing on a real server
  client.close();
  chunking.close();
  await red.stop();
  return { server: label, '100KB': smallRows, '50MB': largeRows };
}

/** One PUT (Buffer, or stream of known length) against chunked upload v2 at several chunk sizes, per file size. */
async function chunking(s: BenchServer): Promise<Record<string, unknown>> {
  const sizes = (textArg('sizes') ?? '10,50,100,200').split(',').map(Number);
  const chunkMbs = (textArg('chunk-mb') ?? '10,32,64,100').split(',').map(Number);
  const rounds = arg('rounds', 2);
  const put = packClient(s, { chunkThreshold: 4096 * MB });
  const chunked = new Map(chunkMbs.map((c) => [c, packClient(s, { chunkThreshold: 0, chunkSize: c * MB })]));
  const base = `/${RUN}/chunking`;
  await put.mkdir(base);
  await put.upload(`${base}/warm.bin`, patternBuffer(100 * KB, 1));
  for (const c of chunked.values()) await c.upload(`${base}/warm.bin`, patternBuffer(100 * KB, 1), { conflict: 'overwrite' });
  const results: Record<string, Record<string, number>> = {};
  console.log(`\nOne PUT against chunked upload v2 on the ${s.kind} server ${s.url} (best of ${rounds}, seconds; MB/s)`);
  console.log(`size MB   put          stream       ${chunkMbs.map((c) => `chunked ${c} MiB`.padEnd(17)).join('')}`);
  for (const size of sizes) {
    const bytes = size * 1000 * 1000;
    const data = patternBuffer(bytes, size);
    const variants: Array<[string, () => Promise<unknown>]> = [
      ['put', () => put.upload(`${base}/put-${size}.bin`, data, { conflict: 'overwrite' })],
      ['stream', () => put.upload(`${base}/stream-${size}.bin`, patternStream(bytes, size), { conflict: 'overwrite', size: bytes })],
      ...chunkMbs.map((c): [string, () => Promise<unknown>] => [
        `chunked ${c} MiB`,
        () => chunked.get(c)!.upload(`${base}/chunked-${c}-${size}.bin`, data, { conflict: 'overwrite' }),
      ]),
    ];
    const best: Record<string, number> = {};
    for (let round = 0; round < rounds; round++) {
      for (const [name, run] of round % 2 ? [...variants].reverse() : variants) {
        const start = performance.now();
        await run();
        const seconds = (performance.now() - start) / 1000;
        best[name] = Math.min(best[name] ?? Infinity, seconds);
      }
    }
    for (const [name] of variants)
      await put
        .delete(`${base}/${name === 'put' ? `put-${size}` : name === 'stream' ? `stream-${size}` : `chunked-${name.split(' ')[1]}-${size}`}.bin`)
        .catch(() => undefined);
    results[`${size}MB`] = Object.fromEntries(Object.entries(best).map(([k, v]) => [k, +v.toFixed(2)]));
    console.log(
      `${String(size).padStart(7)}   ${variants.map(([name]) => `${best[name].toFixed(2)} s ${(size / best[name]).toFixed(0).padStart(4)}`.padEnd(name.startsWith('chunked') ? 17 : 13)).join('')}`,
    );
  }
  await put.delete(`/${RUN}`).catch(() => undefined);
  put.close();
  for (const c of chunked.values()) c.close();
  return { server: s.kind, url: s.url, chunking: results };
}

async function main(): Promise<void> {
  // the peer's files on tmpfs when there is one: this measures the protocol and the client, not the disk
  const root = fs.existsSync('/dev/shm') ? '/dev/shm' : undefined;
  const server = await benchServer({ passwordCheckMs: 0, root });
  try {
    let results: unknown[];
    if (process.argv.includes('--chunking')) results = [await chunking(server)];
    else if (server.kind === 'real') results = [await scenario(server, `real Nextcloud at ${server.url}`, SMALL, LARGE)];
    else {
      server.peer!.setPasswordCheckMs(0);
      const free = await scenario(server, 'peer, password check 0 ms', SMALL * 3, LARGE * ROUNDS);
      server.peer!.setPasswordCheckMs(CHECK_MS);
      results = [free, await scenario(server, `peer, password check ${CHECK_MS} ms`, SMALL, LARGE)];
    }
    console.log(`\n${JSON.stringify({ bench: 'nextcloud-upload', node: process.version, server: server.kind, results })}`);
  } finally {
    await server.stop();
  }
}

void main().catch((err) => {
  console.error(err);
  process.exit(1);
});
