/**
 * Node-RED settings for the clinic's integration layer, compiled to dist/settings.js and passed with -s.
 * Everything that differs between deployments comes from the environment (see .env.example).
 */
import * as path from 'node:path';
import { flowsDirStorage } from './host/flow-files';
import { formatLogRecord, type LogRecord } from './host/json-log';

const root = path.resolve(__dirname, '..');
const env = process.env;

/**
 * Credentials are always encrypted. NODE_RED_CREDENTIAL_SECRET when set (required in production); otherwise
 * (development) Node-RED generates a key once and keeps it in the user directory (.config.runtime.json).
 */
function credentialSecret(): string | undefined {
  const secret = env.NODE_RED_CREDENTIAL_SECRET;
  if (secret) return secret;
  if (env.NODE_ENV === 'production') {
    throw new Error('NODE_RED_CREDENTIAL_SECRET is not set: credentials in the flows could not be decrypted. Set it in the environment (see .env.example).');
  }
  return undefined;
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);

/**
 * The editor and its admin API run flows, so an open editor is code execution for anyone who reaches it: it listens
 * on 127.0.0.1 unless HOST says otherwise, and on another address only behind the Keycloak login of the editor
 * (docs/keycloak.md).
 */
function listenHost(adminAuth: unknown): string {
  const host = (env.HOST ?? '').trim() || '127.0.0.1';
  if (!LOOPBACK.has(host) && !adminAuth) {
    throw new Error(
      `HOST=${host} would open the Node-RED editor to the network without a login: configure Keycloak SSO for the editor (KEYCLOAK_URL, KEYCLOAK_CLIENT_ID, KEYCLOAK_CLIENT_SECRET) or leave HOST empty (127.0.0.1)`,
    );
  }
  return host;
}

interface KeycloakSso {
  editorAdminAuth?: (e: NodeJS.ProcessEnv) => unknown;
  editorLogoutRedirect?: (e: NodeJS.ProcessEnv) => string | undefined;
  httpNodeAuth?: (e: NodeJS.ProcessEnv) => unknown;
}

/** Keycloak SSO (host/editor-sso): each part is off while Keycloak is not configured. */
function keycloakSso(): KeycloakSso {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require('./host/editor-sso') as KeycloakSso;
  } catch (err) {
    if ((err as { code?: string }).code === 'MODULE_NOT_FOUND') return {};
    throw err;
  }
}

const sso = keycloakSso();

const userDir = env.NODE_RED_USER_DIR || path.join(root, '.node-red');

const adminAuth = sso.editorAdminAuth?.(env) ?? undefined;
const demo = (env.CLINICA_DEMO ?? '').trim();
const title = demo
  ? 'Clínica Universitaria · integración — DEMO systems (set ODOO_URL, NEXTCLOUD_URL, KEYCLOAK_URL in .env for your own)'
  : 'Clínica Universitaria · integración';

const settings = {
  uiPort: Number(env.PORT || 1880),
  uiHost: listenHost(adminAuth),
  userDir,
  // With NODE_RED_FLOWS_DIR (npm start sets it to flows/), the flows are the files of that folder, one tab each,
  // and a deploy from the editor writes each tab back to its file. Without it, Node-RED's single flow file.
  storageModule: env.NODE_RED_FLOWS_DIR ? flowsDirStorage(env.NODE_RED_FLOWS_DIR) : undefined,
  flowFile: env.NODE_RED_FLOW_FILE || path.join(userDir, 'flows.json'),
  flowFilePretty: true,
  credentialSecret: credentialSecret(),
  // Loads this package itself (package.json "node-red" section) and its examples/ for Import -> Examples.
  nodesDir: [root],
  // The editor logs in through Keycloak (roles decide who edits); the editor stays open when Keycloak is not set.
  adminAuth,
  // Optional bearer check in front of flow routes (KEYCLOAK_PROTECT_PATHS, e.g. /api/).
  httpNodeMiddleware: sso.httpNodeAuth?.(env) ?? undefined,
  httpAdminRoot: '/',
  httpNodeRoot: '/',
  diagnostics: { enabled: true, ui: true },
  // A clinic's integration server does not report to the outside (and the editor does not ask each user).
  telemetry: { enabled: false, updateNotification: false },
  runtimeState: { enabled: false, ui: false },
  logging: {
    console: { level: 'off' as const },
    json: {
      level: env.LOG_LEVEL || 'info',
      metrics: false,
      audit: false,
      handler: () => (record: LogRecord) => {
        process.stdout.write(formatLogRecord(record) + '\n');
      },
    },
  },
  contextStorage: {
    default: 'file',
    file: { module: 'localfilesystem', config: { flushInterval: 5 } },
    memory: { module: 'memory' },
  },
  exportGlobalContextKeys: false,
  externalModules: { autoInstall: false, palette: { allowInstall: false }, modules: { allowInstall: false } },
  functionExternalModules: false,
  editorTheme: {
    page: { title },
    header: { title },
    projects: { enabled: false },
    tours: false,
    logout: { redirect: sso.editorLogoutRedirect?.(env) },
  },
  lang: env.NODE_RED_LANG || undefined,
};

export = settings;
