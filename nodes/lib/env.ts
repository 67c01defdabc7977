/**
 * `${ENV}` expansion for config-node settings and credentials (docs/conventions.md "Configuration").
 * Node-RED expands a property that is exactly `${NAME}`; config values such as `${ODOO_URL}/xmlrpc` or
 * credentials are expanded here too, so every setting accepts the same syntax.
 */
const ENV_REF = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

export function expandEnv(value: string | undefined | null, env: NodeJS.ProcessEnv = process.env): string {
  if (value === undefined || value === null) return '';
  return String(value).replace(ENV_REF, (_match, name: string, fallback: string | undefined) => {
    const found = env[name];
    return found !== undefined && found !== '' ? found : (fallback ?? '');
  });
}

/** The first non-empty of: the setting (expanded), then the named environment variable, then the default. */
export function settingOrEnv(value: string | undefined, envName: string, fallback = '', env = process.env): string {
  const expanded = expandEnv(value, env).trim();
  if (expanded) return expanded;
  const fromEnv = (env[envName] ?? '').trim();
  return fromEnv || fallback;
}

/** Whole number from a setting, with bounds; NaN or empty gives the default. */
export function intSetting(value: unknown, fallback: number, min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER): number {
  const n = typeof value === 'number' ? value : parseInt(expandEnv(value === undefined ? '' : String(value)), 10);
  if (!Number.isFinite(n)) return fallback;
  return Math.min(max, Math.max(min, Math.trunc(n)));
}
