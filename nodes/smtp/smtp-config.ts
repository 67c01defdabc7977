/**
 * clinica-smtp-config: one SMTP server and sender, shared by every e-mail node that names it. Owns one pooled
 * client (connections kept and reused), checks the connection and login when the first node registers and shows
 * the state on every user node. Settings accept a value or ${ENV} and fall back to SMTP_HOST, SMTP_PORT,
 * SMTP_SECURE, SMTP_USER, SMTP_PASSWORD, SMTP_FROM, SMTP_TLS_REJECT_UNAUTHORIZED; the default recipients to
 * ALERT_EMAIL_TO.
 */
import { defineConfigNode } from '../lib/config-node';
import { expandEnv, settingOrEnv } from '../lib/env';
import { errorMessage } from '../clients/common/errors';
import { logEvent } from '../lib/node-runtime';
import { createSmtpClient, type SmtpClient, type SmtpSecurity } from '../clients/smtp';
import type { SmtpConfigDef, SmtpConfigNode } from './types';

/** Codes that say the server or the login is the problem, not one message. */
const CONNECTION_CODES = new Set(['SMTP_UNREACHABLE', 'SMTP_TIMEOUT', 'SMTP_AUTH_FAILED', 'SMTP_TLS_FAILED', 'SMTP_NOT_CONFIGURED']);
/** Troubles that need a fix (login, TLS, configuration): failed rather than disconnected. */
const FAILED_CODES = new Set(['SMTP_AUTH_FAILED', 'SMTP_TLS_FAILED', 'SMTP_NOT_CONFIGURED']);

/** tls | starttls | none, or SMTP_SECURE's true (tls) / false (starttls); empty: tls on port 465, else starttls. */
function securityOf(value: string, port: number): SmtpSecurity {
  switch (value.toLowerCase()) {
    case 'tls':
    case 'ssl':
    case 'true':
      return 'tls';
    case 'starttls':
    case 'false':
      return 'starttls';
    case 'none':
    case 'plain':
      return 'none';
    default:
      return port === 465 ? 'tls' : 'starttls';
  }
}

const DEFAULT_PORT: Record<SmtpSecurity, number> = { tls: 465, starttls: 587, none: 25 };

export = defineConfigNode<SmtpConfigNode, SmtpConfigDef, SmtpClient>({
  type: 'clinica-smtp-config',
  credentials: { user: 'text', password: 'password' },
  setup(node, def, { client, check, reporter }) {
    const host = settingOrEnv(def.host, 'SMTP_HOST');
    const portText = settingOrEnv(def.port === undefined ? '' : String(def.port), 'SMTP_PORT');
    const securityText = settingOrEnv(def.security, 'SMTP_SECURE');
    const security = securityOf(securityText, Number(portText));
    const port = portText ? Number(portText) : DEFAULT_PORT[security];
    const from = settingOrEnv(def.from, 'SMTP_FROM');
    const to = settingOrEnv(def.to, 'ALERT_EMAIL_TO');
    const user = expandEnv(node.credentials?.user).trim() || (process.env.SMTP_USER ?? '').trim();
    const password = expandEnv(node.credentials?.password) || (process.env.SMTP_PASSWORD ?? '');
    const rejectText = settingOrEnv(def.tlsRejectUnauthorized, 'SMTP_TLS_REJECT_UNAUTHORIZED').toLowerCase();
    const tlsRejectUnauthorized = !(rejectText === 'false' || rejectText === '0' || rejectText === 'no');
    const shown = { host, port, security, from, user: user || undefined };

    node.getClient = client;
    node.report = reporter(CONNECTION_CODES, FAILED_CODES, (code, err) => {
      logEvent(node, 'warn', 'smtp.unavailable', { ...shown, code, error: errorMessage(err) });
    });

    return {
      describe: { host, port, security, from, defaultTo: to },
      makeClient: () => createSmtpClient({ host, port, security, from, user: user || undefined, password: password || undefined, tlsRejectUnauthorized }),
      closeClient: (c) => c.close(),
      onFirstUser: () =>
        void check(
          () => client().verify(),
          () => logEvent(node, 'info', 'smtp.connected', shown),
          node.report,
        ),
    };
  },
});
