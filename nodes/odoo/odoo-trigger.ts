/**
 * clinica-odoo-trigger: emits the records of a model created or changed since its cursor — by polling
 * (write_date, id) on an interval, and at once when an Odoo 17+ automation rule's webhook arrives (wire an
 * `http in` node to it and, in parallel, an `http response` node that answers at once: Odoo waits for
 * that answer inside the user's save). A record seen by both is emitted once; a webhook is emitted only
 * when the committed state can be read (see nodes/clients/odoo/changes.ts).
 *
 * The cursor lives in the shared database when the node names a database config (`odoo_trigger_cursors`, keyed
 * by the node id, which every replica running the same flow file shares: a process that takes over the polls
 * continues where the last one stopped), else in the node's context, in the 'file' store when settings.ts defines
 * one (it does: localfilesystem), else in the default store, so a restart neither replays nor misses changes.
 */
import { randomUUID } from 'node:crypto';
import type { Node, NodeAPI, NodeDef, NodeMessage } from 'node-red';
import { attachToConfig, configNodeOf } from '../lib/config-node';
import { intSetting } from '../lib/env';
import { errorInfoOf, handleInput, logEvent, registerType, setRED, type Msg, type Send } from '../lib/node-runtime';
import { count } from '../clients/common/metrics';
import { ChangeFeed, type ChangeSource, type CursorState, type CursorStore } from '../clients/odoo/changes';
import { loadCursor, saveCursor } from '../clients/shared-db/cursors';
import type { SharedDb } from '../clients/shared-db/pool';
import type { OdooRecord } from '../clients/odoo/client';
import { checkDomain, fieldList, jsonSetting, label, notConfigured, odooConfigOf } from './types';

interface OdooTriggerDef extends NodeDef {
  config: string;
  /** A clinica-db-config: the cursor lives in the shared database (replicas). */
  db?: string;
  model: string;
  domain: string;
  fields: string;
  /** Seconds between polls; 0 = only on input (webhooks and "poll now" messages). */
  interval: string | number;
  pageSize: string | number;
  start: 'now' | 'all';
  /** record: one message per record; batch: one message per page. */
  output: 'record' | 'batch';
  /** Seconds of write_date every poll re-reads (long transactions, clock skew). */
  overlap: string | number;
  /** Seconds a webhook may wait for the committed record. */
  webhookWait: string | number;
  /** include (default): archived records are changes too; skip: Odoo's default active_test. */
  archived?: 'include' | 'skip';
}

/** The context key of the cursor (documented in the help). */
const CURSOR_KEY = 'odooTriggerCursor';

/** 'file' when settings.ts defines that context store, else the default store. */
function cursorStore(RED: NodeAPI): string | undefined {
  try {
    const stores = (RED.settings as unknown as { contextStorage?: Record<string, unknown> }).contextStorage;
    return stores && typeof stores === 'object' && 'file' in stores ? 'file' : undefined;
  } catch {
    return undefined;
  }
}

export = function (RED: NodeAPI): void {
  setRED(RED);

  function OdooTrigger(this: Node, def: OdooTriggerDef): void {
    RED.nodes.createNode(this, def);
    const node = this;
    const config = odooConfigOf(RED, def.config);
    attachToConfig(node, config);
    const model = (def.model || '').trim();
    const intervalMs = intSetting(def.interval, 30, 0, 86400) * 1000;
    const output = def.output === 'batch' ? 'batch' : 'record';
    const contextStore = cursorStore(RED);
    const idle = { fill: 'green' as const, shape: 'dot' as const, text: 'status.listening' };
    let feed: ChangeFeed | undefined;
    let timer: NodeJS.Timeout | undefined;
    let closed = false;

    const contextGet = () =>
      new Promise<CursorState | undefined>((resolve, reject) => {
        const cb = (err: Error | null | undefined, value: unknown) => (err ? reject(err) : resolve(value as CursorState | undefined));
        if (contextStore) node.context().get(CURSOR_KEY, contextStore, cb);
        else node.context().get(CURSOR_KEY, cb);
      });
    const contextSet = (state: CursorState) =>
      new Promise<void>((resolve, reject) => {
        const cb = (err?: Error | null) => (err ? reject(err) : resolve());
        if (contextStore) node.context().set(CURSOR_KEY, state, contextStore, cb);
        else node.context().set(CURSOR_KEY, state, cb);
      });

    // A clinica-db-config (another family: reached by its getDb() only).
    const dbConfig = configNodeOf<{ getDb(): Promise<SharedDb> }>(RED, def.db, 'getDb');
    const cursorName = `odoo-trigger:${node.id}`;
    const store: CursorStore = dbConfig
      ? {
          shared: true,
          load: async () => {
            return loadCursor<CursorState>(await dbConfig.getDb(), cursorName);
          },
          save: async (state) => {
            await saveCursor(await dbConfig.getDb(), cursorName, state);
          },
        }
      : { load: contextGet, save: contextSet };

    function getFeed(): ChangeFeed {
      if (!config) throw notConfigured(node);
      feed ??= new ChangeFeed({
        client: config.getClient(),
        model,
        domain: checkDomain(node, jsonSetting(node, def.domain, 'domain', []), 'the domain setting'),
        fields: fieldList(node, def.fields, 'the fields setting'),
        pageSize: intSetting(def.pageSize, 200, 1, 10000),
        start: def.start === 'all' ? 'all' : 'now',
        overlapSeconds: intSetting(def.overlap, 10, 0, 3600),
        webhookWaitMs: intSetting(def.webhookWait, 5, 0, 60) * 1000,
        includeArchived: def.archived !== 'skip',
        store,
      });
      return feed;
    }

    /** Emits records as new messages (never the http-in message: its res belongs to the http response node). */
    function emitter(send: Send, correlationId?: string, action?: unknown) {
      return (records: OdooRecord[], source: ChangeSource) => {
        count('odoo', 'trigger_records', { model, source }, records.length);
        if (output === 'batch') {
          send({
            payload: records,
            topic: model,
            correlationId: correlationId ?? randomUUID(),
            odoo: { model, ids: records.map((r) => r.id), count: records.length, source, action, cursor: feed?.cursor },
          } as NodeMessage);
          return;
        }
        for (const r of records) {
          const event = r.create_date !== undefined && r.create_date === r.write_date ? 'created' : 'updated';
          send({
            payload: r,
            topic: model,
            correlationId: correlationId ?? randomUUID(),
            odoo: { model, id: r.id, writeDate: r.write_date, event, source, action },
          } as NodeMessage);
        }
      };
    }

    async function poll(send: Send): Promise<number> {
      const n = await getFeed().poll(emitter(send));
      config?.report();
      return n;
    }

    function schedule(delay: number): void {
      if (closed || intervalMs <= 0) return;
      timer = setTimeout(() => {
        timer = undefined;
        node.status({ fill: 'blue', shape: 'dot', text: 'status.polling' });
        poll((m) => node.send(m as Msg))
          .then(
            (n) => {
              node.status(idle);
              if (n) logEvent(node, 'debug', 'odoo.trigger.polled', { model, records: n, cursor: feed?.cursor });
            },
            (err: unknown) => {
              config?.report(err);
              const info = errorInfoOf(err, node, 'odoo');
              count('odoo', 'failures', { node: node.type });
              node.status({ fill: 'red', shape: 'ring', text: info.code.slice(0, 32) });
              // A message for Catch nodes: a poll has no input message of its own.
              node.error(info.message, { topic: model, correlationId: randomUUID(), errorInfo: info, payload: null } as unknown as Msg);
            },
          )
          .finally(() => schedule(intervalMs));
      }, delay);
    }

    if (!model) {
      node.status({ fill: 'red', shape: 'ring', text: 'status.not-configured' });
      node.error(`${label(node)}: no model to watch; set Model (e.g. res.partner)`);
    } else if (!config) {
      node.status({ fill: 'red', shape: 'ring', text: 'status.not-configured' });
    } else {
      schedule(50);
    }

    handleInput(node, { system: 'odoo', idleStatus: idle }, async (msg: Msg, send: Send) => {
      if (!config) throw notConfigured(node);
      const body = msg.payload as Record<string, unknown> | undefined;
      if (body && typeof body === 'object' && !Array.isArray(body) && ('_id' in body || '_model' in body)) {
        const outcome = await getFeed().webhook(body, emitter(send, msg.correlationId, body._action));
        count('odoo', 'trigger_webhooks', { model, outcome: outcome.outcome });
        logEvent(node, outcome.outcome === 'not-committed' ? 'warn' : 'debug', `odoo.trigger.webhook.${outcome.outcome}`, {
          correlationId: msg.correlationId,
          model,
          id: 'record' in outcome ? outcome.record.id : outcome.id,
          action: body._action,
        });
        return;
      }
      // Any other message: poll now.
      await poll(send);
    });

    node.on('close', (_removed: boolean, done: () => void) => {
      closed = true;
      if (timer) clearTimeout(timer);
      const pending = feed?.flush() ?? Promise.resolve();
      const guard = new Promise<void>((r) => setTimeout(r, 5000).unref());
      void Promise.race([pending, guard]).then(() => done());
    });
  }

  registerType('clinica-odoo-trigger', OdooTrigger);
};
