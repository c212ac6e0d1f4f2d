// The network description a utility writes for its own sewer system: data, validated by this schema.
// Units are in the field names (M, M3, M3h, Min, Ha, Kwh, Cny); times of day are local wall-clock "HH:MM".
import Type from 'typebox';
import { DayCalendar } from './day-calendar.js';

const Id = Type.String({ pattern: '^[A-Za-z][A-Za-z0-9_-]{0,31}$', description: 'Stable identifier used in tags, plans and telemetry' });
const LocalisedName = Type.Object(
  { zh: Type.String({ minLength: 1 }), en: Type.String({ minLength: 1 }) },
  { additionalProperties: false },
);
const Location = Type.Object(
  { latDeg: Type.Number({ minimum: -90, maximum: 90 }), lonDeg: Type.Number({ minimum: -180, maximum: 180 }) },
  { additionalProperties: false },
);
const NonNegative = (description: string) => Type.Number({ minimum: 0, description });
const Positive = (description: string) => Type.Number({ exclusiveMinimum: 0, description });
const HourOfDayPattern = Type.Array(Type.Number({ minimum: 0 }), { minItems: 24, maxItems: 24, description: 'Multiplier of the mean for each local hour 0..23' });
const ClockTime = Type.String({ pattern: '^([01][0-9]|2[0-4]):[0-5][0-9]$', description: 'Local wall-clock time HH:MM (24:00 allowed as an end)' });

/** A setpoint's safety envelope: no value outside [min, max], no change faster than maxChangePerMin. */
export const Envelope = Type.Object(
  {
    min: Type.Number(),
    max: Type.Number(),
    maxChangePerMin: Positive('Largest change per minute between consecutive writes'),
  },
  { additionalProperties: false },
);

/**
 * The smallest gap between a station's start and stop levels that may go to a PLC. A band narrower than this
 * (or inverted: start below stop) makes a fixed-speed pump start and stop on every ripple of the well, or
 * never stop; the planners aim wider (0.05–0.2 m) and the dispatch refuses anything narrower.
 */
export const MIN_LEVEL_BAND_GAP_M = 0.05;

/** A VFD pump's lowest running speed when the network file gives none: a typical limit for sewage pumps. */
export const DEFAULT_VFD_MIN_SPEED_FRACTION = 0.3;
/**
 * A VFD station's PLC stops one of its running pumps when the flow asked for falls below this share of what one
 * pump fewer could give (the pump that starts at n·capacity stops at 0.9·n·capacity: hysteresis on the count).
 */
export const VFD_DESTAGE_FRACTION = 0.9;

export const Pump = Type.Object(
  {
    id: Id,
    kind: Type.Union([Type.Literal('fixed'), Type.Literal('vfd')]),
    capacityM3h: Positive('Flow at the duty point'),
    minSpeedFraction: Type.Optional(Type.Number({ minimum: 0, maximum: 1, description: 'VFD only: lowest running speed as a fraction of capacity' })),
  },
  { additionalProperties: false },
);

export const LevelVolumePoint = Type.Object(
  { levelM: NonNegative('Level above wet-well floor'), volumeM3: NonNegative('Stored volume at that level') },
  { additionalProperties: false },
);

export const StationTagOverrides = Type.Record(Type.String(), Type.String({ minLength: 1 }), {
  description: 'Per-tag NodeId overrides; keys are tag names from the tag template (e.g. levelM)',
});

export const PumpStation = Type.Object(
  {
    id: Id,
    name: LocalisedName,
    system: Id,
    location: Location,
    /** Either a prismatic wet well (area) or a level–volume table; usable storage is between pump-stop and overflow. */
    wetWell: Type.Union([
      Type.Object({ kind: Type.Literal('prismatic'), areaM2: Positive('Plan area of the wet well and in-line storage') }, { additionalProperties: false }),
      Type.Object({ kind: Type.Literal('table'), points: Type.Array(LevelVolumePoint, { minItems: 2 }) }, { additionalProperties: false }),
    ]),
    levels: Type.Object(
      {
        pumpStopM: NonNegative('Local control stops the last pump below this level'),
        pumpStartM: NonNegative('Local control starts a pump above this level'),
        highAlarmM: NonNegative('High-level alarm'),
        overflowM: NonNegative('Sanitary sewer overflow (SSO) level'),
        floodSeasonStartM: Type.Optional(NonNegative('Lower start level used while a rainstorm warning is in force (防汛应急水位)')),
      },
      { additionalProperties: false },
    ),
    pumps: Type.Array(Pump, { minItems: 1 }),
    standbyPumps: Type.Integer({ minimum: 0, description: 'Pumps kept as standby in normal duty' }),
    specificEnergyKwhM3: Positive('Electrical energy per m3 pumped'),
    maxStartsPerHour: Type.Integer({ minimum: 1 }),
    /** Where the station discharges: another station, a tank or a plant, through a main. */
    dischargeMainId: Id,
    envelope: Type.Object(
      {
        startLevelM: Envelope,
        stopLevelM: Envelope,
        flowSetpointM3h: Envelope,
      },
      { additionalProperties: false },
    ),
    tags: Type.Optional(StationTagOverrides),
  },
  { additionalProperties: false },
);

export const Main = Type.Object(
  {
    id: Id,
    from: Id,
    to: Id,
    kind: Type.Union([Type.Literal('gravity'), Type.Literal('force')]),
    travelMin: NonNegative('Travel time from upstream to downstream'),
    capacityM3h: Positive('Hydraulic capacity'),
  },
  { additionalProperties: false },
);

export const Interconnection = Type.Object(
  {
    id: Id,
    name: LocalisedName,
    /** Positive transfer flows from `a` to `b`, negative from `b` to `a`; one direction at a time. */
    a: Id,
    b: Id,
    capacityM3h: Positive('Largest transfer in either direction'),
    travelMin: NonNegative('Travel time across'),
    specificEnergyKwhM3: NonNegative('Energy per m3 transferred'),
    envelope: Type.Object({ transferM3h: Envelope }, { additionalProperties: false }),
    tags: Type.Optional(StationTagOverrides),
  },
  { additionalProperties: false },
);

export const StorageTank = Type.Object(
  {
    id: Id,
    name: LocalisedName,
    /** offline: filled by gravity from a station's wet well, emptied by a return pump.
     *  combined-sewer: in-line storage with a controllable outlet gate and an overflow weir (合流制调蓄池). */
    kind: Type.Union([Type.Literal('offline'), Type.Literal('combined-sewer')]),
    node: Id,
    capacityM3: Positive('Usable volume'),
    inletMaxM3h: Positive('Largest inlet (gate) flow'),
    outletMaxM3h: Positive('Largest return or outlet flow'),
    outletSpecificEnergyKwhM3: NonNegative('Energy per m3 emptied (0 for a gravity outlet)'),
    overflowTo: Type.Optional(Id),
    envelope: Type.Object({ inletM3h: Envelope, outletM3h: Envelope }, { additionalProperties: false }),
    tags: Type.Optional(StationTagOverrides),
  },
  { additionalProperties: false },
);

export const TreatmentPlant = Type.Object(
  {
    id: Id,
    name: LocalisedName,
    system: Id,
    location: Location,
    capacityM3h: Positive('Hydraulic capacity; above it water is bypassed'),
    preferredInflowM3h: Positive('Steady inflow the process prefers'),
    tags: Type.Optional(StationTagOverrides),
  },
  { additionalProperties: false },
);

export const RtkTriangle = Type.Object(
  {
    r: Type.Number({ minimum: 0, maximum: 1, description: 'Fraction of rain volume entering the sewer' }),
    tH: Positive('Time to peak in hours'),
    k: Positive('Recession time over time to peak'),
  },
  { additionalProperties: false },
);

export const Catchment = Type.Object(
  {
    id: Id,
    node: Id,
    location: Location,
    areaHa: Positive('Contributing area'),
    dwf: Type.Object(
      {
        meanM3d: NonNegative('Mean dry-weather flow'),
        pattern: Id,
      },
      { additionalProperties: false },
    ),
    groundwaterM3h: NonNegative('Base groundwater infiltration'),
    rdii: Type.Object(
      {
        initialAbstractionMm: NonNegative('Rain depth absorbed before any inflow'),
        triangles: Type.Array(RtkTriangle, { minItems: 1, maxItems: 3 }),
      },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false },
);

export const DwfPattern = Type.Object(
  {
    id: Id,
    weekdayHourly: HourOfDayPattern,
    weekendHourly: HourOfDayPattern,
    weekdayFactor: Positive('Daily volume multiplier on weekdays (a week of factors should average about 1)'),
    weekendFactor: Positive('Daily volume multiplier on Saturdays and Sundays'),
    monthly: Type.Optional(Type.Array(Type.Number({ minimum: 0 }), { minItems: 12, maxItems: 12 })),
  },
  { additionalProperties: false },
);

export const QualityParameter = Type.Union([
  Type.Literal('codMgL'),
  Type.Literal('nh3nMgL'),
  Type.Literal('tpMgL'),
  Type.Literal('tnMgL'),
  Type.Literal('ssMgL'),
  Type.Literal('ph'),
]);

export const Analyser = Type.Object(
  {
    id: Id,
    node: Id,
    parameters: Type.Array(QualityParameter, { minItems: 1 }),
    dryWeather: Type.Record(Type.String(), Type.Number({ minimum: 0 }), { description: 'Typical dry-weather value per parameter' }),
    tags: Type.Optional(StationTagOverrides),
  },
  { additionalProperties: false },
);

export const TariffPeriod = Type.Object(
  {
    name: Type.Union([Type.Literal('valley'), Type.Literal('flat'), Type.Literal('peak')]),
    priceCnyPerKwh: NonNegative('Price of energy in this period'),
    ranges: Type.Array(Type.Object({ from: ClockTime, to: ClockTime }, { additionalProperties: false }), { minItems: 1 }),
  },
  { additionalProperties: false },
);

export const OpcUaSettings = Type.Object(
  {
    namespaceUri: Type.String({ minLength: 1 }),
    /** Default NodeId of a tag: `{id}` and `{tag}` are replaced; per-object `tags` override single tags. */
    nodeIdTemplate: Type.String({ pattern: '\\{id\\}.*\\{tag\\}|\\{tag\\}.*\\{id\\}' }),
    watchdogTimeoutS: Positive('PLC falls back to local control when the dispatch heartbeat is older than this'),
  },
  { additionalProperties: false },
);

/**
 * How steady and balanced the plants' inflow must be, ranked above electricity cost (domain.md): the utility's
 * trade between its plants' process and its power bill. Each is a share of a plant's hydraulic capacity; a band
 * of 1 (a ramp of 10 per hour) leaves that aspect free. Absent: the planner's defaults (DEFAULT_PLANT_STEADINESS
 * in planner/mpc.ts).
 */
const PlantSteadiness = Type.Object(
  {
    rampFractionPerH: Type.Optional(
      Type.Number({ minimum: 0, maximum: 100, description: 'Plant inflow may change by this share of capacity per hour; faster changes count against steadiness (10: free)' }),
    ),
    balanceBand: Type.Optional(
      Type.Number({ minimum: 0, maximum: 1, description: 'Plants of one connected system keep their load ratios (inflow / capacity) within this of a common ratio' }),
    ),
    deviationBand: Type.Optional(
      Type.Number({ minimum: 0, maximum: 1, description: 'In dry weather, plant inflow within this share of capacity of a steady level (one per plant and day) counts as steady' }),
    ),
  },
  { additionalProperties: false },
);

const WellMargins = Type.Object(
  {
    alarmMarginFraction: Type.Optional(
      Type.Number({ minimum: 0, maximum: 0.5, description: 'Normal operation keeps each well this share of its working depth (pump-stop to overflow level) below the high alarm' }),
    ),
    fixedSpeedAlarmMarginFraction: Type.Optional(
      Type.Number({ minimum: 0, maximum: 0.5, description: 'The same at stations whose pumps are all fixed-speed, in dry weather: their small wells start a pump for every fill, so room near the alarm saves starts (with rain ahead they keep alarmMarginFraction)' }),
    ),
  },
  { additionalProperties: false },
);

export const NetworkConfig = Type.Object(
  {
    schemaVersion: Type.Literal(1),
    id: Id,
    name: LocalisedName,
    timezone: Type.String({ minLength: 1, description: 'IANA time zone of the utility, for tariff hours and display' }),
    systems: Type.Array(Type.Object({ id: Id, name: LocalisedName }, { additionalProperties: false }), { minItems: 1 }),
    planning: Type.Object(
      {
        stepMin: Type.Integer({ minimum: 1, maximum: 60 }),
        horizonH: Type.Integer({ minimum: 1, maximum: 168 }),
        cycleMin: Type.Integer({ minimum: 1, maximum: 1440 }),
        pumpStartCostCny: Type.Optional(
          Type.Number({ minimum: 0, maximum: 10_000, description: 'Cost of one pump start (wear, inrush), CNY: what a start must save to be worth it in whole-pump schedules, and at VFD stations unless vfdStartCostCny is set' }),
        ),
        vfdStartCostCny: Type.Optional(
          Type.Number({ minimum: 0, maximum: 10_000, description: 'Cost of one start of a VFD pump, CNY (a soft start: less inrush and wear than a fixed-speed start); default pumpStartCostCny' }),
        ),
        plantSteadiness: Type.Optional(PlantSteadiness),
        wellMargins: Type.Optional(WellMargins),
        smoothingEnergyShare: Type.Optional(
          Type.Number({ minimum: 0, maximum: 0.5, description: 'Share of the lowest energy cost a plan may spend on smoother flows and fewer VFD pump starts' }),
        ),
        tankTurnoverH: Type.Optional(
          Type.Number({ minimum: 0, maximum: 168, description: 'In dry weather a storage tank is empty again this many hours after each plan, as far as its outlet allows (default 24; 0: not required)' }),
        ),
      },
      { additionalProperties: false },
    ),
    tariff: Type.Object({ periods: Type.Array(TariffPeriod, { minItems: 1 }) }, { additionalProperties: false }),
    opcua: OpcUaSettings,
    stations: Type.Array(PumpStation, { minItems: 1 }),
    mains: Type.Array(Main),
    interconnections: Type.Array(Interconnection),
    tanks: Type.Array(StorageTank),
    plants: Type.Array(TreatmentPlant, { minItems: 1 }),
    catchments: Type.Array(Catchment),
    dwfPatterns: Type.Array(DwfPattern),
    /** Statutory holidays and make-up working days (day-calendar.ts); absent: Saturdays and Sundays only. */
    dayCalendar: Type.Optional(DayCalendar),
    analysers: Type.Array(Analyser),
  },
  { additionalProperties: false },
);

export type NetworkConfig = Type.Static<typeof NetworkConfig>;
export type PumpStation = Type.Static<typeof PumpStation>;
export type Pump = Type.Static<typeof Pump>;
export type Main = Type.Static<typeof Main>;
export type Interconnection = Type.Static<typeof Interconnection>;
export type StorageTank = Type.Static<typeof StorageTank>;
export type TreatmentPlant = Type.Static<typeof TreatmentPlant>;
export type Catchment = Type.Static<typeof Catchment>;
export type DwfPattern = Type.Static<typeof DwfPattern>;
export type Analyser = Type.Static<typeof Analyser>;
export type QualityParameter = Type.Static<typeof QualityParameter>;
export type Envelope = Type.Static<typeof Envelope>;
export type TariffPeriod = Type.Static<typeof TariffPeriod>;
