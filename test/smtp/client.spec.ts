/** The SMTP client against a real SMTP server (smtp-server) in this process: sending, pooling and every error code. */
import { strict as assert } from 'node:assert';
import { IntegrationError } from '../../nodes/clients/common/errors';
import { createSmtpClient, type SmtpClient, type SmtpClientOptions } from '../../nodes/clients/smtp';
import { closedPort, silentServer, startSmtpServer, type TestSmtpServer } from './server';

/** Runs `fn` and returns the IntegrationError it throws. */
async function failure(fn: () => Promise<unknown>): Promise<IntegrationError> {
  try {
    await fn();
  } catch (err) {
    assert.ok(err instanceof IntegrationError, `an IntegrationError, got ${String(err)}`);
    assert.equal(err.system, 'smtp');
    return err;
  }
  assert.fail('expected a failure');
}

describe('SMTP client (real smtp-server)', function () {
  this.timeout(20000);
  const clients: SmtpClient[] = [];
  const servers: Array<{ close(): Promise<void> }> = [];

  const client = (options: Partial<SmtpClientOptions> & { port: number }) => {
    const c = createSmtpClient({ host: '127.0.0.1', security: 'none', from: 'alerts@clinica.example', timeoutMs: 5000, ...options });
    clients.push(c);
    return c;
  };
  const server = async (options: Parameters<typeof startSmtpServer>[0] = {}) => {
    const s = await startSmtpServer(options);
    servers.push(s);
    return s;
  };

  afterEach(async function () {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    await Promise.all(servers.splice(0).map((s) => s.close()));
  });

  describe('sending', function () {
    let smtp: TestSmtpServer;
    beforeEach(async () => (smtp = await server()));

    it('sends a message with its From, To, Cc, Subject, Message-ID, text and html', async function () {
      const c = client({ port: smtp.port, from: '"Clínica alerts" <alerts@clinica.example>' });
      const result = await c.send({
        to: 'pharmacy@clinica.example, "Ana Ruiz" <ana@clinica.example>',
        cc: ['ops@clinica.example'],
        subject: 'Stock bajo: Ibuprofeno 600',
        text: 'Quedan 3 cajas.',
        html: '<p>Quedan <b>3</b> cajas.</p>',
        messageId: 'stock-alert-42@clinica.example',
        headers: { 'X-Correlation-Id': 'corr-1' },
      });
      assert.equal(result.messageId, '<stock-alert-42@clinica.example>');
      assert.deepEqual(result.accepted.sort(), ['ana@clinica.example', 'ops@clinica.example', 'pharmacy@clinica.example']);
      assert.deepEqual(result.rejected, []);
      assert.match(result.response, /^250/);
      assert.ok(result.durationMs >= 0);

      assert.equal(smtp.messages.length, 1);
      const m = smtp.messages[0];
      assert.equal(m.from, 'alerts@clinica.example');
      assert.deepEqual(m.to.sort(), ['ana@clinica.example', 'ops@clinica.example', 'pharmacy@clinica.example']);
      assert.match(m.header('From') ?? '', /alerts@clinica\.example/);
      assert.match(m.header('To') ?? '', /pharmacy@clinica\.example.*Ana Ruiz.*ana@clinica\.example/);
      assert.equal(m.header('Cc'), 'ops@clinica.example');
      assert.match(m.header('Subject') ?? '', /Stock bajo|=\?UTF-8\?/);
      assert.equal(m.header('Message-ID'), '<stock-alert-42@clinica.example>');
      assert.equal(m.header('X-Correlation-Id'), 'corr-1');
      assert.match(m.header('Content-Type') ?? '', /multipart\/alternative/);
      assert.ok(m.raw.includes('Quedan 3 cajas.'));
      assert.ok(m.raw.includes('<p>Quedan <b>3</b> cajas.</p>'));
    });

    it('sends the same Message-ID again when the message is sent again (a redelivery), so receivers can dedupe', async function () {
      const c = client({ port: smtp.port });
      const mail = { to: 'ops@clinica.example', subject: 'x', text: 'y', messageId: '<redelivered-7@clinica.example>' };
      const a = await c.send(mail);
      const b = await c.send(mail);
      assert.equal(a.messageId, b.messageId);
      assert.deepEqual(
        smtp.messages.map((m) => m.header('Message-ID')),
        ['<redelivered-7@clinica.example>', '<redelivered-7@clinica.example>'],
      );
    });

    it('makes a Message-ID when none is given', async function () {
      const result = await client({ port: smtp.port }).send({ to: 'ops@clinica.example', subject: 'x', text: 'y' });
      assert.match(result.messageId, /^<[^<>\s]+@[^<>\s]+>$/);
      assert.equal(smtp.messages[0].header('Message-ID'), result.messageId);
    });

    it('reuses its pooled connection for the next messages', async function () {
      const c = client({ port: smtp.port, maxConnections: 1 });
      for (let i = 0; i < 5; i++) await c.send({ to: 'ops@clinica.example', subject: `n${i}`, text: 'y' });
      assert.equal(smtp.messages.length, 5);
      assert.equal(smtp.connections, 1);
    });

    it('refuses a bad address, no subject, no body or a messageId with spaces with BAD_INPUT, sending nothing', async function () {
      const c = client({ port: smtp.port });
      const bad = async (mail: Parameters<SmtpClient['send']>[0], field: string) => {
        const err = await failure(() => c.send(mail));
        assert.equal(err.code, 'BAD_INPUT');
        assert.equal(err.retryable, false);
        assert.equal(err.details?.field, field);
      };
      await bad({ to: 'ops@clinica.example, not-an-address', subject: 'x', text: 'y' }, 'to');
      await bad({ to: 'ops@clinica.example', cc: 'a@', subject: 'x', text: 'y' }, 'cc');
      await bad({ to: 'ops@clinica.example', subject: ' ', text: 'y' }, 'subject');
      await bad({ to: 'ops@clinica.example', subject: 'x' }, 'text');
      await bad({ to: 'ops@clinica.example', subject: 'x', text: 'y', messageId: 'two words' }, 'messageId');
      assert.equal(smtp.messages.length, 0);
    });
  });

  describe('login', function () {
    it('fails a wrong password with SMTP_AUTH_FAILED, not retryable, and sends with the right one', async function () {
      const smtp = await server({ auth: { user: 'alerts', pass: 's3cret' } });
      const wrong = await failure(() =>
        client({ port: smtp.port, user: 'alerts', password: 'wrong' }).send({ to: 'ops@clinica.example', subject: 'x', text: 'y' }),
      );
      assert.equal(wrong.code, 'SMTP_AUTH_FAILED');
      assert.equal(wrong.retryable, false);
      assert.equal(wrong.details?.responseCode, 535);
      assert.equal(wrong.details?.host, '127.0.0.1');
      assert.match(wrong.message, /127\.0\.0\.1:\d+ refused the login.*SMTP_PASSWORD/);
      assert.ok(!wrong.message.includes('wrong'), 'the password is not in the message');
      assert.ok(!JSON.stringify(wrong.toJSON()).includes('wrong'), 'nor in the error as logged');

      const verifyWrong = await failure(() => client({ port: smtp.port, user: 'alerts', password: 'wrong' }).verify());
      assert.equal(verifyWrong.code, 'SMTP_AUTH_FAILED');

      const right = client({ port: smtp.port, user: 'alerts', password: 's3cret' });
      await right.verify();
      await right.send({ to: 'ops@clinica.example', subject: 'x', text: 'y' });
      assert.equal(smtp.messages.length, 1);
      assert.equal(smtp.messages[0].user, 'alerts');
    });

    it('fails without a login when the server requires one with SMTP_AUTH_FAILED', async function () {
      const smtp = await server({ auth: { user: 'alerts', pass: 's3cret' } });
      const err = await failure(() => client({ port: smtp.port }).send({ to: 'ops@clinica.example', subject: 'x', text: 'y' }));
      assert.equal(err.code, 'SMTP_AUTH_FAILED');
      assert.equal(err.retryable, false);
    });
  });

  describe('server refusals', function () {
    it('fails with SMTP_RECIPIENT_REFUSED when every recipient gets 550, not retryable', async function () {
      const smtp = await server({ rcpt: (a) => (a.startsWith('nobody') ? 550 : undefined) });
      const err = await failure(() => client({ port: smtp.port }).send({ to: 'nobody@clinica.example', subject: 'x', text: 'y' }));
      assert.equal(err.code, 'SMTP_RECIPIENT_REFUSED');
      assert.equal(err.retryable, false);
      assert.equal(err.details?.responseCode, 550);
      assert.equal(err.details?.command, 'RCPT TO');
      assert.match(String(err.details?.response), /^550 No such user/);
      assert.match(err.message, /nobody@clinica\.example/);
      assert.equal(smtp.messages.length, 0);
    });

    it('succeeds when only some recipients are refused, listing them in rejected', async function () {
      const smtp = await server({ rcpt: (a) => (a.startsWith('nobody') ? 550 : undefined) });
      const result = await client({ port: smtp.port }).send({ to: ['ops@clinica.example', 'nobody@clinica.example'], subject: 'x', text: 'y' });
      assert.deepEqual(result.accepted, ['ops@clinica.example']);
      assert.deepEqual(result.rejected, ['nobody@clinica.example']);
      assert.deepEqual(smtp.messages[0].to, ['ops@clinica.example']);
    });

    it('fails with SMTP_TEMPORARY_FAILURE on 450, retryable', async function () {
      const smtp = await server({ rcpt: () => 450 });
      const err = await failure(() => client({ port: smtp.port }).send({ to: 'ops@clinica.example', subject: 'x', text: 'y' }));
      assert.equal(err.code, 'SMTP_TEMPORARY_FAILURE');
      assert.equal(err.retryable, true);
      assert.equal(err.details?.responseCode, 450);
    });

    it('fails with SMTP_REJECTED when the message is refused with 554 at DATA, not retryable', async function () {
      const smtp = await server({ data: (raw) => (raw.includes('SPAM') ? 554 : undefined) });
      const err = await failure(() => client({ port: smtp.port }).send({ to: 'ops@clinica.example', subject: 'x', text: 'SPAM' }));
      assert.equal(err.code, 'SMTP_REJECTED');
      assert.equal(err.retryable, false);
      assert.equal(err.details?.responseCode, 554);
      assert.equal(err.details?.command, 'DATA');
      assert.equal(smtp.messages.length, 0);
    });

    it('fails with SMTP_TEMPORARY_FAILURE when the message is deferred with 451 at DATA', async function () {
      const smtp = await server({ data: () => 451 });
      const err = await failure(() => client({ port: smtp.port }).send({ to: 'ops@clinica.example', subject: 'x', text: 'y' }));
      assert.equal(err.code, 'SMTP_TEMPORARY_FAILURE');
      assert.equal(err.retryable, true);
    });
  });

  describe('connection faults', function () {
    it('fails with SMTP_UNREACHABLE, retryable, when nothing listens', async function () {
      const port = await closedPort();
      const err = await failure(() => client({ port }).send({ to: 'ops@clinica.example', subject: 'x', text: 'y' }));
      assert.equal(err.code, 'SMTP_UNREACHABLE');
      assert.equal(err.retryable, true);
      assert.match(err.message, new RegExp(`127\\.0\\.0\\.1:${port} cannot be reached.*SMTP_HOST`));
      const verify = await failure(() => client({ port }).verify());
      assert.equal(verify.code, 'SMTP_UNREACHABLE');
    });

    it('fails with SMTP_UNREACHABLE for a host name that does not resolve', async function () {
      const err = await failure(() => client({ host: 'smtp.does-not-exist.invalid', port: 25 }).send({ to: 'ops@clinica.example', subject: 'x', text: 'y' }));
      assert.equal(err.code, 'SMTP_UNREACHABLE');
      assert.equal(err.retryable, true);
      assert.equal(err.details?.host, 'smtp.does-not-exist.invalid');
    });

    it('fails with SMTP_TIMEOUT within timeoutMs when the server never answers', async function () {
      const silent = await silentServer();
      servers.push(silent);
      const started = Date.now();
      const err = await failure(() => client({ port: silent.port, timeoutMs: 400 }).send({ to: 'ops@clinica.example', subject: 'x', text: 'y' }));
      const took = Date.now() - started;
      assert.equal(err.code, 'SMTP_TIMEOUT');
      assert.equal(err.retryable, true);
      assert.ok(took >= 350 && took < 2000, `failed after ${took} ms`);
    });

    it('sends again once the server is back (the pool opens a new connection)', async function () {
      const port = await closedPort();
      const c = client({ port });
      assert.equal((await failure(() => c.send({ to: 'ops@clinica.example', subject: 'x', text: 'y' }))).code, 'SMTP_UNREACHABLE');
      const smtp = await server({ port });
      await c.send({ to: 'ops@clinica.example', subject: 'x', text: 'y' });
      assert.equal(smtp.messages.length, 1);
    });

    it('refuses to be made without a host or with a bad port (SMTP_NOT_CONFIGURED)', function () {
      for (const options of [
        { host: ' ', port: 25 },
        { host: 'mail', port: 0 },
      ]) {
        assert.throws(
          () => createSmtpClient({ ...options, security: 'none', from: 'a@b.example' }),
          (err: unknown) => err instanceof IntegrationError && err.code === 'SMTP_NOT_CONFIGURED' && !err.retryable,
        );
      }
    });

    it('fails a closed client with SMTP_CLOSED', async function () {
      const smtp = await server();
      const c = client({ port: smtp.port });
      await c.close();
      assert.equal((await failure(() => c.send({ to: 'ops@clinica.example', subject: 'x', text: 'y' }))).code, 'SMTP_CLOSED');
    });
  });

  describe('STARTTLS', function () {
    it('sends over STARTTLS to a self-signed server when told to accept its certificate, and fails with SMTP_TLS_FAILED when not', async function () {
      const smtp = await server({ starttls: true, auth: { user: 'alerts', pass: 's3cret' } });
      const strict = await failure(() =>
        client({ port: smtp.port, security: 'starttls', user: 'alerts', password: 's3cret' }).send({ to: 'ops@clinica.example', subject: 'x', text: 'y' }),
      );
      assert.equal(strict.code, 'SMTP_TLS_FAILED');
      assert.equal(strict.retryable, false);
      assert.match(strict.message, /SMTP_TLS_REJECT_UNAUTHORIZED/);

      const relaxed = client({ port: smtp.port, security: 'starttls', user: 'alerts', password: 's3cret', tlsRejectUnauthorized: false });
      await relaxed.send({ to: 'ops@clinica.example', subject: 'x', text: 'y' });
      assert.equal(smtp.messages.length, 1);
    });

    it('fails with SMTP_TLS_FAILED when STARTTLS is required and the server does not offer it', async function () {
      const smtp = await server();
      const err = await failure(() => client({ port: smtp.port, security: 'starttls' }).send({ to: 'ops@clinica.example', subject: 'x', text: 'y' }));
      assert.equal(err.code, 'SMTP_TLS_FAILED');
      assert.equal(err.retryable, false);
    });

    it('fails with SMTP_TLS_FAILED when tls (port 465 style) meets a plain server', async function () {
      const smtp = await server();
      const err = await failure(() =>
        client({ port: smtp.port, security: 'tls', timeoutMs: 2000 }).send({ to: 'ops@clinica.example', subject: 'x', text: 'y' }),
      );
      assert.equal(err.code, 'SMTP_TLS_FAILED');
    });
  });
});
