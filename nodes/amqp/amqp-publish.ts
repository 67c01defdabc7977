/**
 * clinica-amqp-publish: publishes msg.payload and passes the message on only after RabbitMQ confirmed it
 * (publisher confirms); a nack, a timeout or an unroutable message fails it with done(err).
 */
import type { Node, NodeAPI, NodeDef } from 'node-red';
import { attachToConfig } from '../lib/config-node';
import { badInput } from '../clients/common/errors';
import { handleInput, registerType, setRED, type Msg } from '../lib/node-runtime';
import { brokerConfigOf, brokerNotConfigured } from './types';

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

    handleInput(node, { system: 'amqp', idleStatus: { fill: 'green', shape: 'dot', text: 'status.connected' } }, async (msg: Msg, send) => {
      if (!config) throw brokerNotConfigured(node);
      const routingKey = def.routingKey || (typeof msg.topic === 'string' ? msg.topic : '');
      if (!routingKey && exchange !== '') {
        throw badInput('amqp', `Publish node "${node.name || node.id}" has no routing key: set one in the node or send it as msg.topic (e.g. invoice.created)`);
      }
      const headers = { ...((msg.headers as Record<string, unknown> | undefined) ?? {}), 'x-correlation-id': msg.correlationId };
      const result = await config.getBroker().publish({
        exchange,
        routingKey,
        body: msg.payload,
        headers,
        messageId: typeof msg.messageId === 'string' ? msg.messageId : undefined,
        correlationId: msg.correlationId,
        persistent: def.persistent !== false,
        mandatory: def.mandatory !== false,
      });
      // A message that came from a consume node keeps its delivery, so the flow can still ack it after publishing.
      const consumed = msg.amqp as { deliveryKey?: string } | undefined;
      msg.amqp = consumed?.deliveryKey ? { ...result, confirmed: true, deliveryKey: consumed.deliveryKey, delivery: consumed } : { ...result, confirmed: true };
      send(msg);
    });
  }

  registerType('clinica-amqp-publish', AmqpPublish);
};
