/**
 * The shared secret of Odoo's automation-rule webhooks (ODOO_WEBHOOK_SECRET). Odoo 18's webhook action sends only
 * its URL and a JSON body, so the seed writes the secret into the rule's URL as `?token=…`; other callers may send
 * it as the `X-Clinica-Webhook-Token` header. Compared in constant time (SHA-256 of both, timingSafeEqual), never
 * logged, never echoed.
 */
import { createHash, timingSafeEqual } from 'node:crypto';

export const WEBHOOK_TOKEN_HEADER = 'x-clinica-webhook-token';

/** The configured secret, or '' when webhooks are open (demo). */
export function webhookSecret(env: NodeJS.ProcessEnv = process.env): string {
  return (env.ODOO_WEBHOOK_SECRET ?? '').trim();
}

const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();

/** true when `provided` is the secret; constant time whatever the lengths. */
export function tokenMatches(provided: unknown, secret: string): boolean {
  if (!secret || typeof provided !== 'string' || provided.length === 0 || provided.length > 1024) return false;
  return timingSafeEqual(digest(provided), digest(secret));
}

interface RequestLike {
  query?: Record<string, unknown>;
  headers?: Record<string, unknown>;
}

/** The token a request carries (URL `token` first, then the header); removed from the query so it travels no further. */
export function takeWebhookToken(req: RequestLike | undefined): unknown {
  if (!req) return undefined;
  const fromQuery = req.query?.token;
  if (req.query && 'token' in req.query) delete req.query.token;
  if (fromQuery !== undefined) return fromQuery;
  return req.headers?.[WEBHOOK_TOKEN_HEADER];
}
