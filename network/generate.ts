// Generated networks shaped like the reference one, for benchmarks and scale tests (16 … 500+ stations).
// Pure and deterministic: the same { stations, seed } always gives the same network; no I/O, no clock.
//
// Shape (see ../shared/reference-network.md): two or more systems side by side from west to east, each a
// tree of pump stations draining to its own plant — leaf stations (fixed-speed pumps, small wet wells)
// discharge into transfer stations (VFD pumps, large wet wells) that discharge into each other and finally
// into the plant; a few leaves discharge straight to the plant. Pumps are sized a little above the peak
// dry-weather flow arriving at the station (one standby pump each), mains at 1.1 × installed pump capacity,
// plants at about twice the mean DWF of their system. One interconnection joins the first two systems, one
// offline regulating tank sits beside the main transfer station of the largest system, every catchment has
// RTK parameters, and analysers watch every plant inlet and main transfer station.
import type { Catchment, DwfPattern, NetworkConfig, PumpStation } from './schema.js';
import { parseNetwork } from './validate.js';
import { mulberry32 } from '../scenarios/random.js';

export interface GenerateNetworkOptions {
  /** Number of pump stations, at least MIN_GENERATED_STATIONS. */
  stations: number;
  /** Integer seed; the same seed and size give the same network. */
  seed: number;
  /** Number of systems (plants); default max(2, round(stations / 60)), at most 26. */
  systems?: number;
}

export const MIN_GENERATED_STATIONS = 4;
export const MAX_GENERATED_STATIONS = 20_000;
const MAX_SYSTEMS = 26;
const MAX_TRANSFER_DEPTH = 4;

// The county box the reference network lies in; systems split it into longitude bands.
const LAT_MIN_DEG = 30.56;
const LAT_MAX_DEG = 30.84;
const LON_MIN_DEG = 120.86;
const LON_MAX_DEG = 121.24;

// Peak hourly multiplier of each pattern (with its weekday factor), for pump sizing.
const RESIDENTIAL_PEAK = 1.535;
const INDUSTRIAL_PEAK = 1.16;

const DWF_PATTERNS: DwfPattern[] = [
  {
    id: 'residential',
    weekdayHourly: [0.767, 0.614, 0.491, 0.409, 0.409, 0.46, 0.716, 1.228, 1.535, 1.432, 1.279, 1.176, 1.176, 1.074, 1.024, 0.972, 1.023, 1.125, 1.228, 1.309, 1.33, 1.228, 1.074, 0.921],
    weekendHourly: [0.871, 0.718, 0.595, 0.513, 0.492, 0.513, 0.615, 0.871, 1.128, 1.282, 1.333, 1.282, 1.23, 1.128, 1.074, 1.025, 1.076, 1.128, 1.23, 1.282, 1.282, 1.23, 1.128, 0.974],
    weekdayFactor: 1,
    weekendFactor: 1,
  },
  {
    id: 'industrial',
    weekdayHourly: new Array<number>(24).fill(1),
    weekendHourly: new Array<number>(24).fill(1),
    weekdayFactor: 1.16,
    weekendFactor: 0.6,
  },
];


const roundTo = (value: number, step: number): number => Math.round(value / step) * step;
/** Round to `decimals` places without binary noise in the JSON (0.07, not 0.07000000000000001). */
const fixed = (value: number, decimals: number): number => Number(value.toFixed(decimals));

interface Node {
  index: number;
  id: string;
  system: number;
  transfer: boolean;
  /** Index of the downstream station, or -1 for the plant. */
  parent: number;
  depth: number;
  latDeg: number;
  lonDeg: number;
  industrial: boolean;
  olderTown: boolean;
  ownMeanM3d: number;
  /** Mean and peak DWF arriving at the station (own catchment plus everything upstream), m3/h. */
  meanM3h: number;
  peakM3h: number;
}

/** A valid NetworkConfig with `stations` pump stations; throws RangeError for impossible sizes. */
export function generateNetwork(options: GenerateNetworkOptions): NetworkConfig {
  const { stations: n, seed } = options;
  if (!Number.isInteger(n) || n < MIN_GENERATED_STATIONS || n > MAX_GENERATED_STATIONS) {
    throw new RangeError(`generateNetwork: stations must be a whole number in [${MIN_GENERATED_STATIONS}, ${MAX_GENERATED_STATIONS}], got ${n}`);
  }
  if (!Number.isInteger(seed)) throw new RangeError(`generateNetwork: seed must be an integer, got ${seed}`);
  const systemCount = options.systems ?? Math.max(2, Math.min(MAX_SYSTEMS, Math.round(n / 60)));
  if (!Number.isInteger(systemCount) || systemCount < 2 || systemCount > MAX_SYSTEMS || systemCount * 2 > n) {
    throw new RangeError(`generateNetwork: systems must be a whole number in [2, ${Math.min(MAX_SYSTEMS, Math.floor(n / 2))}] for ${n} stations, got ${systemCount}`);
  }
  const random = mulberry32((seed ^ Math.imul(n, 0x9e3779b1) ^ Math.imul(systemCount, 0x85ebca6b)) >>> 0);
  const uniform = (low: number, high: number) => low + (high - low) * random();
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;

  // Stations per system: random shares, at least two each, summing to n.
  const weights = Array.from({ length: systemCount }, () => uniform(0.7, 1.3));
  const weightSum = weights.reduce((a, b) => a + b, 0);
  const counts = weights.map((w) => Math.max(2, Math.floor((w / weightSum) * n)));
  let excess = counts.reduce((a, b) => a + b, 0) - n;
  for (let k = 0; excess !== 0; k = (k + 1) % systemCount) {
    if (excess > 0 && counts[k]! > 2) {
      counts[k]!--;
      excess--;
    } else if (excess < 0) {
      counts[k]!++;
      excess++;
    }
  }

  const letter = (k: number) => String.fromCharCode(65 + k);
  const bandDeg = (LON_MAX_DEG - LON_MIN_DEG) / systemCount;
  const nodes: Node[] = [];
  const plantLocation: { latDeg: number; lonDeg: number }[] = [];
  const roots: number[] = [];
  const secondTransfer: number[] = [];
  for (let k = 0; k < systemCount; k++) {
    const m = counts[k]!;
    const lon0 = LON_MIN_DEG + k * bandDeg;
    const plant = { latDeg: fixed(uniform(LAT_MIN_DEG + 0.05, LAT_MAX_DEG - 0.08), 4), lonDeg: fixed(lon0 + bandDeg * uniform(0.6, 0.9), 4) };
    plantLocation.push(plant);
    const transfers = Math.max(1, Math.round(m * 0.2));
    const first = nodes.length;
    for (let i = 0; i < m; i++) {
      const transfer = i < transfers;
      let parent = -1;
      let depth = 0;
      if (i > 0 && transfer) {
        const candidates = nodes.slice(first, first + i).filter((x) => x.depth < MAX_TRANSFER_DEPTH);
        const up = candidates.length > 0 ? pick(candidates) : undefined;
        if (up) {
          parent = up.index;
          depth = up.depth + 1;
        }
      } else if (!transfer && random() >= 0.15) {
        const up = nodes[first + Math.floor(random() * transfers)]!;
        parent = up.index;
        depth = up.depth + 1;
      }
      // The main transfer station sits near the plant; the others anywhere in the system's band.
      const near = i === 0;
      const industrial = !transfer && random() < 0.2;
      nodes.push({
        index: nodes.length,
        id: `${letter(k)}${String(i + 1).padStart(3, '0')}`,
        system: k,
        transfer,
        parent,
        depth,
        latDeg: fixed(near ? plant.latDeg + uniform(-0.02, 0.02) : uniform(LAT_MIN_DEG, LAT_MAX_DEG), 4),
        lonDeg: fixed(near ? plant.lonDeg - uniform(0.005, 0.02) : lon0 + bandDeg * uniform(0.05, 0.95), 4),
        industrial,
        olderTown: random() < 0.2,
        ownMeanM3d: roundTo(transfer ? uniform(800, 3000) : industrial ? uniform(3000, 18000) : 1500 + 12000 * random() ** 2, 100),
        meanM3h: 0,
        peakM3h: 0,
      });
    }
    roots.push(first);
    secondTransfer.push(transfers > 1 ? first + 1 : first);
  }

  // Flows accumulate down the tree (children always come after their parent, so go backwards).
  for (const node of nodes) {
    node.meanM3h = node.ownMeanM3d / 24;
    node.peakM3h = node.meanM3h * (node.industrial ? INDUSTRIAL_PEAK : RESIDENTIAL_PEAK);
  }
  for (let i = nodes.length - 1; i >= 0; i--) {
    const node = nodes[i]!;
    if (node.parent >= 0) {
      nodes[node.parent]!.meanM3h += node.meanM3h;
      nodes[node.parent]!.peakM3h += node.peakM3h;
    }
  }

  const envelopeLevels = { startLevelM: { min: 1.3, max: 3.5, maxChangePerMin: 0.1 }, stopLevelM: { min: 1, max: 3, maxChangePerMin: 0.1 } };
  const stations: PumpStation[] = [];
  const mains: NetworkConfig['mains'] = [];
  const catchments: Catchment[] = [];
  for (const node of nodes) {
    const pumpCount = node.transfer ? (node.peakM3h > 3000 ? 5 : 4) : 3;
    const duty = pumpCount - 1;
    const dutyM3h = node.peakM3h * uniform(1.15, 1.3);
    const capEach = Math.max(20, roundTo(dutyM3h / duty, 10));
    const installed = capEach * pumpCount;
    const storageM3 = Math.max(capEach * 0.75, node.meanM3h * (node.transfer ? uniform(1.5, 2.5) : uniform(1.0, 1.5)));
    const systemId = `sys-${letter(node.system)}`;
    const to = node.parent >= 0 ? nodes[node.parent]!.id : `P-${letter(node.system)}`;
    stations.push({
      id: node.id,
      name: { zh: `${letter(node.system)}片${node.transfer ? '中转' : ''}泵站${node.id.slice(1)}`, en: `System ${letter(node.system)} ${node.transfer ? 'transfer station' : 'station'} ${node.id}` },
      system: systemId,
      location: { latDeg: node.latDeg, lonDeg: node.lonDeg },
      wetWell: { kind: 'prismatic', areaM2: fixed(storageM3 / 3, 1) },
      levels: { pumpStopM: 1, pumpStartM: 2, highAlarmM: 3.5, overflowM: 4, floodSeasonStartM: 1.5 },
      pumps: Array.from({ length: pumpCount }, (_, p) =>
        node.transfer ? { id: `P${p + 1}`, kind: 'vfd' as const, capacityM3h: capEach, minSpeedFraction: 0.3 } : { id: `P${p + 1}`, kind: 'fixed' as const, capacityM3h: capEach },
      ),
      standbyPumps: 1,
      specificEnergyKwhM3: fixed(node.transfer ? uniform(0.08, 0.12) : uniform(0.04, 0.07), 2),
      maxStartsPerHour: 6,
      dischargeMainId: `M-${node.id}`,
      envelope: { ...envelopeLevels, flowSetpointM3h: { min: 0, max: installed, maxChangePerMin: roundTo(installed / 10, 10) || 10 } },
    });
    mains.push({ id: `M-${node.id}`, from: node.id, to, kind: 'force', travelMin: Math.round(uniform(15, 70)), capacityM3h: Math.round(installed * 1.1) });
    const r = (value: number) => fixed(value * uniform(0.8, 1.2), 4);
    // Times to peak in tenths of an hour (as calibrations report them): the unit hydrographs' corners then
    // fall on whole minutes, which keeps the simulator's RTK recursion to a few taps.
    const t = (value: number) => fixed(value * uniform(0.85, 1.15), 1);
    catchments.push({
      id: `C-${node.id}`,
      node: node.id,
      location: { latDeg: node.latDeg, lonDeg: node.lonDeg },
      areaHa: Math.max(10, roundTo(node.ownMeanM3d / uniform(12, 30), 10)),
      dwf: { meanM3d: node.ownMeanM3d, pattern: node.industrial ? 'industrial' : 'residential' },
      groundwaterM3h: Math.max(1, Math.round((node.ownMeanM3d / 24) * 0.05)),
      rdii: {
        initialAbstractionMm: 2,
        triangles: [
          { r: r(node.olderTown ? 0.02 : 0.01), tH: t(1.5), k: 1.5 },
          { r: r(0.015), tH: t(5), k: 2.5 },
          { r: r(0.01), tH: t(12), k: 3 },
        ],
      },
    });
  }

  // What reaches each plant: the mean DWF of the system, and the duty capacity of the stations discharging
  // into it (the main transfer station and the leaves that discharge straight to the plant).
  const dutyOf = (s: PumpStation) => s.pumps[0]!.capacityM3h * (s.pumps.length - s.standbyPumps);
  const systemMeanM3h = new Array<number>(systemCount).fill(0);
  const plantDutyM3h = new Array<number>(systemCount).fill(0);
  nodes.forEach((node) => {
    if (node.parent !== -1) return;
    systemMeanM3h[node.system]! += node.meanM3h;
    plantDutyM3h[node.system]! += dutyOf(stations[node.index]!);
  });
  const plants: NetworkConfig['plants'] = plantLocation.map((location, k) => {
    const capacityM3h = Math.ceil(Math.max(systemMeanM3h[k]! * uniform(1.8, 2.1), 1.1 * plantDutyM3h[k]!) / 100) * 100;
    return {
      id: `P-${letter(k)}`,
      name: { zh: `${letter(k)}片污水处理厂`, en: `System ${letter(k)} wastewater plant` },
      system: `sys-${letter(k)}`,
      location,
      capacityM3h,
      preferredInflowM3h: Math.min(capacityM3h, roundTo(systemMeanM3h[k]! * uniform(1.0, 1.1), 100)),
    };
  });

  // The interconnection: the first system's main transfer station and a transfer station of the second.
  const xa = stations[roots[0]!]!;
  const xb = stations[secondTransfer[1]!]!;
  const xCap = Math.max(100, roundTo(0.5 * Math.min(dutyOf(xa), dutyOf(xb)), 100));
  const interconnections: NetworkConfig['interconnections'] = [
    {
      id: 'X1',
      name: { zh: `${letter(0)}-${letter(1)}片互联管`, en: `${letter(0)}–${letter(1)} interconnection` },
      a: xa.id,
      b: xb.id,
      capacityM3h: xCap,
      travelMin: 30,
      specificEnergyKwhM3: 0.06,
      envelope: { transferM3h: { min: -xCap, max: xCap, maxChangePerMin: Math.max(10, roundTo(xCap / 12, 10)) } },
    },
  ];

  // The regulating tank beside the main transfer station of the largest system.
  let largest = 0;
  for (let k = 1; k < systemCount; k++) if (systemMeanM3h[k]! > systemMeanM3h[largest]!) largest = k;
  const tankStation = stations[roots[largest]!]!;
  const meanM3h = systemMeanM3h[largest]!;
  const tankCap = Math.max(1000, roundTo(meanM3h * uniform(8, 12), 1000));
  const inletMax = Math.max(100, roundTo(meanM3h * 0.6, 100));
  const outletMax = Math.max(100, roundTo(meanM3h * 0.25, 100));
  const tanks: NetworkConfig['tanks'] = [
    {
      id: 'T1',
      name: { zh: '调节池', en: 'Regulating tank' },
      kind: 'offline',
      node: tankStation.id,
      capacityM3: tankCap,
      inletMaxM3h: inletMax,
      outletMaxM3h: outletMax,
      outletSpecificEnergyKwhM3: 0.08,
      envelope: {
        inletM3h: { min: 0, max: inletMax, maxChangePerMin: Math.max(10, roundTo(inletMax / 10, 10)) },
        outletM3h: { min: 0, max: outletMax, maxChangePerMin: Math.max(10, roundTo(outletMax / 10, 10)) },
      },
    },
  ];
  mains.push({ id: 'M-T1', from: 'T1', to: tankStation.id, kind: 'force', travelMin: 0, capacityM3h: outletMax });

  const dryWeather = { codMgL: 300, nh3nMgL: 30, tpMgL: 4, ssMgL: 200, ph: 7.2 };
  const parameters: NetworkConfig['analysers'][number]['parameters'] = ['codMgL', 'nh3nMgL', 'tpMgL', 'ssMgL', 'ph'];
  const analysers: NetworkConfig['analysers'] = [
    ...plants.map((p) => ({ id: `Q-${p.id}`, node: p.id, parameters: [...parameters], dryWeather: { ...dryWeather } })),
    ...roots.map((root) => ({ id: `Q-${nodes[root]!.id}`, node: nodes[root]!.id, parameters: [...parameters], dryWeather: { ...dryWeather } })),
  ];

  const network: NetworkConfig = {
    schemaVersion: 1,
    id: `generated-${n}-s${seed}`.slice(0, 32),
    name: { zh: `生成网络(${n}座泵站, 种子${seed})`, en: `Generated network (${n} stations, seed ${seed})` },
    timezone: 'Asia/Shanghai',
    systems: Array.from({ length: systemCount }, (_, k) => ({ id: `sys-${letter(k)}`, name: { zh: `${letter(k)}片`, en: `System ${letter(k)}` } })),
    planning: { stepMin: 15, horizonH: 24, cycleMin: 15 },
    tariff: {
      periods: [
        { name: 'valley', priceCnyPerKwh: 0.3, ranges: [{ from: '00:00', to: '08:00' }, { from: '22:00', to: '24:00' }] },
        { name: 'peak', priceCnyPerKwh: 1.1, ranges: [{ from: '08:00', to: '11:00' }, { from: '18:00', to: '22:00' }] },
        { name: 'flat', priceCnyPerKwh: 0.65, ranges: [{ from: '11:00', to: '18:00' }] },
      ],
    },
    opcua: { namespaceUri: 'urn:sewer-dispatch:scada', nodeIdTemplate: 'ns=1;s={id}.{tag}', watchdogTimeoutS: 120 },
    stations,
    mains,
    interconnections,
    tanks,
    plants,
    catchments,
    dwfPatterns: structuredClone(DWF_PATTERNS),
    analysers,
  };
  // The generator must only ever produce valid networks; a failure here is a bug in this file.
  return parseNetwork(network, `generateNetwork({ stations: ${n}, seed: ${seed} })`);
}
