/**
 * The RabbitMQ client: one connection (rabbitmq-client reconnects by itself and re-runs the topology on
 * every reconnect), a confirming publisher, and consumers with retries, back-off and dead letters.
 * No Node-RED import.
 */
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { Connection, type AsyncMessage, type Publisher } from 'rabbitmq-client';
import { IntegrationError, errorMessage, isRetryable } from '../common/errors';
import { documentsTopology, type QueueType, type Topology } from './topology';
import type { BrokerLink, BrokerState, PublishRequest, PublishResult } from './types';
import { AmqpConsumer, type ConsumeOptions, type DeliveryHandler } from './consumer';

export interface BrokerOptions {
  url: string;
  /** Shown in the management UI's connection list. */
  connectionName?: string;
  /** Declared on connect and after every reconnect (default: the documents topology). null = none. */
  topology?: Topology | null;
  /**
   * The type of the queues of the default topology and of every consumer's queue, retry queues and DLQ
   * (default classic). A consumer given its own `queueType` keeps it.
   */
  queueType?: QueueType;
  /** How long a publish waits for a connection before failing (ms, default 10000). */
  acquireTimeoutMs?: number;
  retryLowMs?: number;
  retryHighMs?: number;
}

export type { BrokerState, PublishRequest, PublishResult } from './types';

/** Body and content type for the wire: JSON unless it already is bytes or text. */
function encodeBody(body: unknown, contentType?: string): { bytes: Buffer; contentType: string } {
  if (Buffer.isBuffer(body)) return { bytes: body, contentType: contentType ?? 'application/octet-stream' };
  if (typeof body === 'string') return { bytes: Buffer.from(body, 'utf8'), contentType: contentType ?? 'text/plain' };
  const json = JSON.stringify(body === undefined ? null : body);
  return { bytes: Buffer.from(json, 'utf8'), contentType: contentType ?? 'application/json' };
}

export declare interface AmqpBroker {
  on(event: 'state', cb: (state: BrokerState, detail?: string) => void): this;
}

export class AmqpBroker extends EventEmitter implements BrokerLink {
  readonly connection: Connection;
  private publisher?: Publisher;
  private readonly returned = new Map<string, string>();
  private readonly consumers = new Set<AmqpConsumer>();
  private topologyReady?: Promise<void>;
  state: BrokerState = 'connecting';

  constructor(readonly options: BrokerOptions) {
    super();
    if (!options.url) {
      throw new IntegrationError('AMQP URL is empty: set AMQP_URL or the URL of the broker config node', {
        code: 'AMQP_NOT_CONFIGURED',
        system: 'amqp',
        retryable: false,
      });
    }
    this.connection = new Connection({
      url: options.url,
      connectionName: options.connectionName ?? 'clinica-node-red',
      acquireTimeout: options.acquireTimeoutMs ?? 10000,
      retryLow: options.retryLowMs ?? 200,
      retryHigh: options.retryHighMs ?? 10000,
      frameMax: 131072,
    });
    this.connection.on('connection', () => {
      this.topologyReady = undefined;
      this.setState('connected');
    });
    this.connection.on('error', (err: unknown) => {
      this.setState('reconnecting', errorMessage(err));
    });
    this.connection.on('connection.blocked', (reason: string) => this.setState('blocked', reason));
    this.connection.on('connection.unblocked', () => this.setState('connected'));
  }

  /** The socket held corked until the end of this turn of the event loop (see batchWrites). */
  private corked?: Socket;

  /**
   * Holds the connection's outgoing frames until the end of this turn of the event loop, so that the publishes of
   * the turn leave in one write instead of one system call each (the library writes each frame at once). It delays
   * a frame by at most one turn and changes nothing else: the frames, their order and their errors are the
   * library's. Reaches into rabbitmq-client's socket (`_socket`, 5.x); without one it does nothing.
   */
  batchWrites(): void {
    if (this.corked) return;
    const socket = (this.connection as unknown as { _socket?: Socket })._socket;
    if (!socket || typeof socket.cork !== 'function' || socket.destroyed) return;
    socket.cork();
    this.corked = socket;
    setImmediate(this.flushWrites);
  }

  private readonly flushWrites = (): void => {
    const socket = this.corked;
    this.corked = undefined;
    if (socket && socket.writableCorked > 0) socket.uncork();
  };

  private setState(state: BrokerState, detail?: string): void {
    this.state = state;
    this.emit('state', state, detail);
  }

  /** Declares the configured topology (idempotent; re-run after each reconnect by publish/consume). */
  ensureTopology(): Promise<void> {
    const topology = this.options.topology === undefined ? documentsTopology(3, this.options.queueType) : this.options.topology;
    if (!topology) return Promise.resolve();
    if (!this.topologyReady) {
      this.topologyReady = declareTopology(this.connection, topology).catch((err: unknown) => {
        this.topologyReady = undefined;
        throw amqpError(err, 'declare the topology');
      });
    }
    return this.topologyReady;
  }

  private getPublisher(): Publisher {
    if (!this.publisher) {
      this.publisher = this.connection.createPublisher({
        confirm: true,
        // The library retries a publish whose channel died before the confirm: at-least-once.
        maxAttempts: 3,
      });
      // RabbitMQ sends basic.return before the confirm of an unroutable mandatory message.
      this.publisher.on('basic.return', (msg) => {
        if (msg.messageId) this.returned.set(msg.messageId, `${msg.replyCode} ${msg.replyText}`);
      });
    }
    return this.publisher;
  }

  /** Publishes and resolves only once the broker confirmed it; unroutable mandatory messages fail. */
  async publish(req: PublishRequest): Promise<PublishResult> {
    const messageId = req.messageId || randomUUID();
    const { bytes, contentType } = encodeBody(req.body, req.contentType);
    const where = () => `exchange "${req.exchange || '(default)'}" with routing key "${req.routingKey}"`;
    await this.ensureTopology();
    // The frames of every publish of this turn leave in one write.
    this.batchWrites();
    try {
      await this.getPublisher().send(
        {
          exchange: req.exchange,
          routingKey: req.routingKey,
          messageId,
          correlationId: req.correlationId,
          contentType,
          headers: req.headers,
          durable: req.persistent !== false,
          expiration: req.expirationMs !== undefined ? String(Math.max(0, Math.round(req.expirationMs))) : undefined,
          mandatory: req.mandatory !== false,
        },
        bytes,
      );
    } catch (err) {
      throw amqpError(err, `publish to ${where()}`, 'AMQP_NOT_CONFIRMED');
    }
    // The library emits basic.return on setImmediate; the return frame came before the confirm, so one turn
    // of the event loop is enough to see it.
    if (req.mandatory !== false) await new Promise<void>((resolve) => setImmediate(resolve));
    const returned = this.returned.get(messageId);
    if (returned !== undefined) {
      this.returned.delete(messageId);
      throw new IntegrationError(
        `RabbitMQ could not route message ${messageId} published to ${where()} (${returned}); bind a queue to that routing key or fix the routing key`,
        { code: 'AMQP_UNROUTABLE', system: 'amqp', retryable: false, details: { messageId, exchange: req.exchange, routingKey: req.routingKey } },
      );
    }
    return { exchange: req.exchange, routingKey: req.routingKey, messageId, bytes: bytes.length };
  }

  /** Starts consuming `queue` with retries and dead letters; see ConsumeOptions. */
  consume(options: ConsumeOptions, handler: DeliveryHandler): AmqpConsumer {
    const consumer = new AmqpConsumer(this, { queueType: this.options.queueType, ...options }, handler);
    this.consumers.add(consumer);
    consumer.once('closed', () => this.consumers.delete(consumer));
    consumer.start();
    return consumer;
  }

  /** Messages waiting in a queue (passive declare); undefined when the queue does not exist. */
  async queueDepth(queue: string): Promise<{ messages: number; consumers: number } | undefined> {
    const ch = await this.connection.acquire();
    try {
      const res = await ch.queueDeclare({ queue, passive: true });
      return { messages: res.messageCount, consumers: res.consumerCount };
    } catch (err) {
      if ((err as { code?: string }).code === 'NOT_FOUND') return undefined;
      throw amqpError(err, `inspect queue "${queue}"`);
    } finally {
      await ch.close().catch(() => undefined);
    }
  }

  async close(): Promise<void> {
    for (const c of [...this.consumers]) await c.close().catch(() => undefined);
    await this.publisher?.close().catch(() => undefined);
    await this.connection.close().catch(() => undefined);
    this.setState('closed');
  }
}

async function declareTopology(connection: Connection, topology: Topology): Promise<void> {
  const ch = await connection.acquire();
  try {
    for (const e of topology.exchanges) await ch.exchangeDeclare({ exchange: e.exchange, type: e.type, durable: e.durable });
    for (const q of topology.queues) await ch.queueDeclare({ queue: q.queue, durable: q.durable, arguments: q.arguments });
    for (const b of topology.bindings) await ch.queueBind({ queue: b.queue, exchange: b.exchange, routingKey: b.routingKey });
  } finally {
    await ch.close().catch(() => undefined);
  }
}

/** A library or broker error as the pack's typed error. Channel/connection faults are retryable. */
function amqpError(err: unknown, operation: string, fallbackCode = 'AMQP_ERROR'): IntegrationError {
  if (err instanceof IntegrationError) return err;
  const code = (err as { code?: string }).code;
  const message = errorMessage(err);
  const fixes: Record<string, [string, boolean, string]> = {
    ACCESS_REFUSED: ['AMQP_ACCESS_REFUSED', false, 'check the user, password and vhost permissions in AMQP_URL'],
    NOT_FOUND: ['AMQP_NOT_FOUND', false, 'declare the exchange or queue first, or fix its name'],
    PRECONDITION_FAILED: ['AMQP_PRECONDITION_FAILED', false, 'the queue or exchange exists with other arguments; delete it or use the same arguments'],
    RESOURCE_LOCKED: ['AMQP_RESOURCE_LOCKED', true, 'another connection holds the queue exclusively'],
    CONNECTION_FORCED: ['AMQP_CONNECTION_LOST', true, 'the broker closed the connection; it will be retried'],
  };
  const known = code ? fixes[code] : undefined;
  if (known) {
    return new IntegrationError(`RabbitMQ could not ${operation}: ${message}; ${known[2]}`, {
      code: known[0],
      system: 'amqp',
      retryable: known[1],
      cause: err,
    });
  }
  const transient = isRetryable(err) || /timeout|closed|connection|ECONN|socket/i.test(`${code ?? ''} ${message}`);
  return new IntegrationError(
    `RabbitMQ could not ${operation}: ${message}${transient ? '; the broker is unreachable or restarting, it will be retried' : ''}`,
    {
      code: transient ? (fallbackCode === 'AMQP_ERROR' ? 'AMQP_UNREACHABLE' : fallbackCode) : fallbackCode,
      system: 'amqp',
      retryable: transient,
      cause: err,
    },
  );
}

export type { AsyncMessage };
