// The planner's input files (state, inflow, dispatcher constraints): TypeBox schemas, validation against the
// network with every problem listed as path + value + reason (ConfigError, as for network files), and the
// conversion to and from the planner's types. Times in files are ISO 8601 with a zone; inside, UTC ms.
import Type from 'typebox';
import type { TSchema } from 'typebox';
import type { NetworkConfig } from '../network/schema.js';
import { ConfigError, schemaIssues, type ConfigIssue } from '../network/validate.js';
import type { DispatcherConstraints } from './formulation.js';
import type { InflowForecast } from './inflow.js';
import type { PlannerState } from './mpc.js';

const Id = Type.String({ pattern: '^[A-Za-z][A-Za-z0-9_-]{0,31}$' });
const IsoTime = Type.String({
  pattern: '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}(:\\d{2}(\\.\\d+)?)?(Z|[+-]\\d{2}:\\d{2})$',
  description: 'ISO 8601 time with a zone, e.g. 2026-07-01T02:00:00Z',
});
const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);
const Flow = Type.Number({ minimum: 0, description: 'm³/h' });

export const StateFile = Type.Object(
  {
    schemaVersion: Type.Literal(1),
    readAtUtc: IsoTime,
    stations: Type.Array(
      Type.Object(
        {
          stationId: Id,
          levelM: Nullable(Type.Number({ minimum: 0, description: 'Wet-well level above the floor; null when the sensor is bad' })),
          pumpsAvailable: Nullable(Type.Integer({ minimum: 0 })),
          mode: Nullable(Type.Union([Type.Literal('local'), Type.Literal('remote')])),
          outflowM3h: Type.Optional(Nullable(Flow)),
          pumpsRunning: Type.Optional(Nullable(Type.Integer({ minimum: 0 }))),
          startLevelSpM: Type.Optional(Nullable(Type.Number({ minimum: 0 }))),
          stopLevelSpM: Type.Optional(Nullable(Type.Number({ minimum: 0 }))),
          flowSpM3h: Type.Optional(Nullable(Flow)),
          recentOutflowM3h: Type.Optional(
            Nullable(
              Type.Object(
                {
                  stepMin: Type.Number({ exclusiveMinimum: 0, maximum: 60, description: 'Length of each step, min' }),
                  valuesM3h: Type.Array(Flow, { minItems: 1, maxItems: 1440, description: 'Mean pumped flow per step, oldest first, the last step ending at readAtUtc' }),
                },
                { additionalProperties: false, description: "Pumped flow over the recent past (at least the discharge main's travel time): what is in the main now" },
              ),
            ),
          ),
        },
        { additionalProperties: false },
      ),
    ),
    tanks: Type.Optional(
      Type.Array(
        Type.Object(
          { tankId: Id, volumeM3: Nullable(Type.Number({ minimum: 0 })), inletSpM3h: Type.Optional(Nullable(Flow)), outletSpM3h: Type.Optional(Nullable(Flow)) },
          { additionalProperties: false },
        ),
      ),
    ),
    transfers: Type.Optional(
      Type.Array(
        Type.Object(
          {
            interconnectionId: Id,
            transferM3h: Nullable(Type.Number()),
            recentTransferM3h: Type.Optional(
              Nullable(
                Type.Object(
                  {
                    stepMin: Type.Number({ exclusiveMinimum: 0, maximum: 60, description: 'Length of each step, min' }),
                    valuesM3h: Type.Array(Type.Number(), { minItems: 1, maxItems: 1440, description: 'Mean transfer per step, positive a → b, oldest first, the last step ending at readAtUtc' }),
                  },
                  { additionalProperties: false, description: "Transfer over the recent past (at least the interconnection's travel time): what is travelling across now" },
                ),
              ),
            ),
          },
          { additionalProperties: false },
        ),
      ),
    ),
  },
  { additionalProperties: false },
);
export type StateFile = Type.Static<typeof StateFile>;

const SeriesSet = Type.Array(
  Type.Object(
    {
      nodeId: Id,
      flowM3h: Type.Array(Flow, { minItems: 1, description: 'Mean inflow over each step' }),
    },
    { additionalProperties: false },
  ),
);

export const InflowFile = Type.Object(
  {
    schemaVersion: Type.Literal(1),
    startUtc: IsoTime,
    stepMin: Type.Integer({ minimum: 1, maximum: 1440 }),
    source: Type.Optional(Type.String()),
    issuedAtUtc: Type.Optional(IsoTime),
    series: SeriesSet,
    members: Type.Optional(Type.Array(Type.Object({ id: Id, series: SeriesSet }, { additionalProperties: false }))),
  },
  { additionalProperties: false },
);
export type InflowFile = Type.Static<typeof InflowFile>;

export const ConstraintsFile = Type.Object(
  {
    schemaVersion: Type.Literal(1),
    stationBands: Type.Optional(
      Type.Array(
        Type.Object(
          { stationId: Id, minLevelM: Type.Optional(Type.Number({ minimum: 0 })), maxLevelM: Type.Optional(Type.Number({ minimum: 0 })) },
          { additionalProperties: false },
        ),
      ),
    ),
    lockedStations: Type.Optional(Type.Array(Id)),
    transferCaps: Type.Optional(Type.Array(Type.Object({ interconnectionId: Id, maxAbsM3h: Flow }, { additionalProperties: false }))),
  },
  { additionalProperties: false },
);
export type ConstraintsFile = Type.Static<typeof ConstraintsFile>;

function isoToUtcMs(issues: ConfigIssue[], path: string, iso: string): number {
  const t = Date.parse(iso);
  if (!Number.isFinite(t)) issues.push({ path, value: iso, reason: 'not a valid date and time' });
  return t;
}

function duplicates<T>(issues: ConfigIssue[], items: readonly T[], key: (t: T) => string, path: (i: number) => string, what: string) {
  const seen = new Set<string>();
  items.forEach((item, i) => {
    const k = key(item);
    if (seen.has(k)) issues.push({ path: path(i), value: k, reason: `duplicate ${what}` });
    seen.add(k);
  });
}

/** Validate a state file against its schema and the network; returns the planner's state or throws ConfigError. */
export function parseStateFile(input: unknown, network: NetworkConfig, source = 'state'): PlannerState {
  const issues = schemaIssues(StateFile, input);
  if (issues.length > 0) throw new ConfigError(source, issues);
  const file = input as StateFile;
  const readAtUtcMs = isoToUtcMs(issues, '/readAtUtc', file.readAtUtc);
  const stations = new Map(network.stations.map((s) => [s.id, s]));
  file.stations.forEach((st, i) => {
    const station = stations.get(st.stationId);
    if (!station) return issues.push({ path: `/stations/${i}/stationId`, value: st.stationId, reason: 'unknown station in this network' });
    if (st.pumpsAvailable !== null && st.pumpsAvailable > station.pumps.length) {
      issues.push({ path: `/stations/${i}/pumpsAvailable`, value: st.pumpsAvailable, reason: `station has only ${station.pumps.length} pumps` });
    }
    if (st.pumpsRunning !== undefined && st.pumpsRunning !== null && st.pumpsRunning > station.pumps.length) {
      issues.push({ path: `/stations/${i}/pumpsRunning`, value: st.pumpsRunning, reason: `station has only ${station.pumps.length} pumps` });
    }
  });
  duplicates(issues, file.stations, (s) => s.stationId, (i) => `/stations/${i}/stationId`, 'station');
  (file.tanks ?? []).forEach((t, i) => {
    const tank = network.tanks.find((x) => x.id === t.tankId);
    if (!tank) issues.push({ path: `/tanks/${i}/tankId`, value: t.tankId, reason: 'unknown tank in this network' });
    else if (t.volumeM3 !== null && t.volumeM3 > tank.capacityM3) issues.push({ path: `/tanks/${i}/volumeM3`, value: t.volumeM3, reason: `above the tank's capacity of ${tank.capacityM3} m³` });
  });
  duplicates(issues, file.tanks ?? [], (t) => t.tankId, (i) => `/tanks/${i}/tankId`, 'tank');
  (file.transfers ?? []).forEach((x, i) => {
    if (!network.interconnections.some((n) => n.id === x.interconnectionId)) issues.push({ path: `/transfers/${i}/interconnectionId`, value: x.interconnectionId, reason: 'unknown interconnection in this network' });
  });
  if (issues.length > 0) throw new ConfigError(source, issues);
  return {
    readAtUtcMs,
    stations: file.stations.map((s) => ({ ...s, ...(s.recentOutflowM3h ? { recentOutflowM3h: { stepMin: s.recentOutflowM3h.stepMin, valuesM3h: [...s.recentOutflowM3h.valuesM3h] } } : {}) })),
    tanks: (file.tanks ?? []).map((t) => ({ ...t })),
    transfers: (file.transfers ?? []).map((x) => ({ ...x, ...(x.recentTransferM3h ? { recentTransferM3h: { stepMin: x.recentTransferM3h.stepMin, valuesM3h: [...x.recentTransferM3h.valuesM3h] } } : {}) })),
  };
}

/** Validate an inflow file against its schema and the network; returns the forecast or throws ConfigError. */
export function parseInflowFile(input: unknown, network: NetworkConfig, source = 'inflow'): InflowForecast {
  const issues = schemaIssues(InflowFile, input);
  if (issues.length > 0) throw new ConfigError(source, issues);
  const file = input as InflowFile;
  const startUtcMs = isoToUtcMs(issues, '/startUtc', file.startUtc);
  const issuedAtUtcMs = file.issuedAtUtc === undefined ? null : isoToUtcMs(issues, '/issuedAtUtc', file.issuedAtUtc);
  const nodes = new Set([...network.stations.map((s) => s.id), ...network.tanks.map((t) => t.id), ...network.plants.map((p) => p.id)]);
  const checkSet = (series: InflowFile['series'], base: string) => {
    series.forEach((s, i) => {
      if (!nodes.has(s.nodeId)) issues.push({ path: `${base}/${i}/nodeId`, value: s.nodeId, reason: 'unknown station, tank or plant in this network' });
    });
    duplicates(issues, series, (s) => s.nodeId, (i) => `${base}/${i}/nodeId`, 'node');
  };
  checkSet(file.series, '/series');
  (file.members ?? []).forEach((m, j) => checkSet(m.series, `/members/${j}/series`));
  duplicates(issues, file.members ?? [], (m) => m.id, (j) => `/members/${j}/id`, 'member id');
  if ((file.members ?? []).some((m) => m.id === 'deterministic')) {
    issues.push({ path: `/members/${(file.members ?? []).findIndex((m) => m.id === 'deterministic')}/id`, value: 'deterministic', reason: 'reserved for the deterministic series' });
  }
  if (issues.length > 0) throw new ConfigError(source, issues);
  const copy = (series: InflowFile['series']) => series.map((s) => ({ nodeId: s.nodeId, flowM3h: [...s.flowM3h] }));
  return {
    startUtcMs,
    stepMin: file.stepMin,
    series: copy(file.series),
    ...(file.members ? { members: file.members.map((m) => ({ id: m.id, series: copy(m.series) })) } : {}),
    ...(file.source === undefined ? {} : { source: file.source }),
    issuedAtUtcMs,
  };
}

/** Validate a dispatcher-constraints file; a band whose minimum is above its maximum is rejected here. */
export function parseConstraintsFile(input: unknown, network: NetworkConfig, source = 'constraints'): DispatcherConstraints {
  const issues = schemaIssues(ConstraintsFile, input);
  if (issues.length > 0) throw new ConfigError(source, issues);
  const file = input as ConstraintsFile;
  const stationIds = new Set(network.stations.map((s) => s.id));
  (file.stationBands ?? []).forEach((b, i) => {
    if (!stationIds.has(b.stationId)) issues.push({ path: `/stationBands/${i}/stationId`, value: b.stationId, reason: 'unknown station in this network' });
    if (b.minLevelM !== undefined && b.maxLevelM !== undefined && b.minLevelM > b.maxLevelM) issues.push({ path: `/stationBands/${i}`, value: b, reason: 'minLevelM is above maxLevelM' });
  });
  (file.lockedStations ?? []).forEach((id, i) => {
    if (!stationIds.has(id)) issues.push({ path: `/lockedStations/${i}`, value: id, reason: 'unknown station in this network' });
  });
  (file.transferCaps ?? []).forEach((c, i) => {
    if (!network.interconnections.some((x) => x.id === c.interconnectionId)) issues.push({ path: `/transferCaps/${i}/interconnectionId`, value: c.interconnectionId, reason: 'unknown interconnection in this network' });
  });
  if (issues.length > 0) throw new ConfigError(source, issues);
  return {
    ...(file.stationBands ? { stationBands: file.stationBands.map((b) => ({ ...b })) } : {}),
    ...(file.lockedStations ? { lockedStations: [...file.lockedStations] } : {}),
    ...(file.transferCaps ? { transferCaps: file.transferCaps.map((c) => ({ ...c })) } : {}),
  };
}

const iso = (utcMs: number) => new Date(utcMs).toISOString();

/** The file form of a planner state (inverse of parseStateFile). */
export function toStateFile(state: PlannerState): StateFile {
  return {
    schemaVersion: 1,
    readAtUtc: iso(state.readAtUtcMs),
    stations: state.stations.map((s) => ({
      stationId: s.stationId,
      levelM: s.levelM,
      pumpsAvailable: s.pumpsAvailable,
      mode: s.mode,
      ...(s.outflowM3h === undefined ? {} : { outflowM3h: s.outflowM3h }),
      ...(s.pumpsRunning === undefined ? {} : { pumpsRunning: s.pumpsRunning }),
      ...(s.startLevelSpM === undefined ? {} : { startLevelSpM: s.startLevelSpM }),
      ...(s.stopLevelSpM === undefined ? {} : { stopLevelSpM: s.stopLevelSpM }),
      ...(s.flowSpM3h === undefined ? {} : { flowSpM3h: s.flowSpM3h }),
      ...(s.recentOutflowM3h === undefined ? {} : { recentOutflowM3h: s.recentOutflowM3h === null ? null : { stepMin: s.recentOutflowM3h.stepMin, valuesM3h: [...s.recentOutflowM3h.valuesM3h] } }),
    })),
    ...(state.tanks ? { tanks: state.tanks.map((t) => ({ ...t })) } : {}),
    ...(state.transfers
      ? {
          transfers: state.transfers.map((x) => ({
            interconnectionId: x.interconnectionId,
            transferM3h: x.transferM3h,
            ...(x.recentTransferM3h === undefined ? {} : { recentTransferM3h: x.recentTransferM3h === null ? null : { stepMin: x.recentTransferM3h.stepMin, valuesM3h: [...x.recentTransferM3h.valuesM3h] } }),
          })),
        }
      : {}),
  };
}

/** The file form of an inflow forecast (inverse of parseInflowFile). */
export function toInflowFile(inflow: InflowForecast): InflowFile {
  return {
    schemaVersion: 1,
    startUtc: iso(inflow.startUtcMs),
    stepMin: inflow.stepMin,
    ...(inflow.source === undefined ? {} : { source: inflow.source }),
    ...(inflow.issuedAtUtcMs === undefined || inflow.issuedAtUtcMs === null ? {} : { issuedAtUtc: iso(inflow.issuedAtUtcMs) }),
    series: inflow.series.map((s) => ({ nodeId: s.nodeId, flowM3h: [...s.flowM3h] })),
    ...(inflow.members ? { members: inflow.members.map((m) => ({ id: m.id, series: m.series.map((s) => ({ nodeId: s.nodeId, flowM3h: [...s.flowM3h] })) })) } : {}),
  };
}
