#!/bin/bash
# Runs once, when the postgres container initialises an empty volume: the app's own role and database
# (DATABASE_URL=postgres://sewer:…@postgresql:5432/sewer). Temporal creates its databases itself.
set -euo pipefail

psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres -v app_password="$APP_DB_PASSWORD" <<'SQL'
CREATE ROLE sewer LOGIN PASSWORD :'app_password';
CREATE DATABASE sewer OWNER sewer;
SQL
echo "create-app-database: role and database sewer created"
