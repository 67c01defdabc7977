/**
 * clinica-db-config: the shared PostgreSQL database (`clinica_shared`). Owns one pool shared by every node
 * that uses it; on first use creates the database when missing and applies the migrations; while the
 * database is down it shows a red status to its users and keeps checking, so Node-RED starts regardless.
 */
import { defineConfigNode } from '../lib/config-node';
import { errorMessage } from '../clients/common/errors';
import { intSetting } from '../lib/env';
import { logEvent } from '../lib/node-runtime';
import { safeUrl } from '../lib/redact';
import { SharedDb, ensureDatabase } from '../clients/shared-db/pool';
import { connectionUrl, type DbConfigDef, type DbConfigNode } from './types';
import { migrate } from '../clients/shared-db/migrations';
import { PgListener } from '../clients/shared-db/listener';

const HEALTH_INTERVAL_MS = 15000;

export = defineConfigNode<DbConfigNode, DbConfigDef, SharedDb>({
  type: 'clinica-db-config',
  credentials: { password: 'password' },
  setup(node, def, { users, client }) {
    const url = connectionUrl(def.url, node.credentials?.password);
    const shownUrl = safeUrl(url);
    let ready: Promise<SharedDb> | undefined;
    let health: NodeJS.Timeout | undefined;

    async function open(): Promise<SharedDb> {
      users.setState('connecting');
      if (def.migrate !== false) await ensureDatabase(url);
      const db = client();
      if (def.migrate !== false) {
        const report = await migrate(db);
        if (report.applied.length) logEvent(node, 'info', 'shared-db.migrated', { applied: report.applied, current: report.current });
      } else {
        await db.ping();
      }
      users.setState('connected');
      logEvent(node, 'info', 'shared-db.connected', { url: shownUrl });
      return db;
    }

    async function check(): Promise<void> {
      try {
        const d = await node.getDb();
        await d.ping();
        if (users.current !== 'connected') users.setState('connected');
      } catch (err) {
        if (users.current !== 'disconnected') {
          logEvent(node, 'warn', 'shared-db.unreachable', { url: shownUrl, error: errorMessage(err) });
        }
        users.setState('disconnected', (err as { code?: string }).code);
      }
    }

    node.getDb = () => {
      if (!ready) {
        ready = open().catch((err: unknown) => {
          ready = undefined; // the next call (or the health check) tries again
          users.setState('disconnected', (err as { code?: string }).code);
          throw err;
        });
      }
      return ready;
    };
    node.createListener = (channels) => new PgListener({ url, channels, applicationName: `node-red-listen:${node.id}` });

    const stopHealth = () => {
      if (health) clearInterval(health);
      health = undefined;
    };
    return {
      describe: { url: shownUrl },
      makeClient: () =>
        new SharedDb({
          url,
          max: intSetting(def.poolSize, 10, 1, 100),
          statementTimeoutMs: intSetting(def.statementTimeout, 30000, 0, 3600000),
          applicationName: `node-red:${node.id}`,
        }),
      closeClient: (pool) => pool.close(),
      onFirstUser: () => {
        void node.getDb().catch(() => undefined);
        health = setInterval(() => void check(), HEALTH_INTERVAL_MS);
        health.unref();
      },
      onLastUser: stopHealth,
      onClose: () => {
        stopHealth();
        ready = undefined;
      },
    };
  },
});
