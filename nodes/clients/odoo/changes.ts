/**
 * The records of a model created or changed since a cursor, from two sources that are merged so that
 * each version of a record is emitted once:
 *
 *  - polling: `write_date` ascending with the id as tie-breaker, page by page, keyset-paged from the
 *    cursor. Odoo sets write_date to the start of the writing transaction (to the second), so a
 *    transaction that commits late (a user's save waits for the automation webhook) can carry a
 *    write_date older than records already emitted, and two versions of a record can share one
 *    write_date. Every poll therefore also re-reads what changed since `overlapSeconds` before the
 *    previous poll started (in Odoo's clock, from its Date header), and skips versions already emitted,
 *    recognised by (id, write_date, hash of the values read);
 *  - webhooks of Odoo 17+ automation rules ({_id, _model, _action, fields…}). Odoo sends them inside the
 *    user's write, before the commit, once, with a 1 s timeout: a read right away can still return the old
 *    values, or nothing for a new record. The record is read until it shows the committed state — its
 *    write_date at least the one the rule sent, or every field the rule sent — and only then emitted;
 *    if that does not happen within `webhookWaitMs`, polling picks the change up later.
 *
 * The cursor (write_date, id) and the recently emitted pairs are saved through `store` after every page,
 * so a restart neither replays nor misses anything (a crash between emitting a page and saving replays
 * at most that page).
 */
import { createHash } from 'node:crypto';
import { badInput } from '../../lib/errors';
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
const before = (a: { writeDate: string; id: number }, b: { writeDate: string; id: number }) =>
  a.writeDate < b.writeDate || (a.writeDate === b.writeDate && a.id < b.id);

export class ChangeFeed {
  readonly model: string;
  private readonly domain: Domain;
  private readonly fields?: string[];
  private readonly pageSize: number;
  private readonly overlapMs: number;
  private readonly webhookWaitMs: number;
  private readonly maxSeen: number;
  private state?: CursorState;
  private readonly seen = new Map<string, { writeDate: string; hash: string }>();
  private ready?: Promise<void>;
  private polling?: Promise<number>;
  private saving: Promise<void> = Promise.resolve();
  /** Webhooks waiting per record id: a newer one makes the older ones stop. */
  private readonly waiting = new Map<number, number>();

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
  }

  get fingerprint(): string {
    return JSON.stringify([this.model, this.domain]);
  }

  /** The cursor as last saved (for status and tests). */
  get cursor(): { writeDate: string; id: number } | undefined {
    return this.state ? { writeDate: this.state.writeDate, id: this.state.id } : undefined;
  }

  private async init(): Promise<void> {
    const saved = await this.options.store.load();
    if (saved && saved.v === 1 && saved.fingerprint === this.fingerprint) {
      this.state = saved;
      for (const [id, wd, hash] of saved.seen ?? []) this.seen.set(keyOf(id, wd), { writeDate: wd, hash });
      return;
    }
    this.seen.clear();
    this.state = { v: 1, fingerprint: this.fingerprint, writeDate: '', id: 0, seen: [] };
    if ((this.options.start ?? 'now') === 'now') {
      // "From now on": what exists is the starting point, including the overlap window polls re-read.
      const client = this.options.client;
      const [latest] = await client.searchRead(this.model, { domain: this.domain, fields: ['write_date'], order: 'write_date desc, id desc', limit: 1 });
      const now = client.serverNow();
      this.state.polledAt = odooDatetime(now);
      this.state.writeDate = latest && typeof latest.write_date === 'string' ? latest.write_date : odooDatetime(now);
      this.state.id = latest ? latest.id : 0;
      const since = odooDatetime(new Date(now.getTime() - this.overlapMs));
      for await (const page of client.searchReadPages(this.model, { domain: [...this.domain, ['write_date', '>=', since]], fields: this.fields, order: 'write_date asc, id asc', pageSize: this.pageSize })) {
        for (const r of page.records) this.remember(r);
      }
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
    this.saving = this.saving.then(() => this.options.store.save(snapshot));
    return this.saving;
  }

  /** One poll (concurrent calls share the one running). Resolves with the number of records emitted. */
  poll(emit: Emit): Promise<number> {
    this.polling ??= this.runPoll(emit).finally(() => {
      this.polling = undefined;
    });
    return this.polling;
  }

  private async runPoll(emit: Emit): Promise<number> {
    await this.ensureReady();
    const state = this.state as CursorState;
    const startedAt = odooDatetime(this.options.client.serverNow());
    const window = { writeDate: this.windowStart(), id: 0 };
    let from: { writeDate: string; id: number } | undefined = state.writeDate === '' ? undefined : before(state, window) ? { writeDate: state.writeDate, id: state.id } : window;
    let emitted = 0;
    for (;;) {
      const cursorDomain = from
        ? ['|', ['write_date', '>', from.writeDate], '&', ['write_date', '=', from.writeDate], ['id', '>', from.id]]
        : [];
      const records = await this.options.client.searchRead(this.model, {
        domain: [...this.domain, ...cursorDomain], fields: this.fields, order: 'write_date asc, id asc', limit: this.pageSize,
      });
      const fresh = records.filter((r) => this.remember(r));
      const last = records[records.length - 1];
      if (last) {
        const lastKey = { writeDate: String(last.write_date ?? ''), id: last.id };
        if (before(state, lastKey)) {
          state.writeDate = lastKey.writeDate;
          state.id = lastKey.id;
        }
        from = lastKey;
      }
      if (fresh.length) {
        emitted += fresh.length;
        emit(fresh, 'poll');
      }
      if (records.length < this.pageSize) {
        state.polledAt = startedAt;
        this.prune();
        await this.persist();
        return emitted;
      }
      if (fresh.length) await this.persist();
    }
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
      throw badInput('odoo', `Odoo trigger on ${this.model} received a webhook for ${String(payload._model)} (record ${id}); route that rule to a trigger for ${String(payload._model)}`);
    }
    await this.ensureReady();
    const sentWriteDate = typeof payload.write_date === 'string' ? payload.write_date : undefined;
    const sentFields = Object.keys(payload).filter((k) => !k.startsWith('_') && k !== 'id' && k !== 'write_date' && (!this.fields || this.fields.includes(k)));
    const deadline = Date.now() + this.webhookWaitMs;
    const generation = (this.waiting.get(id) ?? 0) + 1;
    this.waiting.set(id, generation);
    let delay = 100;
    for (;;) {
      if (this.waiting.get(id) !== generation) return { outcome: 'superseded', id };
      const [record] = await this.options.client.searchRead(this.model, { domain: [...this.domain, ['id', '=', id]], fields: this.fields, limit: 1 });
      if (record) {
        const wd = String(record.write_date ?? '');
        const fieldsMatch = sentFields.length ? sentFields.every((f) => sameValue(payload[f], record[f])) : !this.isSeen(record);
        // write_date has a 1 s resolution: an equal one may still be the previous version; the values decide.
        const committed = sentWriteDate ? wd > sentWriteDate || (wd === sentWriteDate && fieldsMatch) : fieldsMatch;
        if (committed) {
          if (this.waiting.get(id) === generation) this.waiting.delete(id);
          if (!this.remember(record)) return { outcome: 'duplicate', record };
          emit([record], 'webhook');
          this.prune();
          await this.persist();
          return { outcome: 'emitted', record };
        }
      }
      if (Date.now() + delay > deadline) {
        if (this.waiting.get(id) === generation) this.waiting.delete(id);
        return { outcome: 'not-committed', id };
      }
      await sleep(delay);
      delay = Math.min(delay * 2, 1000);
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
