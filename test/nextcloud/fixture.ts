/**
 * What the Nextcloud client tests share: a fresh peer for each test (answering like Nextcloud 32), clients bound to
 * it that are closed after the test, and a way to catch an expected failure.
 */
import { createHash } from 'node:crypto';
import { NextcloudClient, type NextcloudClientOptions } from '../../nodes/clients/nextcloud/client';
import { NextcloudPeer, type PeerOptions } from '../../peers/nextcloud/peer';
import { MiB } from '../../peers/nextcloud/data';

export type Rejection = { code?: string; system?: string; retryable?: boolean; message: string; details?: Record<string, unknown> };

export const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** The error `p` fails with (the test fails when it succeeds). */
export async function rejection(p: Promise<unknown>): Promise<Rejection> {
  try {
    await p;
  } catch (err) {
    return err as Rejection;
  }
  throw new Error('expected a failure, got success');
}

export interface PeerFixture {
  readonly peer: NextcloudPeer;
  /** A client of user alice on the current peer (closed after the test). */
  client(extra?: Partial<NextcloudClientOptions>): NextcloudClient;
  /** Replaces the test's peer by one with other options (e.g. an older Nextcloud). */
  restart(options: PeerOptions): Promise<NextcloudPeer>;
}

/** Registers beforeEach/afterEach in the calling describe: a new peer per test, clients closed after it. */
export function usePeerPerTest(options: PeerOptions = { minChunkSize: 1 * MiB }): PeerFixture {
  let peer: NextcloudPeer | undefined;
  const clients: NextcloudClient[] = [];
  beforeEach(async function () {
    peer = await new NextcloudPeer(options).start();
  });
  afterEach(async function () {
    for (const c of clients.splice(0)) c.close();
    await peer?.close();
  });
  return {
    get peer() {
      return peer!;
    },
    client(extra = {}) {
      const c = new NextcloudClient({ url: peer!.url, username: 'alice', appPassword: 'alice-app-password', ...extra });
      clients.push(c);
      return c;
    },
    async restart(next) {
      await peer?.close();
      peer = await new NextcloudPeer(next).start();
      return peer;
    },
  };
}
