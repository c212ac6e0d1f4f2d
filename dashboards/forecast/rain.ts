// Rain forecast per catchment as the dispatch cycles used it (rain_forecast kind "cycle-<n>min", written by
// activities/dispatch.ts fetchRainForecast through forecasting/rain-store.ts writeCycleRain: tags catchment,
// kind, step; fields precipitationMm over the step STARTING at the point's time, issuedAtMs = the cycle's time).
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import type { NetworkConfig } from '../../network/schema.js';
import { row, type PanelGroup } from '../common/dashboard.js';
import { INTERVAL, TIME_FILTER, ident, influxql, select, tagEquals, timeBucket, variable } from '../common/influxql.js';
import { Color, Unit, barGaugePanel, barsPanel, styleProperties, thresholds, timeseriesPanel } from '../common/panels.js';
import { Measurement } from '../common/queries.js';

/** The selected ensemble issue (rain_ensemble, kind "ensemble-<n>min", one series per member; rain-store.ts). */
export const thisEnsembleIssue = () => `${ident('issuedAtMs')} = ${variable('ensemble_issue')} AND ${ident('kind')} =~ /^ensemble-/`;

/** The selected cycle's rain: its issuedAtMs field and the cycles' kind (the rain store's issues are other kinds). */
export const thisRainIssue = () => `${ident('issuedAtMs')} = ${variable('rain_issue')} AND ${ident('kind')} =~ /^cycle-/`;

export function rainGroup(network: NetworkConfig): PanelGroup {
  const catchmentRain = barsPanel({
    title: '汇水区降雨预报',
    description: 'Forecast rain for the selected catchment as the selected dispatch cycle used it (mm per bar, each bar from the start of its step; fresh, or stale / fallback when the service was away). Plans react to this forecast: it says when and how much rain to expect.',
  })
    .withTarget(
      influxql(
        select({
          select: ['sum("precipitationMm") AS "precipitationMm"'],
          from: { measurement: Measurement.rainForecast },
          where: [tagEquals('catchment', variable('catchment')), thisRainIssue(), TIME_FILTER],
          groupBy: [timeBucket(INTERVAL), '"kind"'],
          fill: 'none',
        }),
        { alias: '$tag_kind' },
      ),
    )
    .unit(Unit.mm)
    .decimals(1)
    .min(0)
    .colorScheme(new dashboard.FieldColorBuilder().mode(dashboard.FieldColorModeId.PaletteClassic));

  const totals = barGaugePanel({
    title: '各汇水区预报雨量',
    description: `Total forecast rain in the time range per catchment (${network.catchments.length} catchments) from the selected issue (mm). For scale: a blue rainstorm warning is 50 mm in 12 h, red 100 mm in 3 h.`,
  })
    .withTarget(
      influxql(
        select({
          select: ['sum("precipitationMm") AS "precipitationMm"'],
          from: { measurement: Measurement.rainForecast },
          where: [thisRainIssue(), TIME_FILTER],
          groupBy: ['"catchment"'],
        }),
        { alias: '$tag_catchment' },
      ),
    )
    .unit(Unit.mm)
    .decimals(1)
    .min(0)
    .thresholds(thresholds([Color.info, null], [Color.warn, 25], [Color.orange, 50], [Color.alarm, 100]));

  // The spread across ensemble members per hour: each member's hourly depth first (a member may be stored at a
  // finer step), then the percentiles across members. A plan's risk comes from this spread, not from one line.
  const memberHours = select({
    select: ['sum("precipitationMm") AS "mm"'],
    from: { measurement: Measurement.rainEnsemble },
    where: [tagEquals('catchment', variable('catchment')), thisEnsembleIssue(), TIME_FILTER],
    groupBy: ['time(1h)', '"member"'],
    fill: 'none',
  });
  const ensemble = timeseriesPanel({
    title: '汇水区降雨集合预报区间',
    description:
      'Spread of the selected ensemble forecast for the selected catchment, hour by hour (mm per hour): p10–p90 across the ensemble members (shaded) and the median. A wide band means the weather models disagree on how much rain falls when; the plans keep overflow risk low across the members. 集合预报各成员逐时雨量的 p10–p90 区间与中位数。',
  })
    .withTarget(
      influxql(
        select({
          select: ['percentile("mm", 10) AS "p10"', 'percentile("mm", 50) AS "p50"', 'percentile("mm", 90) AS "p90"'],
          from: { subqueries: [memberHours] },
          where: [TIME_FILTER],
          groupBy: ['time(1h)'],
          fill: 'none',
        }),
        { alias: '$col' },
      ),
    )
    .unit(Unit.mm)
    .decimals(1)
    .min(0)
    .overrideByName('p10', styleProperties({ displayName: 'p10', color: 'light-blue', lineWidth: 0, fillOpacity: 0, hideFromLegend: true }))
    .overrideByName('p90', styleProperties({ displayName: 'p10–p90 成员区间 members', color: 'light-blue', lineWidth: 0, fillOpacity: 25, fillBelowTo: 'p10' }))
    .overrideByName('p50', styleProperties({ displayName: 'p50 中位数 median', color: Color.info, fillOpacity: 0, lineWidth: 2 }));

  return { row: row('降雨预报'), panels: [catchmentRain, totals, ensemble] };
}
