// Network overview: can the numbers above be trusted — non-Good readings and sensor flags.
import { row, type PanelGroup } from '../common/dashboard.js';
import { TIME_FILTER, influxql, select } from '../common/influxql.js';
import { Color, styleProperties, tablePanel, thresholds, valueMappings } from '../common/panels.js';
import { Measurement } from '../common/queries.js';

export const activeMappings = valueMappings([
  { value: 'true', text: '有效 active', color: Color.alarm },
  { value: 'false', text: '已解除 cleared', color: Color.ok },
  { value: '1', text: '有效 active', color: Color.alarm },
  { value: '0', text: '已解除 cleared', color: Color.ok },
]);

/** Non-Good readings per object and tag (telemetryPoints records them in tag_status instead of the value). */
export function tagStatusTable(where: readonly string[] = []) {
  return tablePanel({
    title: '异常数据点',
    description: 'Readings whose OPC UA status was not Good in the time range, per object and tag: how many, and the latest status code. Their values were not used for planning; an Uncertain reading keeps its value in tag_status, a Bad one has none.',
  })
    .withTarget(
      influxql(
        select({
          select: ['count("statusCode") AS "badReadings"', 'last("statusCode") AS "lastStatus"'],
          from: { measurement: Measurement.tagStatus },
          where: [...where, TIME_FILTER],
          groupBy: ['"object"', '"tag"'],
        }),
        { table: true },
      ),
    )
    .withTransformation({ id: 'organize', options: { excludeByName: { Time: true }, indexByName: { object: 0, tag: 1, badReadings: 2, lastStatus: 3 }, renameByName: {} } })
    .overrideByName('object', styleProperties({ displayName: '对象 Object' }))
    .overrideByName('tag', styleProperties({ displayName: '数据点 Tag' }))
    .overrideByName('badReadings', styleProperties({ displayName: '异常次数 Readings' }))
    .overrideByName('lastStatus', styleProperties({ displayName: '最新状态 Last status' }))
    .noValue('无异常 none');
}

/** Sensor-fault flags (ingest/quality.ts kinds: flat-lined, out of range, bad or uncertain status, clock skew), latest state per flag. */
export function sensorFlagTable(where: readonly string[] = []) {
  return tablePanel({
    title: '传感器诊断',
    description: 'Sensor-fault flags raised by the ingest quality checks (sensor_flag: object, tag, kind: flatline, out_of_range, bad_status, uncertain_status, clock_skew), their latest state in the time range and detail.',
  })
    .withTarget(
      influxql(
        select({
          select: ['last("active") AS "active"', 'last("detail") AS "detail"'],
          from: { measurement: Measurement.sensorFlag },
          where: [...where, TIME_FILTER],
          groupBy: ['"object"', '"tag"', '"kind"'],
        }),
        { table: true },
      ),
    )
    .withTransformation({ id: 'organize', options: { excludeByName: { Time: true }, indexByName: { object: 0, tag: 1, kind: 2, active: 3, detail: 4 }, renameByName: {} } })
    .overrideByName('object', styleProperties({ displayName: '对象 Object' }))
    .overrideByName('tag', styleProperties({ displayName: '数据点 Tag' }))
    .overrideByName('kind', styleProperties({ displayName: '类型 Kind' }))
    .overrideByName('active', [...styleProperties({ displayName: '状态 State' }), { id: 'mappings', value: activeMappings }])
    .overrideByName('detail', styleProperties({ displayName: '说明 Detail' }))
    .thresholds(thresholds([Color.neutral, null]))
    .noValue('无诊断标记 none');
}

/** Stretches in which ingest may have missed values (ingest_gap: connection lost, subscription re-created, queue overflow). */
export function ingestGapTable() {
  return tablePanel({
    title: '采集中断',
    description:
      'Periods in which telemetry ingest may have missed values (ingest_gap): the OPC UA connection lost, the subscription re-created, or a server queue that overflowed. Start (network time), end, wall-clock duration, items affected and their tags ("*" = all); "open" when ingest stopped before the values came back.',
  })
    .withTarget(
      influxql(
        select({
          select: ['"endUtcMs"', '"wallDurationMs"', '"items"', '"tags"', '"open"'],
          from: { measurement: Measurement.ingestGap },
          where: [TIME_FILTER],
          groupBy: ['"reason"'],
        }),
        { table: true },
      ),
    )
    .withTransformation({ id: 'organize', options: { excludeByName: { endUtcMs: true }, indexByName: { Time: 0, reason: 1, wallDurationMs: 2, items: 3, tags: 4, open: 5 }, renameByName: {} } })
    .overrideByName('Time', styleProperties({ displayName: '开始 Start' }))
    .overrideByName('reason', styleProperties({ displayName: '原因 Reason' }))
    .overrideByName('wallDurationMs', styleProperties({ displayName: '时长 Duration', unit: 'ms' }))
    .overrideByName('items', styleProperties({ displayName: '数据点数 Items' }))
    .overrideByName('tags', styleProperties({ displayName: '数据点 Tags' }))
    .overrideByName('open', styleProperties({ displayName: '未结束 Open' }))
    .noValue('无中断 none');
}

export function dataQualityGroup(): PanelGroup {
  return { row: row('数据质量'), panels: [tagStatusTable(), sensorFlagTable(), ingestGapTable()] };
}
