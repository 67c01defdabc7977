/** The Keycloak client of the pack: realm discovery, token verification, service tokens. */
export { KeycloakRealm, type RealmSettings, type RealmEvents } from './realm';
export { hasRoles, bearerToken } from './verifier';
export type { KeycloakUser, KeycloakClaims, VerifiedToken, VerifierOptions } from './verifier';
export { type ServiceToken } from './service-token';
export { TokenError, type TokenProblem } from './errors';
