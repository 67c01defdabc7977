/**
 * A lease in the shared database: of all the Node-RED processes that run the same flows, exactly one holds a
 * lease name at a time and runs what the lease guards (the polls and reconciles of a tab). One UPSERT takes or
 * renews it (`WHERE expires_at < now() OR holder = me`); the holder renews at a third of the TTL. A holder that
 * dies stops renewing and another process takes over once the row expires (within TTL + TTL/3); one that stops
 * cleanly expires its row at once. A process considers itself the holder only until its last successful renewal
 * (measured from before the statement was sent) plus the TTL minus a margin, so it stops before another starts.
 *
 * Every process holds one `Lease` per database and name (`leaseFor`), shared by the nodes that use that name.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { errorMessage } from '../common/errors';
import type { SharedDb } from './pool';

/** This process's name in the `holder` column. */
const PROCESS_HOLDER = `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;

/** The TTL in ms from CLINICA_LEASE_TTL (seconds, default 15, at least 1). */
function leaseTtlMs(env: NodeJS.ProcessEnv = process.env): number {
  const s = Number(env.CLINICA_LEASE_TTL);
  return Number.isFinite(s) && s > 0 ? Math.round(Math.min(3600, Math.max(1, s)) * 1000) : 15000;
}

export type LeaseEvent =
  | { kind: 'acquired'; lease: string; holder: string; previous?: string; takeover: boolean }
  | { kind: 'lost'; lease: string; holder: string; reason: string }
  | { kind: 'error'; lease: string; error: string };

type Listener = (event: LeaseEvent) => void;

const ACQUIRE_SQL = `
WITH prev AS (SELECT holder, expires_at FROM leases WHERE name = $1)
INSERT INTO leases AS l (name, holder, expires_at, acquired_at)
VALUES ($1, $2, now() + make_interval(secs => $3::double precision / 1000), now())
ON CONFLICT (name) DO UPDATE
   SET holder = EXCLUDED.holder, expires_at = EXCLUDED.expires_at,
       acquired_at = CASE WHEN l.holder = EXCLUDED.holder THEN l.acquired_at ELSE now() END
 WHERE l.expires_at < now() OR l.holder = EXCLUDED.holder
RETURNING (SELECT holder FROM prev) AS previous`;

export class Lease {
  private heldUntil = 0;
  private timer?: NodeJS.Timeout;
  private first?: Promise<void>;
  private inflight?: Promise<void>;
  private running = false;
  private readonly listeners = new Set<Listener>();
  private wasHolder = false;
  private lastError?: string;
  /** Attempts made (for tests). */
  attempts = 0;

  constructor(
    private readonly db: SharedDb,
    readonly name: string,
    readonly ttlMs = leaseTtlMs(),
    readonly holder = PROCESS_HOLDER,
  ) {}

  /** true while this process holds the lease (by its own clock, with a margin). */
  get held(): boolean {
    return Date.now() < this.heldUntil;
  }

  on(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(event: LeaseEvent): void {
    for (const l of this.listeners) {
      try {
        l(event);
      } catch {
        // a listener's failure is its own
      }
    }
  }

  /** Starts taking / renewing the lease every TTL/3. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.first = this.attempt();
  }

  /** Whether this process holds the lease; waits for the first attempt after start. */
  async check(): Promise<boolean> {
    await this.first;
    return this.held;
  }

  private async attempt(): Promise<void> {
    if (!this.running) return;
    this.attempts += 1;
    const sentAt = Date.now();
    try {
      const res = await this.db.query<{ previous: string | null }>(ACQUIRE_SQL, [this.name, this.holder, this.ttlMs], `lease ${this.name}`);
      this.lastError = undefined;
      if (res.rows.length) {
        this.heldUntil = sentAt + this.ttlMs - Math.min(1000, this.ttlMs / 10);
        if (!this.wasHolder) {
          this.wasHolder = true;
          const previous = res.rows[0].previous ?? undefined;
          this.emit({ kind: 'acquired', lease: this.name, holder: this.holder, previous, takeover: previous !== undefined && previous !== this.holder });
        }
      } else {
        this.heldUntil = 0;
        if (this.wasHolder) {
          this.wasHolder = false;
          this.emit({ kind: 'lost', lease: this.name, holder: this.holder, reason: 'another process holds it' });
        }
      }
    } catch (err) {
      const message = errorMessage(err);
      if (message !== this.lastError) this.emit({ kind: 'error', lease: this.name, error: message });
      this.lastError = message;
    } finally {
      this.schedule();
    }
  }

  private schedule(): void {
    if (!this.running) return;
    const every = Math.max(100, Math.floor(this.ttlMs / 3));
    // A holder whose renewals fail notices the loss when its time is up.
    if (this.wasHolder && !this.held) {
      this.wasHolder = false;
      this.emit({ kind: 'lost', lease: this.name, holder: this.holder, reason: 'not renewed in time' });
    }
    this.timer = setTimeout(() => {
      this.inflight = this.attempt();
    }, every);
    this.timer.unref();
  }

  /** Stops renewing; a holder lets the lease expire at once so another process takes over without waiting. */
  async stop(): Promise<void> {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.first?.catch(() => undefined);
    await this.inflight?.catch(() => undefined);
    const wasHeld = this.held;
    this.heldUntil = 0;
    this.wasHolder = false;
    if (wasHeld) {
      await this.db
        .query(
          "UPDATE leases SET expires_at = now() - interval '1 millisecond' WHERE name = $1 AND holder = $2",
          [this.name, this.holder],
          `lease ${this.name}`,
        )
        .catch(() => undefined);
    }
  }
}

const registry = new WeakMap<SharedDb, Map<string, { lease: Lease; users: number }>>();

/** The process's lease of `name` on `db`, started on first use; release() stops it when its last user goes. */
export function leaseFor(db: SharedDb, name: string): { lease: Lease; created: boolean; release(): Promise<void> } {
  let byName = registry.get(db);
  if (!byName) {
    byName = new Map();
    registry.set(db, byName);
  }
  let entry = byName.get(name);
  const created = !entry;
  if (!entry) {
    entry = { lease: new Lease(db, name), users: 0 };
    byName.set(name, entry);
    entry.lease.start();
  }
  entry.users += 1;
  const held = entry;
  let released = false;
  return {
    lease: held.lease,
    created,
    release: async () => {
      if (released) return;
      released = true;
      held.users -= 1;
      if (held.users === 0) {
        byName.delete(name);
        await held.lease.stop();
      }
    },
  };
}
