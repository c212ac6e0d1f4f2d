// Plan against actual: what the selected plan predicted (plan_prediction, written by activities/plan-points.ts
// from Plan.predicted when buildPlan stores the plan) against what happened, and how the plan was decided.
// Only optimiser (mpc) plans carry predictions; rule-based and emergency plans show "no prediction".
import * as common from '@grafana/grafana-foundation-sdk/common';
import type { NetworkConfig } from '../../network/schema.js';
import { row, type PanelGroup } from '../common/dashboard.js';
import { INTERVAL, TIME_FILTER, influxql, select, tagEquals, timeBucket } from '../common/influxql.js';
import { counterIncreasePerBucketQuery } from '../common/energy.js';
import { Color, Unit, statPanel, styleProperties, tablePanel, thresholds, timeseriesPanel, valueMappings } from '../common/panels.js';
import { Measurement, meanPerId } from '../common/queries.js';
import { PLAN_PREDICTION } from '../../activities/plan-points.js';
import { thisPlan } from './setpoints.js';

const kind = (k: string) => tagEquals('kind', k);

/** Predicted fields of the selected plan for every object of a kind, one series per id, drawn as steps. */
export function predictedPerId(k: string, field: string, alias: string): string {
  return select({
    select: [`last("${field}") AS "${alias}"`],
    from: { measurement: PLAN_PREDICTION },
    where: [thisPlan(), kind(k), TIME_FILTER],
    groupBy: [timeBucket(INTERVAL), '"id"'],
    fill: 'none',
  });
}

const decision = valueMappings([
  { value: 'approved', text: '已批准 approved', color: Color.ok },
  { value: 'applied', text: '已下发 applied', color: Color.ok },
  { value: 'completed', text: '已完成 completed', color: Color.ok },
  { value: 'rejected', text: '已驳回 rejected', color: Color.alarm },
  { value: 'expired', text: '已过期 expired', color: Color.warn },
  { value: 'superseded', text: '已替代 superseded', color: Color.neutral },
]);

export function predictionsGroup(network: NetworkConfig): PanelGroup {
  const status = tablePanel({
    title: '所选计划决定',
    description:
      'Decisions recorded for the selected plan (plan_event): approved, rejected, expired…, by whom and when, with the setpoint writes verified, skipped and failed. No row: the plan has not been decided (yet).',
  })
    .withTarget(
      influxql(
        select({
          select: ['last("decidedBy") AS "decidedBy"', 'last("verified") AS "verified"', 'last("skipped") AS "skipped"', 'last("failed") AS "failed"'],
          from: { measurement: Measurement.planEvent },
          where: [thisPlan(), TIME_FILTER],
          groupBy: ['"status"'],
        }),
        { table: true },
      ),
    )
    .withTransformation({ id: 'organize', options: { excludeByName: {}, indexByName: { Time: 0, status: 1, decidedBy: 2, verified: 3, skipped: 4, failed: 5 }, renameByName: {} } })
    .overrideByName('Time', styleProperties({ displayName: '时间 Time' }))
    .overrideByName('status', [...styleProperties({ displayName: '决定 Decision' }), { id: 'mappings', value: decision }])
    .overrideByName('decidedBy', styleProperties({ displayName: '审批人 Decided by' }))
    .overrideByName('verified', styleProperties({ displayName: '已核实 Verified' }))
    .overrideByName('skipped', styleProperties({ displayName: '跳过 Skipped' }))
    .overrideByName('failed', styleProperties({ displayName: '失败 Failed' }))
    .noValue('未决定 not decided')
    .height(6);

  const totals = statPanel({
    title: '计划预测总量',
    description: 'What the selected plan expects over its horizon (plan_prediction, kind plan): energy (kWh), cost (CNY), overflow and plant bypass (m³). Rule-based and emergency plans make no prediction.',
  })
    .withTarget(
      influxql(
        select({
          select: ['last("energyKwh") AS "energyKwh"', 'last("costCny") AS "costCny"', 'last("overflowM3") AS "overflowM3"', 'last("bypassM3") AS "bypassM3"'],
          from: { measurement: PLAN_PREDICTION },
          where: [thisPlan(), kind('plan'), TIME_FILTER],
        }),
      ),
    )
    .thresholds(thresholds([Color.info, null]))
    .overrideByName('energyKwh', styleProperties({ displayName: '预测电耗 energy', unit: Unit.kwh }))
    .overrideByName('costCny', styleProperties({ displayName: '预测电费 cost', unit: Unit.cny }))
    .overrideByName('overflowM3', [...styleProperties({ displayName: '预测溢流 overflow', unit: Unit.m3 }), { id: 'thresholds', value: thresholds([Color.ok, null], [Color.alarm, 0.5]).build() }])
    .overrideByName('bypassM3', [...styleProperties({ displayName: '预测超越 bypass', unit: Unit.m3 }), { id: 'thresholds', value: thresholds([Color.ok, null], [Color.alarm, 0.5]).build() }])
    .decimals(0)
    .noValue('无预测 no prediction')
    .height(6)
    .span(12);

  const plants = timeseriesPanel({
    title: '计划进厂流量与实际',
    description: 'Plant inflow and bypass the selected plan predicted (dashed, step means) against the measured plant inflow and bypass (m³/h): the plan aims at a steady inflow within capacity.',
  })
    .withTarget(influxql(predictedPerId('plant', 'inflowM3h', 'planInflowM3h'), { refId: 'A', alias: '$tag_id 计划进厂 planned inflow' }))
    .withTarget(influxql(predictedPerId('plant', 'bypassM3h', 'planBypassM3h'), { refId: 'B', alias: '$tag_id 计划超越 planned bypass' }))
    .withTarget(influxql(meanPerId(Measurement.plant, 'inflowM3h'), { refId: 'C', alias: '$tag_id 实际进厂 measured inflow' }))
    .withTarget(influxql(meanPerId(Measurement.plant, 'bypassM3h'), { refId: 'D', alias: '$tag_id 实际超越 measured bypass' }))
    .unit(Unit.m3h)
    .decimals(0)
    .min(0)
    .overrideByRegexp('.*计划.*', styleProperties({ dashed: true, lineWidth: 2, fillOpacity: 0, lineInterpolation: common.LineInterpolation.StepAfter }));

  const transfers = timeseriesPanel({
    title: '计划调水与实际',
    description: 'Transfer across each interconnection the selected plan predicted (dashed) against the measured transfer (m³/h, positive from its a to its b).',
  })
    .withTarget(influxql(predictedPerId('interconnection', 'transferM3h', 'planTransferM3h'), { refId: 'A', alias: '$tag_id 计划 planned' }))
    .withTarget(influxql(meanPerId(Measurement.interconnection, 'transferM3h'), { refId: 'B', alias: '$tag_id 实际 measured' }))
    .unit(Unit.m3h)
    .decimals(0)
    .overrideByRegexp('.*计划.*', styleProperties({ dashed: true, lineWidth: 2, fillOpacity: 0, lineInterpolation: common.LineInterpolation.StepAfter }));

  const tanks = timeseriesPanel({
    title: '计划调节池蓄水与实际',
    description: 'Stored volume of each tank the selected plan predicted (dashed, at each step’s end) against the measured volume (m³): fill before the storm, draw down after.',
  })
    .withTarget(influxql(predictedPerId('tank', 'volumeM3', 'planVolumeM3'), { refId: 'A', alias: '$tag_id 计划 planned' }))
    .withTarget(influxql(meanPerId(Measurement.tank, 'volumeM3'), { refId: 'B', alias: '$tag_id 实际 measured' }))
    .unit(Unit.m3)
    .decimals(0)
    .min(0)
    .overrideByRegexp('.*计划.*', styleProperties({ dashed: true, lineWidth: 2, fillOpacity: 0 }));

  const energy = timeseriesPanel({
    title: '计划电耗与实际',
    description: 'Energy per hour the selected plan predicted for all stations against the energy counters’ increase per hour (kWh), and the predicted cost per hour (CNY, right axis).',
  })
    .withTarget(
      influxql(
        select({ select: ['sum("energyKwh") AS "planEnergyKwh"', 'sum("costCny") AS "planCostCny"'], from: { measurement: PLAN_PREDICTION }, where: [thisPlan(), kind('network'), TIME_FILTER], groupBy: [timeBucket('1h')], fill: 'none' }),
        { refId: 'A', alias: '$col' },
      ),
    )
    .withTarget(influxql(counterIncreasePerBucketQuery({ measurement: Measurement.station, field: 'energyKwh' }, '1h', 'energyKwh', false), { refId: 'B', alias: '$col' }))
    .drawStyle(common.GraphDrawStyle.Bars)
    .fillOpacity(60)
    .unit(Unit.kwh)
    .decimals(0)
    .min(0)
    .overrideByName('planEnergyKwh', styleProperties({ displayName: '计划电耗 planned energy', color: Color.orange }))
    .overrideByName('energyKwh', styleProperties({ displayName: '实际电耗 measured energy', color: Color.info }))
    .overrideByName('planCostCny', styleProperties({ displayName: '计划电费 planned cost', unit: Unit.cny, axisPlacement: common.AxisPlacement.Right, drawStyle: common.GraphDrawStyle.Line, fillOpacity: 0, dashed: true }));

  const risk = tablePanel({
    title: '溢流风险',
    description: `Overflow risk of the selected plan per station and tank, over all the inflow scenarios it was optimised for: share of scenarios that overflow, expected and worst volume (m³). Objects without risk are not listed. ${network.stations.length} stations in the network file.`,
  })
    .withTarget(
      influxql(
        select({
          select: ['last("overflowProbability") * 100 AS "probabilityPct"', 'last("expectedOverflowM3") AS "expectedM3"', 'last("worstOverflowM3") AS "worstM3"'],
          from: { measurement: PLAN_PREDICTION },
          where: [thisPlan(), TIME_FILTER],
          groupBy: ['"kind"', '"id"'],
        }),
        { table: true },
      ),
    )
    .withTransformation({ id: 'organize', options: { excludeByName: { Time: true }, indexByName: { kind: 0, id: 1, probabilityPct: 2, expectedM3: 3, worstM3: 4 }, renameByName: {} } })
    .overrideByName('kind', styleProperties({ displayName: '类型 Kind' }))
    .overrideByName('id', styleProperties({ displayName: '对象 Object' }))
    .overrideByName('probabilityPct', [...styleProperties({ displayName: '溢流概率 Probability', unit: Unit.percent }), { id: 'thresholds', value: thresholds([Color.ok, null], [Color.warn, 0.001], [Color.alarm, 10]).build() }, { id: 'custom.cellOptions', value: { type: 'color-background' } }])
    .overrideByName('expectedM3', styleProperties({ displayName: '期望溢流 Expected', unit: Unit.m3 }))
    .overrideByName('worstM3', styleProperties({ displayName: '最坏溢流 Worst', unit: Unit.m3 }))
    .decimals(1)
    .noValue('无预测 no prediction');

  return { row: row('计划预测与实际'), panels: [status, totals, plants, transfers, tanks, energy, risk.span(24)] };
}
