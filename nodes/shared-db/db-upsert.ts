/**
 * clinica-db-upsert: writes one record or a batch of patients, appointments, medications or stock movements
 * into the shared tables, idempotently (INSERT … ON CONFLICT, one transaction per batch). A bad record fails
 * the whole batch with the list of problems, and nothing is written.
 */
import type { Node, NodeAPI, NodeDef } from 'node-red';
import { attachToConfig } from '../lib/config-node';
import { badInput } from '../clients/common/errors';
import { handleInput, registerType, setRED, type Msg } from '../lib/node-runtime';
import { ENTITY_NAMES } from '../clients/shared-db/entities';
import { upsert } from '../clients/shared-db/upsert';
import { dbConfigOf, notConfigured } from './types';

interface DbUpsertDef extends NodeDef {
  config: string;
  /** An entity name, or "msg" to take it from msg.topic. */
  entity: string;
  ignoreUnknown: boolean;
}

export = function (RED: NodeAPI): void {
  setRED(RED);

  function DbUpsert(this: Node, def: DbUpsertDef): void {
    RED.nodes.createNode(this, def);
    const node = this;
    const config = dbConfigOf(RED, def.config);
    attachToConfig(node, config);

    handleInput(node, { system: 'shared-db' }, async (msg: Msg, send) => {
      if (!config) throw notConfigured(node);
      const entity = !def.entity || def.entity === 'msg' ? String(msg.topic ?? '') : def.entity;
      if (!ENTITY_NAMES.includes(entity)) {
        throw badInput(
          'shared-db',
          `Upsert node "${node.name || node.id}" got entity "${entity}"; set one of ${ENTITY_NAMES.join(', ')} in the node or in msg.topic`,
        );
      }
      const records = Array.isArray(msg.payload) ? msg.payload : [msg.payload];
      const db = await config.getDb();
      const started = Date.now();
      const result = await upsert(db, entity, records, {
        ignoreUnknown: def.ignoreUnknown === true,
        correlationId: typeof msg.correlationId === 'string' ? msg.correlationId : undefined,
      });
      msg.db = { ...result, durationMs: Date.now() - started };
      send(msg);
    });
  }

  registerType('clinica-db-upsert', DbUpsert);
};
