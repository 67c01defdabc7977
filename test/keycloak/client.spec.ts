import { strict as assert } from 'node:assert';
import { createPublicKey } from 'node:crypto';
import * as net from 'node:net';
import { SignJWT, base64url } from 'jose';
import { KeycloakRealm, TokenError, hasRoles, bearerToken } from '../../nodes/clients/keycloak';
import { IntegrationError } from '../../nodes/clients/common/errors';
import { KeycloakPeer, PEER_REALM } from '../../peers/keycloak/keycloak-peer';
import { userToken } from '../../peers/keycloak/user-token';

const INTEGRATION_SECRET = 'integration-dev-secret';

/** A TCP port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function rejection(promise: Promise<unknown>): Promise<IntegrationError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof IntegrationError, `expected an IntegrationError, got ${String(err)}`);
    return err;
  }
  throw new Error('expected the promise to be rejected');
}

describe('keycloak client (real OpenID provider with Keycloak layout)', function () {
  let peer: KeycloakPeer;
  let medicoToken: string;
  const now = () => Math.floor(Date.now() / 1000);
  const apiRealm = (extra: Partial<ConstructorParameters<typeof KeycloakRealm>[0]> = {}) =>
    new KeycloakRealm({ url: peer.baseUrl, realm: PEER_REALM, clientId: 'clinica-api', ...extra });

  before(async function () {
    peer = await KeycloakPeer.start();
    medicoToken = (await userToken(peer, 'medico.prueba')).access_token;
  });

  after(async function () {
    await peer?.close();
  });

  it('discovers <url>/realms/<realm> and verifies a token the provider issued through a login', async function () {
    const realm = apiRealm();
    const verified = await realm.verify(medicoToken);
    assert.equal(realm.issuer, `${peer.baseUrl}/realms/clinica-realm`);
    assert.deepEqual(verified.user, {
      sub: peer.user('medico.prueba').id,
      username: 'medico.prueba',
      email: 'medico.prueba@clinica.test',
      roles: ['medico'],
    });
    assert.equal(verified.clientId, 'node-red');
    assert.deepEqual(verified.realmRoles, ['medico']);
    assert.ok(verified.expiresAt > Date.now());
    assert.equal(verified.header.alg, 'RS256');
  });

  it('takes roles from realm_access and from resource_access of the configured client', async function () {
    const service = new KeycloakRealm({ url: peer.baseUrl, realm: PEER_REALM, clientId: 'clinica-integration', clientSecret: INTEGRATION_SECRET });
    const { accessToken } = await service.serviceToken();
    const verified = await apiRealm().verify(accessToken);
    assert.equal(verified.user.username, 'service-account-clinica-integration');
    assert.deepEqual(verified.clientRoles, ['service']);
    assert.deepEqual(verified.user.roles, ['service']);
    assert.ok(hasRoles(verified, ['service'], 'any'));
    assert.ok(hasRoles(verified, ['client:service'], 'any'));
    assert.ok(!hasRoles(verified, ['realm:service'], 'any'));
    assert.ok(!hasRoles(verified, ['service', 'admin'], 'all'));
    assert.ok(hasRoles(verified, ['admin', 'service'], 'any'));
    assert.ok(hasRoles(verified, [], 'all'), 'no required role: any verified caller');
  });

  it('reads the bearer token of an Authorization header', function () {
    assert.equal(bearerToken('Bearer abc.def.ghi'), 'abc.def.ghi');
    assert.equal(bearerToken('bearer   abc'), 'abc');
    assert.equal(bearerToken('Basic dXNlcjpwYXNz'), undefined);
    assert.equal(bearerToken(undefined), undefined);
  });

  it('refuses missing, forged and out-of-date tokens with a precise 401 code', async function () {
    const realm = apiRealm({ clockToleranceSec: 10 });
    const [head, body] = medicoToken.split('.');
    const claims = JSON.parse(new TextDecoder().decode(base64url.decode(body))) as Record<string, unknown>;
    const tamperedBody = base64url.encode(JSON.stringify({ ...claims, realm_access: { roles: ['admin'] } }));
    const unsigned = `${base64url.encode(JSON.stringify({ alg: 'none', typ: 'JWT' }))}.${body}.`;
    const publicPem = createPublicKey({ key: peer.keys[0].publicJwk as never, format: 'jwk' }).export({ type: 'spki', format: 'pem' });
    const hmacWithPublicKey = await new SignJWT(claims)
      .setProtectedHeader({ alg: 'HS256', kid: peer.keys[0].kid })
      .sign(new TextEncoder().encode(String(publicPem)));
    const cases: Array<[string, string | undefined, string]> = [
      ['no token', undefined, 'KEYCLOAK_TOKEN_MISSING'],
      ['not a JWT', 'abc', 'KEYCLOAK_TOKEN_MALFORMED'],
      ['expired', await peer.mint('medico.prueba', 'node-red', { exp: now() - 120, iat: now() - 420 }), 'KEYCLOAK_TOKEN_EXPIRED'],
      ['not yet valid', await peer.mint('medico.prueba', 'node-red', { nbf: now() + 120 }), 'KEYCLOAK_TOKEN_NOT_YET_VALID'],
      ['wrong issuer', await peer.mint('medico.prueba', 'node-red', { iss: 'http://127.0.0.1:1/realms/otro-realm' }), 'KEYCLOAK_TOKEN_WRONG_ISSUER'],
      ['wrong audience', await peer.mint('medico.prueba', 'odoo', { aud: 'odoo', azp: 'odoo' }), 'KEYCLOAK_TOKEN_WRONG_AUDIENCE'],
      ['alg none', unsigned, 'KEYCLOAK_TOKEN_ALG_REJECTED'],
      ['HS256 signed with the public key', hmacWithPublicKey, 'KEYCLOAK_TOKEN_ALG_REJECTED'],
      ['unknown kid', await peer.mint('medico.prueba', 'node-red', {}, { key: await KeycloakPeer.strayKey() }), 'KEYCLOAK_TOKEN_UNKNOWN_KEY'],
      ['tampered payload', `${head}.${tamperedBody}.${medicoToken.split('.')[2]}`, 'KEYCLOAK_TOKEN_BAD_SIGNATURE'],
      ['ID token instead of access token', await peer.mint('medico.prueba', 'node-red', { typ: 'ID', aud: 'clinica-api' }), 'KEYCLOAK_TOKEN_WRONG_TYPE'],
    ];
    for (const [name, token, code] of cases) {
      const err = await rejection(realm.verify(token));
      assert.ok(err instanceof TokenError, `${name}: ${err.message}`);
      assert.equal(err.code, code, `${name}: ${err.message}`);
      assert.equal(err.status, 401, name);
      assert.equal(err.retryable, false, name);
      if (token) assert.ok(!err.message.includes(token), `${name}: the message must not carry the token`);
    }
    // Inside the clock skew: accepted.
    const justExpired = await peer.mint('medico.prueba', 'node-red', { exp: now() - 3 });
    assert.equal((await realm.verify(justExpired)).user.username, 'medico.prueba');
  });

  it('refetches keys at most once per cool-down, however many unknown key ids arrive', async function () {
    const realm = apiRealm({ jwksCooldownMs: 60_000 });
    await realm.verify(medicoToken);
    const before = peer.requests.certs;
    const stray = await KeycloakPeer.strayKey();
    const forged = await Promise.all(Array.from({ length: 20 }, () => peer.mint('medico.prueba', 'node-red', {}, { key: stray })));
    const errors = await Promise.all(forged.map((t) => rejection(realm.verify(t))));
    assert.ok(errors.every((e) => e.code === 'KEYCLOAK_TOKEN_UNKNOWN_KEY'));
    await rejection(realm.verify(forged[0]));
    assert.equal(peer.requests.certs - before, 1, 'one refetch for the whole flood');
  });

  it('accepts the public issuer when Node-RED reaches Keycloak by another name (KEYCLOAK_PUBLIC_URL)', async function () {
    const split = await KeycloakPeer.start({ issuerHost: 'localhost' });
    try {
      const port = new URL(split.baseUrl).port;
      const internal = { url: split.baseUrl, realm: PEER_REALM };
      const mismatch = await rejection(new KeycloakRealm({ ...internal, clientId: 'clinica-api' }).verify('a.b.c'));
      assert.equal(mismatch.code, 'KEYCLOAK_ISSUER_MISMATCH');
      assert.match(mismatch.message, /KEYCLOAK_PUBLIC_URL/);

      const service = new KeycloakRealm({
        ...internal,
        publicUrl: `http://localhost:${port}`,
        clientId: 'clinica-integration',
        clientSecret: INTEGRATION_SECRET,
      });
      const { accessToken } = await service.serviceToken();
      const api = new KeycloakRealm({ ...internal, publicUrl: `http://localhost:${port}/`, clientId: 'clinica-api' });
      const verified = await api.verify(accessToken);
      assert.equal(verified.claims.iss, `http://localhost:${port}/realms/clinica-realm`);
      assert.deepEqual(verified.clientRoles, ['service']);
    } finally {
      await split.close();
    }
  });

  describe('client-credentials tokens', function () {
    it('caches the token and renews it once under concurrent demand', async function () {
      let clock = Date.now();
      const realm = new KeycloakRealm({
        url: peer.baseUrl,
        realm: PEER_REALM,
        clientId: 'clinica-integration',
        clientSecret: INTEGRATION_SECRET,
        now: () => clock,
      });
      const start = peer.requests.token;
      const first = await Promise.all(Array.from({ length: 10 }, () => realm.serviceToken()));
      assert.equal(new Set(first.map((t) => t.accessToken)).size, 1, 'one token shared');
      assert.equal(peer.requests.token - start, 1, 'one request for ten callers');
      await realm.serviceToken();
      assert.equal(peer.requests.token - start, 1, 'served from the cache');

      clock = first[0].expiresAt - 20_000; // inside the renewal margin (30 s before expiry)
      const renewed = await Promise.all(Array.from({ length: 10 }, () => realm.serviceToken()));
      assert.equal(new Set(renewed.map((t) => t.accessToken)).size, 1);
      assert.notEqual(renewed[0].accessToken, first[0].accessToken, 'a new token');
      assert.equal(peer.requests.token - start, 2, 'renewed once');
      assert.equal((await apiRealm().verify(renewed[0].accessToken)).user.username, 'service-account-clinica-integration');
    });

    it('keeps using a still-valid token while the token endpoint fails, then reports it retryable', async function () {
      let clock = Date.now();
      const realm = new KeycloakRealm({
        url: peer.baseUrl,
        realm: PEER_REALM,
        clientId: 'clinica-integration',
        clientSecret: INTEGRATION_SECRET,
        now: () => clock,
      });
      const token = await realm.serviceToken();
      peer.failTokenEndpointWith = 503;
      try {
        clock = token.expiresAt - 10_000;
        assert.equal((await realm.serviceToken()).accessToken, token.accessToken);
        clock = token.expiresAt + 1000;
        const err = await rejection(realm.serviceToken());
        assert.equal(err.code, 'KEYCLOAK_UNAVAILABLE');
        assert.equal(err.retryable, true);
      } finally {
        peer.failTokenEndpointWith = undefined;
      }
    });

    it('names the fix when the client secret is wrong', async function () {
      const realm = new KeycloakRealm({ url: peer.baseUrl, realm: PEER_REALM, clientId: 'clinica-integration', clientSecret: 'wrong' });
      const err = await rejection(realm.serviceToken());
      assert.equal(err.code, 'KEYCLOAK_CLIENT_REJECTED');
      assert.equal(err.retryable, false);
      assert.match(err.message, /KEYCLOAK_CLIENT_SECRET/);
      assert.ok(!err.message.includes('wrong'), 'the secret is not in the message');
    });

    it('refuses to ask for a token without a client secret', async function () {
      const err = await rejection(apiRealm().serviceToken());
      assert.equal(err.code, 'KEYCLOAK_NOT_CONFIGURED');
    });
  });

  it('reports an unreachable Keycloak as retryable and a missing realm as configuration', async function () {
    const down = new KeycloakRealm({ url: `http://127.0.0.1:${await closedPort()}`, realm: PEER_REALM, clientId: 'clinica-api' });
    const unreachable = await rejection(down.verify(medicoToken));
    assert.equal(unreachable.code, 'KEYCLOAK_UNREACHABLE');
    assert.equal(unreachable.retryable, true);
    assert.match(unreachable.message, /KEYCLOAK_URL/);

    const noRealm = new KeycloakRealm({ url: peer.baseUrl, realm: 'no-such-realm', clientId: 'clinica-api' });
    const missing = await rejection(noRealm.verify(medicoToken));
    assert.equal(missing.code, 'KEYCLOAK_REALM_NOT_FOUND');
    assert.equal(missing.retryable, false);
  });

  // Last: rotation changes the peer's keys for every later test (mocha runs nested describes after the its above).
  describe('key rotation', function () {
    it('picks up a key rotation at once and keeps accepting tokens of the previous key', async function () {
      const realm = apiRealm({ jwksCooldownMs: 60_000 });
      await realm.verify(medicoToken);
      const before = peer.requests.certs;
      await peer.rotateKeys();
      const fresh = (await userToken(peer, 'farmacia.prueba')).access_token;
      const verified = await realm.verify(fresh);
      assert.deepEqual(verified.user.roles, ['farmacia']);
      assert.equal(verified.header.kid, peer.keys[0].kid, 'signed with the new key');
      assert.equal((await realm.verify(medicoToken)).user.username, 'medico.prueba', 'the previous key is still published');
      assert.equal(peer.requests.certs - before, 1, 'one refetch for the new kid');

      await peer.rotateKeys({ dropOld: true });
      const newest = (await userToken(peer, 'recepcion.prueba')).access_token;
      const other = apiRealm({ jwksCooldownMs: 60_000 });
      assert.deepEqual((await other.verify(newest)).user.roles, ['recepcion']);
      assert.equal((await rejection(other.verify(medicoToken))).code, 'KEYCLOAK_TOKEN_UNKNOWN_KEY', 'a withdrawn key no longer verifies');
    });
  });
});

describe('keycloak peer: direct access grant (the lab curl of clinica-cli)', function () {
  it('answers grant_type=password for clinica-cli with a token the realm verifies; refuses other clients and wrong passwords', async function () {
    const peer = await KeycloakPeer.start();
    const realm = new KeycloakRealm({ url: peer.baseUrl, realm: 'clinica-realm', clientId: 'clinica-api' });
    try {
      const post = (form: Record<string, string>) =>
        fetch(`${peer.baseUrl}/realms/clinica-realm/protocol/openid-connect/token`, { method: 'POST', body: new URLSearchParams(form) });
      const ok = await post({ grant_type: 'password', client_id: 'clinica-cli', username: 'farmacia.prueba', password: 'clinica123' });
      assert.equal(ok.status, 200);
      const { access_token: token } = (await ok.json()) as { access_token: string };
      const verified = await realm.verify(token);
      assert.equal(verified.user.username, 'farmacia.prueba');
      assert.ok(verified.user.roles.includes('farmacia'), JSON.stringify(verified.user.roles));
      assert.equal((await post({ grant_type: 'password', client_id: 'clinica-cli', username: 'farmacia.prueba', password: 'mal' })).status, 401);
      assert.equal((await post({ grant_type: 'password', client_id: 'node-red', username: 'farmacia.prueba', password: 'clinica123' })).status, 400);
      // Other grants still reach the provider with their body intact.
      const integration = peer.client('clinica-integration');
      const cc = await post({ grant_type: 'client_credentials', client_id: 'clinica-integration', client_secret: String(integration.secret) });
      assert.equal(cc.status, 200);
    } finally {
      await peer.close();
    }
  });
});
