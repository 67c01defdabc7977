/**
 * The broker topology of docs/mission.md, and the names of the retry and dead-letter queues every consumed
 * queue gets. Declared on connect (and again after every reconnect) by the broker client.
 */
import { IntegrationError } from '../common/errors';

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
 * The kind of every queue the pack declares: `classic` (the default, what the pack always declared) or
 * `quorum` (replicated by Raft over the cluster's nodes; RabbitMQ ≥ 3.10 for message TTL and at-least-once
 * dead-lettering). A queue's type cannot change once declared: a declaration with another `x-queue-type` fails
 * with PRECONDITION_FAILED, so the topology and every consumer declare with the same arguments.
 */
export type QueueType = 'classic' | 'quorum';

/** `AMQP_QUEUE_TYPE` as a queue type: empty → classic; anything but classic or quorum is refused with the fix. */
export function parseQueueType(value: string | undefined): QueueType {
  const v = (value ?? '').trim().toLowerCase();
  if (v === '' || v === 'classic') return 'classic';
  if (v === 'quorum') return 'quorum';
  throw new IntegrationError(`AMQP queue type "${String(value).slice(0, 40)}" is not known: set AMQP_QUEUE_TYPE to classic or quorum`, {
    code: 'AMQP_NOT_CONFIGURED',
    system: 'amqp',
    retryable: false,
  });
}

/**
 * The arguments that make a queue of this type: none for classic (exactly the declaration of before, so queues
 * that exist stay equivalent), `x-queue-type: quorum` for quorum.
 */
function queueTypeArguments(type: QueueType = 'classic'): Record<string, unknown> | undefined {
  return type === 'quorum' ? { 'x-queue-type': 'quorum' } : undefined;
}

/** A consumed queue's declaration (the topology's and the consumer's are the same, or the broker refuses one). */
export function consumedQueue(queue: string, type: QueueType = 'classic'): QueueDecl {
  const args = queueTypeArguments(type);
  return args ? { queue, durable: true, arguments: args } : { queue, durable: true };
}

/**
 * The queues that make retries and dead letters work for one consumed queue: `<q>.retry.<n>` for each
 * attempt but the last (messages wait there for their back-off, then the broker dead-letters them back into
 * `<q>` through the default exchange) and `<q>.dlq`. As quorum queues the retry queues dead-letter
 * *at least once* (the message stays in the retry queue until `<q>` has confirmed it; RabbitMQ asks for
 * `x-overflow: reject-publish` with it), not at most once, quorum's default.
 */
export function failureQueues(queue: string, maxAttempts: number, type: QueueType = 'classic'): QueueDecl[] {
  const queues: QueueDecl[] = [];
  const typed = queueTypeArguments(type);
  for (let attempt = 1; attempt < maxAttempts; attempt++) {
    queues.push({
      queue: retryQueueName(queue, attempt),
      durable: true,
      arguments: {
        'x-dead-letter-exchange': '',
        'x-dead-letter-routing-key': queue,
        ...(typed ? { ...typed, 'x-dead-letter-strategy': 'at-least-once', 'x-overflow': 'reject-publish' } : {}),
      },
    });
  }
  queues.push(typed ? { queue: deadLetterQueueName(queue), durable: true, arguments: typed } : { queue: deadLetterQueueName(queue), durable: true });
  return queues;
}

/**
 * documents_exchange (direct) with its three durable queues and the alert channels' four, each with retry queues
 * and a DLQ, all of one type (`AMQP_QUEUE_TYPE`, default classic).
 */
export function documentsTopology(maxAttempts = 3, type: QueueType = 'classic'): Topology {
  const all = [...DOCUMENT_QUEUES, ...ALERT_QUEUES];
  return {
    exchanges: [{ exchange: DOCUMENTS_EXCHANGE, type: 'direct', durable: true }],
    queues: all.flatMap((b) => [consumedQueue(b.queue, type), ...failureQueues(b.queue, maxAttempts, type)]),
    bindings: all.map((b) => ({ queue: b.queue, exchange: DOCUMENTS_EXCHANGE, routingKey: b.routingKey })),
  };
}
