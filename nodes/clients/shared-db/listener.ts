/**
 * LISTEN/NOTIFY on its own connection (a pooled one would be handed to other queries). When the connection
 * dies (server restart, pg_terminate_backend, network) it reconnects with back-off, LISTENs again and says
 * so through 'state' events; notifications sent while it was away are lost by PostgreSQL's design, so a
 * 'reconnected' event tells the user to re-read what it watches.
 */
import { EventEmitter } from 'node:events';
import { Client } from 'pg';
import { quoteIdent } from './pool';

export interface ListenerOptions {
  url: string;
  channels: string[];
  /** First reconnect delay (ms); doubles up to maxDelayMs. */
  minDelayMs?: number;
  maxDelayMs?: number;
  applicationName?: string;
}

export interface Notification {
  channel: string;
  payload: unknown;
  raw: string;
  processId: number;
}

export type ListenerState = 'connecting' | 'listening' | 'reconnecting' | 'closed';

export declare interface PgListener {
  on(event: 'notification', cb: (n: Notification) => void): this;
  on(event: 'state', cb: (state: ListenerState, detail?: { error?: string; attempt?: number; delayMs?: number }) => void): this;
  on(event: 'reconnected', cb: () => void): this;
}

export class PgListener extends EventEmitter {
  private client?: Client;
  private closed = false;
  private attempt = 0;
  private timer?: NodeJS.Timeout;
  private everConnected = false;
  state: ListenerState = 'connecting';
  /** Backend pid of the current connection (tests use it to kill the connection). */
  backendPid?: number;

  constructor(private readonly options: ListenerOptions) {
    super();
    for (const ch of options.channels) quoteIdent(ch);
  }

  start(): this {
    void this.connect();
    return this;
  }

  private setState(state: ListenerState, detail?: { error?: string; attempt?: number; delayMs?: number }): void {
    this.state = state;
    this.emit('state', state, detail);
  }

  private async connect(): Promise<void> {
    if (this.closed) return;
    this.setState(this.everConnected ? 'reconnecting' : 'connecting', { attempt: this.attempt });
    const client = new Client({
      connectionString: this.options.url,
      application_name: this.options.applicationName ?? 'clinica-node-red-listen',
      connectionTimeoutMillis: 5000,
      keepAlive: true,
    });
    this.client = client;
    let failed = false;
    const onFailure = (err?: Error) => {
      if (failed) return;
      failed = true;
      client.removeAllListeners('notification');
      client.end().catch(() => undefined);
      if (this.closed) return;
      this.scheduleReconnect(err?.message ?? 'connection ended');
    };
    client.on('error', onFailure);
    client.on('end', () => onFailure());
    client.on('notification', (n) => {
      const raw = n.payload ?? '';
      let payload: unknown = raw;
      try {
        payload = raw ? JSON.parse(raw) : raw;
      } catch {
        payload = raw;
      }
      this.emit('notification', { channel: n.channel, payload, raw, processId: n.processId });
    });
    try {
      await client.connect();
      for (const ch of this.options.channels) await client.query(`LISTEN ${quoteIdent(ch)}`);
      const pid = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
      this.backendPid = pid.rows[0].pid;
      if (this.closed) {
        await client.end().catch(() => undefined);
        return;
      }
      const wasReconnect = this.everConnected;
      this.everConnected = true;
      this.attempt = 0;
      this.setState('listening');
      if (wasReconnect) this.emit('reconnected');
    } catch (err) {
      onFailure(err as Error);
    }
  }

  private scheduleReconnect(reason: string): void {
    this.attempt += 1;
    const min = this.options.minDelayMs ?? 500;
    const max = this.options.maxDelayMs ?? 30000;
    const delayMs = Math.min(max, min * 2 ** Math.min(this.attempt - 1, 16));
    this.setState('reconnecting', { error: reason, attempt: this.attempt, delayMs });
    this.timer = setTimeout(() => void this.connect(), delayMs);
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    const client = this.client;
    this.client = undefined;
    if (client) {
      client.removeAllListeners('end');
      client.removeAllListeners('error');
      client.on('error', () => undefined);
      await client.end().catch(() => undefined);
    }
    this.setState('closed');
  }
}
