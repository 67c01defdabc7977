/**
 * Deliveries waiting for the flow to finish with them. The consume node opens one per message; the ack
 * node, or the done() hook, settles it: resolve = ack, reject = retry or dead-letter (by the error's
 * retryable). A delivery nobody settles within its timeout fails with a retryable AMQP_ACK_TIMEOUT, so a
 * message dropped by the flow (a switch with no match, a forgotten wire) is retried and then dead-lettered,
 * never lost and never stuck.
 */
import { IntegrationError } from '../clients/common/errors';

interface Pending {
  resolve: () => void;
  reject: (err: unknown) => void;
  timer?: NodeJS.Timeout;
}

const pending = new Map<string, Pending>();

export function openDelivery(key: string, timeoutMs: number, describe: () => string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const entry: Pending = { resolve, reject };
    if (timeoutMs > 0) {
      entry.timer = setTimeout(() => {
        pending.delete(key);
        reject(
          new IntegrationError(
            `${describe()} was not acknowledged by the flow within ${Math.round(timeoutMs / 1000)} s; wire the flow's end to an amqp ack node (or use ack mode "on done")`,
            {
              code: 'AMQP_ACK_TIMEOUT',
              system: 'amqp',
              retryable: true,
            },
          ),
        );
      }, timeoutMs);
    }
    pending.set(key, entry);
  });
}

/** Settles a delivery; false when it is unknown (already settled, timed out, or from before a restart). */
export function settleDelivery(key: string, err?: unknown): boolean {
  const entry = pending.get(key);
  if (!entry) return false;
  pending.delete(key);
  if (entry.timer) clearTimeout(entry.timer);
  if (err === undefined) entry.resolve();
  else entry.reject(err);
  return true;
}

/** Fails every open delivery of one consume node (it is closing: the broker will redeliver them). */
export function abandonDeliveries(prefix: string): number {
  let n = 0;
  for (const [key, entry] of pending) {
    if (!key.startsWith(prefix)) continue;
    pending.delete(key);
    if (entry.timer) clearTimeout(entry.timer);
    entry.reject(
      new IntegrationError('consumer closed before the flow finished the message', { code: 'AMQP_CONSUMER_CLOSED', system: 'amqp', retryable: true }),
    );
    n += 1;
  }
  return n;
}

export function openDeliveries(): number {
  return pending.size;
}
