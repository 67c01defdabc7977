/**
 * One amqplib connection that is always being kept open: it connects at once, and when it is lost (or cannot be
 * made) it tries again with an exponential back-off (with jitter) until it is closed on purpose. It tells its state
 * once per change (connecting, connected, reconnecting with the first error of an outage, blocked, closed), hands out
 * the connection to whoever waits for it (at most a timeout), a confirm channel for publishing, and short-lived
 * channels for one operation each (a declaration, a passive check, reading a DLQ). No Node-RED import.
 */
import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import * as amqplib from 'amqplib';
import type { Channel, ChannelModel, ConfirmChannel } from 'amqplib';
import { IntegrationError, errorMessage } from '../common/errors';
import type { BrokerState } from './types';

export interface ManagedConnectionOptions {
  url: string;
  /** Shown in the management UI's connection list. */
  connectionName: string;
  /** How long a caller waits for a connection before failing (ms, default 10000). */
  acquireTimeoutMs?: number;
  /** Back-off between attempts: from retryLowMs (default 200) doubling up to retryHighMs (default 10000). */
  retryLowMs?: number;
  retryHighMs?: number;
}

/** The wait before reconnect attempt n (1, 2 …): from low doubling up to high, ±20 % jitter. */
export function reconnectDelay(attempt: number, low = 200, high = 10000): number {
  return Math.min(high, low * 2 ** Math.min(attempt - 1, 10)) * (0.8 + Math.random() * 0.4);
}

export declare interface ManagedConnection {
  on(event: 'state', cb: (state: BrokerState, detail?: string) => void): this;
  /** A new confirm channel was opened (after a connect): its 'return' events are the caller's to listen to. */
  on(event: 'confirm-channel', cb: (ch: ConfirmChannel) => void): this;
}

export class ManagedConnection extends EventEmitter {
  state: BrokerState = 'connecting';
  private model?: ChannelModel;
  private confirm?: Promise<ConfirmChannel>;
  /** Why a channel was closed by the broker (404 no such exchange, 403 …), for the publishes it failed. */
  readonly channelErrors = new WeakMap<object, Error>();
  /** The confirm channel once it is open (cleared when it closes): publishes use it without waiting. */
  openConfirmChannel?: ConfirmChannel;
  private waiters = new Set<{ resolve: (m: ChannelModel) => void; reject: (err: unknown) => void }>();
  private attempts = 0;
  private timer?: NodeJS.Timeout;
  private closed = false;
  private lastError?: string;

  constructor(readonly options: ManagedConnectionOptions) {
    super();
    void this.connect();
  }

  private setState(state: BrokerState, detail?: string): void {
    if (state === this.state && state !== 'connected') return;
    this.state = state;
    this.emit('state', state, detail);
  }

  private async connect(): Promise<void> {
    this.timer = undefined;
    if (this.closed) return;
    let model: ChannelModel | undefined;
    try {
      model = await amqplib.connect(this.options.url, {
        noDelay: true,
        // The frames of a turn are held (batchWrites) and leave in one write; amqplib's writer stops at the mark.
        ...({ writableHighWaterMark: 1 << 20 } as object),
        timeout: this.options.acquireTimeoutMs ?? 10000,
        clientProperties: { connection_name: this.options.connectionName },
      });
    } catch (err) {
      this.lost(err);
      return;
    }
    if (this.closed) {
      await model.close().catch(() => undefined);
      return;
    }
    const m = model;
    // Without a listener amqplib's 'error' would crash the process; the 'close' after it does the work.
    m.on('error', (err: Error) => (this.lastError = errorMessage(err)));
    m.on('close', (err?: Error) => {
      if (this.model !== m) return;
      this.model = undefined;
      this.confirm = undefined;
      this.openConfirmChannel = undefined;
      this.lost(err ?? (this.lastError ? new Error(this.lastError) : new Error('connection closed')));
    });
    m.on('blocked', (reason: string) => this.setState('blocked', reason));
    m.on('unblocked', () => this.setState('connected'));
    this.model = m;
    this.attempts = 0;
    this.lastError = undefined;
    this.setState('connected');
    for (const w of [...this.waiters]) w.resolve(m);
    this.waiters.clear();
  }

  /** The connection could not be made or was lost: told once per outage, tried again after a back-off. */
  private lost(err: unknown): void {
    if (this.closed) return;
    if (this.state !== 'reconnecting') this.setState('reconnecting', errorMessage(err));
    this.attempts += 1;
    this.timer = setTimeout(() => void this.connect(), reconnectDelay(this.attempts, this.options.retryLowMs, this.options.retryHighMs));
  }

  /** The connection, once it is open; fails after `timeoutMs` (default acquireTimeoutMs) with a retryable error. */
  ready(timeoutMs = this.options.acquireTimeoutMs ?? 10000): Promise<ChannelModel> {
    if (this.model) return Promise.resolve(this.model);
    if (this.closed) return Promise.reject(new IntegrationError('the RabbitMQ connection is closed', { code: 'AMQP_CLOSED', system: 'amqp', retryable: true }));
    return new Promise<ChannelModel>((resolve, reject) => {
      const waiter = {
        resolve: (m: ChannelModel) => {
          clearTimeout(timer);
          resolve(m);
        },
        reject: (err: unknown) => {
          clearTimeout(timer);
          reject(err);
        },
      };
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        reject(
          new IntegrationError(
            `no connection to RabbitMQ within ${timeoutMs} ms${this.lastError ? ` (${this.lastError})` : ''}; the broker is unreachable or restarting`,
            { code: 'AMQP_UNREACHABLE', system: 'amqp', retryable: true },
          ),
        );
      }, timeoutMs);
      this.waiters.add(waiter);
    });
  }

  /** The confirm channel of this connection (opened once per connection). */
  confirmChannel(): Promise<ConfirmChannel> {
    if (!this.confirm) {
      const opening = this.ready().then(async (m) => {
        const ch = await m.createConfirmChannel();
        ch.on('error', (err: Error) => this.channelErrors.set(ch, err));
        ch.on('close', () => {
          if (this.confirm === opening) this.confirm = undefined;
          if (this.openConfirmChannel === ch) this.openConfirmChannel = undefined;
        });
        this.emit('confirm-channel', ch);
        if (this.confirm === opening) this.openConfirmChannel = ch;
        return ch;
      });
      opening.catch(() => {
        if (this.confirm === opening) this.confirm = undefined;
      });
      this.confirm = opening;
    }
    return this.confirm;
  }

  /**
   * A channel of its own for one operation, closed after it (a broker error such as a passive check of a missing
   * queue closes only that channel).
   */
  async withChannel<T>(fn: (ch: Channel) => Promise<T>): Promise<T> {
    const m = await this.ready();
    const ch = await m.createChannel();
    ch.on('error', () => undefined);
    try {
      return await fn(ch);
    } finally {
      await ch.close().catch(() => undefined);
    }
  }

  /** The socket held corked until the end of this turn of the event loop (see batchWrites). */
  private corked?: Socket;

  /**
   * Holds the socket's writes until the next turn of the event loop, so that the frames of every publish of the
   * turn leave in one write instead of one system call each (amqplib writes each frame on its own; a write costs
   * more CPU than the rest of a publish). amqplib's writer runs in a setImmediate scheduled from a nextTick after
   * the publish, i.e. after ours: so the socket is uncorked one immediate later (a frame waits at most two turns).
   * Nothing else changes. Reaches into amqplib's socket (`connection.stream`, 2.x); without one it does nothing.
   */
  batchWrites(): void {
    if (this.corked) return;
    const socket = (this.model?.connection as unknown as { stream?: Socket } | undefined)?.stream;
    if (!socket || typeof socket.cork !== 'function' || socket.destroyed) return;
    socket.cork();
    this.corked = socket;
    setImmediate(this.afterWriter);
  }

  private readonly afterWriter = (): void => {
    setImmediate(this.flushWrites);
  };

  private readonly flushWrites = (): void => {
    const socket = this.corked;
    this.corked = undefined;
    if (socket && socket.writableCorked > 0) socket.uncork();
  };

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    for (const w of [...this.waiters])
      w.reject(new IntegrationError('the RabbitMQ connection was closed', { code: 'AMQP_CLOSED', system: 'amqp', retryable: true }));
    this.waiters.clear();
    const m = this.model;
    this.model = undefined;
    this.confirm = undefined;
    this.openConfirmChannel = undefined;
    await m?.close().catch(() => undefined);
    this.setState('closed');
  }
}
