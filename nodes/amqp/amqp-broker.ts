/**
 * clinica-amqp-broker: one RabbitMQ connection shared by every publish and consume node that names it.
 * It declares the documents topology (documents_exchange, the three queues, their retry queues and DLQs)
 * on connect and after each reconnect, and shows the connection state on every user node.
 */
import type { NodeAPI } from 'node-red';
import { ConnectionUsers } from '../lib/config-node';
import { intSetting } from '../lib/env';
import { count } from '../clients/common/metrics';
import { logEvent, registerType, setRED } from '../lib/node-runtime';
import { safeUrl } from '../lib/redact';
import { AmqpBroker } from '../clients/amqp/broker';
import { brokerUrl, type BrokerConfigDef, type BrokerConfigNode } from './types';

export = function (RED: NodeAPI): void {
  setRED(RED);

  function BrokerConfig(this: BrokerConfigNode, def: BrokerConfigDef): void {
    RED.nodes.createNode(this, def);
    const node = this;
    let broker: AmqpBroker | undefined;
    const users = new ConnectionUsers(() => node.getBroker(), () => undefined);

    node.getBroker = () => {
      if (!broker) {
        const url = brokerUrl(def.url, node.credentials?.username, node.credentials?.password);
        broker = new AmqpBroker({
          url,
          connectionName: def.connectionName || `node-red:${node.id}`,
          topology: def.declareTopology === false ? null : undefined,
          acquireTimeoutMs: intSetting(def.publishTimeout, 10000, 100, 600000),
        });
        users.setState('connecting');
        broker.on('state', (state, detail) => {
          switch (state) {
            case 'connected':
              users.setState('connected');
              logEvent(node, 'info', 'amqp.connected', { url: safeUrl(url) });
              void broker?.ensureTopology().catch((err: Error) => logEvent(node, 'error', 'amqp.topology.failed', { error: err.message }));
              break;
            case 'reconnecting':
              count('amqp', 'reconnects', {});
              users.setState('reconnecting');
              logEvent(node, 'warn', 'amqp.reconnecting', { url: safeUrl(url), error: detail });
              break;
            case 'blocked':
              users.setState('reconnecting', 'status.blocked');
              logEvent(node, 'warn', 'amqp.blocked', { reason: detail });
              break;
            case 'closed':
              users.setState('disconnected');
              break;
            default:
              break;
          }
        });
      }
      return broker;
    };
    node.register = (user) => users.register(user);
    node.deregister = (user) => users.deregister(user);

    node.on('close', (_removed: boolean, done: () => void) => {
      const b = broker;
      broker = undefined;
      (b ? b.close() : Promise.resolve()).then(() => done(), () => done());
    });
  }

  registerType('clinica-amqp-broker', BrokerConfig, {
    credentials: { username: { type: 'text' }, password: { type: 'password' } },
  });
};
