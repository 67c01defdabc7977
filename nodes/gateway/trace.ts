/**
 * The path of a correlation id through the systems: every message a node of the pack finishes (a queue publish or
 * consume, a Nextcloud upload, an Odoo call, an HTTP answer, an e-mail, a webhook …) becomes a row of trace_events
 * (migration 7), which the Integración monitor (tab 08b) shows for one correlation id: documents go webhook → queue →
 * Nextcloud → Odoo note. Taken from Node-RED's onComplete hook, so no flow changes; written in batches off the
 * message path, at most `perSecond` rows a second (the rest counted, not written), kept for `days`.
 */
import type { Pool } from 'pg';
import { count } from '../clients/common/metrics';

export interface TraceRow {
  at: string;
  correlation_id: string;
  system: string;
  step: string;
  ok: boolean;
  error_code: string | null;
  node_type: string;
  flow: string | null;
}

/** The node types traced, and the system each one speaks to. Steps and queries are left out (they are many). */
const SYSTEM: Record<string, string> = {
  'clinica-amqp-publish': 'RabbitMQ',
  'clinica-amqp-consume': 'RabbitMQ',
  'clinica-amqp-ack': 'RabbitMQ',
  'clinica-odoo': 'Odoo',
  'clinica-odoo-pdf': 'Odoo',
  'clinica-odoo-trigger': 'Odoo',
  'clinica-nextcloud': 'Nextcloud',
  'clinica-db-upsert': 'shared DB',
  'clinica-http-answer': 'HTTP',
  'clinica-keycloak-guard': 'Keycloak',
  'clinica-email-send': 'SMTP',
  'clinica-webhook-deliver': 'webhook',
};

/* eslint-disable @typescript-eslint/no-explicit-any -- messages are open-ended objects */
/** What a finished node did, in a few words (never a payload or a secret). */
export function stepOf(type: string, name: string | undefined, msg: any): string {
  const what = name || type.replace(/^clinica-/, '');
  const detail =
    type === 'clinica-nextcloud'
      ? msg?.nextcloud?.path
      : type.startsWith('clinica-odoo')
        ? [msg?.odoo?.model, msg?.odoo?.operation, msg?.odoo?.id].filter((x) => x !== undefined && x !== null).join(' ')
        : type.startsWith('clinica-amqp')
          ? (msg?.amqp?.queue ?? msg?.amqp?.routingKey ?? (typeof msg?.topic === 'string' ? msg.topic : undefined))
          : type === 'clinica-http-answer'
            ? msg?.statusCode
            : type === 'clinica-webhook-deliver'
              ? msg?.webhook?.result?.status
              : undefined;
  const text = detail === undefined || detail === '' ? what : `${what}: ${String(detail)}`;
  return text.slice(0, 300);
}

export interface Tracer {
  /** The onComplete hook's event. */
  onComplete(event: { msg?: any; node?: { id?: string; node?: { type?: string; name?: string; z?: string } }; error?: any }): void;
}

export function createTracer(pool: Pool, o: { perSecond?: number; days?: number; flushMs?: number; warn?: (r: Record<string, unknown>) => void } = {}): Tracer {
  const perSecond = o.perSecond ?? 500;
  const buffer: TraceRow[] = [];
  let second = 0;
  let inSecond = 0;
  let writing: Promise<void> | undefined;
  let failures = 0;

  async function flush(): Promise<void> {
    if (writing) return writing;
    if (!buffer.length) return;
    const batch = buffer.splice(0, 2000);
    writing = pool
      .query(
        `INSERT INTO trace_events (at, correlation_id, system, step, ok, error_code, node_type, flow)
         SELECT at, correlation_id, system, step, ok, error_code, node_type, flow FROM json_populate_recordset(NULL::trace_events, $1::json)`,
        [JSON.stringify(batch)],
      )
      .then(
        () => {
          failures = 0;
        },
        (err: unknown) => {
          count('node-red', 'trace_dropped', { reason: 'write' }, batch.length);
          if (failures++ === 0)
            o.warn?.({ event: 'trace.write-failed', error: (err as Error).message, msg: 'trace rows are dropped until the shared DB answers' });
        },
      )
      .finally(() => {
        writing = undefined;
      });
    return writing;
  }
  const timer = setInterval(() => void flush(), o.flushMs ?? 250);
  timer.unref();
  const prune = setInterval(
    () => void pool.query(`DELETE FROM trace_events WHERE at < now() - make_interval(days => $1)`, [o.days ?? 7]).catch(() => undefined),
    3600_000,
  );
  prune.unref();

  return {
    onComplete(event) {
      const type = event.node?.node?.type;
      const correlationId = event.msg?.correlationId;
      if (!type || typeof correlationId !== 'string' || !SYSTEM[type]) return;
      const now = Date.now();
      const s = Math.floor(now / 1000);
      if (s !== second) {
        second = s;
        inSecond = 0;
      }
      if (++inSecond > perSecond || buffer.length > 20000) {
        count('node-red', 'trace_dropped', { reason: 'rate' });
        return;
      }
      buffer.push({
        at: new Date(now).toISOString(),
        correlation_id: correlationId.slice(0, 100),
        system: SYSTEM[type],
        step: stepOf(type, event.node?.node?.name, event.msg),
        ok: !event.error,
        error_code: event.error ? String(event.msg?.errorInfo?.code ?? event.error?.code ?? 'ERROR').slice(0, 100) : null,
        node_type: type,
        flow: event.node?.node?.z ?? null,
      });
    },
  };
}
