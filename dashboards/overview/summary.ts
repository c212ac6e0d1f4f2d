// Network overview, first row: the numbers a manager reads at a glance.
import type { NetworkConfig } from '../../network/schema.js';
import { row, type PanelGroup } from '../common/dashboard.js';
import { influxql, mathExpression } from '../common/influxql.js';
import { Color, Unit, statPanel, thresholds } from '../common/panels.js';
import { Measurement, countReporting, stationsAboveHighAlarmQuery, sumOfLatest } from '../common/queries.js';

/**
 * The "now" of the stats: readings in the last 15 minutes before the end of the time range (Grafana's ${__to}),
 * whatever the range. The last value anywhere in the range counted a station silent for 20 h as online, with its
 * old level, pumps and mode.
 */
export const RECENT_MIN = 15;
export const recent = () => `time > \${__to}ms - ${RECENT_MIN}m`;

export function summaryGroup(network: NetworkConfig): PanelGroup {
  const stationCount = network.stations.length;
  const capacityM3h = network.plants.reduce((sum, p) => sum + p.capacityM3h, 0);
  return {
    row: row('概览'),
    panels: [
      statPanel({ title: '在线泵站', description: `Pump stations that reported a level in the last ${RECENT_MIN} min of the time range, of ${stationCount} in the network file.` })
        .withTarget(influxql(countReporting(Measurement.station, 'levelM', 'stationsReporting', [recent()])))
        .unit(Unit.count)
        .thresholds(thresholds([Color.alarm, null], [Color.warn, Math.max(1, stationCount - 1)], [Color.ok, stationCount]))
        .noValue('0'),
      statPanel({
        title: '失联泵站',
        description: `Pump stations of the network file with no level reading in the last ${RECENT_MIN} min of the time range: their PLCs run on local control and the other stats leave them out.`,
      })
        .withTarget(influxql(countReporting(Measurement.station, 'levelM', 'stationsReporting', [recent()]), { refId: 'A', hide: true }))
        .withTarget(mathExpression('stationsSilent', `${stationCount} - $A`))
        .unit(Unit.count)
        .thresholds(thresholds([Color.ok, null], [Color.alarm, 1]))
        // No station reported at all: the expression has no input, and every station is silent.
        .noValue(String(stationCount)),
      statPanel({ title: '高液位泵站', description: `Stations at risk now: latest wet-well level in the last ${RECENT_MIN} min above the station’s high-alarm level (from the network file).` })
        .withTarget(influxql(stationsAboveHighAlarmQuery(network, 'latest', [recent()])))
        .unit(Unit.count)
        .thresholds(thresholds([Color.ok, null], [Color.alarm, 1]))
        .noValue('0'),
      statPanel({ title: '运行泵数', description: `Pumps running now, summed over the stations that reported in the last ${RECENT_MIN} min (latest reading of pumpsRunning).` })
        .withTarget(influxql(sumOfLatest(Measurement.station, 'pumpsRunning', 'pumpsRunning', [recent()])))
        .unit(Unit.count)
        .thresholds(thresholds([Color.info, null])),
      statPanel({ title: '远程控制泵站', description: `Stations in REMOTE mode now (mode = 1, reported in the last ${RECENT_MIN} min), of ${stationCount}. Stations in LOCAL or silent ignore the dispatch plan.` })
        .withTarget(influxql(sumOfLatest(Measurement.station, 'mode', 'stationsRemote', [recent()])))
        .unit(Unit.count)
        .thresholds(thresholds([Color.warn, null], [Color.ok, stationCount])),
      statPanel({ title: '进厂总流量', description: `Inflow to all treatment plants now (m³/h, readings of the last ${RECENT_MIN} min); total hydraulic capacity ${capacityM3h} m³/h.` })
        .withTarget(influxql(sumOfLatest(Measurement.plant, 'inflowM3h', 'plantInflowM3h', [recent()])))
        .unit(Unit.m3h)
        .decimals(0)
        .thresholds(thresholds([Color.ok, null], [Color.alarm, capacityM3h])),
      statPanel({ title: '超越流量', description: `Bypass at all treatment plants now (m³/h, readings of the last ${RECENT_MIN} min): inflow above capacity that is not treated.` })
        .withTarget(influxql(sumOfLatest(Measurement.plant, 'bypassM3h', 'plantBypassM3h', [recent()])))
        .unit(Unit.m3h)
        .decimals(0)
        .thresholds(thresholds([Color.ok, null], [Color.alarm, 0.001])),
    ],
  };
}
