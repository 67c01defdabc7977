/**
 * An activity (mail.activity: "call the patient", "review the prescription") scheduled on a record once,
 * whatever is retried. The key is kept where Odoo stores and returns it exactly: the activity's summary is
 * `<summary> [<key>]`. Every run first looks for that summary on the record, and creates only when there is none:
 *
 *   1. an activity with that summary, open or archived (a type that keeps done activities archives them) → it;
 *   2. none, but the record's chatter has the "… done: <summary> [<key>]" message Odoo posts when an activity is
 *      marked done (Odoo 17/18 delete a done activity unless its type keeps done ones) → nothing to do either;
 *   3. otherwise the activity is created: model (ir.model) and type (ir.model.data xmlid) resolved once per client,
 *      the user by login (default: the integration user), the deadline as today in Odoo's clock + N days.
 *
 * Two runs racing past step 1 can both create; a search after the create keeps the oldest and unlinks the other.
 * Domains are data (lists of values): the key is never written into a domain's text.
 */
import { IntegrationError, badInput } from '../common/errors';
import type { Context, OdooClient, OdooRecord } from './client';

export interface ActivityRequest {
  /** The record's model (res.partner, calendar.event …) and id. */
  model: string;
  resId: number;
  /** The caller's idempotency key: 1–100 characters, no [ or ]. */
  key: string;
  summary: string;
  /** HTML or plain text. */
  note?: string;
  /** Login of the user the activity is assigned to; default: the integration user. */
  user?: string;
  /** External id of the activity type (default mail.mail_activity_data_todo, "To-Do"). */
  typeXmlId?: string;
  /** YYYY-MM-DD; else today in Odoo's clock + deadlineDays (default 0). */
  deadline?: string;
  deadlineDays?: number;
}

export interface ScheduledActivity {
  /** The mail.activity id; null when the activity was already done and Odoo deleted it. */
  id: number | null;
  /** false when an earlier run had scheduled it (a retry or a replay). */
  created: boolean;
  /** The user it is assigned to (null when it was done and deleted). */
  userId: number | null;
  /** true when the activity exists no more as open: archived as done, or done and deleted (its chatter message remains). */
  done: boolean;
  /** The summary stored in Odoo: `<summary> [<key>]`. */
  summary: string;
  dateDeadline?: string;
}

export const DEFAULT_ACTIVITY_TYPE = 'mail.mail_activity_data_todo';
const MAX_KEY = 100;
const XMLID = /^[A-Za-z0-9_]+\.[A-Za-z0-9_.-]+$/;
const DATE = /^\d{4}-\d{2}-\d{2}$/;
const MODEL = /^[a-z_][a-z0-9_.]*$/i;

interface Activity extends OdooRecord {
  summary: string | false;
  user_id: [number, string] | false;
  active: boolean;
  date_deadline: string | false;
}

interface Cache {
  models: Map<string, number>;
  types: Map<string, number>;
}
const caches = new WeakMap<OdooClient, Cache>();
function cacheOf(client: OdooClient): Cache {
  let c = caches.get(client);
  if (!c) caches.set(client, (c = { models: new Map(), types: new Map() }));
  return c;
}

const idOf = (v: unknown): number | null => (Array.isArray(v) && typeof v[0] === 'number' ? v[0] : typeof v === 'number' ? v : null);
const ALL: Context = { active_test: false };

function activityError(code: string, message: string, details: Record<string, unknown>, retryable = false): IntegrationError {
  return new IntegrationError(message, { code, system: 'odoo', retryable, details });
}

/** The summary Odoo stores for a key: the idempotency key travels in it. */
export function activitySummary(summary: string, key: string): string {
  return `${summary.trim()} [${key}]`;
}

/** Checks the request before anything is sent; BAD_INPUT names every problem. */
function check(r: ActivityRequest): void {
  const problems: string[] = [];
  if (typeof r.model !== 'string' || !MODEL.test(r.model)) problems.push(`model ${JSON.stringify(r.model)} is not an Odoo model name (e.g. res.partner)`);
  if (!Number.isInteger(r.resId) || r.resId <= 0) problems.push(`record id ${JSON.stringify(r.resId)} must be a positive whole number`);
  if (typeof r.key !== 'string' || !r.key.trim()) problems.push(`key ${JSON.stringify(r.key)} must be a non-empty text`);
  else if (r.key.length > MAX_KEY) problems.push(`key must be at most ${MAX_KEY} characters (it has ${r.key.length})`);
  else if (/[[\]]/.test(r.key)) problems.push(`key ${JSON.stringify(r.key)} must not contain [ or ] (it is stored as "<summary> [<key>]")`);
  else if (r.key !== r.key.trim() || [...r.key].some((ch) => ch.charCodeAt(0) < 32))
    problems.push(`key ${JSON.stringify(r.key)} must not start or end with spaces or hold control characters`);
  if (typeof r.summary !== 'string' || !r.summary.trim()) problems.push(`summary ${JSON.stringify(r.summary)} must be a non-empty text`);
  if (r.note !== undefined && r.note !== null && typeof r.note !== 'string') problems.push(`note must be a text; got ${JSON.stringify(r.note)}`);
  if (r.user !== undefined && r.user !== null && (typeof r.user !== 'string' || !r.user.trim()))
    problems.push(`user ${JSON.stringify(r.user)} must be a user's login (or left out for the integration user)`);
  if (r.typeXmlId !== undefined && (typeof r.typeXmlId !== 'string' || !XMLID.test(r.typeXmlId)))
    problems.push(`activity type ${JSON.stringify(r.typeXmlId)} must be an external id module.name (e.g. ${DEFAULT_ACTIVITY_TYPE})`);
  if (r.deadline !== undefined && r.deadline !== null && (typeof r.deadline !== 'string' || !DATE.test(r.deadline) || !validDate(r.deadline)))
    problems.push(`deadline ${JSON.stringify(r.deadline)} must be a date YYYY-MM-DD`);
  if (r.deadlineDays !== undefined && (!Number.isInteger(r.deadlineDays) || Math.abs(r.deadlineDays) > 36500))
    problems.push(`deadline days ${JSON.stringify(r.deadlineDays)} must be a whole number of days`);
  if (problems.length) throw badInput('odoo', `Activity ${String(r.key)} on ${String(r.model)} ${String(r.resId)}: ${problems.join('; ')}`, { problems });
}

function validDate(s: string): boolean {
  const d = new Date(`${s}T00:00:00Z`);
  return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === s;
}

/** The activities of the record with that exact summary, archived ones included, oldest first. */
function findActivities(client: OdooClient, r: ActivityRequest, summary: string): Promise<Activity[]> {
  return client.searchRead<Activity>('mail.activity', {
    domain: [
      ['res_model', '=', r.model],
      ['res_id', '=', r.resId],
      ['summary', '=', summary],
    ],
    fields: ['summary', 'user_id', 'active', 'date_deadline'],
    order: 'id asc',
    context: ALL,
  });
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: '\u00a0' };
function decodeHtml(s: string): string {
  return s.replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (m, e: string) => {
    if (e[0] === '#') return String.fromCodePoint(e[1] === 'x' || e[1] === 'X' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10));
    return ENTITIES[e.toLowerCase()] ?? m;
  });
}

/**
 * The "<type> done: <summary>" message Odoo posts on the record when an activity is marked done
 * (template mail.message_activity_done: the summary is the last span of the first paragraph).
 */
async function findDoneMessage(client: OdooClient, r: ActivityRequest, summary: string): Promise<number | undefined> {
  const messages = await client.searchRead('mail.message', {
    domain: [
      ['model', '=', r.model],
      ['res_id', '=', r.resId],
      ['mail_activity_type_id', '!=', false],
    ],
    fields: ['body'],
    order: 'id asc',
  });
  for (const m of messages) {
    const para = /<p[^>]*>([\s\S]*?)<\/p>/i.exec(typeof m.body === 'string' ? m.body : '')?.[1] ?? '';
    const spans = [...para.matchAll(/<span[^>]*>([^<]*)<\/span>/gi)];
    const last = spans.length ? decodeHtml(spans[spans.length - 1][1]) : undefined;
    if (last === summary) return m.id;
  }
  return undefined;
}

async function modelId(client: OdooClient, model: string): Promise<number> {
  const cache = cacheOf(client).models;
  const known = cache.get(model);
  if (known) return known;
  const [row] = await client.searchRead('ir.model', { domain: [['model', '=', model]], fields: ['is_mail_thread'], limit: 1 });
  if (!row)
    throw activityError(
      'ODOO_UNKNOWN_MODEL',
      `Odoo has no model "${model}" to schedule an activity on; check the model name or install the module that provides it`,
      {
        model,
      },
    );
  // Odoo subscribes the assigned user to the record's chatter: a model without one fails inside Odoo.
  if (row.is_mail_thread === false)
    throw badInput('odoo', `Odoo model ${model} has no chatter (it is not a mail.thread), so it cannot hold activities; schedule it on a record that has one`, {
      model,
    });
  const id = row.id;
  cache.set(model, id);
  return id;
}

async function activityTypeId(client: OdooClient, xmlid: string): Promise<number> {
  const cache = cacheOf(client).types;
  const known = cache.get(xmlid);
  if (known) return known;
  const dot = xmlid.indexOf('.');
  const [row] = await client.searchRead('ir.model.data', {
    domain: [
      ['module', '=', xmlid.slice(0, dot)],
      ['name', '=', xmlid.slice(dot + 1)],
    ],
    fields: ['model', 'res_id'],
    limit: 1,
  });
  if (!row || typeof row.res_id !== 'number' || !row.res_id)
    throw activityError(
      'ODOO_MISSING_RECORD',
      `Odoo has no activity type with external id ${xmlid}; use an existing one (Settings → Technical → Activity Types, e.g. ${DEFAULT_ACTIVITY_TYPE}) or install its module`,
      { model: 'mail.activity.type', xmlid },
    );
  if (row.model !== 'mail.activity.type')
    throw badInput('odoo', `The external id ${xmlid} names a ${String(row.model)}, not an activity type (mail.activity.type)`, { xmlid, model: row.model });
  cache.set(xmlid, row.res_id);
  return row.res_id;
}

async function userIdOf(client: OdooClient, login: string | undefined): Promise<number> {
  if (!login) return client.login();
  const [id] = await client.search('res.users', { domain: [['login', '=', login]], limit: 1 });
  if (!id)
    throw activityError(
      'ODOO_MISSING_RECORD',
      `Odoo has no active user with login "${login}" to assign the activity to; fix the login (Settings → Users) or leave the user empty to assign the integration user`,
      { model: 'res.users', login },
    );
  return id;
}

/** Today in Odoo's clock (its answers' Date header, UTC) plus days, as YYYY-MM-DD. */
function deadlineOf(client: OdooClient, r: ActivityRequest): string {
  if (r.deadline) return r.deadline;
  const d = client.serverNow();
  d.setUTCDate(d.getUTCDate() + (r.deadlineDays ?? 0));
  return d.toISOString().slice(0, 10);
}

function found(a: Activity, summary: string, created: boolean): ScheduledActivity {
  return {
    id: a.id,
    created,
    userId: idOf(a.user_id),
    done: a.active === false,
    summary,
    ...(typeof a.date_deadline === 'string' ? { dateDeadline: a.date_deadline } : {}),
  };
}

/**
 * Schedules the activity once (see the module comment). Safe to call again with the same key at any time: an
 * activity open, archived as done, or done and deleted is never scheduled twice.
 */
export async function scheduleActivityOnce(client: OdooClient, request: ActivityRequest): Promise<ScheduledActivity> {
  check(request);
  const r = { ...request, summary: request.summary.trim() };
  const summary = activitySummary(r.summary, r.key);
  const [existing] = await findActivities(client, r, summary);
  if (existing) return found(existing, summary, false);
  if (await findDoneMessage(client, r, summary)) return { id: null, created: false, userId: null, done: true, summary };

  const resModelId = await modelId(client, r.model);
  await client.read(r.model, [r.resId], ['display_name']); // ODOO_MISSING_RECORD naming the record when it is gone
  const typeId = await activityTypeId(client, r.typeXmlId ?? DEFAULT_ACTIVITY_TYPE);
  const userId = await userIdOf(client, r.user?.trim() || undefined);
  const dateDeadline = deadlineOf(client, r);
  let createdId: number | undefined;
  try {
    createdId = await client.create('mail.activity', {
      res_model_id: resModelId,
      res_id: r.resId,
      activity_type_id: typeId,
      summary,
      ...(r.note ? { note: r.note } : {}),
      user_id: userId,
      date_deadline: dateDeadline,
    });
  } catch (err) {
    // The answer was lost: the activity may exist. Look again below.
    if ((err as IntegrationError).code !== 'ODOO_OUTCOME_UNKNOWN') throw err;
  }
  const all = await findActivities(client, r, summary);
  if (!all.length) {
    throw activityError(
      'ODOO_OUTCOME_UNKNOWN',
      `Odoo did not answer the creation of activity "${summary}" on ${r.model} ${r.resId} and it is not there; it is safe to schedule it again`,
      { model: r.model, resId: r.resId, key: r.key },
      true,
    );
  }
  const [first, ...later] = all;
  // A concurrent run created one too: the oldest stays, ours goes.
  if (createdId !== undefined && first.id !== createdId && later.some((a) => a.id === createdId)) {
    await client.unlink('mail.activity', [createdId]);
    return found(first, summary, false);
  }
  return found(first, summary, true);
}
