/**
 * Odoo's webhooks carry the shared secret (ODOO_WEBHOOK_SECRET, written by the seed into the rules' URLs as
 * ?token=): tab 03 in a real Node-RED takes the seeded rules' calls, refuses others with 401 problem details,
 * counts them, and never shows the secret in its logs or answers.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { OdooClient } from '../../nodes/clients/odoo/client';
import { valueOf } from '../../nodes/clients/common/metrics';
import { SharedDb } from '../../nodes/clients/shared-db';
import { seedOdoo } from '../../seeds/odoo/seed';
import { waitFor } from '../lib/harness';
import { createTestDatabase, dropTestDatabase } from '../lib/pg';
import { startRuntime, type Runtime } from '../lib/runtime';
import { startOdooPeer, type OdooPeer } from '../../peers/odoo';

const flow = JSON.parse(fs.readFileSync(path.resolve(__dirname, '..', '..', '..', 'flows', '03 - Shared database - patients and appointments.json'), 'utf8'));
const SECRET = 'wh-secret-Zq81-never-logged';

describe('Odoo webhooks need the shared secret (tab 03, Odoo peer, real PostgreSQL)', function () {
  this.timeout(60000);
  let peer: OdooPeer;
  let odoo: OdooClient;
  let dbUrl: string;
  let db: SharedDb;
  let rt: Runtime;

  before(async function () {
    peer = await startOdooPeer({ version: 18 });
    odoo = new OdooClient({ url: peer.url, db: peer.db, username: peer.admin.login, apiKey: peer.admin.apiKey, retryDelayMs: 10 });
    await seedOdoo({ client: odoo, nodeRedUrl: 'http://127.0.0.1:9', webhookSecret: SECRET });
    dbUrl = await createTestDatabase();
    db = new SharedDb({ url: dbUrl });
    rt = await startRuntime(flow, {
      env: {
        ODOO_URL: peer.url,
        ODOO_DB: peer.db,
        ODOO_USERNAME: peer.admin.login,
        ODOO_API_KEY: peer.admin.apiKey,
        SHARED_DB_URL: dbUrl,
        ODOO_WEBHOOK_SECRET: SECRET,
      },
    });
    await seedOdoo({ client: odoo, nodeRedUrl: rt.url, webhookSecret: SECRET });
    await waitFor(async () => Number((await db.query('SELECT count(*) AS n FROM shared_patients')).rows[0].n) === 200, '200 patients copied', 30000, 200);
  });

  after(async function () {
    await rt?.stop();
    odoo?.close();
    await peer?.stop();
    await db?.close();
    if (dbUrl) await dropTestDatabase(dbUrl);
  });

  const post = (suffix: string, headers: Record<string, string> = {}) =>
    fetch(`${rt.url}/odoo/webhook/patient${suffix}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-Correlation-Id': 'wh-test', ...headers },
      body: JSON.stringify({ _id: 1, _model: 'res.partner' }),
    });

  it("the seeded rule's webhook carries the token and is taken at once", async function () {
    const from = peer.webhooks.length;
    const id = await odoo.create('res.partner', { name: 'Token Paciente', x_is_patient: true });
    const sent = peer.webhooks.slice(from).filter((w) => new URL(w.url).pathname === '/odoo/webhook/patient');
    assert.equal(sent.length, 1);
    assert.equal(sent[0].status, 200);
    await waitFor(async () => (await db.query('SELECT 1 FROM shared_patients WHERE odoo_id = $1', [id])).rows.length === 1, 'the patient through the webhook');
  });

  it('no token, a wrong one, an array of them: 401 problem details, counted; the header works too', async function () {
    const before = valueOf('node-red', 'webhook_unauthorized', { route: '/odoo/webhook/patient' });
    for (const [suffix, headers] of [
      ['', {}],
      ['?token=wrong', {}],
      [`?token=${SECRET}x`, {}],
      [`?token=${SECRET}&token=${SECRET}`, {}],
      ['', { 'X-Clinica-Webhook-Token': 'nope' }],
    ] as Array<[string, Record<string, string>]>) {
      const res = await post(suffix, headers);
      assert.equal(res.status, 401, `${suffix} ${JSON.stringify(headers)}`);
      assert.match(String(res.headers.get('content-type')), /application\/problem\+json/);
      assert.equal(res.headers.get('x-correlation-id'), 'wh-test');
      const body = (await res.json()) as Record<string, unknown>;
      assert.equal(body.status, 401);
      assert.equal(body.code, 'WEBHOOK_UNAUTHORIZED');
      assert.ok(!JSON.stringify(body).includes(SECRET));
    }
    assert.equal(valueOf('node-red', 'webhook_unauthorized', { route: '/odoo/webhook/patient' }) - before, 5);
    assert.equal((await post('', { 'X-Clinica-Webhook-Token': SECRET })).status, 200);
    assert.equal((await post(`?token=${encodeURIComponent(SECRET)}`)).status, 200);
  });

  it('the secret is in no log record', function () {
    const text = JSON.stringify(rt.logs);
    assert.ok(text.includes('odoo.webhook.unauthorized'), 'refusals are logged');
    assert.ok(!text.includes(SECRET));
  });
});
