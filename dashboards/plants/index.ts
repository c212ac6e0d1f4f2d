// 污水处理厂 Treatment plants: inflow against capacity, bypass, influent quality and load, one row per plant.
import type * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import type { NetworkConfig } from '../../network/schema.js';
import { Uid, addGroups, finalise, row, sewerDashboard, type PanelGroup } from '../common/dashboard.js';
import { plantHydraulicsPanels, utilisationPanel } from './hydraulics.js';
import { networkQualityPanels, plantQualityPanels } from './quality.js';

export function plantsDashboard(network: NetworkConfig): dashboard.Dashboard {
  const builder = sewerDashboard({
    uid: Uid.plants,
    title: '污水处理厂',
    description: `Treatment plants: inflow against hydraulic capacity (threshold), bypass volume, influent quality and pollutant load (kg/h = mg/L × m³/h / 1000) of the ${network.plants.length} plants.`,
    network,
    time: { from: 'now-24h', to: 'now' },
    refresh: '1m',
    tags: ['plants'],
  });
  const groups: PanelGroup[] = [
    { row: row('负荷对比'), panels: [utilisationPanel(network).span(24).height(6)] },
    ...network.plants.map((plant) => ({
      row: row(`${plant.id} ${plant.name.zh}`),
      panels: [...plantHydraulicsPanels(plant), ...plantQualityPanels(network, plant)],
    })),
  ];
  const networkQuality = networkQualityPanels(network);
  if (networkQuality.length > 0) groups.push({ row: row('管网水质'), panels: networkQuality });
  return finalise(addGroups(builder, groups).build());
}
