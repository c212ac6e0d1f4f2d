// Network overview: where the water goes — pumped flows, plant loading, transfers and storage.
import type { NetworkConfig } from '../../network/schema.js';
import { row, type PanelGroup } from '../common/dashboard.js';
import { influxql } from '../common/influxql.js';
import { Color, Unit, thresholds, timeseriesPanel } from '../common/panels.js';
import { Measurement, meanPerId, percentOfCapacityQuery } from '../common/queries.js';
import * as common from '@grafana/grafana-foundation-sdk/common';

export function flowsGroup(network: NetworkConfig): PanelGroup {
  const panels = [
    timeseriesPanel({ title: '泵站出水流量', description: 'Pumped flow of every station (m³/h).' })
      .withTarget(influxql(meanPerId(Measurement.station, 'outflowM3h'), { alias: '$tag_id' }))
      .unit(Unit.m3h)
      .decimals(0)
      .min(0),
    timeseriesPanel({
      title: '污水厂负荷率',
      description: `Inflow of each treatment plant as a percentage of its hydraulic capacity (${network.plants.map((p) => `${p.id} ${p.capacityM3h} m³/h`).join(', ')}). Above 100 % water is bypassed.`,
    })
      .withTarget(influxql(percentOfCapacityQuery(Measurement.plant, 'inflowM3h', network.plants, (p) => p.capacityM3h, 'inflowPctOfCapacity'), { alias: '$tag_id' }))
      .unit(Unit.percent)
      .decimals(0)
      .min(0)
      .thresholds(thresholds(['transparent', null], [Color.alarm, 100]))
      .thresholdsStyle(new common.GraphThresholdsStyleConfigBuilder().mode(common.GraphThresholdsStyleMode.Dashed)),
  ];
  if (network.interconnections.length > 0) {
    panels.push(
      timeseriesPanel({
        title: '东西互联输送',
        description: `Transfer flow across each interconnection (m³/h, positive from a to b): ${network.interconnections.map((x) => `${x.id} ${x.a}→${x.b}, capacity ${x.capacityM3h} m³/h`).join('; ')}.`,
      })
        .withTarget(influxql(meanPerId(Measurement.interconnection, 'transferM3h'), { alias: '$tag_id' }))
        .unit(Unit.m3h)
        .decimals(0),
    );
  }
  if (network.tanks.length > 0) {
    panels.push(
      timeseriesPanel({
        title: '调蓄池蓄水率',
        description: `Stored volume of each storage tank as a percentage of its usable volume (${network.tanks.map((t) => `${t.id} ${t.capacityM3} m³`).join(', ')}).`,
      })
        .withTarget(influxql(percentOfCapacityQuery(Measurement.tank, 'volumeM3', network.tanks, (t) => t.capacityM3, 'volumePctOfCapacity'), { alias: '$tag_id' }))
        .unit(Unit.percent)
        .decimals(0)
        .min(0)
        .max(100),
    );
  }
  return { row: row('流量与调蓄'), panels };
}
