// The safety envelope: every setpoint sent to SCADA lies in [min, max] and moves no faster than
// maxChangePerMin from the value currently in force. Applied last, after any planner.
import type { Envelope } from '../network/schema.js';

export interface ClampResult {
  value: number;
  clamped: boolean;
}

/**
 * Clamp `wanted` into the envelope. `current` is the setpoint now in force (null when unknown, in which
 * case only the range applies); `minutesSinceCurrent` is how long the change may take.
 */
export function clampToEnvelope(wanted: number, envelope: Envelope, current: number | null, minutesSinceCurrent: number): ClampResult {
  if (!Number.isFinite(wanted)) throw new RangeError(`setpoint is not a finite number: ${wanted}`);
  let value = Math.min(envelope.max, Math.max(envelope.min, wanted));
  if (current !== null && Number.isFinite(current) && current >= envelope.min && current <= envelope.max) {
    const maxStep = envelope.maxChangePerMin * Math.max(0, minutesSinceCurrent);
    value = Math.min(current + maxStep, Math.max(current - maxStep, value));
  }
  return { value, clamped: Math.abs(value - wanted) > 1e-9 };
}

export function insideEnvelope(value: number, envelope: Envelope): boolean {
  return Number.isFinite(value) && value >= envelope.min - 1e-9 && value <= envelope.max + 1e-9;
}
