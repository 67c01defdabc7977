/**
 * Typed errors shared by every client and node (see docs/conventions.md "Errors").
 * No Node-RED import: clients throw these, nodes pass them to done(err).
 */
export type SystemName = 'odoo' | 'nextcloud' | 'keycloak' | 'shared-db' | 'amqp' | 'smtp' | 'webhook' | 'node-red';

export interface IntegrationErrorOptions {
  /** Stable upper-case identifier, e.g. ODOO_ACCESS_DENIED. */
  code: string;
  system: SystemName;
  /** true for transient faults (network, timeout, 5xx, broker blocked). */
  retryable: boolean;
  /** HTTP status or protocol code where one exists. */
  status?: number;
  /** Extra machine-readable context (record id, path, model…); never a secret. */
  details?: Record<string, unknown>;
  cause?: unknown;
}

export class IntegrationError extends Error {
  readonly code: string;
  readonly system: SystemName;
  readonly retryable: boolean;
  readonly status?: number;
  readonly details?: Record<string, unknown>;

  constructor(message: string, options: IntegrationErrorOptions) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'IntegrationError';
    this.code = options.code;
    this.system = options.system;
    this.retryable = options.retryable;
    this.status = options.status;
    this.details = options.details;
  }

  /** The plain object Node-RED puts on msg.error and logs. */
  toJSON(): Record<string, unknown> {
    return {
      name: this.name,
      message: this.message,
      code: this.code,
      system: this.system,
      retryable: this.retryable,
      ...(this.status === undefined ? {} : { status: this.status }),
      ...(this.details === undefined ? {} : { details: this.details }),
    };
  }
}

/** Socket-level error codes that mean "try again later", whatever the system. */
const TRANSIENT_NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ECONNABORTED',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'ABORT_ERR',
]);

export function isTransientNetworkError(err: unknown): boolean {
  let current: unknown = err;
  for (let depth = 0; current && depth < 5; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && TRANSIENT_NETWORK_CODES.has(code)) return true;
    const name = (current as { name?: unknown }).name;
    if (name === 'TimeoutError' || name === 'AbortError') return true;
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}

/** true when an error says it may succeed if tried again. Unknown errors are not retried. */
export function isRetryable(err: unknown): boolean {
  if (err instanceof IntegrationError) return err.retryable;
  if (err && typeof err === 'object' && typeof (err as { retryable?: unknown }).retryable === 'boolean') {
    return (err as { retryable: boolean }).retryable;
  }
  return isTransientNetworkError(err);
}

export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  if (typeof err === 'string') return err;
  try {
    return JSON.stringify(err);
  } catch {
    return String(err);
  }
}

/**
 * Wraps anything thrown by a library into an IntegrationError of the given system, keeping an existing
 * IntegrationError as it is. Network faults become retryable `<SYSTEM>_UNREACHABLE` errors.
 */
export function asIntegrationError(
  err: unknown,
  system: SystemName,
  fallback: { code: string; message: string; retryable?: boolean; details?: Record<string, unknown> },
): IntegrationError {
  if (err instanceof IntegrationError) return err;
  const cause = errorMessage(err);
  if (isTransientNetworkError(err)) {
    const prefix = system.toUpperCase().replace(/-/g, '_');
    const code = (err as { code?: string }).code;
    const timedOut = code === 'ETIMEDOUT' || (err as { name?: string }).name === 'TimeoutError' || /timeout/i.test(cause);
    return new IntegrationError(`${fallback.message}: ${cause}`, {
      code: timedOut ? `${prefix}_TIMEOUT` : `${prefix}_UNREACHABLE`,
      system,
      retryable: true,
      details: fallback.details,
      cause: err,
    });
  }
  return new IntegrationError(`${fallback.message}: ${cause}`, {
    code: fallback.code,
    system,
    retryable: fallback.retryable ?? false,
    details: fallback.details,
    cause: err,
  });
}

/** Error for input that the node cannot work with: never retried, message says what to send instead. */
export function badInput(system: SystemName, message: string, details?: Record<string, unknown>): IntegrationError {
  return new IntegrationError(message, { code: 'BAD_INPUT', system, retryable: false, details });
}
