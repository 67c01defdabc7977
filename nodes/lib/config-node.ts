/**
 * The config node owns the connection (STYLE.md example 2, after core MQTTBrokerNode): users register and
 * deregister; the connection is opened for the first user and closed with the last or on close; its state is
 * pushed as a status to every user, and a user that registers late is told the current state at once.
 */
import type { Node, NodeStatus } from 'node-red';
import { IntegrationError, type SystemName } from '../clients/common/errors';

export type ConnectionState = 'idle' | 'connecting' | 'connected' | 'reconnecting' | 'disconnected' | 'failed';

const STATE_STATUS: Record<ConnectionState, NodeStatus> = {
  idle: {},
  connecting: { fill: 'yellow', shape: 'ring', text: 'status.connecting' },
  connected: { fill: 'green', shape: 'dot', text: 'status.connected' },
  reconnecting: { fill: 'yellow', shape: 'ring', text: 'status.reconnecting' },
  disconnected: { fill: 'red', shape: 'ring', text: 'status.disconnected' },
  failed: { fill: 'red', shape: 'ring', text: 'status.failed' },
};

export class ConnectionUsers {
  private readonly users = new Set<Node>();
  private state: ConnectionState = 'idle';
  private detail?: string;

  constructor(private readonly onFirst: () => void, private readonly onLast: () => void) {}

  get size(): number {
    return this.users.size;
  }

  get current(): ConnectionState {
    return this.state;
  }

  register(node: Node): void {
    this.users.add(node);
    if (this.users.size === 1) this.onFirst();
    node.status(this.statusFor());
  }

  deregister(node: Node): void {
    if (!this.users.delete(node)) return;
    if (this.users.size === 0) this.onLast();
  }

  /**
   * Updates the state from how an operation ended. Success: connected. An error whose code is one of
   * `connectionCodes`: `failed` for the codes in `failedCodes` (they need a fix: login, configuration), else
   * `disconnected`, with the code as the status text. Any other error (a bad record, bad input) says nothing about
   * the connection and changes nothing. Returns the error's code when the state became a new trouble, so the
   * caller logs once per outage.
   */
  reportOutcome(err: unknown, connectionCodes: ReadonlySet<string>, failedCodes: ReadonlySet<string>): string | undefined {
    if (err === undefined) {
      if (this.state !== 'connected') this.setState('connected');
      return undefined;
    }
    const code = err instanceof IntegrationError ? err.code : undefined;
    if (!code || !connectionCodes.has(code)) return undefined;
    const state: ConnectionState = failedCodes.has(code) ? 'failed' : 'disconnected';
    const changed = this.state !== state;
    this.setState(state, code);
    return changed ? code : undefined;
  }

  /** Sets the state and shows it on every user node; `detail` (e.g. an error code) replaces the text. */
  setState(state: ConnectionState, detail?: string): void {
    this.state = state;
    this.detail = detail;
    const s = this.statusFor();
    for (const user of this.users) user.status(s);
  }

  private statusFor(): NodeStatus {
    const base = STATE_STATUS[this.state];
    return this.detail && base.text ? { ...base, text: this.detail } : base;
  }
}

/** Registers a user node with its config node and deregisters it when the node closes. */
export function attachToConfig(node: Node, config: { register(n: Node): void; deregister(n: Node): void } | undefined): void {
  if (!config) return;
  config.register(node);
  node.on('close', (_removed: boolean, done: () => void) => {
    config.deregister(node);
    done();
  });
}

type NodeLookup = { nodes: { getNode(id: string): unknown } };

/**
 * The config node a user node names, when it is one of the expected kind: Node-RED hands back whatever node has
 * that id, so the kind is recognised by the method it must have (`getDb`, `getBroker`, `getClient`, …).
 */
export function configNodeOf<T extends object>(RED: NodeLookup, id: string | undefined, method: keyof T & string): T | undefined {
  const config = id ? (RED.nodes.getNode(id) as T | null) : null;
  return config && typeof (config as Record<string, unknown>)[method] === 'function' ? config : undefined;
}

/** The error of a node used without its config node: `<SYSTEM>_NOT_CONFIGURED`, never retried, names the fix. */
export function missingConfigError(user: Node, system: SystemName, what: string, configType: string): IntegrationError {
  return new IntegrationError(`Node ${user.type} "${user.name || user.id}" has no ${what}; pick a ${configType} in its settings`, {
    code: `${system.toUpperCase().replace(/-/g, '_')}_NOT_CONFIGURED`, system, retryable: false,
  });
}
