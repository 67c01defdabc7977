/**
 * clinica-odoo-config: one Odoo database and user. Owns one client (one login, one pool of kept-alive
 * connections, one concurrency limit) shared by every Odoo node that uses it; logs in when the first
 * node registers and shows the connection state on every user node. Settings accept a value or ${ENV}
 * and fall back to ODOO_URL, ODOO_DB, ODOO_USERNAME, ODOO_API_KEY and ODOO_PASSWORD.
 */
import { defineConfigNode } from '../lib/config-node';
import { expandEnv, intSetting, settingOrEnv } from '../lib/env';
import { errorMessage } from '../clients/common/errors';
import { logEvent } from '../lib/node-runtime';
import { safeUrl } from '../lib/redact';
import { OdooClient } from '../clients/odoo/client';
import type { ProtocolName } from '../clients/odoo/protocols';
import type { OdooConfigDef, OdooConfigNode } from './types';

/** Codes that say Odoo or the login is the problem, not one message. */
const CONNECTION_CODES = new Set([
  'ODOO_UNREACHABLE',
  'ODOO_TIMEOUT',
  'ODOO_UNAVAILABLE',
  'ODOO_ACCESS_DENIED',
  'ODOO_NOT_CONFIGURED',
  'ODOO_NOT_FOUND',
  'ODOO_BAD_RESPONSE',
]);
/** Connection troubles that need a fix (login, configuration), shown as failed rather than disconnected. */
const FAILED_CODES = new Set(['ODOO_ACCESS_DENIED', 'ODOO_NOT_CONFIGURED', 'ODOO_NOT_FOUND']);
const PROTOCOLS = new Set(['auto', 'jsonrpc', 'xmlrpc', 'json2']);

export = defineConfigNode<OdooConfigNode, OdooConfigDef, OdooClient>({
  type: 'clinica-odoo-config',
  credentials: { apiKey: 'password', password: 'password' },
  setup(node, def, { users, client, check, reporter }) {
    const url = settingOrEnv(def.url, 'ODOO_URL', 'http://localhost:8069');
    const db = settingOrEnv(def.db, 'ODOO_DB');
    const username = settingOrEnv(def.username, 'ODOO_USERNAME');
    const apiKey = expandEnv(node.credentials?.apiKey) || (process.env.ODOO_API_KEY ?? '');
    const password = expandEnv(node.credentials?.password) || (process.env.ODOO_PASSWORD ?? '');
    const protocol = (PROTOCOLS.has(def.protocol) ? def.protocol : 'auto') as 'auto' | ProtocolName;
    const lang = expandEnv(def.lang).trim();
    const shownUrl = safeUrl(url);

    node.getClient = client;
    node.report = reporter(CONNECTION_CODES, FAILED_CODES, (code, err) => {
      logEvent(node, 'warn', 'odoo.unavailable', { url: shownUrl, db, user: username, code, error: errorMessage(err) });
    });

    return {
      describe: { url: shownUrl, db, username },
      makeClient: () =>
        new OdooClient({
          url,
          db,
          username,
          apiKey: apiKey || undefined,
          password: password || undefined,
          protocol,
          timeoutMs: intSetting(def.timeout, 30, 1, 3600) * 1000,
          concurrency: intSetting(def.concurrency, 4, 1, 64),
          retries: intSetting(def.retries, 2, 0, 10),
          context: lang ? { lang } : undefined,
          onRetry: (info) => {
            logEvent(node, 'debug', 'odoo.retry', {
              operation: info.operation,
              attempt: info.attempt,
              delayMs: Math.round(info.delayMs),
              code: info.error.code,
            });
            if (users.current === 'connected') users.setState('reconnecting');
          },
        }),
      closeClient: (c) => c.close(),
      onFirstUser: () =>
        void check(
          async () => {
            const c = client();
            await c.login();
            return c;
          },
          async (c) =>
            logEvent(node, 'info', 'odoo.connected', {
              url: shownUrl,
              db,
              user: username,
              protocol: await c.protocolName(),
              version: (await c.version()).server_version,
            }),
          node.report,
        ),
    };
  },
});
