#!/bin/sh
# Entry point of the image of docker/Dockerfile, for Node-RED and for the one-shot seeders (docker/seed.sh).
#  1. Credentials handed over in files: for each credential NAME below with NAME_FILE set, NAME is set from that file
#     when NAME itself is empty (a value given in .env wins). The seeders write these files (seeds/lib/handover.ts);
#     Docker secrets work the same way. Only these names: other *_FILE variables (SSL_CERT_FILE …) mean other things.
#  2. When it starts Node-RED (`node scripts/start.js`):
#     - NODE_RED_CREDENTIAL_SECRET, when empty, is generated once and kept in the user directory, so the
#       credentials Node-RED stores stay encrypted and readable across restarts;
#     - NODE_RED_FLOWS_DIR, when it holds no flow yet, gets a copy of the shipped flows (flows/).
set -eu

app_dir=$(cd "$(dirname "$0")/.." && pwd)
starts_node_red=false
if [ "$#" -ge 2 ] && [ "$1" = node ] && [ "$2" = scripts/start.js ]; then starts_node_red=true; fi

say() { printf '{"level":"%s","event":"entrypoint.%s","msg":"%s"}\n' "$1" "$2" "$3" >&2; }

for var in ODOO_API_KEY ODOO_PASSWORD NEXTCLOUD_APP_PASSWORD KEYCLOAK_CLIENT_SECRET SHARED_DB_URL AMQP_URL NODE_RED_CREDENTIAL_SECRET; do
  eval "current=\${$var:-}"
  eval "file=\${${var}_FILE:-}"
  if [ -n "$current" ] || [ -z "$file" ]; then continue; fi
  if [ -r "$file" ] && [ -s "$file" ]; then
    value=$(cat "$file")
    export "$var=$value"
  elif [ "$starts_node_red" = true ]; then
    say warn missing_credential "$var is empty and $file does not exist: the nodes that need it will say so"
  fi
done

if [ "$starts_node_red" = true ]; then
  user_dir=${NODE_RED_USER_DIR:-$app_dir/.node-red}
  if [ -z "${NODE_RED_CREDENTIAL_SECRET:-}" ]; then
    secret_file="$user_dir/.credential-secret"
    if [ ! -s "$secret_file" ]; then
      mkdir -p "$user_dir"
      (umask 077 && node -e "process.stdout.write(require('crypto').randomBytes(32).toString('hex'))" > "$secret_file")
      say info credential_secret_generated "kept in $secret_file; keep the volume, or the stored credentials cannot be read"
    fi
    NODE_RED_CREDENTIAL_SECRET=$(cat "$secret_file")
    export NODE_RED_CREDENTIAL_SECRET
  fi
  if [ -n "${NODE_RED_FLOWS_DIR:-}" ] && ! ls "$NODE_RED_FLOWS_DIR"/*.json > /dev/null 2>&1; then
    mkdir -p "$NODE_RED_FLOWS_DIR"
    cp "$app_dir"/flows/*.json "$NODE_RED_FLOWS_DIR"/
    say info flows_copied "the shipped flows are in $NODE_RED_FLOWS_DIR"
  fi
fi

exec "$@"
