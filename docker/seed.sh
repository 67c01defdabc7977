#!/bin/sh
# The one-shot seeders of docker-compose.yml, run in the Node-RED image. Each first makes the credential Node-RED
# will use and hands it over (seeds/lib/handover.ts), then seeds its system with that very credential (read back
# through docker/entrypoint.sh), so a credential that does not work stops `docker compose up` here, with its reason,
# instead of leaving Node-RED's nodes red.
#   sh docker/seed.sh odoo | nextcloud
set -eu
cd "$(dirname "$0")/.."
with_handover() { sh docker/entrypoint.sh "$@"; }

case "${1:-}" in
  odoo)
    node dist/seeds/odoo/api-key.js
    with_handover node dist/seeds/odoo/seed.js
    with_handover node dist/seeds/odoo/sso.js
    ;;
  nextcloud)
    node dist/seeds/nextcloud/app-password.js
    with_handover node dist/seeds/nextcloud/seed.js
    ;;
  *)
    echo "usage: sh docker/seed.sh odoo|nextcloud" >&2
    exit 2
    ;;
esac
