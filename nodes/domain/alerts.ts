/**
 * The alert fan-out (flows 07a and 07b): a medication that drops under its minimum raises one alert — decided in
 * PostgreSQL (migration 4: a state row per medication, a unique key per crossing) — which an outbox publishes
 * once and every channel (e-mail, Odoo activity, signed webhooks) delivers from its own queue. Here: the event
 * every channel sends, what each channel makes of it, the outcome of an attempt as an audit row, and the
 * requests of the alerts API checked. Plain TypeScript, no Node-RED import.
 */
import { IntegrationError, badInput } from '../clients/common/errors';
import { retryDelay } from '../clients/amqp/consumer';
import { ALERT_ROUTING_KEY, WEBHOOK_DELIVERY_ROUTING_KEY } from '../clients/amqp/topology';
import { shown, textOf } from './input';

/** The event type of a stock alert (the webhook subscribers' event_types name it). */
export const STOCK_LOW = 'stock.low';
export const EVENT_TYPES = [STOCK_LOW] as const;

export type Channel = 'queue' | 'email' | 'webhook' | 'odoo';
/** The queue each delivering channel consumes, and back. */
export const CHANNEL_QUEUES: Record<Exclude<Channel, 'queue'>, string> = {
  email: 'alert_email_queue',
  odoo: 'alert_odoo_queue',
  webhook: 'webhook_delivery_queue',
};

/** The event every channel sends: the queue message, the webhook body, the e-mail's and the activity's facts. */
export interface AlertEvent {
  event: typeof STOCK_LOW;
  /** stock-alert-<id>: the AMQP message id, the webhook-id and the Odoo activity's key. */
  id: string;
  alert: { id: number; crossing: number; raisedAt: string; correlationId: string | null };
  medication: { id: number; odooProductId: number; name: string };
  quantity: number;
  minimum: number;
  shortage: number;
}

/** A stock_alerts row as the outbox claims it (numerics arrive as strings, dates as Date). */
export interface AlertRow {
  id: number | string;
  medication_id: number;
  odoo_product_id: number;
  medication_name: string;
  crossing: number;
  stock_quantity: number | string;
  min_stock_level: number | string;
  raised_at: string | Date;
  correlation_id: string | null;
}

const num = (v: unknown) => Math.round(Number(v) * 1000) / 1000;
const iso = (v: unknown) => (v instanceof Date ? v.toISOString() : new Date(String(v)).toISOString());

export const alertKey = (alertId: number) => `stock-alert-${alertId}`;

export function alertEvent(row: AlertRow): AlertEvent {
  const id = Number(row.id);
  const quantity = num(row.stock_quantity);
  const minimum = num(row.min_stock_level);
  return {
    event: STOCK_LOW,
    id: alertKey(id),
    alert: { id, crossing: row.crossing, raisedAt: iso(row.raised_at), correlationId: row.correlation_id ?? null },
    medication: { id: row.medication_id, odooProductId: row.odoo_product_id, name: row.medication_name },
    quantity,
    minimum,
    shortage: num(minimum - quantity),
  };
}

export interface OutboxMessage {
  alertId: number;
  event: AlertEvent;
  messageId: string;
  correlationId: string;
}

/** The claimed outbox rows as one message each (the alert's own correlation id when it has one). */
export function outboxMessages(rows: AlertRow[], fallbackCorrelationId?: string): OutboxMessage[] {
  return rows.map((row) => {
    const event = alertEvent(row);
    return { alertId: event.alert.id, event, messageId: event.id, correlationId: event.alert.correlationId ?? fallbackCorrelationId ?? event.id };
  });
}

/** The two publishes of an alert: notification.send (notification_queue, the brief's) and the channels' key. */
export const ALERT_TOPICS = { notification: 'notification.send', channels: ALERT_ROUTING_KEY } as const;

// ------------------------------------------------------------------------------------ channel messages

const malformed = (why: string) => badInput('node-red', `not a stock alert message: ${why}; it is dead-lettered with this reason`);

/** A queue message checked to be an alert event (a malformed one is BAD_INPUT, dead-lettered by the consumer). */
export function checkAlertEvent(body: unknown): AlertEvent {
  const e = body as AlertEvent;
  if (!e || typeof e !== 'object' || Array.isArray(e)) throw malformed('the body is not a JSON object');
  if (e.event !== STOCK_LOW) throw malformed(`event is ${shown(e.event)}, expected "${STOCK_LOW}"`);
  if (!e.alert || !Number.isInteger(e.alert.id) || e.alert.id <= 0) throw malformed('alert.id must be a positive whole number');
  if (!e.medication || !Number.isInteger(e.medication.odooProductId) || typeof e.medication.name !== 'string') {
    throw malformed('medication {odooProductId, name} is missing');
  }
  if (!Number.isFinite(e.quantity) || !Number.isFinite(e.minimum)) throw malformed('quantity and minimum must be numbers');
  if (e.id !== alertKey(e.alert.id)) throw malformed(`id must be ${alertKey(e.alert.id)}`);
  return e;
}

export interface DeliveryTarget {
  channel: Exclude<Channel, 'queue'>;
  subscriberId: number;
  event: AlertEvent;
}

/** Which delivery a channel message asks for: the consumed queue names the channel; a webhook one names its subscriber. */
export function deliveryTarget(queue: unknown, body: unknown): DeliveryTarget {
  const channel = (Object.keys(CHANNEL_QUEUES) as Array<DeliveryTarget['channel']>).find((c) => CHANNEL_QUEUES[c] === queue);
  if (!channel) throw badInput('node-red', `queue ${shown(queue)} is not an alert channel (${Object.values(CHANNEL_QUEUES).join(', ')})`);
  if (channel !== 'webhook') return { channel, subscriberId: 0, event: checkAlertEvent(body) };
  const b = body as { subscriberId?: unknown; alert?: unknown };
  if (!b || typeof b !== 'object' || !Number.isInteger(b.subscriberId) || (b.subscriberId as number) <= 0) {
    throw malformed('a webhook delivery must be {subscriberId, alert}');
  }
  return { channel, subscriberId: b.subscriberId as number, event: checkAlertEvent(b.alert) };
}

/**
 * A delivery row (alert_delivery_open) that needs no new attempt: delivered. A failed one is attempted again when
 * its message comes back (a dead letter replayed, a replay through the API).
 */
export function alreadyDelivered(row: { state?: unknown } | undefined): boolean {
  return row?.state === 'delivered';
}

export interface SubscriberRow {
  id: number;
  url: string;
  secret: string;
  active: boolean;
  deleted_at?: unknown;
  state?: string | null;
}

/** One webhook delivery message per subscriber not yet served (a delivered one is not sent again). */
export function webhookFanout(event: AlertEvent, subscribers: Array<{ id: number; state?: string | null }>) {
  return subscribers
    .filter((s) => !alreadyDelivered(s))
    .map((s) => ({ topic: WEBHOOK_DELIVERY_ROUTING_KEY, messageId: `${event.id}.webhook.${s.id}`, payload: { subscriberId: s.id, alert: event } }));
}

// ------------------------------------------------------------------------------------------- e-mail

/** The link to the medication in the pharmacy's view: ALERT_LINK_URL with {odoo_product_id}, else Odoo's product form. */
export function pharmacyLink(event: AlertEvent, env: Record<string, string | undefined> = process.env): string {
  const template =
    env.ALERT_LINK_URL || `${(env.ODOO_PUBLIC_URL || env.ODOO_URL || 'http://localhost:8069').replace(/\/+$/, '')}/odoo/product.product/{odoo_product_id}`;
  return template
    .replace(/\{odoo_product_id\}/g, String(event.medication.odooProductId))
    .replace(/\{medication_id\}/g, String(event.medication.id))
    .replace(/\{alert_id\}/g, String(event.alert.id));
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);
const qty = (n: number) => String(Number(n.toFixed(3)));

export interface AlertEmail {
  subject: string;
  text: string;
  html: string;
  /** The same Message-ID for every attempt of this alert, so a mail client shows a repeat as one message. */
  messageId: string;
  headers: Record<string, string>;
}

/** One e-mail per alert, in Spanish and English: medication, quantity, minimum, the link. */
export function alertEmail(event: AlertEvent, link: string): AlertEmail {
  const m = event.medication;
  const subject = `[Clínica] Stock bajo / Low stock: ${m.name} (${qty(event.quantity)} < ${qty(event.minimum)})`;
  const when = event.alert.raisedAt;
  const text = [
    `${m.name} está por debajo de su mínimo: quedan ${qty(event.quantity)}, mínimo ${qty(event.minimum)} (faltan ${qty(event.shortage)}).`,
    `${m.name} is under its minimum: ${qty(event.quantity)} left, minimum ${qty(event.minimum)} (${qty(event.shortage)} short).`,
    '',
    `Farmacia / Pharmacy: ${link}`,
    '',
    `Alerta / Alert ${event.alert.id} · ${when} · Odoo product ${m.odooProductId} · correlation ${event.alert.correlationId ?? '-'}`,
  ].join('\n');
  const html = `<p><b>${escapeHtml(m.name)}</b> está por debajo de su mínimo: quedan <b>${qty(event.quantity)}</b>, mínimo ${qty(event.minimum)} (faltan ${qty(event.shortage)}).</p>
<p><b>${escapeHtml(m.name)}</b> is under its minimum: <b>${qty(event.quantity)}</b> left, minimum ${qty(event.minimum)} (${qty(event.shortage)} short).</p>
<p><a href="${escapeHtml(link)}">Farmacia / Pharmacy</a></p>
<p style="color:#666">Alerta / Alert ${event.alert.id} · ${escapeHtml(when)} · Odoo product ${m.odooProductId}</p>`;
  return { subject, text, html, messageId: `<${event.id}@clinica-integration>`, headers: { 'X-Clinica-Alert': String(event.alert.id) } };
}

// -------------------------------------------------------------------------------------- Odoo activity

/** The To-Do on the medication for the purchasing user, keyed on the alert so a redelivery finds it. */
export function activityRequest(event: AlertEvent, userLogin?: string) {
  const m = event.medication;
  return {
    key: event.id,
    summary: `Reponer / Reorder: ${m.name}`,
    note: `<p>${escapeHtml(m.name)}: ${qty(event.quantity)} &lt; ${qty(event.minimum)} (faltan / short ${qty(event.shortage)}). Alerta / alert ${event.alert.id}.</p>`,
    ...(userLogin ? { user: userLogin } : {}),
  };
}

// ------------------------------------------------------------------------------------------- webhooks

/** What the webhook deliver node needs: the subscriber's URL and secret, the event's id as webhook-id. */
export function webhookRequest(event: AlertEvent, subscriber: SubscriberRow | undefined): { url: string; secret: string; id: string } {
  if (!subscriber || !subscriber.url || subscriber.deleted_at || !subscriber.active) {
    throw new IntegrationError(`webhook subscriber ${subscriber?.id ?? '?'} is gone or inactive: alert ${event.alert.id} is not sent to it`, {
      code: 'WEBHOOK_SUBSCRIBER_INACTIVE',
      system: 'webhook',
      retryable: false,
    });
  }
  return { url: subscriber.url, secret: subscriber.secret, id: event.id };
}

// ------------------------------------------------------------------------------------------ attempts

export interface AttemptFacts {
  target: { channel: Channel; subscriberId: number; event: AlertEvent };
  /** The failure (msg.errorInfo) when the attempt failed. */
  errorInfo?: { code?: string; message?: string; retryable?: boolean; details?: Record<string, unknown> };
  amqp?: { attempt?: number; maxAttempts?: number; retryDelayMs?: number };
  email?: { result?: { response?: string; messageId?: string; durationMs?: number } };
  webhook?: { result?: { status?: number; durationMs?: number } };
  odoo?: { id?: number | null; created?: boolean; durationMs?: number };
  startedAt?: number;
  correlationId?: string;
}

/** The parameters of alert_delivery_record(...) for one attempt: its outcome, what the other side answered, when next. */
export function attemptParams(f: AttemptFacts, now = Date.now()): unknown[] {
  const { channel, subscriberId, event } = f.target;
  const duration = (ms: unknown) => (Number.isFinite(Number(ms)) ? Math.round(Number(ms)) : f.startedAt ? now - f.startedAt : null);
  let outcome: 'delivered' | 'retry' | 'failed' = 'delivered';
  let status: number | null = null;
  let answer: string | null = null;
  let retryInMs: number | null = null;
  let externalId: string | null = null;
  let code: string | null = null;
  let error: string | null = null;
  let ms: number | null;
  if (f.errorInfo) {
    const info = f.errorInfo;
    const attempt = f.amqp?.attempt ?? 1;
    const last = attempt >= (f.amqp?.maxAttempts ?? 1);
    outcome = info.retryable !== false && !last ? 'retry' : 'failed';
    if (outcome === 'retry') retryInMs = retryDelay({ details: info.details }, f.amqp?.retryDelayMs ?? 1000, attempt);
    status = Number.isInteger(info.details?.status) ? (info.details?.status as number) : null;
    const said = info.details?.response ?? info.details?.responseBody;
    answer = typeof said === 'string' ? said : null;
    code = info.code ?? 'UNEXPECTED';
    error = info.message ?? null;
    ms = duration(info.details?.durationMs);
  } else if (channel === 'email') {
    answer = f.email?.result?.response ?? null;
    externalId = f.email?.result?.messageId ?? null;
    ms = duration(f.email?.result?.durationMs);
  } else if (channel === 'webhook') {
    status = f.webhook?.result?.status ?? null;
    ms = duration(f.webhook?.result?.durationMs);
  } else if (channel === 'odoo') {
    externalId = f.odoo?.id === undefined || f.odoo.id === null ? null : `mail.activity,${f.odoo.id}`;
    answer = f.odoo?.created === false ? 'already there' : 'created';
    ms = duration(undefined);
  } else {
    ms = duration(undefined);
  }
  return [event.alert.id, channel, subscriberId, outcome, status, answer, ms, retryInMs, code, error, externalId, f.correlationId ?? null];
}

// ---------------------------------------------------------------------------------------- the API

type Query = Record<string, unknown>;
const positiveInt = (v: unknown) => (typeof v === 'string' && /^\d{1,9}$/.test(v) && Number(v) > 0 ? Number(v) : undefined);

/** GET /api/alerts?open=true|false&medication=<odoo product id>&limit&offset → the SQL parameters and the page. */
export function alertListParams(query: Query | undefined): { params: unknown[]; page: { limit: number; offset: number } } {
  const q = query ?? {};
  const problems: string[] = [];
  let open: boolean | null = null;
  if (q.open !== undefined) {
    if (q.open === 'true' || q.open === 'false') open = q.open === 'true';
    else problems.push('open must be true or false');
  }
  const medication = q.medication === undefined ? null : (positiveInt(q.medication) ?? null);
  if (q.medication !== undefined && medication === null) problems.push('medication must be an Odoo product id (a positive whole number)');
  const limit = q.limit === undefined ? 50 : positiveInt(q.limit);
  const offset = q.offset === undefined || q.offset === '0' ? 0 : positiveInt(q.offset);
  if (limit === undefined || limit > 200) problems.push('limit must be 1 to 200');
  if (offset === undefined) problems.push('offset must be a whole number ≥ 0');
  if (problems.length) throw badInput('node-red', problems.join('; '), { problems });
  return { params: [open, medication, limit, offset], page: { limit: limit as number, offset: offset as number } };
}

interface DeliveryRow {
  channel: Channel;
  subscriber_id: number;
  state: string;
  attempts: number;
  last_attempt_at: string | null;
  last_outcome?: string | null;
  last_status: number | null;
  last_error: string | null;
  next_retry_at?: string | null;
  delivered_at: string | null;
  external_id?: string | null;
}

/** Per channel: sent / failed / pending and the last attempt; webhooks summed over subscribers, each listed. */
export function channelSummary(rows: DeliveryRow[] | null | undefined) {
  const out: Record<string, Record<string, unknown>> = {};
  for (const r of rows ?? []) {
    const one = {
      state: r.state,
      attempts: r.attempts,
      lastAttemptAt: r.last_attempt_at,
      lastStatus: r.last_status,
      lastError: r.last_error,
      deliveredAt: r.delivered_at,
      ...(r.next_retry_at ? { nextRetryAt: r.next_retry_at } : {}),
    };
    if (r.channel !== 'webhook') {
      out[r.channel] = one;
      continue;
    }
    const w = (out.webhook ??= { delivered: 0, failed: 0, pending: 0, subscribers: [] as unknown[] });
    const bucket = r.state === 'delivered' ? 'delivered' : r.state === 'failed' ? 'failed' : 'pending';
    w[bucket] = (w[bucket] as number) + 1;
    (w.subscribers as unknown[]).push({ subscriberId: r.subscriber_id, ...one });
    if (!w.lastAttemptAt || (r.last_attempt_at && String(r.last_attempt_at) > String(w.lastAttemptAt))) w.lastAttemptAt = r.last_attempt_at;
  }
  return out;
}

/** A row of the alerts listing (the alert and its deliveries as JSON) as the API shows it. */
export function alertAnswer(row: Record<string, unknown>) {
  const { deliveries, ...alert } = row;
  // BIGSERIAL arrives from pg as text: the API's id is a number.
  return { ...alert, id: Number(alert.id), open: !alert.rearmed_at, channels: channelSummary(deliveries as DeliveryRow[]) };
}

export interface ReplayRequest {
  alertId: number;
  channel: Exclude<Channel, 'queue'>;
  subscriberId: number;
}

/** POST /api/alerts/:id/replay {channel, subscriberId?}: which delivery to send again. */
export function checkReplayRequest(alertIdParam: unknown, body: unknown): ReplayRequest {
  const problems: string[] = [];
  const alertId = positiveInt(textOf(alertIdParam));
  if (!alertId) problems.push('the alert id in the path must be a positive whole number');
  const b = (body ?? {}) as Record<string, unknown>;
  if (typeof b !== 'object' || Array.isArray(b)) problems.push('the body must be a JSON object {channel, subscriberId}');
  const channel = b.channel as ReplayRequest['channel'];
  if (!Object.keys(CHANNEL_QUEUES).includes(channel as string)) problems.push(`channel must be one of ${Object.keys(CHANNEL_QUEUES).join(', ')}`);
  const subscriberId = channel === 'webhook' ? b.subscriberId : 0;
  if (channel === 'webhook' && (!Number.isInteger(subscriberId) || (subscriberId as number) <= 0))
    problems.push('subscriberId is required for channel webhook');
  for (const k of Object.keys(b)) if (!['channel', 'subscriberId'].includes(k)) problems.push(`unknown property "${k}"`);
  if (problems.length) throw badInput('node-red', problems.join('; '), { problems });
  return { alertId: alertId as number, channel, subscriberId: subscriberId as number };
}

/**
 * What a replay does, given the delivery as it stands (alert_delivery_replay's answer): a delivered one is not
 * sent twice (409); a missing one is 404; else the channel's message again, with a message id of its own so the
 * consumers' duplicate filter lets it through.
 */
export function replayMessage(req: ReplayRequest, row: Record<string, unknown> | undefined) {
  if (!row || !row.alert)
    throw new IntegrationError(`alert ${req.alertId} has no ${req.channel} delivery to replay`, { code: 'NOT_FOUND', system: 'node-red', retryable: false });
  if (row.previous_state === 'delivered') {
    throw new IntegrationError(`alert ${req.alertId} was already delivered on ${req.channel}; it is not sent twice`, {
      code: 'CONFLICT',
      system: 'node-red',
      retryable: false,
    });
  }
  const event = alertEvent(row.alert as AlertRow);
  const suffix = `replay-${Number(row.replays)}`;
  return req.channel === 'webhook'
    ? {
        topic: CHANNEL_QUEUES.webhook,
        messageId: `${event.id}.webhook.${req.subscriberId}.${suffix}`,
        payload: { subscriberId: req.subscriberId, alert: event },
      }
    : { topic: CHANNEL_QUEUES[req.channel], messageId: `${event.id}.${req.channel}.${suffix}`, payload: event };
}

export interface SubscriberRequest {
  url: string;
  eventTypes: string[];
  description: string | null;
}

/** POST /api/webhook-subscribers {url, eventTypes?, description?}: an http(s) URL without credentials, known event types. */
export function checkSubscriberRequest(body: unknown): SubscriberRequest {
  const problems: string[] = [];
  const b = (body ?? {}) as Record<string, unknown>;
  if (typeof b !== 'object' || Array.isArray(b)) throw badInput('node-red', 'the body must be a JSON object {url, eventTypes, description}');
  for (const k of Object.keys(b))
    if (!['url', 'eventTypes', 'description'].includes(k)) problems.push(`unknown property "${k}" (expected url, eventTypes, description)`);
  let url: URL | undefined;
  try {
    url = new URL(textOf(b.url));
  } catch {
    problems.push('url must be an absolute http(s) URL');
  }
  if (url && !['http:', 'https:'].includes(url.protocol)) problems.push('url must use http or https');
  if (url && (url.username || url.password)) problems.push('url must not carry credentials: the signature authenticates the sender');
  if (typeof b.url === 'string' && b.url.length > 2000) problems.push('url must be at most 2000 characters');
  const types = b.eventTypes === undefined ? [STOCK_LOW] : b.eventTypes;
  if (!Array.isArray(types) || !types.length || types.some((t) => !(EVENT_TYPES as readonly string[]).includes(t as string))) {
    problems.push(`eventTypes must be a non-empty list of ${EVENT_TYPES.join(', ')}`);
  }
  if (b.description !== undefined && b.description !== null && (typeof b.description !== 'string' || b.description.length > 255)) {
    problems.push('description must be text of at most 255 characters');
  }
  if (problems.length) throw badInput('node-red', problems.join('; '), { problems });
  return { url: (url as URL).toString(), eventTypes: [...new Set(types as string[])], description: (b.description as string | undefined) || null };
}

/** A subscriber as the API shows it: never its secret (the creation's answer adds it, once). */
export function subscriberAnswer(row: Record<string, unknown>, secret?: string) {
  return {
    id: row.id,
    url: row.url,
    eventTypes: row.event_types,
    active: row.active,
    description: row.description,
    createdBy: row.created_by,
    createdAt: row.created_at,
    ...(secret ? { secret } : {}),
  };
}
