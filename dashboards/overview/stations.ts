// Network overview: every pump station's level and state.
import * as common from '@grafana/grafana-foundation-sdk/common';
import type { NetworkConfig } from '../../network/schema.js';
import { Uid, row, type PanelGroup } from '../common/dashboard.js';
import { TIME_FILTER, influxql, select } from '../common/influxql.js';
import { commonValue } from '../common/network.js';
import { Color, Unit, dashboardLink, styleProperties, tablePanel, thresholds, timeseriesPanel, valueMappings } from '../common/panels.js';
import { Measurement, meanPerId } from '../common/queries.js';

export const modeMappings = valueMappings([
  { value: '0', text: '本地 LOCAL', color: Color.orange },
  { value: '1', text: '远程 REMOTE', color: Color.ok },
]);

export function stationsGroup(network: NetworkConfig): PanelGroup {
  const highAlarmM = commonValue(network.stations, (s) => s.levels.highAlarmM);
  const overflowM = commonValue(network.stations, (s) => s.levels.overflowM);
  const levels = timeseriesPanel({
    title: '泵站液位',
    description:
      highAlarmM !== undefined && overflowM !== undefined
        ? `Wet-well level of every pump station (m). Dashed lines: high alarm ${highAlarmM} m and overflow ${overflowM} m (same for all stations in the network file).`
        : 'Wet-well level of every pump station (m). Levels differ per station; see the flood-season dashboard for each station against its own high alarm.',
  })
    .withTarget(influxql(meanPerId(Measurement.station, 'levelM'), { alias: '$tag_id' }))
    .unit(Unit.m)
    .decimals(2)
    .min(0)
    .span(24);
  if (highAlarmM !== undefined && overflowM !== undefined) {
    levels
      .thresholds(thresholds(['transparent', null], [Color.warn, highAlarmM], [Color.alarm, overflowM]))
      .thresholdsStyle(new common.GraphThresholdsStyleConfigBuilder().mode(common.GraphThresholdsStyleMode.Dashed));
  }

  const status = tablePanel({
    title: '泵站状态',
    description: 'Latest reading of each station in the time range, with its time (最后上报 last report; the 失联泵站 stat counts those older than 15 min): level, flows, pumps and control mode. Click a station id for its detail dashboard.',
  })
    .withTarget(
      influxql(
        select({
          select: [
            'last("levelM") AS "levelM"',
            'last("inflowM3h") AS "inflowM3h"',
            'last("outflowM3h") AS "outflowM3h"',
            'last("overflowM3h") AS "overflowM3h"',
            'last("pumpsRunning") AS "pumpsRunning"',
            'last("pumpsAvailable") AS "pumpsAvailable"',
            'last("mode") AS "mode"',
          ],
          from: { measurement: Measurement.station },
          where: [TIME_FILTER],
          groupBy: ['"id"'],
        }),
        { table: true },
      ),
    )
    .withTransformation({
      id: 'organize',
      options: {
        excludeByName: {},
        indexByName: { id: 0, Time: 1, levelM: 2, inflowM3h: 3, outflowM3h: 4, overflowM3h: 5, pumpsRunning: 6, pumpsAvailable: 7, mode: 8 },
        renameByName: {},
      },
    })
    .overrideByName('Time', styleProperties({ displayName: '最后上报 Last report' }))
    .overrideByName('id', [...styleProperties({ displayName: '泵站 Station' }), { id: 'links', value: [dashboardLink('泵站详情 Station detail', Uid.station, { station: '${__value.raw}' }).build()] }])
    .overrideByName('levelM', styleProperties({ displayName: '液位 Level', unit: Unit.m }))
    .overrideByName('inflowM3h', styleProperties({ displayName: '进水 Inflow', unit: Unit.m3h }))
    .overrideByName('outflowM3h', styleProperties({ displayName: '出水 Pumped', unit: Unit.m3h }))
    .overrideByName('overflowM3h', styleProperties({ displayName: '溢流 Overflow', unit: Unit.m3h }))
    .overrideByName('pumpsRunning', styleProperties({ displayName: '运行泵 Running' }))
    .overrideByName('pumpsAvailable', styleProperties({ displayName: '可用泵 Available' }))
    .overrideByName('mode', [...styleProperties({ displayName: '模式 Mode' }), { id: 'mappings', value: modeMappings }])
    .decimals(1)
    .height(10)
    .span(24);

  return { row: row('泵站'), panels: [levels, status] };
}
