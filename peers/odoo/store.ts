/**
 * The Odoo peer's ORM: models with typed fields, records in memory, Odoo's domains and orders, read
 * formatting as the ORM does it (many2one as [id, name], empty as false …), create/write/unlink with
 * x2many commands, automatic create_date/write_date (the transaction's timestamp to the microsecond, read
 * to the second, compared in domains and orders as PostgreSQL does), access rights, and transactions: a call's changes
 * stay invisible to other calls until it commits (which matters while an automation rule's webhook is
 * being sent, before the commit), and an exception rolls every change of the call back.
 */
import { AccessError, KeyErr, PgError, TypeErr, UserError, ValidationError, ValueErr, leafRepr, missingRecord, pyRepr } from './python';
import { performance } from 'node:perf_hooks';

export type FieldType =
  | 'char'
  | 'text'
  | 'html'
  | 'integer'
  | 'float'
  | 'monetary'
  | 'boolean'
  | 'date'
  | 'datetime'
  | 'selection'
  | 'many2one'
  | 'one2many'
  | 'many2many'
  | 'binary'
  | 'json';

export type Rec = Record<string, unknown> & { id: number };

export interface Env {
  uid: number;
  /** The model the called method belongs to. */
  model?: string;
  context: Record<string, unknown>;
  txn: Txn;
  registry: Registry;
}

export interface FieldDef {
  name: string;
  type: FieldType;
  string: string;
  relation?: string;
  /** one2many: the many2one on the other side. */
  inverse?: string;
  /** x2many: context added when records are created through this field (e.g. default_usage). */
  context?: Record<string, unknown>;
  required?: boolean;
  readonly?: boolean;
  /** false for computed and related fields (default true). */
  store?: boolean;
  compute?: (env: Env, rec: Rec) => unknown;
  /** Related: read and written through this path (e.g. ['product_tmpl_id', 'list_price']). */
  related?: string[];
  selection?: Array<[string, string]>;
  default?: unknown | ((env: Env) => unknown);
  custom?: boolean;
  /** Depends on other models' data: its reads are never cached. */
  volatile?: boolean;
}

export interface MethodDef {
  /** 'model' methods take no ids (@api.model); 'records' take ids as their first positional argument. */
  api: 'model' | 'records';
  /** Python parameter names after self, in order. */
  params: string[];
  readOnly?: boolean;
  fn: (env: Env, ids: number[], p: Record<string, unknown>) => unknown;
}

export interface ModelHooks {
  /** Adjusts or checks values before a create (vals is a copy). */
  beforeCreate?(env: Env, vals: Record<string, unknown>): void;
  afterCreate?(env: Env, rec: Rec, vals: Record<string, unknown>): void;
  beforeWrite?(env: Env, ids: number[], vals: Record<string, unknown>): void;
  afterWrite?(env: Env, ids: number[], vals: Record<string, unknown>): void;
  beforeUnlink?(env: Env, ids: number[]): void;
  /** Python constraints (@api.constrains) and SQL constraints, after create/write. */
  check?(env: Env, ids: number[]): void;
}

export interface ModelDef {
  name: string;
  description: string;
  module: string;
  fields: Map<string, FieldDef>;
  order: string;
  recName?: string;
  mailThread?: boolean;
  /** _inherits: fields of `model` are readable and writable here through `field`. */
  inherits?: { model: string; field: string };
  methods: Record<string, MethodDef>;
  hooks: ModelHooks;
  displayName?: (env: Env, rec: Rec) => string;
  custom?: boolean;
  /** Internal models are never exposed through ir.model. */
  transient?: boolean;
}

export interface UserDef {
  id: number;
  login: string;
  password: string;
  apiKey?: string;
  name: string;
  partnerId: number;
  /** Can read but never create, write or unlink. */
  readOnly?: boolean;
  /** Models this user may not touch at all. */
  deniedModels?: string[];
  admin?: boolean;
}

export interface AccessRule {
  groupId: number | false;
  read: boolean;
  write: boolean;
  create: boolean;
  unlink: boolean;
}

export interface ChangeEvent {
  model: string;
  op: 'create' | 'write' | 'unlink';
  ids: number[];
  /** Stored fields written. */
  fields: Set<string>;
  /** Values before the change (write), to evaluate pre-domains. */
  before?: Map<number, Rec>;
  /** Values right after the change (write): what an automation rule sees at that moment. */
  after?: Map<number, Rec>;
}

export class Txn {
  private static next = 1;
  readonly id = Txn.next++;
  /** Record key → value before this transaction touched it (null: created by it). */
  readonly touched = new Map<string, Rec | null>();
  readonly events: ChangeEvent[] = [];
  constructor(readonly now: string) {}
}

const keyOf = (model: string, id: number) => `${model}#${id}`;
const MAGIC: Array<[string, FieldType, string, string?]> = [
  ['id', 'integer', 'ID'],
  ['display_name', 'char', 'Display Name'],
  ['create_date', 'datetime', 'Created on'],
  ['create_uid', 'many2one', 'Created by', 'res.users'],
  ['write_date', 'datetime', 'Last Updated on'],
  ['write_uid', 'many2one', 'Last Updated by', 'res.users'],
];

/** A datetime as Odoo writes it over RPC and in its fields: to the second ('YYYY-MM-DD HH:MM:SS'). */
export function odooNow(d = new Date()): string {
  return d.toISOString().slice(0, 19).replace('T', ' ');
}

/**
 * The transaction timestamp as PostgreSQL's now() gives it to Odoo's cr.now(): to the microsecond
 * ('YYYY-MM-DD HH:MM:SS.ffffff'). create_date and write_date are stored with it; `micro` (0–999) adds
 * the microseconds below the millisecond that a Date cannot hold.
 */
function odooNowMicro(d = new Date(), micro = 0): string {
  return `${odooNow(d)}.${String(d.getUTCMilliseconds() * 1000 + micro).padStart(6, '0')}`;
}

/** A stored datetime as an ordered key: always 'YYYY-MM-DD HH:MM:SS.ffffff'. */
function datetimeKey(v: string): string {
  if (v.length === 19) return `${v}.000000`;
  if (v.length > 20 && v.length < 26) return v.padEnd(26, '0');
  return v;
}

/** A stored datetime as Python's str(datetime) writes it: microseconds only when not zero (webhook bodies). */
export function pyDatetimeStr(v: string): string {
  const k = datetimeKey(v);
  return k.endsWith('.000000') ? k.slice(0, 19) : k;
}

const DT_RE = /^\s*(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T]+(\d{1,2}):(\d{1,2})(?::(\d{1,2})(?:\.(\d*))?)?)?\s*(?:Z|UTC|[+-]\d{1,2}(?::?\d{2})?)?\s*$/i;

/**
 * A domain value compared with a datetime column, as PostgreSQL casts it to `timestamp` (Odoo 18 hands
 * the string to SQL unchanged): 'T' or ' ', optional seconds and fraction, a time zone that a timestamp
 * without time zone ignores; anything else fails like psycopg2 does. Returns the ordered key.
 */
function sqlTimestamp(value: unknown): string {
  const text = String(value);
  const m = DT_RE.exec(text);
  if (!m) throw PgError('InvalidDatetimeFormat', `invalid input syntax for type timestamp: "${text}"`);
  const [y, mo, d, h = '0', mi = '0', s = '0', frac = ''] = m.slice(1);
  const nums = [Number(y), Number(mo), Number(d), Number(h), Number(mi), Number(s)];
  const days = new Date(Date.UTC(nums[0], nums[1], 0)).getUTCDate();
  if (nums[1] < 1 || nums[1] > 12 || nums[2] < 1 || nums[2] > days || nums[3] > 24 || nums[4] > 59 || nums[5] > 60) {
    throw PgError('DatetimeFieldOverflow', `date/time field value out of range: "${text}"\nHINT:  Perhaps you need a different "datestyle" setting.`);
  }
  // PostgreSQL keeps microseconds and rounds what lies beyond.
  let micro = Math.round(Number(`0.${frac || '0'}`) * 1e6);
  const base = Date.UTC(nums[0], nums[1] - 1, nums[2], nums[3], nums[4], nums[5]);
  const ms = base + Math.floor(micro / 1000);
  micro %= 1000;
  return odooNowMicro(new Date(ms), micro);
}

const DATETIME_FORMAT = '%Y-%m-%d %H:%M:%S';
const FORMAT_PART: Record<string, string> = {
  '%Y': '(\\d{4})',
  '%m': '(\\d{1,2})',
  '%d': '(\\d{1,2})',
  '%H': '(\\d{1,2})',
  '%M': '(\\d{1,2})',
  '%S': '(\\d{1,2})',
};

/**
 * fields.Datetime.to_datetime(value): datetime.strptime(value, DATETIME_FORMAT[:len(value)-2]), so a
 * date, a date with hours and minutes, or the full second format; microseconds, 'T' or a time zone fail
 * with strptime's own ValueError. Returns 'YYYY-MM-DD HH:MM:SS'.
 */
function toOdooDatetime(value: string): string {
  const fmt = DATETIME_FORMAT.slice(0, Math.max(0, value.length - 2));
  const parts = fmt.split(/(%[YmdHMS])/).filter(Boolean);
  const re = new RegExp(`^${parts.map((p) => FORMAT_PART[p] ?? p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('')}`);
  const m = re.exec(value);
  if (!m || !fmt) throw ValueErr(`time data ${pyRepr(value)} does not match format ${pyRepr(fmt)}`);
  if (m[0].length < value.length) throw ValueErr(`unconverted data remains: ${value.slice(m[0].length)}`);
  const n = m.slice(1).map(Number);
  const [y, mo, d, h = 0, mi = 0, s = 0] = n;
  const days = new Date(Date.UTC(y, mo, 0)).getUTCDate();
  if (mo < 1 || mo > 12 || d < 1 || d > days || h > 23 || mi > 59 || s > 61) throw ValueErr(`time data ${pyRepr(value)} does not match format ${pyRepr(fmt)}`);
  const p2 = (x: number) => String(x).padStart(2, '0');
  return `${y}-${p2(mo)}-${p2(d)} ${p2(h)}:${p2(mi)}:${p2(Math.min(s, 59))}`;
}

export function makeModel(
  name: string,
  description: string,
  module: string,
  fields: Array<Omit<FieldDef, 'string'> & { string?: string }>,
  extra: Partial<ModelDef> = {},
): ModelDef {
  const map = new Map<string, FieldDef>();
  for (const [fname, type, string, relation] of MAGIC) {
    map.set(fname, {
      name: fname,
      type,
      string,
      relation,
      store: fname !== 'display_name',
      readonly: true,
      compute: fname === 'display_name' ? (env, rec) => env.registry.displayName(env, name, rec) : undefined,
    });
  }
  for (const f of fields) map.set(f.name, { string: f.name.replace(/_/g, ' ').replace(/^./, (c) => c.toUpperCase()), ...f });
  return { name, description, module, fields: map, order: 'id', recName: map.has('name') ? 'name' : undefined, methods: {}, hooks: {}, ...extra };
}

/** A mutual-exclusion lock for writing calls (Postgres row locks, roughly). */
class Mutex {
  private tail: Promise<void> = Promise.resolve();
  async lock(): Promise<() => void> {
    let release!: () => void;
    const next = new Promise<void>((r) => {
      release = r;
    });
    const prev = this.tail;
    this.tail = prev.then(() => next);
    await prev;
    return release;
  }
}

export class Registry {
  private static instances = 0;
  /** Distinguishes peers of one process in the shared serialisation cache. */
  readonly instance = ++Registry.instances;
  readonly models = new Map<string, ModelDef>();
  readonly tables = new Map<string, Map<number, Rec>>();
  private readonly nextIds = new Map<string, number>();
  readonly installed = new Set<string>();
  /** Uncommitted changes: what other transactions still see. */
  private readonly shield = new Map<string, { txn: number; pre: Rec | null }>();
  /** Per-model change counter, for the serialisation cache. */
  readonly epochs = new Map<string, number>();
  /** Access rules the ORM sees (a cache, refreshed only by clearCaches, like Odoo's ormcache). */
  readonly accessCache = new Map<string, AccessRule[]>();
  readonly users = new Map<number, UserDef>();
  private readonly idCache = new Map<string, { ids: number[]; size: number; epoch: number }>();
  readonly writeLock = new Mutex();
  /** Measured on Odoo 18: a separately created ir.model.access is not seen until the caches clear. */
  staleAccessCache = true;
  /** E-mails the peer's Odoo "sent" (the send wizard with the e-mail method). */
  readonly sentMail: Array<{ model: string; resId: number; partnerId: number; attachmentId: number }> = [];
  clock: () => Date = () => new Date();
  /** Set by setClock: the timestamps come from a fixed clock (to the millisecond). */
  fixedClock = false;

  constructor(readonly version: number) {}

  /** A transaction's timestamp, to the microsecond (PostgreSQL now() at the transaction start). */
  transactionNow(): string {
    if (this.fixedClock) return odooNowMicro(this.clock());
    // Microseconds from the monotonic clock, never twice the same value nor going back.
    let us = Math.floor((performance.timeOrigin + performance.now()) * 1000);
    if (us <= this.lastMicros) us = this.lastMicros + 1;
    this.lastMicros = us;
    return odooNowMicro(new Date(Math.floor(us / 1000)), us % 1000);
  }

  private lastMicros = 0;

  define(def: ModelDef): void {
    this.models.set(def.name, def);
    if (!this.tables.has(def.name)) this.tables.set(def.name, new Map());
    if (!this.nextIds.has(def.name)) this.nextIds.set(def.name, 1);
  }

  /** The model if it exists and its module is installed. */
  model(name: string): ModelDef | undefined {
    const def = this.models.get(name);
    return def && (def.custom || this.installed.has(def.module)) ? def : undefined;
  }

  modelOrFail(name: string): ModelDef {
    const def = this.model(name);
    if (!def) throw UserError(`Object ${name} doesn't exist`);
    return def;
  }

  bump(model: string): void {
    this.epochs.set(model, (this.epochs.get(model) ?? 0) + 1);
  }

  reserveId(model: string, atLeast?: number): number {
    const next = Math.max(this.nextIds.get(model) ?? 1, atLeast ?? 0);
    this.nextIds.set(model, next + 1);
    return next;
  }

  // --------------------------------------------------------------------------------- visibility

  /** The record as `env`'s transaction sees it. */
  get(env: Env | undefined, model: string, id: number): Rec | undefined {
    if (this.shield.size) {
      const s = this.shield.get(keyOf(model, id));
      if (s && (!env || s.txn !== env.txn.id)) return s.pre ?? undefined;
    }
    return this.tables.get(model)?.get(id);
  }

  /** All visible ids of a model, ascending. */
  *ids(env: Env | undefined, model: string): Generator<number> {
    const table = this.tables.get(model);
    if (!table) return;
    if (!this.shield.size) {
      yield* table.keys();
      return;
    }
    for (const id of table.keys()) {
      const s = this.shield.get(keyOf(model, id));
      if (s && (!env || s.txn !== env.txn.id) && s.pre === null) continue;
      yield id;
    }
  }

  /** Remembers a record's value before `env` changes it (for rollback and for the other readers). */
  private touch(env: Env, model: string, id: number, pre: Rec | null): void {
    const key = keyOf(model, id);
    if (env.txn.touched.has(key)) return;
    env.txn.touched.set(key, pre ? { ...pre } : null);
    this.shield.set(key, { txn: env.txn.id, pre: pre ? { ...pre } : null });
  }

  commit(txn: Txn): void {
    for (const key of txn.touched.keys()) {
      const s = this.shield.get(key);
      if (s && s.txn === txn.id) this.shield.delete(key);
      this.bump(key.slice(0, key.indexOf('#')));
    }
  }

  rollback(txn: Txn): void {
    for (const [key, pre] of txn.touched) {
      const [model, idText] = key.split('#');
      const table = this.tables.get(model);
      if (!table) continue;
      if (pre === null) table.delete(Number(idText));
      else table.set(Number(idText), pre);
      this.bump(model);
      const s = this.shield.get(key);
      if (s && s.txn === txn.id) this.shield.delete(key);
    }
  }

  // ------------------------------------------------------------------------------------- access

  user(env: Env): UserDef {
    const u = this.users.get(env.uid);
    if (!u) throw KeyErr(String(env.uid));
    return u;
  }

  checkAccess(env: Env, model: string, op: 'read' | 'write' | 'create' | 'unlink'): void {
    const def = this.modelOrFail(model);
    const user = this.users.get(env.uid);
    const verb = { read: 'access', write: 'modify', create: 'create', unlink: 'delete' }[op];
    const refuse = (groups: string) =>
      AccessError(
        `You are not allowed to ${verb} '${def.description}' (${model}) records.\n\n${groups}\n\nContact your administrator to request access if necessary.`,
      );
    if (!user || env.uid === 1) return;
    if (user.deniedModels?.includes(model)) throw refuse('This operation is allowed for the following groups:\n\t- Administration/Settings');
    if (user.readOnly && op !== 'read') throw refuse('This operation is allowed for the following groups:\n\t- Role / User');
    if (def.custom) {
      const rules = this.accessCache.get(model) ?? [];
      if (!rules.some((r) => r[op])) throw refuse('No group currently allows this operation.');
    }
  }

  // ----------------------------------------------------------------------------------- values

  field(def: ModelDef, fname: string): FieldDef | undefined {
    const own = def.fields.get(fname);
    if (own) return own;
    if (def.inherits) {
      const parent = this.models.get(def.inherits.model);
      const pf = parent?.fields.get(fname);
      if (pf && !['id', 'display_name', 'create_date', 'create_uid', 'write_date', 'write_uid'].includes(fname)) {
        return { ...pf, store: false, related: [def.inherits.field, fname], compute: undefined };
      }
    }
    return undefined;
  }

  allFieldNames(def: ModelDef): string[] {
    const names = [...def.fields.keys()];
    if (def.inherits) {
      for (const f of this.models.get(def.inherits.model)?.fields.keys() ?? []) if (!def.fields.has(f)) names.push(f);
    }
    return names;
  }

  /** The internal value: many2one as id or false, x2many as ids, empty as false. */
  raw(env: Env | undefined, def: ModelDef, rec: Rec, fname: string): unknown {
    const f = this.field(def, fname);
    if (!f) return false;
    if (fname === 'id') return rec.id;
    if (f.related) {
      let current: Rec | undefined = rec;
      let currentDef: ModelDef | undefined = def;
      for (let i = 0; i < f.related.length - 1; i++) {
        const link = this.raw(env, currentDef, current, f.related[i]);
        const relField: FieldDef | undefined = this.field(currentDef, f.related[i]);
        if (!link || !relField?.relation) return emptyOf(f);
        currentDef = this.models.get(relField.relation);
        current = currentDef ? this.get(env, currentDef.name, link as number) : undefined;
        if (!current || !currentDef) return emptyOf(f);
      }
      return this.raw(env, currentDef, current, f.related[f.related.length - 1]);
    }
    if (f.compute) return env ? f.compute(env, rec) : emptyOf(f);
    if (f.type === 'one2many') {
      if (!f.relation || !f.inverse) return [];
      const out: number[] = [];
      for (const id of this.ids(env, f.relation)) {
        const r = this.get(env, f.relation, id);
        if (r && r[f.inverse] === rec.id) out.push(id);
      }
      return out;
    }
    const v = rec[fname];
    if (v === undefined || v === null) return emptyOf(f);
    if (f.type === 'many2many' && Array.isArray(v) && f.relation) return v.filter((id) => this.get(env, f.relation as string, id as number));
    return v;
  }

  displayName(env: Env, model: string, rec: Rec): string {
    const def = this.models.get(model);
    if (!def) return `${model},${rec.id}`;
    if (def.displayName) return def.displayName(env, rec);
    if (def.recName) {
      const v = this.raw(env, def, rec, def.recName);
      if (v !== false && v !== null && v !== undefined && v !== '') return String(v);
    }
    return `${def.description},${rec.id}`;
  }

  /** A field's value as read() returns it. */
  format(env: Env, def: ModelDef, rec: Rec, fname: string, load: string | null): unknown {
    const f = this.field(def, fname);
    if (!f) return false;
    const v = this.raw(env, def, rec, fname);
    switch (f.type) {
      case 'many2one': {
        if (!v || !f.relation) return false;
        if (load === null) return v;
        const target = this.get(env, f.relation, v as number);
        return target ? [v, this.displayName(env, f.relation, target)] : false;
      }
      case 'integer':
        return typeof v === 'number' ? v : 0;
      case 'float':
      case 'monetary':
        return typeof v === 'number' ? v : 0;
      case 'boolean':
        return Boolean(v);
      case 'one2many':
      case 'many2many':
        return Array.isArray(v) ? v : [];
      case 'datetime':
        // Stored to the microsecond (create_date, write_date); RPC gives Datetime.to_string(): the second.
        return typeof v === 'string' && v ? v.slice(0, 19) : false;
      default:
        return v === '' && f.type !== 'char' ? false : v;
    }
  }

  // ------------------------------------------------------------------------------------- domains

  compileDomain(env: Env, def: ModelDef, domain: unknown): (rec: Rec) => boolean {
    if (domain === undefined || domain === null || domain === false) return () => true;
    if (!Array.isArray(domain)) throw ValueErr(`Invalid domain: ${pyRepr(domain)}`);
    let i = 0;
    const parse = (): ((rec: Rec) => boolean) => {
      if (i >= domain.length) throw ValueErr(`Domain ${pyRepr(domain)} is syntactically not correct.`);
      const item = domain[i++];
      if (item === '&' || item === '|') {
        const a = parse();
        const b = parse();
        return item === '&' ? (r) => a(r) && b(r) : (r) => a(r) || b(r);
      }
      if (item === '!') {
        const a = parse();
        return (r) => !a(r);
      }
      if (Array.isArray(item) && item.length === 3) return this.compileLeaf(env, def, item);
      throw ValueErr(`Invalid leaf ${Array.isArray(item) ? leafRepr(item) : pyRepr(item)}`);
    };
    const parts: Array<(rec: Rec) => boolean> = [];
    while (i < domain.length) parts.push(parse());
    if (parts.length === 0) return () => true;
    if (parts.length === 1) return parts[0];
    return (r) => parts.every((p) => p(r));
  }

  private compileLeaf(env: Env, def: ModelDef, leaf: unknown[]): (rec: Rec) => boolean {
    const [left, rawOp, value] = leaf;
    if ((left === 1 || left === 0) && rawOp === '=' && value === 1) return left === 1 ? () => true : () => false;
    if (typeof left !== 'string' || typeof rawOp !== 'string') throw ValueErr(`Invalid leaf ${leafRepr(leaf)}`);
    const op = rawOp === '<>' ? '!=' : rawOp.toLowerCase();
    if (!OPERATORS.has(op)) throw ValueErr(`Invalid leaf ${leafRepr(leaf)}`);
    const path = left.split('.');
    const f = this.field(def, path[0]);
    if (!f) throw ValueErr(`Invalid field ${def.name}.${path[0]} in leaf ${leafRepr(leaf)}`);
    if (path.length > 1) {
      if (!f.relation) throw ValueErr(`Invalid field ${def.name}.${left} in leaf ${leafRepr(leaf)}`);
      const target = this.modelOrFail(f.relation);
      const sub = this.compileLeaf(env, target, [path.slice(1).join('.'), op, value]);
      return (rec) => {
        const v = this.raw(env, def, rec, path[0]);
        const ids = Array.isArray(v) ? (v as number[]) : v ? [v as number] : [];
        const any = ids.some((id) => {
          const t = this.get(env, target.name, id);
          return t ? sub(t) : false;
        });
        return op === '!=' || op.startsWith('not') ? any || ids.length === 0 : any;
      };
    }
    checkLeafValue(def, f, op, value, leaf);
    if (
      (f.type === 'many2one' || f.type === 'many2many' || f.type === 'one2many') &&
      f.relation &&
      (typeof value === 'string' || (Array.isArray(value) && value.some((x) => typeof x === 'string')))
    ) {
      // Odoo resolves names given for a relational field with a name search on the target.
      const target = this.modelOrFail(f.relation);
      const names = Array.isArray(value) ? value : [value];
      const nameOp = op === 'in' || op === 'not in' || op === '=' || op === '!=' ? '=' : op.replace('not ', '');
      const matchIds = new Set<number>();
      for (const id of this.ids(env, target.name)) {
        const t = this.get(env, target.name, id);
        if (t && names.some((n) => compare(this.displayName(env, target.name, t), nameOp, n))) matchIds.add(id);
      }
      const negative = op === '!=' || op.startsWith('not');
      return (rec) => {
        const v = this.raw(env, def, rec, f.name);
        const ids = Array.isArray(v) ? (v as number[]) : v ? [v as number] : [];
        const hit = ids.some((id) => matchIds.has(id));
        return negative ? !hit : hit;
      };
    }
    if (f.type === 'datetime' && value !== false && value !== null && value !== undefined && !op.includes('like') && op !== '=?') {
      // expression.py completes a date-only string (23:59:59 for > and <=), then PostgreSQL compares
      // with the stored value to the microsecond.
      let right = value;
      if (typeof right === 'string' && right.length === 10) right = `${right} ${op === '>' || op === '<=' ? '23:59:59' : '00:00:00'}`;
      const key = (x: unknown) => (x === false || x === null ? false : sqlTimestamp(x === true ? 'True' : x));
      const wanted = Array.isArray(right) ? right.map(key) : key(right);
      return (rec) => {
        const v = this.raw(env, def, rec, f.name);
        return compare(typeof v === 'string' && v ? datetimeKey(v) : v, op, wanted, f.type);
      };
    }
    const x2many = f.type === 'one2many' || f.type === 'many2many';
    return (rec) => {
      const v = f.name === 'id' ? rec.id : this.raw(env, def, rec, f.name);
      if (x2many) return matchX2many(v as number[], op, value);
      return compare(v, op, value, f.type);
    };
  }

  // --------------------------------------------------------------------------------------- order

  sorter(env: Env, def: ModelDef, order: string | undefined): ((a: Rec, b: Rec) => number) | null {
    const spec = (order ?? def.order ?? 'id').trim() || 'id';
    if (/^id( asc)?$/i.test(spec)) return null; // tables iterate in id order already
    const parts = spec
      .split(',')
      .map((p) => p.trim())
      .filter(Boolean)
      .map((p) => {
        const m = /^([\w.]+)(?:\s+(asc|desc))?(?:\s+nulls\s+(first|last))?$/i.exec(p);
        if (!m) {
          throw ValueErr(
            `Invalid "order" specified (${spec}). A valid "order" specification is a comma-separated list of valid field names (optionally followed by asc/desc for the direction)`,
          );
        }
        const f = this.field(def, m[1]);
        if (!f) throw ValueErr(`Invalid field '${m[1]}' on model '${def.name}'`);
        return { f, desc: (m[2] ?? '').toLowerCase() === 'desc' };
      });
    const key = (rec: Rec, f: FieldDef): unknown => {
      const v = f.name === 'id' ? rec.id : this.raw(env, def, rec, f.name);
      if (f.type === 'many2one' && v && f.relation) {
        const t = this.get(env, f.relation, v as number);
        return t ? this.displayName(env, f.relation, t) : null;
      }
      if (f.type === 'datetime' && typeof v === 'string' && v) return datetimeKey(v);
      return v === false && f.type !== 'boolean' ? null : v;
    };
    return (a, b) => {
      for (const { f, desc } of parts) {
        const va = key(a, f);
        const vb = key(b, f);
        if (va === vb) continue;
        // PostgreSQL: NULLs last ascending, first descending.
        if (va === null || va === undefined) return desc ? -1 : 1;
        if (vb === null || vb === undefined) return desc ? 1 : -1;
        const c = (va as number | string) < (vb as number | string) ? -1 : 1;
        return desc ? -c : c;
      }
      return a.id - b.id;
    };
  }

  // ------------------------------------------------------------------------------------ search/read

  /** Ids of a table in ascending order, cached until a record is created or deleted. */
  private sortedIds(model: string): number[] {
    const table = this.tables.get(model);
    if (!table) return [];
    const cached = this.idCache.get(model);
    if (cached && cached.size === table.size && cached.epoch === this.epochs.get(model)) return cached.ids;
    const ids = [...table.keys()];
    this.idCache.set(model, { ids, size: table.size, epoch: this.epochs.get(model) ?? 0 });
    return ids;
  }

  /**
   * The ids worth testing for a domain: when it is a plain AND of conditions (no operators) with
   * id =, in, > or >=, only those (an index, as PostgreSQL would use); else every id.
   */
  private candidateIds(env: Env, model: string, domain: unknown): Iterable<number> {
    if (!Array.isArray(domain) || domain.some((t) => typeof t === 'string')) return this.ids(env, model);
    let set: number[] | undefined;
    let lower = -Infinity;
    for (const t of domain) {
      if (!Array.isArray(t) || t[0] !== 'id') continue;
      if (t[1] === '=' && Number.isInteger(t[2])) set = [t[2] as number];
      else if (t[1] === 'in' && Array.isArray(t[2]) && t[2].every((x) => Number.isInteger(x))) set = [...new Set(t[2] as number[])].sort((a, b) => a - b);
      else if ((t[1] === '>' || t[1] === '>=') && Number.isInteger(t[2])) lower = Math.max(lower, (t[2] as number) + (t[1] === '>' ? 1 : 0));
    }
    if (set) return set.filter((id) => id >= lower && this.get(env, model, id));
    if (lower === -Infinity) return this.ids(env, model);
    const ids = this.sortedIds(model);
    let lo = 0;
    let hi = ids.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (ids[mid] < lower) lo = mid + 1;
      else hi = mid;
    }
    const tail = ids.slice(lo);
    return this.shield.size ? tail.filter((id) => this.get(env, model, id)) : tail;
  }

  search(env: Env, model: string, domain: unknown, opts: { offset?: unknown; limit?: unknown; order?: unknown } = {}): number[] {
    const def = this.modelOrFail(model);
    this.checkAccess(env, model, 'read');
    // ir.attachment._search: attachments of binary fields (res_field set) stay out unless asked for.
    if (
      model === 'ir.attachment' &&
      !env.context.skip_res_field_check &&
      !(Array.isArray(domain) && domain.some((x) => Array.isArray(x) && (x[0] === 'id' || x[0] === 'res_field')))
    ) {
      domain = [['res_field', '=', false], ...(Array.isArray(domain) ? domain : [])];
    }
    const match = this.compileDomain(env, def, withActiveTest(env, def, domain));
    const offset = toInt(opts.offset, 'offset') ?? 0;
    const limit = toInt(opts.limit, 'limit');
    const sorter = this.sorter(env, def, typeof opts.order === 'string' ? opts.order : undefined);
    if (!sorter) {
      const out: number[] = [];
      let skipped = 0;
      for (const id of this.candidateIds(env, model, domain)) {
        const rec = this.get(env, model, id);
        if (!rec || !match(rec)) continue;
        if (skipped < offset) {
          skipped++;
          continue;
        }
        out.push(id);
        if (limit && out.length >= limit) break;
      }
      return out;
    }
    const recs: Rec[] = [];
    for (const id of this.candidateIds(env, model, domain)) {
      const rec = this.get(env, model, id);
      if (rec && match(rec)) recs.push(rec);
    }
    recs.sort(sorter);
    const sliced = recs.slice(offset, limit ? offset + limit : undefined);
    return sliced.map((r) => r.id);
  }

  read(env: Env, model: string, ids: number[], fields: unknown, load: string | null = '_classic_read'): Rec[] {
    const def = this.modelOrFail(model);
    this.checkAccess(env, model, 'read');
    const names = this.fieldList(def, fields);
    // Odoo 18 fetches what exists: a missing id is left out of the answer, never an error.
    ids = ids.filter((id) => this.get(env, model, id));
    // While a transaction is uncommitted, what a reader sees depends on who reads: never cache then.
    const cacheable =
      this.shield.size === 0 &&
      names.every((n) => {
        const f = this.field(def, n);
        return f && !f.volatile && !f.related && (!f.compute || n === 'display_name') && f.type !== 'one2many';
      });
    const sig = cacheable ? this.cacheSignature(def, names, load) : undefined;
    return ids.map((id) => {
      const rec = this.get(env, model, id) as Rec;
      const out: Rec = { id };
      for (const n of names) if (n !== 'id') out[n] = this.format(env, def, rec, n, load);
      if (sig) Object.defineProperty(out, CACHE_KEY, { value: `${this.instance}:${model}:${id}:${sig}`, enumerable: false });
      return out;
    });
  }

  private cacheSignature(def: ModelDef, names: string[], load: string | null): string {
    const models = new Set([def.name]);
    for (const n of names) {
      const rel = this.field(def, n)?.relation;
      if (rel) models.add(rel);
    }
    return `${names.join(',')}:${load}:${[...models].map((m) => `${m}@${this.epochs.get(m) ?? 0}`).join(',')}`;
  }

  fieldList(def: ModelDef, fields: unknown): string[] {
    if (fields === undefined || fields === null || fields === false || (Array.isArray(fields) && fields.length === 0)) {
      return this.allFieldNames(def).filter((n) => this.field(def, n)?.type !== 'binary' || def.name === 'ir.attachment');
    }
    if (!Array.isArray(fields)) throw TypeErr(`fields must be a list of field names, got ${pyRepr(fields)}`);
    const out = ['id'];
    for (const n of fields) {
      if (typeof n !== 'string' || !this.field(def, n)) throw ValueErr(`Invalid field ${pyRepr(n)} on model ${pyRepr(def.name)}`);
      if (n !== 'id') out.push(n);
    }
    return out;
  }

  // ------------------------------------------------------------------------------------ writing

  /** Validates and converts one value for storage (x2many commands are handled by the caller). */
  convert(env: Env, def: ModelDef, f: FieldDef, value: unknown): unknown {
    if (value === null || value === undefined || value === false) {
      if (f.type === 'boolean') return false;
      return f.type === 'many2many' ? [] : false;
    }
    const where = `${def.name}.${f.name}`;
    switch (f.type) {
      case 'char':
      case 'text':
      case 'html':
        if (typeof value === 'object') throw PgError('ProgrammingError', `can't adapt type 'dict'`);
        return String(value);
      case 'selection': {
        const v = String(value);
        if (f.selection && !f.selection.some(([k]) => k === v)) throw ValueErr(`Wrong value for ${where}: ${pyRepr(value)}`);
        return v;
      }
      case 'integer':
      case 'many2one': {
        const n = typeof value === 'number' ? value : typeof value === 'string' && /^-?\d+$/.test(value.trim()) ? Number(value) : NaN;
        if (!Number.isFinite(n)) {
          if (typeof value === 'object') throw PgError('ProgrammingError', `can't adapt type '${Array.isArray(value) ? 'list' : 'dict'}'`);
          throw PgError('InvalidTextRepresentation', `invalid input syntax for type integer: "${String(value)}"\nLINE 1: ...`);
        }
        const id = Math.trunc(n);
        if (f.type === 'many2one' && f.relation) {
          if (!this.get(env, f.relation, id)) {
            const target = this.models.get(f.relation);
            throw ValidationError(
              `The operation cannot be completed: another model requires the record being deleted. If possible, archive it instead.\n\n` +
                `Model: ${def.description} (${def.name})\nConstraint: ${def.name.replace(/\./g, '_')}_${f.name}_fkey\n` +
                (target ? '' : ''),
            );
          }
        }
        return id;
      }
      case 'float':
      case 'monetary': {
        const n = typeof value === 'number' ? value : typeof value === 'string' && value.trim() !== '' && !Number.isNaN(Number(value)) ? Number(value) : NaN;
        if (!Number.isFinite(n))
          throw PgError(
            'InvalidTextRepresentation',
            `invalid input syntax for type ${f.type === 'float' ? 'double precision' : 'numeric'}: "${String(value)}"\nLINE 1: ...`,
          );
        return n;
      }
      case 'boolean':
        return Boolean(value);
      case 'date': {
        const s = String(value);
        if (!/^\d{4}-\d{2}-\d{2}$/.test(s.slice(0, 10)) || Number.isNaN(Date.parse(s.slice(0, 10))))
          throw ValueErr(`time data ${pyRepr(s)} does not match format '%Y-%m-%d'`);
        return s.slice(0, 10);
      }
      case 'datetime':
        return toOdooDatetime(String(value));
      case 'binary':
        return typeof value === 'string' ? value : Buffer.isBuffer(value) ? value.toString('base64') : String(value);
      default:
        return value;
    }
  }

  /** Applies x2many commands to a current list of ids; returns the new list (creates/updates as asked). */
  private applyCommands(env: Env, def: ModelDef, f: FieldDef, rec: Rec, current: number[], value: unknown): number[] {
    const target = f.relation as string;
    let ids = [...current];
    const list = Array.isArray(value) ? value : [];
    if (list.length && list.every((x) => Number.isInteger(x))) return this.checkIds(env, target, list as number[], def, f);
    for (const cmd of list) {
      if (!Array.isArray(cmd)) throw ValueErr(`Invalid command ${pyRepr(cmd)} for field ${def.name}.${f.name}`);
      const [code, id, arg] = cmd as [number, number, unknown];
      switch (code) {
        case 0: {
          const vals = { ...(arg as Record<string, unknown>) };
          if (f.type === 'one2many' && f.inverse) vals[f.inverse] = rec.id;
          const [newId] = this.create(f.context ? { ...env, context: { ...env.context, ...f.context } } : env, target, [vals]);
          if (f.type === 'many2many') ids.push(newId);
          break;
        }
        case 1:
          this.write(env, target, [id], arg as Record<string, unknown>);
          break;
        case 2:
          this.unlink(env, target, [id]);
          ids = ids.filter((x) => x !== id);
          break;
        case 3:
          if (f.type === 'one2many' && f.inverse) this.write(env, target, [id], { [f.inverse]: false });
          ids = ids.filter((x) => x !== id);
          break;
        case 4:
          if (f.type === 'one2many' && f.inverse) this.write(env, target, [id], { [f.inverse]: rec.id });
          else if (!ids.includes(id)) ids.push(...this.checkIds(env, target, [id], def, f));
          break;
        case 5:
          ids = [];
          break;
        case 6:
          ids = this.checkIds(env, target, (arg as number[]) ?? [], def, f);
          break;
        default:
          throw ValueErr(`Invalid command ${pyRepr(cmd)} for field ${def.name}.${f.name}`);
      }
    }
    return ids;
  }

  private checkIds(env: Env, model: string, ids: number[], def: ModelDef, f: FieldDef): number[] {
    for (const id of ids) {
      if (!this.get(env, model, id)) {
        throw ValidationError(
          `The operation cannot be completed: another model requires the record being deleted. If possible, archive it instead.\n\nModel: ${def.description} (${def.name})\nConstraint: ${def.name.replace(/\./g, '_')}_${f.name}_fkey\n`,
        );
      }
    }
    return [...new Set(ids)];
  }

  create(env: Env, model: string, valsList: Array<Record<string, unknown>>): number[] {
    const def = this.modelOrFail(model);
    this.checkAccess(env, model, 'create');
    const created: number[] = [];
    for (const original of valsList) {
      if (!original || typeof original !== 'object' || Array.isArray(original)) throw TypeErr(`create() takes a dict of values, got ${pyRepr(original)}`);
      const vals: Record<string, unknown> = { ...original };
      for (const k of Object.keys(vals)) if (!this.field(def, k)) throw ValueErr(`Invalid field ${pyRepr(k)} on model ${pyRepr(model)}`);
      // Defaults for what is not given: the context's default_<field> first, then the field's own.
      const ctxDefaults = Object.entries(env.context).filter(([k]) => k.startsWith('default_'));
      for (const [k, v] of ctxDefaults) {
        const fname = k.slice(8);
        if (vals[fname] === undefined && this.field(def, fname)) vals[fname] = v;
      }
      for (const f of def.fields.values()) {
        if (vals[f.name] === undefined && f.default !== undefined && f.store !== false) {
          vals[f.name] = typeof f.default === 'function' ? (f.default as (e: Env) => unknown)(env) : f.default;
        }
      }
      def.hooks.beforeCreate?.(env, vals);
      // _inherits: the parent record first, with the parent's own values.
      if (def.inherits && !vals[def.inherits.field]) {
        const parentDef = this.modelOrFail(def.inherits.model);
        const parentVals: Record<string, unknown> = {};
        for (const k of Object.keys(vals)) {
          if (!def.fields.has(k) && parentDef.fields.has(k)) {
            parentVals[k] = vals[k];
            delete vals[k];
          }
        }
        const [pid] = this.create({ ...env, context: { ...env.context, create_product_product: false } }, def.inherits.model, [parentVals]);
        vals[def.inherits.field] = pid;
      }
      const id = this.reserveId(model);
      const rec: Rec = { id, create_date: env.txn.now, write_date: env.txn.now, create_uid: env.uid, write_uid: env.uid };
      const later: Array<[FieldDef, unknown]> = [];
      for (const [k, v] of Object.entries(vals)) {
        const f = this.field(def, k) as FieldDef;
        if (f.readonly && ['id', 'display_name', 'create_date', 'create_uid', 'write_date', 'write_uid'].includes(k)) continue;
        if (f.type === 'one2many' || (f.type === 'many2many' && Array.isArray(v) && v.some((x) => Array.isArray(x) && x[0] === 0))) later.push([f, v]);
        else if (f.related) later.push([f, v]);
        else if (f.compute) continue;
        else if (f.type === 'many2many') rec[k] = this.applyCommands(env, def, f, rec, [], v);
        else rec[k] = this.convert(env, def, f, v);
      }
      for (const f of def.fields.values()) {
        if (
          f.required &&
          f.store !== false &&
          !f.compute &&
          (rec[f.name] === undefined || rec[f.name] === false || rec[f.name] === '') &&
          f.type !== 'boolean'
        ) {
          throw ValidationError(
            `The operation cannot be completed:\n- Create/update: a mandatory field is not set.\n- Delete: another model requires the record being deleted. If possible, archive it instead.\n\n` +
              `Model: ${def.description} (${def.name})\nField: ${f.string} (${f.name})\n`,
          );
        }
      }
      this.touch(env, model, id, null);
      this.tables.get(model)?.set(id, rec);
      this.bump(model);
      for (const [f, v] of later) {
        if (f.related) this.writeRelated(env, def, rec, f, v);
        else if (f.type === 'one2many') this.applyCommands(env, def, f, rec, [], v);
        else rec[f.name] = this.applyCommands(env, def, f, rec, [], v);
      }
      def.hooks.afterCreate?.(env, rec, vals);
      def.hooks.check?.(env, [id]);
      env.txn.events.push({ model, op: 'create', ids: [id], fields: new Set(Object.keys(vals)) });
      created.push(id);
    }
    return created;
  }

  private writeRelated(env: Env, def: ModelDef, rec: Rec, f: FieldDef, value: unknown): void {
    const path = f.related as string[];
    let currentDef = def;
    let current: Rec | undefined = rec;
    for (let i = 0; i < path.length - 1; i++) {
      const link = this.raw(env, currentDef, current, path[i]);
      const rel = this.field(currentDef, path[i])?.relation;
      if (!link || !rel) return;
      currentDef = this.modelOrFail(rel);
      current = this.get(env, rel, link as number);
      if (!current) return;
    }
    this.write(env, currentDef.name, [current.id], { [path[path.length - 1]]: value });
  }

  write(env: Env, model: string, ids: number[], vals: Record<string, unknown>): true {
    const def = this.modelOrFail(model);
    this.checkAccess(env, model, 'write');
    if (!vals || typeof vals !== 'object' || Array.isArray(vals)) throw TypeErr(`write() takes a dict of values, got ${pyRepr(vals)}`);
    for (const k of Object.keys(vals)) if (!this.field(def, k)) throw ValueErr(`Invalid field ${pyRepr(k)} on model ${pyRepr(model)}`);
    // Odoo names the first missing record only: "res.partner(7,)".
    const missing = ids.find((id) => !this.get(env, model, id));
    if (missing !== undefined) throw missingRecord(model, [missing], env.uid);
    const copy = { ...vals };
    def.hooks.beforeWrite?.(env, ids, copy);
    const stored = new Set<string>();
    const before = new Map<number, Rec>();
    for (const id of ids) {
      const live = this.tables.get(model)?.get(id) as Rec;
      before.set(id, { ...live });
      this.touch(env, model, id, live);
      for (const [k, v] of Object.entries(copy)) {
        const f = this.field(def, k) as FieldDef;
        if (['id', 'display_name', 'create_date', 'create_uid', 'write_date', 'write_uid'].includes(k)) continue;
        if (f.related) {
          this.writeRelated(env, def, live, f, v);
          continue;
        }
        if (f.compute) continue;
        if (f.type === 'one2many') {
          this.applyCommands(env, def, f, live, this.raw(env, def, live, k) as number[], v);
          continue;
        }
        if (f.type === 'many2many') live[k] = this.applyCommands(env, def, f, live, (this.raw(env, def, live, k) as number[]) ?? [], v);
        else live[k] = this.convert(env, def, f, v);
        if (f.required && f.type !== 'boolean' && (live[k] === false || live[k] === '')) {
          throw ValidationError(
            `The operation cannot be completed:\n- Create/update: a mandatory field is not set.\n- Delete: another model requires the record being deleted. If possible, archive it instead.\n\n` +
              `Model: ${def.description} (${def.name})\nField: ${f.string} (${f.name})\n`,
          );
        }
        stored.add(k);
      }
      live.write_date = env.txn.now;
      live.write_uid = env.uid;
    }
    this.bump(model);
    def.hooks.afterWrite?.(env, ids, copy);
    def.hooks.check?.(env, ids);
    const after = new Map<number, Rec>();
    for (const id of ids) after.set(id, { ...(this.tables.get(model)?.get(id) as Rec) });
    if (stored.size) env.txn.events.push({ model, op: 'write', ids: [...ids], fields: stored, before, after });
    return true;
  }

  unlink(env: Env, model: string, ids: number[]): true {
    const def = this.modelOrFail(model);
    this.checkAccess(env, model, 'unlink');
    // Odoo names the first missing record only: "res.partner(7,)".
    const missing = ids.find((id) => !this.get(env, model, id));
    if (missing !== undefined) throw missingRecord(model, [missing], env.uid);
    def.hooks.beforeUnlink?.(env, ids);
    for (const id of ids) {
      const live = this.tables.get(model)?.get(id) as Rec;
      this.touch(env, model, id, live);
      this.tables.get(model)?.delete(id);
    }
    this.bump(model);
    env.txn.events.push({ model, op: 'unlink', ids: [...ids], fields: new Set() });
    return true;
  }

  /** Direct insert for bulk test data (no access checks, no events, committed at once). */
  insertRaw(model: string, values: Record<string, unknown>, now = odooNow(this.clock())): number {
    const id = this.reserveId(model, typeof values.id === 'number' ? values.id : undefined);
    this.tables.get(model)?.set(id, { create_date: now, write_date: now, create_uid: 1, write_uid: 1, ...values, id });
    this.bump(model);
    return id;
  }
}

export const CACHE_KEY = Symbol('odoo-peer-cache-key');

const OPERATORS = new Set([
  '=',
  '!=',
  '<',
  '<=',
  '>',
  '>=',
  'in',
  'not in',
  'like',
  'not like',
  'ilike',
  'not ilike',
  '=like',
  '=ilike',
  '=?',
  'child_of',
  'parent_of',
]);

function emptyOf(f: FieldDef): unknown {
  switch (f.type) {
    case 'integer':
    case 'float':
    case 'monetary':
      return 0;
    case 'boolean':
      return false;
    case 'one2many':
    case 'many2many':
      return [];
    default:
      return false;
  }
}

function toInt(v: unknown, what: string): number | undefined {
  if (v === undefined || v === null || v === false || v === 0) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw TypeErr(`${what} must be a non-negative integer, got ${pyRepr(v)}`);
  return v;
}

/** Odoo hides archived records (active = False) unless the domain or context asks for them. */
function withActiveTest(env: Env, def: ModelDef, domain: unknown): unknown {
  // models.py _where_calc: the active field ('active' or 'x_active') unless a top-level item names it.
  const name = def.fields.has('active') ? 'active' : def.fields.has('x_active') ? 'x_active' : undefined;
  if (!name || env.context.active_test === false) return domain;
  const mentions = (d: unknown): boolean => Array.isArray(d) && d.some((x) => Array.isArray(x) && x[0] === name);
  if (mentions(domain)) return domain;
  return [[name, '=', true], ...(Array.isArray(domain) ? domain : [])];
}

function checkLeafValue(def: ModelDef, f: FieldDef, op: string, value: unknown, leaf: unknown[]): void {
  const numeric = f.type === 'integer' || f.type === 'float' || f.type === 'monetary' || f.name === 'id';
  if (!numeric || op.includes('like')) return;
  const bad = (v: unknown) => typeof v === 'string' && v.trim() !== '' && Number.isNaN(Number(v));
  const values = Array.isArray(value) ? value : [value];
  const wrong = values.find(bad);
  if (wrong !== undefined) {
    throw PgError(
      'InvalidTextRepresentation',
      `invalid input syntax for type ${f.type === 'float' ? 'double precision' : 'integer'}: "${String(wrong)}"\nLINE 1: ...WHERE ("${def.name.replace(/\./g, '_')}"."${f.name}" ${op.toUpperCase()} ...\n(leaf ${leafRepr(leaf)})`,
    );
  }
}

function likeRegex(pattern: string, caseInsensitive: boolean, wrap: boolean): RegExp {
  let body = '';
  for (const ch of pattern) {
    if (ch === '%') body += '.*';
    else if (ch === '_') body += '.';
    else body += ch.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(wrap ? body : `^${body}$`, caseInsensitive ? 'is' : 's');
}

function eq(v: unknown, value: unknown, type?: FieldType): boolean {
  if (value === false || value === null) return v === false || v === null || v === undefined || (type !== 'boolean' && v === '');
  if (type === 'boolean') return Boolean(v) === Boolean(value);
  if (typeof v === 'number' && typeof value === 'string' && value.trim() !== '') return v === Number(value);
  return v === value;
}

function compare(v: unknown, op: string, value: unknown, type?: FieldType): boolean {
  switch (op) {
    case '=':
    case 'child_of':
    case 'parent_of':
      return Array.isArray(value) ? value.some((x) => eq(v, x, type)) : eq(v, value, type);
    case '=?':
      return value === false || value === null || value === undefined ? true : eq(v, value, type);
    case '!=':
      return !eq(v, value, type);
    case 'in':
      return (Array.isArray(value) ? value : [value]).some((x) => eq(v, x, type));
    case 'not in':
      return !(Array.isArray(value) ? value : [value]).some((x) => eq(v, x, type));
    case '<':
    case '<=':
    case '>':
    case '>=': {
      if (v === false || v === null || v === undefined || value === false || value === null) return false;
      const a = typeof value === 'number' && typeof v === 'string' ? Number(v) : v;
      const b = typeof v === 'number' && typeof value === 'string' ? Number(value) : value;
      const x = a as number | string;
      const y = b as number | string;
      return op === '<' ? x < y : op === '<=' ? x <= y : op === '>' ? x > y : x >= y;
    }
    case 'like':
    case 'ilike':
    case '=like':
    case '=ilike': {
      if (v === false || v === null || v === undefined) return false;
      const re = likeRegex(String(value), op.endsWith('ilike'), !op.startsWith('='));
      return re.test(String(v));
    }
    case 'not like':
    case 'not ilike':
      return !compare(v, op.slice(4), value, type);
    default:
      return false;
  }
}

function matchX2many(ids: number[], op: string, value: unknown): boolean {
  const list = Array.isArray(value) ? value : [value];
  switch (op) {
    case '=':
    case 'in':
    case 'child_of':
      if (value === false) return ids.length === 0;
      return ids.some((id) => list.includes(id));
    case '!=':
    case 'not in':
      if (value === false) return ids.length > 0;
      return !ids.some((id) => list.includes(id));
    default:
      return ids.some((id) => compare(id, op, value));
  }
}
