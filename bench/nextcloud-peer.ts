/**
 * Bench plumbing for the Nextcloud family: where to upload — the Nextcloud test peer in a child process (so its
 * work and memory do not count against the measured process) or a real Nextcloud given with --url (and --user,
 * --password, or NEXTCLOUD_BENCH_URL/_USER/_PASSWORD) — and a memory sampler.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import * as readline from 'node:readline';

export interface PeerProcess {
  url: string;
  root: string;
  /** Changes the simulated password-check cost of the running peer. */
  setPasswordCheckMs(ms: number): void;
  stop(): Promise<void>;
}

/** `root`: a folder for the peer's files (e.g. /dev/shm to keep disk noise out of protocol measurements). */
export async function startPeerProcess(opts: { passwordCheckMs?: number; minChunkMb?: number; root?: string } = {}): Promise<PeerProcess> {
  const cli = path.resolve(__dirname, '..', 'peers', 'nextcloud', 'cli.js');
  const child: ChildProcess = spawn(
    process.execPath,
    [
      cli,
      '--stdin-control',
      '--password-check-ms',
      String(opts.passwordCheckMs ?? 0),
      '--min-chunk-mb',
      String(opts.minChunkMb ?? 5),
      ...(opts.root ? ['--root', opts.root] : []),
    ],
    {
      stdio: ['pipe', 'pipe', 'inherit'],
    },
  );
  const lines = readline.createInterface({ input: child.stdout! });
  const first = await new Promise<string>((resolve, reject) => {
    lines.once('line', resolve);
    child.once('exit', (code) => reject(new Error(`Nextcloud peer exited with ${code}`)));
  });
  const info = JSON.parse(first) as { url: string; root: string };
  return {
    ...info,
    setPasswordCheckMs: (ms) => child.stdin!.write(`password-check-ms ${ms}\n`),
    stop: () =>
      new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

/** Samples this process's RSS every `everyMs` and keeps the peak (plus the kernel's own high-water mark). */
export function rssSampler(everyMs = 20): { stop(): { peakMb: number; maxRssMb: number } } {
  let peak = process.memoryUsage.rss();
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
  }, everyMs);
  return {
    stop() {
      clearInterval(timer);
      peak = Math.max(peak, process.memoryUsage.rss());
      return { peakMb: peak / 1048576, maxRssMb: process.resourceUsage().maxRSS / 1024 };
    },
  };
}

export function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : NaN;
  return Number.isFinite(v) && v >= 0 ? v : fallback;
}

/** A text argument (`--name value`), else the environment variable, else undefined. */
export function textArg(name: string, env?: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  if (i >= 0 && process.argv[i + 1] !== undefined) return process.argv[i + 1];
  return env ? process.env[env] || undefined : undefined;
}

export interface BenchServer {
  /** "peer" or "real". */
  kind: 'peer' | 'real';
  url: string;
  user: string;
  password: string;
  /** The peer process (only for kind "peer"). */
  peer?: PeerProcess;
  stop(): Promise<void>;
}

/** The server a Nextcloud bench talks to: --url (a real Nextcloud) or a fresh peer process. */
export async function benchServer(opts: { passwordCheckMs?: number; minChunkMb?: number; root?: string } = {}): Promise<BenchServer> {
  const url = textArg('url', 'NEXTCLOUD_BENCH_URL');
  if (url) {
    const user = textArg('user', 'NEXTCLOUD_BENCH_USER') ?? 'admin';
    const password = textArg('password', 'NEXTCLOUD_BENCH_PASSWORD');
    if (!password) throw new Error('--url needs --password (an app password of --user), or NEXTCLOUD_BENCH_PASSWORD');
    return { kind: 'real', url: url.replace(/\/+$/, ''), user, password, stop: async () => undefined };
  }
  const peer = await startPeerProcess(opts);
  return { kind: 'peer', url: peer.url, user: 'alice', password: 'alice-app-password', peer, stop: () => peer.stop() };
}
