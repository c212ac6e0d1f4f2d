// 泵站详情 Station detail: one pump station, chosen with the `station` variable (ids from the network file).
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import type { NetworkConfig } from '../../network/schema.js';
import { Uid, addGroups, finalise, sewerDashboard } from '../common/dashboard.js';
import { stationVariable } from '../common/variables.js';
import { configGroup } from './config.js';
import { levelsGroup } from './levels.js';
import { pumpsGroup } from './pumps.js';

const withStation = (title: string, uid: string) =>
  new dashboard.DashboardLinkBuilder(title).type(dashboard.DashboardLinkType.Link).url(`/d/${uid}`).includeVars(true).keepTime(true).targetBlank(false);

export function stationDashboard(network: NetworkConfig): dashboard.Dashboard {
  const builder = sewerDashboard({
    uid: Uid.station,
    title: '泵站详情',
    description: 'Station detail: level against setpoints and configured levels, flows, pumps, control mode, energy, pump starts and data quality of one pump station.',
    network,
    time: { from: 'now-24h', to: 'now' },
    refresh: '1m',
    tags: ['station'],
  })
    .withVariable(stationVariable(network))
    .link(withStation('计划与实际 Plan vs actual', Uid.plan))
    .link(withStation('来水预报 Inflow forecast', Uid.forecast));
  return finalise(addGroups(builder, [levelsGroup(network), pumpsGroup(network), configGroup(network)]).build());
}
