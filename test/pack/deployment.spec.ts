import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { documentsTopology } from '../../nodes/clients/amqp/topology';
import { AmqpBroker } from '../../nodes/clients/amqp/broker';
import { AMQP_URL } from '../lib/harness';

const run = promisify(execFile);
const root = path.resolve(__dirname, '..', '..', '..');

// docker-compose.yml itself: test/pack/compose.spec.ts.
describe('the reference deployment: RabbitMQ', function () {
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
