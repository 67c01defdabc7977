/**
 * clinica-readiness: a live check of every system the flows depend on, for GET /api/ready. It finds the pack's
 * config nodes running in this Node-RED (shared database, RabbitMQ broker, Odoo, Nextcloud, Keycloak realm), asks
 * each one's own client a cheap live question (a ping, a channel, an authenticated count, a PROPFIND, the realm's
 * discovery document) with a timeout, and measures how long it took. msg.dependencies = [{name, node, state:
 * up|down|absent, required, latencyMs, code}]; a required system down fails the message with NOT_READY naming it
 * (a Catch answers 503 + Retry-After). A system whose config node is not in the flows is `absent` and never fails
 * readiness. Liveness (/api/health) does not use this node.
 */
import type { Node, NodeAPI, NodeDef, NodeStatus } from 'node-red';
import type { AmqpBroker } from '../clients/amqp';
import type { KeycloakRealm } from '../clients/keycloak/realm';
import type { NextcloudClient } from '../clients/nextcloud/client';
import type { OdooClient } from '../clients/odoo/client';
import type { SharedDb } from '../clients/shared-db';
import { dependenciesReady, type DependencyCheck } from '../domain/gateway';
import { intSetting } from '../lib/env';
import { handleInput, registerType, setRED, type Msg } from '../lib/node-runtime';

interface ReadinessDef extends NodeDef {
  /** The systems whose failure makes the gateway not ready, comma-separated (default: all five). */
  required: string;
  /** How long each check may take (ms). */
  timeout: string | number;
}

/** What each kind of config node offers (see each family's config node). */
interface ConfigApi {
  getDb(): Promise<SharedDb>;
  getBroker(): AmqpBroker;
  getClient(): unknown;
  getRealm(): KeycloakRealm;
}

interface System {
  name: string;
  type: string;
  probe(config: ConfigApi, timeoutMs: number): Promise<unknown>;
}

const SYSTEMS: readonly System[] = [
  { name: 'shared-db', type: 'clinica-db-config', probe: async (c) => (await c.getDb()).ping() },
  {
    name: 'amqp',
    type: 'clinica-amqp-broker',
    probe: async (c, timeoutMs) => {
      // Connected (waiting at most the timeout, never closing the shared connection), then a channel opened and closed.
      const broker = c.getBroker();
      await broker.ready(timeoutMs);
      await broker.withChannel(async () => undefined);
    },
  },
  {
    name: 'odoo',
    type: 'clinica-odoo-config',
    probe: async (c) => {
      const odoo = c.getClient() as OdooClient;
      await odoo.searchCount('res.users', [['id', '=', await odoo.login()]]);
    },
  },
  { name: 'nextcloud', type: 'clinica-nextcloud-config', probe: (c) => (c.getClient() as NextcloudClient).check() },
  {
    name: 'keycloak',
    type: 'clinica-keycloak-realm',
    probe: async (c, timeoutMs) => {
      const res = await fetch(`${c.getRealm().issuer}/.well-known/openid-configuration`, { signal: AbortSignal.timeout(timeoutMs) });
      await res.arrayBuffer();
      if (!res.ok) throw Object.assign(new Error(`discovery answered ${res.status}`), { code: `KEYCLOAK_HTTP_${res.status}` });
    },
  },
];

const ALL = SYSTEMS.map((s) => s.name);

/** The error code a caller may see: an upper-case identifier, never a message (it could name a host). */
function codeOf(err: unknown): string {
  const code = (err as { code?: unknown } | undefined)?.code;
  if (typeof code === 'string' && /^[A-Za-z0-9_]{1,60}$/.test(code)) return code.toUpperCase();
  return (err as { name?: unknown } | undefined)?.name === 'TimeoutError' ? 'TIMEOUT' : 'UNAVAILABLE';
}

/** Runs one check with a timeout: its latency, and the code of its failure. */
async function timed(run: () => Promise<unknown>, timeoutMs: number): Promise<{ latencyMs: number; code?: string }> {
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(Object.assign(new Error('no answer in time'), { code: 'TIMEOUT' })), timeoutMs);
  });
  try {
    await Promise.race([Promise.resolve().then(run), late]);
    return { latencyMs: Math.round(performance.now() - started) };
  } catch (err) {
    return { latencyMs: Math.round(performance.now() - started), code: codeOf(err) };
  } finally {
    clearTimeout(timer);
  }
}

export = function (RED: NodeAPI): void {
  setRED(RED);

  function ReadinessNode(this: Node, def: ReadinessDef): void {
    RED.nodes.createNode(this, def);
    const node = this;
    const timeoutMs = intSetting(def.timeout, 2000, 100, 60000);
    const listed = String(def.required ?? ALL.join(','))
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    const required = new Set(listed.filter((s) => ALL.includes(s)));
    for (const s of listed) if (!ALL.includes(s)) node.warn(`clinica-readiness: "${s}" is not a system it knows (${ALL.join(', ')})`);

    async function checkAll(): Promise<DependencyCheck[]> {
      const running: Array<{ system: System; id: string; config: ConfigApi | null }> = [];
      RED.nodes.eachNode((n) => {
        const system = SYSTEMS.find((s) => s.type === n.type);
        if (system) running.push({ system, id: n.id, config: RED.nodes.getNode(n.id) as unknown as ConfigApi | null });
      });
      const checks = await Promise.all(
        running.map(async ({ system, id, config }): Promise<DependencyCheck> => {
          const base = { name: system.name, node: id, required: required.has(system.name) };
          if (!config) return { ...base, state: 'absent' };
          const { latencyMs, code } = await timed(() => system.probe(config, timeoutMs), timeoutMs);
          return code ? { ...base, state: 'down', latencyMs, code } : { ...base, state: 'up', latencyMs };
        }),
      );
      for (const system of SYSTEMS) {
        if (!running.some((r) => r.system === system)) checks.push({ name: system.name, state: 'absent', required: required.has(system.name) });
      }
      return checks.sort((a, b) => ALL.indexOf(a.name) - ALL.indexOf(b.name) || String(a.node).localeCompare(String(b.node)));
    }

    // Shown once a check ends well: green, or a yellow ring naming the systems down that are not required.
    const idle: NodeStatus = { fill: 'green', shape: 'dot', text: 'status.ready' };
    handleInput(node, { system: 'node-red', idleStatus: idle }, async (msg: Msg, send) => {
      const checks = await checkAll();
      msg.dependencies = checks;
      const down = checks.filter((c) => c.state === 'down').map((c) => c.name);
      Object.assign(idle, down.length ? { fill: 'yellow', shape: 'ring', text: down.join(', ') } : { fill: 'green', shape: 'dot', text: 'status.ready' });
      dependenciesReady(checks);
      send(msg);
    });
  }

  registerType('clinica-readiness', ReadinessNode);
};
