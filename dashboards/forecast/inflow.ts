// Inflow forecast per station as an ensemble band (inflow_forecast: tags station, quantile p10|p50|p90, and det
// for the forecast from the deterministic rain, step; fields flowM3h, issuedAtMs; time = step start) against the
// observed LOCAL inflow (local_inflow: the station's measured inflow less what upstream stations, tanks and links
// sent it, as the inflow cycle reads it). The forecast is of the station's own catchments, so the measured
// inflow, which also carries every upstream station's pumping, is not comparable (5–50× at W3, W6, E4, E8).
// The issue is chosen by its issuedAtMs field (forecasting/write.ts).
import { row, type PanelGroup } from '../common/dashboard.js';
import { INTERVAL, TIME_FILTER, ident, influxql, select, tagEquals, timeBucket, variable } from '../common/influxql.js';
import { Color, Unit, styleProperties, timeseriesPanel } from '../common/panels.js';
import { Measurement } from '../common/queries.js';
import { STATION } from '../station/levels.js';

/** The selected issue's points: issuedAtMs is a number field (the issue time is no tag: series stay bounded). */
export const thisInflowIssue = () => `${ident('issuedAtMs')} = ${variable('inflow_issue')}`;

export function inflowGroup(): PanelGroup {
  const band = timeseriesPanel({
    title: '本地汇水区来水：预报区间与实测',
    description:
      "Inflow from the selected station's own catchments (dry-weather flow, groundwater, rain-derived inflow; upstream stations' pumping excluded), forecast by the selected issue: the p10–p90 ensemble band (shaded), the median p50 and the forecast from the deterministic rain (dashed), against the observed local inflow: the measured inflow less what upstream stations, tanks and interconnections sent (m³/h, kept by the inflow cycle for its last hour each issue). Observed flow outside the band means the forecast under- or over-estimated the spread. 本站自身汇水区来水（不含上游泵站来水）：预报区间与实测推算值对比。",
  })
    .withTarget(
      influxql(
        select({
          select: ['mean("flowM3h") AS "flowM3h"'],
          from: { measurement: Measurement.inflowForecast },
          where: [tagEquals('station', STATION), thisInflowIssue(), TIME_FILTER],
          groupBy: [timeBucket(INTERVAL), '"quantile"'],
          fill: 'none',
        }),
        { refId: 'A', alias: '$tag_quantile' },
      ),
    )
    .withTarget(
      influxql(
        select({
          select: ['mean("flowM3h") AS "observed"'],
          from: { measurement: Measurement.localInflow },
          where: [tagEquals('station', STATION), TIME_FILTER],
          groupBy: [timeBucket(INTERVAL)],
          fill: 'null',
        }),
        { refId: 'B', alias: '$col' },
      ),
    )
    .unit(Unit.m3h)
    .decimals(0)
    .min(0)
    .span(24)
    .height(10)
    .overrideByName('p10', styleProperties({ displayName: 'p10', color: 'light-blue', lineWidth: 0, fillOpacity: 0, hideFromLegend: true }))
    .overrideByName('p90', styleProperties({ displayName: 'p10–p90 预报区间 band', color: 'light-blue', lineWidth: 0, fillOpacity: 25, fillBelowTo: 'p10' }))
    .overrideByName('p50', styleProperties({ displayName: 'p50 预报中位数 median', color: Color.info, dashed: true, fillOpacity: 0, lineWidth: 2 }))
    .overrideByName('det', styleProperties({ displayName: '确定性预报 deterministic', color: Color.orange, dashed: true, fillOpacity: 0 }))
    .overrideByName('observed', styleProperties({ displayName: '实测本地来水 observed local', color: Color.neutral, fillOpacity: 0, lineWidth: 2 }));

  return { row: row('来水预报'), panels: [band] };
}
