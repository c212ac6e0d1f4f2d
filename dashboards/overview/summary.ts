// Network overview, first row: the numbers a manager reads at a glance.
import type { NetworkConfig } from '../../network/schema.js';
import { row, type PanelGroup } from '../common/dashboard.js';
import { influxql } from '../common/influxql.js';
import { Color, Unit, statPanel, thresholds } from '../common/panels.js';
import { Measurement, countReporting, stationsAboveHighAlarmQuery, sumOfLatest } from '../common/queries.js';

export function summaryGroup(network: NetworkConfig): PanelGroup {
  const stationCount = network.stations.length;
  const capacityM3h = network.plants.reduce((sum, p) => sum + p.capacityM3h, 0);
  return {
    row: row('概览'),
    panels: [
      statPanel({ title: '在线泵站', description: `Pump stations that reported a level within the time range, of ${stationCount} in the network file.` })
        .withTarget(influxql(countReporting(Measurement.station, 'levelM', 'stationsReporting')))
        .unit(Unit.count)
        .thresholds(thresholds([Color.alarm, null], [Color.warn, Math.max(1, stationCount - 1)], [Color.ok, stationCount]))
        .noValue('0'),
      statPanel({ title: '高液位泵站', description: 'Stations at risk now: latest wet-well level above the station’s high-alarm level (from the network file).' })
        .withTarget(influxql(stationsAboveHighAlarmQuery(network, 'latest')))
        .unit(Unit.count)
        .thresholds(thresholds([Color.ok, null], [Color.alarm, 1]))
        .noValue('0'),
      statPanel({ title: '运行泵数', description: 'Pumps running now, summed over all stations (latest reading of pumpsRunning).' })
        .withTarget(influxql(sumOfLatest(Measurement.station, 'pumpsRunning', 'pumpsRunning')))
        .unit(Unit.count)
        .thresholds(thresholds([Color.info, null])),
      statPanel({ title: '远程控制泵站', description: `Stations in REMOTE mode now (mode = 1), of ${stationCount}. Stations in LOCAL ignore the dispatch plan.` })
        .withTarget(influxql(sumOfLatest(Measurement.station, 'mode', 'stationsRemote')))
        .unit(Unit.count)
        .thresholds(thresholds([Color.warn, null], [Color.ok, stationCount])),
      statPanel({ title: '进厂总流量', description: `Inflow to all treatment plants now (m³/h); total hydraulic capacity ${capacityM3h} m³/h.` })
        .withTarget(influxql(sumOfLatest(Measurement.plant, 'inflowM3h', 'plantInflowM3h')))
        .unit(Unit.m3h)
        .decimals(0)
        .thresholds(thresholds([Color.ok, null], [Color.alarm, capacityM3h])),
      statPanel({ title: '超越流量', description: 'Bypass at all treatment plants now (m³/h): inflow above capacity that is not treated.' })
        .withTarget(influxql(sumOfLatest(Measurement.plant, 'bypassM3h', 'plantBypassM3h')))
        .unit(Unit.m3h)
        .decimals(0)
        .thresholds(thresholds([Color.ok, null], [Color.alarm, 0.001])),
    ],
  };
}
