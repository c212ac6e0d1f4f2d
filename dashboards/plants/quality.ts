// Treatment plants: influent quality from the inlet analysers and the pollutant load
// (kg/h = mg/L × m³/h / 1000, the concentration times the plant inflow).
import * as common from '@grafana/grafana-foundation-sdk/common';
import type { NetworkConfig, QualityParameter, TreatmentPlant } from '../../network/schema.js';
import { analyserTags } from '../../network/tags.js';
import { INTERVAL, TIME_FILTER, influxql, mathExpression, select, tagEquals, timeBucket } from '../common/influxql.js';
import { plantAnalysers } from '../common/network.js';
import { Unit, styleProperties, timeseriesPanel } from '../common/panels.js';
import { Measurement, meanFields } from '../common/queries.js';
import { thisPlant } from './hydraulics.js';

const label = (p: QualityParameter) => analyserTags([p])[0]!.description;

/** Concentrations with a load (everything in mg/L; pH has none). */
export const loadParameters = (parameters: readonly QualityParameter[]) => parameters.filter((p) => p !== 'ph');

export function plantQualityPanels(network: NetworkConfig, plant: TreatmentPlant) {
  return plantAnalysers(network, plant).flatMap((analyser) => {
    const concentrations = loadParameters(analyser.parameters);
    const quality = timeseriesPanel({
      title: `${plant.name.zh} 进水水质`,
      description: `Influent quality at ${plant.name.en} from analyser ${analyser.id}: ${analyser.parameters.map((p) => label(p).en).join(', ')} (mg/L; pH on the right axis).`,
    })
      .withTarget(influxql(meanFields(Measurement.analyser, analyser.parameters, [tagEquals('id', analyser.id)]), { alias: '$col' }))
      .unit(Unit.mgL)
      .decimals(1)
      .min(0);
    for (const p of analyser.parameters) {
      quality.overrideByName(
        p,
        p === 'ph'
          ? styleProperties({ displayName: `${label(p).zh} ${label(p).en}`, unit: Unit.ph, axisPlacement: common.AxisPlacement.Right })
          : styleProperties({ displayName: `${label(p).zh} ${label(p).en}` }),
      );
    }
    if (concentrations.length === 0) return [quality];

    // Load needs concentration × flow from two measurements (analyser, plant), which InfluxQL cannot join:
    // both are fetched on the same time buckets and multiplied by a Grafana math expression.
    const load = timeseriesPanel({
      title: `${plant.name.zh} 进水负荷`,
      description: `Pollutant load into ${plant.name.en} (kg/h = mg/L × m³/h / 1000): concentrations of analyser ${analyser.id} times the plant inflow, for balancing the plants.`,
    })
      .withTarget(
        influxql(select({ select: ['mean("inflowM3h") AS "inflowM3h"'], from: { measurement: Measurement.plant }, where: [thisPlant(plant), TIME_FILTER], groupBy: [timeBucket(INTERVAL)] }), {
          refId: 'Q',
          hide: true,
        }),
      )
      .unit(Unit.kgH)
      .decimals(0)
      .min(0);
    for (const p of concentrations) {
      const c = `${p}C`;
      load
        .withTarget(
          influxql(select({ select: [`mean("${p}") AS "${p}"`], from: { measurement: Measurement.analyser }, where: [tagEquals('id', analyser.id), TIME_FILTER], groupBy: [timeBucket(INTERVAL)] }), {
            refId: c,
            hide: true,
          }),
        )
        .withTarget(mathExpression(`${p}Load`, `$${c} * $Q / 1000`))
        .overrideByName(`${p}Load`, styleProperties({ displayName: `${label(p).zh}负荷 ${label(p).en} load` }));
    }
    return [quality, load];
  });
}

/** The plant a node drains to and the minutes down the mains to it (following each main's `from` → `to`), or null when none is reached. */
export function pathToPlant(network: NetworkConfig, node: string): { plantId: string; minutes: number } | null {
  const plants = new Set(network.plants.map((p) => p.id));
  let minutes = 0;
  let at = node;
  for (let hops = 0; hops <= network.mains.length; hops++) {
    if (plants.has(at)) return { plantId: at, minutes };
    const main = network.mains.find((m) => m.from === at);
    if (!main) return null;
    minutes += main.travelMin;
    at = main.to;
  }
  return null;
}

/**
 * Quality at the key nodes of the network (analysers not at a plant inlet), one panel per parameter with one
 * series per analyser, grouped by the plant they drain to and upstream first (longest travel to it): a COD or pH spike moving downstream, and
 * rain dilution (RDII), show as the same shape arriving later at the next analyser.
 */
export function networkQualityPanels(network: NetworkConfig) {
  const plantIds = new Set(network.plants.map((p) => p.id));
  const analysers = network.analysers
    .filter((a) => !plantIds.has(a.node))
    .map((a) => {
      const path = pathToPlant(network, a.node);
      return { ...a, plantId: path?.plantId ?? '', minutes: path?.minutes ?? null };
    })
    // Per plant's catchment, upstream first.
    .sort((a, b) => a.plantId.localeCompare(b.plantId) || (b.minutes ?? -1) - (a.minutes ?? -1) || a.id.localeCompare(b.id));
  const parameters = [...new Set(analysers.flatMap((a) => a.parameters))];
  return parameters.map((p) => {
    const measuring = analysers.filter((a) => a.parameters.includes(p));
    const panel = timeseriesPanel({
      title: `管网${label(p).zh}`,
      description: `${label(p).en} at the network's key nodes (${p === 'ph' ? 'pH' : 'mg/L'}), per plant upstream first: ${measuring.map((a) => `${a.id} at ${a.node}${a.minutes === null ? '' : ` (${a.minutes} min to ${a.plantId})`}`).join(', ')}. A spike moving down the network reaches each analyser after the travel time between them; rain dilutes all of them.`,
    })
      .unit(p === 'ph' ? Unit.ph : Unit.mgL)
      .decimals(p === 'ph' ? 2 : 1);
    if (p !== 'ph') panel.min(0);
    measuring.forEach((a, i) => {
      panel.withTarget(
        influxql(select({ select: [`mean("${p}") AS "${p}"`], from: { measurement: Measurement.analyser }, where: [tagEquals('id', a.id), TIME_FILTER], groupBy: [timeBucket(INTERVAL)] }), {
          refId: String.fromCharCode(65 + i),
          alias: `${a.id} @ ${a.node}${a.minutes === null ? '' : ` (${a.minutes} min → ${a.plantId})`}`,
        }),
      );
    });
    return panel;
  });
}
