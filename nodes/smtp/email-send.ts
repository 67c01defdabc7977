/**
 * clinica-email-send: sends the e-mail described by msg.email {to, cc, subject, text, html, messageId, headers}
 * through its SMTP connection and passes the message on with msg.email.result {messageId, accepted, rejected,
 * response, durationMs}. Recipients default to the connection's To (ALERT_EMAIL_TO); every address is checked
 * before anything is sent. A failure goes to done(err) with msg.errorInfo, retryable or not (errors.ts of the
 * SMTP client), so a Catch node or the AMQP ack node can retry or dead-letter it.
 */
import type { Node, NodeAPI, NodeDef } from 'node-red';
import { attachToConfig } from '../lib/config-node';
import { badInput } from '../clients/common/errors';
import { handleInput, registerType, setRED, type Msg } from '../lib/node-runtime';
import { addressList } from '../clients/smtp';
import { smtpConfigOf, smtpNotConfigured } from './types';

interface EmailSendDef extends NodeDef {
  smtp: string;
}

/** The optional string property `name` of msg.email, or a BAD_INPUT naming it. */
function optionalString(email: Record<string, unknown>, name: string): string | undefined {
  const value = email[name];
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string')
    throw badInput('smtp', `msg.email.${name} must be a string, not ${Array.isArray(value) ? 'an array' : typeof value}`, { field: `msg.email.${name}` });
  return value;
}

function headersOf(value: unknown): Record<string, string> | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'object' || Array.isArray(value))
    throw badInput('smtp', 'msg.email.headers must be an object of header names and text values', { field: 'msg.email.headers' });
  const out: Record<string, string> = {};
  for (const [name, v] of Object.entries(value as Record<string, unknown>)) {
    if (!/^[!-9;-~]+$/.test(name)) throw badInput('smtp', `msg.email.headers has "${name}", which is not a header name`, { field: 'msg.email.headers' });
    if (typeof v !== 'string' && typeof v !== 'number')
      throw badInput('smtp', `msg.email.headers.${name} must be text`, { field: `msg.email.headers.${name}` });
    out[name] = String(v);
  }
  return out;
}

export = function (RED: NodeAPI): void {
  setRED(RED);

  function EmailSend(this: Node, def: EmailSendDef): void {
    RED.nodes.createNode(this, def);
    const node = this;
    const config = smtpConfigOf(RED, def.smtp);
    attachToConfig(node, config);

    handleInput(
      node,
      { system: 'smtp', workingText: 'status.sending', idleStatus: { fill: 'green', shape: 'dot', text: 'status.connected' } },
      async (msg: Msg, send) => {
        if (!config) throw smtpNotConfigured(node);
        const email = msg.email;
        if (!email || typeof email !== 'object' || Array.isArray(email)) {
          throw badInput(
            'smtp',
            `${node.type} "${node.name || node.id}" sends msg.email: set it to {to, subject, text or html} (to may be left to the SMTP connection's default)`,
            {
              field: 'msg.email',
            },
          );
        }
        const e = email as Record<string, unknown>;
        const to =
          addressList(e.to, 'msg.email.to') ??
          addressList(config.defaultTo, `the To setting of the SMTP connection "${config.name || config.id}" (or ALERT_EMAIL_TO)`);
        if (!to)
          throw badInput('smtp', 'msg.email.to is empty and the SMTP connection has no default To (nor ALERT_EMAIL_TO): say who gets the e-mail', {
            field: 'msg.email.to',
          });
        const cc = addressList(e.cc, 'msg.email.cc');
        const subject = optionalString(e, 'subject');
        if (!subject?.trim()) throw badInput('smtp', 'msg.email.subject is required', { field: 'msg.email.subject' });
        const text = optionalString(e, 'text');
        const html = optionalString(e, 'html');
        if (!text && !html) throw badInput('smtp', 'msg.email needs a body: set msg.email.text, msg.email.html or both', { field: 'msg.email.text' });
        const messageId = optionalString(e, 'messageId');
        const headers = { ...headersOf(e.headers), 'X-Correlation-Id': String(msg.correlationId) };

        try {
          const result = await config.getClient().send({ to, cc, subject, text, html, messageId, headers });
          config.report();
          msg.email = { ...e, result };
        } catch (err) {
          config.report(err);
          throw err;
        }
        send(msg);
      },
    );
  }

  registerType('clinica-email-send', EmailSend);
};
