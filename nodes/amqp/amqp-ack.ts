/**
 * clinica-amqp-ack: finishes a delivery of a consume node. A message that arrives normally is acked; one
 * that arrives from a Catch node (it carries msg.error) is failed: retried if its error is retryable, else
 * dead-lettered with the error as the reason. The mode can force either.
 */
import type { Node, NodeAPI, NodeDef } from 'node-red';
import { IntegrationError } from '../clients/common/errors';
import { count, counter } from '../clients/common/metrics';
import { logEvent, registerType, setRED, type Msg } from '../lib/node-runtime';
import { settleDelivery } from './deliveries';

interface AckDef extends NodeDef {
  mode: 'auto' | 'ack' | 'retry' | 'reject';
}

interface CaughtError {
  message?: string;
  code?: string;
  source?: { id?: string; type?: string };
}

/** The failure a message carries (from a Catch node), with its retryability from msg.errorInfo when known. */
function failureOf(msg: Msg, mode: AckDef['mode']): IntegrationError | undefined {
  const caught = msg.error as CaughtError | undefined;
  if (mode === 'ack') return undefined;
  if (mode === 'auto' && !caught) return undefined;
  const info = msg.errorInfo;
  const message = info?.message ?? caught?.message ?? (mode === 'reject' ? 'rejected by the flow' : 'failed in the flow');
  const retryable = mode === 'retry' ? true : mode === 'reject' ? false : (info?.retryable ?? true);
  return new IntegrationError(message, {
    code: info?.code ?? caught?.code ?? (mode === 'reject' ? 'REJECTED_BY_FLOW' : 'FLOW_ERROR'),
    system: info?.system ?? 'node-red',
    retryable,
    // A 429 or 503's Retry-After (details.retryAfterMs) sets the wait before the next attempt.
    details:
      caught?.source || info?.details?.retryAfterMs !== undefined
        ? {
            ...(caught?.source ? { source: caught.source } : {}),
            ...(info?.details?.retryAfterMs !== undefined ? { retryAfterMs: info.details.retryAfterMs } : {}),
          }
        : undefined,
  });
}

export = function (RED: NodeAPI): void {
  setRED(RED);

  function AmqpAck(this: Node, def: AckDef): void {
    RED.nodes.createNode(this, def);
    const node = this;
    const mode = def.mode || 'auto';
    const acked = counter('amqp', 'acked');
    const failedByFlow = counter('amqp', 'failed_by_flow');

    node.on('input', (raw, _send, done) => {
      const msg = raw as Msg;
      const key = (msg.amqp as { deliveryKey?: string } | undefined)?.deliveryKey;
      if (!key) {
        done(
          new IntegrationError(`amqp ack node "${node.name || node.id}" got a message that did not come from an amqp consume node (no msg.amqp.deliveryKey)`, {
            code: 'BAD_INPUT',
            system: 'amqp',
            retryable: false,
          }),
        );
        return;
      }
      const failure = failureOf(msg, mode);
      if (!settleDelivery(key, failure)) {
        count('amqp', 'late_acks', {});
        logEvent(node, 'warn', 'amqp.ack.unknown-delivery', { correlationId: msg.correlationId, messageId: (msg.amqp as { messageId?: string }).messageId });
      } else {
        (failure ? failedByFlow : acked).add();
      }
      done();
    });
  }

  registerType('clinica-amqp-ack', AmqpAck);
};
