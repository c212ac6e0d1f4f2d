// Energy and cost against the baseline: totals over the time range, actual (station telemetry) and baseline
// (measurement `baseline`, same layout: tag id, energy counter energyKwh), per tariff period and in total.
import type { NetworkConfig } from '../../network/schema.js';
import { row, type PanelGroup } from '../common/dashboard.js';
import { counterIncreaseQuery, periodEnergyQuery, totalCostQuery } from '../common/energy.js';
import { influxql, mathExpression } from '../common/influxql.js';
import { Color, Unit, barGaugePanel, statPanel, styleProperties, thresholds } from '../common/panels.js';
import { actual, baseline, orderedPeriods, periodColor, periodLabel } from './tariff.js';

export function baselineGroup(network: NetworkConfig): PanelGroup {
  const periods = orderedPeriods(network);

  const energy = statPanel({ title: '时段总电耗', description: 'Energy used by all stations in the time range (kWh), actual and baseline.' })
    .withTarget(influxql(counterIncreaseQuery(actual, 'energyKwh', false), { refId: 'A', alias: '实际 actual' }))
    .withTarget(influxql(counterIncreaseQuery(baseline, 'energyKwh', false), { refId: 'B', alias: '基准 baseline' }))
    .unit(Unit.kwh)
    .decimals(0)
    .thresholds(thresholds([Color.info, null]))
    .span(8);

  const cost = statPanel({
    title: '电费与节省',
    description: 'Electricity cost of all stations in the time range (CNY): actual, baseline, and the saving (baseline − actual; negative means the plans cost more than local control).',
  })
    .withTarget(influxql(totalCostQuery(actual, periods), { refId: 'A', alias: '实际 actual' }))
    .withTarget(influxql(totalCostQuery(baseline, periods), { refId: 'B', alias: '基准 baseline' }))
    .withTarget(mathExpression('saving', '$B - $A'))
    .unit(Unit.cny)
    .decimals(0)
    .thresholds(thresholds([Color.info, null]))
    .overrideByName('saving', [...styleProperties({ displayName: '节省 saving' }), { id: 'thresholds', value: thresholds([Color.alarm, null], [Color.ok, 0]).build() }])
    .span(16);

  const byPeriod = barGaugePanel({
    title: '分时段电耗对比',
    description: 'Energy per tariff period over the time range (kWh), actual against baseline: a good plan moves pumping from peak into valley hours.',
  })
    .unit(Unit.kwh)
    .decimals(0)
    .min(0)
    .thresholds(thresholds([Color.info, null]))
    .height(9)
    .span(24);
  periods.forEach((p, i) => {
    const label = periodLabel(p);
    byPeriod
      .withTarget(influxql(periodEnergyQuery(actual, p, { columns: ['energyKwh'] }), { refId: `A${i}`, alias: `${label} 实际 actual` }))
      .withTarget(influxql(periodEnergyQuery(baseline, p, { columns: ['energyKwh'] }), { refId: `B${i}`, alias: `${label} 基准 baseline` }))
      .overrideByName(`${label} 实际 actual`, styleProperties({ color: periodColor[p.name] }))
      .overrideByName(`${label} 基准 baseline`, styleProperties({ color: Color.neutral }));
  });

  return { row: row('与基准对比'), panels: [energy, cost, byPeriod] };
}
