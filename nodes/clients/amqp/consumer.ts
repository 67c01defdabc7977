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
import * as amqplib from 'amqplib';
import type { Channel, ChannelModel, ConsumeMessage, Message } from 'amqplib';
import { IntegrationError, errorMessage, isRetryable } from '../common/errors';
import { Slots } from '../common/slots';
import { reconnectDelay } from './connection';
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
  /** The body as it came, in bytes. */
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

/** The payload of a message's bytes in the requested format, or a MalformedMessageError naming why not. */
function decodeBody(content: Buffer, contentType: string | undefined, format: BodyFormat): unknown {
  if (format === 'buffer') return content;
  if (format === 'text') return content.toString('utf8');
  const type = contentType ?? '';
  if (format === 'json' || type.startsWith('application/json')) {
    try {
      return JSON.parse(content.toString('utf8'));
    } catch (err) {
      throw new MalformedMessageError(
        `body is not valid JSON (${errorMessage(err)}); first bytes: ${JSON.stringify(content.subarray(0, 60).toString('utf8'))}`,
        {
          contentType,
          bytes: content.length,
        },
      );
    }
  }
  if (type.startsWith('text/')) return content.toString('utf8');
  return content;
}

/** A delivery as the handler sees it. */
class ReceivedDelivery implements Delivery {
  readonly contentType?: string;
  readonly messageId?: string;
  readonly correlationId?: string;
  readonly exchange: string;
  readonly routingKey: string;
  readonly redelivered: boolean;
  readonly deliveryTag: number;
  readonly raw: Buffer;
  constructor(
    readonly queue: string,
    readonly body: unknown,
    msg: ConsumeMessage,
    readonly headers: Record<string, unknown>,
    readonly attempt: number,
    readonly maxAttempts: number,
  ) {
    const p = msg.properties;
    this.raw = msg.content;
    this.contentType = p.contentType as string | undefined;
    this.messageId = p.messageId as string | undefined;
    this.correlationId = (p.correlationId as string | undefined) ?? (headers['x-correlation-id'] as string | undefined);
    this.exchange = (headers['x-original-exchange'] as string | undefined) ?? msg.fields.exchange;
    this.routingKey = (headers['x-original-routing-key'] as string | undefined) ?? msg.fields.routingKey;
    this.redelivered = msg.fields.redelivered;
    this.deliveryTag = msg.fields.deliveryTag;
  }
}

/** What becomes of a delivery: acknowledged, or given back to the queue. */
export type Outcome = 'ack' | 'requeue';

/**
 * The acks of one channel. Delivery tags on a channel are consecutive (1, 2, 3 …) and only this consumer
 * receives on it, so every finished delivery below the first one still in the flow is acknowledged by ONE
 * `basic.ack` with `multiple` at the end of the event loop's turn, instead of a frame each. A delivery that
 * finishes while an earlier one is still in the flow is acknowledged on its own at once (it does not wait
 * behind a slow one, and the prefetch window stays open). Nothing is acknowledged before its handler finished.
 */
export class AckTracker {
  /** Every tag up to here is settled on the broker. */
  private floor = 0;
  /** Finished here, to be acknowledged (with the next multiple ack, or on its own). */
  private readonly finished = new Set<number>();
  /** Above the floor and already settled on the broker one by one (acked, or given back). */
  private readonly sent = new Set<number>();
  private scheduled = false;
  /** Deliveries received on this channel and not yet settled on the broker. */
  open = 0;
  /** False once the channel is gone: nothing more is sent on it. */
  alive = true;

  constructor(private readonly ch: Channel) {}

  received(): void {
    this.open += 1;
  }

  /** Settles a finished delivery; false when its channel is gone (the broker redelivers it). */
  settle(tag: number, outcome: Outcome): boolean {
    if (!this.alive) return false;
    if (outcome === 'requeue') {
      if (!this.send(tag, false, 'requeue')) return false;
      this.sent.add(tag);
      this.open -= 1;
      return true;
    }
    this.finished.add(tag);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.flush);
    }
    return true;
  }

  /** Sends what is finished now (at the end of each turn, and before the channel is closed on purpose). */
  readonly flush = (): void => {
    this.scheduled = false;
    if (!this.alive) return;
    let top = 0;
    let covered = 0;
    for (;;) {
      const next = this.floor + 1;
      if (this.finished.delete(next)) {
        top = next;
        covered += 1;
      } else if (!this.sent.delete(next)) break;
      this.floor = next;
    }
    if (top && this.send(top, true, 'ack')) this.open -= covered;
    // What is left finished sits behind a delivery still in the flow: acknowledged on its own.
    for (const tag of this.finished) {
      if (!this.send(tag, false, 'ack')) break;
      this.sent.add(tag);
      this.open -= 1;
    }
    this.finished.clear();
  };

  /** One ack or nack frame; false when the channel is gone (the broker redelivers what it did not get). */
  private send(tag: number, multiple: boolean, outcome: Outcome): boolean {
    try {
      const message = { fields: { deliveryTag: tag } } as Message;
      if (outcome === 'ack') this.ch.ack(message, multiple);
      else this.ch.nack(message, false, true);
      return true;
    } catch {
      this.alive = false;
      return false;
    }
  }
}

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

/**
 * The consumer reads on a connection of its own (amqplib: it parses frames as they arrive, without a promise
 * per frame, and hands the body over as bytes), reconnecting with back-off when it is lost; retries and dead
 * letters are published through the broker's confirming publisher before the delivery is acked.
 */
export class AmqpConsumer extends EventEmitter {
  readonly stats: ConsumerStats = { received: 0, acked: 0, retried: 0, deadLettered: 0, malformed: 0, duplicates: 0 };
  readonly queue: string;
  private readonly maxAttempts: number;
  private readonly retryDelayMs: number;
  private readonly format: BodyFormat;
  private readonly prefetch: number;
  private readonly finished?: RecentIds;
  /**
   * Handlers running now, and the slot of each by message id: a redelivery of one of them waits for its outcome.
   * Slots, not a Map of promises: see common/slots.ts (a Map here promoted almost every message to the old heap).
   */
  private readonly running = new Slots<Promise<void>>();
  private readonly inFlight = new Map<string, number>();
  /**
   * How to let go of each delivery in hand when the connection is lost (its channel can no longer ack it;
   * the broker redelivers it): the consumer stops waiting for the handler.
   */
  private readonly waiting = new Slots<() => void>();
  /** Deliveries in hand when the connection was lost (told once, as 'unacked', when ready again). */
  private failedAcks = 0;
  private connection?: ChannelModel;
  private channel?: Channel;
  private acks?: AckTracker;
  private closing = false;
  private attempts = 0;
  private reconnectTimer?: NodeJS.Timeout;
  /** The first error of a connection attempt or of a lost connection (told once per outage). */
  private told = false;

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
    this.prefetch = Math.max(1, options.prefetch ?? 10);
    this.finished = options.dedupe === false ? undefined : new RecentIds(100000);
  }

  /** The retry queues and DLQ of this consumer's queue. */
  get failureQueues(): QueueDecl[] {
    return failureQueues(this.queue, this.maxAttempts, this.options.queueType);
  }

  /** The connection is gone: stop waiting for every handler in hand (the broker will redeliver their messages). */
  private releaseAll(): void {
    for (const [slot, release] of this.waiting.entries()) {
      this.waiting.delete(slot);
      release();
    }
  }

  /** Tells, once, how many deliveries the lost connection left unacknowledged. */
  private reportUnacked(): void {
    if (this.failedAcks === 0) return;
    const n = this.failedAcks;
    this.failedAcks = 0;
    this.emit('unacked', n);
  }

  start(): void {
    void this.connect();
  }

  /** The queue's own declaration: its type's arguments (as the topology declares it) and any extra ones. */
  private queueArguments(): Record<string, unknown> | undefined {
    const typed = consumedQueue(this.queue, this.options.queueType).arguments;
    const extra = this.options.queueArguments;
    return typed || extra ? { ...typed, ...extra } : undefined;
  }

  /** Connects, declares the queue and its failure queues, and consumes; on failure, tries again after a back-off. */
  private async connect(): Promise<void> {
    this.reconnectTimer = undefined;
    if (this.closing) return;
    const { url, connectionName } = this.broker.options;
    let connection: ChannelModel | undefined;
    try {
      connection = await amqplib.connect(url, {
        noDelay: true,
        timeout: 10000,
        clientProperties: { connection_name: `${connectionName ?? 'clinica-node-red'} consumer ${this.queue}` },
      });
      const conn = connection;
      // Without a listener amqplib's 'error' would crash the process; the 'close' that follows it is handled.
      conn.on('error', () => undefined);
      conn.on('close', (err?: Error) => this.lost(conn, err));
      if (this.closing) {
        await conn.close().catch(() => undefined);
        return;
      }
      const ch = await conn.createChannel();
      // A channel closed by the broker (the queue deleted, a refused declaration) ends this connection too.
      ch.on('error', () => undefined);
      ch.on('close', () => void conn.close().catch(() => undefined));
      await ch.prefetch(this.prefetch);
      await ch.assertQueue(this.queue, { durable: true, arguments: this.queueArguments() });
      for (const q of this.failureQueues) await ch.assertQueue(q.queue, { durable: q.durable, arguments: q.arguments });
      const acks = new AckTracker(ch);
      this.connection = conn;
      this.channel = ch;
      this.acks = acks;
      await ch.consume(
        this.queue,
        (msg) => {
          if (msg) this.onMessage(msg, acks);
          // The broker cancelled the consumer (the queue was deleted): start over on a new connection, which
          // declares the queue again.
          else {
            this.tell(new Error(`the broker cancelled the consumer of queue "${this.queue}" (the queue was deleted?)`));
            void conn.close().catch(() => undefined);
          }
        },
        { noAck: false },
      );
      this.attempts = 0;
      this.told = false;
      this.reportUnacked();
      this.emit('ready');
    } catch (err) {
      void connection?.close().catch(() => undefined);
      this.tell(err);
      this.scheduleReconnect();
    }
  }

  /** One 'error' per outage, not one per attempt. */
  private tell(err: unknown): void {
    if (this.told || this.closing) return;
    this.told = true;
    this.emit('error', amqpConsumeError(err, this.queue));
  }

  private scheduleReconnect(): void {
    if (this.closing || this.reconnectTimer) return;
    this.attempts += 1;
    const delay = reconnectDelay(this.attempts, this.broker.options.retryLowMs, this.broker.options.retryHighMs);
    this.reconnectTimer = setTimeout(() => void this.connect(), delay);
  }

  /**
   * Lets go of the current connection's channel: nothing more is acked on it, its unsettled deliveries are counted
   * (told once as 'unacked'; the broker redelivers them) and the handlers in hand are no longer waited for. `flush`
   * first acks what the flow finished in this turn (a close on purpose: the channel's frames leave in order).
   */
  private dropChannel(flush: boolean): { conn?: ChannelModel; ch?: Channel } {
    const dropped = { conn: this.connection, ch: this.channel };
    const acks = this.acks;
    this.connection = undefined;
    this.channel = undefined;
    this.acks = undefined;
    if (acks) {
      if (flush) acks.flush();
      acks.alive = false;
      this.failedAcks += acks.open;
    }
    this.releaseAll();
    return dropped;
  }

  /** The consumer's connection closed: what was in hand comes back from the broker; connect again. */
  private lost(conn: ChannelModel, err?: Error): void {
    if (this.connection !== conn) return;
    this.dropChannel(false);
    if (this.closing) return;
    if (err) this.tell(err);
    this.scheduleReconnect();
  }

  private onMessage(msg: ConsumeMessage, acks: AckTracker): void {
    acks.received();
    const tag = msg.fields.deliveryTag;
    this.receive(msg).then(
      (outcome) => {
        if (!acks.settle(tag, outcome)) return;
        if (outcome === 'ack') this.stats.acked += 1;
      },
      (err: unknown) => {
        // The retry or dead-letter copy could not be published: the message goes back to the queue.
        acks.settle(tag, 'requeue');
        this.emit('error', err);
      },
    );
  }

  private receive(msg: ConsumeMessage): Promise<Outcome> {
    this.stats.received += 1;
    // amqplib's own headers object: not copied (a retry or dead letter builds new headers from it).
    const headers = (msg.properties.headers ?? {}) as Record<string, unknown>;
    const previous = Number(headers['x-attempts'] ?? 0);
    const attempt = (Number.isFinite(previous) && previous > 0 ? previous : 0) + 1;
    let body: unknown;
    try {
      body = decodeBody(msg.content, msg.properties.contentType as string | undefined, this.format);
    } catch (err) {
      this.stats.malformed += 1;
      return this.deadLetter(msg, headers, attempt, err).then(() => 'ack');
    }
    const id = msg.properties.messageId as string | undefined;
    if (id && this.finished) {
      if (this.finished.has(id)) return Promise.resolve(this.duplicate(id));
      const slot = this.inFlight.get(id);
      const running = slot === undefined ? undefined : this.running.get(slot);
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

  private duplicate(id: string): Outcome {
    this.stats.duplicates += 1;
    this.emit('duplicate', id);
    return 'ack';
  }

  /** Runs the handler; acks after it, retries or dead-letters when it fails, gives up waiting when the connection goes. */
  private run(msg: ConsumeMessage, headers: Record<string, unknown>, attempt: number, body: unknown): Promise<Outcome> {
    const delivery = new ReceivedDelivery(this.queue, body, msg, headers, attempt, this.maxAttempts);
    let work: Promise<void>;
    try {
      work = this.handler(delivery);
    } catch (err) {
      work = Promise.reject(err);
    }
    const id = this.finished ? delivery.messageId : undefined;
    const runSlot = id ? this.running.add(work) : -1;
    if (id) this.inFlight.set(id, runSlot);
    /** This run is over: no longer the one a redelivery of its message id waits for. */
    const over = () => {
      if (!id || this.running.get(runSlot) !== work) return;
      this.running.delete(runSlot);
      if (this.inFlight.get(id) === runSlot) this.inFlight.delete(id);
    };
    return new Promise<Outcome>((resolve, reject) => {
      // When the connection drops, the broker will redeliver this message; stop waiting. If the flow still
      // finishes it, the redelivery is recognised as a duplicate.
      const release = () => resolve('requeue');
      const waitSlot = this.waiting.add(release);
      /** False when the connection went meanwhile (the release already answered). */
      const stillWaiting = () => this.waiting.get(waitSlot) === release && this.waiting.delete(waitSlot) !== undefined;
      work.then(
        () => {
          if (id) this.finished?.add(id);
          over();
          if (stillWaiting()) resolve('ack');
        },
        (err: unknown) => {
          over();
          if (stillWaiting()) this.fail(msg, delivery, headers, attempt, err).then(resolve, reject);
        },
      );
    });
  }

  /** A failed delivery: to its retry queue after a back-off, or to the DLQ; the copy is confirmed before the ack. */
  private async fail(msg: ConsumeMessage, delivery: Delivery, headers: Record<string, unknown>, attempt: number, err: unknown): Promise<Outcome> {
    if (isRetryable(err) && attempt < this.maxAttempts) {
      const delayMs = retryDelay(err, this.retryDelayMs, attempt);
      await this.republish(
        retryQueueName(this.queue, attempt),
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
      return 'ack';
    }
    await this.deadLetter(msg, headers, attempt, err, delivery);
    return 'ack';
  }

  private async deadLetter(msg: ConsumeMessage, headers: Record<string, unknown>, attempt: number, err: unknown, delivery?: Delivery): Promise<void> {
    const reason = errorMessage(err).slice(0, 2000);
    await this.republish(deadLetterQueueName(this.queue), msg, {
      ...headers,
      'x-attempts': attempt,
      'x-death-reason': reason,
      'x-error-code': (err as { code?: string }).code ?? 'UNEXPECTED',
      'x-failed-at': new Date().toISOString(),
      'x-original-queue': this.queue,
      'x-original-exchange': (headers['x-original-exchange'] as string | undefined) ?? msg.fields.exchange,
      'x-original-routing-key': (headers['x-original-routing-key'] as string | undefined) ?? msg.fields.routingKey,
    });
    this.stats.deadLettered += 1;
    this.emit('dead-letter', delivery, reason);
  }

  /** A copy of the message to a queue of ours, through the default exchange, confirmed before we ack. */
  private async republish(queue: string, msg: ConsumeMessage, headers: Record<string, unknown>, expirationMs?: number): Promise<void> {
    await this.broker.publish({
      exchange: '',
      routingKey: queue,
      body: msg.content,
      contentType: msg.properties.contentType as string | undefined,
      messageId: msg.properties.messageId as string | undefined,
      correlationId: msg.properties.correlationId as string | undefined,
      headers,
      expirationMs,
    });
  }

  /**
   * Stops consuming. Handlers still waiting are released at once; closing the connection gives their messages
   * back to the queue. Waits at most 2 s for the broker.
   */
  async close(): Promise<void> {
    this.closing = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    // What the flow finished in this turn is acknowledged before the channel closes; the channel is closed before
    // the connection (a connection close would overtake the channel's frames).
    const { conn, ch } = this.dropChannel(true);
    const closed = (async () => {
      await ch?.close().catch(() => undefined);
      await conn?.close().catch(() => undefined);
    })();
    await Promise.race([closed, new Promise<void>((resolve) => setTimeout(resolve, 2000).unref())]);
    this.reportUnacked();
    this.emit('closed');
  }
}

/** An amqplib failure to consume as the pack's typed error (a refused declaration is not retryable). */
function amqpConsumeError(err: unknown, queue: string): IntegrationError {
  if (err instanceof IntegrationError) return err;
  const message = errorMessage(err);
  const refused = /PRECONDITION_FAILED|ACCESS_REFUSED|NOT_FOUND|inequivalent/i.test(message);
  return new IntegrationError(
    `RabbitMQ: consuming queue "${queue}" failed: ${message}${refused ? '; the queue exists with other arguments, or the user may not read it' : '; reconnecting'}`,
    { code: refused ? 'AMQP_CONSUME_REFUSED' : 'AMQP_CONNECTION_LOST', system: 'amqp', retryable: !refused, cause: err },
  );
}

/**
 * Moves up to `limit` messages from `<queue>.dlq` back to `<queue>` (attempts reset, `x-replayed` counted),
 * each confirmed before it is removed from the DLQ. With `messageId`, only the dead letters of that message id
 * move; the others stay where they were (held unacknowledged meanwhile, given back in their order). Returns how
 * many were moved.
 */
export async function replayDeadLetters(broker: BrokerLink, queue: string, limit = Infinity, messageId?: string): Promise<number> {
  const dlq = deadLetterQueueName(queue);
  return broker.withChannel(async (ch) => {
    let moved = 0;
    let looked = 0;
    while (moved < limit && looked < 100000) {
      const msg = await ch.get(dlq, { noAck: false });
      if (!msg) break;
      looked += 1;
      const p = msg.properties;
      if (messageId !== undefined && p.messageId !== messageId) continue;
      const headers = { ...((p.headers ?? {}) as Record<string, unknown>) };
      const replayed = Number(headers['x-replayed'] ?? 0) + 1;
      for (const h of ['x-attempts', 'x-death-reason', 'x-error-code', 'x-failed-at', 'x-last-error']) delete headers[h];
      await broker.publish({
        exchange: '',
        routingKey: queue,
        body: msg.content,
        contentType: p.contentType as string | undefined,
        messageId: p.messageId as string | undefined,
        correlationId: p.correlationId as string | undefined,
        headers: { ...headers, 'x-replayed': replayed },
      });
      ch.ack(msg);
      moved += 1;
    }
    return moved;
  });
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
  // Closing the channel (withChannel does) gives every unacknowledged message back to the queue, in its order.
  return broker.withChannel(async (ch) => {
    const out: DeadLetter[] = [];
    while (out.length < limit) {
      const msg = await ch.get(dlq, { noAck: false });
      if (!msg) break;
      const p = msg.properties;
      const h = (p.headers ?? {}) as Record<string, unknown>;
      const text = (v: unknown) => (v === undefined || v === null ? undefined : Buffer.isBuffer(v) ? v.toString('utf8') : String(v));
      out.push({
        messageId: p.messageId as string | undefined,
        correlationId: p.correlationId as string | undefined,
        reason: text(h['x-death-reason']),
        code: text(h['x-error-code']),
        attempts: h['x-attempts'] === undefined ? undefined : Number(h['x-attempts']),
        failedAt: text(h['x-failed-at']),
        routingKey: text(h['x-original-routing-key']),
        replayed: h['x-replayed'] === undefined ? undefined : Number(h['x-replayed']),
        body: msg.content.toString('utf8').slice(0, 500),
      });
    }
    return out;
  });
}
