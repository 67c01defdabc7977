/**
 * /metrics in the Prometheus text format, with prom-client: the gateway's requests (count and latency histogram per
 * route, method and status), every node family's counters (nodes/clients/common/metrics.ts), the process (CPU,
 * memory, event loop), and — read at scrape time from the shared DB and the broker — queue depths and dead letters,
 * sync lag per model and alert deliveries per channel and state.
 */
import * as amqplib from 'amqplib';
import type { Pool } from 'pg';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { snapshot } from '../clients/common/metrics';
import { documentsTopology } from '../clients/amqp/topology';

export interface GatewayMetrics {
  registry: Registry;
  requests: Counter<'route' | 'method' | 'status'>;
  latency: Histogram<'route' | 'method' | 'status'>;
  rateLimited: Counter<'class'>;
}

const safeName = (s: string) => s.replace(/[^a-zA-Z0-9_]/g, '_');

export function createMetrics(o: { pool?: Pool; amqpUrl?: string; audit?: () => { rows: number; failures: number } }): GatewayMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'clinica_' });
  const requests = new Counter({
    name: 'clinica_http_requests_total',
    help: 'API requests answered, per route, method and status',
    labelNames: ['route', 'method', 'status'] as const,
    registers: [registry],
  });
  const latency = new Histogram({
    name: 'clinica_http_request_duration_seconds',
    help: 'API request latency, per route, method and status',
    labelNames: ['route', 'method', 'status'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const rateLimited = new Counter({
    name: 'clinica_http_rate_limited_total',
    help: 'Requests refused with 429, per route class',
    labelNames: ['class'] as const,
    registers: [registry],
  });

  // Every family's counters, as they are at scrape time.
  new Gauge({
    name: 'clinica_node_events_total',
    help: 'Counters of the node families (operations, failures, retries and their own events), by family and name',
    labelNames: ['family', 'name', 'labels'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const s of snapshot()) {
        const labels = Object.entries(s.labels)
          .map(([k, v]) => `${safeName(k)}=${v}`)
          .join(',');
        this.set({ family: s.family, name: s.name, labels }, s.value);
      }
    },
  });

  if (o.audit) {
    const audit = o.audit;
    new Gauge({
      name: 'clinica_api_audit_rows',
      help: 'Audit rows of patient-data access written by this process (state=written|failed)',
      labelNames: ['state'] as const,
      registers: [registry],
      collect() {
        const s = audit();
        this.set({ state: 'written' }, s.rows);
        this.set({ state: 'failed' }, s.failures);
      },
    });
  }

  if (o.pool) {
    const pool = o.pool;
    new Gauge({
      name: 'clinica_sync_lag_seconds',
      help: 'Seconds since each sync of sync_state last ran',
      labelNames: ['sync', 'failing'] as const,
      registers: [registry],
      async collect() {
        this.reset();
        const r = await pool
          .query<{ name: string; lag: number; failing: boolean }>(
            'SELECT name, EXTRACT(EPOCH FROM (now() - last_run))::float AS lag, last_error IS NOT NULL AS failing FROM sync_state WHERE last_run IS NOT NULL',
          )
          .catch(() => ({ rows: [] }));
        for (const row of r.rows) this.set({ sync: row.name, failing: String(row.failing) }, row.lag);
      },
    });
    new Gauge({
      name: 'clinica_alert_deliveries',
      help: 'Alert deliveries per channel and state (alert_deliveries)',
      labelNames: ['channel', 'state'] as const,
      registers: [registry],
      async collect() {
        this.reset();
        const r = await pool
          .query<{ channel: string; state: string; n: number }>('SELECT channel, state, count(*)::int AS n FROM alert_deliveries GROUP BY channel, state')
          .catch(() => ({ rows: [] }));
        for (const row of r.rows) this.set({ channel: row.channel, state: row.state }, row.n);
      },
    });
  }

  if (o.amqpUrl) {
    const url = o.amqpUrl;
    const queues = documentsTopology().queues.map((q) => q.queue);
    const consumers = new Gauge({
      name: 'clinica_queue_consumers',
      help: 'Consumers of each queue of the topology',
      labelNames: ['queue'] as const,
      registers: [registry],
    });
    new Gauge({
      name: 'clinica_queue_messages',
      help: 'Messages ready in each queue of the topology (dead letters: queue ending in .dlq)',
      labelNames: ['queue'] as const,
      registers: [registry],
      async collect() {
        this.reset();
        consumers.reset();
        // One short connection per scrape: nothing stays open between scrapes, a broker outage costs one timeout.
        let conn: amqplib.ChannelModel | undefined;
        try {
          conn = await amqplib.connect(url, { timeout: 3000, clientProperties: { connection_name: 'clinica-metrics' } });
          conn.on('error', () => undefined);
          for (const queue of queues) {
            // A passive check of a missing queue closes its channel: one channel per question.
            const ch = await conn.createChannel();
            ch.on('error', () => undefined);
            const r = await ch.checkQueue(queue).catch(() => undefined);
            if (r) {
              this.set({ queue }, r.messageCount);
              consumers.set({ queue }, r.consumerCount);
            }
            await ch.close().catch(() => undefined);
          }
        } catch {
          // the broker is down: no queue gauges in this scrape
        } finally {
          await conn?.close().catch(() => undefined);
        }
      },
    });
  }

  return {
    registry,
    requests,
    latency,
    rateLimited,
  };
}
