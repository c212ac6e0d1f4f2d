#!/bin/bash
# Runs once, when the influxdb container initialises an empty volume (after DOCKER_INFLUXDB_INIT_MODE=setup).
# Maps the InfluxQL database "sewer" (retention policy autogen) onto the bucket created by the setup, so the
# app's and Grafana's InfluxQL reads (/query?db=sewer) work on InfluxDB 2.x. The image has already configured
# the influx CLI (INFLUX_HOST, INFLUX_CONFIGS_PATH with the admin token) for scripts in this folder.
set -euo pipefail

db="${INFLUX_DATABASE:-sewer}"
if influx v1 dbrp list --org "${DOCKER_INFLUXDB_INIT_ORG}" --db "${db}" --hide-headers 2>/dev/null | grep -q .; then
  echo "create-dbrp: mapping for database ${db} already exists"
  exit 0
fi
influx v1 dbrp create \
  --org "${DOCKER_INFLUXDB_INIT_ORG}" \
  --bucket-id "${DOCKER_INFLUXDB_INIT_BUCKET_ID}" \
  --db "${db}" \
  --rp autogen \
  --default
echo "create-dbrp: database ${db} (rp autogen) now maps to bucket ${DOCKER_INFLUXDB_INIT_BUCKET}"
