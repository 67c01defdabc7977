/**
 * clinica-amqp-publish: publishes msg.payload and passes the message on only after RabbitMQ confirmed it
 * (publisher confirms); a nack, a timeout or an unroutable message fails it with done(err). A batch in
 * msg.messages ([{payload, topic, messageId, headers}]) is published at once and confirmed as a whole.
 */
import type { Node, NodeAPI, NodeDef } from 'node-red';
import { attachToConfig } from '../lib/config-node';
import { badInput } from '../clients/common/errors';
import { handleInput, registerType, setRED, type Msg } from '../lib/node-runtime';
import { brokerConfigOf, brokerNotConfigured } from './types';

/** One message of a batch (msg.messages): like a message of its own. */
interface Batched {
  payload: unknown;
  topic?: unknown;
  messageId?: unknown;
  headers?: Record<string, unknown>;
}

interface PublishDef extends NodeDef {
  broker: string;
  exchange: string;
  routingKey: string;
  persistent: boolean;
  mandatory: boolean;
}

export = function (RED: NodeAPI): void {
  setRED(RED);

  function AmqpPublish(this: Node, def: PublishDef): void {
    RED.nodes.createNode(this, def);
    const node = this;
    const config = brokerConfigOf(RED, def.broker);
    attachToConfig(node, config);
    const exchange = def.exchange ?? 'documents_exchange';

    const routingKeyOf = (topic: unknown): string => {
      const routingKey = def.routingKey || (typeof topic === 'string' ? topic : '');
      if (!routingKey && exchange !== '') {
        throw badInput('amqp', `Publish node "${node.name || node.id}" has no routing key: set one in the node or send it as msg.topic (e.g. invoice.created)`);
      }
      return routingKey;
    };

    handleInput(node, { system: 'amqp', idleStatus: { fill: 'green', shape: 'dot', text: 'status.connected' } }, async (msg: Msg, send) => {
      if (!config) throw brokerNotConfigured(node);
      const broker = config.getBroker();
      const publishOne = (m: Batched) =>
        broker.publish({
          exchange,
          routingKey: routingKeyOf(m.topic),
          body: m.payload,
          headers: { ...(m.headers ?? {}), 'x-correlation-id': msg.correlationId },
          messageId: typeof m.messageId === 'string' ? m.messageId : undefined,
          correlationId: msg.correlationId,
          persistent: def.persistent !== false,
          mandatory: def.mandatory !== false,
        });
      let result: Record<string, unknown>;
      if (Array.isArray(msg.messages)) {
        // A batch (msg.messages): every message published and confirmed before the message goes on.
        const batch = (msg.messages as unknown[]).map((m, i) => {
          if (!m || typeof m !== 'object')
            throw badInput('amqp', `Publish node "${node.name || node.id}": msg.messages[${i}] is not an object {payload, topic, messageId}`);
          return m as Batched;
        });
        for (const m of batch) routingKeyOf(m.topic);
        const confirmed = await Promise.all(batch.map(publishOne));
        result = { exchange, published: confirmed.length, messageIds: confirmed.map((c) => c.messageId) };
      } else {
        result = { ...(await publishOne({ payload: msg.payload, topic: msg.topic, messageId: msg.messageId, headers: msg.headers as Batched['headers'] })) };
      }
      // A message that came from a consume node keeps its delivery, so the flow can still ack it after publishing.
      const consumed = msg.amqp as { deliveryKey?: string } | undefined;
      msg.amqp = consumed?.deliveryKey ? { ...result, confirmed: true, deliveryKey: consumed.deliveryKey, delivery: consumed } : { ...result, confirmed: true };
      send(msg);
    });
  }

  registerType('clinica-amqp-publish', AmqpPublish);
};
