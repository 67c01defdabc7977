/**
 * What the gateway enforces, from the environment (docs/api.md, .env.example): CORS allow-list, body limit, rate
 * limits per route class, the rate-limit store, the audit switch and who may read /metrics.
 */
import type { RouteClass } from './openapi';

export interface RateLimit {
  points: number;
  /** Window in seconds. */
  duration: number;
}

export interface GatewayPolicy {
  enabled: boolean;
  corsOrigins: string[];
  bodyLimitBytes: number;
  rateLimits: Record<Exclude<RouteClass, 'health'>, RateLimit>;
  rateLimitStore: 'postgres' | 'memory';
  audit: boolean;
  metricsToken?: string;
  /** Addresses that may read /metrics without the token (default: this host only). */
  metricsAllow: string[];
  sharedDbUrl?: string;
  keycloak?: { issuer: string; jwksUrl: string };
}

const DEFAULT_LIMITS: GatewayPolicy['rateLimits'] = {
  read: { points: 600, duration: 60 },
  write: { points: 120, duration: 60 },
  admin: { points: 60, duration: 60 },
};

/** "64kb", "1mb", "65536" → bytes. */
export function bytesOf(text: string | undefined, fallback: number): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(b|kb|kib|mb|mib)?\s*$/i.exec(text ?? '');
  if (!m) return fallback;
  const unit = (m[2] ?? 'b').toLowerCase();
  const factor = unit.startsWith('k') ? 1024 : unit.startsWith('m') ? 1024 * 1024 : 1;
  return Math.round(Number(m[1]) * factor);
}

/** "read=600/60,write=120/60,admin=60/60" (points per seconds) over the defaults; a bad entry is an error. */
export function rateLimitsOf(text: string | undefined): GatewayPolicy['rateLimits'] {
  const limits = { ...DEFAULT_LIMITS };
  for (const part of (text ?? '')
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const m = /^(read|write|admin)\s*=\s*(\d+)\s*\/\s*(\d+)$/.exec(part);
    if (!m || Number(m[2]) < 1 || Number(m[3]) < 1) {
      throw new Error(`API_RATE_LIMITS: "${part}" is not <read|write|admin>=<requests>/<seconds> (e.g. read=600/60)`);
    }
    limits[m[1] as keyof typeof limits] = { points: Number(m[2]), duration: Number(m[3]) };
  }
  return limits;
}

const list = (text: string | undefined) =>
  (text ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

export function policyFromEnv(env: NodeJS.ProcessEnv = process.env): GatewayPolicy {
  const kcUrl = (env.KEYCLOAK_URL ?? '').replace(/\/+$/, '');
  const realm = env.KEYCLOAK_REALM || 'clinica-realm';
  const publicUrl = (env.KEYCLOAK_PUBLIC_URL || kcUrl).replace(/\/+$/, '');
  const store = (env.API_RATE_LIMIT_STORE || (env.SHARED_DB_URL ? 'postgres' : 'memory')).toLowerCase();
  if (store !== 'postgres' && store !== 'memory') throw new Error(`API_RATE_LIMIT_STORE must be postgres or memory, not "${store}"`);
  return {
    enabled: (env.API_GATEWAY ?? 'on').toLowerCase() !== 'off',
    corsOrigins: list(env.API_CORS_ORIGINS).map((o) => o.replace(/\/+$/, '')),
    bodyLimitBytes: bytesOf(env.API_BODY_LIMIT, 64 * 1024),
    rateLimits: rateLimitsOf(env.API_RATE_LIMITS),
    rateLimitStore: store === 'postgres' && env.SHARED_DB_URL ? 'postgres' : 'memory',
    audit: (env.API_AUDIT ?? 'on').toLowerCase() !== 'off',
    metricsToken: env.METRICS_TOKEN || undefined,
    metricsAllow: env.METRICS_ALLOW !== undefined ? list(env.METRICS_ALLOW) : ['127.0.0.1', '::1', '::ffff:127.0.0.1'],
    sharedDbUrl: env.SHARED_DB_URL || undefined,
    keycloak: kcUrl
      ? { issuer: `${publicUrl}/realms/${encodeURIComponent(realm)}`, jwksUrl: `${kcUrl}/realms/${encodeURIComponent(realm)}/protocol/openid-connect/certs` }
      : undefined,
  };
}
