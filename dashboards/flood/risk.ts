// Flood season: stations at risk — level above the station's high-alarm level from the network file.
import * as common from '@grafana/grafana-foundation-sdk/common';
import type { NetworkConfig } from '../../network/schema.js';
import { Uid, row, type PanelGroup } from '../common/dashboard.js';
import { influxql } from '../common/influxql.js';
import { Color, Unit, dashboardLink, statPanel, styleProperties, tablePanel, thresholds, timeseriesPanel } from '../common/panels.js';
import { RECENT_MIN, recent } from '../overview/summary.js';
import { levelAboveHighAlarmQuery, stationRiskTableQuery, stationsAboveHighAlarmQuery } from '../common/queries.js';

export function riskGroup(network: NetworkConfig): PanelGroup {
  const now = statPanel({ title: '当前高液位泵站', description: `Stations at risk now: latest level in the last ${RECENT_MIN} min of the time range above their high-alarm level.` })
    .withTarget(influxql(stationsAboveHighAlarmQuery(network, 'latest', [recent()])))
    .unit(Unit.count)
    .thresholds(thresholds([Color.ok, null], [Color.alarm, 1]))
    .noValue('0')
    .span(6);
  const inRange = statPanel({ title: '时段内超高液位泵站', description: 'Stations whose level rose above their high-alarm level at some time in the time range.' })
    .withTarget(influxql(stationsAboveHighAlarmQuery(network, 'max-in-range')))
    .unit(Unit.count)
    .thresholds(thresholds([Color.ok, null], [Color.warn, 1]))
    .noValue('0')
    .span(6);
  const count = timeseriesPanel({ title: '高液位泵站数', description: 'Number of stations above their high-alarm level, per interval.' })
    .withTarget(influxql(stationsAboveHighAlarmQuery(network, 'per-interval'), { alias: '$col' }))
    .unit(Unit.count)
    .decimals(0)
    .min(0)
    .drawStyle(common.GraphDrawStyle.Bars)
    .fillOpacity(60)
    .overrideByName('stationsAboveHighAlarm', styleProperties({ displayName: '高液位泵站 stations at risk', color: Color.alarm }))
    .height(4)
    .span(12);

  const margin = timeseriesPanel({
    title: '液位超出高报值',
    description: 'Each station’s level minus its own high-alarm level (m): above 0 the station is at risk; the overflow level lies above by the station’s overflow margin.',
  })
    .withTarget(influxql(levelAboveHighAlarmQuery(network), { alias: '$tag_id' }))
    .unit(Unit.m)
    .decimals(2)
    .thresholds(thresholds(['transparent', null], [Color.alarm, 0]))
    .thresholdsStyle(new common.GraphThresholdsStyleConfigBuilder().mode(common.GraphThresholdsStyleMode.LineAndArea))
    .span(12)
    .height(9);

  const table = tablePanel({
    title: '泵站风险排序',
    description: 'Per station over the time range: latest and highest level, its high-alarm and overflow levels (network file), and how far the highest level rose above the high alarm. Sorted by risk.',
  })
    .withTarget(influxql(stationRiskTableQuery(network), { table: true }))
    .withTransformation({
      id: 'organize',
      options: { excludeByName: { Time: true }, indexByName: { id: 0, levelM: 1, maxLevelM: 2, highAlarmM: 3, overflowM: 4, maxAboveHighAlarmM: 5 }, renameByName: {} },
    })
    .withTransformation({ id: 'sortBy', options: { fields: {}, sort: [{ field: 'maxAboveHighAlarmM', desc: true }] } })
    .unit(Unit.m)
    .decimals(2)
    .overrideByName('id', [...styleProperties({ displayName: '泵站 Station' }), { id: 'links', value: [dashboardLink('泵站详情 Station detail', Uid.station, { station: '${__value.raw}' }).build()] }])
    .overrideByName('levelM', styleProperties({ displayName: '当前液位 Level' }))
    .overrideByName('maxLevelM', styleProperties({ displayName: '最高液位 Max level' }))
    .overrideByName('highAlarmM', styleProperties({ displayName: '高报 High alarm' }))
    .overrideByName('overflowM', styleProperties({ displayName: '溢流 Overflow' }))
    .overrideByName('maxAboveHighAlarmM', [
      ...styleProperties({ displayName: '超高报 Above high alarm' }),
      { id: 'thresholds', value: thresholds([Color.ok, null], [Color.alarm, 0.0001]).build() },
      { id: 'custom.cellOptions', value: { type: 'color-background' } },
    ])
    .span(12)
    .height(9);

  return { row: row('高液位风险'), panels: [now, inRange, count, margin, table] };
}
