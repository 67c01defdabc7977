/**
 * The config node owns the connection (STYLE.md example 2, after core MQTTBrokerNode): users register and
 * deregister; the connection is opened for the first user and closed with the last or on close; its state is
 * pushed as a status to every user, and a user that registers late is told the current state at once.
 * `defineConfigNode` writes that glue once; a config node of the pack says only what is its own.
 */
import type { Node, NodeAPI, NodeDef, NodeStatus } from 'node-red';
import { IntegrationError, type SystemName } from '../clients/common/errors';
import { registerType, setRED } from './node-runtime';

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

  constructor(
    private readonly onFirst: () => void,
    private readonly onLast: () => void,
  ) {}

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

/** A config node as its users see it. */
export interface ConfigNode extends Node {
  register(user: Node): void;
  deregister(user: Node): void;
}

/** What a config node's `setup` says about itself; the rest is the same for every config node. */
export interface ConfigNodeParts<C> {
  /** What the editor and the logs show of this connection (never a secret), set on the node. */
  describe?: Record<string, unknown>;
  /** Makes the one client of this config node, when it is first needed; it is kept until the node closes. */
  makeClient(): C;
  /** Ends the client when the node closes (redeploy, stop); the close waits for a promise, kept or broken. */
  closeClient(client: C): void | Promise<unknown>;
  /** The first user registered: open or check the connection. */
  onFirstUser?(): void;
  /** The last user deregistered. */
  onLastUser?(): void;
  /** The node is closing, before its client is closed: stop timers. */
  onClose?(): void;
}

/** What `setup` gets to build on: the users, the client, and the usual ways to tell the connection state. */
export interface ConfigContext<C> {
  readonly users: ConnectionUsers;
  /** The client, made at the first call and kept until the node closes. */
  client(): C;
  /** The client when made, else undefined; never makes one. */
  readonly current: C | undefined;
  /**
   * A `report(err?)` for the users' operations: the state follows from the error's code (see
   * ConnectionUsers.reportOutcome) and `onTrouble` runs once per new trouble, to log it.
   */
  reporter(connectionCodes: ReadonlySet<string>, failedCodes: ReadonlySet<string>, onTrouble: (code: string, err: unknown) => void): (err?: unknown) => void;
  /** Shows connecting, runs `probe`, then shows connected and runs `connected` with what the probe gave (a log line); a failure goes to `report`. */
  check<T>(probe: () => Promise<T>, connected: (probed: T) => unknown, report: (err: unknown) => void): Promise<void>;
}

export interface ConfigNodeSpec<N extends ConfigNode, D extends NodeDef, C> {
  /** The Node-RED type, e.g. clinica-odoo-config. */
  type: string;
  /** Its credentials and their kind (a password never leaves the runtime). */
  credentials?: Record<string, 'text' | 'password'>;
  /** Reads the settings and adds the node's own methods (getClient, report, …); called once per deploy. */
  setup(node: N, def: D, ctx: ConfigContext<C>): ConfigNodeParts<C>;
}

/**
 * A config node module's export: registers `spec.type`, whose nodes create their users' shared client when first
 * needed, register and deregister users (with their status), and close the client on redeploy or stop.
 */
export function defineConfigNode<N extends ConfigNode, D extends NodeDef, C>(spec: ConfigNodeSpec<N, D, C>): (RED: NodeAPI) => void {
  const credentials = spec.credentials && Object.fromEntries(Object.entries(spec.credentials).map(([name, type]) => [name, { type }]));
  return function (RED: NodeAPI): void {
    setRED(RED);

    function ConfigNodeOfType(this: N, def: D): void {
      RED.nodes.createNode(this, def);
      const node = this;
      let client: C | undefined;
      // eslint-disable-next-line prefer-const -- set once setup() returns; the callbacks above run after that
      let parts: ConfigNodeParts<C> | undefined;
      const users = new ConnectionUsers(
        () => parts?.onFirstUser?.(),
        () => parts?.onLastUser?.(),
      );
      const ctx: ConfigContext<C> = {
        users,
        client: () => {
          if (!parts) throw new Error(`${spec.type}: its client is made when first used, not while the node is set up`);
          return (client ??= parts.makeClient());
        },
        get current() {
          return client;
        },
        reporter: (connectionCodes, failedCodes, onTrouble) => (err) => {
          const code = users.reportOutcome(err, connectionCodes, failedCodes);
          if (code) onTrouble(code, err);
        },
        check: async (probe, connected, report) => {
          users.setState('connecting');
          try {
            const probed = await probe();
            users.setState('connected');
            await connected(probed);
          } catch (err) {
            report(err);
          }
        },
      };
      const own = spec.setup(node, def, ctx);
      parts = own;
      Object.assign(node, own.describe);
      node.register = (user) => users.register(user);
      node.deregister = (user) => users.deregister(user);

      node.on('close', (_removed: boolean, done: () => void) => {
        own.onClose?.();
        const closing = client;
        client = undefined;
        if (closing === undefined) return done();
        const closed = own.closeClient(closing);
        if (closed instanceof Promise)
          closed.then(
            () => done(),
            () => done(),
          );
        else done();
      });
    }

    registerType(spec.type, ConfigNodeOfType, credentials ? { credentials } : undefined);
  };
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
    code: `${system.toUpperCase().replace(/-/g, '_')}_NOT_CONFIGURED`,
    system,
    retryable: false,
  });
}
