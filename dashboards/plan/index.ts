// 计划与实际 Plan against actual: a plan's setpoints for a station against what the station did.
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import type { NetworkConfig } from '../../network/schema.js';
import { Uid, addGroups, finalise, sewerDashboard } from '../common/dashboard.js';
import { TIME_FILTER, select, tagEquals } from '../common/influxql.js';
import { singleValueQueryVariable, stationVariable } from '../common/variables.js';
import { PLAN_PREDICTION } from '../../activities/plan-points.js';
import { predictionsGroup } from './predictions.js';
import { outcomesGroup } from './outcomes.js';
import { setpointsGroup } from './setpoints.js';

export function planDashboard(network: NetworkConfig): dashboard.Dashboard {
  const builder = sewerDashboard({
    uid: Uid.plan,
    title: '计划与实际',
    description: `Plan against actual: the planned level band, pumps allowed and flow setpoint of a dispatch plan (one step every ${network.planning.stepMin} min over ${network.planning.horizonH} h) against the measured level, pumps and flow of a station, and how plans were decided and written to SCADA.`,
    network,
    time: { from: 'now-12h', to: `now+${network.planning.horizonH}h` },
    refresh: '5m',
    tags: ['plan'],
  })
    .withVariable(stationVariable(network))
    .withVariable(planVariable());
  return finalise(addGroups(builder, [setpointsGroup(), predictionsGroup(network), outcomesGroup()]).build());
}

/**
 * `plan`: plans created in the time range, newest first, from each plan's index point (plan_prediction, kind
 * plan, written with the plan by activities/plan-points.ts). Sorting the ids as text put flood plans above newer
 * dispatch plans and r10 below r2, and SHOW TAG VALUES filters by time only per shard.
 */
export function planVariable(): dashboard.QueryVariableBuilder {
  const query = select({ select: ['"planId"'], from: { measurement: PLAN_PREDICTION }, where: [tagEquals('kind', 'plan'), TIME_FILTER] }) + ' ORDER BY time DESC';
  return singleValueQueryVariable(
    { name: 'plan', label: '调度计划', description: 'Dispatch and flood emergency plans (plan-flood-…) created in the time range, newest first' },
    query,
    dashboard.VariableSort.Disabled,
  );
}
