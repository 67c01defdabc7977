/**
 * Shared test plumbing: the Node-RED test helper bound to the installed node-red, and small waits.
 * Tests talk to the real PostgreSQL and RabbitMQ of this machine; nothing here mocks a server.
 */
import * as http from 'node:http';
import type * as net from 'node:net';
import rawHelper = require('node-red-node-test-helper');

rawHelper.init(require.resolve('node-red'));

/** The test helper with loose flow typing: flows in tests carry each node type's own properties. */
export interface LooseHelper {
  load(nodes: unknown, flow: Array<Record<string, any>>, credentials?: Record<string, any>): Promise<void>;
  unload(): Promise<void>;
  getNode(id: string): any;
  startServer(done: () => void): void;
  stopServer(done: () => void): void;
  request(): any;
  settings(settings: Record<string, unknown>): void;
  clearFlows(): Promise<void>;
  log(): any;
  _events?: unknown;
}
export const helper = rawHelper as unknown as LooseHelper;

const coreNodes = require.resolve('@node-red/nodes/package.json').replace(/package\.json$/, '');
/**
 * Node-RED core node modules that flows in tests use next to ours. catch, status and complete are loaded by the
 * helper itself: do not pass them again. Never give a node an id equal to a type name ("catch"): Node-RED then
 * takes it for a config node and refuses the flow.
 */
export const core = {
  function: require(`${coreNodes}core/function/10-function.js`),
  change: require(`${coreNodes}core/function/15-change.js`),
  httpIn: require(`${coreNodes}core/network/21-httpin.js`),
  httpRequest: require(`${coreNodes}core/network/21-httprequest.js`),
};

export const PG_BASE_URL = process.env.TEST_PG_URL || 'postgres://postgres@127.0.0.1:5432';
export const AMQP_URL = process.env.TEST_AMQP_URL || 'amqp://guest:guest@127.0.0.1:5672';

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Polls `check` until it returns a truthy value, or fails naming `what` after `timeoutMs`. */
export async function waitFor<T>(check: () => T | Promise<T>, what: string, timeoutMs = 10000, everyMs = 25): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    }
    await sleep(everyMs);
  }
}

/** Collects every message a helper node receives. */
export function collect<T = Record<string, unknown>>(node: { on(event: 'input', cb: (msg: T) => void): void }): T[] {
  const seen: T[] = [];
  node.on('input', (msg: T) => seen.push(msg));
  return seen;
}

/** A unique name for queues, databases and folders of one test run. */
export function uniqueName(prefix: string): string {
  return `${prefix}_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 7)}`;
}

/**
 * The test helper never listens for RED.httpNode (flow routes such as `http in`); this serves them on an
 * ephemeral port of 127.0.0.1. Close it with server.closeAllConnections() and server.close().
 */
export function serveHttpNodes(): Promise<{ server: http.Server; url: string }> {
  const { getRED } = require('../../nodes/lib/node-runtime') as { getRED(): { httpNode: unknown } };
  const server = http.createServer((req, res) => (getRED().httpNode as http.RequestListener)(req, res));
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve({ server, url: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}` })),
  );
}
