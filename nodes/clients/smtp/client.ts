/**
 * A small SMTP client over nodemailer's pooled transport: connections are opened when needed, kept and reused
 * for the next messages, and closed by close(). Every failure is an IntegrationError of system `smtp`
 * (see errors.ts); a message refused for some recipients only is a success that lists them in `rejected`.
 */
import { isIP } from 'node:net';
import { createTransport } from 'nodemailer';
import { IntegrationError, badInput } from '../common/errors';
import { count } from '../common/metrics';
import { addressList } from './addresses';
import { smtpError } from './errors';

export type SmtpSecurity = 'tls' | 'starttls' | 'none';

export interface SmtpClientOptions {
  host: string;
  port: number;
  /** tls: TLS from the first byte (port 465); starttls: plain then STARTTLS, required (587); none: never TLS. */
  security: SmtpSecurity;
  user?: string;
  password?: string;
  /** The default sender, e.g. `"Clínica" <alerts@clinica.example>`. */
  from: string;
  /** Deadline of the connection, the greeting and every command (ms); default 30000. */
  timeoutMs?: number;
  /** Keep and reuse connections (default true); false opens one connection per message. */
  pool?: boolean;
  /** Connections kept open at once (default 2). */
  maxConnections?: number;
  /** false accepts a certificate that does not verify (self-signed): for test servers only. Default true. */
  tlsRejectUnauthorized?: boolean;
}

export interface SmtpMail {
  /** One address, a comma-separated list or an array. */
  to: string | string[];
  cc?: string | string[];
  subject: string;
  text?: string;
  html?: string;
  /** Sent as the Message-ID header as given (wrapped in <> when it has none), so a resend can be recognised. */
  messageId?: string;
  headers?: Record<string, string>;
  /** Overrides the client's sender. */
  from?: string;
}

export interface SmtpSendResult {
  /** The Message-ID header sent, with its angle brackets. */
  messageId: string;
  accepted: string[];
  rejected: string[];
  /** The server's last answer, e.g. `250 OK: queued as 4F2…`. */
  response: string;
  durationMs: number;
}

export interface SmtpClient {
  readonly host: string;
  readonly port: number;
  readonly security: SmtpSecurity;
  send(mail: SmtpMail): Promise<SmtpSendResult>;
  /** Connects, greets, upgrades to TLS and logs in as a send would; throws the same typed errors. */
  verify(): Promise<void>;
  close(): Promise<void>;
}

/** Makes the client; nothing is connected until the first send or verify. */
export function createSmtpClient(options: SmtpClientOptions): SmtpClient {
  const host = options.host.trim();
  if (!host) throw notConfigured('has no host: set it in the SMTP connection or in SMTP_HOST');
  if (!Number.isInteger(options.port) || options.port < 1 || options.port > 65535) {
    throw notConfigured(`has port ${String(options.port)}, which is not a TCP port: set 1–65535 (465 for tls, 587 for starttls, 25 for none)`);
  }
  const port = options.port;
  const timeoutMs = options.timeoutMs ?? 30000;
  const security = options.security;
  const where = (operation: 'send' | 'verify', recipients?: string[]) => ({ host, port, operation, recipients });
  let closed = false;

  const transport = createTransport({
    pool: options.pool === false ? undefined : true,
    maxConnections: options.maxConnections ?? 2,
    host,
    port,
    secure: security === 'tls',
    requireTLS: security === 'starttls',
    ignoreTLS: security === 'none',
    auth: options.user ? { user: options.user, pass: options.password ?? '' } : undefined,
    connectionTimeout: timeoutMs,
    greetingTimeout: timeoutMs,
    socketTimeout: timeoutMs,
    dnsTimeout: timeoutMs,
    // SNI takes a host name only (RFC 6066)
    tls: { rejectUnauthorized: options.tlsRejectUnauthorized !== false, ...(isIP(host) ? {} : { servername: host }) },
    logger: false,
    debug: false,
  } as Parameters<typeof createTransport>[0]);

  function assertOpen(): void {
    if (closed) throw new IntegrationError(`SMTP client for ${host}:${port} is closed`, { code: 'SMTP_CLOSED', system: 'smtp', retryable: true });
  }

  return {
    host,
    port,
    security,
    async send(mail) {
      assertOpen();
      const to = addressList(mail.to, 'to');
      if (!to) throw badInput('smtp', 'An e-mail needs at least one recipient in to', { field: 'to' });
      const cc = addressList(mail.cc, 'cc');
      const from = addressList(mail.from || options.from, 'from');
      if (!from) throw notConfigured('has no sender: set From in the SMTP connection or SMTP_FROM');
      if (typeof mail.subject !== 'string' || mail.subject.trim() === '') throw badInput('smtp', 'An e-mail needs a subject', { field: 'subject' });
      if (!mail.text && !mail.html) throw badInput('smtp', 'An e-mail needs a text or an html body', { field: 'text' });
      if (mail.messageId !== undefined && (typeof mail.messageId !== 'string' || !/^<?[^\s<>]+>?$/.test(mail.messageId.trim()))) {
        throw badInput('smtp', 'The messageId of an e-mail must be one word without spaces or <>, e.g. alert-42@clinica.example', { field: 'messageId' });
      }
      const messageId = mail.messageId ? bracketed(mail.messageId) : undefined;
      const recipients = [...to, ...(cc ?? [])];
      const started = Date.now();
      try {
        const info = await transport.sendMail({
          from: from[0],
          to,
          cc,
          subject: mail.subject,
          text: mail.text,
          html: mail.html,
          messageId,
          headers: mail.headers,
        });
        const accepted = (info.accepted ?? []).map(String);
        const rejected = (info.rejected ?? []).map(String);
        count('smtp', 'messages_sent', {});
        count('smtp', 'recipients_accepted', {}, accepted.length);
        if (rejected.length) count('smtp', 'recipients_rejected', {}, rejected.length);
        return {
          messageId: bracketed(String(info.messageId ?? messageId ?? '')),
          accepted,
          rejected,
          response: String(info.response ?? ''),
          durationMs: Date.now() - started,
        };
      } catch (err) {
        const e = smtpError(err, where('send', recipients));
        count('smtp', 'send_failures', { code: e.code });
        throw e;
      }
    },
    async verify() {
      assertOpen();
      try {
        await transport.verify();
      } catch (err) {
        throw smtpError(err, where('verify'));
      }
    },
    async close() {
      if (closed) return;
      closed = true;
      transport.close();
    },
  };
}

function bracketed(id: string): string {
  const trimmed = id.trim();
  return trimmed.startsWith('<') && trimmed.endsWith('>') ? trimmed : `<${trimmed}>`;
}

function notConfigured(what: string): IntegrationError {
  return new IntegrationError(`The SMTP connection ${what}`, { code: 'SMTP_NOT_CONFIGURED', system: 'smtp', retryable: false });
}
