/**
 * Standard Webhooks signatures (https://www.standardwebhooks.com, the scheme Svix uses): a secret is `whsec_` +
 * base64 of random bytes; a signature is `v1,` + base64 HMAC-SHA256 of `<id>.<timestamp>.<body>` keyed with the
 * decoded secret. The same id, timestamp and body always give the same signature.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { badInput } from '../common/errors';

const SECRET_PREFIX = 'whsec_';
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
/** The spec's secrets are 24 to 64 bytes; fewer than 16 is refused as too weak to sign with. */
const MIN_SECRET_BYTES = 16;
const MAX_SECRET_BYTES = 64;

/** A new signing secret for one subscriber: `whsec_` + base64 of 32 random bytes. Give it to the subscriber once. */
export function generateSecret(): string {
  return SECRET_PREFIX + randomBytes(32).toString('base64');
}

/**
 * The key bytes of a `whsec_…` secret, or BAD_INPUT. The message never repeats the secret: it says what is wrong
 * with it and how to make a good one.
 */
export function secretKey(secret: unknown): Buffer {
  if (typeof secret !== 'string' || !secret.startsWith(SECRET_PREFIX)) {
    throw badInput('webhook', `The webhook secret must be a string that starts with "${SECRET_PREFIX}" (make one with generateSecret())`);
  }
  const encoded = secret.slice(SECRET_PREFIX.length);
  const key = BASE64.test(encoded) && encoded.length % 4 === 0 ? Buffer.from(encoded, 'base64') : undefined;
  if (!key || key.length < MIN_SECRET_BYTES || key.length > MAX_SECRET_BYTES) {
    throw badInput(
      'webhook',
      `The webhook secret must be "${SECRET_PREFIX}" followed by the base64 of ${MIN_SECRET_BYTES} to ${MAX_SECRET_BYTES} random bytes (make one with generateSecret())`,
    );
  }
  return key;
}

/** `v1,<base64 HMAC-SHA256 of "id.timestamp.body">`, the value of the `webhook-signature` header. */
export function sign(secret: string | Buffer, id: string, timestampSeconds: number, body: string | Buffer): string {
  const key = typeof secret === 'string' ? secretKey(secret) : secret;
  const hmac = createHmac('sha256', key).update(`${id}.${timestampSeconds}.`);
  hmac.update(body);
  return `v1,${hmac.digest('base64')}`;
}
