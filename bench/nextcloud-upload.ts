/**
 * Upload throughput, side by side, against the Nextcloud test peer (a child process: webdav-server behind the
 * Nextcloud front):
 *   raw    the `webdav` package alone: putFileContents into an existing folder (no verification, no session)
 *   raw+hash the `webdav` package doing the same verification as ours (X-Hash: sha256 asked and compared)
 *   client the pack's NextcloudClient.upload (folder creation, If-None-Match, X-Hash verification, session reuse)
 *   node   clinica-nextcloud in an embedded Node-RED runtime (the client plus the node: paths, logs, metrics)
 *   chunked (50 MB only) the client made to use chunked upload v2 with 10 MiB chunks (what streams and Buffers
 *          above the threshold get): chunks, then the server assembles them
 * for 100 KB and 50 MB files, taking turns in rounds so that both share the machine's noise alike. Twice: with the
 * peer's password check free (the test server; target node ≥ 90 % of raw) and with it costing --check-ms (default
 * 200, what a small Nextcloud 32 spends on an app password), where keeping the session matters.
 *
 *   npm run build && node dist/bench/nextcloud-upload.js [--small 60] [--large 4] [--rounds 4] [--check-ms 200]
 */
import * as fs from 'node:fs';
import { performance } from 'node:perf_hooks';
import { createHash } from 'node:crypto';
import { AuthType, createClient } from 'webdav';
import { NextcloudClient } from '../nodes/clients/nextcloud/client';
import { patternBuffer } from '../test/peers/nextcloud/data';
import { startEmbedded, type EmbeddedRed } from './lib/embedded';
import { arg, startPeerProcess, type PeerProcess } from './nextcloud-peer';

const KB = 1024;
const MB = 1024 * 1024;
const SMALL = arg('small', 60);
const LARGE = arg('large', 4);
const ROUNDS = arg('rounds', 4);
const CHECK_MS = arg('check-ms', 200);

type Upload = (path: string, data: Buffer) => Promise<void>;

interface Variant {
  name: string;
  upload: Upload;
  ms: number;
  count: number;
  bytes: number;
}

function rawClient(url: string): Upload {
  const dav = createClient(`${url}/remote.php/dav/files/alice`, { authType: AuthType.Password, username: 'alice', password: 'alice-app-password' });
  return async (path, data) => {
    const ok = await dav.putFileContents(path, data, { overwrite: true, contentLength: data.length });
    if (!ok) throw new Error(`raw upload of ${path} failed`);
  };
}

/** The raw client doing the same verification as ours: X-Hash asked, the SHA-256 compared (customRequest, since
 * putFileContents hides the response headers). */
function rawVerified(url: string): Upload {
  const dav = createClient(`${url}/remote.php/dav/files/alice`, { authType: AuthType.Password, username: 'alice', password: 'alice-app-password' });
  return async (path, data) => {
    const sha = createHash('sha256').update(data).digest('hex');
    const res = await dav.customRequest(path, { method: 'PUT', data, headers: { 'Content-Length': String(data.length), 'X-Hash': 'sha256' } });
    if (res.status >= 300 || res.headers.get('x-hash-sha256') !== sha) throw new Error(`raw verified upload of ${path} failed`);
  };
}

function packClient(url: string, chunkThreshold?: number): { upload: Upload; client: NextcloudClient } {
  const client = new NextcloudClient({ url, username: 'alice', appPassword: 'alice-app-password', chunkThreshold });
  return { client, upload: async (path, data) => void (await client.upload(path, data, { conflict: 'skip' })) };
}

async function nodeRed(url: string): Promise<{ upload: Upload; red: EmbeddedRed }> {
  const red = await startEmbedded([
    { id: 'tab', type: 'tab', label: 'bench' },
    { id: 'nc', type: 'clinica-nextcloud-config', url, username: 'alice', timeout: 60 },
    { id: 'up', type: 'clinica-nextcloud', z: 'tab', config: 'nc', operation: 'upload', target: 'path', path: '', conflict: 'skip', wires: [['sink']] },
    { id: 'sink', type: 'function', z: 'tab', func: 'return null;', wires: [] },
  ], { nc: { appPassword: 'alice-app-password' } });
  const up = red.getNode('up');
  const sink = red.getNode('sink');
  const waiting = new Map<string, () => void>();
  sink.on('input', (msg: { _benchId: string }) => waiting.get(msg._benchId)?.());
  let n = 0;
  return {
    red,
    upload: (path, data) => new Promise<void>((resolve) => {
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
  console.log('variant    uploads   total s   uploads/s      MB/s   vs raw');
  const rows: Record<string, unknown> = {};
  for (const v of variants) {
    const perSec = v.count / (v.ms / 1000);
    const mbs = v.bytes / MB / (v.ms / 1000);
    const ratio = perSec / rawRate;
    console.log(`${v.name.padEnd(9)} ${String(v.count).padStart(8)} ${(v.ms / 1000).toFixed(2).padStart(9)} ${perSec.toFixed(1).padStart(11)} ${mbs.toFixed(1).padStart(9)} ${(ratio * 100).toFixed(0).padStart(7)} %`);
    rows[v.name] = { uploads: v.count, seconds: +(v.ms / 1000).toFixed(3), perSecond: +perSec.toFixed(2), mbPerSecond: +mbs.toFixed(2), vsRaw: +ratio.toFixed(3) };
  }
  return rows;
}

async function scenario(peer: PeerProcess, checkMs: number, small: number, large: number): Promise<Record<string, unknown>> {
  peer.setPasswordCheckMs(checkMs);
  const { client, upload: clientUpload } = packClient(peer.url);
  const { client: chunkingClient, upload: chunkedUpload } = packClient(peer.url, 10 * MB);
  const { red, upload: nodeUpload } = await nodeRed(peer.url);
  const raw = rawClient(peer.url);
  const verified = rawVerified(peer.url);
  const base = `/bench/check${checkMs}`;
  // the folders exist before timing (raw cannot create them); every variant then writes new files
  await client.mkdir(`${base}/small`);
  await client.mkdir(`${base}/large`);
  const make = () => [
    { name: 'raw', upload: raw, ms: 0, count: 0, bytes: 0 },
    { name: 'raw+hash', upload: verified, ms: 0, count: 0, bytes: 0 },
    { name: 'client', upload: clientUpload, ms: 0, count: 0, bytes: 0 },
    { name: 'node', upload: nodeUpload, ms: 0, count: 0, bytes: 0 },
  ];
  // warm-up: connections, JIT, the sessions
  for (const v of make()) await v.upload(`${base}/warm-${v.name}.bin`, patternBuffer(100 * KB, 1));
  const smallVariants = make();
  await measure(smallVariants, `${base}/small`, 100 * KB, Math.max(1, Math.round(small / ROUNDS)));
  const smallRows = report(`100 KB files, password check ${checkMs} ms`, smallVariants);
  let largeRows: Record<string, unknown> = {};
  if (large > 0) {
    const largeVariants = [...make(), { name: 'chunked', upload: chunkedUpload, ms: 0, count: 0, bytes: 0 }];
    await measure(largeVariants, `${base}/large`, 50 * MB, Math.max(1, Math.round(large / ROUNDS)));
    largeRows = report(`50 MB files (one PUT each; "chunked": the client forced to chunked upload v2, 10 MiB chunks), password check ${checkMs} ms`, largeVariants);
  }
  client.close();
  chunkingClient.close();
  await red.stop();
  return { passwordCheckMs: checkMs, '100KB': smallRows, '50MB': largeRows };
}

async function main(): Promise<void> {
  // the peer's files on tmpfs when there is one: this measures the protocol and the client, not the disk
  const root = fs.existsSync('/dev/shm') ? '/dev/shm' : undefined;
  const peer = await startPeerProcess({ passwordCheckMs: 0, root });
  try {
    const results = [
      await scenario(peer, 0, SMALL * 3, LARGE * ROUNDS),
      await scenario(peer, CHECK_MS, SMALL, LARGE),
    ];
    console.log(`\n${JSON.stringify({ bench: 'nextcloud-upload', node: process.version, peerFiles: root ?? 'os tmpdir', results })}`);
  } finally {
    await peer.stop();
  }
}

void main().catch((err) => {
  console.error(err);
  process.exit(1);
});
