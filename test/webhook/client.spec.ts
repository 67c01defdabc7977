import { strict as assert } from 'node:assert';
import { createHmac } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { IntegrationError } from '../../nodes/clients/common/errors';
import { retryDelay } from '../../nodes/clients/amqp';
import { deliver, generateSecret, retryAfterMs, sign, type DeliverOptions } from '../../nodes/clients/webhook';
import { Subscriber, closedPort, hang, reply, reset } from './subscriber';

const now = () => Math.floor(Date.now() / 1000);

/** The error a delivery failed with (fails the test when it was delivered). */
async function failure(options: DeliverOptions): Promise<IntegrationError> {
  try {
    const result = await deliver(options);
    assert.fail(`expected a failure, got ${JSON.stringify(result)}`);
  } catch (err) {
    assert.ok(err instanceof IntegrationError, `an IntegrationError, got ${String(err)}`);
    assert.equal(err.system, 'webhook');
    const seen = JSON.stringify({ message: err.message, json: err.toJSON(), stack: err.stack });
    assert.ok(!seen.includes(options.secret.slice(6)), 'the secret is not in the error');
    return err;
  }
}

describe('webhook client (Standard Webhooks, real local subscribers)', function () {
  const secret = generateSecret();
  let sub: Subscriber;

  beforeEach(async function () {
    sub = await new Subscriber(secret).start();
  });
  afterEach(async function () {
    await sub.close();
  });

  it('delivers a signed POST the subscriber verifies, with every header', async function () {
    const event = { type: 'stock.low', product: 'Omeprazol 20 mg', quantity: 3 };
    const before = now();
    const result = await deliver({ url: `${sub.url}/hooks`, secret, id: 'msg_stock_1', body: event });
    assert.equal(result.outcome, 'delivered');
    assert.equal(result.status, 204);
    assert.ok(typeof result.durationMs === 'number' && result.durationMs >= 0);
    assert.equal(sub.received.length, 1);
    const [r] = sub.received;
    assert.ok(r.verified, r.verifyError);
    assert.equal(r.path, '/hooks');
    assert.equal(r.body, JSON.stringify(event));
    assert.equal(r.headers['webhook-id'], 'msg_stock_1');
    const ts = Number(r.headers['webhook-timestamp']);
    assert.ok(ts >= before && ts <= now(), 'timestamp is now');
    assert.match(String(r.headers['webhook-signature']), /^v1,[A-Za-z0-9+/]{43}=$/);
    assert.equal(r.headers['webhook-signature'], sign(secret, 'msg_stock_1', ts, r.body));
    assert.equal(r.headers['content-type'], 'application/json');
    assert.match(String(r.headers['user-agent']), /clinica/);
    assert.deepEqual(new Webhook(secret).verify(r.body, r.headers as Record<string, string>), event);
  });

  it('500, 500, then 200: two retryable WEBHOOK_RETRY, then delivered; the same id and signature stay valid', async function () {
    sub.answer(reply(500, {}, 'database down'), reply(500, { 'content-type': 'text/plain' }, 'x'.repeat(2000)), reply(200, {}, 'ok'));
    const options = { url: sub.url, secret, id: 'msg_outbox_42', timestamp: now(), body: '{"alert":"stock"}' };
    const first = await failure(options);
    assert.equal(first.code, 'WEBHOOK_RETRY');
    assert.equal(first.retryable, true);
    assert.equal(first.details?.status, 500);
    assert.equal(first.details?.responseBody, 'database down');
    assert.equal(first.details?.retryAfterMs, undefined);
    assert.ok(typeof first.details?.durationMs === 'number');
    assert.match(first.message, /msg_outbox_42/);
    assert.ok(first.message.includes(sub.url), 'names the url');
    assert.match(first.message, /same webhook id/);
    const second = await failure(options);
    assert.equal(second.code, 'WEBHOOK_RETRY');
    assert.equal((second.details?.responseBody as string).length, 500, 'first 500 characters of the answer');
    const result = await deliver(options);
    assert.deepEqual([result.status, result.outcome], [200, 'delivered']);
    assert.equal(sub.received.length, 3);
    assert.ok(sub.received.every((r) => r.verified));
    assert.deepEqual(new Set(sub.received.map((r) => r.headers['webhook-id'])), new Set(['msg_outbox_42']));
    assert.equal(new Set(sub.received.map((r) => r.headers['webhook-signature'])).size, 1, 'same id + timestamp + body: same signature');
  });

  it("429 with Retry-After: 7 gives retryAfterMs 7000, which the AMQP consumer's back-off honours", async function () {
    sub.answer(
      reply(429, { 'retry-after': '7' }),
      reply(503, { 'retry-after': new Date(Date.now() + 30_000).toUTCString() }),
      reply(503, { 'retry-after': '86400' }),
    );
    const err = await failure({ url: sub.url, secret, id: 'msg_rl', body: {} });
    assert.deepEqual([err.code, err.retryable, err.details?.status, err.details?.retryAfterMs], ['WEBHOOK_RETRY', true, 429, 7000]);
    assert.match(err.message, /in 7 s/);
    assert.equal(retryDelay(err, 1000, 1), 7000);
    const dated = await failure({ url: sub.url, secret, id: 'msg_rl', body: {} });
    const ms = dated.details?.retryAfterMs as number;
    assert.ok(ms > 25_000 && ms <= 30_000, `HTTP date Retry-After: ${ms}`);
    const capped = await failure({ url: sub.url, secret, id: 'msg_rl', body: {} });
    assert.equal(capped.details?.retryAfterMs, 3_600_000, 'capped at one hour');
    assert.equal(retryAfterMs('soon'), undefined);
    assert.equal(retryAfterMs(new Date(Date.now() - 60_000).toUTCString()), 0);
  });

  it('408 is retryable; 410 is WEBHOOK_GONE and 400 WEBHOOK_REJECTED, neither retryable', async function () {
    sub.answer(reply(408), reply(410, {}, 'unsubscribed'), reply(400, {}, '{"error":"unknown event type"}'), reply(401));
    assert.equal((await failure({ url: sub.url, secret, id: 'm1', body: {} })).code, 'WEBHOOK_RETRY');
    const gone = await failure({ url: sub.url, secret, id: 'm2', body: {} });
    assert.deepEqual([gone.code, gone.retryable, gone.details?.status, gone.status], ['WEBHOOK_GONE', false, 410, 410]);
    assert.match(gone.message, /disable this subscription/);
    const rejected = await failure({ url: sub.url, secret, id: 'm3', body: {} });
    assert.deepEqual([rejected.code, rejected.retryable, rejected.details?.status], ['WEBHOOK_REJECTED', false, 400]);
    assert.equal(rejected.details?.responseBody, '{"error":"unknown event type"}');
    const unauthorized = await failure({ url: sub.url, secret, id: 'm4', body: {} });
    assert.equal(unauthorized.code, 'WEBHOOK_REJECTED');
    assert.match(unauthorized.message, /another secret/);
  });

  it('a subscriber that hangs fails with WEBHOOK_TIMEOUT within the timeout', async function () {
    sub.answer(hang);
    const started = Date.now();
    const err = await failure({ url: sub.url, secret, id: 'msg_slow', body: {}, timeoutMs: 300 });
    const took = Date.now() - started;
    assert.deepEqual([err.code, err.retryable], ['WEBHOOK_TIMEOUT', true]);
    assert.ok(took >= 290 && took < 1500, `took ${took} ms`);
    assert.match(err.message, /within 300 ms/);
  });

  it('a closed port or a cut connection fails with WEBHOOK_UNREACHABLE, retryable', async function () {
    const port = await closedPort();
    const err = await failure({ url: `http://127.0.0.1:${port}/hooks`, secret, id: 'msg_down', body: {} });
    assert.deepEqual([err.code, err.retryable, err.details?.reason], ['WEBHOOK_UNREACHABLE', true, 'ECONNREFUSED']);
    assert.ok(err.message.includes(`http://127.0.0.1:${port}/hooks`));
    sub.answer(reset);
    const cut = await failure({ url: sub.url, secret, id: 'msg_cut', body: {} });
    assert.deepEqual([cut.code, cut.retryable], ['WEBHOOK_UNREACHABLE', true]);
  });

  it("the signature is real: a tampered body, another id or another secret fail the receiver's verify", async function () {
    await deliver({ url: sub.url, secret, id: 'msg_t', body: { amount: 10 } });
    const [r] = sub.received;
    const headers = r.headers as Record<string, string>;
    assert.doesNotThrow(() => new Webhook(secret).verify(r.body, headers));
    assert.throws(() => new Webhook(secret).verify(r.body.replace('10', '11'), headers), /No matching signature/);
    assert.throws(() => new Webhook(secret).verify(r.body, { ...headers, 'webhook-id': 'msg_u' }), /No matching signature/);
    assert.throws(() => new Webhook(generateSecret()).verify(r.body, headers), /No matching signature/);
  });

  it('does not follow a redirect: 302 is WEBHOOK_REJECTED naming the Location, without its query', async function () {
    sub.answer(reply(302, { location: '/moved?token=abc' }));
    const err = await failure({ url: `${sub.url}/hooks`, secret, id: 'msg_r', body: {} });
    assert.deepEqual([err.code, err.retryable, err.details?.status], ['WEBHOOK_REJECTED', false, 302]);
    assert.ok(err.message.includes(`${sub.url}/moved`), err.message);
    assert.ok(!err.message.includes('token=abc'));
    assert.deepEqual(
      sub.received.map((r) => r.path),
      ['/hooks'],
      'the Location was never requested',
    );
  });

  it('refuses bad input with BAD_INPUT and never names the secret or the credentials of the url', async function () {
    const bad = async (options: Partial<DeliverOptions>, pattern: RegExp) => {
      const err = await failure({ url: sub.url, secret, id: 'msg_b', body: {}, ...options } as DeliverOptions);
      assert.deepEqual([err.code, err.retryable], ['BAD_INPUT', false]);
      assert.match(err.message, pattern);
      return err;
    };
    await bad({ url: 'ftp://files.example.org/in' }, /not an http or https URL/);
    await bad({ url: 'not a url' }, /is not a URL/);
    const wrong = await bad({ secret: 'not-a-webhook-secret-at-all' }, /must be a string that starts with "whsec_"/);
    assert.ok(!wrong.message.includes('not-a-webhook-secret-at-all'));
    await bad({ secret: 'whsec_c2hvcnQ=' }, /16 to 64 random bytes/);
    await bad({ id: 'has space' }, /webhook id/);
    await bad({ timestamp: 1.5 }, /whole Unix seconds/);
    await bad({ body: undefined }, /no body/);
    await bad({ headers: { 'Webhook-Signature': 'v1,forged' } }, /set by the delivery itself/);
    assert.equal(sub.received.length, 0, 'nothing was sent');
  });

  it('sends user and password of the url as Basic authorization and never shows them or the query', async function () {
    sub.answer(reply(404));
    const url = sub.url.replace('http://', 'http://hook-user:s3cr3t-pw@') + '/hooks?api_key=k3y';
    const err = await failure({ url, secret, id: 'msg_c', body: 'x' });
    assert.equal(err.code, 'WEBHOOK_REJECTED');
    const seen = JSON.stringify(err.toJSON());
    assert.ok(!/s3cr3t-pw|hook-user|k3y/.test(seen), seen);
    assert.ok(err.message.includes(`${sub.url}/hooks`));
    assert.equal(sub.received[0].headers.authorization, `Basic ${Buffer.from('hook-user:s3cr3t-pw').toString('base64')}`);
    assert.equal(sub.received[0].path, '/hooks?api_key=k3y');
  });

  it('generateSecret makes whsec_ + base64 of 32 random bytes that standardwebhooks signs and verifies alike', function () {
    const secrets = new Set(Array.from({ length: 50 }, () => generateSecret()));
    assert.equal(secrets.size, 50);
    for (const s of secrets) {
      assert.match(s, /^whsec_[A-Za-z0-9+/]{43}=$/);
      assert.equal(Buffer.from(s.slice(6), 'base64').length, 32);
      const ts = now();
      const theirs = new Webhook(s).sign('msg_x', new Date(ts * 1000), '{"a":1}');
      assert.equal(sign(s, 'msg_x', ts, '{"a":1}'), theirs);
      const headers = { 'webhook-id': 'msg_x', 'webhook-timestamp': String(ts), 'webhook-signature': sign(s, 'msg_x', ts, '{"a":1}') };
      assert.deepEqual(new Webhook(s).verify('{"a":1}', headers), { a: 1 });
    }
    // A Svix-style 24-byte secret works as well.
    const svix = `whsec_${Buffer.alloc(24, 7).toString('base64')}`;
    assert.match(sign(svix, 'a', 1, 'b'), /^v1,/);
  });

  it('property: sign then standardwebhooks verify holds for arbitrary bodies, ids and secrets (2,000 seeded cases)', function () {
    // A seeded generator (mulberry32): a failure names the case and is reproduced by the same seed.
    let state = 0x5eed1234;
    const rand = () => {
      state = (state + 0x6d2b79f5) | 0;
      let t = Math.imul(state ^ (state >>> 15), 1 | state);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
    const int = (n: number) => Math.floor(rand() * n);
    const pools = [
      () => String.fromCharCode(32 + int(95)),
      () => String.fromCharCode(int(0x80)),
      () => String.fromCodePoint(0xa0 + int(0x2000)),
      () => String.fromCodePoint(0x1f300 + int(0x300)),
      () => '.',
      () => '\n',
    ];
    const body = () => Array.from({ length: int(300) }, () => pools[int(pools.length)]()).join('');
    const id = () => Array.from({ length: 1 + int(40) }, () => String.fromCharCode(0x21 + int(94))).join('');
    for (let i = 0; i < 2000; i++) {
      const s = i % 10 === 0 ? generateSecret() : `whsec_${Buffer.from(Array.from({ length: 16 + int(49) }, () => int(256))).toString('base64')}`;
      const b = body();
      const msgId = id();
      const ts = now() - int(200);
      const signature = sign(s, msgId, ts, b);
      const headers = { 'webhook-id': msgId, 'webhook-timestamp': String(ts), 'webhook-signature': signature };
      try {
        new Webhook(s).verify(b, headers, { jsonParse: false });
      } catch (err) {
        assert.fail(`case ${i}: ${String(err)} for id ${JSON.stringify(msgId)} body ${JSON.stringify(b)}`);
      }
      const expected = createHmac('sha256', Buffer.from(s.slice(6), 'base64'))
        .update(`${msgId}.${ts}.${b}`)
        .digest('base64');
      assert.equal(signature, `v1,${expected}`);
    }
  });
});
