// Station detail: the configuration viewers need beside the data, generated from the network file.
import type { NetworkConfig, PumpStation } from '../../network/schema.js';
import { row, type PanelGroup } from '../common/dashboard.js';
import { markdownPanel } from '../common/panels.js';
import { sensorFlagTable, tagStatusTable } from '../overview/data-quality.js';
import { tagEquals } from '../common/influxql.js';
import { STATION } from './levels.js';

const pumpsText = (s: PumpStation) =>
  s.pumps.map((p) => `${p.id} ${p.kind === 'vfd' ? '变频 VFD' : '定速 fixed'} ${p.capacityM3h}`).join('<br>');

export function stationConfigMarkdown(network: NetworkConfig): string {
  const systems = new Map(network.systems.map((s) => [s.id, s.name.zh]));
  const lines = [
    '| 泵站 Station | 片区 System | 泵 Pumps (m³/h) | 备用 Standby | 停/启泵 Stop/start (m) | 防汛启泵 Flood start (m) | 高报/溢流 High alarm/overflow (m) | 单位电耗 kWh/m³ | 启泵上限 Starts/h |',
    '|---|---|---|---|---|---|---|---|---|',
    ...network.stations.map(
      (s) =>
        `| ${s.id} ${s.name.zh} (${s.name.en}) | ${systems.get(s.system) ?? s.system} | ${pumpsText(s)} | ${s.standbyPumps} | ${s.levels.pumpStopM} / ${s.levels.pumpStartM} | ${s.levels.floodSeasonStartM ?? '—'} | ${s.levels.highAlarmM} / ${s.levels.overflowM} | ${s.specificEnergyKwhM3} | ${s.maxStartsPerHour} |`,
    ),
  ];
  return lines.join('\n');
}

export function configGroup(network: NetworkConfig): PanelGroup {
  return {
    row: row('数据质量与配置'),
    panels: [
      tagStatusTable([tagEquals('object', STATION)]),
      sensorFlagTable([tagEquals('object', STATION)]),
      markdownPanel({ title: '泵站配置', description: 'Configuration of every station from the network file: pumps, levels, specific energy and start limits.' }, stationConfigMarkdown(network)).span(24).height(12),
    ],
  };
}
