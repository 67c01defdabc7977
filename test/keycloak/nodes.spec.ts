import { strict as assert } from 'node:assert';
import { createPublicKey } from 'node:crypto';
import type * as http from 'node:http';
import * as net from 'node:net';
import { SignJWT, base64url } from 'jose';
import { core, helper, collect, serveHttpNodes, waitFor } from '../lib/harness';
import { realmSettings } from '../../nodes/keycloak/types';
import { KeycloakPeer } from '../../peers/keycloak/keycloak-peer';
import { userToken } from '../../peers/keycloak/user-token';

const realmNode = require('../../nodes/keycloak/keycloak-realm');
const guardNode = require('../../nodes/keycloak/keycloak-guard');
const tokenNode = require('../../nodes/keycloak/keycloak-token');
const nodes = [realmNode, guardNode, tokenNode, core.httpIn, core.function, core.httpRequest];

type Msg = Record<string, any>;

/**
 * The test helper hands `http in` nodes an express app of their own (RED.httpNode) without serving it;
 * this server forwards to whichever app the current flow registered its routes on.
 */
async function closedPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', () => resolve()));
  const { port } = s.address() as net.AddressInfo;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

describe('keycloak nodes (Node-RED test helper, real OpenID provider)', function () {
  let peer: KeycloakPeer;
  let web: { server: http.Server; url: string };
  const tokens: Record<string, string> = {};
  const now = () => Math.floor(Date.now() / 1000);

  before(async function () {
    peer = await KeycloakPeer.start();
    web = await serveHttpNodes();
    await new Promise<void>((resolve) => helper.startServer(() => resolve()));
    for (const user of ['medico.prueba', 'farmacia.prueba', 'admin.clinica']) tokens[user] = (await userToken(peer, user)).access_token;
  });

  after(async function () {
    await new Promise<void>((resolve) => helper.stopServer(() => resolve()));
    web?.server.closeAllConnections();
    await new Promise<void>((resolve) => (web ? web.server.close(() => resolve()) : resolve()));
    await peer?.close();
  });

  afterEach(async function () {
    await helper.unload();
  });

  const apiRealm = (extra: Msg = {}) => ({
    id: 'kc',
    type: 'clinica-keycloak-realm',
    url: peer.baseUrl,
    realm: 'clinica-realm',
    clientId: 'clinica-api',
    ...extra,
  });

  /** http in → guard → function (echo user) → http response; refused messages to `refused` (and a response). */
  function guardedFlow(guard: Msg, realm: Msg = apiRealm()): Msg[] {
    return [
      { id: 'tab', type: 'tab', label: 'api' },
      realm,
      { id: 'in', type: 'http in', z: 'tab', url: '/api/patients', method: 'get', wires: [['guard']] },
      {
        id: 'guard',
        type: 'clinica-keycloak-guard',
        z: 'tab',
        realm: 'kc',
        mode: 'any',
        onFailure: 'respond',
        tokenFrom: 'header',
        wires: [['echo'], ['refused', 'resp']],
        ...guard,
      },
      {
        id: 'echo',
        type: 'function',
        z: 'tab',
        func: 'msg.payload = { user: msg.user, decision: msg.keycloak.decision, clientId: msg.keycloak.clientId }; return msg;',
        outputs: 1,
        wires: [['resp', 'out']],
      },
      { id: 'resp', type: 'http response', z: 'tab' },
      { id: 'out', type: 'helper', z: 'tab' },
      { id: 'refused', type: 'helper', z: 'tab' },
      { id: 'catcher', type: 'catch', z: 'tab', scope: null, uncaught: false, wires: [['errors']] },
      { id: 'errors', type: 'helper', z: 'tab' },
    ];
  }

  async function get(token?: string, path = '/api/patients') {
    const res = await fetch(`${web.url}${path}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
    const text = await res.text();
    return { status: res.status, headers: res.headers, body: text ? (JSON.parse(text) as Msg) : undefined };
  }

  it('lets a token with a required role through and puts the user on msg.user', async function () {
    await helper.load(nodes, guardedFlow({ roles: 'medico, enfermeria' }));
    const out = collect<Msg>(helper.getNode('out'));
    const res = await get(tokens['medico.prueba']);
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, {
      user: { sub: peer.user('medico.prueba').id, username: 'medico.prueba', email: 'medico.prueba@clinica.test', roles: ['medico'] },
      decision: 'allowed',
      clientId: 'node-red',
    });
    await waitFor(() => out.length === 1, 'allowed message');
    assert.deepEqual(out[0].keycloak.realmRoles, ['medico']);
    assert.equal(out[0].keycloak.issuer, peer.issuer);
    assert.ok(out[0].correlationId);
  });

  it('answers 403 itself to a valid token without the role, and passes nothing on', async function () {
    await helper.load(nodes, guardedFlow({ roles: 'medico, enfermeria' }));
    const out = collect<Msg>(helper.getNode('out'));
    const refused = collect<Msg>(helper.getNode('refused'));
    const res = await get(tokens['farmacia.prueba']);
    assert.equal(res.status, 403);
    assert.equal(res.body?.code, 'KEYCLOAK_FORBIDDEN');
    assert.equal(res.body?.error, 'insufficient_scope');
    assert.match(res.headers.get('www-authenticate') ?? '', /^Bearer realm="clinica-realm", error="insufficient_scope"/);
    assert.ok(res.headers.get('x-correlation-id'));
    assert.equal(out.length + refused.length, 0);
  });

  it('requires every role in "all" mode', async function () {
    await helper.load(nodes, guardedFlow({ roles: 'medico, admin', mode: 'all' }));
    assert.equal((await get(tokens['medico.prueba'])).status, 403);
    assert.equal((await get(tokens['admin.clinica'])).status, 403, 'admin alone is not enough');
  });

  it('answers 401 with WWW-Authenticate to missing, expired, forged and misdirected tokens', async function () {
    await helper.load(nodes, guardedFlow({ roles: '' }));
    const errors = collect<Msg>(helper.getNode('errors'));
    const good = tokens['medico.prueba'];
    const [head, body, signature] = good.split('.');
    const claims = JSON.parse(new TextDecoder().decode(base64url.decode(body))) as Msg;
    const publicPem = String(createPublicKey({ key: peer.keys[0].publicJwk as never, format: 'jwk' }).export({ type: 'spki', format: 'pem' }));
    const cases: Array<[string, string | undefined, string]> = [
      ['missing', undefined, 'KEYCLOAK_TOKEN_MISSING'],
      ['expired', await peer.mint('medico.prueba', 'node-red', { exp: now() - 120, iat: now() - 420 }), 'KEYCLOAK_TOKEN_EXPIRED'],
      ['not yet valid', await peer.mint('medico.prueba', 'node-red', { nbf: now() + 120 }), 'KEYCLOAK_TOKEN_NOT_YET_VALID'],
      ['wrong issuer', await peer.mint('medico.prueba', 'node-red', { iss: `${peer.baseUrl}/realms/master` }), 'KEYCLOAK_TOKEN_WRONG_ISSUER'],
      ['wrong audience', await peer.mint('medico.prueba', 'nextcloud', { aud: 'nextcloud', azp: 'nextcloud' }), 'KEYCLOAK_TOKEN_WRONG_AUDIENCE'],
      ['alg none', `${base64url.encode(JSON.stringify({ alg: 'none' }))}.${body}.`, 'KEYCLOAK_TOKEN_ALG_REJECTED'],
      [
        'HS256 with the public key',
        await new SignJWT(claims).setProtectedHeader({ alg: 'HS256', kid: peer.keys[0].kid }).sign(new TextEncoder().encode(publicPem)),
        'KEYCLOAK_TOKEN_ALG_REJECTED',
      ],
      ['unknown kid', await peer.mint('medico.prueba', 'node-red', {}, { key: await KeycloakPeer.strayKey() }), 'KEYCLOAK_TOKEN_UNKNOWN_KEY'],
      [
        'tampered payload',
        `${head}.${base64url.encode(JSON.stringify({ ...claims, realm_access: { roles: ['admin'] } }))}.${signature}`,
        'KEYCLOAK_TOKEN_BAD_SIGNATURE',
      ],
    ];
    for (const [name, token, code] of cases) {
      const res = await get(token);
      assert.equal(res.status, 401, name);
      assert.equal(res.body?.code, code, name);
      const challenge = res.headers.get('www-authenticate') ?? '';
      assert.match(challenge, /^Bearer realm="clinica-realm"/, name);
      if (token) assert.match(challenge, /error="invalid_token"/, name);
      else assert.doesNotMatch(challenge, /error=/, 'no error code when no token was sent (RFC 6750 §3.1)');
    }
    assert.equal(errors.length, 0, 'refusals are outcomes, not node errors');

    // Every decision was logged, and no log line carries a token.
    const lines = helper.log().args.map((a: unknown[]) => JSON.stringify(a[0]));
    const denied = lines.filter((l: string) => l.includes('keycloak.guard.denied'));
    assert.equal(denied.length, cases.length);
    for (const [, token] of cases) if (token) assert.ok(!lines.some((l: string) => l.includes(token.split('.')[2] || token)), 'token in a log line');
  });

  it('sends refused requests to the second output, ready for an http response node', async function () {
    await helper.load(nodes, guardedFlow({ roles: 'medico', onFailure: 'output' }));
    const refused = collect<Msg>(helper.getNode('refused'));
    const res = await get(tokens['farmacia.prueba']);
    assert.equal(res.status, 403);
    assert.match(res.headers.get('www-authenticate') ?? '', /insufficient_scope/);
    await waitFor(() => refused.length === 1, 'refused message');
    assert.equal(refused[0].keycloak.error.code, 'KEYCLOAK_FORBIDDEN');
    assert.equal(refused[0].statusCode, 403);
    assert.equal((await get(undefined)).status, 401);
  });

  it('reads the token from a message property when told to', async function () {
    await helper.load(nodes, [
      apiRealm(),
      {
        id: 'guard',
        type: 'clinica-keycloak-guard',
        realm: 'kc',
        roles: 'admin',
        onFailure: 'output',
        tokenFrom: 'msg',
        tokenProperty: 'auth.token',
        wires: [['out'], ['refused']],
      },
      { id: 'out', type: 'helper' },
      { id: 'refused', type: 'helper' },
    ]);
    const out = collect<Msg>(helper.getNode('out'));
    const refused = collect<Msg>(helper.getNode('refused'));
    helper.getNode('guard').receive({ auth: { token: tokens['admin.clinica'] } });
    helper.getNode('guard').receive({ auth: { token: `Bearer ${tokens['medico.prueba']}` } });
    await waitFor(() => out.length === 1 && refused.length === 1, 'one allowed, one refused');
    assert.equal(out[0].user.username, 'admin.clinica');
    assert.equal(refused[0].keycloak.error.code, 'KEYCLOAK_FORBIDDEN');
  });

  it('keeps accepting tokens across a key rotation in the middle of the run', async function () {
    await helper.load(nodes, guardedFlow({ roles: 'admin' }));
    const before = await userToken(peer, 'admin.clinica');
    assert.equal((await get(before.access_token)).status, 200);
    await peer.rotateKeys();
    const after = await userToken(peer, 'admin.clinica');
    assert.notEqual(after.access_token.split('.')[0], before.access_token.split('.')[0], 'a different kid in the header');
    assert.equal((await get(after.access_token)).status, 200, 'new key');
    assert.equal((await get(before.access_token)).status, 200, 'previous key, still published');
    tokens['medico.prueba'] = (await userToken(peer, 'medico.prueba')).access_token;
    tokens['farmacia.prueba'] = (await userToken(peer, 'farmacia.prueba')).access_token;
    tokens['admin.clinica'] = after.access_token;
  });

  it('answers 503 while Keycloak is away and reports the outage through done(err)', async function () {
    await helper.load(nodes, guardedFlow({ roles: '' }, apiRealm({ url: `http://127.0.0.1:${await closedPort()}` })));
    const errors = collect<Msg>(helper.getNode('errors'));
    const res = await get(tokens['medico.prueba']);
    assert.equal(res.status, 503);
    assert.equal(res.headers.get('retry-after'), '5');
    assert.equal(res.body?.code, 'KEYCLOAK_UNREACHABLE');
    await waitFor(() => errors.length === 1, 'caught error');
    assert.deepEqual([errors[0].errorInfo.code, errors[0].errorInfo.retryable], ['KEYCLOAK_UNREACHABLE', true]);
  });

  it('still answers the caller (500) when its realm is misconfigured, and reports it', async function () {
    const saved = process.env.KEYCLOAK_CLIENT_ID;
    delete process.env.KEYCLOAK_CLIENT_ID;
    try {
      await helper.load(nodes, guardedFlow({ roles: '' }, apiRealm({ clientId: '' })));
    } finally {
      if (saved !== undefined) process.env.KEYCLOAK_CLIENT_ID = saved;
    }
    const errors = collect<Msg>(helper.getNode('errors'));
    const res = await get(tokens['medico.prueba']);
    assert.equal(res.status, 500);
    assert.equal(res.body?.code, 'KEYCLOAK_NOT_CONFIGURED');
    await waitFor(() => errors.length === 1, 'caught error');
    assert.match(errors[0].error.message, /client id \(KEYCLOAK_CLIENT_ID\)/);
  });

  describe('token node', function () {
    const integration = (extra: Msg = {}) => ({
      id: 'svc',
      type: 'clinica-keycloak-realm',
      url: peer.baseUrl,
      realm: 'clinica-realm',
      clientId: 'clinica-integration',
      ...extra,
    });

    it('sets Authorization for http request from one cached token, however many messages arrive', async function () {
      await helper.load(nodes, [integration(), { id: 'tok', type: 'clinica-keycloak-token', realm: 'svc', wires: [['out']] }, { id: 'out', type: 'helper' }], {
        svc: { clientSecret: 'integration-dev-secret' },
      });
      const out = collect<Msg>(helper.getNode('out'));
      const start = peer.requests.token;
      for (let i = 0; i < 8; i++) {
        helper.getNode('tok').receive({ payload: i, headers: { authorization: 'Basic old', 'X-Trace': 't' }, keycloak: { decision: 'allowed' } });
      }
      await waitFor(() => out.length === 8, 'eight messages');
      assert.equal(peer.requests.token - start, 1, 'one token request');
      const values = new Set(out.map((m) => m.headers.Authorization));
      assert.equal(values.size, 1);
      assert.match([...values][0], /^Bearer ey/);
      assert.equal(out[0].headers.authorization, undefined, 'the old header is gone');
      assert.equal(out[0].headers['X-Trace'], 't');
      assert.equal(out[0].keycloak.decision, 'allowed', 'msg.keycloak of a guard is kept');
      assert.equal(out[0].keycloak.serviceToken.clientId, 'clinica-integration');
      assert.ok(!JSON.stringify(out[0].keycloak).includes('ey'), 'the token is only in the header');
    });

    it('calls a guarded endpoint end to end: token → http request → http in → guard', async function () {
      process.env.TEST_KC_INTEGRATION_SECRET = 'integration-dev-secret';
      await helper.load(
        nodes,
        [
          { id: 'tab', type: 'tab' },
          integration(),
          apiRealm(),
          { id: 'tok', type: 'clinica-keycloak-token', z: 'tab', realm: 'svc', wires: [['req']] },
          { id: 'req', type: 'http request', z: 'tab', method: 'GET', ret: 'obj', url: `${web.url}/api/internal`, wires: [['out']] },
          { id: 'in', type: 'http in', z: 'tab', url: '/api/internal', method: 'get', wires: [['guard']] },
          { id: 'guard', type: 'clinica-keycloak-guard', z: 'tab', realm: 'kc', roles: 'client:service', wires: [['echo'], []] },
          { id: 'echo', type: 'function', z: 'tab', func: 'msg.payload = msg.user; return msg;', outputs: 1, wires: [['resp']] },
          { id: 'resp', type: 'http response', z: 'tab' },
          { id: 'out', type: 'helper', z: 'tab' },
        ],
        { svc: { clientSecret: '${TEST_KC_INTEGRATION_SECRET}' } },
      );
      const out = collect<Msg>(helper.getNode('out'));
      helper.getNode('tok').receive({ payload: '' });
      await waitFor(() => out.length === 1, 'response');
      delete process.env.TEST_KC_INTEGRATION_SECRET;
      assert.equal(out[0].statusCode, 200);
      assert.equal(out[0].payload.username, 'service-account-clinica-integration');
      assert.deepEqual(out[0].payload.roles, ['service']);
    });

    it('fails through done(err) with the fix when the secret is wrong', async function () {
      await helper.load(
        nodes,
        [
          { id: 'tab', type: 'tab' },
          integration(),
          { id: 'tok', type: 'clinica-keycloak-token', z: 'tab', realm: 'svc', wires: [['out']] },
          { id: 'out', type: 'helper', z: 'tab' },
          { id: 'catcher', type: 'catch', z: 'tab', scope: null, uncaught: false, wires: [['errors']] },
          { id: 'errors', type: 'helper', z: 'tab' },
        ],
        { svc: { clientSecret: 'not-the-secret' } },
      );
      const errors = collect<Msg>(helper.getNode('errors'));
      helper.getNode('tok').receive({ payload: 1 });
      await waitFor(() => errors.length === 1, 'caught error');
      assert.equal(errors[0].errorInfo.code, 'KEYCLOAK_CLIENT_REJECTED');
      assert.equal(errors[0].errorInfo.retryable, false);
      assert.match(errors[0].error.message, /client id and secret/);
    });
  });

  it("takes realm settings from ${ENV} and the docs/mission.md variables, never another client's secret", function () {
    const env = {
      KEYCLOAK_URL: 'http://kc:8080',
      KEYCLOAK_REALM: 'clinica-realm',
      KEYCLOAK_CLIENT_ID: 'node-red',
      KEYCLOAK_CLIENT_SECRET: 's3cret',
      API: 'clinica-api',
    };
    assert.deepEqual(realmSettings({ url: '', realm: '', clientId: '' }, {}, env), {
      url: 'http://kc:8080',
      realm: 'clinica-realm',
      clientId: 'node-red',
      clientSecret: 's3cret',
      audiences: [],
      clockToleranceSec: 10,
      jwksCooldownMs: 10000,
    });
    const api = realmSettings({ url: '${KEYCLOAK_URL}', clientId: '${API}', audiences: 'a, b', clockSkew: '30' }, {}, env);
    assert.equal(api.clientId, 'clinica-api');
    assert.equal(api.clientSecret, undefined, 'the env secret belongs to KEYCLOAK_CLIENT_ID only');
    assert.deepEqual(api.audiences, ['a', 'b']);
    assert.equal(api.clockToleranceSec, 30);
    assert.equal(realmSettings({ clientId: 'x' }, { clientSecret: '${KEYCLOAK_CLIENT_SECRET}' }, env).clientSecret, 's3cret');
    const publicEnv = { ...env, KEYCLOAK_PUBLIC_URL: 'http://localhost:8080' };
    assert.equal(realmSettings({}, {}, publicEnv).publicUrl, 'http://localhost:8080');
    assert.equal(realmSettings({ url: 'http://other:8080' }, {}, publicEnv).publicUrl, undefined, 'only for the Keycloak of KEYCLOAK_URL');
  });
});
