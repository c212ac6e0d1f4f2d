// Plan against actual: what happened to plans — decisions (plan_event) and setpoint writes (setpoint_write),
// both recorded by activities/dispatch.ts recordOutcome.
import { row, type PanelGroup } from '../common/dashboard.js';
import { TIME_FILTER, influxql, select } from '../common/influxql.js';
import { Color, Unit, barGaugePanel, styleProperties, tablePanel, thresholds, valueMappings } from '../common/panels.js';
import { Measurement } from '../common/queries.js';
import { thisStation } from '../station/levels.js';
import { thisPlan } from './setpoints.js';

const writeStatus = valueMappings([
  { value: 'verified', text: '已核实 verified', color: Color.ok },
  { value: 'skipped-local', text: '本地跳过 skipped (LOCAL)', color: Color.warn },
  { value: 'mismatch', text: '回读不符 mismatch', color: Color.alarm },
  { value: 'failed', text: '失败 failed', color: Color.alarm },
]);

export function outcomesGroup(): PanelGroup {
  const events = tablePanel({
    title: '计划审批记录',
    description: 'Plan decisions in the time range (plan_event): approved, rejected or expired, by whom, and how many setpoint writes were verified, skipped or failed.',
  })
    .withTarget(
      influxql(
        select({
          // One row per record: the plan id is a field (activities/plan-points.ts), so it cannot be grouped by.
          select: ['"planId" AS "plan"', '"decidedBy"', '"verified"', '"skipped"', '"failed"'],
          from: { measurement: Measurement.planEvent },
          where: [TIME_FILTER],
          groupBy: ['"status"'],
        }) + ' ORDER BY time DESC LIMIT 500',
        { table: true },
      ),
    )
    .withTransformation({ id: 'organize', options: { excludeByName: {}, indexByName: { Time: 0, plan: 1, status: 2, decidedBy: 3, verified: 4, skipped: 5, failed: 6 }, renameByName: {} } })
    .overrideByName('Time', styleProperties({ displayName: '时间 Time' }))
    .overrideByName('plan', styleProperties({ displayName: '计划 Plan' }))
    .overrideByName('status', styleProperties({ displayName: '结果 Status' }))
    .overrideByName('decidedBy', styleProperties({ displayName: '审批人 Decided by' }))
    .overrideByName('verified', styleProperties({ displayName: '已核实 Verified' }))
    .overrideByName('skipped', styleProperties({ displayName: '跳过 Skipped' }))
    .overrideByName('failed', styleProperties({ displayName: '失败 Failed' }))
    .noValue('无记录 none');

  const writesByStatus = barGaugePanel({
    title: '设定下发结果',
    description: 'Setpoint writes of the selected plan by outcome: verified by read-back, skipped because the station was in LOCAL, read-back mismatch, or failed.',
  })
    .withTarget(
      influxql(select({ select: ['count("value") AS "writes"'], from: { measurement: Measurement.setpointWrite }, where: [thisPlan(), TIME_FILTER], groupBy: ['"status"'] }), {
        alias: '$tag_status',
      }),
    )
    .unit(Unit.count)
    .decimals(0)
    .min(0)
    .thresholds(thresholds([Color.info, null]))
    .overrideByName('verified', styleProperties({ displayName: '已核实 verified', color: Color.ok }))
    .overrideByName('skipped-local', styleProperties({ displayName: '本地跳过 skipped (LOCAL)', color: Color.warn }))
    .overrideByName('mismatch', styleProperties({ displayName: '回读不符 mismatch', color: Color.alarm }))
    .overrideByName('failed', styleProperties({ displayName: '失败 failed', color: Color.alarm }));

  const writes = tablePanel({ title: '本站下发明细', description: 'Every setpoint written to the selected station for the selected plan: value, value read back and outcome.' })
    .withTarget(
      influxql(
        select({ select: ['"value"', '"readBack"'], from: { measurement: Measurement.setpointWrite }, where: [thisPlan(), thisStation(), TIME_FILTER], groupBy: ['"tag"', '"status"'] }),
        { table: true },
      ),
    )
    .withTransformation({ id: 'organize', options: { excludeByName: {}, indexByName: { Time: 0, tag: 1, value: 2, readBack: 3, status: 4 }, renameByName: {} } })
    .overrideByName('Time', styleProperties({ displayName: '时间 Time' }))
    .overrideByName('tag', styleProperties({ displayName: '设定点 Setpoint' }))
    .overrideByName('value', styleProperties({ displayName: '下发值 Written' }))
    .overrideByName('readBack', styleProperties({ displayName: '回读值 Read back' }))
    .overrideByName('status', [...styleProperties({ displayName: '结果 Status' }), { id: 'mappings', value: writeStatus }])
    .noValue('无下发 none');

  return { row: row('审批与下发'), panels: [events.span(24), writesByStatus, writes] };
}
