/**
 * The SMTP nodes in Node-RED (test helper) against a real smtp-server in this process: the config node from
 * ${ENV} and the SMTP_* / ALERT_EMAIL_TO fallbacks, one e-mail sent with msg.email.result set, bad input and a
 * server that is down reaching a Catch node with msg.errorInfo.
 */
import * as assert from 'node:assert/strict';
import { collect, helper, sleep, waitFor } from '../lib/harness';
import { valueOf } from '../../nodes/clients/common/metrics';
import { closedPort, startSmtpServer, type TestSmtpServer } from './server';

const nodes = [require('../../nodes/smtp/smtp-config'), require('../../nodes/smtp/email-send')];

type Msg = Record<string, any>;

const ENV_NAMES = [
  'TEST_SMTP_HOST',
  'SMTP_HOST',
  'SMTP_PORT',
  'SMTP_SECURE',
  'SMTP_USER',
  'SMTP_PASSWORD',
  'SMTP_FROM',
  'ALERT_EMAIL_TO',
  'SMTP_TLS_REJECT_UNAUTHORIZED',
];

describe('smtp nodes (Node-RED test helper, real smtp-server)', function () {
  this.timeout(20000);
  let smtp: TestSmtpServer;
  let saved: Record<string, string | undefined>;

  before(async () => {
    await new Promise<void>((resolve) => helper.startServer(() => resolve()));
  });
  after(async () => {
    await new Promise<void>((resolve) => helper.stopServer(() => resolve()));
  });
  beforeEach(async () => {
    saved = Object.fromEntries(ENV_NAMES.map((k) => [k, process.env[k]]));
    smtp = await startSmtpServer({ auth: { user: 'alerts', pass: 'pw-not-in-logs' }, rcpt: (a) => (a.startsWith('nobody') ? 550 : undefined) });
  });
  afterEach(async () => {
    await helper.unload();
    await smtp.close();
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });

  /** The SMTP_* environment of a deployment whose config node leaves everything empty but the host (as ${ENV}). */
  function envFor(port: number): void {
    Object.assign(process.env, {
      TEST_SMTP_HOST: '127.0.0.1',
      SMTP_PORT: String(port),
      SMTP_SECURE: 'none',
      SMTP_USER: 'alerts',
      SMTP_PASSWORD: 'pw-not-in-logs',
      SMTP_FROM: '"Clínica alerts" <alerts@clinica.example>',
      ALERT_EMAIL_TO: 'pharmacy@clinica.example, ops@clinica.example',
    });
  }

  const flow = () => [
    { id: 'tab', type: 'tab' },
    { id: 'smtpCfg', type: 'clinica-smtp-config', host: '${TEST_SMTP_HOST}', port: '', security: '', from: '', to: '' },
    { id: 'send', type: 'clinica-email-send', z: 'tab', smtp: 'smtpCfg', wires: [['out']] },
    { id: 'out', type: 'helper', z: 'tab' },
    { id: 'catcher', type: 'catch', z: 'tab', scope: null, uncaught: false, wires: [['errors']] },
    { id: 'errors', type: 'helper', z: 'tab' },
  ];

  async function run(input: Msg): Promise<{ out: Msg[]; errors: Msg[]; statuses: Msg[] }> {
    await helper.load(nodes, flow(), {});
    const n = helper.getNode('send');
    const statuses: Msg[] = [];
    n.on('call:status', (call: { args: Msg[] }) => statuses.push(call.args[0]));
    const out = collect<Msg>(helper.getNode('out'));
    const errors = collect<Msg>(helper.getNode('errors'));
    n.receive(input);
    await waitFor(() => out.length > 0 || errors.length > 0, 'a sent message or an error');
    await sleep(20);
    return { out, errors, statuses };
  }

  it('sends one e-mail with the config taken from ${ENV} and SMTP_* / ALERT_EMAIL_TO, and sets msg.email.result', async () => {
    envFor(smtp.port);
    const sentBefore = valueOf('smtp', 'messages_sent');
    const { out, errors, statuses } = await run({
      correlationId: 'corr-stock-42',
      email: { subject: 'Stock bajo: Ibuprofeno 600', text: 'Quedan 3 cajas.', html: '<p>Quedan 3 cajas.</p>', messageId: 'stock-alert-42@clinica.example' },
    });
    assert.deepEqual(errors, []);
    assert.equal(out.length, 1);
    const result = out[0].email.result;
    assert.equal(result.messageId, '<stock-alert-42@clinica.example>');
    assert.deepEqual(result.accepted, ['pharmacy@clinica.example', 'ops@clinica.example']);
    assert.deepEqual(result.rejected, []);
    assert.match(result.response, /^250/);
    assert.equal(typeof result.durationMs, 'number');
    assert.equal(out[0].email.subject, 'Stock bajo: Ibuprofeno 600', 'msg.email is kept');

    assert.equal(smtp.messages.length, 1);
    const m = smtp.messages[0];
    assert.equal(m.user, 'alerts');
    assert.equal(m.from, 'alerts@clinica.example');
    assert.deepEqual(m.to, ['pharmacy@clinica.example', 'ops@clinica.example']);
    assert.equal(m.header('Message-ID'), '<stock-alert-42@clinica.example>');
    assert.equal(m.header('X-Correlation-Id'), 'corr-stock-42');
    assert.ok(m.raw.includes('Quedan 3 cajas.'));

    assert.equal(valueOf('smtp', 'messages_sent') - sentBefore, 1);
    assert.ok(valueOf('smtp', 'operations', { node: 'clinica-email-send' }) >= 1);
    await waitFor(() => statuses.some((s) => s.fill === 'blue' && s.text === 'status.sending'), 'sending status');
    await waitFor(() => statuses.at(-1)?.fill === 'green', 'green once sent');
    const cfg = helper.getNode('smtpCfg');
    assert.equal(cfg.host, '127.0.0.1');
    assert.equal(cfg.port, smtp.port);
    assert.equal(cfg.security, 'none');
    assert.ok(!JSON.stringify(helper.log().args ?? []).includes('pw-not-in-logs'), 'the password is never logged');
  });

  it('sends to msg.email.to and cc instead of the default, and lists refused recipients in result.rejected', async () => {
    envFor(smtp.port);
    const { out, errors } = await run({
      email: { to: ['"Ana" <ana@clinica.example>', 'nobody@clinica.example'], cc: 'ops@clinica.example', subject: 's', text: 't' },
    });
    assert.deepEqual(errors, []);
    assert.deepEqual(out[0].email.result.accepted, ['ana@clinica.example', 'ops@clinica.example']);
    assert.deepEqual(out[0].email.result.rejected, ['nobody@clinica.example']);
    assert.deepEqual(smtp.messages[0].to, ['ana@clinica.example', 'ops@clinica.example']);
  });

  it('fails a bad address with BAD_INPUT naming the field, to a Catch node, sending nothing', async () => {
    envFor(smtp.port);
    const { out, errors, statuses } = await run({ email: { to: 'ops@clinica.example, ana.clinica.example', subject: 's', text: 't' } });
    assert.equal(out.length, 0);
    assert.equal(errors.length, 1);
    const info = errors[0].errorInfo;
    assert.equal(info.code, 'BAD_INPUT');
    assert.equal(info.system, 'smtp');
    assert.equal(info.retryable, false);
    assert.equal(info.details.field, 'msg.email.to');
    assert.match(info.message, /msg\.email\.to.*ana\.clinica\.example/);
    assert.match(errors[0].error.message, /msg\.email\.to/);
    assert.equal(smtp.messages.length, 0);
    assert.ok(statuses.some((s) => s.fill === 'red' && s.text === 'BAD_INPUT'));
  });

  it('fails a message without subject, without body or without msg.email with BAD_INPUT', async () => {
    envFor(smtp.port);
    for (const [input, field] of [
      [{ email: { text: 't' } }, 'msg.email.subject'],
      [{ email: { subject: 's' } }, 'msg.email.text'],
      [{ payload: 'hello' }, 'msg.email'],
      [{ email: { subject: 's', text: 't', cc: 'x@' } }, 'msg.email.cc'],
    ] as const) {
      const { errors } = await run(input);
      assert.equal(errors[0]?.errorInfo.code, 'BAD_INPUT', JSON.stringify(input));
      assert.equal(errors[0].errorInfo.details.field, field);
      await helper.unload();
    }
    assert.equal(smtp.messages.length, 0);
  });

  it('fails with BAD_INPUT when neither msg.email.to nor the default To (ALERT_EMAIL_TO) names a recipient', async () => {
    envFor(smtp.port);
    delete process.env.ALERT_EMAIL_TO;
    const { errors } = await run({ email: { subject: 's', text: 't' } });
    assert.equal(errors[0].errorInfo.code, 'BAD_INPUT');
    assert.match(errors[0].errorInfo.message, /ALERT_EMAIL_TO/);
  });

  it('fails with SMTP_RECIPIENT_REFUSED, not retryable, when the server refuses every recipient', async () => {
    envFor(smtp.port);
    const { errors } = await run({ email: { to: 'nobody@clinica.example', subject: 's', text: 't' } });
    assert.equal(errors[0].errorInfo.code, 'SMTP_RECIPIENT_REFUSED');
    assert.equal(errors[0].errorInfo.retryable, false);
    assert.equal(errors[0].errorInfo.details.responseCode, 550);
  });

  it('fails with a retryable SMTP_UNREACHABLE when the server is down, and shows it on the node', async () => {
    envFor(await closedPort());
    const { out, errors, statuses } = await run({ email: { subject: 's', text: 't' } });
    assert.equal(out.length, 0);
    const info = errors[0].errorInfo;
    assert.equal(info.code, 'SMTP_UNREACHABLE');
    assert.equal(info.retryable, true);
    assert.equal(info.system, 'smtp');
    assert.equal(info.details.host, '127.0.0.1');
    assert.equal(info.node.type, 'clinica-email-send');
    await waitFor(() => statuses.some((s) => s.fill === 'red' && s.text === 'SMTP_UNREACHABLE'), 'red status');
  });

  it('fails with SMTP_AUTH_FAILED and shows the config as failed when the password is wrong', async () => {
    envFor(smtp.port);
    process.env.SMTP_PASSWORD = 'wrong';
    const { errors, statuses } = await run({ email: { subject: 's', text: 't' } });
    assert.equal(errors[0].errorInfo.code, 'SMTP_AUTH_FAILED');
    assert.equal(errors[0].errorInfo.retryable, false);
    await waitFor(() => statuses.some((s) => s.fill === 'red' && s.text === 'SMTP_AUTH_FAILED'), 'failed status');
  });

  it('takes its settings from the node (credentials included) over the environment', async () => {
    await helper.load(
      nodes,
      [
        { id: 'tab', type: 'tab' },
        {
          id: 'smtpCfg',
          type: 'clinica-smtp-config',
          host: '127.0.0.1',
          port: String(smtp.port),
          security: 'none',
          from: 'desk@clinica.example',
          to: 'desk@clinica.example',
        },
        { id: 'send', type: 'clinica-email-send', z: 'tab', smtp: 'smtpCfg', wires: [['out']] },
        { id: 'out', type: 'helper', z: 'tab' },
      ],
      { smtpCfg: { user: 'alerts', password: 'pw-not-in-logs' } },
    );
    const out = collect<Msg>(helper.getNode('out'));
    helper.getNode('send').receive({ email: { subject: 's', text: 't' } });
    await waitFor(() => out.length === 1, 'sent');
    assert.equal(smtp.messages[0].from, 'desk@clinica.example');
    assert.deepEqual(smtp.messages[0].to, ['desk@clinica.example']);
  });
});
