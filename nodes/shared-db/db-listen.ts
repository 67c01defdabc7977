/**
 * clinica-db-listen: emits a message for every PostgreSQL NOTIFY on its channels (by default
 * `shared_changes`, which the shared tables raise once per statement). Its connection is its own; when it is
 * killed the node turns yellow, reconnects with back-off, LISTENs again and, if asked, emits a
 * `reconnected` message so the flow re-reads what it may have missed.
 */
import type { Node, NodeAPI, NodeDef } from 'node-red';
import { attachToConfig } from '../lib/config-node';
import { count } from '../clients/common/metrics';
import { ensureCorrelationId, logEvent, registerType, setRED, status } from '../lib/node-runtime';
import type { PgListener } from '../clients/shared-db/listener';
import { dbConfigOf } from './types';

interface DbListenDef extends NodeDef {
  config: string;
  channels: string;
  notifyReconnect: boolean;
}

export = function (RED: NodeAPI): void {
  setRED(RED);

  function DbListen(this: Node, def: DbListenDef): void {
    RED.nodes.createNode(this, def);
    const node = this;
    const config = dbConfigOf(RED, def.config);
    const channels = (def.channels || 'shared_changes')
      .split(',')
      .map((c) => c.trim())
      .filter(Boolean);
    let listener: PgListener | undefined;

    if (!config) {
      status.failed(node, 'status.not-configured');
      return;
    }
    attachToConfig(node, config);
    try {
      listener = config.createListener(channels);
    } catch (err) {
      status.failed(node, (err as { code?: string }).code ?? 'status.failed');
      node.error(err);
      return;
    }
    listener.on('state', (state, detail) => {
      if (state === 'listening') status.ok(node, 'status.listening');
      else if (state === 'connecting') status.retrying(node, 'status.connecting');
      else if (state === 'reconnecting') {
        status.retrying(node, 'status.reconnecting');
        count('shared-db', 'retries', { node: node.type });
        logEvent(node, 'warn', 'shared-db.listen.reconnecting', { channels, ...detail });
      }
    });
    listener.on('reconnected', () => {
      logEvent(node, 'info', 'shared-db.listen.reconnected', { channels });
      if (def.notifyReconnect !== false) {
        const msg: Record<string, unknown> = { topic: 'reconnected', payload: { reconnected: true, channels }, db: { event: 'reconnected' } };
        ensureCorrelationId(msg);
        node.send(msg);
      }
    });
    listener.on('notification', (n) => {
      count('shared-db', 'notifications', { channel: n.channel });
      const msg: Record<string, unknown> = { topic: n.channel, payload: n.payload, db: { event: 'notification', channel: n.channel, processId: n.processId } };
      ensureCorrelationId(msg);
      node.send(msg);
    });
    listener.start();

    node.on('close', (_removed: boolean, done: () => void) => {
      const l = listener;
      listener = undefined;
      (l ? l.close() : Promise.resolve()).then(
        () => done(),
        () => done(),
      );
    });
  }

  registerType('clinica-db-listen', DbListen);
};
