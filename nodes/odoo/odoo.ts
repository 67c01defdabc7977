/**
 * clinica-odoo: one Odoo operation on any model — search_read (paged on the server: every record in one
 * message, or one message per page), read, search_count, create, write, unlink, message_post on a
 * record's chatter, any public method with args/kwargs, a pharmacy stock movement applied once, or an activity
 * scheduled once on a record (keyed by the summary Odoo stores). Settings
 * first; the message overrides only what the help lists (msg.topic for the model, msg.domain/fields/order/
 * limit/offset, msg.ids, msg.payload for values and ids, msg.method/args/kwargs, msg.context).
 * Each operation is one function in operations/<operation>.ts, picked from the table in operations/index.ts.
 */
import type { Node, NodeAPI } from 'node-red';
import { attachToConfig } from '../lib/config-node';
import { handleInput, registerType, setRED, type Msg, type Send } from '../lib/node-runtime';
import { notConfigured, odooConfigOf } from './types';
import type { OdooDef, OdooSettings } from './operations/context';
import { FIXED_MODELS, OPERATIONS, operationOf } from './operations';
import { contextOf, modelOf, parseSettings, queryOf } from './operations/input';

export = function (RED: NodeAPI): void {
  setRED(RED);

  function Odoo(this: Node, def: OdooDef): void {
    RED.nodes.createNode(this, def);
    const node = this;
    const config = odooConfigOf(RED, def.config);
    attachToConfig(node, config);
    const operation = operationOf(def.operation);
    const run = OPERATIONS[operation];
    /** Parsed at the first message, once, so a bad setting fails every message the same way. */
    let settings: OdooSettings | undefined;

    handleInput(node, { system: 'odoo' }, async (msg: Msg, send: Send) => {
      if (!config) throw notConfigured(node);
      settings ??= parseSettings(node, def);
      const model = FIXED_MODELS[operation] ?? modelOf(node, def, msg);
      const context = contextOf(settings, msg);
      const client = config.getClient();
      const started = Date.now();
      try {
        const result = await run({ node, operation, model, msg, send, client, settings, query: queryOf(node, settings, msg), context });
        config.report();
        if ('sent' in result) return;
        msg.payload = result.payload;
        msg.topic = model;
        msg.odoo = { model, operation, ...result.details, protocol: await client.protocolName(), durationMs: Date.now() - started };
        send(msg);
      } catch (err) {
        config.report(err);
        throw err;
      }
    });
  }

  registerType('clinica-odoo', Odoo);
};
