#!/usr/bin/env bash
# Init script of the compose `warehouse` service (mounted in /docker-entrypoint-initdb.d/):
# the official postgres image has already created $POSTGRES_DB owned by $POSTGRES_USER;
# this adds the read-only BI role from the file the local topology uses too.
set -euo pipefail
psql -v ON_ERROR_STOP=1 -q --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  -v bi_password="${VIGIA_BI_PASSWORD:?VIGIA_BI_PASSWORD is required}" \
  -f /vigia/warehouse_bi_role.sql
echo "warehouse $POSTGRES_DB: read-only role vigia_bi ready"
