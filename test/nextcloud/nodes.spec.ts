import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { Readable } from 'node:stream';
import { helper, waitFor, collect } from '../lib/harness';
import { NextcloudPeer } from '../../peers/nextcloud/peer';
import { MiB, patternSha256, patternStream } from '../../peers/nextcloud/data';

const ncConfig = require('../../nodes/nextcloud/nextcloud-config');
const ncNode = require('../../nodes/nextcloud/nextcloud');
const nodes = [ncConfig, ncNode];

type Msg = Record<string, any>;

describe('nextcloud nodes (Node-RED test helper, Nextcloud peer)', function () {
  this.timeout(30000);
  let peer: NextcloudPeer;

  before(async function () {
    await new Promise<void>((resolve) => helper.startServer(() => resolve()));
  });

  after(async function () {
    await new Promise<void>((resolve) => helper.stopServer(() => resolve()));
  });

  beforeEach(async function () {
    peer = await new NextcloudPeer({ minChunkSize: 1 * MiB }).start();
  });

  afterEach(async function () {
    await helper.unload();
    await peer.close();
  });

  const config = (extra: Msg = {}) => ({
    id: 'nc',
    type: 'clinica-nextcloud-config',
    url: peer.url,
    username: 'alice',
    timeout: 10,
    chunkSizeMb: 5,
    thresholdMb: 10,
    ...extra,
  });
  const creds = (password = 'alice-app-password') => ({ nc: { appPassword: password } });

  function flow(extra: Msg[], cfg: Msg = config()): Msg[] {
    return [
      { id: 'tab', type: 'tab', label: 'test' },
      cfg,
      ...extra.map((n) => ({ z: 'tab', ...n })),
      { id: 'catcher', type: 'catch', z: 'tab', scope: null, uncaught: false, wires: [['errors']] },
      { id: 'errors', type: 'helper', z: 'tab' },
      { id: 'out', type: 'helper', z: 'tab' },
    ];
  }

  it('uploads a patient document into its folder, then shares it with a generated password and an expiry', async function () {
    await helper.load(
      nodes,
      flow([
        {
          id: 'up',
          type: 'clinica-nextcloud',
          config: 'nc',
          operation: 'upload',
          target: 'patient',
          docType: 'msg',
          conflict: 'skip',
          wires: [['sharer', 'out']],
        },
        {
          id: 'sharer',
          type: 'clinica-nextcloud',
          config: 'nc',
          operation: 'share',
          target: 'path',
          path: '',
          restrictTo: '/Documentos_Clinicos',
          shareType: 'link',
          expireDays: 30,
          linkLabel: 'Factura',
          passwordMode: 'generate',
          wires: [['out']],
        },
      ]),
      creds(),
    );
    const out = collect<Msg>(helper.getNode('out'));
    const pdf = Buffer.from('%PDF-1.7 factura 2025-0042');
    helper.getNode('up').receive({
      payload: pdf,
      patientId: 42,
      document: { type: 'invoice', name: 'FAC-2025-0042.pdf', contentType: 'application/pdf' },
      correlationId: 'corr-42',
    });
    await waitFor(() => out.length === 2, 'upload and share outputs');
    const [uploaded, shared] = out;
    const path = '/Documentos_Clinicos/Pacientes/42/Facturas/FAC-2025-0042.pdf';
    assert.equal(uploaded.payload.path, path);
    assert.deepEqual([uploaded.payload.status, uploaded.payload.size, uploaded.payload.verifiedBy], ['created', pdf.length, 'sha256']);
    assert.equal(uploaded.payload.sha256, createHash('sha256').update(pdf).digest('hex'));
    assert.equal(fs.readFileSync(peer.diskPath('alice', path), 'utf8'), pdf.toString());

    assert.equal(shared.correlationId, 'corr-42');
    assert.equal(shared.nextcloud.operation, 'share');
    assert.equal(shared.nextcloud.path, path);
    assert.match(shared.payload.url, new RegExp(`^${peer.url}/index.php/s/\\w{15}$`));
    assert.equal(shared.nextcloud.url, shared.payload.url);
    assert.equal(shared.payload.label, 'Factura');
    assert.match(shared.payload.password, /^\w{6}-\w{6}-\w{6}$/);
    assert.ok(shared.payload.expiration > new Date().toISOString().slice(0, 10));
    const download = await fetch(`${shared.payload.url}/download`, {
      headers: { Authorization: `Basic ${Buffer.from(`x:${shared.payload.password}`).toString('base64')}` },
    });
    assert.equal(await download.text(), pdf.toString());
    assert.ok(peer.stats.correlationIds.has('corr-42'));

    // the same document again (an AMQP redelivery): skipped, still one file
    out.length = 0;
    helper.getNode('up').receive({ payload: pdf, patientId: 42, document: { type: 'invoice', name: 'FAC-2025-0042.pdf' } });
    await waitFor(() => out.length === 2, 'second round');
    assert.equal(out[0].payload.status, 'skipped');
  });

  it('streams a large upload from msg.payload through chunked upload', async function () {
    await helper.load(
      nodes,
      flow([
        {
          id: 'up',
          type: 'clinica-nextcloud',
          config: 'nc',
          operation: 'upload',
          target: 'path',
          path: '/Imagenes/tac-0001.bin',
          conflict: 'overwrite',
          wires: [['out']],
        },
      ]),
      creds(),
    );
    const out = collect<Msg>(helper.getNode('out'));
    const size = 23 * MiB + 7;
    helper.getNode('up').receive({ payload: patternStream(size, 21) });
    await waitFor(() => out.length === 1, 'upload done', 20000);
    assert.deepEqual([out[0].payload.chunked, out[0].payload.chunks, out[0].payload.size], [true, 5, size]);
    assert.equal(out[0].nextcloud.sha256, patternSha256(size, 21));
  });

  it('refuses traversal attempts through done(err) with NEXTCLOUD_BAD_PATH, sending nothing', async function () {
    await helper.load(
      nodes,
      flow([
        { id: 'up', type: 'clinica-nextcloud', config: 'nc', operation: 'upload', target: 'patient', docType: 'invoice', wires: [['out']] },
        {
          id: 'get',
          type: 'clinica-nextcloud',
          config: 'nc',
          operation: 'download',
          target: 'path',
          restrictTo: '/Documentos_Clinicos/Pacientes/42',
          wires: [['out']],
        },
      ]),
      creds(),
    );
    const errors = collect<Msg>(helper.getNode('errors'));
    const before = peer.stats.requests;
    helper.getNode('up').receive({ payload: Buffer.from('x'), patientId: 42, document: { name: '../../43/Facturas/robo.pdf' } });
    helper.getNode('up').receive({ payload: Buffer.from('x'), patientId: '42/../43', document: { name: 'f.pdf' } });
    helper.getNode('get').receive({ path: '/Documentos_Clinicos/Pacientes/43/Facturas/f.pdf' });
    helper.getNode('get').receive({ path: '/Documentos_Clinicos/Pacientes/42/../43/f.pdf' });
    await waitFor(() => errors.length === 4, 'four refusals');
    for (const e of errors) {
      assert.equal(e.errorInfo.code, 'NEXTCLOUD_BAD_PATH', e.error.message);
      assert.equal(e.errorInfo.retryable, false);
    }
    assert.match(errors.find((e) => /outside/.test(e.error.message))!.error.message, /outside "\/Documentos_Clinicos\/Pacientes\/42"/);
    await new Promise((r) => setTimeout(r, 50));
    assert.ok(peer.stats.requests - before <= 1, 'at most the connection check reached the server');
  });

  it('lists, downloads, moves and deletes with msg.operation, inside a patient folder', async function () {
    await helper.load(
      nodes,
      flow([
        { id: 'up', type: 'clinica-nextcloud', config: 'nc', operation: 'upload', target: 'patient', docType: 'msg', conflict: 'overwrite', wires: [['out']] },
        { id: 'op', type: 'clinica-nextcloud', config: 'nc', operation: 'msg', target: 'patient', docType: 'msg', wires: [['out']] },
      ]),
      creds(),
    );
    const out = collect<Msg>(helper.getNode('out'));
    const up = helper.getNode('up');
    const op = helper.getNode('op');
    up.receive({ payload: 'receta uno', patientId: 'P-7', document: { type: 'prescription', name: 'r1.txt' } });
    up.receive({ payload: 'receta dos', patientId: 'P-7', document: { type: 'prescription', name: 'r2.txt' } });
    await waitFor(() => out.length === 2, 'two uploads');
    op.receive({ operation: 'list', patientId: 'P-7', document: { type: 'prescription' } });
    await waitFor(() => out.length === 3, 'list');
    assert.deepEqual(
      out[2].payload.map((e: Msg) => e.name),
      ['r1.txt', 'r2.txt'],
    );
    assert.equal(out[2].nextcloud.path, '/Documentos_Clinicos/Pacientes/P-7/Recetas');
    op.receive({ operation: 'download', patientId: 'P-7', document: { type: 'prescription', name: 'r2.txt' } });
    await waitFor(() => out.length === 4, 'download');
    assert.equal(out[3].payload.toString(), 'receta dos');
    op.receive({ operation: 'move', patientId: 'P-7', document: { type: 'prescription', name: 'r2.txt' }, destination: 'r2-anulada.txt' });
    await waitFor(() => out.length === 5, 'move');
    assert.deepEqual(out[4].payload, {
      from: '/Documentos_Clinicos/Pacientes/P-7/Recetas/r2.txt',
      path: '/Documentos_Clinicos/Pacientes/P-7/Recetas/r2-anulada.txt',
    });
    op.receive({ operation: 'delete', patientId: 'P-7', document: { type: 'prescription', name: 'r1.txt' } });
    await waitFor(() => out.length === 6, 'delete');
    assert.deepEqual(fs.readdirSync(peer.diskPath('alice', '/Documentos_Clinicos/Pacientes/P-7/Recetas')), ['r2-anulada.txt']);

    const errors = collect<Msg>(helper.getNode('errors'));
    op.receive({
      operation: 'move',
      patientId: 'P-7',
      document: { type: 'prescription', name: 'r2-anulada.txt' },
      destination: '/Documentos_Clinicos/Pacientes/P-8/Recetas/x.txt',
    });
    op.receive({ operation: 'format-disk', patientId: 'P-7' });
    await waitFor(() => errors.length === 2, 'refusals');
    assert.deepEqual(errors.map((e) => e.errorInfo.code).sort(), ['BAD_INPUT', 'NEXTCLOUD_BAD_PATH']);
  });

  it('takes URL, user and app password from the docs/mission.md environment variables', async function () {
    const saved = { url: process.env.NEXTCLOUD_URL, user: process.env.NEXTCLOUD_USERNAME, pw: process.env.NEXTCLOUD_APP_PASSWORD };
    process.env.NEXTCLOUD_URL = peer.url;
    process.env.NEXTCLOUD_USERNAME = 'alice';
    process.env.NEXTCLOUD_APP_PASSWORD = 'alice-app-password';
    try {
      await helper.load(
        nodes,
        flow(
          [
            {
              id: 'mk',
              type: 'clinica-nextcloud',
              config: 'nc',
              operation: 'mkdir',
              target: 'path',
              path: '/Documentos_Clinicos/Pacientes/9/Historiales',
              wires: [['out']],
            },
          ],
          { id: 'nc', type: 'clinica-nextcloud-config', url: '${NEXTCLOUD_URL}', username: '' },
        ),
        {},
      );
      const out = collect<Msg>(helper.getNode('out'));
      helper.getNode('mk').receive({});
      await waitFor(() => out.length === 1, 'mkdir');
      assert.deepEqual(out[0].payload, { path: '/Documentos_Clinicos/Pacientes/9/Historiales', created: true });
    } finally {
      for (const [k, v] of [
        ['NEXTCLOUD_URL', saved.url],
        ['NEXTCLOUD_USERNAME', saved.user],
        ['NEXTCLOUD_APP_PASSWORD', saved.pw],
      ] as const) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
  });

  it('shows a wrong app password as a red status and fails messages with NEXTCLOUD_AUTH', async function () {
    await helper.load(
      nodes,
      flow([{ id: 'ls', type: 'clinica-nextcloud', config: 'nc', operation: 'list', target: 'path', path: '/', wires: [['out']] }]),
      creds('wrong'),
    );
    const ls = helper.getNode('ls');
    const statuses: Msg[] = [];
    ls.on('call:status', (call: { args: [Msg] }) => statuses.push(call.args[0]));
    await waitFor(() => statuses.some((s) => s.text === 'NEXTCLOUD_AUTH'), 'red status from the connection check');
    const errors = collect<Msg>(helper.getNode('errors'));
    ls.receive({});
    await waitFor(() => errors.length === 1, 'error');
    assert.equal(errors[0].errorInfo.code, 'NEXTCLOUD_AUTH');
    assert.match(errors[0].error.message, /app password/);
    assert.ok(statuses.some((s) => s.fill === 'red'));
  });

  it('after a refused login it sends nothing more (red, one error per message, one attempt) until an operator retries', async function () {
    await helper.load(
      nodes,
      flow([
        { id: 'up', type: 'clinica-nextcloud', config: 'nc', operation: 'upload', target: 'patient', docType: 'invoice', conflict: 'skip', wires: [['out']] },
      ]),
      creds('new-app-password'),
    );
    const up = helper.getNode('up');
    const statuses: Msg[] = [];
    up.on('call:status', (call: { args: [Msg] }) => statuses.push(call.args[0]));
    await waitFor(() => statuses.some((s) => s.text === 'NEXTCLOUD_AUTH' && s.fill === 'red'), 'red status from the connection check');
    const errors = collect<Msg>(helper.getNode('errors'));
    for (let i = 1; i <= 5; i++) up.receive({ payload: Buffer.from(`f${i}`), patientId: i, document: { name: `F-${i}.pdf` } });
    await waitFor(() => errors.length === 5, 'five failures');
    for (const e of errors) assert.deepEqual([e.errorInfo.code, e.errorInfo.retryable], ['NEXTCLOUD_AUTH', false]);
    assert.match(errors[0].error.message, /app password.*Devices & sessions/);
    assert.equal(peer.stats.failedLogins, 1, 'one wrong password reached Nextcloud, whatever the flow sent');

    // the admin creates that app password on the Nextcloud side; an operator presses "try the login again"
    peer.setAppPassword('alice', 'new-app-password');
    const res = await helper.request().post('/clinica-nextcloud-config/nc/retry-login').expect(200);
    assert.equal(res.body.state, 'connected');
    const out = collect<Msg>(helper.getNode('out'));
    up.receive({ payload: Buffer.from('f6'), patientId: 6, document: { name: 'F-6.pdf' } });
    await waitFor(() => out.length === 1, 'stored after the retry');
    assert.equal(out[0].payload.status, 'created');
    await helper.request().post('/clinica-nextcloud-config/nope/retry-login').expect(404);
  });

  it('reuses a share of the same document (a replay makes no new share) and gives internal links without sharing', async function () {
    await helper.load(
      nodes,
      flow([
        {
          id: 'up',
          type: 'clinica-nextcloud',
          config: 'nc',
          operation: 'upload',
          target: 'patient',
          docType: 'invoice',
          conflict: 'skip',
          wires: [['sharer', 'linker']],
        },
        {
          id: 'sharer',
          type: 'clinica-nextcloud',
          config: 'nc',
          operation: 'share',
          target: 'path',
          restrictTo: '/Documentos_Clinicos',
          shareType: 'link',
          expireDays: 0,
          linkLabel: 'Odoo',
          passwordMode: 'generate',
          wires: [['out']],
        },
        { id: 'linker', type: 'clinica-nextcloud', config: 'nc', operation: 'link', target: 'path', restrictTo: '/Documentos_Clinicos', wires: [['out']] },
      ]),
      creds(),
    );
    const out = collect<Msg>(helper.getNode('out'));
    const errors = collect<Msg>(helper.getNode('errors'));
    const send = () => helper.getNode('up').receive({ payload: Buffer.from('%PDF factura 9'), patientId: 9, document: { name: 'FAC-9.pdf' } });
    send();
    await waitFor(() => out.length === 2 || errors.length, 'share and link');
    assert.deepEqual(
      errors.map((e) => e.error.message),
      [],
    );
    send();
    await waitFor(() => out.length === 4, 'again');
    const shares = out.filter((m) => m.nextcloud.operation === 'share');
    const links = out.filter((m) => m.nextcloud.operation === 'link');
    assert.deepEqual(
      shares.map((m) => m.nextcloud.reused),
      [false, true],
    );
    assert.equal(shares[1].payload.url, shares[0].payload.url);
    assert.equal(peer.shares.list('alice').length, 1, 'one share on the server');
    const download = await fetch(`${shares[1].payload.url}/download`, {
      headers: { Authorization: `Basic ${Buffer.from(`x:${shares[1].payload.password}`).toString('base64')}` },
    });
    assert.equal(await download.text(), '%PDF factura 9', 'the password handed out with the reused link works');
    const ino = fs.statSync(peer.diskPath('alice', '/Documentos_Clinicos/Pacientes/9/Facturas/FAC-9.pdf')).ino;
    assert.deepEqual(
      links.map((m) => m.payload.url),
      [`${peer.url}/index.php/f/${ino}`, `${peer.url}/index.php/f/${ino}`],
    );
    assert.equal(links[0].nextcloud.url, links[0].payload.url);
  });

  it('reports a server that went away mid-upload as retryable, and no file is left', async function () {
    await helper.load(
      nodes,
      flow([{ id: 'up', type: 'clinica-nextcloud', config: 'nc', operation: 'upload', target: 'path', path: '/Imagenes/rm.bin', wires: [['out']] }]),
      creds(),
    );
    const errors = collect<Msg>(helper.getNode('errors'));
    peer.faults.stopAfterBytes = 3 * MiB;
    helper.getNode('up').receive({ payload: Readable.from(patternStream(12 * MiB, 5)) });
    await waitFor(() => errors.length === 1, 'error', 20000);
    assert.equal(errors[0].errorInfo.code, 'NEXTCLOUD_UNREACHABLE');
    assert.equal(errors[0].errorInfo.retryable, true);
    assert.match(errors[0].error.message, /\/Imagenes\/rm\.bin/);
    assert.equal(fs.existsSync(peer.diskPath('alice', '/Imagenes/rm.bin')), false);
  });
});
