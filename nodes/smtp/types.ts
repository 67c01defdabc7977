/** Types and helpers shared by the SMTP nodes (a node module itself may export only its function). */
import type { Node, NodeDef } from 'node-red';
import { configNodeOf, missingConfigError } from '../lib/config-node';
import type { IntegrationError } from '../clients/common/errors';
import type { SmtpClient } from '../clients/smtp';

export interface SmtpConfigDef extends NodeDef {
  host: string;
  port: string | number;
  /** tls | starttls | none; empty = SMTP_SECURE. */
  security: string;
  from: string;
  /** Default recipients; empty = ALERT_EMAIL_TO. */
  to: string;
  /** '' (SMTP_TLS_REJECT_UNAUTHORIZED, else true) | 'true' | 'false'. */
  tlsRejectUnauthorized?: string;
}

export interface SmtpConfigNode extends Node<{ user?: string; password?: string }> {
  register(user: Node): void;
  deregister(user: Node): void;
  /** The one pooled client of this config node. Throws SMTP_NOT_CONFIGURED without a host. */
  getClient(): SmtpClient;
  /** The default recipients (the To setting or ALERT_EMAIL_TO), as written; empty when none. */
  readonly defaultTo: string;
  /** Tells the config node how a send ended, so every user node shows the connection state. */
  report(err?: unknown): void;
}

export function smtpConfigOf(RED: { nodes: { getNode(id: string): unknown } }, id: string | undefined): SmtpConfigNode | undefined {
  return configNodeOf<SmtpConfigNode>(RED, id, 'getClient');
}

export function smtpNotConfigured(user: Node): IntegrationError {
  return missingConfigError(user, 'smtp', 'SMTP connection', 'clinica-smtp-config');
}
