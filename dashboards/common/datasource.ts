// The one datasource every panel reads: InfluxDB queried with InfluxQL, provisioned by
// infra/grafana/provisioning/datasources/influxdb.yaml (test/unit/dashboards.test.ts checks the uid matches).
import type * as common from '@grafana/grafana-foundation-sdk/common';

export const INFLUX_DATASOURCE_UID = 'influxdb-sewer';

export const influxDatasource = (): common.DataSourceRef => ({ type: 'influxdb', uid: INFLUX_DATASOURCE_UID });

/** Grafana server-side expressions (math across two InfluxQL queries, e.g. load = concentration × flow). */
export const expressionDatasource = (): common.DataSourceRef => ({ type: '__expr__', uid: '__expr__' });

/** Folder (inside the repository) that the Grafana dashboards provider mounts; see infra/compose.yaml. */
export const GENERATED_DIR = 'dashboards/generated';

/** Tag carried by every generated dashboard; the dashboards link to each other through it. */
export const DASHBOARD_TAG = 'sewer-dispatch';
