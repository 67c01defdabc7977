/**
 * clinica-amqp-dead-letters: the operator's view of a queue's dead letters (`<queue>.dlq`): inspect them (each with
 * the reason, error code and attempts it was dead-lettered with, left in place) or replay them into their queue
 * (attempts reset, `x-replayed` counted, each confirmed before it leaves the DLQ). The queue is the node's setting
 * or msg.topic; msg.action (inspect | replay | depths) and msg.limit override the settings; msg.messageId replays
 * only that message's dead letters. `depths` answers, for every queue of the topology, how many messages wait, how
 * many consumers read it and how many dead letters it has.
 */
import type { Node, NodeAPI, NodeDef } from 'node-red';
import { badInput } from '../clients/common/errors';
import { inspectDeadLetters, replayDeadLetters } from '../clients/amqp/consumer';
import { documentsTopology } from '../clients/amqp/topology';
import { attachToConfig } from '../lib/config-node';
import { intSetting } from '../lib/env';
import { handleInput, logEvent, registerType, setRED, type Msg } from '../lib/node-runtime';
import { brokerConfigOf, brokerNotConfigured } from './types';

interface DeadLettersDef extends NodeDef {
  broker: string;
  queue: string;
  action: 'inspect' | 'replay';
  limit: string | number;
}

const QUEUE = /^[A-Za-z0-9._:-]{1,200}$/;

export = function (RED: NodeAPI): void {
  setRED(RED);

  function AmqpDeadLetters(this: Node, def: DeadLettersDef): void {
    RED.nodes.createNode(this, def);
    const node = this;
    const config = brokerConfigOf(RED, def.broker);
    attachToConfig(node, config);

    handleInput(node, { system: 'amqp' }, async (msg: Msg, send) => {
      if (!config) throw brokerNotConfigured(node);
      if (msg.action === 'depths') {
        delete msg.action;
        const broker = config.getBroker();
        const consumed = documentsTopology().bindings.map((b) => b.queue);
        const rows = [];
        for (const queue of [...new Set(consumed)]) {
          const q = await broker.queueDepth(queue);
          const dlq = await broker.queueDepth(`${queue}.dlq`);
          rows.push({ queue, messages: q?.messages ?? null, consumers: q?.consumers ?? null, deadLetters: dlq?.messages ?? null });
        }
        msg.payload = rows;
        msg.amqp = { action: 'depths' };
        send(msg);
        return;
      }
      const queue = (def.queue || '').trim() || (typeof msg.topic === 'string' ? msg.topic.trim() : '');
      if (!QUEUE.test(queue))
        throw badInput(
          'amqp',
          `${node.type} "${node.name || node.id}": which queue? Set Queue or send it as msg.topic (e.g. invoice_queue); got ${JSON.stringify(queue)}`,
        );
      const action = msg.action === 'replay' || msg.action === 'inspect' ? msg.action : def.action === 'replay' ? 'replay' : 'inspect';
      const messageId = typeof msg.messageId === 'string' && msg.messageId ? msg.messageId : undefined;
      const limit = msg.limit !== undefined ? intSetting(msg.limit, 100, 1, 10000) : intSetting(def.limit, 100, 1, 10000);
      delete msg.action;
      delete msg.limit;
      const broker = config.getBroker();
      if (action === 'replay') {
        const replayed = await replayDeadLetters(broker, queue, limit, messageId);
        logEvent(node, 'info', 'amqp.dead-letters.replayed', { correlationId: msg.correlationId, queue, replayed, messageId });
        msg.payload = { queue, replayed, ...(messageId ? { messageId } : {}) };
      } else {
        const letters = await inspectDeadLetters(broker, queue, limit);
        msg.payload = letters;
      }
      msg.topic = queue;
      msg.amqp = { queue: `${queue}.dlq`, action };
      send(msg);
    });
  }

  registerType('clinica-amqp-dead-letters', AmqpDeadLetters);
};
