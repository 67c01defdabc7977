/**
 * The Odoo peer as a process: for benchmarks (its work then runs on another core) and for teams who want
 * an Odoo to point a Node-RED at without installing one.
 *
 *   node dist/peers/odoo/cli.js [--port 8069] [--version 18] [--partners 50000] [--seed]
 *
 * Prints one JSON line {url, db, login, password, apiKey} when ready. Reads commands on stdin, one per
 * line, answering one JSON line each: `cpu` (its CPU time in ms), `latency <ms>`, `quit`.
 * --seed runs the pack's Odoo seed against it (the clinic's modules and test data).
 */
import * as readline from 'node:readline';
import { startOdooPeer } from './index';
import { OdooClient } from '../../nodes/clients/odoo/client';
import { seedOdoo } from '../../seeds/odoo/seed';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const FIRST = ['Lucía', 'Hugo', 'Martina', 'Mateo', 'Sofía', 'Leo', 'María', 'Daniel', 'Julia', 'Pablo', 'Paula', 'Álvaro'];
const LAST = ['García', 'Rodríguez', 'González', 'Fernández', 'López', 'Martínez', 'Sánchez', 'Pérez', 'Gómez', 'Martín'];
const CITIES = ['Madrid', 'Sevilla', 'Valencia', 'Zaragoza', 'Málaga', 'Bilbao', 'Valladolid', 'Granada'];

async function main(): Promise<void> {
  const version = Number(arg('version') ?? 18) as 17 | 18 | 19;
  const peer = await startOdooPeer({ version, port: Number(arg('port') ?? 0), host: arg('host') ?? '127.0.0.1' });
  const partners = Number(arg('partners') ?? 0);
  const now = '2025-06-01 08:00:00';
  for (let i = 0; i < partners; i++) {
    const first = FIRST[i % FIRST.length];
    const last = `${LAST[(i * 7) % LAST.length]} ${LAST[(i * 3) % LAST.length]}`;
    peer.registry.insertRaw(
      'res.partner',
      {
        name: `${first} ${last} ${i + 1}`,
        email: `${first.toLowerCase()}.${i + 1}@pacientes.example`,
        phone: `+34 6${String(10000000 + i).slice(-8)}`,
        street: `Calle Mayor ${1 + (i % 150)}, ${1 + (i % 9)}º`,
        city: CITIES[i % CITIES.length],
        zip: String(28001 + (i % 900)),
        country_id: 68,
        vat: `ES${String(10000000 + i)}${'TRWAGMYFPDXBNJZSQVHLCKE'[i % 23]}`,
        active: true,
        type: 'contact',
        customer_rank: 1,
      },
      now,
    );
  }
  if (process.argv.includes('--seed')) {
    const client = new OdooClient({ url: peer.url, db: peer.db, username: peer.admin.login, apiKey: peer.admin.apiKey });
    await seedOdoo({ client, nodeRedUrl: arg('node-red-url') });
    client.close();
  }
  process.stdout.write(
    `${JSON.stringify({ url: peer.url, db: peer.db, login: peer.admin.login, password: peer.admin.password, apiKey: peer.admin.apiKey, version })}\n`,
  );
  const lines = readline.createInterface({ input: process.stdin });
  const stop = async () => {
    await peer.stop();
    process.exit(0);
  };
  lines.on('line', (line) => {
    const [cmd, value] = line.trim().split(/\s+/);
    if (cmd === 'cpu') {
      const u = process.cpuUsage();
      process.stdout.write(`${JSON.stringify({ cpuMs: Math.round((u.user + u.system) / 1000) })}\n`);
    } else if (cmd === 'latency') {
      peer.setLatency(Number(value) || 0);
      process.stdout.write('{"ok":true}\n');
    } else if (cmd === 'quit') {
      void stop();
    }
  });
  process.on('SIGTERM', () => void stop());
  process.on('SIGINT', () => void stop());
}

main().catch((err: unknown) => {
  process.stderr.write(`odoo peer: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
