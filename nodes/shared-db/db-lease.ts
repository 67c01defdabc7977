/**
 * clinica-db-lease: an inject that fires only on the lease holder. Every Node-RED process running the same flow
 * file takes part in the lease `lease` (a row of `leases` in the shared database, TTL CLINICA_LEASE_TTL, default
 * 15 s); only the process that holds it sends: every `repeat` seconds, once after it becomes the holder (at start
 * or on taking over from a process that died or stopped), and on any input message (the editor's button, a link).
 * The polls and reconciles of a tab thus run on exactly one process at a time; webhooks stay on every process.
 */
import { randomUUID } from 'node:crypto';
import type { Node, NodeAPI, NodeDef } from 'node-red';
import { count } from '../clients/common/metrics';
import { leaseFor, type Lease, type LeaseEvent } from '../clients/shared-db/lease';
import { intSetting } from '../lib/env';
import { logEvent, registerType, setRED } from '../lib/node-runtime';
import { dbConfigOf } from './types';

interface DbLeaseDef extends NodeDef {
  config: string;
  /** The lease's name: processes that run the same flows share it. */
  lease: string;
  /** Seconds between messages; 0 = only on input. */
  repeat: string | number;
  /** Send once when this process becomes the holder (at start, on takeover). */
  once: boolean;
  onceDelay: string | number;
  topic: string;
  /** A JSON object whose properties are set on every message. */
  props: string;
}

const RETRY_DB_MS = 5000;

export = function (RED: NodeAPI): void {
  setRED(RED);

  function DbLease(this: Node, def: DbLeaseDef): void {
    RED.nodes.createNode(this, def);
    const node = this;
    const config = dbConfigOf(RED, def.config);
    const name = (def.lease || '').trim();
    const repeatMs = intSetting(def.repeat, 0, 0, 31 * 86400) * 1000;
    const onceDelayMs = Math.max(0, Math.round(Number(def.onceDelay ?? 0.1) * 1000) || 0);
    let props: Record<string, unknown> = {};
    let lease: Lease | undefined;
    let release: (() => Promise<void>) | undefined;
    let unsubscribe: (() => void) | undefined;
    let holding = false;
    let closed = false;
    const timers = new Set<NodeJS.Timeout>();

    const later = (ms: number, fn: () => void) => {
      const t = setTimeout(() => {
        timers.delete(t);
        fn();
      }, ms);
      timers.add(t);
    };

    try {
      const parsed: unknown = def.props ? JSON.parse(def.props) : {};
      if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not an object');
      props = parsed as Record<string, unknown>;
    } catch {
      node.status({ fill: 'red', shape: 'ring', text: 'status.bad-props' });
      node.error(`Lease node "${node.name || node.id}": Properties must be a JSON object such as {"sync": {"name": "patients"}}`);
      return;
    }
    if (!name || !config) {
      node.status({ fill: 'red', shape: 'ring', text: 'status.not-configured' });
      if (!name) node.error(`Lease node "${node.name || node.id}": no lease name; name it after what it guards (e.g. sync-patients)`);
      return;
    }

    function fire(): void {
      if (closed || !lease?.held) {
        count('shared-db', 'lease_skipped', { lease: name });
        return;
      }
      const now = Date.now();
      const msg: Record<string, unknown> = {
        payload: now,
        topic: def.topic || '',
        startedAt: now,
        ...structuredClone(props),
        correlationId: randomUUID(),
        lease: { name, holder: lease.holder },
      };
      count('shared-db', 'lease_fired', { lease: name });
      node.send(msg);
    }

    function onEvent(event: LeaseEvent, logIt: boolean): void {
      if (event.kind === 'acquired') {
        if (logIt)
          logEvent(node, 'info', event.takeover ? 'lease.takeover' : 'lease.acquired', { lease: name, holder: event.holder, previous: event.previous });
        if (event.takeover && logIt) count('shared-db', 'lease_takeovers', { lease: name });
        becameHolder();
      } else if (event.kind === 'lost') {
        if (logIt) logEvent(node, 'warn', 'lease.lost', { lease: name, holder: event.holder, reason: event.reason });
        holding = false;
        node.status({ fill: 'grey', shape: 'ring', text: 'status.standby' });
      } else if (logIt) {
        logEvent(node, 'warn', 'lease.error', { lease: name, error: event.error });
      }
    }

    function becameHolder(): void {
      if (holding) return;
      holding = true;
      node.status({ fill: 'green', shape: 'dot', text: 'status.holder' });
      if (def.once) later(onceDelayMs, fire);
    }

    function start(): void {
      if (closed || !config) return;
      config.getDb().then(
        (db) => {
          if (closed) return;
          const handle = leaseFor(db, name);
          lease = handle.lease;
          release = handle.release;
          const logIt = handle.created; // the first user of the lease in this process logs for all
          unsubscribe = lease.on((e) => onEvent(e, logIt));
          void lease.check().then((held) => {
            if (held) becameHolder();
            else if (!holding) node.status({ fill: 'grey', shape: 'ring', text: 'status.standby' });
          });
        },
        () => {
          node.status({ fill: 'red', shape: 'ring', text: 'status.disconnected' });
          later(RETRY_DB_MS, start);
        },
      );
    }

    node.status({ fill: 'grey', shape: 'ring', text: 'status.standby' });
    start();
    if (repeatMs > 0) {
      const interval = setInterval(fire, repeatMs);
      node.on('close', () => clearInterval(interval));
    }

    node.on('input', (_msg, _send, done) => {
      // Any input: send now, on the holder only.
      const check = lease ? lease.check() : Promise.resolve(false);
      void check.then(() => {
        fire();
        done();
      });
    });

    node.on('close', (_removed: boolean, done: () => void) => {
      closed = true;
      for (const t of timers) clearTimeout(t);
      timers.clear();
      unsubscribe?.();
      (release ? release() : Promise.resolve()).then(
        () => done(),
        () => done(),
      );
    });
  }

  registerType('clinica-db-lease', DbLease);
};
