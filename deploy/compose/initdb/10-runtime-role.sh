#!/bin/sh
# First start of the compose PostgreSQL: the runtime role web, workers and beat
# connect as (not the owner, never a superuser). manage.py migrate grants it DML
# on every table and only SELECT, INSERT on the access log.
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  -v app_password="$TELEREG_APP_DB_PASSWORD" <<'SQL'
CREATE ROLE telereg_app LOGIN PASSWORD :'app_password' NOSUPERUSER NOCREATEDB NOCREATEROLE;
SQL
