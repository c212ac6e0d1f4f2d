// 能耗与电费 Energy and cost by tariff period against the baseline.
import type * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import type { NetworkConfig } from '../../network/schema.js';
import { Uid, addGroups, finalise, sewerDashboard } from '../common/dashboard.js';
import { baselineGroup } from './baseline.js';
import { tariffGroup } from './tariff.js';

export function energyDashboard(network: NetworkConfig): dashboard.Dashboard {
  const builder = sewerDashboard({
    uid: Uid.energy,
    title: '能耗与电费',
    description:
      'Energy and cost by tariff period against the baseline: pumping energy from the stations’ energy counters split into the time-of-use periods of the network file, cost at each period’s price, and the same for the baseline (local level control, measurement `baseline`).',
    network,
    // Whole local days: tariff periods are daily, and the dashboard's time zone is the network's.
    time: { from: 'now-6d/d', to: 'now' },
    refresh: '15m',
    tags: ['energy'],
  });
  return finalise(addGroups(builder, [baselineGroup(network), tariffGroup(network)]).build());
}
