// The safety envelope: every setpoint sent to SCADA lies in [min, max] and moves no faster than
// maxChangePerMin from the value currently in force. Applied last, after any planner.
import { MIN_LEVEL_BAND_GAP_M, type Envelope, type PumpStation } from '../network/schema.js';

export { MIN_LEVEL_BAND_GAP_M };

export interface ClampResult {
  value: number;
  clamped: boolean;
}


/** Why an envelope cannot be applied (non-finite bounds, min above max, a rate that is not positive), or null. */
export function envelopeProblem(envelope: Envelope): string | null {
  if (!Number.isFinite(envelope.min) || !Number.isFinite(envelope.max)) return `envelope bounds are not finite numbers: [${envelope.min}, ${envelope.max}]`;
  if (envelope.min > envelope.max) return `envelope min ${envelope.min} is above its max ${envelope.max}`;
  if (!Number.isFinite(envelope.maxChangePerMin) || envelope.maxChangePerMin <= 0) return `envelope maxChangePerMin is not a positive number: ${envelope.maxChangePerMin}`;
  return null;
}

/**
 * Clamp `wanted` into the envelope. `current` is the setpoint now in force (null when unknown, in which
 * case only the range applies); `minutesSinceCurrent` is how long the change may take. Fails closed: a bad
 * envelope or a non-finite wanted value or duration throws rather than letting a value through.
 */
export function clampToEnvelope(wanted: number, envelope: Envelope, current: number | null, minutesSinceCurrent: number): ClampResult {
  if (!Number.isFinite(wanted)) throw new RangeError(`setpoint is not a finite number: ${wanted}`);
  const problem = envelopeProblem(envelope);
  if (problem) throw new RangeError(problem);
  if (!Number.isFinite(minutesSinceCurrent)) throw new RangeError(`minutes since the setpoint in force is not a finite number: ${minutesSinceCurrent}`);
  let value = Math.min(envelope.max, Math.max(envelope.min, wanted));
  // A value in force outside the envelope (set locally, or before the envelope changed) gives no rate limit:
  // the first write brings it back inside, as the range allows.
  if (current !== null && Number.isFinite(current) && current >= envelope.min && current <= envelope.max) {
    const maxStep = envelope.maxChangePerMin * Math.max(0, minutesSinceCurrent);
    value = Math.min(current + maxStep, Math.max(current - maxStep, value));
  }
  return { value, clamped: Math.abs(value - wanted) > 1e-9 };
}

export function insideEnvelope(value: number, envelope: Envelope): boolean {
  return envelopeProblem(envelope) === null && Number.isFinite(value) && value >= envelope.min - 1e-9 && value <= envelope.max + 1e-9;
}

export interface LevelBandClamp {
  startLevelM: ClampResult;
  stopLevelM: ClampResult;
}

/**
 * Clamp a station's start/stop levels together: each into its own envelope and rate, and the start at least
 * `gapM` (never less than MIN_LEVEL_BAND_GAP_M) above the stop. The stop is lowered towards start − gap; where
 * its envelope or rate holds it higher, the start is raised to stop + gap instead, within its own envelope and
 * rate. Clamping each level on its own could send an inverted band (a start lowered fast, a stop that may only
 * follow slowly). A band in force that cannot make room within the rate gives way to the range alone. Throws
 * only when the two ranges leave no room (stop envelope min + gap above start envelope max), which the
 * network's cross-check rejects.
 */
export function clampLevelBand(
  wanted: { startLevelM: number; stopLevelM: number },
  envelopes: { startLevelM: Envelope; stopLevelM: Envelope },
  current: { startLevelM: number | null; stopLevelM: number | null },
  minutesSinceCurrent: number,
  gapM: number = MIN_LEVEL_BAND_GAP_M,
): LevelBandClamp {
  const wantedGapM = Math.max(MIN_LEVEL_BAND_GAP_M, gapM);
  // A band in force that is itself too narrow or inverted (set locally) gives no rate limit, as a value outside
  // its envelope does: the first write makes it a valid band.
  const inForceInverted = current.startLevelM !== null && current.stopLevelM !== null && current.startLevelM < current.stopLevelM + MIN_LEVEL_BAND_GAP_M - 1e-9;
  const band = clampBandFrom(wanted, envelopes, inForceInverted ? { startLevelM: null, stopLevelM: null } : current, minutesSinceCurrent, wantedGapM);
  if (band) return band;
  // Only one level in force and the other's envelope far from it: the rate of the one known cannot make room.
  // A valid band comes before the rate of change; the range still holds.
  const rangeOnly = clampBandFrom(wanted, envelopes, { startLevelM: null, stopLevelM: null }, minutesSinceCurrent, wantedGapM);
  if (rangeOnly) return rangeOnly;
  throw new RangeError(
    `no level band fits the envelopes with start at least ${MIN_LEVEL_BAND_GAP_M} m above stop ` +
      `(wanted ${wanted.startLevelM} / ${wanted.stopLevelM} m; start envelope [${envelopes.startLevelM.min}, ${envelopes.startLevelM.max}], stop envelope [${envelopes.stopLevelM.min}, ${envelopes.stopLevelM.max}])`,
  );
}

function clampBandFrom(
  wanted: { startLevelM: number; stopLevelM: number },
  envelopes: { startLevelM: Envelope; stopLevelM: Envelope },
  inForce: { startLevelM: number | null; stopLevelM: number | null },
  minutesSinceCurrent: number,
  wantedGapM: number,
): LevelBandClamp | null {
  let start = clampToEnvelope(wanted.startLevelM, envelopes.startLevelM, inForce.startLevelM, minutesSinceCurrent);
  // The stop's own target already keeps the gap; only its envelope or rate can move it, and only that counts as clamped.
  const stop = clampToEnvelope(Math.min(wanted.stopLevelM, start.value - wantedGapM), envelopes.stopLevelM, inForce.stopLevelM, minutesSinceCurrent);
  if (start.value < stop.value + wantedGapM - 1e-9) {
    const raised = clampToEnvelope(stop.value + wantedGapM, envelopes.startLevelM, inForce.startLevelM, minutesSinceCurrent);
    if (raised.value > start.value) start = { value: raised.value, clamped: Math.abs(raised.value - wanted.startLevelM) > 1e-9 };
  }
  if (start.value < stop.value + MIN_LEVEL_BAND_GAP_M - 1e-9) return null;
  return { startLevelM: start, stopLevelM: stop };
}

/** The station's own start/stop levels (what its PLC keeps under local control), inside their envelopes and a valid band. */
export function ownLevelBand(station: PumpStation): { startLevelM: number; stopLevelM: number } {
  const band = clampLevelBand({ startLevelM: station.levels.pumpStartM, stopLevelM: station.levels.pumpStopM }, station.envelope, { startLevelM: null, stopLevelM: null }, 0);
  return { startLevelM: band.startLevelM.value, stopLevelM: band.stopLevelM.value };
}
