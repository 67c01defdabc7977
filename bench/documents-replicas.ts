/**
 * Document pipeline throughput with 1, 2 and 3 Node-RED replicas (tabs 01 + 02) against the peers, side by side in
 * one run with a raw script doing the same steps with the same guarantees (bench/lib/raw-documents.ts: node:http
 * webhook receiver, amqplib with a confirm channel and manual ack, JSON-RPC and WebDAV with fetch): N
 * invoices posted in the Odoo peer at once (each one's webhook → queue → PDF → Nextcloud → link → ONE note →
 * notification → ack), timed until the last one is stored and noted. The first replica (and the raw script) runs in
 * this process, beside the peers, and takes Odoo's webhooks; the others are child processes (test/lib/replica.ts)
 * that compete for the queues. Each variant gets a fresh RabbitMQ vhost (and shared database); with --rounds > 1 the
 * order of the variants alternates (raw first, then last), so a drift of the shared machine falls on all of them.
 *
 *   npm run build && node dist/bench/documents-replicas.js [--invoices 200] [--replicas 3] [--rounds 1] [--only raw|1|2|3] [--profile /tmp/docs]
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { Session } from 'node:inspector';
import * as os from 'node:os';
import { performance } from 'node:perf_hooks';
import { OdooClient } from '../nodes/clients/odoo/client';
import { seedOdoo } from '../seeds/odoo/seed';
import { createTestDatabase, dropTestDatabase } from '../test/lib/pg';
import { shippedTabs } from '../test/lib/flows';
import { draftInvoices, pipelineEnv } from '../test/lib/pipeline';
import { pointAutomationRulesAt } from '../test/lib/odoo';
import { startReplica, type Replica } from '../test/lib/replica';
import { startRuntime } from '../test/lib/runtime';
import { KeycloakPeer } from '../peers/keycloak/keycloak-peer';
import { NextcloudPeer } from '../peers/nextcloud/peer';
import { startOdooPeer } from '../peers/odoo';
import { option, until } from './lib/embedded';
import { startRawDocuments } from './lib/raw-documents';

const INVOICES = Number(option('invoices', '200'));
const REPLICAS = Number(option('replicas', '3'));
const ROUNDS = Number(option('rounds', '1'));
/** One variant only (raw, or a number of replicas), e.g. under node --cpu-prof. */
const ONLY = option('only');
/** A CPU profile of this process over the timed part of each variant only, written to <prefix>-<round>-<variant>.cpuprofile. */
const PROFILE = option('profile');
/** What if: the flow's invoice_queue consumer (and the raw script) with another prefetch. */
const PREFETCH = Number(option('prefetch', '0'));
const tabs = ['01 - Document storage (Odoo to Nextcloud).json', '02 - Asynchronous documents (RabbitMQ).json'];

type Variant = 'raw' | number;

/**
 * CPU time (ms) used so far by this process (the peers, the raw script or the first replica) and the replicas' child
 * processes (/proc/<pid>/stat: utime + stime, in clock ticks of 10 ms); RabbitMQ and PostgreSQL are not counted.
 */
function cpuOf(children: Replica[]): number {
  const own = process.cpuUsage();
  let ms = (own.user + own.system) / 1000;
  for (const r of children) {
    const fields = fs.readFileSync(`/proc/${r.process.pid}/stat`, 'utf8').split(') ')[1].split(' ');
    ms += (Number(fields[11]) + Number(fields[12])) * 10;
  }
  return ms;
}

/** Starts V8's CPU profiler in this process; the function returned stops it and gives the profile. */
async function startProfile(): Promise<() => Promise<object>> {
  const session = new Session();
  session.connect();
  const post = (method: string, params?: object) =>
    new Promise<Record<string, unknown>>((resolve, reject) =>
      session.post(method, params, (err, res) => (err ? reject(err) : resolve(res as Record<string, unknown>))),
    );
  await post('Profiler.enable');
  await post('Profiler.setSamplingInterval', { interval: 500 });
  await post('Profiler.start');
  return async () => {
    const { profile } = await post('Profiler.stop');
    session.disconnect();
    return profile as object;
  };
}
const label = (v: Variant) => (v === 'raw' ? 'raw script' : `${v} replica(s)`);

async function main(): Promise<void> {
  const flow = shippedTabs(...tabs);
  /** The raw consumer takes as many deliveries at once as the flow's invoice_queue consumer (--prefetch: both). */
  const consumer = (flow as Array<{ id: string; prefetch?: number }>).find((n) => n.id === 'docq.consume.invoice')!;
  if (PREFETCH) consumer.prefetch = PREFETCH;
  const prefetch = Number(consumer.prefetch);
  const odoo = await startOdooPeer();
  const client = new OdooClient({ url: odoo.url, db: odoo.db, username: odoo.admin.login, apiKey: odoo.admin.apiKey });
  await seedOdoo({ client, nodeRedUrl: 'http://127.0.0.1:9', patients: 20, doctors: 2, medications: 3, appointments: 2, invoices: 0 });
  const patient = odoo.records('res.partner').find((p) => p.x_is_patient)?.id as number;
  const nc = await new NextcloudPeer().start();
  const kc = await KeycloakPeer.start();
  const moves = odoo.registry.tables.get('account.move')!;
  const messages = odoo.registry.tables.get('mail.message')!;
  /** Every invoice has its link, and a note that names Nextcloud (the peer's tables, read in place: no copies). */
  const allDone = (ids: number[]): boolean => {
    if (!ids.every((id) => moves.get(id)?.x_nextcloud_url)) return false;
    const left = new Set(ids);
    for (const m of messages.values())
      if (m.model === 'account.move' && left.has(m.res_id as number) && String(m.body).includes('Nextcloud')) left.delete(m.res_id as number);
    return left.size === 0;
  };
  const results: Array<{ round: number; variant: Variant; seconds: number; perSecond: number; cpuPerDoc: number }> = [];
  const variants: Variant[] = ONLY ? [ONLY === 'raw' ? 'raw' : Number(ONLY)] : ['raw', ...Array.from({ length: REPLICAS }, (_, i) => i + 1)];
  process.stdout.write(
    `load average ${os
      .loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')} (${os.cpus().length} cores); prefetch ${prefetch} (the flow's, and the raw script's)\n`,
  );
  for (let round = 1; round <= ROUNDS; round++) {
    for (const variant of round % 2 ? variants : [...variants].reverse()) {
      const vhost = `clinica-bench-replicas-${process.pid}-${round}-${variant}`;
      execFileSync('rabbitmqctl', ['add_vhost', vhost], { stdio: 'ignore' });
      execFileSync('rabbitmqctl', ['set_permissions', '-p', vhost, 'guest', '.*', '.*', '.*'], { stdio: 'ignore' });
      const amqpUrl = `amqp://guest:guest@127.0.0.1:5672/${encodeURIComponent(vhost)}`;
      const dbUrl = variant === 'raw' ? undefined : await createTestDatabase('clinica_bench');
      const env = pipelineEnv({ odoo, nc, kc, amqpUrl, dbUrl });
      const raw =
        variant === 'raw'
          ? await startRawDocuments({
              odoo: { url: odoo.url, db: odoo.db, login: odoo.admin.login, apiKey: odoo.admin.apiKey, password: odoo.admin.password },
              nextcloud: { url: nc.url, user: 'alice', password: 'alice-app-password' },
              amqpUrl,
              prefetch,
            })
          : undefined;
      const rt = variant === 'raw' ? undefined : await startRuntime(flow, { env, logLevel: 'warn' });
      const others: Replica[] = [];
      try {
        for (let i = 1; i < (variant === 'raw' ? 0 : variant); i++) others.push(await startReplica(flow, env));
        await pointAutomationRulesAt(client, (raw ?? rt)!.url);
        const ids = await client.create('account.move', draftInvoices(patient, INVOICES, `${round}-${variant}-`));
        const profiler = PROFILE ? await startProfile() : undefined;
        const cpu = cpuOf(others);
        const t = performance.now();
        await Promise.all(ids.map((id) => client.call('account.move', 'action_post', [[id]])));
        const posted = (performance.now() - t) / 1000;
        const done = await until(() => allDone(ids), 600000, 50);
        const seconds = (performance.now() - t) / 1000;
        const cpuMs = cpuOf(others) - cpu;
        if (profiler) fs.writeFileSync(`${PROFILE}-${round}-${variant}.cpuprofile`, JSON.stringify(await profiler()));
        if (!done) throw new Error(`${label(variant)}: not every invoice was stored within 10 minutes`);
        if (raw?.stats.failures.length) throw new Error(`raw script: ${raw.stats.failures.length} failures, first: ${raw.stats.failures[0]}`);
        results.push({ round, variant, seconds, perSecond: INVOICES / seconds, cpuPerDoc: cpuMs / INVOICES });
        process.stdout.write(
          `  round ${round}, ${label(variant)}: ${seconds.toFixed(2)} s, ${(INVOICES / seconds).toFixed(1)} documents/s (the posting, webhooks inside, took ${posted.toFixed(2)} s); CPU ${(cpuMs / INVOICES).toFixed(1)} ms a document\n`,
        );
      } finally {
        for (const r of others) await r.stop().catch(() => undefined);
        await rt?.stop();
        await raw?.stop();
        if (dbUrl) await dropTestDatabase(dbUrl).catch(() => undefined);
        execFileSync('rabbitmqctl', ['delete_vhost', vhost], { stdio: 'ignore' });
      }
    }
  }
  client.close();
  await odoo.stop();
  await nc.close();
  await kc.close();
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
  if (ONLY) return;
  const rate = (v: Variant) => median(results.filter((r) => r.variant === v).map((r) => r.perSecond));
  const ratios = Array.from({ length: ROUNDS }, (_, i) => {
    const of = (v: Variant) => results.find((r) => r.round === i + 1 && r.variant === v)!.perSecond;
    return of(1) / of('raw');
  });
  process.stdout.write(
    `\n${INVOICES} invoices posted at once, stored in Nextcloud, linked and noted in Odoo (peers)${ROUNDS > 1 ? `, median of ${ROUNDS} rounds` : ''}:\n`,
  );
  const cpu = (v: Variant) => median(results.filter((r) => r.variant === v).map((r) => r.cpuPerDoc));
  process.stdout.write(`  raw script: ${rate('raw').toFixed(1)} documents/s, CPU ${cpu('raw').toFixed(1)} ms a document\n`);
  for (let n = 1; n <= REPLICAS; n++) {
    process.stdout.write(
      `  ${n} replica(s): ${rate(n).toFixed(1)} documents/s (×${(rate(n) / rate(1)).toFixed(2)} of one replica), CPU ${cpu(n).toFixed(1)} ms a document\n`,
    );
  }
  process.stdout.write(
    `  one replica / raw script, per round: ${ratios.map((r) => `${(100 * r).toFixed(0)} %`).join(', ')}\n(targets: ≥ 50 documents/s with one replica, ≥ 70 % of the raw script)\n`,
  );
  process.stdout.write(
    `load average ${os
      .loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}\n`,
  );
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`documents-replicas failed: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
