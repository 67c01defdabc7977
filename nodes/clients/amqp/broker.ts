/**
 * The RabbitMQ client: one managed amqplib connection (reconnected with back-off; the topology declared again
 * after every reconnect) with a confirm channel for publishing, and consumers with retries, back-off and dead
 * letters on connections of their own. No Node-RED import.
 */
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { Channel, ConfirmChannel, Message } from 'amqplib';
import { IntegrationError, errorMessage, isRetryable } from '../common/errors';
import { ManagedConnection } from './connection';
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

/** Where a publish goes, for its errors. */
const where = (req: PublishRequest) => `exchange "${req.exchange || '(default)'}" with routing key "${req.routingKey}"`;

/** What amqplib publishes with. */
interface PublishOptions {
  messageId: string;
  correlationId?: string;
  contentType: string;
  headers?: Record<string, unknown>;
  persistent: boolean;
  expiration?: string;
  mandatory: boolean;
}

/** A publish whose channel closed before the broker confirmed it is sent again (at-least-once), this many times. */
const PUBLISH_ATTEMPTS = 3;

export declare interface AmqpBroker {
  on(event: 'state', cb: (state: BrokerState, detail?: string) => void): this;
}

export class AmqpBroker extends EventEmitter implements BrokerLink {
  private readonly connection: ManagedConnection;
  /** Unroutable mandatory publishes by message id: RabbitMQ returns them before it confirms them. */
  private readonly returned = new Map<string, string>();
  private readonly consumers = new Set<AmqpConsumer>();
  private topologyReady?: Promise<void>;
  /** The topology is declared on the current connection: publishes need not wait for it. */
  private topologyDone = false;
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
    this.connection = new ManagedConnection({
      url: options.url,
      connectionName: options.connectionName ?? 'clinica-node-red',
      acquireTimeoutMs: options.acquireTimeoutMs,
      retryLowMs: options.retryLowMs,
      retryHighMs: options.retryHighMs,
    });
    this.connection.on('state', (state, detail) => {
      if (state === 'connected' || state === 'reconnecting') {
        this.topologyReady = undefined;
        this.topologyDone = false;
      }
      this.state = state;
      this.emit('state', state, detail);
    });
    this.connection.on('confirm-channel', (ch: ConfirmChannel) => {
      ch.on('return', (msg: Message) => {
        const id = msg.properties.messageId as string | undefined;
        const fields = msg.fields as unknown as { replyCode?: number; replyText?: string };
        if (id) this.returned.set(id, `${fields.replyCode} ${fields.replyText}`);
      });
    });
  }

  /** Connected within `timeoutMs` (a readiness probe); fails with a retryable AMQP_UNREACHABLE. */
  async ready(timeoutMs?: number): Promise<void> {
    await this.connection.ready(timeoutMs);
  }

  /** A channel of its own for one operation (declarations, passive checks, reading a DLQ), closed after it. */
  withChannel<T>(fn: (ch: Channel) => Promise<T>): Promise<T> {
    return this.connection.withChannel(fn);
  }

  /** Declares the configured topology (idempotent; re-run after each reconnect by publish/consume). */
  ensureTopology(): Promise<void> {
    const topology = this.options.topology === undefined ? documentsTopology(3, this.options.queueType) : this.options.topology;
    if (!topology) {
      this.topologyDone = true;
      return Promise.resolve();
    }
    if (!this.topologyReady) {
      const declaring: Promise<void> = this.withChannel((ch) => declareTopology(ch, topology)).then(
        () => {
          if (this.topologyReady === declaring) this.topologyDone = true;
        },
        (err: unknown) => {
          if (this.topologyReady === declaring) this.topologyReady = undefined;
          throw amqpError(err, 'declare the topology');
        },
      );
      this.topologyReady = declaring;
    }
    return this.topologyReady;
  }

  /** Publishes and resolves only once the broker confirmed it; unroutable mandatory messages fail. */
  publish(req: PublishRequest): Promise<PublishResult> {
    const messageId = req.messageId || randomUUID();
    const { bytes, contentType } = encodeBody(req.body, req.contentType);
    const options = {
      messageId,
      correlationId: req.correlationId,
      contentType,
      headers: req.headers,
      persistent: req.persistent !== false,
      expiration: req.expirationMs !== undefined ? String(Math.max(0, Math.round(req.expirationMs))) : undefined,
      mandatory: req.mandatory !== false,
    };
    const ch = this.topologyDone ? this.connection.openConfirmChannel : undefined;
    // The usual case, connected with the topology declared: one promise per publish, nothing awaited before it.
    if (ch) return this.publishOn(ch, req, bytes, options, 1);
    return this.ensureTopology().then(() => this.publishWith(req, bytes, options, 1));
  }

  /** Publishes on the confirm channel once it is open (attempt n of PUBLISH_ATTEMPTS). */
  private async publishWith(req: PublishRequest, bytes: Buffer, options: PublishOptions, attempt: number): Promise<PublishResult> {
    let ch: ConfirmChannel;
    try {
      ch = await this.connection.confirmChannel();
    } catch (err) {
      throw amqpError(err, `publish to ${where(req)}`, 'AMQP_NOT_CONFIRMED');
    }
    return this.publishOn(ch, req, bytes, options, attempt);
  }

  private publishOn(ch: ConfirmChannel, req: PublishRequest, bytes: Buffer, options: PublishOptions, attempt: number): Promise<PublishResult> {
    return new Promise<PublishResult>((resolve, reject) => {
      try {
        ch.publish(req.exchange, req.routingKey, bytes, options, (err: unknown) => {
          if (!err) {
            this.confirmed(req, bytes, options).then(resolve, reject);
            return;
          }
          // The broker may have closed the channel for this publish (no such exchange, no permission): that is the
          // answer, not a lost connection. Its reason arrives as the channel's error, around the same time.
          setImmediate(() => {
            const cause = this.connection.channelErrors.get(ch);
            if (cause && REFUSALS.has(amqpCode(cause) ?? '')) reject(amqpError(cause, `publish to ${where(req)}`));
            else this.republish(req, bytes, options, attempt, err).then(resolve, reject);
          });
        });
      } catch (err) {
        // The channel closed under us (amqplib throws at once): like a publish it did not confirm.
        this.republish(req, bytes, options, attempt, err).then(resolve, reject);
        return;
      }
      this.connection.batchWrites();
    });
  }

  /**
   * Nacked, or the channel closed before the confirm: the broker may or may not have it; send it again (a
   * consumer recognises the copy by its message id), up to PUBLISH_ATTEMPTS in all.
   */
  private republish(req: PublishRequest, bytes: Buffer, options: PublishOptions, attempt: number, err: unknown): Promise<PublishResult> {
    if (attempt >= PUBLISH_ATTEMPTS) return Promise.reject(amqpError(err, `publish to ${where(req)}`, 'AMQP_NOT_CONFIRMED'));
    return this.publishWith(req, bytes, options, attempt + 1);
  }

  /** Confirmed: unless RabbitMQ returned it first (unroutable and mandatory). */
  private confirmed(req: PublishRequest, bytes: Buffer, options: PublishOptions): Promise<PublishResult> {
    const messageId = options.messageId;
    const returned = options.mandatory ? this.returned.get(messageId) : undefined;
    if (returned !== undefined) {
      this.returned.delete(messageId);
      return Promise.reject(
        new IntegrationError(
          `RabbitMQ could not route message ${messageId} published to ${where(req)} (${returned}); bind a queue to that routing key or fix the routing key`,
          { code: 'AMQP_UNROUTABLE', system: 'amqp', retryable: false, details: { messageId, exchange: req.exchange, routingKey: req.routingKey } },
        ),
      );
    }
    return Promise.resolve({ exchange: req.exchange, routingKey: req.routingKey, messageId, bytes: bytes.length });
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
    try {
      return await this.withChannel(async (ch) => {
        const res = await ch.checkQueue(queue);
        return { messages: res.messageCount, consumers: res.consumerCount };
      });
    } catch (err) {
      if (amqpCode(err) === 'NOT_FOUND') return undefined;
      throw amqpError(err, `inspect queue "${queue}"`);
    }
  }

  async close(): Promise<void> {
    for (const c of [...this.consumers]) await c.close().catch(() => undefined);
    await this.connection.close();
  }
}

async function declareTopology(ch: Channel, topology: Topology): Promise<void> {
  for (const e of topology.exchanges) await ch.assertExchange(e.exchange, e.type, { durable: e.durable });
  for (const q of topology.queues) await ch.assertQueue(q.queue, { durable: q.durable, arguments: q.arguments });
  for (const b of topology.bindings) await ch.bindQueue(b.queue, b.exchange, b.routingKey);
}

/** AMQP reply codes (amqplib gives the number) by the names the pack's errors use. */
const REPLY_CODES: Record<number, string> = {
  320: 'CONNECTION_FORCED',
  403: 'ACCESS_REFUSED',
  404: 'NOT_FOUND',
  405: 'RESOURCE_LOCKED',
  406: 'PRECONDITION_FAILED',
};

/** Channel closes that answer a publish (not a lost connection): not sent again. */
const REFUSALS = new Set(['NOT_FOUND', 'ACCESS_REFUSED', 'PRECONDITION_FAILED']);

/** The name of an AMQP failure's reply code (NOT_FOUND …), or the error's own code. */
function amqpCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | undefined)?.code;
  return typeof code === 'number' ? REPLY_CODES[code] : typeof code === 'string' ? code : undefined;
}

/** A library or broker error as the pack's typed error. Channel/connection faults are retryable. */
function amqpError(err: unknown, operation: string, fallbackCode = 'AMQP_ERROR'): IntegrationError {
  if (err instanceof IntegrationError) return err;
  const code = amqpCode(err);
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
