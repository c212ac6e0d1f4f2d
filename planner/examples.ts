// Small networks with answers that can be worked out by hand: for tests, docs and trying the CLI.
// Everything is plain configuration, validated by the same schema as a utility's own network.
import type { NetworkConfig, PumpStation, StorageTank } from '../network/schema.js';
import { parseNetwork } from '../network/validate.js';

export interface ExampleStation {
  id: string;
  areaM2: number;
  pumpCount: number;
  pumpM3h: number;
  standbyPumps?: number;
  kind?: 'fixed' | 'vfd';
  /** Station, tank or plant it discharges to, and the travel time of that main. */
  to: string;
  travelMin?: number;
  mainCapacityM3h?: number;
  specificEnergyKwhM3?: number;
  /** Default: stop 1, start 2, high alarm 3.5, overflow 4 (m). */
  levels?: PumpStation['levels'];
}

export interface ExampleNetworkOptions {
  stations: ExampleStation[];
  plants: { id: string; capacityM3h: number; preferredInflowM3h?: number }[];
  tanks?: (Omit<StorageTank, 'name' | 'envelope'> & { outletMain?: { to: string; travelMin: number } })[];
  interconnections?: { id: string; a: string; b: string; capacityM3h: number; travelMin: number; specificEnergyKwhM3?: number }[];
  /** Local time zone; the default UTC makes tariff hours UTC hours. */
  timezone?: string;
  /** Default: valley 00:00–08:00 at 0.3, flat 08:00–24:00 at 1.0 CNY/kWh. */
  tariff?: NetworkConfig['tariff'];
  planning?: NetworkConfig['planning'];
}

const envelope = (min: number, max: number, maxChangePerMin: number) => ({ min, max, maxChangePerMin });

export function exampleNetwork(options: ExampleNetworkOptions): NetworkConfig {
  const stations: PumpStation[] = options.stations.map((s) => {
    const levels = s.levels ?? { pumpStopM: 1, pumpStartM: 2, highAlarmM: 3.5, overflowM: 4 };
    const total = s.pumpCount * s.pumpM3h;
    return {
      id: s.id,
      name: { zh: `${s.id}泵站`, en: `Station ${s.id}` },
      system: 'main',
      location: { latDeg: 30.7, lonDeg: 121 },
      wetWell: { kind: 'prismatic', areaM2: s.areaM2 },
      levels,
      pumps: Array.from({ length: s.pumpCount }, (_, i) => ({ id: `P${i + 1}`, kind: s.kind ?? 'fixed', capacityM3h: s.pumpM3h, ...(s.kind === 'vfd' ? { minSpeedFraction: 0.3 } : {}) })),
      standbyPumps: s.standbyPumps ?? 0,
      specificEnergyKwhM3: s.specificEnergyKwhM3 ?? 0.1,
      maxStartsPerHour: 6,
      dischargeMainId: `M-${s.id}`,
      envelope: {
        startLevelM: envelope(levels.pumpStopM, levels.highAlarmM, 1),
        stopLevelM: envelope(levels.pumpStopM, levels.highAlarmM, 1),
        flowSetpointM3h: envelope(0, total, total),
      },
    };
  });
  const mains = options.stations.map((s) => ({
    id: `M-${s.id}`,
    from: s.id,
    to: s.to,
    kind: 'force' as const,
    travelMin: s.travelMin ?? 0,
    capacityM3h: s.mainCapacityM3h ?? s.pumpCount * s.pumpM3h * 1.1,
  }));
  const tanks: StorageTank[] = (options.tanks ?? []).map(({ outletMain, ...t }) => {
    if (outletMain) mains.push({ id: `M-${t.id}`, from: t.id, to: outletMain.to, kind: 'force', travelMin: outletMain.travelMin, capacityM3h: t.outletMaxM3h });
    return { ...t, name: { zh: `${t.id}调蓄池`, en: `Tank ${t.id}` }, envelope: { inletM3h: envelope(0, t.inletMaxM3h, t.inletMaxM3h), outletM3h: envelope(0, t.outletMaxM3h, t.outletMaxM3h) } };
  });
  const config: NetworkConfig = {
    schemaVersion: 1,
    id: 'example',
    name: { zh: '示例管网', en: 'Example network' },
    timezone: options.timezone ?? 'UTC',
    systems: [{ id: 'main', name: { zh: '主系统', en: 'Main system' } }],
    planning: options.planning ?? { stepMin: 60, horizonH: 24, cycleMin: 60 },
    tariff: options.tariff ?? {
      periods: [
        { name: 'valley', priceCnyPerKwh: 0.3, ranges: [{ from: '00:00', to: '08:00' }] },
        { name: 'flat', priceCnyPerKwh: 1, ranges: [{ from: '08:00', to: '24:00' }] },
      ],
    },
    opcua: { namespaceUri: 'urn:example', nodeIdTemplate: 'ns=1;s={id}.{tag}', watchdogTimeoutS: 120 },
    stations,
    mains,
    interconnections: (options.interconnections ?? []).map((x) => ({
      id: x.id,
      name: { zh: `${x.id}互联`, en: `Link ${x.id}` },
      a: x.a,
      b: x.b,
      capacityM3h: x.capacityM3h,
      travelMin: x.travelMin,
      specificEnergyKwhM3: x.specificEnergyKwhM3 ?? 0.05,
      envelope: { transferM3h: envelope(-x.capacityM3h, x.capacityM3h, x.capacityM3h) },
    })),
    tanks,
    plants: options.plants.map((p) => ({
      id: p.id,
      name: { zh: `${p.id}污水厂`, en: `Plant ${p.id}` },
      system: 'main',
      location: { latDeg: 30.7, lonDeg: 121.1 },
      capacityM3h: p.capacityM3h,
      preferredInflowM3h: p.preferredInflowM3h ?? p.capacityM3h / 2,
    })),
    catchments: [],
    dwfPatterns: [],
    analysers: [],
  };
  return parseNetwork(config, 'example network');
}
