/**
 * defineConfigNode, the glue every config node of the pack shares, in a stand-in Node-RED: the type and its
 * credentials, one client made when first needed, users told the connection state, the client closed on close.
 */
import * as assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import type { Node, NodeAPI, NodeDef, NodeStatus } from 'node-red';
import { IntegrationError } from '../../nodes/clients/common/errors';
import { defineConfigNode, type ConfigContext, type ConfigNode, type ConfigNodeParts } from '../../nodes/lib/config-node';

interface FakeClient {
  n: number;
  closed: boolean;
}
type TestNode = ConfigNode & { getClient(): FakeClient; ctx: ConfigContext<FakeClient> };

/** Registers a config type in a stand-in RED and returns a way to make its nodes. */
function load(parts: (ctx: ConfigContext<FakeClient>) => Partial<ConfigNodeParts<FakeClient>>) {
  let made = 0;
  const registered: Array<{ type: string; options: unknown }> = [];
  let ctor: ((this: TestNode, def: NodeDef) => void) | undefined;
  const RED = {
    nodes: {
      createNode: (node: Node, def: NodeDef) => Object.assign(node, { id: def.id, type: def.type }),
      registerType: (type: string, c: typeof ctor, options: unknown) => {
        registered.push({ type, options });
        ctor = c;
      },
    },
  } as unknown as NodeAPI;
  defineConfigNode<TestNode, NodeDef, FakeClient>({
    type: 'clinica-test-config',
    credentials: { user: 'text', secret: 'password' },
    setup(node, _def, ctx) {
      node.getClient = ctx.client;
      node.ctx = ctx;
      return {
        describe: { url: 'http://shown' },
        makeClient: () => ({ n: ++made, closed: false }),
        closeClient: (c) => {
          c.closed = true;
        },
        ...parts(ctx),
      };
    },
  })(RED);
  const create = (): TestNode & EventEmitter => {
    const node = new EventEmitter() as TestNode & EventEmitter;
    ctor!.call(node, { id: 'cfg', type: 'clinica-test-config', z: '', name: '' } as NodeDef);
    return node;
  };
  const close = (node: EventEmitter) => new Promise<void>((resolve) => node.emit('close', false, resolve));
  return { registered, create, close };
}

function user(): Node & { statuses: NodeStatus[] } {
  const statuses: NodeStatus[] = [];
  return { statuses, status: (s: NodeStatus) => statuses.push(s) } as unknown as Node & { statuses: NodeStatus[] };
}

describe('defineConfigNode (stand-in Node-RED)', function () {
  it('registers the type with its credentials, and shows what describe says', function () {
    const { registered, create } = load(() => ({}));
    assert.deepEqual(registered, [{ type: 'clinica-test-config', options: { credentials: { user: { type: 'text' }, secret: { type: 'password' } } } }]);
    assert.equal((create() as unknown as { url: string }).url, 'http://shown');
  });

  it('makes one client when first asked, calls the first- and last-user hooks, and tells late users the state', function () {
    const calls: string[] = [];
    const { create } = load(() => ({ onFirstUser: () => calls.push('first'), onLastUser: () => calls.push('last') }));
    const node = create();
    assert.equal(node.ctx.current, undefined);
    assert.equal(node.getClient(), node.getClient());
    assert.equal(node.getClient().n, 1);
    const [a, b] = [user(), user()];
    node.register(a);
    node.ctx.users.setState('connected');
    node.register(b);
    assert.deepEqual(b.statuses, [{ fill: 'green', shape: 'dot', text: 'status.connected' }]);
    node.deregister(a);
    node.deregister(b);
    node.deregister(b);
    assert.deepEqual(calls, ['first', 'last']);
  });

  it('closes the client it made on close (waiting for a promise), stops timers first, and makes a new one after', async function () {
    const order: string[] = [];
    let finish: () => void = () => undefined;
    const { create, close } = load(() => ({
      onClose: () => order.push('onClose'),
      closeClient: (c) =>
        new Promise<void>((resolve) => {
          order.push(`close ${c.n}`);
          finish = resolve;
        }),
    }));
    const node = create();
    const first = node.getClient();
    let closed = false;
    const closing = close(node).then(() => {
      closed = true;
    });
    await new Promise((r) => setImmediate(r));
    assert.equal(closed, false, 'done waits for the client to close');
    finish();
    await closing;
    assert.deepEqual(order, ['onClose', 'close 1']);
    assert.notEqual(node.getClient(), first);
    const idle = create();
    await close(idle);
    assert.deepEqual(order, ['onClose', 'close 1', 'onClose'], 'a client never made is not closed');
  });

  it('reports outcomes: connected on success, failed or disconnected by code, each trouble logged once', function () {
    const { create } = load(() => ({}));
    const node = create();
    const watcher = user();
    node.register(watcher);
    const logged: string[] = [];
    const report = node.ctx.reporter(new Set(['X_DOWN', 'X_AUTH']), new Set(['X_AUTH']), (code) => logged.push(code));
    const down = new IntegrationError('down', { code: 'X_DOWN', system: 'odoo', retryable: true });
    report(down);
    report(down);
    report(new IntegrationError('bad record', { code: 'BAD_INPUT', system: 'odoo', retryable: false }));
    assert.equal(node.ctx.users.current, 'disconnected');
    report(new IntegrationError('refused', { code: 'X_AUTH', system: 'odoo', retryable: false }));
    assert.equal(node.ctx.users.current, 'failed');
    report();
    assert.equal(node.ctx.users.current, 'connected');
    assert.deepEqual(logged, ['X_DOWN', 'X_AUTH']);
    assert.deepEqual(
      watcher.statuses.map((s) => s.text),
      [undefined, 'X_DOWN', 'X_DOWN', 'X_AUTH', 'status.connected'],
    );
  });

  it('checks a connection: connecting, then connected with what the probe found, or the failure reported', async function () {
    const { create } = load(() => ({}));
    const node = create();
    const watcher = user();
    node.register(watcher);
    const seen: unknown[] = [];
    await node.ctx.check(
      async () => 'v18',
      (v) => seen.push(v),
      (err) => seen.push(err),
    );
    const boom = new Error('no route');
    await node.ctx.check(
      async () => {
        throw boom;
      },
      (v) => seen.push(v),
      (err) => seen.push(err),
    );
    assert.deepEqual(seen, ['v18', boom]);
    assert.deepEqual(
      watcher.statuses.map((s) => s.text),
      [undefined, 'status.connecting', 'status.connected', 'status.connecting'],
    );
  });
});
