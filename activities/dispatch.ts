// Activities of the dispatch cycle. A factory: it receives its connectors, so tests and the worker
// decide what they talk to. Activities do the I/O; the workflow only orchestrates.
import { ApplicationFailure } from '@temporalio/common';
import type { DispatchOutcome, SetpointWriteResult } from '../contract/index.js';
import type { InfluxConnector, SeriesPoint } from '../connectors/influx.js';
import type { OpcUaConnector, SetpointWrite } from '../connectors/opcua.js';
import type { NetworkConfig } from '../network/schema.js';
import { RemoteControl, StationMode, resolveTagMap, tagIndex } from '../network/tags.js';
import { insideEnvelope } from '../planner/envelope.js';
import { ruleBasedPlan } from '../planner/rule-based.js';
import type { Plan } from '../planner/types.js';
import type { NetworkSnapshot, RainForecast, StationState, TagReading } from './types.js';

export interface RainForecastSource {
  /** Hourly rain for each catchment over the next `hours`. */
  fetchCatchmentRain(network: NetworkConfig, hours: number): Promise<RainForecast>;
}

export interface DispatchDependencies {
  network: NetworkConfig;
  opcua: OpcUaConnector;
  influx: InfluxConnector;
  forecast: RainForecastSource;
  now?: () => number;
}

function stationStates(network: NetworkConfig, readings: readonly TagReading[]): StationState[] {
  const byKey = new Map(readings.map((r) => [`${r.objectId}/${r.tag}`, r]));
  const num = (id: string, tag: string) => {
    const r = byKey.get(`${id}/${tag}`);
    return r?.good && typeof r.value === 'number' ? r.value : null;
  };
  return network.stations.map((s) => {
    const mode = num(s.id, 'mode');
    const remoteActive = byKey.get(`${s.id}/remoteActive`);
    return {
      stationId: s.id,
      levelM: num(s.id, 'levelM'),
      inflowM3h: num(s.id, 'inflowM3h'),
      outflowM3h: num(s.id, 'outflowM3h'),
      pumpsRunning: num(s.id, 'pumpsRunning'),
      pumpsAvailable: num(s.id, 'pumpsAvailable'),
      mode: mode === StationMode.remote ? 'remote' : mode === StationMode.local ? 'local' : null,
      remoteActive: remoteActive?.good && typeof remoteActive.value === 'boolean' ? remoteActive.value : null,
      startLevelSpM: num(s.id, 'startLevelSpM'),
      stopLevelSpM: num(s.id, 'stopLevelSpM'),
      flowSpM3h: num(s.id, 'flowSpM3h'),
    };
  });
}

/** Telemetry as points: one point per object, a field per Good tag; non-Good tags recorded with their status. */
export function telemetryPoints(snapshot: NetworkSnapshot, kinds: Map<string, string>): SeriesPoint[] {
  const perObject = new Map<string, SeriesPoint>();
  const points: SeriesPoint[] = [];
  for (const r of snapshot.readings) {
    const timeUtcMs = snapshot.readAtUtcMs;
    if (!r.good || r.value === null) {
      points.push({ measurement: 'tag_status', tags: { object: r.objectId, tag: r.tag }, fields: { statusCode: r.statusCode }, timeUtcMs });
      continue;
    }
    let point = perObject.get(r.objectId);
    if (!point) {
      point = { measurement: kinds.get(r.objectId) ?? 'object', tags: { id: r.objectId }, fields: {}, timeUtcMs };
      perObject.set(r.objectId, point);
      points.push(point);
    }
    point.fields[r.tag] = typeof r.value === 'boolean' ? r.value : r.value;
  }
  return points.filter((p) => Object.keys(p.fields).length > 0);
}

export function createDispatchActivities(deps: DispatchDependencies) {
  const { network, opcua, influx } = deps;
  const now = deps.now ?? Date.now;
  const tags = resolveTagMap(network);
  const tag = tagIndex(tags);
  const readableTags = tags.filter((t) => t.access === 'read' || t.objectKind === 'station');
  const kinds = new Map(tags.map((t) => [t.objectId, t.objectKind]));

  return {
    /** Read every tag of the network from SCADA. */
    async readNetworkState(): Promise<NetworkSnapshot> {
      const readings = await opcua.readTags(readableTags);
      return {
        networkId: network.id,
        readAtUtcMs: now(),
        stations: stationStates(network, readings),
        readings,
        badTagCount: readings.filter((r) => !r.good).length,
      };
    },

    async writeTelemetry(snapshot: NetworkSnapshot): Promise<number> {
      return influx.write(telemetryPoints(snapshot, kinds));
    },

    async fetchRainForecast(): Promise<RainForecast> {
      const forecast = await deps.forecast.fetchCatchmentRain(network, network.planning.horizonH);
      const points: SeriesPoint[] = [];
      for (const location of forecast.locations) {
        location.timeUtcMs.forEach((t, i) => {
          const mm = location.precipitationMm[i];
          const fields: SeriesPoint['fields'] = mm === null || mm === undefined ? { gap: true } : { precipitationMm: mm };
          points.push({ measurement: 'rain_forecast', tags: { catchment: location.catchmentId, issuedAt: String(forecast.issuedAtUtcMs), source: forecast.source }, fields, timeUtcMs: t });
        });
      }
      await influx.write(points);
      return forecast;
    },

    async buildPlan(input: { planId: string; snapshot: NetworkSnapshot; forecast: RainForecast | null }): Promise<Plan> {
      const plan = ruleBasedPlan({ planId: input.planId, network, snapshot: input.snapshot, forecast: input.forecast, nowUtcMs: now() });
      const points: SeriesPoint[] = [];
      for (const step of plan.steps) {
        for (const s of step.stations) {
          points.push({
            measurement: 'plan_setpoint',
            tags: { plan: plan.planId, id: s.stationId },
            fields: { startLevelM: s.startLevelM, stopLevelM: s.stopLevelM, pumpsAllowed: s.pumpsAllowed, flowM3h: s.flowM3h },
            timeUtcMs: step.startUtcMs,
          });
        }
      }
      await influx.write(points);
      return plan;
    },

    /**
     * Write one step of an approved plan to SCADA and read it back. Only stations in REMOTE mode are
     * written; every value is checked against its envelope here too, as the last line of defence.
     */
    async applyPlanStep(input: { plan: Plan; stepIndex: number; heartbeat: number }): Promise<DispatchOutcome> {
      const step = input.plan.steps[input.stepIndex];
      if (!step) throw ApplicationFailure.nonRetryable(`plan ${input.plan.planId} has no step ${input.stepIndex}`, 'InvalidPlanStep');
      const modes = await opcua.readTags(network.stations.map((s) => tag(s.id, 'mode')));
      const remote = new Set(modes.filter((m) => m.good && m.value === StationMode.remote).map((m) => m.objectId));
      const results: SetpointWriteResult[] = [];
      const writes: SetpointWrite[] = [];
      const stationsById = new Map(network.stations.map((s) => [s.id, s]));
      for (const sp of step.stations) {
        const station = stationsById.get(sp.stationId);
        if (!station) throw ApplicationFailure.nonRetryable(`plan names unknown station ${sp.stationId}`, 'InvalidPlanStep');
        const values: [string, number][] = [
          ['startLevelSpM', sp.startLevelM],
          ['stopLevelSpM', sp.stopLevelM],
          ['flowSpM3h', sp.flowM3h],
          ['pumpsAllowedSp', sp.pumpsAllowed],
          ['remoteControlSp', sp.remoteControl === 'flow' ? RemoteControl.flow : RemoteControl.levelBand],
          ['heartbeat', input.heartbeat],
        ];
        const envelopeOf: Record<string, { min: number; max: number; maxChangePerMin: number } | undefined> = {
          startLevelSpM: station.envelope.startLevelM,
          stopLevelSpM: station.envelope.stopLevelM,
          flowSpM3h: station.envelope.flowSetpointM3h,
        };
        for (const [name, value] of values) {
          const t = tag(sp.stationId, name);
          if (!remote.has(sp.stationId)) {
            results.push({ objectId: sp.stationId, tag: name, nodeId: t.nodeId, value, readBack: null, status: 'skipped-local', detail: 'station not in REMOTE mode' });
            continue;
          }
          const envelope = envelopeOf[name];
          if (envelope && !insideEnvelope(value, envelope)) {
            throw ApplicationFailure.nonRetryable(`${sp.stationId}.${name} = ${value} lies outside its envelope [${envelope.min}, ${envelope.max}]`, 'EnvelopeViolation');
          }
          writes.push({ tag: t, value });
        }
      }
      const outcomes = writes.length > 0 ? await opcua.writeSetpoints(writes) : [];
      const readBack = writes.length > 0 ? await opcua.readTags(writes.map((w) => w.tag)) : [];
      writes.forEach((w, i) => {
        const outcome = outcomes[i]!;
        const back = readBack[i]!;
        const backValue = typeof back.value === 'number' ? back.value : typeof back.value === 'boolean' ? Number(back.value) : null;
        const matches = backValue !== null && Math.abs(backValue - w.value) <= 1e-6 * Math.max(1, Math.abs(w.value));
        results.push({
          objectId: w.tag.objectId,
          tag: w.tag.tag,
          nodeId: w.tag.nodeId,
          value: w.value,
          readBack: backValue,
          status: !outcome.good ? 'failed' : matches ? 'verified' : 'mismatch',
          ...(outcome.good ? {} : { detail: outcome.statusCode }),
        });
      });
      const outcome: DispatchOutcome = {
        planId: input.plan.planId,
        stepIndex: input.stepIndex,
        appliedAtUtcMs: now(),
        writes: results,
        verified: results.filter((r) => r.status === 'verified').length,
        skipped: results.filter((r) => r.status === 'skipped-local').length,
        failed: results.filter((r) => r.status === 'failed' || r.status === 'mismatch').length,
      };
      return outcome;
    },

    /** Record the decision and the dispatch outcome as time series beside the plan. */
    async recordOutcome(input: { planId: string; status: string; decidedBy: string | null; outcome: DispatchOutcome | null }): Promise<number> {
      const t = now();
      const points: SeriesPoint[] = [
        {
          measurement: 'plan_event',
          tags: { plan: input.planId, status: input.status },
          fields: { decidedBy: input.decidedBy ?? '', verified: input.outcome?.verified ?? 0, failed: input.outcome?.failed ?? 0, skipped: input.outcome?.skipped ?? 0 },
          timeUtcMs: t,
        },
      ];
      for (const w of input.outcome?.writes ?? []) {
        points.push({
          measurement: 'setpoint_write',
          tags: { plan: input.planId, id: w.objectId, tag: w.tag, status: w.status },
          fields: { value: w.value, ...(w.readBack === null ? {} : { readBack: w.readBack }) },
          timeUtcMs: input.outcome!.appliedAtUtcMs,
        });
      }
      return influx.write(points);
    },
  };
}

export type DispatchActivities = ReturnType<typeof createDispatchActivities>;
