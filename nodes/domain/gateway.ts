/**
 * The API gateway's reading side (flow 05): paging and filters taken from a request's query and path, with
 * safe bounds, as parameters for the shared-database queries. Plain TypeScript, no Node-RED import.
 */
import { IntegrationError, badInput } from '../clients/common/errors';

export interface Page {
  limit: number;
  offset: number;
}

type Query = Record<string, unknown>;

const int = (v: unknown) => (typeof v === 'string' && /^-?\d+$/.test(v.trim()) ? Number(v) : NaN);

/** limit 1–200 (default 50), offset ≥ 0 (default 0). */
export function pageOf(query: Query | undefined): Page {
  const limit = int(query?.limit);
  const offset = int(query?.offset);
  return { limit: Number.isFinite(limit) ? Math.min(Math.max(limit, 1), 200) : 50, offset: Number.isFinite(offset) ? Math.max(offset, 0) : 0 };
}

/** A free-text search (q), trimmed, at most 100 characters; null when absent. */
export function searchOf(query: Query | undefined): string | null {
  const q = query?.q;
  return typeof q === 'string' && q.trim() ? q.trim().slice(0, 100) : null;
}

/** from/to of an appointments query: today (UTC) and a week after by default. */
export function windowOf(query: Query | undefined, now = new Date()): { from: string; to: string } {
  const parse = (v: unknown) => (typeof v === 'string' && !Number.isNaN(Date.parse(v)) ? new Date(v) : undefined);
  const from = parse(query?.from) ?? new Date(now.toISOString().slice(0, 10));
  const to = parse(query?.to) ?? new Date(from.getTime() + 7 * 86400000);
  return { from: from.toISOString(), to: to.toISOString() };
}

/** A record id in the path: a positive whole number, else BAD_INPUT. */
export function idOf(value: unknown, what: string): number {
  const id = Number(value);
  if (!Number.isInteger(id) || id <= 0) throw badInput('node-red', `the ${what} id must be a positive whole number`);
  return id;
}

export type Listing = 'patients' | 'appointments' | 'medications' | 'alerts';

/** The SQL parameters of a listing, and its page for the answer. */
export function listingParams(listing: Listing, query: Query | undefined, now?: Date): { params: unknown[]; page: Page } {
  const page = pageOf(query);
  switch (listing) {
    case 'patients':
    case 'medications':
      return { params: [searchOf(query), page.limit, page.offset], page };
    case 'appointments': {
      const w = windowOf(query, now);
      return { params: [w.from, w.to, page.limit, page.offset], page };
    }
    case 'alerts':
      return { params: [page.limit, page.offset], page };
  }
}

export interface SyncState {
  name: string;
  last_run: string | Date | null;
  last_error: string | null;
}

/**
 * Readiness (GET /api/ready): every sync of sync_state ran lately without error. /api/health stays liveness (the
 * process and its database answer); a sync that fails or stopped running makes the gateway not ready (503, with
 * the syncs concerned), so a load balancer or an operator sees it. `staleAfterMs`: a sync not run for longer (its
 * polls are every 30 s) is stale.
 */
export function readiness(syncs: SyncState[], now = Date.now(), staleAfterMs = 5 * 60_000): { ready: true; syncs: Array<Record<string, unknown>> } {
  const report = syncs.map((s) => {
    const lastRun = s.last_run ? new Date(s.last_run).getTime() : NaN;
    const stale = !Number.isFinite(lastRun) || now - lastRun > staleAfterMs;
    return {
      name: s.name,
      lastRun: Number.isFinite(lastRun) ? new Date(lastRun).toISOString() : null,
      lastError: s.last_error,
      ok: !s.last_error && !stale,
      stale,
    };
  });
  const failing = report.filter((s) => !s.ok);
  if (!syncs.length || failing.length) {
    const what = syncs.length ? failing.map((s) => `${s.name}: ${s.lastError ?? `not run since ${s.lastRun ?? 'ever'}`}`).join('; ') : 'no sync has run yet';
    throw new IntegrationError(`not ready: ${what}`, { code: 'NOT_READY', system: 'shared-db', retryable: true, details: { syncs: report } });
  }
  return { ready: true, syncs: report };
}
