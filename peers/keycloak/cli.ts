/**
 * The Keycloak peer as a process, for a local Node-RED or a team's tests: the clinic's realm (clinica-realm) from
 * seeds/keycloak/clinica-realm.json, its clients and users (password clinica123), Keycloak's paths.
 *
 *   node dist/peers/keycloak/cli.js [--port 8080]
 *
 * Prints one JSON line {url, realm, issuer, users} when ready and runs until SIGTERM / SIGINT.
 * A user token for curl (the realm's clinica-cli client allows the password grant):
 *   curl -s -d grant_type=password -d client_id=clinica-cli -d username=farmacia.prueba -d password=clinica123 \
 *     http://127.0.0.1:8080/realms/clinica-realm/protocol/openid-connect/token
 */
import { KeycloakPeer, PEER_REALM } from './keycloak-peer';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

async function main(): Promise<void> {
  const peer = await KeycloakPeer.start({ port: Number(arg('port') ?? 0) });
  const users = peer.seed.users.filter((u) => !u.username.startsWith('service-account')).map((u) => u.username);
  process.stdout.write(`${JSON.stringify({ url: peer.baseUrl, realm: PEER_REALM, issuer: peer.issuer, users, password: 'clinica123' })}\n`);
  const stop = () => void peer.close().then(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((err: unknown) => {
  process.stderr.write(`keycloak peer: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
