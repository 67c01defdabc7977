/**
 * Fault injection on the document pipeline (tabs 01 + 02) under load, with real RabbitMQ (scratch vhost) and
 * PostgreSQL, the Odoo, Nextcloud and Keycloak peers, and a second Node-RED replica in a child process: each case
 * posts a batch of invoices in Odoo (each one's webhook → queue → PDF → Nextcloud → link → ONE note → notification),
 * injects one fault mid-batch, and then checks every job's effect exists exactly once (one file, its link, ONE chatter
 * note), nothing is left in the queues, dead letters only where the fault was permanent, and how long the pipeline
 * took to finish after the fault. A table is printed at the end (the README keeps the latest one).
 *
 * Short variants run in `npm test`; FAULTS_SCALE=4 (npm run test:faults) runs them with four times the jobs and
 * the longer outages.
 */
import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { AmqpBroker } from '../../nodes/clients/amqp';
import { OdooClient } from '../../nodes/clients/odoo/client';
import { seedOdoo } from '../../seeds/odoo/seed';
import { SCALE, faultTable, type Outcome } from '../lib/faults';
import { AMQP_URL, sleep, uniqueName, waitFor } from '../lib/harness';
import { createTestDatabase, dropTestDatabase } from '../lib/pg';
import { draftInvoices, pipelineEnv, storageNotes, storedCopies } from '../lib/pipeline';
import { pointAutomationRulesAt } from '../lib/odoo';
import { shippedTabs } from '../lib/flows';
import { startReplica } from '../lib/replica';
import { startRuntime, type Runtime } from '../lib/runtime';
import { KeycloakPeer } from '../../peers/keycloak/keycloak-peer';
import { NextcloudPeer } from '../../peers/nextcloud/peer';
import { startOdooPeer, type OdooPeer } from '../../peers/odoo';

const run = promisify(execFile);
const flow = shippedTabs('01 - Document storage (Odoo to Nextcloud).json', '02 - Asynchronous documents (RabbitMQ).json');
const QUEUES = ['invoice_queue', 'medical_records_queue', 'notification_queue'];
const NC_USER = 'alice';

describe('fault injection: the document pipeline under load (real broker and database, peers, two replicas)', function () {
  this.timeout(300000);
  let odoo: OdooPeer;
  let client: OdooClient;
  let nc: NextcloudPeer;
  let kc: KeycloakPeer;
  let rt: Runtime;
  let broker: AmqpBroker;
  let dbUrl: string;
  let killReplica: (() => void) | undefined;
  const vhost = uniqueName('clinica-faults');
  let vhostCreated = false;
  const outcomes: Outcome[] = [];
  let patient = 0;

  const record = (id: number) => odoo.records('account.move').find((r) => r.id === id);
  const notes = (id: number) => storageNotes(odoo, id);
  /** Files of an invoice in its folder: the stored one and any "(2)" copy. */
  const copies = (id: number) => storedCopies(nc, NC_USER, record(id)?.x_nextcloud_path);
  /** Messages waiting in a queue; while the test's own connection is being closed by a fault, "unknown" (keep waiting). */
  const depth = async (queue: string) => (await broker.queueDepth(queue).catch(() => ({ messages: Infinity })))?.messages ?? 0;
  const dlqDepth = async () => {
    let n = 0;
    for (const q of QUEUES) n += await depth(`${q}.dlq`);
    return n;
  };

  async function postInvoices(n: number): Promise<number[]> {
    const ids = await client.create('account.move', draftInvoices(patient, n));
    void Promise.all(ids.map((id) => client.call('account.move', 'action_post', [[id]])));
    return ids;
  }

  /** Waits for every job to finish, then counts what is missing, doubled and dead-lettered. */
  async function settle(fault: string, ids: number[], faultAt: number, permanent = false): Promise<Outcome> {
    const deadBefore = deadAtStart;
    const deadline = Date.now() + 120000;
    let done = false;
    while (Date.now() < deadline) {
      const stored = ids.filter((id) => record(id)?.x_nextcloud_url && notes(id).length >= 1).length;
      const queued = (await Promise.all(QUEUES.map(depth))).reduce((a, b) => a + b, 0);
      if ((stored === ids.length || permanent) && queued === 0) {
        done = true;
        break;
      }
      await sleep(100);
    }
    const recoveryMs = Date.now() - faultAt;
    const lost = ids.filter((id) => !record(id)?.x_nextcloud_url || notes(id).length === 0).length;
    const duplicated = ids.filter((id) => notes(id).length > 1 || copies(id) > 1).length;
    const outcome = { fault, jobs: ids.length, lost, duplicated, deadLettered: (await dlqDepth()) - deadBefore, recoveryMs };
    outcomes.push(outcome);
    assert.ok(done, `${fault}: the pipeline did not settle: ${JSON.stringify(outcome)}`);
    return outcome;
  }

  /** Dead letters already there when a case starts (a case counts only its own). */
  let deadAtStart = 0;
  beforeEach(async function () {
    deadAtStart = await dlqDepth();
  });

  before(async function () {
    odoo = await startOdooPeer();
    client = new OdooClient({ url: odoo.url, db: odoo.db, username: odoo.admin.login, apiKey: odoo.admin.apiKey, retryDelayMs: 10 });
    await seedOdoo({ client, nodeRedUrl: 'http://127.0.0.1:9', patients: 20, doctors: 2, medications: 3, appointments: 2, invoices: 0 });
    patient = odoo.records('res.partner').find((p) => p.x_is_patient)?.id as number;
    nc = await new NextcloudPeer().start();
    kc = await KeycloakPeer.start();
    await run('rabbitmqctl', ['add_vhost', vhost]);
    vhostCreated = true;
    await run('rabbitmqctl', ['set_permissions', '-p', vhost, 'guest', '.*', '.*', '.*']);
    dbUrl = await createTestDatabase();
    const amqpUrl = `${AMQP_URL}/${encodeURIComponent(vhost)}`;
    rt = await startRuntime(flow, {
      logLevel: 'warn',
      env: pipelineEnv({ odoo, nc, kc, amqpUrl, dbUrl, ncUser: NC_USER }),
    });
    broker = new AmqpBroker({ url: amqpUrl, connectionName: 'faults-test' });
    await pointAutomationRulesAt(client, rt.url);
  });

  after(async function () {
    killReplica?.();
    if (outcomes.length) process.stdout.write(faultTable(outcomes));
    await rt?.stop();
    await broker?.close();
    client?.close();
    await odoo?.stop();
    await nc?.close();
    await kc?.close();
    if (dbUrl) await dropTestDatabase(dbUrl).catch(() => undefined);
    if (vhostCreated) await run('rabbitmqctl', ['delete_vhost', vhost]).catch(() => undefined);
  });

  it('the broker connections closed mid-batch: every invoice stored, linked and noted once; no dead letter', async function () {
    const ids = await postInvoices(20 * SCALE);
    await waitFor(() => ids.some((id) => record(id)?.x_nextcloud_url), 'the batch under way', 30000, 20);
    const at = Date.now();
    await run('rabbitmqctl', ['close_all_connections', '--vhost', vhost, 'fault injection: connections closed']);
    const o = await settle('broker connections closed (`rabbitmqctl close_all_connections`)', ids, at);
    assert.deepEqual([o.lost, o.duplicated, o.deadLettered], [0, 0, 0], JSON.stringify(o));
  });

  it('the WebDAV server down mid-batch, then back: retried, every invoice stored once; no dead letter', async function () {
    const ids = await postInvoices(20 * SCALE);
    await waitFor(() => ids.some((id) => record(id)?.x_nextcloud_url), 'the batch under way', 30000, 20);
    await nc.stop();
    const at = Date.now();
    // The outage is 30 s: the long variant (npm run test:faults) takes it; npm test a short one.
    const downS = SCALE > 1 ? 30 : 3;
    await sleep(downS * 1000);
    await nc.start();
    const o = await settle(`Nextcloud down ${downS} s`, ids, at);
    assert.deepEqual([o.lost, o.duplicated, o.deadLettered], [0, 0, 0], JSON.stringify(o));
  });

  it('malformed webhooks and AMQP messages mixed into a batch: the good ones stored once, the bad ones answered 400 or dead-lettered with the reason', async function () {
    const ids = await postInvoices(10 * SCALE);
    const bad: Array<Promise<number>> = [];
    for (let i = 0; i < 5 * SCALE; i++) {
      for (const body of ['{"_model": "account.move", "_id": "x"}', 'not json', '{"__proto__": {"polluted": true}, "_model": "account.move", "_id": -1}']) {
        bad.push(fetch(`${rt.url}/odoo/webhook/invoice`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body }).then((r) => r.status));
      }
      await broker.publish({ exchange: 'documents_exchange', routingKey: 'invoice.created', body: Buffer.from('{"broken": '), messageId: `poison-${i}` });
    }
    const statuses = await Promise.all(bad);
    const at = Date.now();
    assert.ok(
      statuses.every((st) => st === 400 || st === 202),
      `malformed webhooks answered 400 (or acknowledged and dropped): ${[...new Set(statuses)].join(', ')}`,
    );
    // The poison messages may still be in flight (unacked, not counted as waiting) when the queues look empty.
    await waitFor(async () => (await dlqDepth()) - deadAtStart >= 5 * SCALE, 'every poison message dead-lettered', 30000, 50);
    const o = await settle('malformed webhooks and AMQP messages mixed in', ids, at);
    assert.deepEqual([o.lost, o.duplicated], [0, 0], JSON.stringify(o));
    assert.equal(o.deadLettered, 5 * SCALE, 'each poison message dead-lettered, nothing else');
    assert.ok(!('polluted' in Object.prototype), 'no prototype pollution');
  });

  it('a second replica killed with SIGKILL mid-batch: its unacked jobs come back to the other; each stored once', async function () {
    const replica = await startReplica(flow);
    killReplica = replica.kill;
    // Both replicas consume invoice_queue now (the webhooks still come to the first).
    await waitFor(async () => ((await broker.queueDepth('invoice_queue'))?.consumers ?? 0) >= 2, 'two consumers', 30000, 100);
    const ids = await postInvoices(30 * SCALE);
    await waitFor(() => ids.filter((id) => record(id)?.x_nextcloud_url).length >= 3, 'the batch under way', 30000, 10);
    replica.kill();
    const at = Date.now();
    killReplica = undefined;
    const o = await settle('a replica killed (SIGKILL) mid-batch', ids, at);
    assert.deepEqual([o.lost, o.duplicated, o.deadLettered], [0, 0, 0], JSON.stringify(o));
  });
});
