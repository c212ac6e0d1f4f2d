// 网络总览 Network overview: stations, plants, transfers, storage and data quality of the whole network.
import type * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import type { NetworkConfig } from '../../network/schema.js';
import { Uid, addGroups, finalise, sewerDashboard } from '../common/dashboard.js';
import { dataQualityGroup } from './data-quality.js';
import { flowsGroup } from './flows.js';
import { stationsGroup } from './stations.js';
import { summaryGroup } from './summary.js';

const count = (n: number, noun: string) => `${n} ${noun}${n === 1 ? '' : 's'}`;

export function overviewDashboard(network: NetworkConfig): dashboard.Dashboard {
  const builder = sewerDashboard({
    uid: Uid.overview,
    title: '网络总览',
    description: `Network overview: state of the ${count(network.stations.length, 'pump station')}, ${count(network.plants.length, 'treatment plant')}, ${count(network.interconnections.length, 'interconnection')} and ${count(network.tanks.length, 'storage tank')}, and the quality of the telemetry.`,
    network,
    time: { from: 'now-24h', to: 'now' },
    refresh: '1m',
    tags: ['overview'],
  });
  return finalise(addGroups(builder, [summaryGroup(network), stationsGroup(network), flowsGroup(network), dataQualityGroup()]).build());
}
