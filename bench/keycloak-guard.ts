/**
 * Verified requests per second: `http in` → clinica-keycloak-guard → `http response` in an embedded
 * Node-RED, side by side with a raw Express + jose server doing the same check (signature against the
 * realm's JWKS, issuer, audience/azp, expiry, one of two roles). Both verify a real token from the
 * Keycloak-shaped test provider; 50 concurrent keep-alive clients on loopback, in a worker thread, taking
 * turns between the two servers in 1 s slices so that both share the machine's noise alike.
 *
 *   npm run build && node dist/bench/keycloak-guard.js [--duration 10000] [--concurrency 50] [--slice 1000]
 *
 * Node-RED logs every guard decision as a JSON line (to /dev/null here), as it does in production.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import express from 'express';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { formatLogRecord, type LogRecord } from '../host/json-log';
import { KeycloakPeer } from '../peers/keycloak/keycloak-peer';
import { userToken } from '../peers/keycloak/user-token';
import { runLoad, type LoadResult } from './keycloak-load';

const ROOT = path.resolve(__dirname, '../..');
const ROLES = ['medico', 'enfermeria'];

interface Running {
  url: string;
  close(): Promise<void>;
}

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : NaN;
  return Number.isFinite(v) && v > 0 ? v : fallback;
}

function listen(server: http.Server): Promise<string> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)));
}

function closeServer(server: http.Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

/** The baseline: what a hand-written Express resource server with jose does for the same request. */
async function rawExpress(peer: KeycloakPeer): Promise<Running> {
  const jwks = createRemoteJWKSet(new URL(`${peer.issuer}/protocol/openid-connect/certs`));
  const app = express();
  app.get('/api/patients', (req, res) => {
    const m = /^Bearer (\S+)$/i.exec(req.headers.authorization ?? '');
    if (!m) {
      res.status(401).set('WWW-Authenticate', 'Bearer realm="clinica-realm"').end();
      return;
    }
    jwtVerify(m[1], jwks, { issuer: peer.issuer, algorithms: ['RS256'], clockTolerance: 10, requiredClaims: ['exp'] }).then(
      ({ payload }) => {
        const aud = payload.aud === undefined ? [] : ([] as string[]).concat(payload.aud);
        if (!aud.includes('clinica-api') && payload.azp !== 'clinica-api') {
          res.status(401).end();
          return;
        }
        const roles = (payload.realm_access as { roles?: string[] } | undefined)?.roles ?? [];
        if (!roles.some((r) => ROLES.includes(r))) {
          res.status(403).end();
          return;
        }
        res.json({});
      },
      () => res.status(401).end(),
    );
  });
  const server = http.createServer(app);
  const url = await listen(server);
  return { url: `${url}/api/patients`, close: () => closeServer(server) };
}

interface EmbeddedRed {
  init(server: http.Server, settings: Record<string, unknown>): void;
  start(): Promise<void>;
  stop(): Promise<void>;
  httpNode: http.RequestListener;
}

/** A real Node-RED runtime (not the test helper) with the pack's Keycloak nodes from dist/. */
async function nodeRedGuard(peer: KeycloakPeer): Promise<Running> {
  const userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'clinica-bench-kc-'));
  const flowFile = path.join(userDir, 'flows.json');
  fs.writeFileSync(
    flowFile,
    JSON.stringify([
      { id: 'tab', type: 'tab', label: 'bench' },
      { id: 'kc', type: 'clinica-keycloak-realm', url: peer.baseUrl, realm: 'clinica-realm', clientId: 'clinica-api' },
      { id: 'in', type: 'http in', z: 'tab', url: '/api/patients', method: 'get', wires: [['guard']] },
      {
        id: 'guard',
        type: 'clinica-keycloak-guard',
        z: 'tab',
        realm: 'kc',
        roles: ROLES.join(', '),
        mode: 'any',
        onFailure: 'respond',
        tokenFrom: 'header',
        wires: [['resp'], []],
      },
      { id: 'resp', type: 'http response', z: 'tab' },
    ]),
  );
  const sink = fs.createWriteStream(os.devNull);
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const RED = require('node-red') as EmbeddedRed;
  const server = http.createServer((req, res) => RED.httpNode(req, res));
  RED.init(server, {
    userDir,
    flowFile,
    httpAdminRoot: false,
    httpNodeRoot: '/',
    nodesDir: [path.join(ROOT, 'dist', 'nodes', 'keycloak')],
    credentialSecret: false,
    logging: {
      console: { level: 'off' },
      json: { level: 'info', metrics: false, audit: false, handler: () => (record: LogRecord) => sink.write(formatLogRecord(record) + '\n') },
    },
    externalModules: { autoInstall: false, palette: { allowInstall: false }, modules: { allowInstall: false } },
    editorTheme: { tours: false, projects: { enabled: false } },
  });
  const url = await listen(server);
  await RED.start();
  // start() resolves before the flows are running: wait for the http in route to exist.
  for (let i = 0; i < 200 && (await fetch(`${url}/api/patients`)).status === 404; i++) await new Promise((r) => setTimeout(r, 50));
  return {
    url: `${url}/api/patients`,
    close: async () => {
      await RED.stop();
      await closeServer(server);
      sink.end();
      fs.rmSync(userDir, { recursive: true, force: true });
    },
  };
}

export async function run(): Promise<Record<string, unknown>> {
  const durationMs = arg('duration', 10000);
  const concurrency = arg('concurrency', 50);
  const sliceMs = arg('slice', 1000);
  const peer = await KeycloakPeer.start();
  const token = (await userToken(peer, 'medico.prueba')).access_token;
  const raw = await rawExpress(peer);
  const red = await nodeRedGuard(peer);
  const headers = { authorization: `Bearer ${token}` };
  let results: LoadResult[];
  try {
    // Sanity: both answer 200 to the token and 401 without it.
    for (const url of [raw.url, red.url]) {
      const ok = await fetch(url, { headers });
      const no = await fetch(url);
      if (ok.status !== 200 || no.status !== 401) throw new Error(`${url}: expected 200/401, got ${ok.status}/${no.status}`);
    }
    results = await runLoad({
      targets: [
        { name: 'raw Express + jose', url: raw.url, headers },
        { name: 'http in → guard → response', url: red.url, headers },
      ],
      concurrency,
      durationMs,
      sliceMs,
      warmupMs: 1500,
      expectStatus: 200,
    });
  } finally {
    await red.close();
    await raw.close();
    await peer.close();
  }
  const [rawResult, redResult] = results;
  const summary = {
    bench: 'keycloak-guard',
    concurrency,
    durationMs,
    sliceMs,
    cpus: os.cpus().length,
    loadAverage: os.loadavg().map((l) => Math.round(l * 100) / 100),
    node: process.version,
    raw: rawResult,
    nodeRed: redResult,
    ratio: Math.round((redResult.rps / rawResult.rps) * 1000) / 1000,
    targets: { ratio: 0.7, p99Ms: 20 },
  };
  const line = (r: LoadResult) =>
    `${r.name.padEnd(28)} ${String(r.rps).padStart(7)} req/s   p50 ${r.p50.toFixed(2)} ms   p90 ${r.p90.toFixed(2)} ms   p99 ${r.p99.toFixed(2)} ms   errors ${r.errors}`;
  process.stdout.write(`${concurrency} clients, ${durationMs / 1000} s each, alternating ${sliceMs} ms slices\n  ${line(rawResult)}\n  ${line(redResult)}\n`);
  process.stdout.write(
    `Node-RED guard = ${(summary.ratio * 100).toFixed(1)}% of raw (target ≥ 70%); p99 ${redResult.p99} ms (target < 20 ms); load average ${summary.loadAverage.join(' ')}\n`,
  );
  process.stdout.write(JSON.stringify(summary) + '\n');
  return summary;
}

if (require.main === module) {
  run().then(
    () => process.exit(0),
    (err: unknown) => {
      process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
      process.exit(1);
    },
  );
}
