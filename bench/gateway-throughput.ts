/**
 * The API gateway under load: `GET /api/medications?limit=50` with a valid token through the shipped tab 05 in a real
 * Node-RED with the gateway plugin fully on (security headers, CORS, rate limit in PostgreSQL high enough not to
 * trigger, query validation, access log, metrics; audit not applicable: no patient data), side by side with a raw
 * Express + pg + jose server serving the same query after the same token check, 50 keep-alive clients in a worker
 * thread, alternating slices. Then `GET /api/patients?limit=50` (patient data: audited) against the same raw server,
 * and once more with API_AUDIT=off, to show the audit's cost.
 *
 *   npm run build && node dist/bench/gateway-throughput.js [--duration 8000] [--concurrency 50] [--slice 1000]
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import express from 'express';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { Pool } from 'pg';
import { SharedDb, migrate, upsert } from '../nodes/clients/shared-db';
import { createTestDatabase, dropTestDatabase } from '../test/lib/pg';
import { startRuntime } from '../test/lib/runtime';
import { KeycloakPeer } from '../peers/keycloak/keycloak-peer';
import { userToken } from '../peers/keycloak/user-token';
import { runLoad, type LoadResult } from './keycloak-load';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : NaN;
  return Number.isFinite(v) && v > 0 ? v : fallback;
}

const SQL = {
  medications: `SELECT id, odoo_product_id, name, generic_name, category, stock_quantity::float AS stock_quantity, min_stock_level::float AS min_stock_level,
       max_stock_level::float AS max_stock_level, unit_price::float AS unit_price, expiration_date, (stock_quantity < min_stock_level) AS is_low
  FROM shared_medications WHERE active ORDER BY name, id LIMIT $1 OFFSET $2`,
  patients: `SELECT id, odoo_id, name, email, phone, vat, birthdate, last_sync FROM shared_patients WHERE active ORDER BY name, id LIMIT $1 OFFSET $2`,
};
const ROLES: Record<keyof typeof SQL, string[]> = {
  medications: ['farmacia', 'medico', 'enfermeria', 'admin'],
  patients: ['medico', 'enfermeria', 'recepcion', 'admin'],
};

/** The baseline: a hand-written Express server with jose and pg doing the same check and query. */
async function rawServer(peer: KeycloakPeer, dbUrl: string): Promise<{ url: string; close(): Promise<void> }> {
  const jwks = createRemoteJWKSet(new URL(`${peer.issuer}/protocol/openid-connect/certs`));
  const pool = new Pool({ connectionString: dbUrl, max: 10 });
  const app = express();
  for (const listing of Object.keys(SQL) as Array<keyof typeof SQL>) {
    app.get(`/api/${listing}`, (req, res) => {
      const m = /^Bearer (\S+)$/i.exec(req.headers.authorization ?? '');
      if (!m) return void res.status(401).end();
      jwtVerify(m[1], jwks, { issuer: peer.issuer, clockTolerance: 10 })
        .then(async ({ payload }) => {
          const roles = (payload.realm_access as { roles?: string[] } | undefined)?.roles ?? [];
          if (!roles.some((r) => ROLES[listing].includes(r))) return void res.status(403).end();
          const limit = Math.min(Math.max(Number(req.query.limit) || 50, 1), 200);
          const rows = (await pool.query(SQL[listing], [limit, 0])).rows;
          res.set('Cache-Control', 'no-store').json({ data: rows, page: { limit, offset: 0, count: rows.length } });
        })
        .catch(() => res.status(401).end());
    });
  }
  const server = http.createServer(app);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      await pool.end();
    },
  };
}

async function main(): Promise<void> {
  const durationMs = arg('duration', 8000);
  const concurrency = arg('concurrency', 50);
  const sliceMs = arg('slice', 1000);
  const peer = await KeycloakPeer.start();
  const dbUrl = await createTestDatabase('clinica_bench');
  const db = new SharedDb({ url: dbUrl });
  await migrate(db);
  await upsert(
    db,
    'medications',
    Array.from({ length: 200 }, (_, i) => ({ odoo_product_id: i + 1, name: `Medicamento ${i + 1}`, stock_quantity: 50 + i, min_stock_level: 20 })),
  );
  await upsert(
    db,
    'patients',
    Array.from({ length: 200 }, (_, i) => ({ odoo_id: i + 1, name: `Paciente ${i + 1}`, email: `p${i + 1}@clinica.test` })),
  );
  const raw = await rawServer(peer, dbUrl);
  const flow = JSON.parse(fs.readFileSync(path.resolve(__dirname, '..', '..', 'flows', '05 - API gateway.json'), 'utf8')) as object[];
  const env = (audit: string) => ({
    KEYCLOAK_URL: peer.baseUrl,
    KEYCLOAK_REALM: 'clinica-realm',
    SHARED_DB_URL: dbUrl,
    API_RATE_LIMITS: 'read=100000000/60,write=100000/60,admin=100000/60',
    API_CORS_ORIGINS: 'https://portal.clinica.test',
    API_AUDIT: audit,
  });
  const results: Record<string, LoadResult[]> = {};
  const tokens = {
    medications: (await userToken(peer, 'farmacia.prueba')).access_token,
    patients: (await userToken(peer, 'medico.prueba')).access_token,
  };
  try {
    for (const [label, audit, listing] of [
      ['medications (gateway on)', 'on', 'medications'],
      ['patients (gateway on, audit on)', 'on', 'patients'],
      ['patients (gateway on, audit off)', 'off', 'patients'],
    ] as const) {
      const rt = await startRuntime(flow, { env: env(audit), logLevel: 'warn' });
      try {
        const headers = { authorization: `Bearer ${tokens[listing]}` };
        const path_ = `/api/${listing}?limit=50`;
        for (const url of [`${raw.url}${path_}`, `${rt.url}${path_}`]) {
          const ok = await fetch(url, { headers });
          if (ok.status !== 200) throw new Error(`${url}: ${ok.status} ${await ok.text()}`);
        }
        results[label] = await runLoad({
          targets: [
            { name: 'raw Express + pg + jose', url: `${raw.url}${path_}`, headers },
            { name: 'Node-RED + gateway', url: `${rt.url}${path_}`, headers },
          ],
          concurrency,
          durationMs,
          sliceMs,
          warmupMs: 1500,
          expectStatus: 200,
        });
      } finally {
        await rt.stop();
      }
    }
    const audited = Number((await db.query('SELECT count(*) AS n FROM api_audit')).rows[0].n);
    process.stdout.write(
      `${concurrency} clients, ${durationMs / 1000} s per target, alternating ${sliceMs} ms slices; load average ${os
        .loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}\n`,
    );
    for (const [label, [r, n]] of Object.entries(results)) {
      process.stdout.write(
        `${label.padEnd(34)} raw ${String(r.rps).padStart(6)} req/s p99 ${r.p99.toFixed(1)} ms | gateway ${String(n.rps).padStart(6)} req/s p99 ${n.p99.toFixed(1)} ms | ${((n.rps / r.rps) * 100).toFixed(0)} % of raw | errors ${n.errors}\n`,
      );
    }
    process.stdout.write(`audit rows written: ${audited} (target: medications ≥ 60 % of raw, p99 < 30 ms)\n`);
  } finally {
    await raw.close();
    await peer.close();
    await db.close();
    await dropTestDatabase(dbUrl);
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`gateway-throughput failed: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
