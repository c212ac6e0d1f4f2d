// Validation of a network description: schema first, then the graph and physical cross-checks.
// Every problem is listed (path, value, reason) so an engineer can fix the file in one pass.
import type { TSchema } from 'typebox';
import Value from 'typebox/value';
import { dayCalendarIssues } from './day-calendar.js';
import { MIN_LEVEL_BAND_GAP_M, NetworkConfig } from './schema.js';
import type { Envelope, NetworkConfig as Network } from './schema.js';
import { taggedObjects } from './tags.js';

export interface ConfigIssue {
  path: string;
  value: unknown;
  reason: string;
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(
    readonly source: string,
    readonly issues: readonly ConfigIssue[],
  ) {
    super(`${source}: ${issues.length} problem${issues.length === 1 ? '' : 's'}\n${issues.map(formatIssue).join('\n')}`);
  }
}

export function formatIssue(issue: ConfigIssue): string {
  const value = issue.value === undefined ? '' : ` (value: ${JSON.stringify(issue.value)?.slice(0, 120)})`;
  return `  ${issue.path || '/'}: ${issue.reason}${value}`;
}

function valueAt(root: unknown, pointer: string): unknown {
  let node: unknown = root;
  for (const raw of pointer.split('/').slice(1)) {
    const key = raw.replaceAll('~1', '/').replaceAll('~0', '~');
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  return node;
}

/** Schema problems of untrusted JSON as path + value + reason, one entry per problem. */
export function schemaIssues(schema: TSchema, input: unknown): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const seen = new Set<string>();
  for (const error of Value.Errors(schema, input)) {
    // additionalProperties is reported twice (once as a boolean schema); keep the readable one.
    if (error.keyword === 'boolean') continue;
    let path = error.instancePath;
    let reason = error.message;
    const params = error.params as Record<string, unknown>;
    if (error.keyword === 'additionalProperties' && Array.isArray(params['additionalProperties'])) {
      for (const extra of params['additionalProperties'] as string[]) {
        const key = `${path}/${extra}|unknown`;
        if (!seen.has(key)) {
          seen.add(key);
          issues.push({ path: `${path}/${extra}`, value: valueAt(input, `${path}/${extra}`), reason: 'unknown property' });
        }
      }
      continue;
    }
    if (error.keyword === 'required' && Array.isArray(params['requiredProperties'])) {
      path = `${path}/${(params['requiredProperties'] as string[]).join(',')}`;
      reason = 'required property is missing';
    }
    const key = `${path}|${reason}`;
    if (seen.has(key)) continue;
    seen.add(key);
    issues.push({ path, value: error.keyword === 'required' ? undefined : valueAt(input, error.instancePath), reason });
  }
  return issues;
}

/** Validate untrusted JSON as a network; returns the typed network or throws ConfigError listing every problem. */
export function parseNetwork(input: unknown, source = 'network'): Network {
  const schemaProblems = schemaIssues(NetworkConfig, input);
  if (schemaProblems.length > 0) throw new ConfigError(source, schemaProblems);
  const network = input as Network;
  const graphIssues = crossCheck(network);
  if (graphIssues.length > 0) throw new ConfigError(source, graphIssues);
  return network;
}

function checkEnvelope(issues: ConfigIssue[], path: string, envelope: Envelope, within?: { min: number; max: number; what: string }) {
  if (envelope.min > envelope.max) issues.push({ path, value: envelope, reason: 'envelope min is above max' });
  if (within && (envelope.min < within.min || envelope.max > within.max)) {
    issues.push({ path, value: envelope, reason: `envelope must lie within ${within.what} [${within.min}, ${within.max}]` });
  }
}

function minutesOf(clock: string): number {
  const [h, m] = clock.split(':').map(Number);
  return (h ?? 0) * 60 + (m ?? 0);
}

/** Graph and physics checks that a schema cannot express. */
export function crossCheck(n: Network): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const push = (path: string, value: unknown, reason: string) => issues.push({ path, value, reason });

  const nodeKinds = new Map<string, string>();
  const claim = (id: string, kind: string, path: string) => {
    const existing = nodeKinds.get(id);
    if (existing) push(path, id, `duplicate id: already used by a ${existing}`);
    else nodeKinds.set(id, kind);
  };
  n.stations.forEach((s, i) => claim(s.id, 'station', `/stations/${i}/id`));
  n.tanks.forEach((t, i) => claim(t.id, 'tank', `/tanks/${i}/id`));
  n.plants.forEach((p, i) => claim(p.id, 'plant', `/plants/${i}/id`));
  n.interconnections.forEach((x, i) => claim(x.id, 'interconnection', `/interconnections/${i}/id`));
  n.analysers.forEach((a, i) => claim(a.id, 'analyser', `/analysers/${i}/id`));
  n.catchments.forEach((c, i) => claim(c.id, 'catchment', `/catchments/${i}/id`));
  const mainIds = new Set<string>();
  n.mains.forEach((m, i) => {
    if (mainIds.has(m.id) || nodeKinds.has(m.id)) push(`/mains/${i}/id`, m.id, 'duplicate id');
    mainIds.add(m.id);
  });

  // Systems and DWF patterns are looked up by id: a repeated id would make two readers pick different entries.
  const firstIds = (items: readonly { id: string }[], base: string, what: string) => {
    const seen = new Set<string>();
    items.forEach((item, i) => {
      if (seen.has(item.id)) push(`${base}/${i}/id`, item.id, `duplicate ${what} id`);
      seen.add(item.id);
    });
  };
  firstIds(n.systems, '/systems', 'system');
  firstIds(n.dwfPatterns, '/dwfPatterns', 'DWF pattern');
  const systems = new Set(n.systems.map((s) => s.id));
  const isStation = (id: string) => nodeKinds.get(id) === 'station';
  const isHydraulicNode = (id: string) => ['station', 'tank', 'plant'].includes(nodeKinds.get(id) ?? '');

  try {
    new Intl.DateTimeFormat('en', { timeZone: n.timezone });
  } catch {
    push('/timezone', n.timezone, 'not a valid IANA time zone');
  }

  // Tariff: periods must cover the day exactly once.
  const covered = new Array<number>(24 * 60).fill(0);
  n.tariff.periods.forEach((p, i) =>
    p.ranges.forEach((r, j) => {
      const from = minutesOf(r.from);
      const to = minutesOf(r.to);
      if (from >= to) push(`/tariff/periods/${i}/ranges/${j}`, r, 'range must end after it starts (split ranges that cross midnight)');
      for (let m = from; m < Math.min(to, 24 * 60); m++) covered[m] = (covered[m] ?? 0) + 1;
    }),
  );
  const gap = covered.findIndex((c) => c === 0);
  const overlap = covered.findIndex((c) => c > 1);
  const hhmm = (m: number) => `${String(Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`;
  if (gap >= 0) push('/tariff/periods', hhmm(gap), 'tariff periods leave this time of day without a price');
  if (overlap >= 0) push('/tariff/periods', hhmm(overlap), 'tariff periods overlap at this time of day');

  const mainsById = new Map(n.mains.map((m) => [m.id, m]));
  n.mains.forEach((m, i) => {
    if (!isStation(m.from) && nodeKinds.get(m.from) !== 'tank') push(`/mains/${i}/from`, m.from, 'unknown station or tank');
    if (!isHydraulicNode(m.to)) push(`/mains/${i}/to`, m.to, 'unknown station, tank or plant');
    if (m.from === m.to) push(`/mains/${i}/to`, m.to, 'a main cannot discharge into the node it leaves');
  });
  // The planner sends a station's water down its dischargeMainId only, and a tank's down its one outlet main:
  // any other main leaving them would be drawn on the map and never carry water in a plan.
  const tankOutlet = new Map<string, string>();
  n.mains.forEach((m, i) => {
    const station = n.stations.find((s) => s.id === m.from);
    if (station && station.dischargeMainId !== m.id) push(`/mains/${i}/from`, m.from, `station ${m.from} discharges through ${station.dischargeMainId}; this second main would never be used (a station has one discharge main)`);
    if (nodeKinds.get(m.from) === 'tank') {
      const first = tankOutlet.get(m.from);
      if (first !== undefined) push(`/mains/${i}/from`, m.from, `tank ${m.from} already has outlet main ${first}; a second would never be used (a tank has one outlet main)`);
      else tankOutlet.set(m.from, m.id);
    }
  });

  n.stations.forEach((s, i) => {
    const p = `/stations/${i}`;
    if (!systems.has(s.system)) push(`${p}/system`, s.system, 'unknown system');
    const { pumpStopM, pumpStartM, highAlarmM, overflowM, floodSeasonStartM } = s.levels;
    if (!(pumpStopM < pumpStartM && pumpStartM < highAlarmM && highAlarmM < overflowM)) {
      push(`${p}/levels`, s.levels, 'levels out of order: need pumpStopM < pumpStartM < highAlarmM < overflowM');
    }
    if (floodSeasonStartM !== undefined && !(floodSeasonStartM > pumpStopM && floodSeasonStartM <= pumpStartM)) {
      push(`${p}/levels/floodSeasonStartM`, floodSeasonStartM, 'flood-season start level must lie above pumpStopM and not above pumpStartM');
    }
    if (s.wetWell.kind === 'table') {
      const pts = s.wetWell.points;
      for (let k = 1; k < pts.length; k++) {
        const a = pts[k - 1]!;
        const b = pts[k]!;
        if (!(b.levelM > a.levelM && b.volumeM3 >= a.volumeM3)) push(`${p}/wetWell/points/${k}`, b, 'level–volume table must increase in level and not decrease in volume');
      }
      const top = pts[pts.length - 1]!;
      if (top.levelM < overflowM) push(`${p}/wetWell/points`, top.levelM, `level–volume table must reach the overflow level ${overflowM} m`);
    }
    if (s.standbyPumps >= s.pumps.length) push(`${p}/standbyPumps`, s.standbyPumps, `a station needs at least one duty pump (it has ${s.pumps.length} pumps)`);
    const pumpIds = new Set<string>();
    s.pumps.forEach((pump, k) => {
      if (pumpIds.has(pump.id)) push(`${p}/pumps/${k}/id`, pump.id, 'duplicate pump id in station');
      pumpIds.add(pump.id);
      if (pump.kind === 'fixed' && pump.minSpeedFraction !== undefined) push(`${p}/pumps/${k}/minSpeedFraction`, pump.minSpeedFraction, 'only VFD pumps have a minimum speed');
    });
    const main = mainsById.get(s.dischargeMainId);
    if (!main) push(`${p}/dischargeMainId`, s.dischargeMainId, 'unknown main');
    else if (main.from !== s.id) push(`${p}/dischargeMainId`, s.dischargeMainId, `main ${main.id} leaves ${main.from}, not this station`);
    else if (main.to === s.id) push(`${p}/dischargeMainId`, s.dischargeMainId, 'station discharges into itself');
    const totalCapacityM3h = s.pumps.reduce((sum, pump) => sum + pump.capacityM3h, 0);
    checkEnvelope(issues, `${p}/envelope/startLevelM`, s.envelope.startLevelM, { min: pumpStopM, max: overflowM, what: 'pump-stop..overflow level' });
    checkEnvelope(issues, `${p}/envelope/stopLevelM`, s.envelope.stopLevelM, { min: pumpStopM, max: overflowM, what: 'pump-stop..overflow level' });
    // Every band sent keeps its start at least the least gap above its stop: the two envelopes must leave room.
    if (s.envelope.stopLevelM.min + MIN_LEVEL_BAND_GAP_M > s.envelope.startLevelM.max + 1e-9) {
      push(`${p}/envelope/stopLevelM/min`, s.envelope.stopLevelM.min, `leaves no band: a stop level must lie at least ${MIN_LEVEL_BAND_GAP_M} m below a start level, and the start envelope's max is ${s.envelope.startLevelM.max}`);
    }
    if (pumpStartM - pumpStopM < MIN_LEVEL_BAND_GAP_M - 1e-9) {
      push(`${p}/levels/pumpStartM`, pumpStartM, `must lie at least ${MIN_LEVEL_BAND_GAP_M} m above pumpStopM (${pumpStopM})`);
    }
    checkEnvelope(issues, `${p}/envelope/flowSetpointM3h`, s.envelope.flowSetpointM3h, { min: 0, max: totalCapacityM3h, what: 'installed pump capacity' });
  });

  // Every station, and every tank with an outlet main, must reach a plant along the mains (through tanks'
  // outlet mains too), without a cycle: otherwise its water has nowhere to go but overflow.
  const stationById = new Map(n.stations.map((s) => [s.id, s]));
  const walk = (startId: string, path: string, value: string) => {
    const visited = new Set<string>([startId]);
    let current = startId;
    for (;;) {
      const kind = nodeKinds.get(current);
      if (kind === 'plant') return;
      let main;
      if (kind === 'station') {
        main = mainsById.get(stationById.get(current)!.dischargeMainId);
        if (!main || main.from !== current) return; // reported at the station
      } else if (kind === 'tank') {
        const outlet = tankOutlet.get(current);
        if (outlet === undefined) return push(path, value, `discharge path ends at tank ${current}, which has no outlet main`);
        main = mainsById.get(outlet)!;
      } else return; // an unknown node, reported at the main
      if (visited.has(main.to)) return push(path, value, `discharge path forms a cycle through ${main.to} and never reaches a plant`);
      visited.add(main.to);
      current = main.to;
    }
  };
  n.stations.forEach((s, i) => walk(s.id, `/stations/${i}/dischargeMainId`, s.dischargeMainId));
  n.tanks.forEach((t, i) => {
    const outlet = tankOutlet.get(t.id);
    if (outlet !== undefined) walk(t.id, `/tanks/${i}`, outlet);
  });

  n.interconnections.forEach((x, i) => {
    const p = `/interconnections/${i}`;
    if (!isStation(x.a)) push(`${p}/a`, x.a, 'unknown station');
    if (!isStation(x.b)) push(`${p}/b`, x.b, 'unknown station');
    if (x.a === x.b) push(`${p}/b`, x.b, 'an interconnection joins two different stations');
    checkEnvelope(issues, `${p}/envelope/transferM3h`, x.envelope.transferM3h, { min: -x.capacityM3h, max: x.capacityM3h, what: '±capacity' });
  });

  n.tanks.forEach((t, i) => {
    const p = `/tanks/${i}`;
    if (!['station', 'plant'].includes(nodeKinds.get(t.node) ?? '')) push(`${p}/node`, t.node, 'unknown station or plant the tank is connected to');
    // overflowTo: the node the weir spills into; omitted, the spill leaves the network (to a receiving water).
    if (t.overflowTo !== undefined && !isHydraulicNode(t.overflowTo)) push(`${p}/overflowTo`, t.overflowTo, 'unknown station, tank or plant (omit overflowTo when the weir spills to a receiving water, out of the network)');
    else if (t.overflowTo === t.id || t.overflowTo === t.node) push(`${p}/overflowTo`, t.overflowTo, `a weir cannot spill back into ${t.overflowTo === t.id ? 'its own tank' : "the tank's own node"}`);
    checkEnvelope(issues, `${p}/envelope/inletM3h`, t.envelope.inletM3h, { min: 0, max: t.inletMaxM3h, what: 'inlet capacity' });
    checkEnvelope(issues, `${p}/envelope/outletM3h`, t.envelope.outletM3h, { min: 0, max: t.outletMaxM3h, what: 'outlet capacity' });
  });

  n.plants.forEach((pl, i) => {
    if (!systems.has(pl.system)) push(`/plants/${i}/system`, pl.system, 'unknown system');
    if (pl.preferredInflowM3h > pl.capacityM3h) push(`/plants/${i}/preferredInflowM3h`, pl.preferredInflowM3h, 'preferred inflow exceeds capacity');
  });

  const patterns = new Set(n.dwfPatterns.map((pt) => pt.id));
  n.dwfPatterns.forEach((pt, i) => {
    for (const key of ['weekdayHourly', 'weekendHourly'] as const) {
      const mean = pt[key].reduce((a, b) => a + b, 0) / 24;
      if (Math.abs(mean - 1) > 0.02) push(`/dwfPatterns/${i}/${key}`, Number(mean.toFixed(3)), 'hourly multipliers must average 1 (±0.02)');
    }
  });
  n.catchments.forEach((c, i) => {
    if (!isStation(c.node)) push(`/catchments/${i}/node`, c.node, 'unknown station');
    if (!patterns.has(c.dwf.pattern)) push(`/catchments/${i}/dwf/pattern`, c.dwf.pattern, 'unknown DWF pattern');
  });

  if (n.dayCalendar) issues.push(...dayCalendarIssues(n.dayCalendar, '/dayCalendar'));

  // OPC UA tag overrides carry the SCADA mapping: a misspelt tag would silently fall back to the template, and
  // two tags on one NodeId would write one object's setpoint to another's.
  const owners = new Map<string, string>();
  for (const object of taggedObjects(n)) {
    const names = new Set(object.defs.map((d) => d.tag));
    for (const key of Object.keys(object.overrides ?? {})) {
      if (!names.has(key)) push(`${object.path}/tags/${key}`, key, `not a ${object.kind} tag; valid names: ${[...names].join(', ')}`);
    }
    for (const def of object.defs) {
      const override = object.overrides?.[def.tag];
      const nodeId = override ?? n.opcua.nodeIdTemplate.replaceAll('{id}', object.id).replaceAll('{tag}', def.tag);
      const owner = `${object.id}.${def.tag}`;
      const first = owners.get(nodeId);
      if (first !== undefined) push(override === undefined ? '/opcua/nodeIdTemplate' : `${object.path}/tags/${def.tag}`, nodeId, `NodeId of ${owner} is already the NodeId of ${first}`);
      else owners.set(nodeId, owner);
    }
  }

  n.analysers.forEach((a, i) => {
    if (!isHydraulicNode(a.node)) push(`/analysers/${i}/node`, a.node, 'unknown station, tank or plant');
    for (const param of a.parameters) {
      if (a.dryWeather[param] === undefined) push(`/analysers/${i}/dryWeather`, param, 'missing typical dry-weather value for a measured parameter');
    }
  });

  return issues;
}
