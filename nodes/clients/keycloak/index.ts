/** The Keycloak client of the pack: realm discovery, token verification, service tokens. */
export { KeycloakRealm, issuerOf, type RealmSettings, type RealmEvents } from './realm';
export { TokenVerifier, ASYMMETRIC_ALGORITHMS, rolesOf, hasRoles, bearerToken, parseList } from './verifier';
export type { KeycloakUser, KeycloakClaims, VerifiedToken, VerifierOptions } from './verifier';
export { JwksCache } from './jwks';
export { ServiceTokenCache, type ServiceToken } from './service-token';
export { TokenError, forbidden, keycloakError, type TokenProblem } from './errors';
