// The planner's input files (state, inflow, dispatcher constraints): TypeBox schemas, validation against the
// network with every problem listed as path + value + reason (ConfigError, as for network files), and the
// conversion to and from the planner's types. Times in files are ISO 8601 with a zone; inside, UTC ms.
import Type from 'typebox';
import type { TSchema } from 'typebox';
import type { NetworkConfig, PumpStation } from '../network/schema.js';
import { ConfigError, schemaIssues, type ConfigIssue } from '../network/validate.js';
import type { DispatcherConstraints } from './formulation.js';
import type { InflowForecast } from './inflow.js';
import type { PlannerState } from './mpc.js';
import type { LocalisedText, Plan } from './types.js';

const Id = Type.String({ pattern: '^[A-Za-z][A-Za-z0-9_-]{0,31}$' });
/** ISO 8601 with a zone: the files' times, and the CLI's --now. */
export const IsoTimePattern = '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}(:\\d{2}(\\.\\d+)?)?(Z|[+-]\\d{2}:\\d{2})$';
const IsoTime = Type.String({
  pattern: IsoTimePattern,
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

const Localised = Type.Object({ zh: Type.String(), en: Type.String() });
const UtcMs = Type.Integer({ minimum: 0, description: 'UTC milliseconds' });

/**
 * A plan read back as --previous (the optimiser's fallback when it fails): the fields the fallback uses are
 * checked; other fields a plan carries (predicted, solver, ...) are allowed and not read.
 */
export const PreviousPlanFile = Type.Object({
  planId: Type.String({ minLength: 1 }),
  networkId: Id,
  planner: Type.Union([Type.Literal('rule-based'), Type.Literal('mpc')]),
  operatingMode: Type.Union([Type.Literal('normal'), Type.Literal('flood-drawdown')]),
  stepMin: Type.Integer({ minimum: 1, maximum: 1440, description: 'Step length, min' }),
  basis: Type.Object({ telemetryAtUtcMs: Type.Number(), forecastIssuedAtUtcMs: Nullable(Type.Number()), forecastSource: Type.String() }),
  steps: Type.Array(
    Type.Object({
      startUtcMs: UtcMs,
      durationMin: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 1440 })),
      stations: Type.Array(
        Type.Object({
          stationId: Id,
          remoteControl: Type.Union([Type.Literal('levelBand'), Type.Literal('flow')]),
          startLevelM: Type.Number({ minimum: 0 }),
          stopLevelM: Type.Number({ minimum: 0 }),
          flowM3h: Type.Number({ minimum: 0 }),
          pumpsAllowed: Type.Integer({ minimum: 0 }),
        }),
      ),
      transfers: Type.Array(Type.Object({ interconnectionId: Id, transferM3h: Type.Number() })),
      tanks: Type.Array(Type.Object({ tankId: Id, inletM3h: Type.Number({ minimum: 0 }), outletM3h: Type.Number({ minimum: 0 }) })),
    }),
    // A week of one-minute steps, and a little over: the longest plan the network schema allows.
    { minItems: 1, maxItems: 168 * 60 + 60 },
  ),
  reasons: Type.Array(Type.Object({ objectId: Type.String(), reason: Localised })),
  clamped: Type.Array(Type.Unknown()),
});
export type PreviousPlanFile = Type.Static<typeof PreviousPlanFile>;

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

/**
 * A flow in a state file above this multiple of what is installed (pumps, a tank's gate, an interconnection)
 * is a unit or sensor error, not a reading: refused. Up to it, a meter reading somewhat high is planned on.
 */
export const FLOW_PLAUSIBLE_FACTOR = 2;
/**
 * An inflow above this multiple of everything the network can carry (all plants plus all pumps) at one node is
 * refused: no storm does that, and such values overflow the solver's arithmetic.
 */
export const INFLOW_PLAUSIBLE_FACTOR = 10;

const iso = (utcMs: number) => new Date(utcMs).toISOString();
const installedM3h = (station: PumpStation) => station.pumps.reduce((sum, p) => sum + p.capacityM3h, 0);

/**
 * A well's level can stand a little above its overflow level (the weir's head, a surcharged inlet sewer), not
 * metres: up to the larger of 0.5 m and 10 % of the top it is planned on (and noted), above it refused.
 */
function levelLimits(station: PumpStation): { topM: number; limitM: number } {
  const tableTopM = station.wetWell.kind === 'table' ? (station.wetWell.points.at(-1)?.levelM ?? 0) : 0;
  const topM = Math.max(station.levels.overflowM, tableTopM);
  return { topM, limitM: topM + Math.max(0.5, 0.1 * topM) };
}

/** One issue for the first value of a series above the limit (not one per value of a day of history). */
function firstAbove(issues: ConfigIssue[], values: readonly number[] | undefined, base: string, limit: number, reason: string, signed: boolean) {
  const k = (values ?? []).findIndex((v) => (signed ? Math.abs(v) : v) > limit);
  if (k >= 0) issues.push({ path: `${base}/${k}`, value: values![k], reason });
}

/**
 * What a valid state file makes the planner assume, for plan.assumptions: a level above the overflow level
 * (within the margin parseStateFile accepts) is planned as a full well.
 */
export function stateNotes(state: PlannerState, network: NetworkConfig): LocalisedText[] {
  const notes: LocalisedText[] = [];
  for (const st of state.stations) {
    const station = network.stations.find((s) => s.id === st.stationId);
    if (!station || st.levelM === null || st.levelM === undefined) continue;
    const { topM } = levelLimits(station);
    if (st.levelM > station.levels.overflowM) {
      notes.push({
        en: `${st.stationId} level ${st.levelM} m is above its overflow level ${station.levels.overflowM} m${st.levelM > topM ? ` and the well's top ${topM} m` : ''}: planned as a full well; check the level sensor.`,
        zh: `${st.stationId}液位${st.levelM}米高于溢流液位${station.levels.overflowM}米${st.levelM > topM ? `及井顶${topM}米` : ''}：按满井计划，请核查液位计。`,
      });
    }
  }
  return notes;
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
    // Wrong units (mm for m, L/s for m³/h) and absurd sensor values are refused rather than planned on.
    const { topM, limitM } = levelLimits(station);
    for (const key of ['levelM', 'startLevelSpM', 'stopLevelSpM'] as const) {
      const v = st[key];
      if (typeof v === 'number' && v > limitM) issues.push({ path: `/stations/${i}/${key}`, value: v, reason: `more than ${(limitM - topM).toFixed(2)} m above the well's overflow level or top (${topM} m): not a plausible level in metres` });
    }
    const pumpsM3h = installedM3h(station);
    const what = `beyond ${FLOW_PLAUSIBLE_FACTOR}× the station's installed pump capacity of ${pumpsM3h} m³/h`;
    for (const key of ['outflowM3h', 'flowSpM3h'] as const) {
      const v = st[key];
      if (typeof v === 'number' && v > FLOW_PLAUSIBLE_FACTOR * pumpsM3h) issues.push({ path: `/stations/${i}/${key}`, value: v, reason: what });
    }
    firstAbove(issues, st.recentOutflowM3h?.valuesM3h, `/stations/${i}/recentOutflowM3h/valuesM3h`, FLOW_PLAUSIBLE_FACTOR * pumpsM3h, what, false);
  });
  duplicates(issues, file.stations, (s) => s.stationId, (i) => `/stations/${i}/stationId`, 'station');
  (file.tanks ?? []).forEach((t, i) => {
    const tank = network.tanks.find((x) => x.id === t.tankId);
    if (!tank) issues.push({ path: `/tanks/${i}/tankId`, value: t.tankId, reason: 'unknown tank in this network' });
    else {
      if (t.volumeM3 !== null && t.volumeM3 > tank.capacityM3) issues.push({ path: `/tanks/${i}/volumeM3`, value: t.volumeM3, reason: `above the tank's capacity of ${tank.capacityM3} m³` });
      if (typeof t.inletSpM3h === 'number' && t.inletSpM3h > FLOW_PLAUSIBLE_FACTOR * tank.inletMaxM3h) {
        issues.push({ path: `/tanks/${i}/inletSpM3h`, value: t.inletSpM3h, reason: `beyond ${FLOW_PLAUSIBLE_FACTOR}× the tank's inlet capacity of ${tank.inletMaxM3h} m³/h` });
      }
      if (typeof t.outletSpM3h === 'number' && t.outletSpM3h > FLOW_PLAUSIBLE_FACTOR * tank.outletMaxM3h) {
        issues.push({ path: `/tanks/${i}/outletSpM3h`, value: t.outletSpM3h, reason: `beyond ${FLOW_PLAUSIBLE_FACTOR}× the tank's outlet capacity of ${tank.outletMaxM3h} m³/h` });
      }
    }
  });
  duplicates(issues, file.tanks ?? [], (t) => t.tankId, (i) => `/tanks/${i}/tankId`, 'tank');
  (file.transfers ?? []).forEach((x, i) => {
    const link = network.interconnections.find((n) => n.id === x.interconnectionId);
    if (!link) return issues.push({ path: `/transfers/${i}/interconnectionId`, value: x.interconnectionId, reason: 'unknown interconnection in this network' });
    const limit = FLOW_PLAUSIBLE_FACTOR * link.capacityM3h;
    const what = `beyond ${FLOW_PLAUSIBLE_FACTOR}× the interconnection's capacity of ${link.capacityM3h} m³/h`;
    if (x.transferM3h !== null && Math.abs(x.transferM3h) > limit) issues.push({ path: `/transfers/${i}/transferM3h`, value: x.transferM3h, reason: what });
    firstAbove(issues, x.recentTransferM3h?.valuesM3h, `/transfers/${i}/recentTransferM3h/valuesM3h`, limit, what, true);
  });
  duplicates(issues, file.transfers ?? [], (x) => x.interconnectionId, (i) => `/transfers/${i}/interconnectionId`, 'interconnection');
  if (issues.length > 0) throw new ConfigError(source, issues);
  return {
    readAtUtcMs,
    stations: file.stations.map((s) => ({ ...s, ...(s.recentOutflowM3h ? { recentOutflowM3h: { stepMin: s.recentOutflowM3h.stepMin, valuesM3h: [...s.recentOutflowM3h.valuesM3h] } } : {}) })),
    tanks: (file.tanks ?? []).map((t) => ({ ...t })),
    transfers: (file.transfers ?? []).map((x) => ({ ...x, ...(x.recentTransferM3h ? { recentTransferM3h: { stepMin: x.recentTransferM3h.stepMin, valuesM3h: [...x.recentTransferM3h.valuesM3h] } } : {}) })),
  };
}

/**
 * Validate an inflow file against its schema and the network; returns the forecast or throws ConfigError.
 * Ensemble members must give the same nodes with the same number of values as `series` (a member with a node
 * missing would be planned on zero or dry-weather inflow there, as if it were a forecast). With `series` empty
 * and members given, the members are compared with the first, which the planner uses as the deterministic
 * scenario; with neither, every node gets its catchments' dry-weather flow. With `horizon` (known to
 * the CLI once it has the state and --now), a forecast that lies wholly before or after it is refused: its
 * edge values would be held over the whole horizon.
 */
export function parseInflowFile(input: unknown, network: NetworkConfig, source = 'inflow', horizon?: { startUtcMs: number; endUtcMs: number }): InflowForecast {
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
  // Inflow beyond what the whole network carries is a unit error; it would also overflow the LP's sums.
  const networkM3h = network.plants.reduce((sum, p) => sum + p.capacityM3h, 0) + network.stations.reduce((sum, s) => sum + installedM3h(s), 0);
  const inflowLimit = INFLOW_PLAUSIBLE_FACTOR * networkM3h;
  const checkValues = (series: InflowFile['series'], base: string) =>
    series.forEach((s, i) => firstAbove(issues, s.flowM3h, `${base}/${i}/flowM3h`, inflowLimit, `beyond ${INFLOW_PLAUSIBLE_FACTOR}× what the whole network carries (${networkM3h} m³/h of plants and pumps)`, false));
  checkValues(file.series, '/series');
  // Members are compared with the deterministic series, or with the first member when `series` is empty (the
  // planner then shows and costs the first member in its place, and says so).
  const reference = file.series.length > 0 ? { series: file.series, what: 'the deterministic series' } : { series: file.members?.[0]?.series ?? [], what: 'the first member' };
  const lengths = new Map(reference.series.map((s) => [s.nodeId, s.flowM3h.length]));
  (file.members ?? []).forEach((m, j) => {
    checkValues(m.series, `/members/${j}/series`);
    if (m.series === reference.series) return;
    const given = new Set(m.series.map((s) => s.nodeId));
    const missing = [...lengths.keys()].filter((id) => !given.has(id));
    if (missing.length > 0) issues.push({ path: `/members/${j}/series`, value: missing, reason: `member has no series for these nodes of ${reference.what}: every member must give the same nodes` });
    m.series.forEach((s, i) => {
      const want = lengths.get(s.nodeId);
      if (want === undefined) issues.push({ path: `/members/${j}/series/${i}/nodeId`, value: s.nodeId, reason: `node not in ${reference.what}: every member must give the same nodes` });
      else if (s.flowM3h.length !== want) issues.push({ path: `/members/${j}/series/${i}/flowM3h`, value: s.flowM3h.length, reason: `member gives ${s.flowM3h.length} values, ${reference.what} for ${s.nodeId} ${want}: every member must cover the same steps` });
    });
  });
  duplicates(issues, file.members ?? [], (m) => m.id, (j) => `/members/${j}/id`, 'member id');
  if ((file.members ?? []).some((m) => m.id === 'deterministic')) {
    issues.push({ path: `/members/${(file.members ?? []).findIndex((m) => m.id === 'deterministic')}/id`, value: 'deterministic', reason: 'reserved for the deterministic series' });
  }
  const longest = Math.max(0, ...file.series.map((s) => s.flowM3h.length), ...(file.members ?? []).flatMap((m) => m.series.map((s) => s.flowM3h.length)));
  if (horizon && longest > 0 && Number.isFinite(startUtcMs)) {
    const endUtcMs = startUtcMs + longest * file.stepMin * 60_000;
    const span = `the plan runs ${iso(horizon.startUtcMs)} to ${iso(horizon.endUtcMs)}`;
    if (endUtcMs <= horizon.startUtcMs) issues.push({ path: '/startUtc', value: file.startUtc, reason: `forecast ends at ${iso(endUtcMs)}, before the plan starts (${span}): a stale forecast` });
    else if (startUtcMs >= horizon.endUtcMs) issues.push({ path: '/startUtc', value: file.startUtc, reason: `forecast starts after the plan's horizon ends (${span})` });
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

/**
 * Validate a previous plan (--previous) against its schema and the network: same network id, known ids, steps
 * in time order, and every setpoint within the network's physical range (levels pump-stop..overflow, flows up
 * to what is installed). Inside that range the fallback re-clamps each step to the envelope in force (a plan
 * may have been made under older, wider envelopes); beyond it the file is not a plan for this network.
 */
export function parsePreviousPlan(input: unknown, network: NetworkConfig, source = 'previous plan'): Plan {
  const issues = schemaIssues(PreviousPlanFile, input);
  if (issues.length > 0) throw new ConfigError(source, issues);
  const plan = input as Plan;
  if (plan.networkId !== network.id) issues.push({ path: '/networkId', value: plan.networkId, reason: `plan is for another network (this one is ${network.id})` });
  const stations = new Map(network.stations.map((s) => [s.id, s]));
  const tanks = new Map(network.tanks.map((t) => [t.id, t]));
  const links = new Map(network.interconnections.map((x) => [x.id, x]));
  const outside = (issuePath: string, value: number, min: number, max: number, what: string) => {
    if (!(value >= min - 1e-9 && value <= max + 1e-9)) issues.push({ path: issuePath, value, reason: `outside the network's physical range [${min}, ${max}] (${what})` });
  };
  plan.steps.forEach((step, k) => {
    const p = `/steps/${k}`;
    const before = plan.steps[k - 1];
    if (before && step.startUtcMs <= before.startUtcMs) issues.push({ path: `${p}/startUtcMs`, value: step.startUtcMs, reason: 'steps must start in time order' });
    step.stations.forEach((sp, i) => {
      const station = stations.get(sp.stationId);
      if (!station) return issues.push({ path: `${p}/stations/${i}/stationId`, value: sp.stationId, reason: 'unknown station in this network' });
      const { pumpStopM, overflowM } = station.levels;
      outside(`${p}/stations/${i}/startLevelM`, sp.startLevelM, pumpStopM, overflowM, 'pump-stop..overflow level');
      outside(`${p}/stations/${i}/stopLevelM`, sp.stopLevelM, pumpStopM, overflowM, 'pump-stop..overflow level');
      outside(`${p}/stations/${i}/flowM3h`, sp.flowM3h, 0, installedM3h(station), 'installed pump capacity');
      if (sp.pumpsAllowed > station.pumps.length) issues.push({ path: `${p}/stations/${i}/pumpsAllowed`, value: sp.pumpsAllowed, reason: `station has only ${station.pumps.length} pumps` });
    });
    step.tanks.forEach((t, i) => {
      const tank = tanks.get(t.tankId);
      if (!tank) return issues.push({ path: `${p}/tanks/${i}/tankId`, value: t.tankId, reason: 'unknown tank in this network' });
      outside(`${p}/tanks/${i}/inletM3h`, t.inletM3h, 0, tank.inletMaxM3h, 'inlet capacity');
      outside(`${p}/tanks/${i}/outletM3h`, t.outletM3h, 0, tank.outletMaxM3h, 'outlet capacity');
    });
    step.transfers.forEach((x, i) => {
      const link = links.get(x.interconnectionId);
      if (!link) return issues.push({ path: `${p}/transfers/${i}/interconnectionId`, value: x.interconnectionId, reason: 'unknown interconnection in this network' });
      outside(`${p}/transfers/${i}/transferM3h`, x.transferM3h, -link.capacityM3h, link.capacityM3h, '±capacity');
    });
    duplicates(issues, step.stations, (s) => s.stationId, (i) => `${p}/stations/${i}/stationId`, 'station');
    duplicates(issues, step.tanks, (t) => t.tankId, (i) => `${p}/tanks/${i}/tankId`, 'tank');
    duplicates(issues, step.transfers, (x) => x.interconnectionId, (i) => `${p}/transfers/${i}/interconnectionId`, 'interconnection');
  });
  // A plan edited by hand can carry thousands of problems: the first 50 tell what is wrong.
  if (issues.length > 50) issues.splice(50, issues.length - 50, { path: '', value: undefined, reason: `… and ${issues.length - 50} more problems` });
  if (issues.length > 0) throw new ConfigError(source, issues);
  return structuredClone(plan);
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
