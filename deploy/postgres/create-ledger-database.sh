#!/usr/bin/env bash
# The hub's ledger as a second database beside Airflow's, with its own role: run once by the postgres
# image on its first start (/docker-entrypoint-initdb.d). Its tables are made by airflow-init.
set -euo pipefail
: "${LEDGER_DB_NAME:?}" "${LEDGER_DB_USER:?}" "${LEDGER_DB_PASSWORD:?}"
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  -v name="$LEDGER_DB_NAME" -v owner="$LEDGER_DB_USER" -v password="$LEDGER_DB_PASSWORD" <<'SQL'
CREATE ROLE :"owner" LOGIN PASSWORD :'password';
CREATE DATABASE :"name" OWNER :"owner";
SQL
