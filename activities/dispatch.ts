// Activities of the dispatch cycle. A factory: it receives its connectors, so tests and the worker
// decide what they talk to. Activities do the I/O; the workflow only orchestrates.
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { DispatchOutcome, HandBack, PlanConstraints, SetpointWriteResult } from '../contract/index.js';
import type { InfluxConnector, SeriesPoint } from '../connectors/influx.js';
import type { OpcUaConnector, SetpointWrite } from '../connectors/opcua.js';
import type { Envelope, NetworkConfig } from '../network/schema.js';
import { RemoteControl, StationMode, resolveTagMap, tagIndex, type ResolvedTag } from '../network/tags.js';
import { clampLevelBand, clampToEnvelope, insideEnvelope, MIN_LEVEL_BAND_GAP_M } from '../planner/envelope.js';
import type { Plan, PlanStep } from '../planner/types.js';
import type { DeliveryReport, Notification } from '../notify/types.js';
import type { InflowCycle } from '../forecasting/cycle.js';
import { toActivityRainForecast } from '../forecasting/rain-source.js';
import { writeCycleRain } from '../forecasting/rain-store.js';
import type { Notifier } from '../notify/index.js';
import { applyConstraints, InvalidConstraint, localBandSetpoint } from './constraints.js';
import { ruleBasedPlanner, type Planner } from './planner.js';
import { PlanPredictionError, planEventBucket, planPredictionPoints, planSeriesSlot, planSetpointPoints } from './plan-points.js';
import type { CycleRainForecast } from './rain-forecast.js';
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
  /**
   * The cycle's inflow forecast (forecasting/cycle.ts): when given, fetchRainForecast issues it with the
   * rain (ensemble included), writes it to InfluxDB and names it in its result for the planner.
   */
  inflow?: Pick<InflowCycle, 'issue'>;
  /** Default: the rule-based planner. */
  planner?: Planner;
  /** Default: notifications are written to the log only. */
  notifier?: Notifier;
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

/** The running activity's context, or undefined when called directly (unit tests, stubs). */
function activityContext(): Context | undefined {
  try {
    return Context.current();
  } catch {
    return undefined;
  }
}

const numericValue = (r: TagReading | undefined): number | null =>
  r?.good ? (typeof r.value === 'number' ? r.value : typeof r.value === 'boolean' ? Number(r.value) : null) : null;
const sameValue = (a: number | null, b: number) => a !== null && Math.abs(a - b) <= 1e-6 * Math.max(1, Math.abs(b));

export interface ApplyPlanStepInput {
  /** Default: the plan's id (callers that pass the whole plan). */
  planId?: string;
  stepIndex: number;
  /** The step to apply (older workflows passed the whole plan instead). */
  step?: PlanStep;
  plan?: Plan;
  /** Watchdog counter written with the step (deterministic per plan and step). */
  heartbeat: number;
  /** Only these stations (a retry of the stations that failed). */
  onlyStations?: string[];
  /** Stations handed back to local control earlier in the plan: never written again. */
  skipStations?: string[];
  /** Leave interconnections and tanks alone (station retries). */
  stationsOnly?: boolean;
  /** Read first and skip values SCADA already holds (also done on every retried attempt). */
  compareFirst?: boolean;
  /**
   * A step sent late in place of earlier ones (catch-up): every value moves at most the envelope's
   * maxChangePerMin × rateLimitMin from the value SCADA holds (levels as a band); clamped writes say so.
   */
  rateLimitMin?: number;
}

/**
 * The resolution setpoints are written at (levels 1 mm, flows 0.1 m³/h): plan arithmetic leaves noise such as
 * 1.7000000000000002 that a PLC or an operator should not see. A band whose gap is a whole number of mm keeps it.
 */
export function roundSetpoint(tagName: string, value: number): number {
  if (tagName.endsWith('LevelSpM')) return Math.round(value * 1000) / 1000;
  if (tagName.endsWith('M3h')) return Math.round(value * 10) / 10;
  return value;
}

export function createDispatchActivities(deps: DispatchDependencies) {
  const { network, opcua, influx } = deps;
  const now = deps.now ?? Date.now;
  const planner = deps.planner ?? ruleBasedPlanner;
  const tags = resolveTagMap(network);
  const tag = tagIndex(tags);
  const readableTags = tags.filter((t) => t.access === 'read' || t.objectKind === 'station');
  const kinds = new Map(tags.map((t) => [t.objectId, t.objectKind]));
  const stationsById = new Map(network.stations.map((s) => [s.id, s]));

  async function writeAndVerify(writes: SetpointWrite[]): Promise<SetpointWriteResult[]> {
    if (writes.length === 0) return [];
    const outcomes = await opcua.writeSetpoints(writes);
    activityContext()?.heartbeat('written');
    const readBack = await opcua.readTags(writes.map((w) => w.tag));
    return writes.map((w, i) => {
      const outcome = outcomes[i]!;
      const back = readBack[i]?.value;
      const backValue = typeof back === 'number' ? back : typeof back === 'boolean' ? Number(back) : null;
      const matches = sameValue(backValue, w.value);
      return {
        objectId: w.tag.objectId,
        tag: w.tag.tag,
        nodeId: w.tag.nodeId,
        value: w.value,
        readBack: backValue,
        status: !outcome.good ? 'failed' : matches ? 'verified' : 'mismatch',
        ...(outcome.good ? {} : { detail: outcome.statusCode }),
      } satisfies SetpointWriteResult;
    });
  }

  /**
   * The watchdog half of a step: the heartbeat of each station whose setpoints all read back right. A
   * station whose writes failed or read back wrong gets none, so its watchdog lapses and its PLC takes
   * local authority instead of following partial remote setpoints (the keeper leaves it out too, see
   * worker/heartbeat.ts). On a retried attempt a heartbeat SCADA already holds is not written again.
   */
  async function writeHeartbeats(stationIds: readonly string[], results: readonly SetpointWriteResult[], value: number, compareFirst: boolean) {
    const verified = stationIds.filter((id) => results.some((r) => r.objectId === id) && results.every((r) => r.objectId !== id || r.status === 'verified'));
    const out: SetpointWriteResult[] = [];
    let alreadyInForce = 0;
    let due = verified.map((id) => tag(id, 'heartbeat'));
    if (compareFirst && due.length > 0) {
      const held = await opcua.readTags(due);
      due = due.filter((t, i) => {
        const v = numericValue(held[i]);
        if (!sameValue(v, value)) return true;
        alreadyInForce++;
        out.push({ objectId: t.objectId, tag: t.tag, nodeId: t.nodeId, value, readBack: v, status: 'verified', detail: 'already in force' });
        return false;
      });
    }
    out.push(...(await writeAndVerify(due.map((t) => ({ tag: t, value })))));
    return { results: out, alreadyInForce };
  }

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

    async fetchRainForecast(): Promise<CycleRainForecast> {
      let forecast: CycleRainForecast;
      if (deps.inflow) {
        const issued = await deps.inflow.issue();
        const full = toActivityRainForecast(issued.rain);
        const steps = Math.round((network.planning.horizonH * 60) / full.stepMin);
        forecast = {
          ...full,
          locations: full.locations.map((l) => ({ ...l, timeUtcMs: l.timeUtcMs.slice(0, steps), precipitationMm: l.precipitationMm.slice(0, steps) })),
          // Only a reference: the forecast (members included) stays with the worker and in InfluxDB.
          inflowIssuedAtUtcMs: issued.inflow.issuedAtUtcMs,
          ensembleMembers: issued.rain.ensemble.members,
        };
      } else forecast = await deps.forecast.fetchCatchmentRain(network, network.planning.horizonH);
      await writeCycleRain(influx, forecast, now());
      return forecast;
    },

    /**
     * Run the planner (an injected dependency), then apply the dispatcher's constraints to its output.
     * Re-planning after a modification keeps the plan id: the latest revision overwrites the stored trajectory.
     */
    async buildPlan(input: { planId: string; snapshot: NetworkSnapshot; forecast: RainForecast | null; constraints?: PlanConstraints; previousPlan?: Plan | null }): Promise<Plan> {
      let plan = await planner.plan({
        planId: input.planId,
        network,
        snapshot: input.snapshot,
        forecast: input.forecast,
        nowUtcMs: now(),
        ...(input.constraints ? { constraints: input.constraints } : {}),
        ...(input.previousPlan ? { previousPlan: input.previousPlan } : {}),
      });
      try {
        plan = applyConstraints(plan, input.constraints, network, input.snapshot.stations);
      } catch (error) {
        if (error instanceof InvalidConstraint) throw ApplicationFailure.nonRetryable(error.message, 'InvalidConstraint');
        throw error;
      }
      // Setpoints and predictions in the plan's slot (activities/plan-points.ts): the snapshot's read time, which a
      // modification re-plans from, so every revision of this plan id overwrites the same series.
      let points: SeriesPoint[];
      try {
        const slot = planSeriesSlot(plan.planId, input.snapshot.readAtUtcMs);
        points = [...planSetpointPoints(plan, slot), ...planPredictionPoints(plan, slot)];
      } catch (error) {
        if (error instanceof PlanPredictionError) throw ApplicationFailure.nonRetryable(error.message, 'PlanPredictionError');
        throw error;
      }
      // The historian is not needed to decide or dispatch the plan: one it does not take still goes to the
      // dispatcher, saying that its trajectory will be missing from the dashboards.
      try {
        await influx.write(points);
      } catch (error) {
        const why = error instanceof Error ? error.message : String(error);
        (activityContext()?.log ?? console).warn(`plan ${plan.planId}: trajectory not stored in InfluxDB, the plan goes on`, { planId: plan.planId, points: points.length, error: why });
        plan = {
          ...plan,
          assumptions: [
            ...(plan.assumptions ?? []),
            { zh: `计划设定值与预测轨迹未能写入InfluxDB（${why}）：看板上缺少本计划的曲线，计划本身不受影响。`, en: `The plan's setpoints and predictions were not stored in InfluxDB (${why}): the dashboards lack this plan's trajectory; the plan itself is unaffected.` },
          ],
        };
      }
      return plan;
    },

    /**
     * Write one step of an approved plan to SCADA and read it back. Only stations in REMOTE mode are
     * written; every value is checked against its envelope here too, as the last line of defence.
     * Interconnection transfers and tank setpoints are written when they differ from what SCADA holds.
     *
     * Idempotent per (plan, step): a retried attempt (the worker died mid-write, or the workflow retries
     * a failed station) reads first and does not write values SCADA already holds, so no write is
     * repeated; those values are reported as verified ("already in force").
     */
    async applyPlanStep(input: ApplyPlanStepInput): Promise<DispatchOutcome> {
      const context = activityContext();
      context?.heartbeat('start');
      const attempt = context?.info.attempt ?? 1;
      const compareFirst = input.compareFirst === true || attempt > 1;
      const planId = input.planId ?? input.plan?.planId ?? 'unknown';
      const step = input.step ?? input.plan?.steps[input.stepIndex];
      if (!step) throw ApplicationFailure.nonRetryable(`plan ${planId} has no step ${input.stepIndex + 1}${input.plan ? ` (the plan has ${input.plan.steps.length} steps)` : ''}`, 'InvalidPlanStep');
      const only = input.onlyStations ? new Set(input.onlyStations) : null;
      const skip = new Set(input.skipStations ?? []);
      const stationSetpoints = step.stations.filter((sp) => (only === null || only.has(sp.stationId)) && !skip.has(sp.stationId));
      for (const sp of stationSetpoints) {
        if (!stationsById.has(sp.stationId)) throw ApplicationFailure.nonRetryable(`plan names unknown station ${sp.stationId}`, 'InvalidPlanStep');
      }
      const results: SetpointWriteResult[] = [];
      const candidates: { tag: ResolvedTag; value: number; envelope?: Envelope; onlyWhenChanged?: boolean }[] = [];

      // No stations (a retry of transfers and tanks only): nothing to ask SCADA about modes.
      const modes = stationSetpoints.length > 0 ? await opcua.readTags(stationSetpoints.map((sp) => tag(sp.stationId, 'mode'))) : [];
      const modeOf = new Map(modes.map((m) => [m.objectId, m]));
      const remote = new Set(modes.filter((m) => m.good && m.value === StationMode.remote).map((m) => m.objectId));
      /**
       * Why a station is not written: a Good LOCAL is the PLC's choice (skipped); a mode that cannot be read
       * (Bad, missing, or a value that is neither mode) is a broken link, not LOCAL: failed, so the workflow
       * retries it, alarms and hands it back.
       */
      const notWritten = (stationId: string): Pick<SetpointWriteResult, 'status' | 'detail'> => {
        const m = modeOf.get(stationId);
        if (m?.good && m.value === StationMode.local) return { status: 'skipped-local', detail: 'station not in REMOTE mode' };
        if (!m) return { status: 'failed', detail: 'mode not known: no reading from SCADA' };
        if (!m.good) return { status: 'failed', detail: `mode not known: reading ${m.statusCode}` };
        return { status: 'failed', detail: `mode not known: mode ${String(m.value)} is neither REMOTE (${StationMode.remote}) nor LOCAL (${StationMode.local})` };
      };
      for (const sp of stationSetpoints) {
        const station = stationsById.get(sp.stationId)!;
        const values: [string, number, Envelope | undefined][] = [
          ['startLevelSpM', sp.startLevelM, station.envelope.startLevelM],
          ['stopLevelSpM', sp.stopLevelM, station.envelope.stopLevelM],
          ['flowSpM3h', sp.flowM3h, station.envelope.flowSetpointM3h],
          ['pumpsAllowedSp', sp.pumpsAllowed, { min: 0, max: station.pumps.length, maxChangePerMin: station.pumps.length }],
          ['remoteControlSp', sp.remoteControl === 'flow' ? RemoteControl.flow : RemoteControl.levelBand, undefined],
          ['heartbeat', input.heartbeat, undefined],
        ];
        for (const [name, value, envelope] of values) {
          const t = tag(sp.stationId, name);
          if (!remote.has(sp.stationId)) {
            results.push({ objectId: sp.stationId, tag: name, nodeId: t.nodeId, value, readBack: null, ...notWritten(sp.stationId) });
            continue;
          }
          if (name === 'heartbeat') continue; // written once the station's setpoints read back right (below)
          candidates.push({ tag: t, value: roundSetpoint(name, value), ...(envelope ? { envelope } : {}) });
        }
      }
      if (!input.stationsOnly) {
        for (const tr of step.transfers) {
          const x = network.interconnections.find((i) => i.id === tr.interconnectionId);
          if (!x) throw ApplicationFailure.nonRetryable(`plan names unknown interconnection ${tr.interconnectionId}`, 'InvalidPlanStep');
          candidates.push({ tag: tag(x.id, 'transferSpM3h'), value: roundSetpoint('transferSpM3h', tr.transferM3h), envelope: x.envelope.transferM3h, onlyWhenChanged: true });
        }
        for (const tk of step.tanks) {
          const t = network.tanks.find((i) => i.id === tk.tankId);
          if (!t) throw ApplicationFailure.nonRetryable(`plan names unknown tank ${tk.tankId}`, 'InvalidPlanStep');
          candidates.push({ tag: tag(t.id, 'inletSpM3h'), value: roundSetpoint('inletSpM3h', tk.inletM3h), envelope: t.envelope.inletM3h, onlyWhenChanged: true });
          candidates.push({ tag: tag(t.id, 'outletSpM3h'), value: roundSetpoint('outletSpM3h', tk.outletM3h), envelope: t.envelope.outletM3h, onlyWhenChanged: true });
        }
      }
      const rateClamped = new Map<string, string>();
      if (input.rateLimitMin !== undefined) {
        // Catch-up: from what SCADA holds now, at most one step's change at the envelope's rate.
        const minutes = input.rateLimitMin;
        const limited = candidates.filter((c) => c.envelope);
        const held = limited.length > 0 ? await opcua.readTags(limited.map((c) => c.tag)) : [];
        const heldOf = new Map(limited.map((c, i) => [c.tag.nodeId, numericValue(held[i])]));
        const byTag = (objectId: string, name: string) => candidates.find((c) => c.tag.objectId === objectId && c.tag.tag === name);
        const setClamped = (c: { tag: ResolvedTag; value: number }, value: number) => {
          const v = roundSetpoint(c.tag.tag, value);
          if (Math.abs(v - c.value) <= 1e-9) return;
          rateClamped.set(c.tag.nodeId, `planned ${c.value}, limited to ${v} by the envelope's rate from ${heldOf.get(c.tag.nodeId) ?? 'unknown'} over ${minutes} min`);
          c.value = v;
        };
        for (const sp of stationSetpoints) {
          const station = stationsById.get(sp.stationId)!;
          const start = byTag(sp.stationId, 'startLevelSpM');
          const stop = byTag(sp.stationId, 'stopLevelSpM');
          if (start && stop) {
            const band = clampLevelBand(
              { startLevelM: start.value, stopLevelM: stop.value },
              station.envelope,
              { startLevelM: heldOf.get(start.tag.nodeId) ?? null, stopLevelM: heldOf.get(stop.tag.nodeId) ?? null },
              minutes,
            );
            setClamped(start, band.startLevelM.value);
            setClamped(stop, band.stopLevelM.value);
          }
        }
        for (const c of limited) {
          if (c.tag.tag === 'startLevelSpM' || c.tag.tag === 'stopLevelSpM') continue;
          const clamped = clampToEnvelope(c.value, c.envelope!, heldOf.get(c.tag.nodeId) ?? null, minutes).value;
          setClamped(c, c.tag.tag === 'pumpsAllowedSp' ? Math.round(clamped) : clamped);
        }
      }
      for (const c of candidates) {
        if (c.envelope && !insideEnvelope(c.value, c.envelope)) {
          throw ApplicationFailure.nonRetryable(`${c.tag.objectId}.${c.tag.tag} = ${c.value} lies outside its envelope [${c.envelope.min}, ${c.envelope.max}]`, 'EnvelopeViolation');
        }
      }
      // A band is safe only as a pair: each level inside its envelope is not enough if the start lies below the stop.
      for (const sp of stationSetpoints) {
        if (!remote.has(sp.stationId)) continue;
        if (!(sp.startLevelM >= sp.stopLevelM + MIN_LEVEL_BAND_GAP_M - 1e-9)) {
          throw ApplicationFailure.nonRetryable(
            `${sp.stationId}: start level ${sp.startLevelM} m must lie at least ${MIN_LEVEL_BAND_GAP_M} m above stop level ${sp.stopLevelM} m`,
            'EnvelopeViolation',
          );
        }
        if (!Number.isInteger(sp.pumpsAllowed)) throw ApplicationFailure.nonRetryable(`${sp.stationId}.pumpsAllowedSp = ${sp.pumpsAllowed} is not a whole number of pumps`, 'EnvelopeViolation');
      }
      // What SCADA holds now: for interconnections and tanks always, for stations on a retried attempt.
      const toRead = candidates.filter((c) => c.onlyWhenChanged || compareFirst);
      const current = toRead.length > 0 ? await opcua.readTags(toRead.map((c) => c.tag)) : [];
      const currentOf = new Map(toRead.map((c, i) => [c.tag.nodeId, current[i]]));
      let alreadyInForce = 0;
      const writes: SetpointWrite[] = [];
      for (const c of candidates) {
        const held = currentOf.has(c.tag.nodeId) ? numericValue(currentOf.get(c.tag.nodeId)) : null;
        if (currentOf.has(c.tag.nodeId) && sameValue(held, c.value)) {
          if (c.onlyWhenChanged) continue; // unchanged transfer or tank: nothing to do
          alreadyInForce++;
          results.push({ objectId: c.tag.objectId, tag: c.tag.tag, nodeId: c.tag.nodeId, value: c.value, readBack: held, status: 'verified', detail: 'already in force' });
          continue;
        }
        writes.push({ tag: c.tag, value: c.value });
      }
      results.push(...(await writeAndVerify(writes)).map((r) => (rateClamped.has(r.nodeId) ? { ...r, detail: [r.detail, rateClamped.get(r.nodeId)].filter(Boolean).join('; ') } : r)));
      const beat = await writeHeartbeats(stationSetpoints.filter((sp) => remote.has(sp.stationId)).map((sp) => sp.stationId), results, input.heartbeat, compareFirst);
      results.push(...beat.results);
      alreadyInForce += beat.alreadyInForce;
      const outcome: DispatchOutcome = {
        planId,
        stepIndex: input.stepIndex,
        appliedAtUtcMs: now(),
        writes: results,
        verified: results.filter((r) => r.status === 'verified').length,
        skipped: results.filter((r) => r.status === 'skipped-local').length,
        failed: results.filter((r) => r.status === 'failed' || r.status === 'mismatch').length,
        alreadyInForce,
        attempt,
      };
      return outcome;
    },

    /**
     * Hand stations back to local control after their writes kept failing: write each one's local band
     * (the PLC's own start/stop levels, duty pumps, level-band control) where the station still answers.
     * No heartbeat is written: a handed-back station's watchdog is left to lapse (the step writes and the
     * keeper leave it out until a later plan writes it successfully), and the PLC takes local authority.
     */
    async handBackToLocal(input: { planId: string; stepIndex: number; stationIds: string[]; reason: string }): Promise<HandBack[]> {
      const out: HandBack[] = [];
      for (const stationId of input.stationIds) {
        const station = stationsById.get(stationId);
        if (!station) continue;
        const sp = localBandSetpoint(station);
        const writes: SetpointWrite[] = [
          { tag: tag(stationId, 'startLevelSpM'), value: sp.startLevelM },
          { tag: tag(stationId, 'stopLevelSpM'), value: sp.stopLevelM },
          { tag: tag(stationId, 'pumpsAllowedSp'), value: sp.pumpsAllowed },
          { tag: tag(stationId, 'remoteControlSp'), value: RemoteControl.levelBand },
        ];
        let written = false;
        try {
          const results = await writeAndVerify(writes);
          written = results.every((r) => r.status === 'verified');
        } catch {
          written = false;
        }
        out.push({ stationId, atUtcMs: now(), stepIndex: input.stepIndex, reason: input.reason, written });
      }
      return out;
    },

    /** Record the decision and the dispatch outcome as time series beside the plan. */
    async recordOutcome(input: { planId: string; status: string; decidedBy: string | null; outcome: DispatchOutcome | null; detail?: string }): Promise<number> {
      const t = now();
      const points: SeriesPoint[] = [
        {
          measurement: 'plan_event',
          tags: { bucket: planEventBucket(input.planId), status: input.status },
          fields: {
            planId: input.planId,
            decidedBy: input.decidedBy ?? '',
            verified: input.outcome?.verified ?? 0,
            failed: input.outcome?.failed ?? 0,
            skipped: input.outcome?.skipped ?? 0,
            ...(input.outcome ? { step: input.outcome.stepIndex } : {}),
            ...(input.detail ? { detail: input.detail } : {}),
          },
          timeUtcMs: t,
        },
      ];
      for (const w of input.outcome?.writes ?? []) {
        points.push({
          measurement: 'setpoint_write',
          tags: { bucket: planEventBucket(input.planId), id: w.objectId, tag: w.tag, status: w.status },
          fields: { planId: input.planId, value: w.value, ...(w.readBack === null ? {} : { readBack: w.readBack }) },
          timeUtcMs: input.outcome!.appliedAtUtcMs,
        });
      }
      return influx.write(points);
    },

    /** Send a notification through every configured channel (escalations, faults, emergency levels). */
    async notify(notification: Notification): Promise<DeliveryReport[]> {
      if (!deps.notifier) {
        console.log(`notify ${notification.severity} → ${notification.audience}: ${notification.title} [${notification.key}]`);
        return [{ channel: 'log', audience: notification.audience, delivered: true }];
      }
      return deps.notifier.send(notification);
    },
  };
}

export type DispatchActivities = ReturnType<typeof createDispatchActivities>;
