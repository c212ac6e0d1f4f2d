// Rain forecast per catchment as the dispatch cycles used it (rain_forecast kind "cycle-<n>min", written by
// activities/dispatch.ts fetchRainForecast through forecasting/rain-store.ts writeCycleRain: tags catchment,
// kind, step; fields precipitationMm over the step STARTING at the point's time, issuedAtMs = the cycle's time).
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import type { NetworkConfig } from '../../network/schema.js';
import { row, type PanelGroup } from '../common/dashboard.js';
import { INTERVAL, TIME_FILTER, ident, influxql, select, tagEquals, timeBucket, variable } from '../common/influxql.js';
import { Color, Unit, barGaugePanel, barsPanel, thresholds } from '../common/panels.js';
import { Measurement } from '../common/queries.js';

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

  return { row: row('降雨预报'), panels: [catchmentRain, totals] };
}
