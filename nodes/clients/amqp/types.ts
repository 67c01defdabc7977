/**
 * What the broker and its consumers share, in a module of its own so that neither imports the other:
 * the broker's states, a publish request and its result, and the part of the broker a consumer uses.
 */
import type { Channel } from 'amqplib';

export type BrokerState = 'connecting' | 'connected' | 'reconnecting' | 'blocked' | 'closed';

export interface PublishRequest {
  exchange: string;
  routingKey: string;
  /** Buffer as is; string as text/plain; anything else as JSON. */
  body: unknown;
  headers?: Record<string, unknown>;
  messageId?: string;
  correlationId?: string;
  contentType?: string;
  persistent?: boolean;
  expirationMs?: number;
  /** Fail when no queue is bound for the routing key (default true). */
  mandatory?: boolean;
}

export interface PublishResult {
  exchange: string;
  routingKey: string;
  messageId: string;
  bytes: number;
}

/** Where a consumer connects (its own connection to the broker's URL) and how it backs off. */
export interface BrokerEndpoint {
  url: string;
  connectionName?: string;
  retryLowMs?: number;
  retryHighMs?: number;
}

/** The broker as a consumer sees it: its endpoint, confirmed publishing, and a channel for one operation (DLQ tools). */
export interface BrokerLink {
  readonly options: BrokerEndpoint;
  publish(req: PublishRequest): Promise<PublishResult>;
  withChannel<T>(fn: (ch: Channel) => Promise<T>): Promise<T>;
}
