/**
 * Gets a real user access token from the peer the way a browser app would: authorization-code flow with
 * PKCE through the login form, then the code exchange. Used where a test needs a token the provider issued.
 */
import * as oidc from 'openid-client';
import { HeadlessBrowser } from './headless';
import { SEED_PASSWORD, type KeycloakPeer } from './keycloak-peer';

export async function userToken(peer: KeycloakPeer, username: string, clientId = 'node-red', password = SEED_PASSWORD): Promise<oidc.TokenEndpointResponse> {
  const client = peer.client(clientId);
  const redirectUri = 'http://127.0.0.1:9/test-callback';
  peer.allowRedirect(clientId, redirectUri);
  const config = await oidc.discovery(new URL(peer.issuer), clientId, client.secret, oidc.ClientSecretPost(client.secret), {
    execute: [oidc.allowInsecureRequests],
  });
  const verifier = oidc.randomPKCECodeVerifier();
  const authUrl = oidc.buildAuthorizationUrl(config, {
    redirect_uri: redirectUri,
    scope: 'openid profile email',
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
  });
  const browser = new HeadlessBrowser();
  const page = await browser.open(authUrl.href, redirectUri);
  const back = await browser.submitLogin(page, username, password, redirectUri);
  if (!back.url.startsWith(redirectUri)) throw new Error(`login of ${username} did not come back to the client: ${back.status} ${back.body.slice(0, 300)}`);
  return oidc.authorizationCodeGrant(config, new URL(back.url), { pkceCodeVerifier: verifier });
}
