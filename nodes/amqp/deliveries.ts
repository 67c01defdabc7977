/**
 * Deliveries waiting for the flow to finish with them. The consume node opens one per message; the ack
 * node, or the done() hook, settles it: resolve = ack, reject = retry or dead-letter (by the error's
 * retryable). A delivery nobody settles within its timeout fails with a retryable AMQP_ACK_TIMEOUT, so a
 * message dropped by the flow (a switch with no match, a forgotten wire) is retried and then dead-lettered,
 * never lost and never stuck.
 */
import { IntegrationError } from '../clients/common/errors';
import { Slots } from '../clients/common/slots';

/** What a timeout names: the message and its queue. */
export interface DeliverySubject {
  messageId?: string;
  queue: string;
}

interface Pending {
  key: string;
  resolve: () => void;
  reject: (err: unknown) => void;
  /** Date.now() after which the delivery fails with AMQP_ACK_TIMEOUT; 0 = never. */
  deadline: number;
  timeoutMs: number;
  subject: DeliverySubject;
}

/** Open deliveries by slot (see Slots: a Map here promoted almost every message to V8's old generation). */
const pending = new Slots<Pending>();
let sequence = 0;

/** The slot a key names: keys are `<prefix><slot>.<sequence>`, the prefix ending in ':'. */
function slotOf(key: string): number {
  const dot = key.lastIndexOf('.');
  const colon = key.lastIndexOf(':', dot);
  return dot > colon ? Number(key.slice(colon + 1, dot)) : NaN;
}

/**
 * One sweep a second over the open deliveries fails those past their deadline, instead of a timer per message
 * (a timer per message costs more than the rest of the bookkeeping); a delivery times out within a second after
 * its ack timeout. The sweep runs only while deliveries with a timeout are open, and never holds the process.
 */
const SWEEP_MS = 1000;
let sweeper: NodeJS.Timeout | undefined;

function sweep(): void {
  const now = Date.now();
  let timed = 0;
  for (const [slot, entry] of pending.entries()) {
    if (entry.deadline === 0) continue;
    if (entry.deadline > now) {
      timed += 1;
      continue;
    }
    pending.delete(slot);
    entry.reject(
      new IntegrationError(
        `Message ${entry.subject.messageId ?? '(no id)'} from queue "${entry.subject.queue}" was not acknowledged by the flow within ${Math.round(entry.timeoutMs / 1000)} s; wire the flow's end to an amqp ack node (or use ack mode "on done")`,
        { code: 'AMQP_ACK_TIMEOUT', system: 'amqp', retryable: true },
      ),
    );
  }
  if (timed === 0 && sweeper) {
    clearInterval(sweeper);
    sweeper = undefined;
  }
}

/**
 * Opens a delivery of a consume node (`prefix` is the node's, ending in ':'): returns the key that travels with the
 * message (msg.amqp.deliveryKey) and the promise that the ack node or the done() hook settles.
 */
export function openDelivery(prefix: string, timeoutMs: number, subject: DeliverySubject): { key: string; finished: Promise<void> } {
  let key = '';
  const finished = new Promise<void>((resolve, reject) => {
    const entry: Pending = { key: '', resolve, reject, deadline: timeoutMs > 0 ? Date.now() + timeoutMs : 0, timeoutMs, subject };
    sequence += 1;
    key = entry.key = `${prefix}${pending.add(entry)}.${sequence}`;
    if (timeoutMs > 0 && !sweeper) {
      sweeper = setInterval(sweep, SWEEP_MS);
      sweeper.unref();
    }
  });
  return { key, finished };
}

/** Settles a delivery; false when it is unknown (already settled, timed out, or from before a restart). */
export function settleDelivery(key: string, err?: unknown): boolean {
  const slot = slotOf(key);
  const entry = pending.get(slot);
  if (!entry || entry.key !== key) return false;
  pending.delete(slot);
  if (err === undefined) entry.resolve();
  else entry.reject(err);
  return true;
}

/** Fails every open delivery of one consume node (it is closing: the broker will redeliver them). */
export function abandonDeliveries(prefix: string): number {
  let n = 0;
  for (const [slot, entry] of pending.entries()) {
    if (!entry.key.startsWith(prefix)) continue;
    pending.delete(slot);
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
