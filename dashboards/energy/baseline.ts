// Energy and cost against the baseline: totals over the time range, actual (station telemetry) and baseline
// (measurement `baseline`, same layout: tag id, energy counter energyKwh), per tariff period and in total.
//
// The baseline is written hourly up to the last full hour (with the public archive as observed rain it lags by
// days), while telemetry runs to now. Summing both over the dashboard's range compared unequal periods and showed
// a "saving" that was only the baseline's missing hours. Both sides are therefore taken per hour slice of each
// tariff range, a slice counting only once the counter has a reading at its end, and Grafana's math expressions
// keep the slices both sides have (a binary operation on two time series keeps the timestamps present in both).
import * as common from '@grafana/grafana-foundation-sdk/common';
import type { NetworkConfig } from '../../network/schema.js';
import { row, type PanelGroup } from '../common/dashboard.js';
import type { CounterSource } from '../common/energy.js';
import { TIME_FILTER, ident, influxql, mathExpression, num, select, timeBucket } from '../common/influxql.js';
import type { TariffPeriodRanges } from '../common/network.js';
import { Color, Unit, barGaugePanel, barsPanel, statPanel, styleProperties, thresholds } from '../common/panels.js';
import { actual, baseline, orderedPeriods, periodColor, periodLabel } from './tariff.js';

const MIN_PER_DAY = 1440;
const SLICE_MIN = 60;

/**
 * Energy of one slice [fromUtcMin, fromUtcMin + lengthMin) of the day (UTC minutes), per day, timestamped at the
 * slice start: first reading at or after its end minus first reading at or after its start, summed over stations;
 * kept only when every station with a start reading has an end reading (the slice is over on that side).
 */
function endedSliceQuery(source: CounterSource, fromUtcMin: number, lengthMin: number, priceCnyPerKwh: number): string {
  const where = [...(source.where ?? []), TIME_FILTER];
  const f = ident(source.field);
  const m = { measurement: source.measurement };
  const startBucket = timeBucket('1d', fromUtcMin);
  const x = select({ select: [`first(${f}) AS "x"`], from: m, where, groupBy: [startBucket, '"id"'] });
  const y = select({ select: [`first(${f}) AS "y"`], from: m, where, groupBy: [timeBucket('1d', (fromUtcMin + lengthMin) % MIN_PER_DAY), '"id"'] });
  const ended = select({ select: ['sum("y") - sum("x") AS "s"', 'count("y") - count("x") AS "missing"'], from: { subqueries: [x, y] }, where: [TIME_FILTER], groupBy: [startBucket] });
  return select({ select: ['"s" AS "e"', `"s" * ${num(priceCnyPerKwh)} AS "c"`], from: { subqueries: [ended] }, where: ['"missing" = 0', TIME_FILTER] });
}

/** Hour slices of every range of the periods (a range's last slice may be shorter). */
function slices(periods: readonly TariffPeriodRanges[]): { fromUtcMin: number; lengthMin: number; price: number }[] {
  return periods.flatMap((p) =>
    p.ranges.flatMap((r) =>
      Array.from({ length: Math.ceil(r.lengthMin / SLICE_MIN) }, (_, k) => ({
        fromUtcMin: (r.startUtcMin + k * SLICE_MIN) % MIN_PER_DAY,
        lengthMin: Math.min(SLICE_MIN, r.lengthMin - k * SLICE_MIN),
        price: p.priceCnyPerKwh,
      })),
    ),
  );
}

/** Energy (kWh) or cost (CNY) of the ended hour slices of the periods, one value per hour: the series the expressions join. */
export function endedHourlyQuery(source: CounterSource, periods: readonly TariffPeriodRanges[], column: 'energyKwh' | 'costCny'): string {
  const subqueries = slices(periods).map((s) => endedSliceQuery(source, s.fromUtcMin, s.lengthMin, s.price));
  return select({ select: [`sum(${column === 'energyKwh' ? '"e"' : '"c"'}) AS ${ident(column)}`], from: { subqueries }, where: [TIME_FILTER], groupBy: [timeBucket('1h')], fill: 'none' });
}

const sum = () => new common.ReduceDataOptionsBuilder().calcs(['sum']).values(false).fields('');
const NO_BASELINE = '无基准 no baseline yet';
const COVERAGE =
  'Both sides are summed over the whole hours for which the stations’ counters and the baseline both have a reading at the hour’s end, so the comparison stops where the baseline does (the last full hour, or days earlier when the observed rain lags); the hourly saving panel shows where that is.';

export function baselineGroup(network: NetworkConfig): PanelGroup {
  const periods = orderedPeriods(network);
  const hidden = { hide: true } as const;

  const energy = statPanel({ title: '时段总电耗', description: `Energy used by all stations in the time range (kWh), actual and baseline. ${COVERAGE}` })
    .withTarget(influxql(endedHourlyQuery(actual, periods, 'energyKwh'), { refId: 'A', ...hidden }))
    .withTarget(influxql(endedHourlyQuery(baseline, periods, 'energyKwh'), { refId: 'B', ...hidden }))
    .withTarget(mathExpression('actual', '$A + 0 * $B'))
    .withTarget(mathExpression('baseline', '$B + 0 * $A'))
    .reduceOptions(sum())
    .unit(Unit.kwh)
    .decimals(0)
    .thresholds(thresholds([Color.info, null]))
    .overrideByName('actual', styleProperties({ displayName: '实际 actual' }))
    .overrideByName('baseline', styleProperties({ displayName: '基准 baseline' }))
    .noValue(NO_BASELINE)
    .span(8);

  const cost = statPanel({
    title: '电费与节省',
    description: `Electricity cost of all stations in the time range (CNY): actual, baseline, and the saving (baseline − actual; negative means the plans cost more than local control). ${COVERAGE}`,
  })
    .withTarget(influxql(endedHourlyQuery(actual, periods, 'costCny'), { refId: 'A', ...hidden }))
    .withTarget(influxql(endedHourlyQuery(baseline, periods, 'costCny'), { refId: 'B', ...hidden }))
    .withTarget(mathExpression('actual', '$A + 0 * $B'))
    .withTarget(mathExpression('baseline', '$B + 0 * $A'))
    .withTarget(mathExpression('saving', '$B - $A'))
    .reduceOptions(sum())
    .unit(Unit.cny)
    .decimals(0)
    .thresholds(thresholds([Color.info, null]))
    .overrideByName('actual', styleProperties({ displayName: '实际 actual' }))
    .overrideByName('baseline', styleProperties({ displayName: '基准 baseline' }))
    .overrideByName('saving', [...styleProperties({ displayName: '节省 saving' }), { id: 'thresholds', value: thresholds([Color.alarm, null], [Color.ok, 0]).build() }])
    .noValue(NO_BASELINE)
    .span(16);

  const byPeriod = barGaugePanel({
    title: '分时段电耗对比',
    description: `Energy per tariff period over the time range (kWh), actual against baseline: a good plan moves pumping from peak into valley hours. ${COVERAGE}`,
  })
    .reduceOptions(sum())
    .unit(Unit.kwh)
    .decimals(0)
    .min(0)
    .thresholds(thresholds([Color.info, null]))
    .noValue(NO_BASELINE)
    .height(9)
    .span(16);
  periods.forEach((p, i) => {
    const label = periodLabel(p);
    byPeriod
      .withTarget(influxql(endedHourlyQuery(actual, [p], 'energyKwh'), { refId: `A${i}`, ...hidden }))
      .withTarget(influxql(endedHourlyQuery(baseline, [p], 'energyKwh'), { refId: `B${i}`, ...hidden }))
      .withTarget(mathExpression(`${p.name}Actual`, `$A${i} + 0 * $B${i}`))
      .withTarget(mathExpression(`${p.name}Baseline`, `$B${i} + 0 * $A${i}`))
      .overrideByName(`${p.name}Actual`, styleProperties({ displayName: `${label} 实际 actual`, color: periodColor[p.name] }))
      .overrideByName(`${p.name}Baseline`, styleProperties({ displayName: `${label} 基准 baseline`, color: Color.neutral }));
  });

  const hourlySaving = barsPanel({
    title: '逐时节省',
    description: 'Saving per hour (CNY, baseline cost − actual cost) over the hours both sides have: the last bar is where the comparison above ends.',
  })
    .withTarget(influxql(endedHourlyQuery(actual, periods, 'costCny'), { refId: 'A', ...hidden }))
    .withTarget(influxql(endedHourlyQuery(baseline, periods, 'costCny'), { refId: 'B', ...hidden }))
    .withTarget(mathExpression('saving', '$B - $A'))
    .unit(Unit.cny)
    .decimals(0)
    .overrideByName('saving', styleProperties({ displayName: '节省 saving', color: Color.ok }))
    .noValue(NO_BASELINE)
    .height(9)
    .span(8);

  return { row: row('与基准对比'), panels: [energy, cost, byPeriod, hourlySaving] };
}
