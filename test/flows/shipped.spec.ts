/**
 * Every shipped flow: well-formed, explained, free of secrets and host names, and loadable into a real
 * Node-RED runtime with this package, with no unknown node type and no error at start.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { problems, startRuntime } from '../lib/runtime';

const root = path.resolve(__dirname, '..', '..', '..');
const flowsDir = path.join(root, 'flows');
const files = fs
  .readdirSync(flowsDir)
  .filter((f) => f.endsWith('.json'))
  .sort();
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
const ourTypes = new Set(Object.keys(pkg['node-red'].nodes));
/** The dashboard tabs (08a, 08b) use FlowFuse Dashboard 2.0, a dependency of the pack. */
const dashboardTypes = new Set(
  Object.keys(JSON.parse(fs.readFileSync(require.resolve('@flowfuse/node-red-dashboard/package.json'), 'utf8'))['node-red'].nodes as Record<string, string>),
);
/** Node-RED core node types the shipped flows may use. */
const CORE =
  /^(tab|group|comment|inject|debug|function|change|switch|template|delay|trigger|catch|status|complete|link in|link out|link call|http in|http response|http request|json|split|join|range|rbe|filter|sort|batch)$/;

type FlowNode = Record<string, unknown> & { id: string; type: string; z?: string };

/** Properties whose value would be a secret if it were written in the flow. */
const SECRET_KEYS = /^(password|secret|apiKey|api_key|clientSecret|client_secret|token|appPassword)$/i;
const HOST = /(https?|amqps?|postgres(ql)?):\/\/(?!\$\{)|\blocalhost\b|\b\d{1,3}(\.\d{1,3}){3}\b/;

describe('shipped flows', function () {
  it('there are shipped flows, one file per integration pattern', function () {
    assert.ok(files.length >= 1);
  });

  it('keep little JavaScript: at most 250 lines in all function nodes, none over 15 (the logic lives in nodes/domain)', function () {
    let total = 0;
    for (const file of files) {
      for (const n of JSON.parse(fs.readFileSync(path.join(flowsDir, file), 'utf8')) as FlowNode[]) {
        if (n.type !== 'function') continue;
        const lines = String(n.func ?? '')
          .trim()
          .split('\n').length;
        assert.ok(lines <= 15, `${file}: function "${String(n.name)}" has ${lines} lines`);
        total += lines;
      }
    }
    assert.ok(total <= 250, `${total} lines of JavaScript in flows/`);
  });

  for (const file of files) {
    describe(file, function () {
      const nodes = JSON.parse(fs.readFileSync(path.join(flowsDir, file), 'utf8')) as FlowNode[];

      it('is an array of nodes with unique ids, one tab, explained by a comment node', function () {
        assert.ok(Array.isArray(nodes));
        const ids = nodes.map((n) => n.id);
        assert.equal(new Set(ids).size, ids.length, 'ids are unique');
        const tabs = nodes.filter((n) => n.type === 'tab');
        assert.equal(tabs.length, 1, 'one tab per file');
        const comments = nodes.filter((n) => n.type === 'comment' && n.z === tabs[0].id);
        assert.ok(comments.length >= 1 && String(comments[0].info ?? '').length > 200, 'a comment node explains the pattern');
        for (const n of nodes) {
          if (n.type === 'tab' || !('z' in n)) continue;
          assert.equal(n.z, tabs[0].id, `${n.id} is on the tab`);
          assert.notEqual(n.id, n.type, `node id "${n.id}" must differ from its type`);
        }
      });

      it('reads like a diagram: at most 45 nodes, every node in a named group (stages), groups inside the tab', function () {
        const onTab = nodes.filter((n) => 'z' in n && n.type !== 'tab' && n.type !== 'group');
        assert.ok(onTab.length <= 45, `${onTab.length} nodes on the tab`);
        const groups = new Map(nodes.filter((n) => n.type === 'group').map((g) => [g.id, g]));
        assert.ok(groups.size >= 2, 'the stages are named by groups');
        for (const g of groups.values()) assert.match(String(g.name ?? ''), /^\d · \S/, `group ${g.id} is named "<n> · stage"`);
        const [explainer] = nodes.filter((n) => n.type === 'comment');
        for (const n of onTab) {
          if (n === explainer) continue;
          assert.ok(n.g && groups.has(String(n.g)), `${n.id} (${n.type} "${String(n.name ?? '')}") is in a group`);
          assert.ok((groups.get(String(n.g))?.nodes as string[]).includes(n.id), `${n.id} is listed by its group`);
        }
        // Groups do not overlap: a stage is a region of the tab.
        const boxes = [...groups.values()].map((g) => ({ id: g.id, x: Number(g.x), y: Number(g.y), w: Number(g.w), h: Number(g.h) }));
        for (const a of boxes) {
          for (const b of boxes) {
            if (a.id >= b.id) continue;
            const apart = a.x + a.w <= b.x || b.x + b.w <= a.x || a.y + a.h <= b.y || b.y + b.h <= a.y;
            assert.ok(apart, `groups ${a.id} and ${b.id} overlap`);
          }
        }
      });

      it('holds no secret and no host name: connections come from ${ENV}', function () {
        for (const n of nodes) {
          for (const [k, v] of Object.entries(n)) {
            if (typeof v !== 'string') continue;
            if (SECRET_KEYS.test(k)) assert.ok(v === '' || /^\$\{[A-Z0-9_]+\}$/.test(v), `${n.id}.${k} holds a literal secret`);
            if ((n.type.startsWith('clinica-') && n.type.endsWith('-config')) || ['clinica-amqp-broker', 'clinica-keycloak-realm'].includes(n.type)) {
              if (k === 'url') assert.match(v, /^\$\{[A-Z0-9_]+\}/, `${n.id}.url comes from the environment`);
            }
            if (k !== 'info' && k !== 'func' && k !== 'sql') assert.ok(!HOST.test(v), `${n.id}.${k} names a host: ${v}`);
          }
          assert.ok(!('credentials' in n), `${n.id} carries credentials`);
        }
      });

      it('uses only node types of this pack and of Node-RED core', function () {
        for (const n of nodes) {
          if (n.type.startsWith('clinica-')) assert.ok(ourTypes.has(n.type), `${n.type} is registered`);
          else if (n.type.startsWith('ui-')) assert.ok(dashboardTypes.has(n.type), `${n.type} is a FlowFuse Dashboard 2.0 node`);
          else assert.match(n.type, CORE, `${n.id}: ${n.type} is a Node-RED core node`);
        }
      });

      it('loads into a real Node-RED runtime with no unknown type and no error at start', async function () {
        this.timeout(30000);
        const rt = await startRuntime(nodes, {
          // Closed ports: starting must not depend on the systems being up.
          env: {
            SHARED_DB_URL: 'postgres://postgres@127.0.0.1:1/clinica_shared',
            AMQP_URL: 'amqp://guest:guest@127.0.0.1:1',
            KEYCLOAK_URL: 'http://127.0.0.1:1',
            KEYCLOAK_REALM: 'clinica-realm',
            ODOO_URL: 'http://127.0.0.1:1',
            ODOO_DB: 'clinica',
            ODOO_USERNAME: 'admin',
            ODOO_API_KEY: 'x',
            NEXTCLOUD_URL: 'http://127.0.0.1:1',
            NEXTCLOUD_USERNAME: 'admin',
            NEXTCLOUD_APP_PASSWORD: 'x',
          },
        });
        try {
          await new Promise((r) => setTimeout(r, 300));
          const started = rt.RED.nodes.getFlows().flows as FlowNode[];
          assert.equal(started.length, nodes.length);
          for (const n of nodes) {
            if (n.type === 'tab' || n.type === 'comment' || n.type === 'group') continue;
            if (!('z' in n)) continue;
            assert.ok(rt.getNode(n.id), `${n.id} (${n.type}) is running`);
          }
          const bad = problems(rt.logs, 20).filter((l) => !/ECONNREFUSED|UNREACHABLE|unreachable|reconnect/i.test(l));
          assert.deepEqual(bad, [], 'no error at start other than the systems being down');
          assert.ok(!rt.logs.some((r) => /missing types|Waiting for missing/i.test(String(r.msg))), 'no unknown node type');
        } finally {
          await rt.stop();
        }
      });
    });
  }
});
