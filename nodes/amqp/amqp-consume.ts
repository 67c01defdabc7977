/**
 * clinica-amqp-consume: consumes a queue and sends one message per delivery. The delivery is acked only
 * when the flow has finished with it: at an amqp ack node (ack mode "ack node") or when a node at the end of
 * the flow calls done() (ack mode "on done"). Failures are retried with back-off up to the configured
 * attempts, then dead-lettered to `<queue>.dlq` with the reason; malformed bodies go there at once.
 */
import { randomUUID } from 'node:crypto';
import type { Node, NodeAPI, NodeDef } from 'node-red';
import { attachToConfig } from '../lib/config-node';
import { intSetting } from '../lib/env';
import { IntegrationError, errorMessage } from '../clients/common/errors';
import { count, counter } from '../clients/common/metrics';
import { logEvent, registerType, setRED, status } from '../lib/node-runtime';
import type { AmqpConsumer, BodyFormat, Delivery } from '../clients/amqp/consumer';
import { abandonDeliveries, openDelivery, settleDelivery } from './deliveries';
import { brokerConfigOf, type AmqpMsgInfo } from './types';

interface ConsumeDef extends NodeDef {
  broker: string;
  queue: string;
  prefetch: string | number;
  ackMode: 'node' | 'done';
  maxAttempts: string | number;
  retryDelay: string | number;
  ackTimeout: string | number;
  format: BodyFormat;
  dedupe: boolean;
}

interface CompleteEvent {
  msg?: { amqp?: { deliveryKey?: string } };
  node?: { id: string; node?: { wires?: unknown[][] } };
  error?: unknown;
}

type Hooks = { add(name: string, fn: (event: CompleteEvent) => void): void; remove(name: string): void };

/** Node-RED's hooks; the test helper's RED lacks them, the runtime's own module is the same object. */
function hooks(RED: NodeAPI): Hooks {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (RED as unknown as { hooks?: Hooks }).hooks ?? (require('@node-red/util') as { hooks: Hooks }).hooks;
}

/** An error from a flow node as the consumer sees it: retryable unless it says otherwise. */
function flowError(err: unknown): unknown {
  if (err instanceof IntegrationError) return err;
  const retryable = typeof (err as { retryable?: unknown })?.retryable === 'boolean' ? (err as { retryable: boolean }).retryable : true;
  return new IntegrationError(errorMessage(err), { code: (err as { code?: string })?.code ?? 'FLOW_ERROR', system: 'node-red', retryable, cause: err });
}

export = function (RED: NodeAPI): void {
  setRED(RED);

  function AmqpConsume(this: Node, def: ConsumeDef): void {
    RED.nodes.createNode(this, def);
    const node = this;
    const config = brokerConfigOf(RED, def.broker);
    const queue = (def.queue ?? '').trim();
    const ackMode = def.ackMode === 'done' ? 'done' : 'node';
    const ackTimeoutMs = intSetting(def.ackTimeout, 300, 0, 86400) * 1000;
    // Keys are this node instance's (a redeploy starts a new prefix) plus a slot and a counter (deliveries.ts).
    const keyPrefix = `${node.id}:${randomUUID().slice(0, 8)}:`;
    let consumer: AmqpConsumer | undefined;
    const hookName = `onComplete.clinica-amqp-${node.id}`;

    if (!config || !queue) {
      status.failed(node, 'status.not-configured');
      if (!queue)
        node.error(
          new IntegrationError(`Consume node "${node.name || node.id}" has no queue; set one (e.g. invoice_queue)`, {
            code: 'AMQP_NOT_CONFIGURED',
            system: 'amqp',
            retryable: false,
          }),
        );
      return;
    }
    attachToConfig(node, config);

    if (ackMode === 'done') {
      // A message is finished when a node with no outgoing wires completes it, failed when any node fails it.
      hooks(RED).add(hookName, (event: CompleteEvent) => {
        const key = event.msg?.amqp?.deliveryKey;
        if (!key || !key.startsWith(keyPrefix)) return;
        if (event.error) settleDelivery(key, flowError(event.error));
        else if (!(event.node?.node?.wires ?? []).some((port) => port && port.length > 0)) settleDelivery(key);
      });
    }

    const retryDelayMs = intSetting(def.retryDelay, 1000, 0, 3600000);
    const consumed = counter('amqp', 'consumed', { queue });
    const handle = (delivery: Delivery): Promise<void> => {
      const info: AmqpMsgInfo = {
        queue,
        exchange: delivery.exchange,
        routingKey: delivery.routingKey,
        messageId: delivery.messageId,
        redelivered: delivery.redelivered,
        attempt: delivery.attempt,
        maxAttempts: delivery.maxAttempts,
        retryDelayMs,
        headers: delivery.headers,
        contentType: delivery.contentType,
        deliveryKey: '',
      };
      const { key, finished } = openDelivery(keyPrefix, ackTimeoutMs, info);
      info.deliveryKey = key;
      node.send({
        payload: delivery.body,
        topic: delivery.routingKey,
        correlationId: delivery.correlationId ?? delivery.messageId ?? randomUUID(),
        amqp: info,
      });
      consumed.add();
      return finished;
    };

    try {
      consumer = config.getBroker().consume(
        {
          queue,
          prefetch: intSetting(def.prefetch, 10, 1, 10000),
          maxAttempts: intSetting(def.maxAttempts, 3, 1, 100),
          retryDelayMs,
          format: def.format || 'auto',
          dedupe: def.dedupe !== false,
        },
        handle,
      );
    } catch (err) {
      status.failed(node, (err as { code?: string }).code ?? 'status.failed');
      node.error(err);
      return;
    }
    consumer.on('ready', () => status.ok(node, 'status.consuming'));
    consumer.on('error', (err) => {
      status.retrying(node, 'status.reconnecting');
      logEvent(node, 'warn', 'amqp.consumer.error', { queue, error: errorMessage(err) });
    });
    consumer.on('unacked', (n) => {
      count('amqp', 'unacked_on_connection_loss', { queue }, n);
      // The connection loss itself is the broker node's one warning (amqp.reconnecting); this says what became of
      // the deliveries in hand, once, instead of a warning per failed ack.
      logEvent(node, 'info', 'amqp.redelivery-expected', {
        queue,
        unacked: n,
        detail: `the connection closed with ${n} deliveries in hand; the broker redelivers them (those already finished are recognised by message id and acked)`,
      });
    });
    consumer.on('retry', (d, err, delayMs) => {
      count('amqp', 'retries', { queue });
      logEvent(node, 'warn', 'amqp.retry', {
        queue,
        correlationId: d.correlationId,
        messageId: d.messageId,
        attempt: d.attempt,
        delayMs,
        error: errorMessage(err),
      });
    });
    consumer.on('duplicate', () => count('amqp', 'duplicates_skipped', { queue }));
    consumer.on('dead-letter', (d, reason) => {
      count('amqp', 'dead_letters', { queue });
      logEvent(node, 'error', 'amqp.dead-letter', { queue, correlationId: d?.correlationId, messageId: d?.messageId, attempt: d?.attempt, reason });
    });

    node.on('close', (_removed: boolean, done: () => void) => {
      if (ackMode === 'done') hooks(RED).remove(hookName);
      const c = consumer;
      consumer = undefined;
      // Close first: deliveries still in the flow are given back to the queue (not counted as a failed attempt).
      const closing = c ? c.close() : Promise.resolve();
      abandonDeliveries(keyPrefix);
      closing.then(
        () => done(),
        () => done(),
      );
    });
  }

  registerType('clinica-amqp-consume', AmqpConsume);
};
