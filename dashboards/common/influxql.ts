// InfluxQL targets and the small query language the panels are written in.
//
// SDK 0.0.21 has no InfluxDB dataquery package, so InfluxQlQueryBuilder implements cog.Builder<cog.Dataquery>
// with the query model of Grafana's InfluxDB datasource in InfluxQL mode: { query, rawQuery: true,
// resultFormat, alias }. Queries use Grafana's macros ($timeFilter, $__interval) and dashboard variables
// ($station, ...); test/integration/dashboards-influx.test.ts replaces them and runs every query.
import type * as cog from '@grafana/grafana-foundation-sdk/cog';
import type * as common from '@grafana/grafana-foundation-sdk/common';
import * as expr from '@grafana/grafana-foundation-sdk/expr';
import { expressionDatasource, influxDatasource } from './datasource.js';

export type ResultFormat = 'time_series' | 'table';

/** The target model of Grafana's InfluxDB datasource for a raw InfluxQL query. */
export interface InfluxQlQuery extends cog.Dataquery {
  refId: string;
  datasource: common.DataSourceRef;
  query: string;
  rawQuery: true;
  resultFormat: ResultFormat;
  /** Series name pattern: $tag_<key>, $col, $m. */
  alias?: string;
  hide?: boolean;
}

export class InfluxQlQueryBuilder implements cog.Builder<cog.Dataquery> {
  protected readonly internal: InfluxQlQuery;

  constructor(query: string) {
    this.internal = {
      refId: 'A',
      datasource: influxDatasource(),
      query,
      rawQuery: true,
      resultFormat: 'time_series',
      // Marker method of cog.Dataquery; functions are not serialised.
      _implementsDataqueryVariant: () => undefined,
    };
  }

  build(): InfluxQlQuery {
    return this.internal;
  }

  refId(refId: string): this {
    this.internal.refId = refId;
    return this;
  }

  alias(alias: string): this {
    this.internal.alias = alias;
    return this;
  }

  /** Rows instead of time series (tags become columns). */
  table(): this {
    this.internal.resultFormat = 'table';
    return this;
  }

  /** Fetched but not drawn (input of an expression). */
  hide(): this {
    this.internal.hide = true;
    return this;
  }
}

export interface TargetOptions {
  refId?: string;
  alias?: string;
  table?: boolean;
  hide?: boolean;
}

/** An InfluxQL raw-query target. */
export function influxql(query: string, options: TargetOptions = {}): InfluxQlQueryBuilder {
  const builder = new InfluxQlQueryBuilder(query);
  if (options.refId) builder.refId(options.refId);
  if (options.alias) builder.alias(options.alias);
  if (options.table) builder.table();
  if (options.hide) builder.hide();
  return builder;
}

/** A Grafana math expression over other targets of the same panel, e.g. `$A * $B / 1000`. */
export function mathExpression(refId: string, expression: string): expr.TypeMathBuilder {
  return new expr.TypeMathBuilder().refId(refId).expression(expression).datasource(expressionDatasource());
}

// --- Macros and variables ---------------------------------------------------------------------------

/** Grafana's time-range condition: `time >= <from>ms and time <= <to>ms`. */
export const TIME_FILTER = '$timeFilter';
/** Grafana's automatic GROUP BY interval for the panel width. */
export const INTERVAL = '$__interval';

/** A dashboard variable used inside a quoted InfluxQL string literal. */
export const variable = (name: string) => `$${name}`;

// --- Query text -----------------------------------------------------------------------------------

/** A double-quoted identifier (measurement, field, tag key). */
export function ident(name: string): string {
  return `"${name.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`;
}

/** A single-quoted string literal (tag value). Grafana variables inside are left as they are. */
export function literal(value: string): string {
  return `'${value.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`;
}

/** `"tag" = 'value'` */
export function tagEquals(tag: string, value: string): string {
  return `${ident(tag)} = ${literal(value)}`;
}

/** `"field" = 'value'`: a string field in the WHERE clause (the server checks it on every point in the time range). */
export function fieldEquals(field: string, value: string): string {
  return tagEquals(field, value);
}

/** `"tag" =~ /^(a|b)$/`: ids are validated by the network schema ([A-Za-z0-9_-]), so they need no escaping. */
export function tagIn(tag: string, values: readonly string[]): string {
  if (values.length === 0) throw new Error(`tagIn(${tag}): no values`);
  for (const v of values) {
    if (!/^[A-Za-z0-9_-]+$/.test(v)) throw new Error(`tagIn(${tag}): "${v}" is not a plain identifier`);
  }
  return `${ident(tag)} =~ /^(${values.join('|')})$/`;
}

/** A GROUP BY time() clause element, with an offset in minutes (used to align daily buckets to local time). */
export function timeBucket(interval: string, offsetMin = 0): string {
  if (offsetMin === 0) return `time(${interval})`;
  return `time(${interval}, ${duration(offsetMin)})`;
}

/** Minutes as an InfluxQL duration literal: whole hours as `8h`, otherwise `330m`. */
export function duration(minutes: number): string {
  if (!Number.isInteger(minutes) || minutes < 0) throw new Error(`duration: ${minutes} is not a whole, non-negative number of minutes`);
  return minutes % 60 === 0 ? `${minutes / 60}h` : `${minutes}m`;
}

/** A number as InfluxQL literal (no exponent notation, no trailing noise). */
export function num(value: number): string {
  if (!Number.isFinite(value)) throw new Error(`num: ${value} is not finite`);
  return String(Number(value.toPrecision(12)));
}

export type Fill = 'null' | 'none' | 'previous' | 'linear' | '0';

export interface SelectSpec {
  /** Column expressions, e.g. `mean("levelM") AS "levelM"`. */
  select: readonly string[];
  /** A measurement name, or subqueries (full SELECT statements) merged as one source. */
  from: { measurement: string } | { subqueries: readonly string[] };
  where?: readonly string[];
  groupBy?: readonly string[];
  fill?: Fill;
}

/** `SELECT … FROM … WHERE … GROUP BY … fill(…)`; WHERE conditions are joined with AND. */
export function select(spec: SelectSpec): string {
  const from = 'measurement' in spec.from ? ident(spec.from.measurement) : spec.from.subqueries.map((q) => `(${q})`).join(', ');
  if ('subqueries' in spec.from && spec.from.subqueries.length === 0) throw new Error('select: no subqueries');
  let q = `SELECT ${spec.select.join(', ')} FROM ${from}`;
  if (spec.where && spec.where.length > 0) q += ` WHERE ${spec.where.join(' AND ')}`;
  if (spec.groupBy && spec.groupBy.length > 0) q += ` GROUP BY ${spec.groupBy.join(', ')}`;
  if (spec.fill) q += ` fill(${spec.fill})`;
  return q;
}

/** `fn("field") AS "alias"` (alias defaults to the field name). */
export function agg(fn: string, field: string, alias = field): string {
  return `${fn}(${ident(field)}) AS ${ident(alias)}`;
}
