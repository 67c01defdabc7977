/**
 * clinica-db-query: one parameterised SQL statement against the shared database. The SQL is the node's
 * setting; values come only as parameters ($1, $2 … from msg.params or the configured property), so no
 * input ever becomes SQL text. With *Wait for the database* (seconds) a statement that finds the database
 * unreachable (a restart, a network fault) is sent again with back-off until it answers or the time is up: for
 * statements that are safe to run twice, such as the flows' bookkeeping of a failure.
 */
import type { Node, NodeAPI, NodeDef } from 'node-red';
import { IntegrationError, badInput } from '../clients/common/errors';
import type { QueryResult, SharedDb } from '../clients/shared-db/pool';
import { attachToConfig } from '../lib/config-node';
import { intSetting } from '../lib/env';
import { evaluateTyped, handleInput, logEvent, registerType, setRED, type Msg } from '../lib/node-runtime';
import { dbConfigOf, notConfigured } from './types';

interface DbQueryDef extends NodeDef {
  config: string;
  sql: string;
  params: string;
  paramsType: string;
  output: 'rows' | 'first' | 'count';
  /** Seconds to keep trying while the database is unreachable (0 or absent: fail at once). */
  wait?: string | number;
}

const unreachable = (err: unknown) => err instanceof IntegrationError && err.retryable && err.code === 'SHARED_DB_UNREACHABLE';

export = function (RED: NodeAPI): void {
  setRED(RED);

  function DbQuery(this: Node, def: DbQueryDef): void {
    RED.nodes.createNode(this, def);
    const node = this;
    const config = dbConfigOf(RED, def.config);
    attachToConfig(node, config);
    const sql = (def.sql ?? '').trim();
    const output = def.output ?? 'rows';
    const waitMs = intSetting(def.wait, 0, 0, 3600) * 1000;
    let closed = false;
    node.on('close', () => {
      closed = true;
    });

    /** The statement; while the database is unreachable, again after 0.5, 1, 2, 4, 5, 5 … s until waitMs is over. */
    async function run(cfg: NonNullable<typeof config>, params: unknown[], correlationId: unknown): Promise<QueryResult<Record<string, unknown>>> {
      const deadline = Date.now() + waitMs;
      for (let attempt = 1; ; attempt++) {
        try {
          const db: SharedDb = await cfg.getDb();
          return await db.query(sql, params, `query of node "${node.name || node.id}"`);
        } catch (err) {
          const pause = Math.min(5000, 250 * 2 ** attempt);
          if (closed || !unreachable(err) || Date.now() + pause > deadline) throw err;
          if (attempt === 1) logEvent(node, 'warn', 'shared-db.query.waiting', { correlationId, waitS: waitMs / 1000, error: (err as Error).message });
          await new Promise((resolve) => setTimeout(resolve, pause));
        }
      }
    }

    handleInput(node, { system: 'shared-db' }, async (msg: Msg, send) => {
      if (!config) throw notConfigured(node);
      if (!sql) throw badInput('shared-db', `Query node "${node.name || node.id}" has no SQL; write the statement in its settings`);
      const params = await evaluateTyped(node, def.params || 'params', def.paramsType || 'msg', msg);
      if (params !== undefined && params !== null && !Array.isArray(params)) {
        throw badInput('shared-db', `Query node "${node.name || node.id}" needs its parameters as an array ($1 is the first), got ${typeof params}`);
      }
      const started = Date.now();
      const res = await run(config, (params as unknown[] | undefined) ?? [], msg.correlationId);
      msg.payload = output === 'first' ? (res.rows[0] ?? null) : output === 'count' ? res.rowCount : res.rows;
      msg.db = { command: res.command, rowCount: res.rowCount, durationMs: Date.now() - started };
      send(msg);
    });
  }

  registerType('clinica-db-query', DbQuery);
};
