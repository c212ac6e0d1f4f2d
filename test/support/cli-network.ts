// The planner CLI tests' network: a west–east pair joined by an interconnection; the east station has an in-line
// combined-sewer tank with a weir. W1: 3 × 120 m³/h fixed, overflow 4 m; E1: 2 × 150 m³/h VFD.
import type { NetworkConfig } from '../../network/schema.js';
import { exampleNetwork } from '../../planner/examples.js';

export function cliTestNetwork(horizonH: number): NetworkConfig {
  return exampleNetwork({
    stations: [
      { id: 'W1', areaM2: 80, pumpCount: 3, pumpM3h: 120, standbyPumps: 1, to: 'WP', travelMin: 30 },
      { id: 'E1', areaM2: 60, pumpCount: 2, pumpM3h: 150, kind: 'vfd', to: 'EP', travelMin: 20 },
    ],
    plants: [
      { id: 'WP', capacityM3h: 300 },
      { id: 'EP', capacityM3h: 400 },
    ],
    interconnections: [{ id: 'X1', a: 'W1', b: 'E1', capacityM3h: 100, travelMin: 15 }],
    tanks: [{ id: 'CS1', kind: 'combined-sewer', node: 'E1', capacityM3: 1500, inletMaxM3h: 100, outletMaxM3h: 80, outletSpecificEnergyKwhM3: 0, overflowTo: 'EP', outletMain: { to: 'EP', travelMin: 10 } }],
    timezone: 'Asia/Shanghai',
    planning: { stepMin: 15, horizonH, cycleMin: 15 },
  });
}
