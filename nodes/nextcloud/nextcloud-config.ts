/**
 * clinica-nextcloud-config: one Nextcloud server and user. Owns one client (and so one session and one pool of
 * kept-alive connections) shared by every Nextcloud node that uses it; checks the URL and credentials when the
 * first node registers and shows the connection state on every user node. When Nextcloud refuses the login (a
 * wrong app password) or blocks this host (brute-force protection), the client stops sending: every node shows a
 * red ring and every message fails at once with the same clear error, until the settings change (a deploy) or an
 * operator presses "try the login again" in the config node (POST /clinica-nextcloud-config/<id>/retry-login).
 */
import type { NodeAPI } from 'node-red';
import { defineConfigNode } from '../lib/config-node';
import { expandEnv, intSetting, settingOrEnv } from '../lib/env';
import { errorMessage } from '../clients/common/errors';
import { count } from '../clients/common/metrics';
import { logEvent } from '../lib/node-runtime';
import { DEFAULT_CHUNK_SIZE, DEFAULT_CHUNK_THRESHOLD, NextcloudClient, serverRoot } from '../clients/nextcloud/client';
import type { NextcloudConfigDef, NextcloudConfigNode } from './types';

const MiB = 1024 * 1024;
/** Codes that say the server or the login is the problem, not one message. */
const CONNECTION_CODES = new Set([
  'NEXTCLOUD_UNREACHABLE',
  'NEXTCLOUD_TIMEOUT',
  'NEXTCLOUD_AUTH',
  'NEXTCLOUD_LOCKED_OUT',
  'NEXTCLOUD_NOT_CONFIGURED',
  'NEXTCLOUD_SERVER_ERROR',
]);
/** Connection troubles that need a fix (login, configuration, a blocked host), shown as failed rather than disconnected. */
const FAILED_CODES = new Set(['NEXTCLOUD_AUTH', 'NEXTCLOUD_LOCKED_OUT', 'NEXTCLOUD_NOT_CONFIGURED']);
/** How long a closing config node still tries the clean-ups that failed before (chunks left on the server). */
const CLOSE_CLEANUP_MS = 5000;

const registerConfig = defineConfigNode<NextcloudConfigNode, NextcloudConfigDef, NextcloudClient>({
  type: 'clinica-nextcloud-config',
  credentials: { appPassword: 'password' },
  setup(node, def, ctx) {
    const url = settingOrEnv(def.url, 'NEXTCLOUD_URL', 'http://localhost:8082');
    const username = settingOrEnv(def.username, 'NEXTCLOUD_USERNAME');
    const appPassword = expandEnv(node.credentials?.appPassword) || (process.env.NEXTCLOUD_APP_PASSWORD ?? '');
    let shownUrl = url;
    try {
      shownUrl = serverRoot(url).toString().replace(/\/$/, '');
    } catch {
      // reported when the client is made
    }

    const check = () =>
      ctx.check(
        () => ctx.client().check(),
        () => logEvent(node, 'info', 'nextcloud.connected', { url: shownUrl, user: username }),
        node.report,
      );

    node.getClient = ctx.client;
    node.report = ctx.reporter(CONNECTION_CODES, FAILED_CODES, (code, err) => {
      // a refused login is said once, loudly, with its fix; the nodes then fail at once without asking Nextcloud
      const refused = code === 'NEXTCLOUD_AUTH' || code === 'NEXTCLOUD_LOCKED_OUT';
      logEvent(node, refused ? 'error' : 'warn', refused ? 'nextcloud.login-refused' : 'nextcloud.unavailable', {
        url: shownUrl,
        user: username,
        code,
        error: errorMessage(err),
      });
    });
    node.retryLogin = async () => {
      ctx.current?.retryLogin();
      await check();
      return { state: ctx.users.current, error: ctx.current?.loginRefused?.message };
    };

    return {
      describe: { url: shownUrl, username },
      makeClient: () =>
        new NextcloudClient({
          url,
          username,
          appPassword,
          timeoutMs: intSetting(def.timeout, 30, 1, 3600) * 1000,
          chunkSize: intSetting(def.chunkSizeMb, DEFAULT_CHUNK_SIZE / MiB, 5, 1024) * MiB,
          chunkThreshold: intSetting(def.thresholdMb, DEFAULT_CHUNK_THRESHOLD / MiB, 1, 16384) * MiB,
          shareLimit: intSetting(def.shareLimit, 20, 0, 100000),
          rejectUnauthorized: !def.insecure,
          onRetry: (info) => {
            count('nextcloud', 'retries', { node: 'clinica-nextcloud-config' });
            logEvent(node, 'debug', 'nextcloud.retry', info);
          },
          onCleanupFailed: (info) => {
            count('nextcloud', 'cleanups_failed', {});
            logEvent(node, 'warn', 'nextcloud.cleanup-failed', {
              ...info,
              url: shownUrl,
              fix: "delete it in Nextcloud (an aborted upload under the user's uploads, or a hidden .clinica-upload-… file)",
            });
          },
        }),
      closeClient: (closing) => {
        const timer = setTimeout(() => closing.close(), CLOSE_CLEANUP_MS);
        return closing.closeGracefully().finally(() => clearTimeout(timer));
      },
      onFirstUser: () => void check(),
    };
  },
});

export = function (RED: NodeAPI): void {
  registerConfig(RED);

  // "Try the login again" in the config node's dialog: after the app password was fixed on the Nextcloud side or
  // an admin lifted the block of this host. (A changed password in the config node takes effect with the deploy.)
  RED.httpAdmin.post('/clinica-nextcloud-config/:id/retry-login', RED.auth.needsPermission('clinica-nextcloud-config.write'), (req, res) => {
    const config = RED.nodes.getNode(String(req.params.id)) as NextcloudConfigNode | null;
    if (!config || typeof config.retryLogin !== 'function') {
      res.status(404).json({ error: 'no deployed Nextcloud config node with this id; deploy first' });
      return;
    }
    config.retryLogin().then(
      (outcome) => res.json(outcome),
      (err: unknown) => res.status(500).json({ error: errorMessage(err) }),
    );
  });
};
