// Plan against actual: the selected plan's setpoints for the selected station (plan_setpoint, written by
// activities/dispatch.ts buildPlan at each step's start) against what the station measured and what its PLC
// reported as setpoints.
import * as common from '@grafana/grafana-foundation-sdk/common';
import { row, type PanelGroup } from '../common/dashboard.js';
import { INTERVAL, TIME_FILTER, fieldEquals, influxql, select, tagEquals, timeBucket, variable } from '../common/influxql.js';
import { Color, Unit, styleProperties, tablePanel, timeseriesPanel } from '../common/panels.js';
import { Measurement, meanFields } from '../common/queries.js';
import { PLAN_PREDICTION } from '../../activities/plan-points.js';
import { thisStation } from '../station/levels.js';

export const PLAN = variable('plan');
/** The plan id is a field of every plan point (activities/plan-points.ts: bounded series), not a tag. */
export const thisPlan = () => fieldEquals('planId', PLAN);

/** Plan fields of the selected plan and station; the plan holds one point per step, drawn as steps. */
function planFields(fields: readonly [field: string, alias: string][]): string {
  return select({
    select: fields.map(([f, a]) => `last("${f}") AS "${a}"`),
    from: { measurement: Measurement.planSetpoint },
    where: [thisPlan(), thisStation(), TIME_FILTER],
    groupBy: [timeBucket(INTERVAL)],
    fill: 'none',
  });
}

const planned = (displayName: string, color: string) =>
  styleProperties({ displayName, color, lineInterpolation: common.LineInterpolation.StepAfter, dashed: true, fillOpacity: 0, lineWidth: 2 });
const reported = (displayName: string, color: string) => styleProperties({ displayName, color, lineInterpolation: common.LineInterpolation.StepAfter, fillOpacity: 0 });

export function setpointsGroup(): PanelGroup {
  const levels = timeseriesPanel({
    title: '计划液位区间与实测液位',
    description:
      'Level band of the selected plan for the selected station (planned start and stop levels, dashed), and the level the plan predicted (optimiser plans only, at each step’s end), against the measured wet-well level and the start/stop setpoints the PLC reported (m).',
  })
    .withTarget(influxql(planFields([['startLevelM', 'planStartLevelM'], ['stopLevelM', 'planStopLevelM']]), { refId: 'A', alias: '$col' }))
    .withTarget(influxql(meanFields(Measurement.station, ['levelM', 'startLevelSpM', 'stopLevelSpM'], [thisStation()]), { refId: 'B', alias: '$col' }))
    .withTarget(
      influxql(
        select({
          select: ['last("levelM") AS "planLevelM"'],
          from: { measurement: PLAN_PREDICTION },
          where: [thisPlan(), tagEquals('kind', 'station'), thisStation(), TIME_FILTER],
          groupBy: [timeBucket(INTERVAL)],
          fill: 'none',
        }),
        { refId: 'C', alias: '$col' },
      ),
    )
    .unit(Unit.m)
    .decimals(2)
    .min(0)
    .span(24)
    .overrideByName('planStartLevelM', planned('计划启泵 planned start', Color.ok))
    .overrideByName('planStopLevelM', planned('计划停泵 planned stop', Color.orange))
    .overrideByName('levelM', styleProperties({ displayName: '实测液位 measured level', color: Color.info, lineWidth: 2 }))
    .overrideByName('planLevelM', styleProperties({ displayName: '预测液位 predicted level', color: 'purple', dashed: true, lineWidth: 2, fillOpacity: 0 }))
    .overrideByName('startLevelSpM', reported('PLC启泵设定 PLC start setpoint', 'dark-green'))
    .overrideByName('stopLevelSpM', reported('PLC停泵设定 PLC stop setpoint', 'dark-orange'));

  const pumps = timeseriesPanel({ title: '计划泵数与实际运行', description: 'Pumps allowed by the selected plan against pumps running and the pumps-allowed setpoint the PLC reported.' })
    .withTarget(influxql(planFields([['pumpsAllowed', 'planPumpsAllowed']]), { refId: 'A', alias: '$col' }))
    .withTarget(influxql(meanFields(Measurement.station, ['pumpsRunning', 'pumpsAllowedSp'], [thisStation()]), { refId: 'B', alias: '$col' }))
    .unit(Unit.count)
    .decimals(1)
    .min(0)
    .overrideByName('planPumpsAllowed', planned('计划允许泵数 planned pumps allowed', Color.orange))
    .overrideByName('pumpsRunning', styleProperties({ displayName: '运行泵 running', color: Color.ok, lineInterpolation: common.LineInterpolation.StepAfter, fillOpacity: 30 }))
    .overrideByName('pumpsAllowedSp', reported('PLC允许泵数 PLC pumps allowed', Color.neutral));

  const flow = timeseriesPanel({ title: '计划流量与实际出水', description: 'Flow setpoint of the selected plan against the pumped flow and the flow setpoint the PLC reported (m³/h).' })
    .withTarget(influxql(planFields([['flowM3h', 'planFlowM3h']]), { refId: 'A', alias: '$col' }))
    .withTarget(influxql(meanFields(Measurement.station, ['outflowM3h', 'flowSpM3h'], [thisStation()]), { refId: 'B', alias: '$col' }))
    .unit(Unit.m3h)
    .decimals(0)
    .min(0)
    .overrideByName('planFlowM3h', planned('计划流量 planned flow', Color.orange))
    .overrideByName('outflowM3h', styleProperties({ displayName: '实际出水 pumped', color: Color.info }))
    .overrideByName('flowSpM3h', reported('PLC流量设定 PLC flow setpoint', Color.neutral));

  const firstStep = tablePanel({
    title: '计划首步设定',
    description: 'Setpoints of the first step of the selected plan for every station — what is sent to SCADA when the plan is approved.',
  })
    .withTarget(
      influxql(
        select({
          select: ['first("startLevelM") AS "startLevelM"', 'first("stopLevelM") AS "stopLevelM"', 'first("pumpsAllowed") AS "pumpsAllowed"', 'first("flowM3h") AS "flowM3h"'],
          from: { measurement: Measurement.planSetpoint },
          where: [thisPlan(), TIME_FILTER],
          groupBy: ['"id"'],
        }),
        { table: true },
      ),
    )
    .withTransformation({ id: 'organize', options: { excludeByName: {}, indexByName: { Time: 0, id: 1, startLevelM: 2, stopLevelM: 3, pumpsAllowed: 4, flowM3h: 5 }, renameByName: {} } })
    .overrideByName('Time', styleProperties({ displayName: '首步时间 First step' }))
    .overrideByName('id', styleProperties({ displayName: '泵站 Station' }))
    .overrideByName('startLevelM', styleProperties({ displayName: '启泵 Start (m)', unit: Unit.m }))
    .overrideByName('stopLevelM', styleProperties({ displayName: '停泵 Stop (m)', unit: Unit.m }))
    .overrideByName('pumpsAllowed', styleProperties({ displayName: '允许泵数 Pumps allowed' }))
    .overrideByName('flowM3h', styleProperties({ displayName: '流量 Flow', unit: Unit.m3h }))
    .decimals(2);

  return { row: row('计划与实际'), panels: [levels, pumps, flow, firstStep.span(24)] };
}
