// Flood season: overflows (station overflowM3h, i.e. SSO at the wet well) and tank overflows and plant bypass.
import type { NetworkConfig } from '../../network/schema.js';
import { row, type PanelGroup } from '../common/dashboard.js';
import { influxql } from '../common/influxql.js';
import { Color, Unit, barGaugePanel, statPanel, thresholds, timeseriesPanel } from '../common/panels.js';
import { Measurement, meanPerId, volumeQuery } from '../common/queries.js';

export function overflowGroup(network: NetworkConfig): PanelGroup {
  const flow = timeseriesPanel({ title: '泵站溢流流量', description: 'Overflow (sanitary sewer overflow) flow at each station (m³/h); zero while the wet well is below its overflow level.' })
    .withTarget(influxql(meanPerId(Measurement.station, 'overflowM3h'), { alias: '$tag_id' }))
    .unit(Unit.m3h)
    .decimals(0)
    .min(0)
    .fillOpacity(30)
    .span(12)
    .height(9);
  const total = statPanel({ title: '时段溢流总量', description: 'Overflow volume of all stations in the time range (m³): the integral of overflowM3h.' })
    .withTarget(influxql(volumeQuery(Measurement.station, 'overflowM3h', 'overflowM3', false)))
    .unit(Unit.m3)
    .decimals(0)
    .thresholds(thresholds([Color.ok, null], [Color.alarm, 1]))
    .span(6);
  const bypass = statPanel({ title: '时段厂前超越', description: 'Volume bypassed at the treatment plants in the time range (m³).' })
    .withTarget(influxql(volumeQuery(Measurement.plant, 'bypassM3h', 'bypassM3', false)))
    .unit(Unit.m3)
    .decimals(0)
    .thresholds(thresholds([Color.ok, null], [Color.alarm, 1]))
    .span(6);
  const perStation = barGaugePanel({ title: '各站溢流量', description: 'Overflow volume per station in the time range (m³).' })
    .withTarget(influxql(volumeQuery(Measurement.station, 'overflowM3h', 'overflowM3', true), { alias: '$tag_id' }))
    .unit(Unit.m3)
    .decimals(0)
    .min(0)
    .thresholds(thresholds([Color.ok, null], [Color.alarm, 1]))
    .span(12)
    .height(9);
  const panels = [flow, perStation, total, bypass];
  if (network.tanks.length > 0) {
    panels.push(
      statPanel({ title: '时段调蓄池溢流', description: `Weir overflow volume of the storage tanks (${network.tanks.map((t) => t.id).join(', ')}) in the time range (m³).` })
        .withTarget(influxql(volumeQuery(Measurement.tank, 'overflowM3h', 'overflowM3', false)))
        .unit(Unit.m3)
        .decimals(0)
        .thresholds(thresholds([Color.ok, null], [Color.alarm, 1]))
        .span(6),
    );
  }
  return { row: row('溢流'), panels };
}
