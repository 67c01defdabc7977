/**
 * The demo systems `npm start` runs when no Odoo, Nextcloud or Keycloak is configured: the pack's own peers,
 * seeded like the reference deployment, on fixed local ports, and a small "lab" endpoint that makes them fail or
 * slow down on purpose so a class can watch retries, dead letters and reconciliation.
 *
 *   const demo = await startDemo({ dataDir, nodeRedUrl, need: { odoo: true, nextcloud: true, keycloak: true } });
 *   // demo.env: ODOO_URL … for Node-RED; demo.describe(): what to tell the user; demo.stop()
 *
 * Only what is missing is started: a system configured in the environment is used instead of its peer. The
 * Nextcloud peer keeps its files in `dataDir` (a second start finds the documents of the first); Odoo and Keycloak
 * start fresh and are seeded each time (the seed is deterministic, so ids are the same).
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { OdooClient } from '../nodes/clients/odoo/client';
import { NextcloudClient } from '../nodes/clients/nextcloud/client';
import { seedOdoo } from '../seeds/odoo/seed';
import { seedNextcloud } from '../seeds/nextcloud/seed';
import { startOdooPeer, type OdooPeer } from './odoo';
import { NextcloudPeer } from './nextcloud/peer';
import { KeycloakPeer, PEER_REALM, SEED_PASSWORD } from './keycloak/keycloak-peer';
import { MailSink } from './smtp/mail-sink';

export interface DemoPorts {
  odoo: number;
  nextcloud: number;
  keycloak: number;
  lab: number;
  smtp: number;
}

/** The ports the README and the lab tab use (each can be changed through DEMO_*_PORT; 0 = any free port). */
export const DEMO_PORTS: DemoPorts = { odoo: 18069, nextcloud: 18082, keycloak: 18080, lab: 18099, smtp: 18025 };
export const DEMO_NEXTCLOUD_USER = 'admin';
export const DEMO_NEXTCLOUD_APP_PASSWORD = 'demo-app-password';

export interface DemoOptions {
  /** Where the Nextcloud peer keeps its files. */
  dataDir: string;
  /** The Node-RED the Odoo peer's automation rules post to. */
  nodeRedUrl: string;
  need: { odoo: boolean; nextcloud: boolean; keycloak: boolean; smtp?: boolean };
  ports?: Partial<DemoPorts>;
  log?: (line: string) => void;
}

/** What the lab switches have set. */
export interface LabState {
  nextcloudDown: boolean;
  odooDown: boolean;
  odooLatencyMs: number;
  webhooksToLose: number;
}

export interface Demo {
  /** Settings for Node-RED: the demo systems' URLs and logins. */
  env: Record<string, string>;
  /** Which systems are demo systems. */
  systems: string[];
  lab: { url: string; state: LabState };
  /** Lines for the console: where each system is and how to log in. */
  describe(): string[];
  stop(): Promise<void>;
}

export async function startDemo(o: DemoOptions): Promise<Demo> {
  const ports = { ...DEMO_PORTS, ...(o.ports ?? {}) };
  const log = o.log ?? (() => undefined);
  const env: Record<string, string> = {};
  const systems: string[] = [];
  const stops: Array<() => Promise<void>> = [];
  const lines: string[] = [];
  let odoo: OdooPeer | undefined;
  let nextcloud: NextcloudPeer | undefined;
  const state: LabState = { nextcloudDown: false, odooDown: false, odooLatencyMs: 0, webhooksToLose: 0 };
  try {
    if (o.need.odoo) {
      odoo = await startOdooPeer({ version: 18, port: ports.odoo });
      const peer = odoo;
      stops.push(() => peer.stop());
      const client = new OdooClient({ url: peer.url, db: peer.db, username: peer.admin.login, apiKey: peer.admin.apiKey });
      // The rules' webhooks carry a secret of this run (?token=), unless the environment names one.
      const webhookSecret = (process.env.ODOO_WEBHOOK_SECRET ?? '').trim() || randomBytes(18).toString('base64url');
      try {
        await seedOdoo({ client, nodeRedUrl: o.nodeRedUrl, webhookSecret, log: (line) => log(`odoo seed: ${line}`) });
      } finally {
        client.close();
      }
      Object.assign(env, {
        ODOO_WEBHOOK_SECRET: webhookSecret,
        ODOO_URL: peer.url,
        ODOO_DB: peer.db,
        ODOO_USERNAME: peer.admin.login,
        ODOO_API_KEY: peer.admin.apiKey,
        ODOO_PASSWORD: peer.admin.password,
      });
      systems.push('odoo');
      lines.push(`Odoo (demo peer, Odoo 18 over XML-RPC/JSON-RPC): ${peer.url} db ${peer.db}, user ${peer.admin.login} / ${peer.admin.password}`);
    }
    if (o.need.nextcloud) {
      const root = path.join(o.dataDir, 'nextcloud');
      fs.mkdirSync(root, { recursive: true });
      nextcloud = await new NextcloudPeer({
        rootDir: root,
        port: ports.nextcloud,
        users: { [DEMO_NEXTCLOUD_USER]: DEMO_NEXTCLOUD_APP_PASSWORD },
        groups: { medicos: [DEMO_NEXTCLOUD_USER] },
      }).start();
      const peer = nextcloud;
      stops.push(() => peer.stop());
      const client = new NextcloudClient({ url: peer.url, username: DEMO_NEXTCLOUD_USER, appPassword: DEMO_NEXTCLOUD_APP_PASSWORD });
      try {
        await seedNextcloud(client);
      } finally {
        await client.close();
      }
      Object.assign(env, { NEXTCLOUD_URL: peer.url, NEXTCLOUD_USERNAME: DEMO_NEXTCLOUD_USER, NEXTCLOUD_APP_PASSWORD: DEMO_NEXTCLOUD_APP_PASSWORD });
      systems.push('nextcloud');
      lines.push(
        `Nextcloud (demo peer, WebDAV): ${peer.url}/remote.php/dav/files/${DEMO_NEXTCLOUD_USER}/Documentos_Clinicos/ — login ${DEMO_NEXTCLOUD_USER} / ${DEMO_NEXTCLOUD_APP_PASSWORD} (files in ${root})`,
      );
    }
    if (o.need.keycloak) {
      const peer = await KeycloakPeer.start({ port: ports.keycloak });
      stops.push(() => peer.close());
      Object.assign(env, { KEYCLOAK_URL: peer.baseUrl, KEYCLOAK_REALM: PEER_REALM });
      systems.push('keycloak');
      lines.push(
        `Keycloak (demo peer, realm ${PEER_REALM}): ${peer.baseUrl} — users admin.clinica, medico.prueba, farmacia.prueba, recepcion.prueba … password ${SEED_PASSWORD}`,
        `  a token: curl -s -d grant_type=password -d client_id=clinica-cli -d username=farmacia.prueba -d password=${SEED_PASSWORD} ${peer.baseUrl}/realms/${PEER_REALM}/protocol/openid-connect/token`,
      );
    }
    if (o.need.smtp) {
      const dir = path.join(o.dataDir, 'mail');
      const sink = await MailSink.start({ port: ports.smtp, dir });
      stops.push(() => sink.stop());
      Object.assign(env, { SMTP_HOST: '127.0.0.1', SMTP_PORT: String(sink.port), SMTP_SECURE: 'none', SMTP_FROM: 'Clínica (demo) <integracion@clinica.demo>' });
      if (!process.env.ALERT_EMAIL_TO) env.ALERT_EMAIL_TO = 'farmacia@clinica.demo';
      systems.push('smtp');
      lines.push(`SMTP (demo mail sink): 127.0.0.1:${sink.port} — every alert e-mail is kept as an .eml file in ${dir}, nothing is relayed`);
    }
    const lab = await startLab(ports.lab, state, { odoo, nextcloud });
    stops.push(lab.stop);
    env.CLINICA_LAB_URL = lab.url;
    env.CLINICA_DEMO = systems.join(',');
    lines.push(
      `Lab (tab "06 - Lab"): ${lab.url}/lab — POST /lab/odoo/invoice|patient|stock (do something in Odoo), /lab/nextcloud/down|up, /lab/odoo/slow|fast|down|up, /lab/webhooks/lose`,
    );
    return {
      env,
      systems,
      lab: { url: lab.url, state },
      describe: () => [...lines],
      stop: async () => {
        for (const stop of stops.reverse()) await stop().catch(() => undefined);
      },
    };
  } catch (err) {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
    throw err;
  }
}

/** The lab: switches that break a demo system on purpose, and put it back. */
async function startLab(
  port: number,
  state: LabState,
  peers: { odoo?: OdooPeer; nextcloud?: NextcloudPeer },
): Promise<{ url: string; stop: () => Promise<void> }> {
  const switches: Record<string, (q: URLSearchParams) => Promise<void> | void> = {
    'nextcloud/down': async () => {
      await peers.nextcloud?.stop();
      state.nextcloudDown = true;
    },
    'nextcloud/up': async () => {
      if (peers.nextcloud && !peers.nextcloud.running) await peers.nextcloud.start();
      state.nextcloudDown = false;
    },
    'odoo/slow': (q) => {
      state.odooLatencyMs = Math.min(Math.max(Number(q.get('ms') ?? 5000) || 5000, 0), 60000);
      peers.odoo?.setLatency(state.odooLatencyMs);
    },
    'odoo/fast': () => {
      state.odooLatencyMs = 0;
      peers.odoo?.setLatency(0);
    },
    'odoo/down': () => {
      // Every request answered 503 until put back (Odoo behind its proxy while it restarts).
      peers.odoo?.failNext({ kind: 'http503', times: Number.MAX_SAFE_INTEGER });
      state.odooDown = true;
    },
    'odoo/up': () => {
      peers.odoo?.clearFailures();
      state.odooDown = false;
    },
    'webhooks/lose': (q) => {
      state.webhooksToLose = Math.min(Math.max(Number(q.get('n') ?? 1) || 1, 0), 1000);
      peers.odoo?.loseWebhooks(state.webhooksToLose);
    },
  };
  // Things a user would do in Odoo, so that an instructor can make each pattern happen from a button.
  const odoo = () => {
    if (!peers.odoo) throw new Error('Odoo is not a demo system here (ODOO_URL is set)');
    return peers.odoo;
  };
  const actions: Record<string, (q: URLSearchParams) => Promise<unknown>> = {
    'odoo/invoice': async () => {
      const peer = odoo();
      const [patient] = (await peer.execute('res.partner', 'search_read', [[['x_is_patient', '=', true]]], {
        fields: ['name'],
        limit: 1,
        order: 'write_date desc',
      })) as Array<{ id: number; name: string }>;
      const [id] = (await peer.execute('account.move', 'create', [
        [{ move_type: 'out_invoice', partner_id: patient.id, invoice_line_ids: [[0, 0, { name: 'Consulta (laboratorio)', quantity: 1, price_unit: 60 }]] }],
      ])) as number[];
      await peer.execute('account.move', 'action_post', [[id]]);
      return { invoice: id, patient: patient.name };
    },
    'odoo/patient': async () => {
      const peer = odoo();
      const [p] = (await peer.execute('res.partner', 'search_read', [[['x_is_patient', '=', true]]], {
        fields: ['name', 'phone'],
        limit: 1,
        order: 'id',
      })) as Array<{ id: number; name: string }>;
      const phone = `+34 600 ${String(Date.now()).slice(-6)}`;
      await peer.execute('res.partner', 'write', [[p.id], { phone }]);
      return { patient: p.id, name: p.name, phone };
    },
    'odoo/stock': async () => {
      const peer = odoo();
      const [rule] = (await peer.execute('stock.warehouse.orderpoint', 'search_read', [[]], {
        fields: ['product_id', 'product_min_qty'],
        limit: 1,
        order: 'id',
      })) as Array<{ product_id: [number, string]; product_min_qty: number }>;
      const quantity = Math.max(0, rule.product_min_qty - 1);
      const context = { inventory_mode: true };
      const quant = (await peer.execute('stock.quant', 'create', [{ product_id: rule.product_id[0], location_id: 8, inventory_quantity: quantity }], {
        context,
      })) as number;
      await peer.execute('stock.quant', 'action_apply_inventory', [[quant]], { context });
      return { medication: rule.product_id[1], quantity, minimum: rule.product_min_qty };
    },
  };
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://lab');
    const name = url.pathname.replace(/^\/lab\/?/, '');
    const answer = (status: number, body: unknown) =>
      res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(JSON.stringify(body));
    if (req.method === 'GET' && name === '') return answer(200, { state, switches: Object.keys(switches), actions: Object.keys(actions) });
    if (req.method === 'POST' && actions[name]) {
      actions[name](url.searchParams).then(
        (done) => answer(200, { did: name, ...(done as object) }),
        (err: unknown) => answer(409, { error: (err as Error).message }),
      );
      return;
    }
    const fn = switches[name];
    if (req.method !== 'POST' || !fn) return answer(404, { error: `no lab switch ${req.method} /lab/${name}; GET /lab lists them` });
    Promise.resolve(fn(url.searchParams)).then(
      () => answer(200, { switched: name, state }),
      (err: unknown) => answer(500, { error: (err as Error).message }),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  return {
    url,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
