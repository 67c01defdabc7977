/**
 * The API gateway's reading side (flow 05): paging and filters taken from a request's query and path, with
 * safe bounds, as parameters for the shared-database queries. Plain TypeScript, no Node-RED import.
 */
import { IntegrationError, badInput } from '../clients/common/errors';
import { numberOf } from './input';

export interface Page {
  limit: number;
  offset: number;
}

type Query = Record<string, unknown>;

const int = (v: unknown) => (typeof v === 'string' && /^-?\d+$/.test(v.trim()) ? Number(v) : NaN);

/** limit 1–200 (default 50), offset 0 to 2^53 − 1 (default 0; a larger one would overflow PostgreSQL's bigint). */
export function pageOf(query: Query | undefined): Page {
  const limit = int(query?.limit);
  const offset = int(query?.offset);
  return {
    limit: Number.isFinite(limit) ? Math.min(Math.max(limit, 1), 200) : 50,
    offset: Number.isFinite(offset) ? Math.min(Math.max(offset, 0), Number.MAX_SAFE_INTEGER) : 0,
  };
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
  const id = numberOf(value);
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

const ISO_DATE = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:?\d{2})?)?$/;
const MOVEMENT_TYPES = ['in', 'out', 'adjustment'];

/** A whole number ≥ min written as digits, else undefined. */
const wholeOf = (v: unknown, min: number) => (typeof v === 'string' && /^\d{1,9}$/.test(v.trim()) && Number(v) >= min ? Number(v) : undefined);

/** An ISO 8601 date (2025-06-01) or date-time (2025-06-01T08:00:00Z), else undefined. */
function isoOf(v: unknown): { date: Date; dayOnly: boolean } | undefined {
  if (typeof v !== 'string' || !ISO_DATE.test(v.trim())) return undefined;
  const date = new Date(v.trim());
  return Number.isNaN(date.getTime()) ? undefined : { date, dayOnly: v.trim().length === 10 };
}

/**
 * GET /api/stock-movements: medication (Odoo product id), from and to (ISO dates; a day alone in `to` counts
 * whole), type (in, out, adjustment), limit 1–200 (default 50) and offset ≥ 0. Every bad value is named in one
 * 400 (BAD_INPUT with problems), nothing is guessed. SQL parameters: medication, from, to (exclusive), type,
 * limit, offset.
 */
export function stockMovementParams(query: Query | undefined): { params: unknown[]; page: Page } {
  const q = query ?? {};
  const problems: string[] = [];
  const given = (k: string) => q[k] !== undefined && q[k] !== '';
  const medication = given('medication') ? wholeOf(q.medication, 1) : null;
  if (medication === undefined) problems.push('medication must be an Odoo product id (a positive whole number)');
  const from = given('from') ? isoOf(q.from) : null;
  if (from === undefined) problems.push('from must be an ISO 8601 date (2025-06-01) or date-time (2025-06-01T08:00:00Z)');
  const to = given('to') ? isoOf(q.to) : null;
  if (to === undefined) problems.push('to must be an ISO 8601 date (2025-06-30) or date-time (2025-06-30T20:00:00Z)');
  const type = given('type') ? q.type : null;
  if (type !== null && !MOVEMENT_TYPES.includes(type as string)) problems.push('type must be in, out or adjustment');
  const limit = given('limit') ? wholeOf(q.limit, 1) : 50;
  if (limit === undefined || limit > 200) problems.push('limit must be 1 to 200');
  const offset = given('offset') ? wholeOf(q.offset, 0) : 0;
  if (offset === undefined) problems.push('offset must be a whole number ≥ 0');
  // The end is exclusive: a day alone ends at the next midnight (UTC), a date-time includes its own millisecond.
  const end = to ? new Date(to.date.getTime() + (to.dayOnly ? 86400000 : 1)) : null;
  if (from && end && from.date >= end) problems.push('from must be before to');
  if (problems.length) throw badInput('node-red', problems.join('; '), { problems });
  return {
    params: [medication, from ? from.date.toISOString() : null, end ? end.toISOString() : null, type, limit, offset],
    page: { limit: limit as number, offset: offset as number },
  };
}

/** One dependency of the gateway as GET /api/ready reports it (the clinica-readiness node measures them). */
export interface DependencyCheck {
  /** shared-db, amqp, odoo, nextcloud, keycloak. */
  name: string;
  /** The config node checked (none when the flows hold no such config node). */
  node?: string;
  state: 'up' | 'down' | 'absent';
  required: boolean;
  latencyMs?: number;
  /** Why it is down: an error code (TIMEOUT when it did not answer in time), never a host or a secret. */
  code?: string;
}

/** Readiness of the dependencies: NOT_READY (503, Retry-After) naming every required one that is down. */
export function dependenciesReady(checks: DependencyCheck[]): DependencyCheck[] {
  const down = checks.filter((c) => c.required && c.state === 'down');
  if (down.length) {
    const problems = down.map((c) => `${c.name} is down (${c.code ?? 'UNAVAILABLE'}${c.latencyMs !== undefined ? ` after ${c.latencyMs} ms` : ''})`);
    throw new IntegrationError(`not ready: ${problems.join('; ')}`, { code: 'NOT_READY', system: 'node-red', retryable: true, details: { problems, checks } });
  }
  return checks;
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
 * polls are every 30 s) is stale. `dependencies`: the systems the clinica-readiness node checked (a required one
 * down has already answered NOT_READY there), reported beside the syncs.
 */
export function readiness(
  syncs: SyncState[],
  now = Date.now(),
  staleAfterMs = 5 * 60_000,
  dependencies: DependencyCheck[] = [],
): { ready: true; dependencies: DependencyCheck[]; syncs: Array<Record<string, unknown>> } {
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
    throw new IntegrationError(`not ready: ${what}`, {
      code: 'NOT_READY',
      system: 'shared-db',
      retryable: true,
      details: { syncs: report, checks: dependencies },
    });
  }
  return { ready: true, dependencies, syncs: report };
}
