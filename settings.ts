/**
 * Node-RED settings for the clinic's integration layer, compiled to dist/settings.js and passed with -s.
 * Everything that differs between deployments comes from the environment (see .env.example).
 */
import * as path from 'node:path';
import { formatLogRecord, type LogRecord } from './nodes/lib/json-log';

const root = path.resolve(__dirname, '..');
const env = process.env;

function credentialSecret(): string | false {
  const secret = env.NODE_RED_CREDENTIAL_SECRET;
  if (secret) return secret;
  if (env.NODE_ENV === 'production') {
    throw new Error('NODE_RED_CREDENTIAL_SECRET is not set: credentials in the flows could not be decrypted. Set it in the environment (see .env.example).');
  }
  // Development: Node-RED generates a key and keeps it in the user directory (.config.runtime.json).
  return false as const;
}

/** Keycloak SSO for the editor, when configured (see nodes/keycloak); null keeps the editor open locally. */
function adminAuth(): unknown {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const sso = require('./nodes/keycloak/editor-sso') as { editorAdminAuth?: (e: NodeJS.ProcessEnv) => unknown };
    return sso.editorAdminAuth ? sso.editorAdminAuth(env) ?? undefined : undefined;
  } catch (err) {
    if ((err as { code?: string }).code === 'MODULE_NOT_FOUND') return undefined;
    throw err;
  }
}

const userDir = env.NODE_RED_USER_DIR || path.join(root, '.node-red');

const settings = {
  uiPort: Number(env.PORT || 1880),
  uiHost: env.HOST || undefined,
  userDir,
  flowFile: env.NODE_RED_FLOW_FILE || path.join(userDir, 'flows.json'),
  flowFilePretty: true,
  credentialSecret: credentialSecret(),
  // Loads this package itself (package.json "node-red" section) and its examples/ for Import -> Examples.
  nodesDir: [root],
  adminAuth: adminAuth(),
  httpAdminRoot: '/',
  httpNodeRoot: '/',
  diagnostics: { enabled: true, ui: true },
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
    page: { title: 'Clínica Universitaria · integración' },
    header: { title: 'Clínica Universitaria · integración' },
    projects: { enabled: false },
    tours: false,
  },
  lang: env.NODE_RED_LANG || undefined,
};

export = settings;
