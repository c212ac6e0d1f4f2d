// Station detail: pumps, control mode, energy and starts.
import * as common from '@grafana/grafana-foundation-sdk/common';
import type { NetworkConfig } from '../../network/schema.js';
import { row, type PanelGroup } from '../common/dashboard.js';
import { counterIncreasePerBucketQuery, counterIncreaseQuery } from '../common/energy.js';
import { INTERVAL, TIME_FILTER, influxql, num, select, timeBucket } from '../common/influxql.js';
import { Color, Unit, stateTimelinePanel, statPanel, styleProperties, thresholds, timeseriesPanel, valueMappings } from '../common/panels.js';
import { Measurement, meanFields, perGroup } from '../common/queries.js';
import { modeMappings } from '../overview/stations.js';
import { thisStation } from './levels.js';

const remoteActiveMappings = valueMappings([
  { value: 'true', text: '远程设定生效 remote in force', color: Color.ok },
  { value: 'false', text: '本地控制 local control', color: Color.orange },
]);

export function pumpsGroup(network: NetworkConfig): PanelGroup {
  const station = { measurement: Measurement.station, where: [thisStation()] };
  const pumps = timeseriesPanel({ title: '泵组运行', description: 'Pumps running and available at the selected station, and the number of pumps the remote setpoint allows.' })
    .withTarget(influxql(meanFields(Measurement.station, ['pumpsRunning', 'pumpsAvailable', 'pumpsAllowedSp'], [thisStation()]), { alias: '$col' }))
    .unit(Unit.count)
    .decimals(1)
    .min(0)
    .lineInterpolation(common.LineInterpolation.StepAfter)
    .overrideByName('pumpsRunning', styleProperties({ displayName: '运行泵 running', color: Color.ok, fillOpacity: 30 }))
    .overrideByName('pumpsAvailable', styleProperties({ displayName: '可用泵 available', color: Color.info, fillOpacity: 0 }))
    .overrideByName('pumpsAllowedSp', styleProperties({ displayName: '允许泵数 allowed', color: Color.orange, dashed: true, fillOpacity: 0 }));

  const mode = stateTimelinePanel({
    title: '控制模式',
    description: 'PLC control mode (LOCAL ignores remote setpoints) and whether remote setpoints are in force (REMOTE and the dispatch heartbeat fresh).',
  })
    .withTarget(
      influxql(
        select({
          select: ['last("mode") AS "mode"', 'last("remoteActive") AS "remoteActive"'],
          from: { measurement: Measurement.station },
          where: [thisStation(), TIME_FILTER],
          groupBy: [timeBucket(INTERVAL)],
          fill: 'previous',
        }),
        { alias: '$col' },
      ),
    )
    .overrideByName('mode', [...styleProperties({ displayName: '模式 mode' }), { id: 'mappings', value: modeMappings }])
    .overrideByName('remoteActive', [...styleProperties({ displayName: '远程生效 remote active' }), { id: 'mappings', value: remoteActiveMappings }]);

  const energy = statPanel({ title: '时段电耗', description: 'Energy used by the selected station in the time range (kWh), from increments of its energy counter.' })
    .withTarget(influxql(counterIncreaseQuery({ ...station, field: 'energyKwh' }, 'energyKwh', false)))
    .unit(Unit.kwh)
    .decimals(0)
    .thresholds(thresholds([Color.info, null]));

  const starts = statPanel({ title: '时段启泵次数', description: 'Pump starts at the selected station in the time range, from increments of its start counter.' })
    .withTarget(influxql(counterIncreaseQuery({ ...station, field: 'pumpStarts' }, 'pumpStarts', false)))
    .unit(Unit.count)
    .decimals(0)
    .thresholds(thresholds([Color.info, null]));

  const maxStarts = perGroup(
    network.stations,
    (s) => s.maxStartsPerHour,
    (idCondition, s) =>
      select({
        select: [`last("pumpStarts") * 0 + ${num(s.maxStartsPerHour)} AS "maxStartsPerHour"`],
        from: { measurement: Measurement.station },
        where: [thisStation(), idCondition, TIME_FILTER],
        groupBy: [timeBucket('1h')],
        fill: 'previous',
      }),
  );
  const startsPerHour = timeseriesPanel({
    title: '每小时启泵次数',
    description: 'Pump starts per hour at the selected station against its configured limit (maxStartsPerHour, dashed).',
  })
    .withTarget(influxql(counterIncreasePerBucketQuery({ ...station, field: 'pumpStarts' }, '1h', 'startsPerHour', false), { refId: 'A', alias: '$col' }))
    .withTarget(influxql(select({ select: ['"maxStartsPerHour"'], from: { subqueries: maxStarts }, where: [TIME_FILTER] }), { refId: 'B', alias: '$col' }))
    .unit(Unit.perHour)
    .decimals(0)
    .min(0)
    .overrideByName('startsPerHour', styleProperties({ displayName: '启泵次数 starts', drawStyle: common.GraphDrawStyle.Bars, fillOpacity: 70, color: Color.info }))
    .overrideByName('maxStartsPerHour', styleProperties({ displayName: '上限 limit', dashed: true, color: Color.alarm, fillOpacity: 0 }));

  const specific = perGroup(
    network.stations,
    (s) => s.specificEnergyKwhM3,
    (idCondition, s) =>
      select({
        select: [`last("energyKwh") * 0 + ${num(s.specificEnergyKwhM3)} AS "configuredKwhM3"`],
        from: { measurement: Measurement.station },
        where: [thisStation(), idCondition, TIME_FILTER],
        groupBy: [timeBucket('1h')],
        fill: 'previous',
      }),
  );
  const specificEnergy = timeseriesPanel({
    title: '单位电耗',
    description: 'Hourly specific energy of the selected station (kWh per m³ pumped: energy-counter increase over mean pumped flow) against the configured value (dashed).',
  })
    .withTarget(
      influxql(
        select({
          select: ['non_negative_difference(last("energyKwh")) / mean("outflowM3h") AS "kwhPerM3"'],
          from: { measurement: Measurement.station },
          where: [thisStation(), TIME_FILTER],
          groupBy: [timeBucket('1h')],
        }),
        { refId: 'A', alias: '$col' },
      ),
    )
    .withTarget(influxql(select({ select: ['"configuredKwhM3"'], from: { subqueries: specific }, where: [TIME_FILTER] }), { refId: 'B', alias: '$col' }))
    .unit(Unit.kwhPerM3)
    .decimals(3)
    .min(0)
    .overrideByName('kwhPerM3', styleProperties({ displayName: '实际 actual', color: Color.info }))
    .overrideByName('configuredKwhM3', styleProperties({ displayName: '配置 configured', dashed: true, color: Color.neutral, fillOpacity: 0 }));

  return { row: row('泵组与能耗'), panels: [pumps, mode, energy.span(6).height(8), starts.span(6).height(8), startsPerHour, specificEnergy] };
}
