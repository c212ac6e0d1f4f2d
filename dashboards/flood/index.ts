// 汛期应急 Flood season: warning and response level, stations at risk, overflows.
import type * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import type { NetworkConfig } from '../../network/schema.js';
import { Uid, addGroups, finalise, sewerDashboard } from '../common/dashboard.js';
import { overflowGroup } from './overflow.js';
import { riskGroup } from './risk.js';
import { warningGroup } from './warning.js';

export function floodDashboard(network: NetworkConfig): dashboard.Dashboard {
  const builder = sewerDashboard({
    uid: Uid.flood,
    title: '汛期应急',
    description:
      'Flood season: rainstorm warning and emergency response level, stations at risk (level above their high-alarm level from the network file) and overflows at stations, tanks and plants.',
    network,
    time: { from: 'now-3d', to: 'now' },
    refresh: '1m',
    tags: ['flood-season'],
  });
  return finalise(addGroups(builder, [warningGroup(), riskGroup(network), overflowGroup(network)]).build());
}
