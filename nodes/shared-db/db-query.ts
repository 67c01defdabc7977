/**
 * clinica-db-query: one parameterised SQL statement against the shared database. The SQL is the node's
 * setting; values come only as parameters ($1, $2 … from msg.params or the configured property), so no
 * input ever becomes SQL text.
 */
import type { Node, NodeAPI, NodeDef } from 'node-red';
import { badInput } from '../clients/common/errors';
import { attachToConfig } from '../lib/config-node';
import { evaluateTyped, handleInput, registerType, setRED, type Msg } from '../lib/node-runtime';
import { dbConfigOf, notConfigured } from './types';

interface DbQueryDef extends NodeDef {
  config: string;
  sql: string;
  params: string;
  paramsType: string;
  output: 'rows' | 'first' | 'count';
}

export = function (RED: NodeAPI): void {
  setRED(RED);

  function DbQuery(this: Node, def: DbQueryDef): void {
    RED.nodes.createNode(this, def);
    const node = this;
    const config = dbConfigOf(RED, def.config);
    attachToConfig(node, config);
    const sql = (def.sql ?? '').trim();
    const output = def.output ?? 'rows';

    handleInput(node, { system: 'shared-db' }, async (msg: Msg, send) => {
      if (!config) throw notConfigured(node);
      if (!sql) throw badInput('shared-db', `Query node "${node.name || node.id}" has no SQL; write the statement in its settings`);
      const params = await evaluateTyped(node, def.params || 'params', def.paramsType || 'msg', msg);
      if (params !== undefined && params !== null && !Array.isArray(params)) {
        throw badInput('shared-db', `Query node "${node.name || node.id}" needs its parameters as an array ($1 is the first), got ${typeof params}`);
      }
      const db = await config.getDb();
      const started = Date.now();
      const res = await db.query(sql, (params as unknown[] | undefined) ?? [], `query of node "${node.name || node.id}"`);
      msg.payload = output === 'first' ? (res.rows[0] ?? null) : output === 'count' ? res.rowCount : res.rows;
      msg.db = { command: res.command, rowCount: res.rowCount, durationMs: Date.now() - started };
      send(msg);
    });
  }

  registerType('clinica-db-query', DbQuery);
};
