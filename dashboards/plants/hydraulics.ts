// Treatment plants: inflow against hydraulic capacity, and bypass (plant telemetry: inflowM3h, bypassM3h).
import * as common from '@grafana/grafana-foundation-sdk/common';
import type { NetworkConfig, TreatmentPlant } from '../../network/schema.js';
import { TIME_FILTER, influxql, select, tagEquals } from '../common/influxql.js';
import { Color, Unit, barGaugePanel, gaugePanel, statPanel, styleProperties, thresholds, timeseriesPanel } from '../common/panels.js';
import { Measurement, meanFields, percentOfCapacityQuery, volumeQuery } from '../common/queries.js';

export const thisPlant = (plant: TreatmentPlant) => tagEquals('id', plant.id);

export function utilisationPanel(network: NetworkConfig) {
  return barGaugePanel({
    title: '各厂负荷率',
    description: `Latest inflow of each plant as a percentage of its hydraulic capacity (${network.plants.map((p) => `${p.id}: ${p.capacityM3h} m³/h`).join(', ')}). Above 100 % the excess is bypassed.`,
  })
    .withTarget(influxql(percentOfCapacityQuery(Measurement.plant, 'inflowM3h', network.plants, (p) => p.capacityM3h, 'inflowPctOfCapacity'), { alias: '$tag_id' }))
    .unit(Unit.percent)
    .decimals(0)
    .min(0)
    .max(120)
    .thresholds(thresholds([Color.ok, null], [Color.warn, 90], [Color.alarm, 100]));
}

export function plantHydraulicsPanels(plant: TreatmentPlant) {
  const inflow = timeseriesPanel({
    title: `${plant.name.zh} 进厂流量`,
    description: `Inflow and bypass of ${plant.name.en} (m³/h). Dashed lines: preferred steady inflow ${plant.preferredInflowM3h} m³/h and hydraulic capacity ${plant.capacityM3h} m³/h (threshold); inflow above capacity is bypassed untreated.`,
  })
    .withTarget(influxql(meanFields(Measurement.plant, ['inflowM3h', 'bypassM3h'], [thisPlant(plant)]), { alias: '$col' }))
    .unit(Unit.m3h)
    .decimals(0)
    .min(0)
    .axisSoftMax(Math.round(plant.capacityM3h * 1.1))
    .thresholds(thresholds(['transparent', null], [Color.info, plant.preferredInflowM3h], [Color.alarm, plant.capacityM3h]))
    .thresholdsStyle(new common.GraphThresholdsStyleConfigBuilder().mode(common.GraphThresholdsStyleMode.Dashed))
    .overrideByName('inflowM3h', styleProperties({ displayName: '进厂流量 inflow', color: Color.info, lineWidth: 2 }))
    .overrideByName('bypassM3h', styleProperties({ displayName: '超越流量 bypass', color: Color.alarm, fillOpacity: 40 }))
    .span(12);

  const now = gaugePanel({ title: '当前进厂流量', description: `Latest inflow of ${plant.name.en} against its capacity ${plant.capacityM3h} m³/h (m³/h).` })
    .withTarget(influxql(select({ select: ['last("inflowM3h") AS "inflowM3h"'], from: { measurement: Measurement.plant }, where: [thisPlant(plant), TIME_FILTER] })))
    .unit(Unit.m3h)
    .decimals(0)
    .min(0)
    .max(Math.round(plant.capacityM3h * 1.2))
    .thresholds(thresholds([Color.ok, null], [Color.warn, plant.preferredInflowM3h], [Color.alarm, plant.capacityM3h]))
    .height(8)
    .span(4);

  const bypass = statPanel({ title: '时段超越水量', description: `Volume bypassed at ${plant.name.en} in the time range (m³): the integral of the bypass flow.` })
    .withTarget(influxql(volumeQuery(Measurement.plant, 'bypassM3h', 'bypassM3', false, [thisPlant(plant)])))
    .unit(Unit.m3)
    .decimals(0)
    .thresholds(thresholds([Color.ok, null], [Color.alarm, 1]))
    .height(4)
    .span(4);

  const treated = statPanel({ title: '时段进厂水量', description: `Volume that reached ${plant.name.en} in the time range (m³): the integral of the inflow.` })
    .withTarget(influxql(volumeQuery(Measurement.plant, 'inflowM3h', 'inflowM3', false, [thisPlant(plant)])))
    .unit(Unit.m3)
    .decimals(0)
    .thresholds(thresholds([Color.info, null]))
    .height(4)
    .span(4);

  return [inflow, now, bypass, treated];
}
