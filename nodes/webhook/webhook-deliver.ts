/**
 * clinica-webhook-deliver: sends msg.payload as a signed Standard Webhooks delivery to msg.webhook = {url, secret,
 * id, timestamp?, headers?}; passes the message on with msg.webhook.result once the subscriber answered 2xx, and
 * fails it through done(err) with msg.errorInfo otherwise (WEBHOOK_RETRY, WEBHOOK_GONE, WEBHOOK_REJECTED,
 * WEBHOOK_TIMEOUT, WEBHOOK_UNREACHABLE, BAD_INPUT), so a Catch node or the AMQP ack decides what comes next.
 * The secret is never logged nor put in a status or an error, and does not travel past this node.
 */
import type { Node, NodeAPI, NodeDef } from 'node-red';
import { badInput } from '../clients/common/errors';
import { DEFAULT_TIMEOUT_MS, deliver } from '../clients/webhook';
import { handleInput, registerType, setRED, type Msg } from '../lib/node-runtime';

interface DeliverDef extends NodeDef {
  /** Seconds for the whole exchange with the subscriber (default 10). */
  timeout?: number | string;
}

interface WebhookInput {
  url?: unknown;
  secret?: unknown;
  id?: unknown;
  timestamp?: unknown;
  headers?: unknown;
  [key: string]: unknown;
}

/** Unix seconds given as a number or a numeric string; anything else is left for the client to refuse. */
function timestampOf(value: unknown): number | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  return typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : (value as number);
}

export = function (RED: NodeAPI): void {
  setRED(RED);

  function WebhookDeliver(this: Node, def: DeliverDef): void {
    RED.nodes.createNode(this, def);
    const node = this;
    const seconds = Number(def.timeout);
    const timeoutMs = Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : DEFAULT_TIMEOUT_MS;
    const label = node.name || node.id;

    handleInput(
      node,
      { system: 'webhook', workingText: 'status.sending', idleStatus: { fill: 'green', shape: 'dot', text: 'status.delivered' } },
      async (msg: Msg, send) => {
        const webhook = msg.webhook as WebhookInput | undefined;
        if (!webhook || typeof webhook !== 'object' || Array.isArray(webhook)) {
          throw badInput(
            'webhook',
            `Webhook deliver node "${label}" needs msg.webhook = {url, secret, id}: the subscriber's endpoint, its whsec_ secret and the event's id`,
          );
        }
        const timestamp = timestampOf(webhook.timestamp) ?? Math.floor(Date.now() / 1000);
        const headers = webhook.headers;
        if (headers !== undefined && (headers === null || typeof headers !== 'object' || Array.isArray(headers))) {
          throw badInput('webhook', `Webhook deliver node "${label}": msg.webhook.headers must be an object of header names and values`);
        }
        const result = await deliver({
          url: webhook.url as string,
          secret: webhook.secret as string,
          id: webhook.id as string,
          timestamp,
          body: msg.payload,
          timeoutMs,
          headers: headers as Record<string, string> | undefined,
        });
        // The secret stays behind: a Debug node or a log further on never sees it.
        const { secret: _secret, ...rest } = webhook;
        msg.webhook = { ...rest, timestamp, result };
        send(msg);
      },
    );
  }

  registerType('clinica-webhook-deliver', WebhookDeliver);
};
