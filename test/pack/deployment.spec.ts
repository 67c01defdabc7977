import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import * as yaml from 'js-yaml';
import { documentsTopology } from '../../nodes/clients/amqp/topology';
import { AmqpBroker } from '../../nodes/clients/amqp/broker';
import { AMQP_URL } from '../lib/harness';

const run = promisify(execFile);
const root = path.resolve(__dirname, '..', '..', '..');
const MISSION_ENV = [
  'ODOO_URL',
  'ODOO_DB',
  'ODOO_USERNAME',
  'ODOO_API_KEY',
  'NEXTCLOUD_URL',
  'NEXTCLOUD_USERNAME',
  'NEXTCLOUD_APP_PASSWORD',
  'KEYCLOAK_URL',
  'KEYCLOAK_REALM',
  'KEYCLOAK_CLIENT_ID',
  'KEYCLOAK_CLIENT_SECRET',
  'SHARED_DB_URL',
  'AMQP_URL',
  'NODE_RED_CREDENTIAL_SECRET',
];

interface Compose {
  services: Record<string, { image?: string; ports?: string[]; environment?: Record<string, string>; volumes?: string[] }>;
}

describe('the reference deployment', function () {
  const compose = yaml.load(fs.readFileSync(path.join(root, 'docker-compose.yml'), 'utf8')) as Compose;

  it("docker-compose.yml brings up every system of docs/mission.md on the brief's ports", function () {
    const ports = Object.values(compose.services).flatMap((s) => s.ports ?? []);
    for (const p of ['8069:8069', '8080:8080', '8082:80', '5672:5672', '15672:15672', '5432:5432', '1880:1880']) {
      assert.ok(ports.includes(p), `port ${p} published`);
    }
    for (const s of ['odoo', 'keycloak', 'nextcloud', 'rabbitmq', 'shared-db', 'node-red']) assert.ok(compose.services[s], `service ${s}`);
  });

  it('configures Node-RED only through the environment names of docs/mission.md', function () {
    const env = compose.services['node-red'].environment ?? {};
    for (const name of MISSION_ENV) assert.ok(name in env, `node-red gets ${name}`);
    const example = fs.readFileSync(path.join(root, '.env.example'), 'utf8');
    for (const name of MISSION_ENV) assert.match(example, new RegExp(`^${name}=`, 'm'), `.env.example documents ${name}`);
  });

  it('mounts every seed it names', function () {
    for (const svc of Object.values(compose.services)) {
      for (const v of svc.volumes ?? []) {
        const host = v.split(':')[0];
        if (host.startsWith('./')) assert.ok(fs.existsSync(path.join(root, host)), `${host} exists`);
      }
    }
  });

  it('seeds RabbitMQ with exactly the topology the nodes declare, and RabbitMQ accepts the file', async function () {
    this.timeout(60000);
    const defs = JSON.parse(fs.readFileSync(path.join(root, 'seeds', 'rabbitmq', 'definitions.json'), 'utf8'));
    const t = documentsTopology();
    assert.deepEqual(
      defs.exchanges.map((e: { name: string; type: string }) => [e.name, e.type]),
      t.exchanges.map((e) => [e.exchange, e.type]),
    );
    assert.deepEqual(
      defs.queues.map((q: { name: string; arguments: unknown }) => [q.name, q.arguments]),
      t.queues.map((q) => [q.queue, q.arguments ?? {}]),
    );
    assert.deepEqual(
      defs.bindings.map((b: { source: string; destination: string; routing_key: string }) => [b.source, b.destination, b.routing_key]),
      t.bindings.map((b) => [b.exchange, b.queue, b.routingKey]),
    );

    // Import it into a scratch vhost of the real broker (without its users), then declare the topology there
    // through the client: a mismatch of arguments would fail with PRECONDITION_FAILED.
    const vhost = `clinica-seed-test-${process.pid}`;
    const scratch = { ...defs, users: [], permissions: [], vhosts: [] };
    for (const k of ['exchanges', 'queues', 'bindings']) for (const item of scratch[k]) item.vhost = vhost;
    const file = path.join(os.tmpdir(), `${vhost}.json`);
    fs.writeFileSync(file, JSON.stringify(scratch));
    await run('rabbitmqctl', ['add_vhost', vhost]);
    try {
      await run('rabbitmqctl', ['set_permissions', '-p', vhost, 'guest', '.*', '.*', '.*']);
      await run('rabbitmqctl', ['import_definitions', file]);
      const broker = new AmqpBroker({ url: `${AMQP_URL}/${encodeURIComponent(vhost)}`, connectionName: 'seed-test' });
      try {
        await broker.ensureTopology();
        for (const q of t.queues) assert.ok(await broker.queueDepth(q.queue), `${q.queue} imported`);
      } finally {
        await broker.close();
      }
    } finally {
      await run('rabbitmqctl', ['delete_vhost', vhost]).catch(() => undefined);
      fs.rmSync(file, { force: true });
    }
  });
});
