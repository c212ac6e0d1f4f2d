// 计划与实际 Plan against actual: a plan's setpoints for a station against what the station did.
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import type { NetworkConfig } from '../../network/schema.js';
import { Uid, addGroups, finalise, sewerDashboard } from '../common/dashboard.js';
import { Measurement } from '../common/queries.js';
import { stationVariable, tagValuesVariable } from '../common/variables.js';
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
    .withVariable(
      tagValuesVariable({
        name: 'plan',
        label: '调度计划',
        description: 'Dispatch plan with steps in the time range (plan ids carry the cycle start, so the newest comes first)',
        measurement: Measurement.planSetpoint,
        key: 'plan',
        sort: dashboard.VariableSort.AlphabeticalDesc,
      }),
    );
  return finalise(addGroups(builder, [setpointsGroup(), outcomesGroup()]).build());
}
