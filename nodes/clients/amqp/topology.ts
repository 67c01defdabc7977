/**
 * The broker topology of docs/mission.md, and the names of the retry and dead-letter queues every consumed
 * queue gets. Declared on connect (and again after every reconnect) by the broker client.
 */
export const DOCUMENTS_EXCHANGE = 'documents_exchange';

export interface QueueBinding {
  queue: string;
  routingKey: string;
}

export const DOCUMENT_QUEUES: readonly QueueBinding[] = [
  { queue: 'invoice_queue', routingKey: 'invoice.created' },
  { queue: 'medical_records_queue', routingKey: 'medical.created' },
  { queue: 'notification_queue', routingKey: 'notification.send' },
];

/**
 * The alert fan-out (flow 07): the outbox publishes each stock alert to `notification.send` (notification_queue,
 * above) and to `alert.stock.low`, which every channel consumes from its own queue, so a slow or dead channel
 * never delays another; each webhook subscriber's delivery is a message of its own in webhook_delivery_queue.
 */
export const ALERT_ROUTING_KEY = 'alert.stock.low';
export const WEBHOOK_DELIVERY_ROUTING_KEY = 'webhook.deliver';
const ALERT_QUEUES: readonly QueueBinding[] = [
  { queue: 'alert_email_queue', routingKey: ALERT_ROUTING_KEY },
  { queue: 'alert_odoo_queue', routingKey: ALERT_ROUTING_KEY },
  { queue: 'alert_webhook_queue', routingKey: ALERT_ROUTING_KEY },
  { queue: 'webhook_delivery_queue', routingKey: WEBHOOK_DELIVERY_ROUTING_KEY },
];

/** Where a failed delivery waits before its next attempt (one queue per attempt: no head-of-line wait). */
export const retryQueueName = (queue: string, attempt: number) => `${queue}.retry.${attempt}`;
/** Where a message goes for good after its last attempt or when it is malformed, with the reason in headers. */
export const deadLetterQueueName = (queue: string) => `${queue}.dlq`;

export interface ExchangeDecl {
  exchange: string;
  type: 'direct' | 'topic' | 'fanout' | 'headers';
  durable: boolean;
}

export interface QueueDecl {
  queue: string;
  durable: boolean;
  arguments?: Record<string, unknown>;
}

export interface BindingDecl {
  queue: string;
  exchange: string;
  routingKey: string;
}

export interface Topology {
  exchanges: ExchangeDecl[];
  queues: QueueDecl[];
  bindings: BindingDecl[];
}

/**
 * The queues that make retries and dead letters work for one consumed queue: `<q>.retry.<n>` for each
 * attempt but the last (messages wait there for their back-off, then the broker dead-letters them back into
 * `<q>` through the default exchange) and `<q>.dlq`.
 */
export function failureQueues(queue: string, maxAttempts: number): QueueDecl[] {
  const queues: QueueDecl[] = [];
  for (let attempt = 1; attempt < maxAttempts; attempt++) {
    queues.push({
      queue: retryQueueName(queue, attempt),
      durable: true,
      arguments: { 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': queue },
    });
  }
  queues.push({ queue: deadLetterQueueName(queue), durable: true });
  return queues;
}

/** documents_exchange (direct) with its three durable queues and the alert channels' four, each with retry queues and a DLQ. */
export function documentsTopology(maxAttempts = 3): Topology {
  const all = [...DOCUMENT_QUEUES, ...ALERT_QUEUES];
  return {
    exchanges: [{ exchange: DOCUMENTS_EXCHANGE, type: 'direct', durable: true }],
    queues: all.flatMap((b) => [{ queue: b.queue, durable: true }, ...failureQueues(b.queue, maxAttempts)]),
    bindings: all.map((b) => ({ queue: b.queue, exchange: DOCUMENTS_EXCHANGE, routingKey: b.routingKey })),
  };
}
