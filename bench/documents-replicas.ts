/**
 * Document pipeline throughput with 1, 2 and 3 Node-RED replicas (tabs 01 + 02) against the peers, side by side in
 * one run: N invoices posted in the Odoo peer at once (each one's webhook → queue → PDF → Nextcloud → link → ONE note
 * → notification → ack), timed until the last one is stored and noted. The first replica runs in this process and
 * takes Odoo's webhooks; the others are child processes (test/lib/replica.ts) that compete for the queues.
 *
 *   npm run build && node dist/bench/documents-replicas.js [--invoices 200] [--replicas 3]
 */
import { execFileSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { OdooClient } from '../nodes/clients/odoo/client';
import { seedOdoo } from '../seeds/odoo/seed';
import { createTestDatabase, dropTestDatabase } from '../test/lib/pg';
import { shippedTabs } from '../test/lib/flows';
import { pointAutomationRulesAt } from '../test/lib/odoo';
import { startReplica, type Replica } from '../test/lib/replica';
import { startRuntime } from '../test/lib/runtime';
import { KeycloakPeer } from '../peers/keycloak/keycloak-peer';
import { NextcloudPeer } from '../peers/nextcloud/peer';
import { startOdooPeer } from '../peers/odoo';
import { option, until } from './lib/embedded';

const INVOICES = Number(option('invoices', '200'));
const REPLICAS = Number(option('replicas', '3'));
const tabs = ['01 - Document storage (Odoo to Nextcloud).json', '02 - Asynchronous documents (RabbitMQ).json'];

async function main(): Promise<void> {
  const flow = shippedTabs(...tabs);
  const odoo = await startOdooPeer();
  const client = new OdooClient({ url: odoo.url, db: odoo.db, username: odoo.admin.login, apiKey: odoo.admin.apiKey });
  await seedOdoo({ client, nodeRedUrl: 'http://127.0.0.1:9', patients: 20, doctors: 2, medications: 3, appointments: 2, invoices: 0 });
  const patient = odoo.records('res.partner').find((p) => p.x_is_patient)?.id as number;
  const nc = await new NextcloudPeer().start();
  const kc = await KeycloakPeer.start();
  const results: Array<{ replicas: number; seconds: number; perSecond: number }> = [];
  for (let replicas = 1; replicas <= REPLICAS; replicas++) {
    const vhost = `clinica-bench-replicas-${process.pid}-${replicas}`;
    execFileSync('rabbitmqctl', ['add_vhost', vhost], { stdio: 'ignore' });
    execFileSync('rabbitmqctl', ['set_permissions', '-p', vhost, 'guest', '.*', '.*', '.*'], { stdio: 'ignore' });
    const dbUrl = await createTestDatabase('clinica_bench');
    const env = {
      SHARED_DB_URL: dbUrl,
      ODOO_URL: odoo.url,
      ODOO_DB: odoo.db,
      ODOO_USERNAME: odoo.admin.login,
      ODOO_API_KEY: odoo.admin.apiKey,
      ODOO_PASSWORD: odoo.admin.password,
      NEXTCLOUD_URL: nc.url,
      NEXTCLOUD_USERNAME: 'alice',
      NEXTCLOUD_APP_PASSWORD: 'alice-app-password',
      AMQP_URL: `amqp://guest:guest@127.0.0.1:5672/${encodeURIComponent(vhost)}`,
      KEYCLOAK_URL: kc.baseUrl,
      KEYCLOAK_REALM: 'clinica-realm',
    };
    const rt = await startRuntime(flow, { env, logLevel: 'warn' });
    const others: Replica[] = [];
    try {
      for (let i = 1; i < replicas; i++) others.push(await startReplica(flow, env));
      await pointAutomationRulesAt(client, rt.url);
      const ids = await client.create(
        'account.move',
        Array.from({ length: INVOICES }, (_, i) => ({
          move_type: 'out_invoice',
          partner_id: patient,
          invoice_date: '2025-06-20',
          invoice_line_ids: [[0, 0, { name: `Consulta ${replicas}-${i + 1}`, quantity: 1, price_unit: 60 + i }]],
        })),
      );
      const t = performance.now();
      await Promise.all(ids.map((id) => client.call('account.move', 'action_post', [[id]])));
      const noted = (id: number) =>
        odoo.records('mail.message').some((m) => m.model === 'account.move' && m.res_id === id && String(m.body).includes('Nextcloud'));
      const done = await until(() => ids.every((id) => odoo.records('account.move').find((r) => r.id === id)?.x_nextcloud_url && noted(id)), 600000, 50);
      const seconds = (performance.now() - t) / 1000;
      if (!done) throw new Error(`${replicas} replica(s): not every invoice was stored within 10 minutes`);
      results.push({ replicas, seconds, perSecond: INVOICES / seconds });
    } finally {
      for (const r of others) await r.stop().catch(() => undefined);
      await rt.stop();
      await dropTestDatabase(dbUrl).catch(() => undefined);
      execFileSync('rabbitmqctl', ['delete_vhost', vhost], { stdio: 'ignore' });
    }
  }
  client.close();
  await odoo.stop();
  await nc.close();
  await kc.close();
  const one = results[0].perSecond;
  process.stdout.write(`${INVOICES} invoices posted at once, stored in Nextcloud, linked and noted in Odoo (peers):\n`);
  for (const r of results) {
    process.stdout.write(`  ${r.replicas} replica(s): ${r.seconds.toFixed(1)} s, ${r.perSecond.toFixed(1)} documents/s (×${(r.perSecond / one).toFixed(2)})\n`);
  }
  process.stdout.write('(target ≥ 50 documents/s with one replica)\n');
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`documents-replicas failed: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
