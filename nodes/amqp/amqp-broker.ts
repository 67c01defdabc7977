/**
 * clinica-amqp-broker: one RabbitMQ connection shared by every publish and consume node that names it.
 * It declares the documents topology (documents_exchange, the three queues, their retry queues and DLQs)
 * on connect and after each reconnect (as classic queues, or quorum ones with AMQP_QUEUE_TYPE=quorum), and shows the connection state on every user node.
 */
import { defineConfigNode } from '../lib/config-node';
import { intSetting } from '../lib/env';
import { count } from '../clients/common/metrics';
import { logEvent } from '../lib/node-runtime';
import { safeUrl } from '../lib/redact';
import { AmqpBroker } from '../clients/amqp/broker';
import { parseQueueType } from '../clients/amqp/topology';
import { brokerUrl, type BrokerConfigDef, type BrokerConfigNode } from './types';

export = defineConfigNode<BrokerConfigNode, BrokerConfigDef, AmqpBroker>({
  type: 'clinica-amqp-broker',
  credentials: { username: 'text', password: 'password' },
  setup(node, def, ctx) {
    const { users, client } = ctx;
    node.getBroker = client;

    function makeBroker(): AmqpBroker {
      const url = brokerUrl(def.url, node.credentials?.username, node.credentials?.password);
      const broker = new AmqpBroker({
        url,
        connectionName: def.connectionName || `node-red:${node.id}`,
        topology: def.declareTopology === false ? null : undefined,
        // classic (default) or quorum, for the topology and every consumer of this connection alike
        queueType: parseQueueType(process.env.AMQP_QUEUE_TYPE),
        acquireTimeoutMs: intSetting(def.publishTimeout, 10000, 100, 600000),
      });
      users.setState('connecting');
      broker.on('state', (state, detail) => {
        switch (state) {
          case 'connected':
            users.setState('connected');
            logEvent(node, 'info', 'amqp.connected', { url: safeUrl(url) });
            // not after the node closed (ctx.current is then gone)
            void ctx.current?.ensureTopology().catch((err: Error) => logEvent(node, 'error', 'amqp.topology.failed', { error: err.message }));
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
      return broker;
    }

    return {
      makeClient: makeBroker,
      closeClient: (broker) => broker.close(),
      onFirstUser: () => void client(),
    };
  },
});
