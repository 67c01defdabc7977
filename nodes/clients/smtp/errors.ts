/**
 * What nodemailer reports as the pack's typed errors (system `smtp`). Nodemailer puts on its errors a `code`
 * (EAUTH, EENVELOPE, EMESSAGE, ESOCKET, EDNS, ETIMEDOUT, ECONNECTION, ETLS …), the server's `response` and
 * `responseCode`, and the SMTP `command` that failed; for recipients refused one by one, `rejectedErrors`.
 *
 * | code | retryable | when |
 * | --- | --- | --- |
 * | SMTP_AUTH_FAILED | no | the login was refused (535, EAUTH) or the server wants one and none is configured |
 * | SMTP_RECIPIENT_REFUSED | no | every recipient was refused with 5xx on RCPT TO |
 * | SMTP_TEMPORARY_FAILURE | yes | any 4xx answer (greylisting, mailbox busy, too many connections) |
 * | SMTP_REJECTED | no | any other 5xx answer (the message refused at DATA, the sender refused) |
 * | SMTP_UNREACHABLE | yes | connection refused or reset, unknown host, connection closed |
 * | SMTP_TIMEOUT | yes | no answer within the timeout (connection, greeting or any command) |
 * | SMTP_TLS_FAILED | no | TLS could not be set up: the certificate, or STARTTLS not offered |
 */
import { IntegrationError, errorMessage } from '../common/errors';

interface NodemailerError {
  code?: string;
  response?: string;
  responseCode?: number;
  command?: string;
  rejected?: string[];
  rejectedErrors?: Array<{ recipient?: string; responseCode?: number; response?: string }>;
  cause?: unknown;
}

/** The socket-level codes under a nodemailer ESOCKET / EDNS / ECONNECTION error. */
const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOTFOUND', 'ECONNRESET', 'ESOCKET', 'EDNS', 'ECONNECTION', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE']);
/** TLS failures: a certificate that does not verify, a handshake that fails. */
const TLS_PROBLEM = /certificate|self[- ]signed|SSL routines|wrong version number|handshake|ERR_TLS|UNABLE_TO_VERIFY|CERT_/i;

export function smtpError(err: unknown, where: { host: string; port: number; recipients?: string[]; operation: 'send' | 'verify' }): IntegrationError {
  if (err instanceof IntegrationError) return err;
  const e = (err ?? {}) as NodemailerError;
  const server = `${where.host}:${where.port}`;
  const responseCode = typeof e.responseCode === 'number' ? e.responseCode : undefined;
  const details: Record<string, unknown> = {
    response: e.response,
    responseCode,
    command: e.command,
    host: where.host,
    port: where.port,
    ...(e.rejected?.length ? { rejected: e.rejected } : {}),
  };
  const make = (code: string, retryable: boolean, message: string) =>
    new IntegrationError(message, { code, system: 'smtp', retryable, status: responseCode, details, cause: err });
  const said = e.response ? `: the server answered "${e.response}"` : `: ${errorMessage(err)}`;
  const to = where.recipients?.length ? where.recipients.join(', ') : 'the recipients';
  const socketCode = socketCodeOf(err);

  if (e.code === 'EAUTH' || e.code === 'ENOAUTH' || responseCode === 535 || responseCode === 530) {
    return make(
      'SMTP_AUTH_FAILED',
      false,
      `SMTP server ${server} refused the login${said}; check the user and password of the SMTP connection (SMTP_USER, SMTP_PASSWORD)`,
    );
  }
  if (e.code === 'ETLS' || (e.code !== 'ETIMEDOUT' && TLS_PROBLEM.test(errorMessage(err)))) {
    return make(
      'SMTP_TLS_FAILED',
      false,
      `SMTP connection to ${server} could not set up TLS${said}; check the security setting (SMTP_SECURE: tls for port 465, starttls for 587, none for a server without TLS) and the server's certificate (SMTP_TLS_REJECT_UNAUTHORIZED=false accepts a self-signed one)`,
    );
  }
  if (responseCode !== undefined && responseCode >= 400 && responseCode < 500) {
    const what = e.code === 'EENVELOPE' ? `refused ${to} for now` : `deferred the message`;
    return make('SMTP_TEMPORARY_FAILURE', true, `SMTP server ${server} ${what}${said}; this is temporary, send it again later`);
  }
  if (responseCode !== undefined && responseCode >= 500) {
    if (e.code === 'EENVELOPE' && /^RCPT/i.test(e.command ?? '')) {
      const refused = e.rejected?.length ? e.rejected.join(', ') : to;
      return make(
        'SMTP_RECIPIENT_REFUSED',
        false,
        `SMTP server ${server} refused every recipient (${refused})${said}; fix the address(es) in msg.email.to / cc or the default To`,
      );
    }
    return make(
      'SMTP_REJECTED',
      false,
      `SMTP server ${server} rejected the message to ${to} at ${e.command ?? 'a command'}${said}; it will be refused again as it is, change the message, the sender (SMTP_FROM) or ask the mail administrator`,
    );
  }
  if (e.code === 'ETIMEDOUT' || socketCode === 'ETIMEDOUT' || /time(d)? ?out/i.test(errorMessage(err))) {
    return make(
      'SMTP_TIMEOUT',
      true,
      `SMTP server ${server} did not answer in time (${e.command ?? 'connection'})${said}; check that it is up and reachable, or raise the timeout`,
    );
  }
  if ((e.code && UNREACHABLE.has(e.code)) || (socketCode && UNREACHABLE.has(socketCode))) {
    return make('SMTP_UNREACHABLE', true, `SMTP server ${server} cannot be reached${said}; check SMTP_HOST and SMTP_PORT and that the server is up`);
  }
  return make('SMTP_FAILED', false, `SMTP ${where.operation} through ${server} failed${said}`);
}

/** The errno-style code of the socket error under a nodemailer error (ECONNREFUSED, ENOTFOUND …). */
function socketCodeOf(err: unknown): string | undefined {
  let current: unknown = err;
  for (let depth = 0; current && depth < 4; depth++) {
    const message = errorMessage(current);
    const m = /\b(E[A-Z_]{4,})\b/.exec(message);
    if (m) return m[1];
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}
