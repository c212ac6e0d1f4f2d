// Wet-well geometry: volume above the floor from level, and back. Prismatic wells are area × level;
// table wells interpolate linearly and extrapolate with the end slopes (a reading may sit above the table).
import type { PumpStation } from '../network/schema.js';

type WetWell = PumpStation['wetWell'];

export function volumeAtLevel(wetWell: WetWell, levelM: number): number {
  if (wetWell.kind === 'prismatic') return wetWell.areaM2 * Math.max(0, levelM);
  const pts = wetWell.points;
  if (levelM <= pts[0]!.levelM) {
    const a = pts[0]!;
    const b = pts[1]!;
    const slope = (b.volumeM3 - a.volumeM3) / (b.levelM - a.levelM);
    return Math.max(0, a.volumeM3 + slope * (levelM - a.levelM));
  }
  for (let i = 1; i < pts.length; i++) {
    const a = pts[i - 1]!;
    const b = pts[i]!;
    if (levelM <= b.levelM || i === pts.length - 1) {
      return a.volumeM3 + ((b.volumeM3 - a.volumeM3) * (levelM - a.levelM)) / (b.levelM - a.levelM);
    }
  }
  return pts[pts.length - 1]!.volumeM3;
}

export function levelAtVolume(wetWell: WetWell, volumeM3: number): number {
  if (wetWell.kind === 'prismatic') return Math.max(0, volumeM3) / wetWell.areaM2;
  const pts = wetWell.points;
  if (volumeM3 <= pts[0]!.volumeM3) return pts[0]!.levelM;
  for (let i = 1; i < pts.length; i++) {
    const a = pts[i - 1]!;
    const b = pts[i]!;
    if (volumeM3 <= b.volumeM3 || i === pts.length - 1) {
      // A flat segment (equal volumes) has no unique level: take its top.
      if (b.volumeM3 === a.volumeM3) return b.levelM;
      return a.levelM + ((b.levelM - a.levelM) * (volumeM3 - a.volumeM3)) / (b.volumeM3 - a.volumeM3);
    }
  }
  return pts[pts.length - 1]!.levelM;
}

/** Plan area at a level (m²): the volume per metre of level change, for band widths. */
export function areaAtLevel(wetWell: WetWell, levelM: number): number {
  if (wetWell.kind === 'prismatic') return wetWell.areaM2;
  const dz = 0.05;
  return Math.max(1e-6, (volumeAtLevel(wetWell, levelM + dz) - volumeAtLevel(wetWell, levelM - dz)) / (2 * dz));
}

/**
 * Highest level of normal operation: the high alarm less `alarmMarginFraction` of the working depth (pump-stop
 * to overflow), never below the pump-start level. The alarm band above it is the last reserve.
 */
export function normalCeilingM(levels: PumpStation['levels'], alarmMarginFraction: number): number {
  return Math.max(levels.pumpStartM, levels.highAlarmM - alarmMarginFraction * (levels.overflowM - levels.pumpStopM));
}
