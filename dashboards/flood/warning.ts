// Flood season: rainstorm warning and emergency response level (flood_status, tag network; fields
// warningLevel 0–4, responseLevel "none" | "IV" … "I"; when sources disagree the higher level applies).
// No tag filter: one network per database, and a status without the tag is still shown.
import { row, type PanelGroup } from '../common/dashboard.js';
import { INTERVAL, TIME_FILTER, influxql, select, timeBucket } from '../common/influxql.js';
import { Color, stateTimelinePanel, statPanel, styleProperties, thresholds, valueMappings } from '../common/panels.js';
import { Measurement } from '../common/queries.js';
import * as common from '@grafana/grafana-foundation-sdk/common';

export const warningMappings = valueMappings([
  { value: '0', text: '无预警 none', color: Color.ok },
  { value: '1', text: '蓝色预警 blue (IV 一般)', color: Color.info },
  { value: '2', text: '黄色预警 yellow (III 较重)', color: Color.warn },
  { value: '3', text: '橙色预警 orange (II 严重)', color: Color.orange },
  { value: '4', text: '红色预警 red (I 特别严重)', color: Color.alarm },
]);

export const responseMappings = valueMappings([
  { value: 'none', text: '未启动 none', color: Color.ok },
  { value: 'IV', text: 'IV级 一般 (minor)', color: Color.info },
  { value: 'III', text: 'III级 较重 (serious)', color: Color.warn },
  { value: 'II', text: 'II级 严重 (severe)', color: Color.orange },
  { value: 'I', text: 'I级 特别严重 (extreme)', color: Color.alarm },
]);

const warningThresholds = () => thresholds([Color.ok, null], [Color.info, 1], [Color.warn, 2], [Color.orange, 3], [Color.alarm, 4]);

export function warningGroup(): PanelGroup {
  const level = statPanel({
    title: '暴雨预警等级',
    description: 'Current rainstorm warning (CMA signals: blue ≥ 50 mm/12 h, yellow ≥ 50 mm/6 h, orange ≥ 50 mm/3 h, red ≥ 100 mm/3 h), latest flood_status.warningLevel.',
  })
    .withTarget(influxql(select({ select: ['last("warningLevel") AS "warningLevel"'], from: { measurement: Measurement.floodStatus }, where: [TIME_FILTER] })))
    .mappings(warningMappings)
    .thresholds(warningThresholds())
    .colorMode(common.BigValueColorMode.Background)
    .noValue('无数据 no data')
    .span(6);

  const response = statPanel({ title: '应急响应等级', description: 'Current flood-season emergency response level (IV 一般 → I 特别严重), latest flood_status.responseLevel.' })
    .withTarget(influxql(select({ select: ['last("responseLevel") AS "responseLevel"'], from: { measurement: Measurement.floodStatus }, where: [TIME_FILTER] })))
    .reduceOptions(new common.ReduceDataOptionsBuilder().calcs(['lastNotNull']).values(false).fields('/.*/'))
    .textMode(common.BigValueTextMode.Value)
    .mappings(responseMappings)
    .colorMode(common.BigValueColorMode.Background)
    .noValue('未启动 none')
    .span(6);

  const history = stateTimelinePanel({ title: '预警等级变化', description: 'Rainstorm warning level over the time range.' })
    .withTarget(
      influxql(
        select({ select: ['max("warningLevel") AS "warningLevel"'], from: { measurement: Measurement.floodStatus }, where: [TIME_FILTER], groupBy: [timeBucket(INTERVAL)], fill: 'previous' }),
        { alias: '$col' },
      ),
    )
    .mappings(warningMappings)
    .thresholds(warningThresholds())
    .overrideByName('warningLevel', styleProperties({ displayName: '预警等级 warning' }))
    .height(4)
    .span(12);

  return { row: row('预警与响应'), panels: [level, response, history] };
}
