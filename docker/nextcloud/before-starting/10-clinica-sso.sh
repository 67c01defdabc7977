#!/bin/sh
# Nextcloud hook of the reference deployment: docker-compose.yml mounts this folder on
# /docker-entrypoint-hooks.d/before-starting, and the nextcloud image runs it as www-data before every start.
# It makes the clinic's Keycloak realm a login option ("Log in with Keycloak"): the app user_oidc with the realm's
# client `nextcloud` (seeds/keycloak/clinica-realm.json); users are named after their Keycloak user name.
# Idempotent. The app comes from the Nextcloud app store: without internet it is not installed, this says so and
# Nextcloud starts all the same, with its own login (docs/deployment.md).
set -u

occ() { php /var/www/html/occ "$@"; }
say() { echo "[clinica-sso] $*"; }

keycloak=${KEYCLOAK_URL:-http://keycloak:8080}
realm=${KEYCLOAK_REALM:-clinica-realm}
client=${NEXTCLOUD_OIDC_CLIENT_ID:-nextcloud}

if [ -z "${NEXTCLOUD_OIDC_SECRET:-}" ]; then
  say "NEXTCLOUD_OIDC_SECRET is empty: Keycloak login not set up"
  exit 0
fi

# app:install enables the app it installs; on a later start the app is there and app:enable is enough.
if ! occ app:install user_oidc > /dev/null 2>&1 && ! occ app:enable user_oidc; then
  say "the app user_oidc could not be installed (no access to the app store?): Keycloak login not set up"
  exit 0
fi

# Keycloak answers inside the compose network, on a private address that Nextcloud refuses to call by default.
occ config:system:set allow_local_remote_servers --value=true --type=boolean

if occ user_oidc:provider Keycloak \
  --clientid="$client" \
  --clientsecret="$NEXTCLOUD_OIDC_SECRET" \
  --discoveryuri="$keycloak/realms/$realm/.well-known/openid-configuration" \
  --scope="openid email profile" \
  --unique-uid=0 \
  --mapping-uid=preferred_username \
  --mapping-display-name=name \
  --mapping-email=email; then
  say "Keycloak login ready (realm $realm, client $client)"
else
  say "user_oidc refused the provider settings: Keycloak login not set up"
fi
exit 0
