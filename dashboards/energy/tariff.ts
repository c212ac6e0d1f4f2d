// Energy and cost: the tariff of the network file, and energy and cost per tariff period per local day.
import * as common from '@grafana/grafana-foundation-sdk/common';
import type { NetworkConfig } from '../../network/schema.js';
import { row, type PanelGroup } from '../common/dashboard.js';
import { counterIncreasePerBucketQuery, periodEnergyQuery, totalCostQuery, type CounterSource } from '../common/energy.js';
import { influxql } from '../common/influxql.js';
import { localMidnightUtcMin, offsetLabel, tariffNames, tariffPeriods, zoneOffsets, type TariffPeriodRanges } from '../common/network.js';
import { Color, Unit, barsPanel, markdownPanel, styleProperties, tablePanel } from '../common/panels.js';
import { Measurement } from '../common/queries.js';

export const actual: CounterSource = { measurement: Measurement.station, field: 'energyKwh' };
export const baseline: CounterSource = { measurement: Measurement.baseline, field: 'energyKwh' };

export const periodColor = { valley: Color.ok, flat: Color.warn, peak: Color.alarm } as const;
export const periodLabel = (p: TariffPeriodRanges) => `${tariffNames[p.name].zh} ${tariffNames[p.name].en}`;
/** Cheapest first, the order a reader expects. */
export const orderedPeriods = (network: NetworkConfig) => [...tariffPeriods(network)].sort((a, b) => a.priceCnyPerKwh - b.priceCnyPerKwh);

export function tariffMarkdown(network: NetworkConfig): string {
  const zone = zoneOffsets(network);
  const rows = orderedPeriods(network).map((p) => `| ${periodLabel(p)} | ${p.ranges.map((r) => `${r.from}–${r.to}`).join(', ')} | ${p.priceCnyPerKwh} |`);
  return [
    `**分时电价 Time-of-use tariff** (${network.timezone}, ${offsetLabel(zone.standardMin)})`,
    '',
    '| 时段 Period | 时间 Hours | 电价 CNY/kWh |',
    '|---|---|---|',
    ...rows,
    '',
    'Energy per period = station energy-counter readings at the period boundaries (first reading at or after each boundary), summed over stations; cost = energy × price. ' +
      'Baseline = the same counters from the `baseline` measurement: the network re-simulated every hour, up to the last full hour, under each station’s local level control (start/stop levels, no forecast, no transfers) with the observed rain.' +
      (zone.daylightSaving ? ' This time zone observes daylight saving: period boundaries follow standard time and shift by one hour in summer.' : ''),
  ].join('\n');
}

export function tariffGroup(network: NetworkConfig): PanelGroup {
  const midnight = localMidnightUtcMin(network);
  const periods = orderedPeriods(network);

  const energy = barsPanel({ title: '分时段日电耗', description: 'Energy used by all stations per local day, stacked by tariff period (kWh).' })
    .unit(Unit.kwh)
    .decimals(0)
    .min(0)
    .stacking(new common.StackingConfigBuilder().mode(common.StackingMode.Normal));
  periods.forEach((p, i) => {
    energy
      .withTarget(influxql(periodEnergyQuery(actual, p, { dailyOffsetUtcMin: midnight, columns: ['energyKwh'] }), { refId: String.fromCharCode(65 + i), alias: periodLabel(p) }))
      .overrideByName(periodLabel(p), styleProperties({ color: periodColor[p.name] }));
  });

  const cost = barsPanel({
    title: '分时段日电费与基准',
    description: 'Electricity cost of all stations per local day, stacked by tariff period (CNY), with the baseline’s daily cost (local level control, line) for comparison.',
  })
    .unit(Unit.cny)
    .decimals(0)
    .min(0)
    .stacking(new common.StackingConfigBuilder().mode(common.StackingMode.Normal));
  periods.forEach((p, i) => {
    cost
      .withTarget(influxql(periodEnergyQuery(actual, p, { dailyOffsetUtcMin: midnight, columns: ['costCny'] }), { refId: String.fromCharCode(65 + i), alias: periodLabel(p) }))
      .overrideByName(periodLabel(p), styleProperties({ color: periodColor[p.name] }));
  });
  cost
    .withTarget(influxql(totalCostQuery(baseline, periods, midnight), { refId: 'Z', alias: '基准 baseline' }))
    .overrideByName(
      '基准 baseline',
      styleProperties({ color: Color.neutral, drawStyle: common.GraphDrawStyle.Line, stacking: common.StackingMode.None, lineWidth: 2, dashed: true, fillOpacity: 0 }),
    );

  const perStation = tablePanel({ title: '各站分时段电耗', description: 'Energy per station and tariff period over the time range (kWh).' })
    .unit(Unit.kwh)
    .decimals(0)
    .withTransformation({ id: 'merge', options: {} })
    .withTransformation({ id: 'organize', options: { excludeByName: { Time: true }, indexByName: { id: 0 }, renameByName: {} } })
    .overrideByName('id', styleProperties({ displayName: '泵站 Station' }));
  periods.forEach((p, i) => {
    perStation
      .withTarget(influxql(periodEnergyQuery(actual, p, { byId: true, columns: ['energyKwh'], aliases: { energyKwh: p.name } }), { refId: String.fromCharCode(65 + i), table: true }))
      .overrideByName(p.name, styleProperties({ displayName: periodLabel(p) }));
  });

  const hourly = barsPanel({ title: '逐时电耗', description: 'Energy used by all stations per hour (kWh): pumping moved into valley hours shows here.' })
    .withTarget(influxql(counterIncreasePerBucketQuery(actual, '1h', 'energyKwh', false), { alias: '实际 actual' }))
    .withTarget(influxql(counterIncreasePerBucketQuery(baseline, '1h', 'energyKwh', false), { refId: 'B', alias: '基准 baseline' }))
    .unit(Unit.kwh)
    .decimals(0)
    .min(0)
    .overrideByName('实际 actual', styleProperties({ color: Color.info }))
    .overrideByName('基准 baseline', styleProperties({ color: Color.neutral, drawStyle: common.GraphDrawStyle.Line, dashed: true, fillOpacity: 0 }));

  return {
    row: row('分时段电耗与电费'),
    panels: [energy, cost, perStation, hourly, markdownPanel({ title: '电价与方法', description: 'Tariff periods and prices from the network file, and how energy per period and the baseline are computed.' }, tariffMarkdown(network)).span(24).height(7)],
  };
}
