// Station detail: wet-well level against the PLC's setpoints and the station's configured levels, and flows.
import * as common from '@grafana/grafana-foundation-sdk/common';
import type { NetworkConfig, PumpStation } from '../../network/schema.js';
import { row, type PanelGroup } from '../common/dashboard.js';
import { INTERVAL, TIME_FILTER, influxql, num, select, tagEquals, timeBucket, variable } from '../common/influxql.js';
import { Color, Unit, styleProperties, timeseriesPanel } from '../common/panels.js';
import { Measurement, meanFields, perGroup } from '../common/queries.js';

export const STATION = variable('station');
export const thisStation = () => tagEquals('id', STATION);

const configuredLevels = [
  { key: 'pumpStopM', zh: '停泵液位', en: 'pump stop', color: 'gray', of: (s: PumpStation) => s.levels.pumpStopM },
  { key: 'pumpStartM', zh: '启泵液位', en: 'pump start', color: 'gray', of: (s: PumpStation) => s.levels.pumpStartM },
  { key: 'floodSeasonStartM', zh: '防汛启泵液位', en: 'flood-season start', color: 'purple', of: (s: PumpStation) => s.levels.floodSeasonStartM },
  { key: 'highAlarmM', zh: '高液位报警', en: 'high alarm', color: Color.warn, of: (s: PumpStation) => s.levels.highAlarmM },
  { key: 'overflowM', zh: '溢流液位', en: 'overflow', color: Color.alarm, of: (s: PumpStation) => s.levels.overflowM },
] as const;

/**
 * The selected station's configured levels (network file) as constant series beside its measured level:
 * one subquery per group of stations with identical levels, each limited to `$station`, so exactly one
 * group answers whichever station is selected.
 */
export function configuredLevelsQuery(network: NetworkConfig): string {
  const present = configuredLevels.filter((l) => network.stations.some((s) => l.of(s) !== undefined));
  const subqueries = perGroup(
    network.stations,
    (s) => present.map((l) => l.of(s) ?? null),
    (idCondition, s) =>
      select({
        select: present.flatMap((l) => {
          const value = l.of(s);
          return value === undefined ? [] : [`last("levelM") * 0 + ${num(value)} AS "${l.key}"`];
        }),
        from: { measurement: Measurement.station },
        where: [thisStation(), idCondition, TIME_FILTER],
        groupBy: [timeBucket(INTERVAL)],
        fill: 'previous',
      }),
  );
  return select({ select: present.map((l) => `"${l.key}"`), from: { subqueries }, where: [TIME_FILTER] });
}

export function levelsGroup(network: NetworkConfig): PanelGroup {
  const levels = timeseriesPanel({
    title: '液位与启停设定',
    description:
      'Measured wet-well level of the selected station (m) with the start/stop setpoints the PLC reports (stepped) and the levels configured in the network file (dashed): pump stop/start, flood-season start, high alarm, overflow.',
  })
    .withTarget(influxql(meanFields(Measurement.station, ['levelM', 'startLevelSpM', 'stopLevelSpM'], [thisStation()]), { refId: 'A', alias: '$col' }))
    .withTarget(influxql(configuredLevelsQuery(network), { refId: 'B', alias: '$col' }))
    .unit(Unit.m)
    .decimals(2)
    .min(0)
    .overrideByName('levelM', styleProperties({ displayName: '液位 level', color: Color.info, lineWidth: 2 }))
    .overrideByName('startLevelSpM', styleProperties({ displayName: '启泵设定 start setpoint', color: Color.ok, lineInterpolation: common.LineInterpolation.StepAfter, fillOpacity: 0 }))
    .overrideByName('stopLevelSpM', styleProperties({ displayName: '停泵设定 stop setpoint', color: Color.orange, lineInterpolation: common.LineInterpolation.StepAfter, fillOpacity: 0 }));
  for (const l of configuredLevels) {
    levels.overrideByName(l.key, styleProperties({ displayName: `${l.zh} ${l.en}`, color: l.color, dashed: true, fillOpacity: 0 }));
  }

  const flows = timeseriesPanel({
    title: '进出水与溢流',
    description: 'Inflow, pumped flow and overflow (SSO) of the selected station, with the remote flow setpoint (m³/h).',
  })
    .withTarget(influxql(meanFields(Measurement.station, ['inflowM3h', 'outflowM3h', 'overflowM3h', 'flowSpM3h'], [thisStation()]), { alias: '$col' }))
    .unit(Unit.m3h)
    .decimals(0)
    .min(0)
    .overrideByName('inflowM3h', styleProperties({ displayName: '进水 inflow', color: Color.info }))
    .overrideByName('outflowM3h', styleProperties({ displayName: '出水 pumped', color: Color.ok }))
    .overrideByName('overflowM3h', styleProperties({ displayName: '溢流 overflow', color: Color.alarm, fillOpacity: 40 }))
    .overrideByName('flowSpM3h', styleProperties({ displayName: '流量设定 flow setpoint', color: Color.orange, lineInterpolation: common.LineInterpolation.StepAfter, dashed: true, fillOpacity: 0 }));

  return { row: row('液位与流量'), panels: [levels, flows] };
}
