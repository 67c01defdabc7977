/** Types and helpers shared by the AMQP nodes (a node module itself may export only its function). */
import type { Node, NodeDef } from 'node-red';
import { configNodeOf, missingConfigError } from '../lib/config-node';
import { expandEnv, settingOrEnv } from '../lib/env';
import { type IntegrationError } from '../clients/common/errors';
import type { AmqpBroker } from '../clients/amqp/broker';

export interface BrokerConfigDef extends NodeDef {
  url: string;
  connectionName: string;
  declareTopology: boolean;
  /** How long a publish waits for a connection (ms). */
  publishTimeout?: string | number;
}

export interface BrokerConfigNode extends Node<{ username?: string; password?: string }> {
  register(user: Node): void;
  deregister(user: Node): void;
  /** The broker client of this config (created with the first user; reconnects by itself). */
  getBroker(): AmqpBroker;
}

export function brokerConfigOf(RED: { nodes: { getNode(id: string): unknown } }, id: string | undefined): BrokerConfigNode | undefined {
  return configNodeOf<BrokerConfigNode>(RED, id, 'getBroker');
}

export function brokerNotConfigured(user: Node): IntegrationError {
  return missingConfigError(user, 'amqp', 'broker', 'clinica-amqp-broker');
}

/** What the consume node puts on msg.amqp. */
export interface AmqpMsgInfo {
  queue: string;
  exchange: string;
  routingKey: string;
  messageId?: string;
  redelivered: boolean;
  attempt: number;
  maxAttempts: number;
  /** The consume node's first back-off (ms): the next attempt waits retryDelayMs × 2^(attempt−1), or a Retry-After. */
  retryDelayMs: number;
  headers: Record<string, unknown>;
  contentType?: string;
  /** Key the ack node (or the done() hook) uses to finish this delivery. */
  deliveryKey: string;
}

/** The URL with the credential user/password put in (they never sit in the flow). */
export function brokerUrl(configured: string, username?: string, password?: string): string {
  const url = new URL(settingOrEnv(configured, 'AMQP_URL', 'amqp://guest:guest@127.0.0.1:5672'));
  const user = expandEnv(username);
  const pw = expandEnv(password);
  if (user) url.username = encodeURIComponent(user);
  if (pw) url.password = encodeURIComponent(pw);
  return url.toString();
}
