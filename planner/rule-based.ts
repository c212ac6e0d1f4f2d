// A transparent rule-based plan: the dispatcher's rule of thumb written down. It draws wet wells down
// ahead of forecast rain and otherwise keeps each station on its normal band with duty pumps only.
// The optimising planner replaces it; this one stays as the fallback that always yields a plan.
import type { NetworkConfig, PumpStation } from '../network/schema.js';
import type { NetworkSnapshot, RainForecast, StationState } from '../activities/types.js';
import { clampLevelBand } from './envelope.js';
import type { Plan, PlanStep, StationReason, StationSetpoint } from './types.js';

export interface RuleBasedOptions {
  /** Rain within this look-ahead window triggers drawdown. */
  lookAheadH: number;
  /** Rain depth over the look-ahead window that triggers drawdown. */
  drawdownTriggerMm: number;
}

export const defaultRuleOptions: RuleBasedOptions = { lookAheadH: 6, drawdownTriggerMm: 10 };

interface RainOutlook {
  totalMm: number;
  onsetUtcMs: number | null;
  gaps: number;
}

/** Rain over [fromUtcMs, fromUtcMs + windowH) for one catchment; gaps are counted, never read as zero rain. */
export function rainOutlook(forecast: RainForecast | null, catchmentId: string, fromUtcMs: number, windowH: number): RainOutlook {
  const location = forecast?.locations.find((l) => l.catchmentId === catchmentId);
  if (!forecast || !location) return { totalMm: 0, onsetUtcMs: null, gaps: 0 };
  const stepMs = forecast.stepMin * 60_000;
  const toUtcMs = fromUtcMs + windowH * 3_600_000;
  let totalMm = 0;
  let onsetUtcMs: number | null = null;
  let gaps = 0;
  location.timeUtcMs.forEach((t, i) => {
    // Values are totals over the step ending at t (Open-Meteo's convention).
    if (t <= fromUtcMs || t - stepMs >= toUtcMs) return;
    const mm = location.precipitationMm[i];
    if (mm === null || mm === undefined) {
      gaps++;
      return;
    }
    totalMm += mm;
    if (onsetUtcMs === null && mm >= 0.5) onsetUtcMs = t - stepMs;
  });
  return { totalMm, onsetUtcMs, gaps };
}

const fmtHours = (ms: number) => (ms / 3_600_000).toFixed(1);

function stationSetpoint(
  station: PumpStation,
  state: StationState | undefined,
  drawdown: boolean,
  elapsedMin: number,
  clamped: Plan['clamped'],
): StationSetpoint {
  const dutyPumps = station.pumps.length - station.standbyPumps;
  const wantedStart = drawdown ? (station.levels.floodSeasonStartM ?? station.levels.pumpStopM + 0.5) : station.levels.pumpStartM;
  const wantedStop = station.levels.pumpStopM;
  const { startLevelM: start, stopLevelM: stop } = clampLevelBand(
    { startLevelM: wantedStart, stopLevelM: wantedStop },
    station.envelope,
    { startLevelM: state?.startLevelSpM ?? null, stopLevelM: state?.stopLevelSpM ?? null },
    elapsedMin,
    0.2,
  );
  if (start.clamped) clamped.push({ objectId: station.id, setpoint: 'startLevelM', wanted: wantedStart, sent: start.value });
  if (stop.clamped) clamped.push({ objectId: station.id, setpoint: 'stopLevelM', wanted: wantedStop, sent: stop.value });
  return {
    stationId: station.id,
    remoteControl: 'levelBand',
    startLevelM: start.value,
    stopLevelM: stop.value,
    flowM3h: 0,
    // Standby pumps are released only for drawdown ahead of rain.
    pumpsAllowed: drawdown ? station.pumps.length : dutyPumps,
  };
}

export interface RuleBasedInput {
  planId: string;
  network: NetworkConfig;
  snapshot: NetworkSnapshot;
  forecast: RainForecast | null;
  nowUtcMs: number;
  options?: RuleBasedOptions;
}

export function ruleBasedPlan(input: RuleBasedInput): Plan {
  const { network, snapshot, forecast, nowUtcMs } = input;
  const options = input.options ?? defaultRuleOptions;
  const stepMin = network.planning.stepMin;
  const stepCount = Math.round((network.planning.horizonH * 60) / stepMin);
  const firstStepUtcMs = Math.ceil(nowUtcMs / (stepMin * 60_000)) * stepMin * 60_000;
  const statesById = new Map(snapshot.stations.map((s) => [s.stationId, s]));
  const catchmentOf = new Map(network.catchments.map((c) => [c.node, c.id]));
  const clamped: Plan['clamped'] = [];
  const steps: PlanStep[] = [];
  let anyDrawdown = false;

  for (let k = 0; k < stepCount; k++) {
    const startUtcMs = firstStepUtcMs + k * stepMin * 60_000;
    const stations = network.stations.map((station) => {
      const catchmentId = catchmentOf.get(station.id);
      const outlook = catchmentId ? rainOutlook(forecast, catchmentId, startUtcMs, options.lookAheadH) : { totalMm: 0, onsetUtcMs: null, gaps: 0 };
      const drawdown = outlook.totalMm >= options.drawdownTriggerMm;
      anyDrawdown ||= drawdown;
      // Only the first step is limited by the setpoint now in force; later steps chain from the previous step.
      const previous = k === 0 ? statesById.get(station.id) : undefined;
      return stationSetpoint(station, previous, drawdown, k === 0 ? (startUtcMs - nowUtcMs) / 60_000 + stepMin : stepMin, k === 0 ? clamped : []);
    });
    steps.push({
      startUtcMs,
      stations,
      transfers: network.interconnections.map((x) => ({ interconnectionId: x.id, transferM3h: 0 })),
      tanks: network.tanks.map((t) => ({ tankId: t.id, inletM3h: 0, outletM3h: 0 })),
    });
  }

  const reasons: StationReason[] = network.stations.map((station) => {
    const catchmentId = catchmentOf.get(station.id);
    const outlook = catchmentId ? rainOutlook(forecast, catchmentId, nowUtcMs, options.lookAheadH) : { totalMm: 0, onsetUtcMs: null, gaps: 0 };
    const state = statesById.get(station.id);
    const gapNote = outlook.gaps > 0 ? { zh: `（预报缺测${outlook.gaps}个时段）`, en: ` (forecast has ${outlook.gaps} missing steps)` } : { zh: '', en: '' };
    if (state?.mode === 'local') {
      return { objectId: station.id, reason: { zh: `泵站处于本地控制，远程设定不生效。${gapNote.zh}`, en: `Station is in LOCAL control; remote setpoints will not take effect.${gapNote.en}` } };
    }
    if (outlook.totalMm >= options.drawdownTriggerMm) {
      const inH = outlook.onsetUtcMs !== null ? fmtHours(Math.max(0, outlook.onsetUtcMs - nowUtcMs)) : '?';
      return {
        objectId: station.id,
        reason: {
          zh: `预计${inH}小时后降雨，${options.lookAheadH}小时内约${outlook.totalMm.toFixed(1)}毫米：降低启泵液位预降水位，允许备用泵运行。${gapNote.zh}`,
          en: `Rain expected in ${inH} h, about ${outlook.totalMm.toFixed(1)} mm within ${options.lookAheadH} h: lower start level to draw the wet well down and allow the standby pump.${gapNote.en}`,
        },
      };
    }
    return {
      objectId: station.id,
      reason: {
        zh: `${options.lookAheadH}小时内预报降雨${outlook.totalMm.toFixed(1)}毫米，低于预降阈值${options.drawdownTriggerMm}毫米：保持正常液位区间，仅运行主泵。${gapNote.zh}`,
        en: `${outlook.totalMm.toFixed(1)} mm forecast within ${options.lookAheadH} h, below the ${options.drawdownTriggerMm} mm drawdown trigger: normal level band, duty pumps only.${gapNote.en}`,
      },
    };
  });

  return {
    planId: input.planId,
    networkId: network.id,
    createdAtUtcMs: nowUtcMs,
    planner: 'rule-based',
    operatingMode: anyDrawdown ? 'flood-drawdown' : 'normal',
    stepMin,
    basis: { telemetryAtUtcMs: snapshot.readAtUtcMs, forecastIssuedAtUtcMs: forecast?.issuedAtUtcMs ?? null, forecastSource: forecast?.source ?? 'none' },
    steps,
    reasons,
    clamped,
  };
}
