/**
 * The records of a model created or changed since a cursor, from two sources that are merged so that
 * each version of a record is emitted once:
 *
 *  - polling: a seek on (second of write_date, id). Odoo keeps write_date to the microsecond (the start of
 *    the writing transaction) but RPC gives it to the second, so the cursor is a second S and an id: every
 *    record of an earlier second, and those of S up to that id, were emitted. A poll reads the rest of S by
 *    id, then the next records by write_date; a page whose records all share one second is finished by id,
 *    so a 1,000-record import in one second is read once, page by page, and every call advances. A
 *    transaction that commits late (a user's save waits for the automation webhook) can carry a write_date
 *    older than records already emitted, so every poll also re-reads what changed since `overlapSeconds`
 *    before the previous poll started (in Odoo's clock, from its Date header), and skips versions already
 *    emitted, recognised by (id, write_date, hash of the values read);
 *  - webhooks of Odoo 17+ automation rules ({_id, _model, _action, fields…}). Odoo sends them inside the
 *    user's write, before the commit, once, with a 1 s timeout: a read right away can still return the old
 *    values, or nothing for a new record. When the rule sends write_date (to the microsecond), the record
 *    is searched with `write_date >= <sent>`, which PostgreSQL compares exactly: it answers only once the
 *    write committed. Without write_date, the values the rule sent decide. Either way the record is read
 *    until the committed state shows, then emitted; if that does not happen within `webhookWaitMs`,
 *    polling picks the change up later.
 *
 * Archived records stay visible (context active_test=False) unless `includeArchived` is false, so an
 * archive or unarchive reaches the flow like any other change.
 *
 * The cursor (second, id) and the recently emitted versions are saved through `store` after every page,
 * so a restart neither replays nor misses anything (a crash between emitting a page and saving replays
 * at most that page).
 */
import { createHash } from 'node:crypto';
import { badInput } from '../common/errors';
import type { Domain, OdooClient, OdooRecord } from './client';
import { odooDatetime } from './xmlrpc';
import { setTimeout as sleep } from 'node:timers/promises';

export interface CursorState {
  v: 1;
  /** model + domain: a changed filter starts over. */
  fingerprint: string;
  writeDate: string;
  id: number;
  /** Odoo's time when the last completed poll started. */
  polledAt?: string;
  /** Recently emitted versions: [id, write_date, hash of the values]. */
  seen: Array<[number, string, string]>;
}

export interface CursorStore {
  load(): Promise<CursorState | undefined>;
  save(state: CursorState): Promise<void>;
  /**
   * Other processes poll the same cursor (the shared database, one poller at a time by lease): every poll first
   * takes up the stored cursor when it is further on, so a process that takes over continues where the last stopped.
   */
  shared?: boolean;
}

export type ChangeSource = 'poll' | 'webhook';

export interface ChangeFeedOptions {
  client: OdooClient;
  model: string;
  domain?: Domain;
  /** Fields to read (write_date, create_date and id are always added); empty = all. */
  fields?: string[];
  pageSize?: number;
  /** 'now' (default): only changes after the first start; 'all': every record first. */
  start?: 'now' | 'all';
  /** Seconds of write_date re-read by every poll (default 10). */
  overlapSeconds?: number;
  /** How long a webhook may wait for the committed record (default 5000 ms). */
  webhookWaitMs?: number;
  store: CursorStore;
  /** At most this many emitted pairs are remembered (default 20000). */
  maxSeen?: number;
  /** Archived records are changes too (default true): searches run with active_test=False. */
  includeArchived?: boolean;
}

export interface WebhookPayload {
  _id?: unknown;
  _model?: unknown;
  _action?: unknown;
  [field: string]: unknown;
}

export type WebhookOutcome =
  | { outcome: 'emitted'; record: OdooRecord }
  | { outcome: 'duplicate'; record: OdooRecord }
  /** A later webhook for the same record arrived while this one waited: that one emits. */
  | { outcome: 'superseded'; id: number }
  | { outcome: 'not-committed'; id: number };

type Emit = (records: OdooRecord[], source: ChangeSource) => void;

const keyOf = (id: number, writeDate: string) => `${id}|${writeDate}`;
const hashOf = (r: OdooRecord) => createHash('sha1').update(JSON.stringify(r)).digest('base64').slice(0, 12);

/** 'YYYY-MM-DD HH:MM:SS' of a write_date given to the second or to the microsecond. */
function secondOf(writeDate: string): string {
  return writeDate.slice(0, 19);
}

/** The second after `second` ('YYYY-MM-DD HH:MM:SS', UTC as Odoo keeps it). */
function nextSecond(second: string): string {
  return odooDatetime(new Date(Date.parse(`${second.replace(' ', 'T')}Z`) + 1000));
}

/** A cursor position: every record of an earlier second, and those of `second` up to `id`, were read. */
interface Position {
  second: string;
  id: number;
}

const beforePos = (a: Position, b: Position) => a.second < b.second || (a.second === b.second && a.id < b.id);
const bySecondThenId = (a: OdooRecord, b: OdooRecord) => {
  const sa = secondOf(String(a.write_date ?? ''));
  const sb = secondOf(String(b.write_date ?? ''));
  return sa < sb ? -1 : sa > sb ? 1 : a.id - b.id;
};

export class ChangeFeed {
  readonly model: string;
  private readonly domain: Domain;
  private readonly fields?: string[];
  private readonly pageSize: number;
  private readonly overlapMs: number;
  private readonly webhookWaitMs: number;
  private readonly maxSeen: number;
  private readonly context?: Record<string, unknown>;
  private state?: CursorState;
  private readonly seen = new Map<string, { writeDate: string; hash: string }>();
  private ready?: Promise<void>;
  private polling?: Promise<number>;
  private saving: Promise<void> = Promise.resolve();
  /** Webhooks waiting per record id: a newer one makes the older ones stop. */
  private readonly waiting = new Map<number, number>();
  /** Search calls made (for tests and the bench: a poll must not spin). */
  calls = 0;

  constructor(private readonly options: ChangeFeedOptions) {
    if (!options.model) throw badInput('odoo', 'Odoo trigger: no model set; choose the model to watch (e.g. res.partner)');
    if (options.domain !== undefined && !Array.isArray(options.domain)) {
      throw badInput('odoo', `Odoo trigger on ${options.model}: the domain must be a list such as [["is_company", "=", false]]`);
    }
    this.model = options.model;
    this.domain = options.domain ?? [];
    this.fields = options.fields?.length ? [...new Set([...options.fields, 'write_date', 'create_date'])] : undefined;
    this.pageSize = Math.max(1, Math.min(options.pageSize ?? 200, 10000));
    this.overlapMs = Math.max(0, options.overlapSeconds ?? 10) * 1000;
    this.webhookWaitMs = Math.max(0, options.webhookWaitMs ?? 5000);
    this.maxSeen = options.maxSeen ?? 20000;
    this.context = options.includeArchived === false ? undefined : { active_test: false };
  }

  get fingerprint(): string {
    return JSON.stringify(this.options.includeArchived === false ? [this.model, this.domain] : [this.model, this.domain, 'archived']);
  }

  /** The cursor as last saved (for status and tests). */
  get cursor(): { writeDate: string; id: number } | undefined {
    return this.state ? { writeDate: this.state.writeDate, id: this.state.id } : undefined;
  }

  private search(domain: Domain, order: string, limit: number, fields = this.fields): Promise<OdooRecord[]> {
    this.calls += 1;
    return this.options.client.searchRead(this.model, { domain: [...this.domain, ...domain], fields, order, limit, context: this.context });
  }

  private async init(): Promise<void> {
    const saved = await this.options.store.load();
    if (saved && saved.v === 1 && saved.fingerprint === this.fingerprint) {
      this.state = { ...saved, writeDate: secondOf(saved.writeDate) };
      for (const [id, wd, hash] of saved.seen ?? []) this.seen.set(keyOf(id, wd), { writeDate: wd, hash });
      return;
    }
    this.seen.clear();
    this.state = { v: 1, fingerprint: this.fingerprint, writeDate: '', id: 0, seen: [] };
    if ((this.options.start ?? 'now') === 'now') {
      // "From now on": the newest second and the last id in it are the starting point; what the first polls
      // re-read of the overlap window is remembered as already seen.
      const client = this.options.client;
      const now = client.serverNow();
      const [latest] = await this.search([], 'write_date desc, id desc', 1, ['write_date']);
      this.state.polledAt = odooDatetime(now);
      if (latest && typeof latest.write_date === 'string') {
        const second = secondOf(latest.write_date);
        const [last] = await this.search(
          [
            ['write_date', '>=', second],
            ['write_date', '<', nextSecond(second)],
          ],
          'id desc',
          1,
          ['write_date'],
        );
        this.state.writeDate = second;
        this.state.id = (last ?? latest).id;
      } else {
        this.state.writeDate = odooDatetime(now);
        this.state.id = 0;
      }
      const since = odooDatetime(new Date(now.getTime() - this.overlapMs));
      await this.scan({ second: since, id: 0 }, (records) => {
        for (const r of records) this.remember(r);
      });
    }
    await this.persist();
  }

  private ensureReady(): Promise<void> {
    this.ready ??= this.init().catch((err: unknown) => {
      this.ready = undefined;
      throw err;
    });
    return this.ready;
  }

  /** true when this version of the record was not emitted yet (and remembers it). */
  private remember(r: OdooRecord): boolean {
    const wd = String(r.write_date ?? '');
    const key = keyOf(r.id, wd);
    const hash = hashOf(r);
    if (this.seen.get(key)?.hash === hash) return false;
    this.seen.set(key, { writeDate: wd, hash });
    return true;
  }

  private isSeen(r: OdooRecord): boolean {
    return this.seen.get(keyOf(r.id, String(r.write_date ?? '')))?.hash === hashOf(r);
  }

  /** Changes committed after the previous poll started carry a write_date after this (transactions < overlap). */
  private windowStart(): string {
    const state = this.state as CursorState;
    const since = state.polledAt ? Date.parse(`${state.polledAt.replace(' ', 'T')}Z`) : this.options.client.serverNow().getTime();
    return odooDatetime(new Date(Math.min(since, this.options.client.serverNow().getTime()) - this.overlapMs));
  }

  private prune(): void {
    const state = this.state as CursorState;
    const keepFrom = [this.windowStart(), state.writeDate].sort()[0];
    for (const [key, v] of this.seen) if (v.writeDate < keepFrom) this.seen.delete(key);
    if (this.seen.size > this.maxSeen) {
      const drop = [...this.seen.entries()].sort((a, b) => (a[1].writeDate < b[1].writeDate ? -1 : 1)).slice(0, this.seen.size - this.maxSeen);
      for (const [key] of drop) this.seen.delete(key);
    }
  }

  private persist(): Promise<void> {
    const state = this.state as CursorState;
    state.seen = [...this.seen.entries()].map(([k, v]) => [Number(k.slice(0, k.indexOf('|'))), v.writeDate, v.hash] as [number, string, string]);
    const snapshot: CursorState = { ...state, seen: [...state.seen] };
    // One save after the other; a failed one (the database restarting) must not fail every later save with it.
    const saved = this.saving.catch(() => undefined).then(() => this.options.store.save(snapshot));
    this.saving = saved;
    return saved;
  }

  /**
   * Reads every record after `from` (undefined: from the beginning) in (second, id) order, page by page,
   * and hands each page to `onPage` with the position it completes. Every call moves the position on:
   * the rest of the current second by id, then the next records by write_date. Of a full page read by
   * write_date, only the seconds before its last one are complete; the last second is then read by id.
   */
  private async scan(from: Position | undefined, onPage: (records: OdooRecord[], upTo: Position) => Promise<void> | void): Promise<void> {
    let pos = from;
    for (;;) {
      if (pos) {
        // The rest of pos.second, by id.
        for (;;) {
          const second: string = pos.second;
          const records = await this.search(
            [
              ['write_date', '>=', second],
              ['write_date', '<', nextSecond(second)],
              ['id', '>', pos.id],
            ],
            'id asc',
            this.pageSize,
          );
          if (records.length) {
            pos = { second, id: records[records.length - 1].id };
            await onPage(records, pos);
          }
          if (records.length < this.pageSize) break;
        }
      }
      const later = await this.search(pos ? [['write_date', '>=', nextSecond(pos.second)]] : [], 'write_date asc, id asc', this.pageSize);
      if (later.length === 0) return;
      const sorted = [...later].sort(bySecondThenId);
      const lastSecond = secondOf(String(sorted[sorted.length - 1].write_date ?? ''));
      if (later.length < this.pageSize) {
        // Everything there is: complete up to its last record.
        const last = sorted[sorted.length - 1];
        await onPage(sorted, { second: lastSecond, id: last.id });
        return;
      }
      const complete = sorted.filter((r) => secondOf(String(r.write_date ?? '')) < lastSecond);
      if (complete.length) {
        const last = complete[complete.length - 1];
        await onPage(complete, { second: secondOf(String(last.write_date ?? '')), id: last.id });
      }
      pos = { second: lastSecond, id: 0 };
    }
  }

  /** One poll (concurrent calls share the one running). Resolves with the number of records emitted. */
  poll(emit: Emit): Promise<number> {
    this.polling ??= this.runPoll(emit).finally(() => {
      this.polling = undefined;
    });
    return this.polling;
  }

  /** Takes up the stored cursor when another process moved it on (shared stores). */
  private async adopt(): Promise<void> {
    const saved = await this.options.store.load();
    const state = this.state as CursorState;
    if (!saved || saved.v !== 1 || saved.fingerprint !== this.fingerprint) return;
    const theirs: Position = { second: secondOf(saved.writeDate), id: saved.id };
    if (theirs.second !== '' && (state.writeDate === '' || beforePos({ second: state.writeDate, id: state.id }, theirs))) {
      state.writeDate = theirs.second;
      state.id = theirs.id;
    }
    if (saved.polledAt && (!state.polledAt || saved.polledAt > state.polledAt)) state.polledAt = saved.polledAt;
    for (const [id, wd, hash] of saved.seen ?? []) if (!this.seen.has(keyOf(id, wd))) this.seen.set(keyOf(id, wd), { writeDate: wd, hash });
  }

  private async runPoll(emit: Emit): Promise<number> {
    const justLoaded = !this.ready;
    await this.ensureReady();
    if (this.options.store.shared && !justLoaded) await this.adopt();
    const state = this.state as CursorState;
    const startedAt = odooDatetime(this.options.client.serverNow());
    const window: Position = { second: secondOf(this.windowStart()), id: 0 };
    const cursor: Position | undefined = state.writeDate === '' ? undefined : { second: state.writeDate, id: state.id };
    // Re-read from the overlap window when the cursor is past it (late commits), else from the cursor.
    const from = cursor && beforePos(cursor, window) ? cursor : cursor ? window : undefined;
    let emitted = 0;
    await this.scan(from, async (records, upTo) => {
      const fresh = records.filter((r) => this.remember(r));
      if (state.writeDate === '' || beforePos({ second: state.writeDate, id: state.id }, upTo)) {
        state.writeDate = upTo.second;
        state.id = upTo.id;
      }
      if (fresh.length) {
        emitted += fresh.length;
        emit(fresh, 'poll');
        await this.persist();
      }
    });
    state.polledAt = startedAt;
    this.prune();
    await this.persist();
    return emitted;
  }

  /**
   * A webhook of an automation rule: reads the record until its committed state shows, emits it once.
   * The caller answers the HTTP request at once; this may take up to webhookWaitMs.
   */
  async webhook(payload: WebhookPayload, emit: Emit): Promise<WebhookOutcome> {
    const id = typeof payload._id === 'number' ? payload._id : Number(payload._id);
    if (!Number.isInteger(id) || id <= 0) {
      throw badInput('odoo', `Odoo trigger on ${this.model}: the webhook body has no record id (_id); point the automation rule at this flow's http in node`);
    }
    if (payload._model !== undefined && payload._model !== this.model) {
      throw badInput(
        'odoo',
        `Odoo trigger on ${this.model} received a webhook for ${String(payload._model)} (record ${id}); route that rule to a trigger for ${String(payload._model)}`,
      );
    }
    await this.ensureReady();
    const sentWriteDate =
      typeof payload.write_date === 'string' && /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d{1,6})?$/.test(payload.write_date) ? payload.write_date : undefined;
    const sentFields = Object.keys(payload).filter((k) => !k.startsWith('_') && k !== 'id' && k !== 'write_date' && (!this.fields || this.fields.includes(k)));
    const deadline = Date.now() + this.webhookWaitMs;
    const generation = (this.waiting.get(id) ?? 0) + 1;
    this.waiting.set(id, generation);
    // The save usually commits within a few hundred ms of its webhook: look often at first (a search by id is
    // cheap), then back off.
    let delay = 20;
    const started = Date.now();
    for (;;) {
      if (this.waiting.get(id) !== generation) return { outcome: 'superseded', id };
      // With the exact write_date the database decides: the committed version (or a later one) matches.
      const [record] = await this.search([['id', '=', id], ...(sentWriteDate ? [['write_date', '>=', sentWriteDate]] : [])], 'id asc', 1);
      // A write_date to the microsecond is exact; one without a fraction (Odoo's str() of .000000, or a server
      // that keeps seconds) may still match the previous version of the same second: the values decide then.
      const exact = sentWriteDate !== undefined && sentWriteDate.length > 19;
      const committed =
        record !== undefined && (exact || (sentFields.length ? sentFields.every((f) => sameValue(payload[f], record[f])) : !this.isSeen(record)));
      if (record && committed) {
        if (this.waiting.get(id) === generation) this.waiting.delete(id);
        if (!this.remember(record)) return { outcome: 'duplicate', record };
        emit([record], 'webhook');
        this.prune();
        await this.persist();
        return { outcome: 'emitted', record };
      }
      if (Date.now() + delay > deadline) {
        if (this.waiting.get(id) === generation) this.waiting.delete(id);
        return { outcome: 'not-committed', id };
      }
      await sleep(delay);
      delay = Date.now() - started < 1000 ? 20 : Math.min(delay * 2, 500);
    }
  }

  /** Waits for pending saves (on close). */
  async flush(): Promise<void> {
    await this.polling?.catch(() => undefined);
    await this.saving.catch(() => undefined);
  }
}

/** A value the rule sent (read with load=None: many2one as id) against the one read ([id, name]). */
function sameValue(sent: unknown, read: unknown): boolean {
  const norm = (v: unknown): unknown => {
    if (Array.isArray(v) && v.length === 2 && typeof v[0] === 'number' && typeof v[1] === 'string') return v[0];
    if (Array.isArray(v)) return JSON.stringify([...v].sort());
    if (v === null || v === undefined || v === '') return false;
    return v;
  };
  return norm(sent) === norm(read) || JSON.stringify(norm(sent)) === JSON.stringify(norm(read));
}
