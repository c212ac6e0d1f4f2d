// Dashboard variables. Stations and catchments come from the network file (custom variables: no query, the
// list is right even before any telemetry exists); plans come from InfluxDB tag values, forecast issues from their
// completion markers (forecast_issue, forecasting/issues.ts).
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import type { NetworkConfig } from '../../network/schema.js';
import { influxDatasource } from './datasource.js';
import { TIME_FILTER, ident, literal } from './influxql.js';
import { stationLabel } from './network.js';

function customVariable(name: string, label: string, description: string, options: { text: string; value: string }[]): dashboard.CustomVariableBuilder {
  const first = options[0];
  if (!first) throw new Error(`variable ${name}: the network has no values for it`);
  return new dashboard.CustomVariableBuilder(name)
    .label(label)
    .description(description)
    .values(options.map((o) => `${o.text.replaceAll(',', '\\,')} : ${o.value}`).join(','))
    .options(options.map((o, i) => ({ text: o.text, value: o.value, selected: i === 0 })))
    .current({ text: first.text, value: first.value, selected: true })
    .multi(false)
    .includeAll(false)
    .allowCustomValue(false);
}

/** `station`: one pump station of the network (value = station id). */
export function stationVariable(network: NetworkConfig): dashboard.CustomVariableBuilder {
  return customVariable(
    'station',
    '泵站',
    'Pump station (from the network file)',
    network.stations.map((s) => ({ text: stationLabel(s), value: s.id })),
  );
}

/** `catchment`: one catchment of the network (value = catchment id), labelled with the station it drains to. */
export function catchmentVariable(network: NetworkConfig): dashboard.CustomVariableBuilder {
  return customVariable(
    'catchment',
    '汇水区',
    'Catchment (from the network file), labelled with the node it drains to',
    network.catchments.map((c) => ({ text: `${c.id} → ${c.node}`, value: c.id })),
  );
}

/**
 * A tag's values within the time range, newest first when values sort by time (plan ids carry the start time).
 * The first value is selected on load.
 */
export function tagValuesVariable(spec: {
  name: string;
  label: string;
  description: string;
  measurement: string;
  key: string;
  where?: string[];
  sort: dashboard.VariableSort;
}): dashboard.QueryVariableBuilder {
  const where = [...(spec.where ?? []), TIME_FILTER].join(' AND ');
  return singleValueQueryVariable(spec, `SHOW TAG VALUES FROM ${ident(spec.measurement)} WITH KEY = ${ident(spec.key)} WHERE ${where}`, spec.sort);
}

/** One value chosen from an InfluxQL query's answer, re-asked when the time range changes. */
export function singleValueQueryVariable(spec: { name: string; label: string; description: string }, query: string, sort: dashboard.VariableSort): dashboard.QueryVariableBuilder {
  return new dashboard.QueryVariableBuilder(spec.name)
    .label(spec.label)
    .description(spec.description)
    .datasource(influxDatasource())
    .query(query)
    .definition(query)
    .refresh(dashboard.VariableRefresh.OnTimeRangeChanged)
    .sort(sort)
    .multi(false)
    .includeAll(false)
    .allowCustomValue(false);
}

/**
 * Forecast issues of a kind within the time range, newest first, from their completion markers
 * (forecast_issue: one point per issue written after all its data, field issuedAtMs; forecasting/issues.ts):
 * an issue whose write failed part-way is never offered. Value = issue time, epoch ms; the panels select
 * `"issuedAtMs" = $name`. The first value is selected on load.
 */
export function forecastIssueVariable(spec: { name: string; label: string; description: string; kind: string | RegExp }): dashboard.QueryVariableBuilder {
  const kind = typeof spec.kind === 'string' ? `${ident('kind')} = ${literal(spec.kind)}` : `${ident('kind')} =~ /${spec.kind.source.replace(/\//g, '\\/')}/`;
  return singleValueQueryVariable(spec, `SELECT ${ident('issuedAtMs')} FROM ${ident('forecast_issue')} WHERE ${kind} AND ${TIME_FILTER}`, dashboard.VariableSort.NumericalDesc);
}
