/**
 * Upsert of 50,000 medications into shared_medications on the local PostgreSQL:
 *   node:   clinica-db-upsert in a real Node-RED runtime (one message with 50,000 records; one transaction)
 *   client: the pack's upsert() alone
 *   raw:    plain `pg`, multi-row INSERT … VALUES … ON CONFLICT DO UPDATE in chunks under the 65,535-parameter
 *           limit, one transaction (what a hand-written sync would do)
 * Each path runs on a fresh table (all inserts) and again on the same data (all unchanged), and once with every
 * stock changed (all updates).
 * Run: npm run build && node dist/bench/shared-db-upsert.js [rows]
 */
import { performance } from 'node:perf_hooks';
import { Client } from 'pg';
import { SharedDb, migrate, upsert } from '../nodes/clients/shared-db';
import { PG_BASE_URL } from './lib/env';
import { startEmbedded } from './lib/embedded';

const ROWS = Number(process.argv[2] ?? 50000);

type Med = Record<string, unknown>;

function medications(stockOffset: number): Med[] {
  return Array.from({ length: ROWS }, (_, i) => ({
    odoo_product_id: i + 1,
    name: `Medicamento ${i + 1} 500 mg`,
    generic_name: `Genérico ${i % 997}`,
    category: `Categoría ${i % 23}`,
    stock_quantity: ((i * 7) % 500) + stockOffset,
    min_stock_level: 20,
    max_stock_level: 400,
    unit_price: ((i % 1000) + 0.5) / 10,
    expiration_date: '2027-06-30',
    supplier_id: i % 50,
    active: true,
    odoo_write_date: new Date(Date.UTC(2025, 0, 1) + stockOffset * 1000).toISOString(),
  }));
}

const COLUMNS = [
  'odoo_product_id',
  'name',
  'generic_name',
  'category',
  'stock_quantity',
  'min_stock_level',
  'max_stock_level',
  'unit_price',
  'expiration_date',
  'supplier_id',
  'active',
  'odoo_write_date',
];

async function rawUpsert(url: string, rows: Med[]): Promise<void> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    await client.query('BEGIN');
    const perChunk = Math.floor(65535 / COLUMNS.length);
    const updates = COLUMNS.filter((c) => c !== 'odoo_product_id')
      .map((c) => `${c} = EXCLUDED.${c}`)
      .join(', ');
    for (let start = 0; start < rows.length; start += perChunk) {
      const chunk = rows.slice(start, start + perChunk);
      const params: unknown[] = [];
      const values = chunk.map(
        (r) =>
          `(${COLUMNS.map((c) => {
            params.push(r[c]);
            return `$${params.length}`;
          }).join(', ')}, now())`,
      );
      await client.query(
        `INSERT INTO shared_medications (${COLUMNS.join(', ')}, last_sync) VALUES ${values.join(', ')}
         ON CONFLICT (odoo_product_id) DO UPDATE SET ${updates}, last_sync = now()`,
        params,
      );
    }
    await client.query('COMMIT');
  } finally {
    await client.end();
  }
}

async function freshDatabase(name: string): Promise<string> {
  const admin = new Client({ connectionString: `${PG_BASE_URL}/postgres` });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = `${PG_BASE_URL}/${name}`;
  const db = new SharedDb({ url, max: 1 });
  await migrate(db);
  await db.close();
  return url;
}

async function truncate(url: string): Promise<void> {
  const c = new Client({ connectionString: url });
  await c.connect();
  await c.query('TRUNCATE shared_medications RESTART IDENTITY CASCADE');
  await c.end();
}

async function time(fn: () => Promise<unknown>): Promise<number> {
  const t = performance.now();
  await fn();
  return (performance.now() - t) / 1000;
}

async function main(): Promise<void> {
  const dbName = `clinica_bench_${process.pid}`;
  const url = await freshDatabase(dbName);
  const first = medications(0);
  const changed = medications(1);
  process.stdout.write(`Upsert of ${ROWS} medications into shared_medications (PostgreSQL on 127.0.0.1), seconds\n`);
  process.stdout.write(`${'path'.padEnd(34)} ${'insert'.padStart(8)} ${'same again'.padStart(11)} ${'all changed'.padStart(12)}\n`);

  const db = new SharedDb({ url });
  const red = await startEmbedded([
    { id: 'tab', type: 'tab', label: 'bench' },
    { id: 'db', type: 'clinica-db-config', url, migrate: false },
    { id: 'up', z: 'tab', type: 'clinica-db-upsert', config: 'db', entity: 'medications', wires: [['out']] },
    { id: 'out', z: 'tab', type: 'junction', wires: [] },
  ]);
  const viaNode = (rows: Med[]) =>
    new Promise<void>((resolve, reject) => {
      const out = red.getNode('out');
      const listener = () => {
        out.removeListener('input', listener);
        resolve();
      };
      out.on('input', listener);
      red.getNode('up').receive({ payload: rows });
      setTimeout(() => reject(new Error('node upsert timed out')), 60000).unref();
    });

  const results: Record<string, number[]> = {};
  for (let round = 0; round < 2; round++) {
    const paths: Array<[string, (rows: Med[]) => Promise<unknown>]> = [
      ['raw pg multi-row VALUES', (rows) => rawUpsert(url, rows)],
      ['pack client upsert()', (rows) => upsert(db, 'medications', rows)],
      ['clinica-db-upsert node', viaNode],
    ];
    for (const [name, run] of paths) {
      await truncate(url);
      const t = [await time(() => run(first)), await time(() => run(first)), await time(() => run(changed))];
      if (round === 1) {
        results[name] = t;
        process.stdout.write(`${name.padEnd(34)} ${t[0].toFixed(2).padStart(8)} ${t[1].toFixed(2).padStart(11)} ${t[2].toFixed(2).padStart(12)}\n`);
      }
    }
  }
  const node = results['clinica-db-upsert node'];
  const raw = results['raw pg multi-row VALUES'];
  process.stdout.write(
    `node / raw: insert ${(node[0] / raw[0]).toFixed(2)}x, same again ${(node[1] / raw[1]).toFixed(2)}x, all changed ${(node[2] / raw[2]).toFixed(2)}x (targets: < 3 s, <= 1.5x)\n`,
  );
  await red.stop();
  await db.close();
  const admin = new Client({ connectionString: `${PG_BASE_URL}/postgres` });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
  await admin.end();
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`${err.stack ?? err}\n`);
    process.exit(1);
  },
);
