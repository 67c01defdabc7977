/**
 * clinica-nextcloud-config: one Nextcloud server and user. Owns one client (and so one session and one pool of
 * kept-alive connections) shared by every Nextcloud node that uses it; checks the URL and credentials when the
 * first node registers and shows the connection state on every user node.
 */
import type { NodeAPI } from 'node-red';
import { ConnectionUsers } from '../lib/config-node';
import { expandEnv, intSetting, settingOrEnv } from '../lib/env';
import { errorMessage } from '../lib/errors';
import { count } from '../lib/metrics';
import { logEvent, registerType, setRED } from '../lib/node-runtime';
import { NextcloudClient, serverRoot } from '../clients/nextcloud/client';
import type { NextcloudConfigDef, NextcloudConfigNode } from './types';

const MiB = 1024 * 1024;
/** Codes that say the server or the login is the problem, not one message. */
const CONNECTION_CODES = new Set(['NEXTCLOUD_UNREACHABLE', 'NEXTCLOUD_TIMEOUT', 'NEXTCLOUD_AUTH', 'NEXTCLOUD_NOT_CONFIGURED', 'NEXTCLOUD_SERVER_ERROR']);
/** Connection troubles that need a fix (login, configuration), shown as failed rather than disconnected. */
const FAILED_CODES = new Set(['NEXTCLOUD_AUTH', 'NEXTCLOUD_NOT_CONFIGURED']);

export = function (RED: NodeAPI): void {
  setRED(RED);

  function NextcloudConfig(this: NextcloudConfigNode, def: NextcloudConfigDef): void {
    RED.nodes.createNode(this, def);
    const node = this;
    const url = settingOrEnv(def.url, 'NEXTCLOUD_URL', 'http://localhost:8082');
    const username = settingOrEnv(def.username, 'NEXTCLOUD_USERNAME');
    const appPassword = expandEnv(node.credentials?.appPassword) || (process.env.NEXTCLOUD_APP_PASSWORD ?? '');
    let shownUrl = url;
    try {
      shownUrl = serverRoot(url).toString().replace(/\/$/, '');
    } catch {
      // reported when the client is made
    }
    (node as { url: string }).url = shownUrl;
    (node as { username: string }).username = username;
    let client: NextcloudClient | undefined;

    const users = new ConnectionUsers(
      () => void check(),
      () => undefined,
    );

    async function check(): Promise<void> {
      users.setState('connecting');
      try {
        await node.getClient().check();
        users.setState('connected');
        logEvent(node, 'info', 'nextcloud.connected', { url: shownUrl, user: username });
      } catch (err) {
        node.report(err);
      }
    }

    node.getClient = () => {
      client ??= new NextcloudClient({
        url,
        username,
        appPassword,
        timeoutMs: intSetting(def.timeout, 30, 1, 3600) * 1000,
        chunkSize: intSetting(def.chunkSizeMb, 10, 5, 1024) * MiB,
        chunkThreshold: intSetting(def.thresholdMb, 64, 1, 1024) * MiB,
        rejectUnauthorized: !def.insecure,
        onRetry: (info) => {
          count('nextcloud', 'retries', { node: 'clinica-nextcloud-config' });
          logEvent(node, 'debug', 'nextcloud.retry', info);
        },
      });
      return client;
    };

    node.report = (err?: unknown) => {
      const code = users.reportOutcome(err, CONNECTION_CODES, FAILED_CODES);
      if (code) logEvent(node, 'warn', 'nextcloud.unavailable', { url: shownUrl, user: username, code, error: errorMessage(err) });
    };
    node.register = (user) => users.register(user);
    node.deregister = (user) => users.deregister(user);

    node.on('close', (_removed: boolean, done: () => void) => {
      client?.close();
      client = undefined;
      done();
    });
  }

  registerType('clinica-nextcloud-config', NextcloudConfig, { credentials: { appPassword: { type: 'password' } } });
};
