// 降雨与来水预报 Rain and inflow forecast: what the plans expect, and how it compares with what came.
import type * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import type { NetworkConfig } from '../../network/schema.js';
import { Uid, addGroups, finalise, sewerDashboard } from '../common/dashboard.js';
import { CYCLE_KIND_PATTERN, ENSEMBLE_KIND_PATTERN } from '../../forecasting/rain-store.js';
import { catchmentVariable, forecastIssueVariable, stationVariable } from '../common/variables.js';
import { inflowGroup } from './inflow.js';
import { rainGroup } from './rain.js';

export function forecastDashboard(network: NetworkConfig): dashboard.Dashboard {
  const builder = sewerDashboard({
    uid: Uid.forecast,
    title: '降雨与来水预报',
    description: `Rain and inflow forecast: forecast rain per catchment with the ensemble's spread, and the inflow forecast per station as an ensemble band (p10–p90) against the observed inflow, for the next ${network.planning.horizonH} h of each forecast issue.`,
    network,
    time: { from: 'now-24h', to: `now+${network.planning.horizonH}h` },
    refresh: '5m',
    tags: ['forecast'],
  })
    .withVariable(stationVariable(network))
    .withVariable(catchmentVariable(network))
    .withVariable(
      forecastIssueVariable({
        name: 'inflow_issue',
        label: '来水预报批次',
        description: 'Issue time (epoch ms) of a completely written inflow forecast; newest first',
        kind: 'inflow',
      }),
    )
    .withVariable(
      forecastIssueVariable({
        name: 'rain_issue',
        label: '降雨预报批次',
        description: 'Time (epoch ms) of a dispatch cycle whose rain (fresh, stale or fallback, as it used it) was completely written; newest first',
        kind: CYCLE_KIND_PATTERN,
      }),
    )
    .withVariable(
      forecastIssueVariable({
        name: 'ensemble_issue',
        label: '集合预报批次',
        description: 'Issue time (epoch ms) of a completely written rain ensemble forecast; newest first',
        kind: ENSEMBLE_KIND_PATTERN,
      }),
    );
  return finalise(addGroups(builder, [inflowGroup(), rainGroup(network)]).build());
}
