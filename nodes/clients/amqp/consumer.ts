/**
 * A consumer with the guarantees the clinic needs: a message is acked only after its handler finished
 * with it; a retryable failure is retried after a back-off (attempts counted in the `x-attempts` header,
 * waiting in `<q>.retry.<n>`), and after the last attempt, or at once for a non-retryable failure or a
 * malformed body, it goes to `<q>.dlq` with the reason in its headers. The retry/dead-letter copy is
 * confirmed by the broker before the original is acked, so a crash in between can only duplicate, never
 * lose. Redeliveries of messages already finished are recognised by message id and acked without running
 * the handler again.
 */
import { EventEmitter } from 'node:events';
import { ConsumerStatus, type AsyncMessage, type Consumer } from 'rabbitmq-client';
import { IntegrationError, errorMessage, isRetryable } from '../common/errors';
import type { BrokerLink } from './types';
import { consumedQueue, deadLetterQueueName, failureQueues, retryQueueName, type QueueDecl, type QueueType } from './topology';

export type BodyFormat = 'auto' | 'json' | 'text' | 'buffer';

export interface ConsumeOptions {
  queue: string;
  /** Unacked messages the broker may hand over at once, and handlers running at once (default 10). */
  prefetch?: number;
  /** Attempts before dead-lettering, counting the first (default 3). */
  maxAttempts?: number;
  /** Back-off before attempt n+1: retryDelayMs * 2^(n-1) (default 1000), or the failure's `details.retryAfterMs` when longer. */
  retryDelayMs?: number;
  /** How the body becomes the payload; 'json' dead-letters bodies that are not JSON (default 'auto'). */
  format?: BodyFormat;
  /** Recognise redeliveries of finished messages by message id (default true; remembers the last 100,000). */
  dedupe?: boolean;
  /** Arguments the queue is declared with (must match an existing queue's); added to those of `queueType`. */
  queueArguments?: Record<string, unknown>;
  /**
   * The type of the queue and its retry queues and DLQ (default classic; the broker passes its own). It must be
   * the topology's: RabbitMQ refuses a declaration of an existing queue with another `x-queue-type`.
   */
  queueType?: QueueType;
}

export interface Delivery {
  queue: string;
  body: unknown;
  /** The body as bytes (rebuilt from the parsed JSON when the message was JSON). */
  readonly raw: Buffer;
  contentType?: string;
  messageId?: string;
  correlationId?: string;
  exchange: string;
  routingKey: string;
  redelivered: boolean;
  headers: Record<string, unknown>;
  /** 1 for the first attempt. */
  attempt: number;
  maxAttempts: number;
  deliveryTag: number;
}

/** Resolves when the work is done (ack); rejects when it failed (retry or dead-letter by the error's retryable). */
export type DeliveryHandler = (delivery: Delivery) => Promise<void>;

export interface ConsumerStats {
  received: number;
  acked: number;
  retried: number;
  deadLettered: number;
  malformed: number;
  duplicates: number;
}

class MalformedMessageError extends IntegrationError {
  constructor(message: string, details?: Record<string, unknown>) {
    super(message, { code: 'AMQP_MALFORMED', system: 'amqp', retryable: false, details });
  }
}

/** A bounded set of recently finished message ids: the newest `limit`, the oldest forgotten first. */
class RecentIds {
  private readonly ids = new Set<string>();
  /** The ids in the order they were added, as a ring: the slot to write next is the oldest. */
  private readonly ring: string[] = [];
  private next = 0;
  constructor(private readonly limit: number) {}
  has(id: string): boolean {
    return this.ids.has(id);
  }
  add(id: string): void {
    if (this.ids.has(id)) return;
    this.ids.add(id);
    if (this.ring.length < this.limit) {
      this.ring.push(id);
      return;
    }
    this.ids.delete(this.ring[this.next]);
    this.ring[this.next] = id;
    this.next = (this.next + 1) % this.limit;
  }
}

/** The longest wait a failure may ask for before its next attempt (a Retry-After of days is not honoured). */
const MAX_RETRY_AFTER_MS = 3600000;

/**
 * The back-off before attempt n+1: retryDelayMs * 2^(n-1), or longer when the failure says when to come back
 * (`details.retryAfterMs`, from a 429 or 503 Retry-After), up to an hour.
 */
export function retryDelay(err: unknown, retryDelayMs: number, attempt: number): number {
  const backoff = retryDelayMs * 2 ** (attempt - 1);
  const asked = Number((err as { details?: { retryAfterMs?: unknown } } | undefined)?.details?.retryAfterMs);
  return Number.isFinite(asked) && asked > backoff ? Math.min(asked, MAX_RETRY_AFTER_MS) : backoff;
}

const toBuffer = (body: unknown): Buffer =>
  Buffer.isBuffer(body) ? body : typeof body === 'string' ? Buffer.from(body, 'utf8') : Buffer.from(JSON.stringify(body ?? null), 'utf8');

/**
 * The payload of a message in the requested format, or a MalformedMessageError naming why not. The raw bytes
 * are only rebuilt when they are needed (a retry or a dead letter): rabbitmq-client already parsed declared JSON.
 */
function decodeBody(msg: Pick<AsyncMessage, 'body' | 'contentType'>, format: BodyFormat): unknown {
  const declaredJson = (msg.contentType ?? '').startsWith('application/json');
  if (declaredJson && !Buffer.isBuffer(msg.body) && format !== 'buffer' && format !== 'text') return msg.body;
  const raw = toBuffer(msg.body);
  if (format === 'buffer') return raw;
  if (format === 'text') return raw.toString('utf8');
  if (format === 'json' || declaredJson) {
    // A Buffer left here under a JSON content type means rabbitmq-client failed to parse it.
    try {
      return JSON.parse(raw.toString('utf8'));
    } catch (err) {
      throw new MalformedMessageError(`body is not valid JSON (${errorMessage(err)}); first bytes: ${JSON.stringify(raw.subarray(0, 60).toString('utf8'))}`, {
        contentType: msg.contentType,
        bytes: raw.length,
      });
    }
  }
  if ((msg.contentType ?? '').startsWith('text/')) return raw.toString('utf8');
  return raw;
}

/** A delivery as the handler sees it; the raw bytes are rebuilt only when asked for (a retry, a dead letter). */
class ReceivedDelivery implements Delivery {
  readonly contentType?: string;
  readonly messageId?: string;
  readonly correlationId?: string;
  readonly exchange: string;
  readonly routingKey: string;
  readonly redelivered: boolean;
  readonly deliveryTag: number;
  constructor(
    readonly queue: string,
    readonly body: unknown,
    private readonly msg: AsyncMessage,
    readonly headers: Record<string, unknown>,
    readonly attempt: number,
    readonly maxAttempts: number,
  ) {
    this.contentType = msg.contentType;
    this.messageId = msg.messageId;
    this.correlationId = msg.correlationId ?? (headers['x-correlation-id'] as string | undefined);
    this.exchange = (headers['x-original-exchange'] as string | undefined) ?? msg.exchange;
    this.routingKey = (headers['x-original-routing-key'] as string | undefined) ?? msg.routingKey;
    this.redelivered = msg.redelivered;
    this.deliveryTag = msg.deliveryTag;
  }
  get raw(): Buffer {
    return toBuffer(this.msg.body);
  }
}

/**
 * An ack or nack that could not leave because the connection or channel was gone: rabbitmq-client says
 * "failed to ack/nack message; …" when the channel is already closed, and "…; BasicAck" (or BasicNack) when
 * the socket failed under the write.
 */
const isAckFailure = (err: unknown): boolean => {
  const message = errorMessage(err);
  return message.startsWith('failed to ack/nack message') || message.endsWith('; BasicAck') || message.endsWith('; BasicNack');
};

export declare interface AmqpConsumer {
  on(event: 'ready', cb: () => void): this;
  on(event: 'error', cb: (err: unknown) => void): this;
  on(event: 'retry', cb: (delivery: Delivery, err: unknown, delayMs: number) => void): this;
  on(event: 'dead-letter', cb: (delivery: Delivery | undefined, reason: string) => void): this;
  on(event: 'duplicate', cb: (messageId: string) => void): this;
  /**
   * Once per lost connection (told when the consumer is ready again, or closes): how many deliveries were in
   * hand and could not be acked or given back. The broker redelivers every one of them; those the flow had
   * already finished are recognised by message id and acked without running it again.
   */
  on(event: 'unacked', cb: (count: number) => void): this;
  on(event: 'closed', cb: () => void): this;
}

export class AmqpConsumer extends EventEmitter {
  readonly stats: ConsumerStats = { received: 0, acked: 0, retried: 0, deadLettered: 0, malformed: 0, duplicates: 0 };
  readonly queue: string;
  private readonly maxAttempts: number;
  private readonly retryDelayMs: number;
  private readonly format: BodyFormat;
  private readonly finished?: RecentIds;
  private consumer?: Consumer;
  /** Handlers running now, by message id: a redelivery of one of them waits for its outcome. */
  private readonly inFlight = new Map<string, Promise<void>>();
  /**
   * How to let go of each delivery in hand when the connection is lost (its channel can no longer ack it;
   * the broker redelivers it): the consumer stops waiting for the handler so that it can reconnect.
   */
  private readonly waiting = new Set<() => void>();
  /** Acks that failed since the connection was lost (told once, as 'unacked', when ready again). */
  private failedAcks = 0;

  constructor(
    private readonly broker: BrokerLink,
    private readonly options: ConsumeOptions,
    private readonly handler: DeliveryHandler,
  ) {
    super();
    if (!options.queue) {
      throw new IntegrationError('AMQP consumer needs a queue name', { code: 'AMQP_NOT_CONFIGURED', system: 'amqp', retryable: false });
    }
    this.queue = options.queue;
    this.maxAttempts = Math.max(1, options.maxAttempts ?? 3);
    this.retryDelayMs = Math.max(0, options.retryDelayMs ?? 1000);
    this.format = options.format ?? 'auto';
    this.finished = options.dedupe === false ? undefined : new RecentIds(100000);
  }

  /** The retry queues and DLQ of this consumer's queue. */
  get failureQueues(): QueueDecl[] {
    return failureQueues(this.queue, this.maxAttempts, this.options.queueType);
  }

  private readonly onBrokerState = (state: string) => {
    if (state === 'reconnecting' || state === 'closed') this.releaseAll();
  };

  /** The connection is gone: stop waiting for every handler in hand (the broker will redeliver their messages). */
  private releaseAll(): void {
    const releases = [...this.waiting];
    this.waiting.clear();
    for (const release of releases) release();
  }

  /** Tells, once, how many acks the lost connection swallowed. */
  private reportUnacked(): void {
    if (this.failedAcks === 0) return;
    const n = this.failedAcks;
    this.failedAcks = 0;
    this.emit('unacked', n);
  }

  start(): void {
    this.broker.on('state', this.onBrokerState);
    const prefetch = Math.max(1, this.options.prefetch ?? 10);
    this.consumer = this.broker.connection.createConsumer(
      {
        queue: this.queue,
        queueOptions: { durable: true, arguments: this.queueArguments() },
        qos: { prefetchCount: prefetch },
        concurrency: prefetch,
        // A throw here means the retry/DLQ publish itself failed: give the message back to the queue.
        requeue: true,
      },
      (msg) => this.onMessage(msg),
    );
    this.consumer.on('ready', () => {
      this.reportUnacked();
      void this.declareFailureQueues().then(
        () => this.emit('ready'),
        (err: unknown) => this.emit('error', err),
      );
    });
    this.consumer.on('error', (err: unknown) => {
      // Every delivery in hand when the connection went fails its ack the same way: counted, told once.
      if (isAckFailure(err)) this.failedAcks += 1;
      else this.emit('error', err);
    });
  }

  /** The queue's own declaration: its type's arguments (as the topology declares it) and any extra ones. */
  private queueArguments(): Record<string, unknown> | undefined {
    const typed = consumedQueue(this.queue, this.options.queueType).arguments;
    const extra = this.options.queueArguments;
    return typed || extra ? { ...typed, ...extra } : undefined;
  }

  private async declareFailureQueues(): Promise<void> {
    const ch = await this.broker.connection.acquire();
    try {
      for (const q of this.failureQueues) await ch.queueDeclare({ queue: q.queue, durable: q.durable, arguments: q.arguments });
    } finally {
      await ch.close().catch(() => undefined);
    }
  }

  private onMessage(msg: AsyncMessage): Promise<ConsumerStatus> | ConsumerStatus {
    this.stats.received += 1;
    // The library's own headers object: not copied (a retry or dead letter builds new headers from it).
    const headers = (msg.headers ?? {}) as Record<string, unknown>;
    const previous = Number(headers['x-attempts'] ?? 0);
    const attempt = (Number.isFinite(previous) && previous > 0 ? previous : 0) + 1;
    let body: unknown;
    try {
      body = decodeBody(msg, this.format);
    } catch (err) {
      this.stats.malformed += 1;
      return this.deadLetter(msg, toBuffer(msg.body), headers, attempt, err).then(() => ConsumerStatus.ACK);
    }
    const id = msg.messageId;
    if (id && this.finished) {
      if (this.finished.has(id)) return this.duplicate(id);
      const running = this.inFlight.get(id);
      // A redelivery of a message still being handled: a duplicate if that run succeeds, run again if it fails.
      if (running) {
        return running.then(
          () => this.duplicate(id),
          () => this.run(msg, headers, attempt, body),
        );
      }
    }
    return this.run(msg, headers, attempt, body);
  }

  private duplicate(id: string): ConsumerStatus {
    this.stats.duplicates += 1;
    this.emit('duplicate', id);
    this.broker.batchWrites();
    return ConsumerStatus.ACK;
  }

  /** Runs the handler; acks after it, retries or dead-letters when it fails, gives up waiting when the connection goes. */
  private run(msg: AsyncMessage, headers: Record<string, unknown>, attempt: number, body: unknown): Promise<ConsumerStatus> {
    const delivery = new ReceivedDelivery(this.queue, body, msg, headers, attempt, this.maxAttempts);
    let work: Promise<void>;
    try {
      work = this.handler(delivery);
    } catch (err) {
      work = Promise.reject(err);
    }
    const id = this.finished ? msg.messageId : undefined;
    if (id) this.inFlight.set(id, work);
    return new Promise<ConsumerStatus>((resolve, reject) => {
      // When the connection drops, the broker will redeliver this message; stop waiting so the consumer can
      // reconnect. If the flow still finishes it, the redelivery is recognised as a duplicate.
      const release = () => resolve(ConsumerStatus.REQUEUE);
      this.waiting.add(release);
      work.then(
        () => {
          if (id) {
            this.finished?.add(id);
            if (this.inFlight.get(id) === work) this.inFlight.delete(id);
          }
          if (!this.waiting.delete(release)) return;
          this.stats.acked += 1;
          this.broker.batchWrites();
          resolve(ConsumerStatus.ACK);
        },
        (err: unknown) => {
          if (id && this.inFlight.get(id) === work) this.inFlight.delete(id);
          if (!this.waiting.delete(release)) return;
          this.fail(msg, delivery, headers, attempt, err).then(resolve, reject);
        },
      );
    });
  }

  /** A failed delivery: to its retry queue after a back-off, or to the DLQ; the copy is confirmed before the ack. */
  private async fail(msg: AsyncMessage, delivery: Delivery, headers: Record<string, unknown>, attempt: number, err: unknown): Promise<ConsumerStatus> {
    if (isRetryable(err) && attempt < this.maxAttempts) {
      const delayMs = retryDelay(err, this.retryDelayMs, attempt);
      await this.republish(
        retryQueueName(this.queue, attempt),
        delivery.raw,
        msg,
        {
          ...headers,
          'x-attempts': attempt,
          'x-last-error': errorMessage(err).slice(0, 1000),
          'x-original-exchange': delivery.exchange,
          'x-original-routing-key': delivery.routingKey,
        },
        delayMs,
      );
      this.stats.retried += 1;
      this.emit('retry', delivery, err, delayMs);
      return ConsumerStatus.ACK;
    }
    await this.deadLetter(msg, delivery.raw, headers, attempt, err, delivery);
    return ConsumerStatus.ACK;
  }

  private async deadLetter(
    msg: AsyncMessage,
    raw: Buffer,
    headers: Record<string, unknown>,
    attempt: number,
    err: unknown,
    delivery?: Delivery,
  ): Promise<void> {
    const reason = errorMessage(err).slice(0, 2000);
    await this.republish(deadLetterQueueName(this.queue), raw, msg, {
      ...headers,
      'x-attempts': attempt,
      'x-death-reason': reason,
      'x-error-code': (err as { code?: string }).code ?? 'UNEXPECTED',
      'x-failed-at': new Date().toISOString(),
      'x-original-queue': this.queue,
      'x-original-exchange': (headers['x-original-exchange'] as string | undefined) ?? msg.exchange,
      'x-original-routing-key': (headers['x-original-routing-key'] as string | undefined) ?? msg.routingKey,
    });
    this.stats.deadLettered += 1;
    this.emit('dead-letter', delivery, reason);
  }

  /** A copy of the message to a queue of ours, through the default exchange, confirmed before we ack. */
  private async republish(queue: string, raw: Buffer, msg: AsyncMessage, headers: Record<string, unknown>, expirationMs?: number): Promise<void> {
    await this.broker.publish({
      exchange: '',
      routingKey: queue,
      body: raw,
      contentType: msg.contentType,
      messageId: msg.messageId,
      correlationId: msg.correlationId,
      headers,
      expirationMs,
    });
  }

  /**
   * Stops consuming. Handlers still waiting are released at once (their messages go back to the queue); with
   * the broker unreachable the library would wait for a channel, so closing waits at most 2 s for it.
   */
  async close(): Promise<void> {
    this.broker.off('state', this.onBrokerState);
    this.releaseAll();
    const closed = this.consumer?.close().catch(() => undefined);
    await Promise.race([closed, new Promise<void>((resolve) => setTimeout(resolve, 2000).unref())]);
    this.reportUnacked();
    this.emit('closed');
  }
}

/**
 * Moves up to `limit` messages from `<queue>.dlq` back to `<queue>` (attempts reset, `x-replayed` counted),
 * each confirmed before it is removed from the DLQ. With `messageId`, only the dead letters of that message id
 * move; the others stay where they were (held unacknowledged meanwhile, given back in their order). Returns how
 * many were moved.
 */
export async function replayDeadLetters(broker: BrokerLink, queue: string, limit = Infinity, messageId?: string): Promise<number> {
  const dlq = deadLetterQueueName(queue);
  const ch = await broker.connection.acquire();
  let moved = 0;
  let looked = 0;
  try {
    while (moved < limit && looked < 100000) {
      const msg = await ch.basicGet({ queue: dlq, noAck: false });
      if (!msg) break;
      looked += 1;
      if (messageId !== undefined && msg.messageId !== messageId) continue;
      const headers = { ...(msg.headers ?? {}) } as Record<string, unknown>;
      const replayed = Number(headers['x-replayed'] ?? 0) + 1;
      for (const h of ['x-attempts', 'x-death-reason', 'x-error-code', 'x-failed-at', 'x-last-error']) delete headers[h];
      await broker.publish({
        exchange: '',
        routingKey: queue,
        body: toBuffer(msg.body),
        contentType: msg.contentType,
        messageId: msg.messageId,
        correlationId: msg.correlationId,
        headers: { ...headers, 'x-replayed': replayed },
      });
      ch.basicAck({ deliveryTag: msg.deliveryTag });
      moved += 1;
    }
  } finally {
    await ch.close().catch(() => undefined);
  }
  return moved;
}

/** One dead letter as an operator inspects it. */
export interface DeadLetter {
  messageId?: string;
  correlationId?: string;
  /** Why it was dead-lettered (x-death-reason), its error code and how many attempts it had. */
  reason?: string;
  code?: string;
  attempts?: number;
  failedAt?: string;
  routingKey?: string;
  replayed?: number;
  /** The body, as text, cut to 500 characters. */
  body: string;
}

/**
 * The dead letters of `queue` (its `<queue>.dlq`), oldest first, at most `limit`, without taking them: each is
 * read and handed back to the queue when the channel closes (nothing is lost, the order is kept).
 */
export async function inspectDeadLetters(broker: BrokerLink, queue: string, limit = 100): Promise<DeadLetter[]> {
  const dlq = deadLetterQueueName(queue);
  const ch = await broker.connection.acquire();
  const out: DeadLetter[] = [];
  try {
    while (out.length < limit) {
      const msg = await ch.basicGet({ queue: dlq, noAck: false });
      if (!msg) break;
      const h = (msg.headers ?? {}) as Record<string, unknown>;
      const text = (v: unknown) => (v === undefined || v === null ? undefined : String(v));
      out.push({
        messageId: msg.messageId,
        correlationId: msg.correlationId,
        reason: text(h['x-death-reason']),
        code: text(h['x-error-code']),
        attempts: h['x-attempts'] === undefined ? undefined : Number(h['x-attempts']),
        failedAt: text(h['x-failed-at']),
        routingKey: text(h['x-original-routing-key']),
        replayed: h['x-replayed'] === undefined ? undefined : Number(h['x-replayed']),
        body: toBuffer(msg.body).toString('utf8').slice(0, 500),
      });
    }
  } finally {
    // Closing the channel gives every unacknowledged message back to the queue, in its order.
    await ch.close().catch(() => undefined);
  }
  return out;
}
