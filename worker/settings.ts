// The worker's own settings, checked at start-up beyond what settings/env.ts can check from the strings
// alone: the flood season's dates and the flood configuration file (read, parsed and validated against
// the network). Every problem is listed, with the file and the JSON path where it is.
import { readFile } from 'node:fs/promises';
import Type from 'typebox';
import Value from 'typebox/value';
import { roleOrder, type AutonomyMode } from '../contract/index.js';
import { floodConfig as mergeFloodConfig, warningLevels, type FloodConfig } from '../flood/types.js';
import type { NetworkConfig } from '../network/schema.js';
import type { Env } from '../settings/env.js';
import { floodSeasonWindow } from './flood-season.js';

export class WorkerSettingsError extends Error {
  override readonly name = 'WorkerSettingsError';
}

export interface WorkerSettings {
  autonomyMode: AutonomyMode | undefined;
  /** "MM-DD/MM-DD" in local dates, or "off". */
  floodSeason: string;
  floodCheckIntervalMin: number;
  floodConfig: Partial<FloodConfig> | undefined;
}

const Minutes = Type.Number({ exclusiveMinimum: 0 });
const Role = Type.Enum(roleOrder);

/** A partial FloodConfig as a file may hold it: every key optional, no unknown keys (a typo is an error). */
export const FloodConfigFileSchema = Type.Partial(
  Type.Object({
    thresholds: Type.Array(
      // Rolling windows are whole hours of hourly rain (flood/warning.ts rollingMaxMm refuses anything else).
      Type.Object({ level: Type.Enum(warningLevels.filter((l) => l !== 'none')), windowH: Type.Integer({ minimum: 1 }), mm: Type.Number({ exclusiveMinimum: 0 }) }, { additionalProperties: false }),
      { minItems: 1 },
    ),
    approvalRoles: Type.Object({ IV: Type.Optional(Role), III: Type.Optional(Role), II: Type.Optional(Role), I: Type.Optional(Role) }, { additionalProperties: false }),
    lookAheadH: Type.Number({ minimum: 1, maximum: 240 }),
    observedRecentH: Type.Number({ exclusiveMinimum: 0 }),
    wetHourMm: Type.Number({ exclusiveMinimum: 0 }),
    drawdownMarginMin: Type.Number({ minimum: 0 }),
    recoveryH: Type.Number({ minimum: 0 }),
    standDownAfterQuietChecks: Type.Integer({ minimum: 1 }),
    replanOnsetShiftMin: Minutes,
    replanRainChangeFraction: Type.Number({ exclusiveMinimum: 0 }),
    overflowPoints: Type.Array(
      Type.Object({ stationId: Type.String({ minLength: 1 }), receivingWater: Type.String({ minLength: 1 }), harm: Type.Optional(Type.Number({ minimum: 0 })) }, { additionalProperties: false }),
    ),
    receivingWaterHarm: Type.Record(Type.String(), Type.Number({ minimum: 0 })),
    crew: Type.Object({ mobilePumps: Type.Optional(Type.Integer({ minimum: 0 })), patrolStations: Type.Optional(Type.Integer({ minimum: 0 })) }, { additionalProperties: false }),
    approval: Type.Object({ escalateAfterMin: Type.Optional(Minutes), approvalTimeoutMin: Type.Optional(Minutes) }, { additionalProperties: false }),
    emergencyHorizonH: Type.Number({ exclusiveMinimum: 0, maximum: 72 }),
    emergencyStepMin: Type.Union([Type.Null(), Type.Integer({ minimum: 1 })]),
  }),
  { additionalProperties: false },
);

/** Read, parse and check a flood configuration file; every problem named with the file and JSON path. */
export async function loadFloodConfigFile(file: string, network: NetworkConfig): Promise<Partial<FloodConfig>> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new WorkerSettingsError(`FLOOD_CONFIG_FILE ${file}: cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw new WorkerSettingsError(`FLOOD_CONFIG_FILE ${file}: not valid JSON (${(error as Error).message})`);
  }
  const problems = [...Value.Errors(FloodConfigFileSchema, data)].map((e) => {
    const where = e.instancePath || '/';
    const unknown = e.keyword === 'additionalProperties' ? ` ${JSON.stringify((e.params as { additionalProperties?: string[] }).additionalProperties ?? [])}` : '';
    const allowed = e.keyword === 'enum' ? `: ${String((e.params as { allowedValues?: unknown[] }).allowedValues?.join(', '))}` : '';
    const value = e.keyword === 'additionalProperties' || e.keyword === 'required' ? '' : ` (value: ${JSON.stringify(valueAt(data, e.instancePath))})`;
    return `  FLOOD_CONFIG_FILE ${file} ${where}: ${e.message}${allowed}${unknown}${value}`;
  });
  if (problems.length === 0) {
    const config = data as Partial<FloodConfig>;
    const stationIds = new Set(network.stations.map((s) => s.id));
    config.overflowPoints?.forEach((p, i) => {
      if (!stationIds.has(p.stationId)) problems.push(`  FLOOD_CONFIG_FILE ${file} /overflowPoints/${i}/stationId: no station ${JSON.stringify(p.stationId)} in network ${network.id}`);
    });
    // Checked on the config the season will run with (the file over the defaults): one key alone can break a pair.
    const merged = mergeFloodConfig(config);
    const { escalateAfterMin: escalate, approvalTimeoutMin: expire } = merged.approval;
    if (escalate >= expire) {
      const from = (key: 'escalateAfterMin' | 'approvalTimeoutMin') => (config.approval?.[key] === undefined ? ' (default)' : '');
      problems.push(`  FLOOD_CONFIG_FILE ${file} /approval: escalateAfterMin (${escalate}${from('escalateAfterMin')}) must be shorter than approvalTimeoutMin (${expire}${from('approvalTimeoutMin')})`);
    }
  }
  if (problems.length > 0) throw new WorkerSettingsError(`Invalid flood configuration:\n${problems.join('\n')}`);
  return data as Partial<FloodConfig>;
}

function valueAt(data: unknown, pointer: string): unknown {
  let at = data;
  for (const key of pointer.split('/').slice(1)) {
    if (at === null || typeof at !== 'object') return undefined;
    at = (at as Record<string, unknown>)[key.replace(/~1/g, '/').replace(/~0/g, '~')];
  }
  return at;
}

/**
 * The worker's settings from an already validated environment; `resolvePath` maps FLOOD_CONFIG_FILE to a
 * file (relative paths against the repository, like NETWORK_FILE). Throws WorkerSettingsError listing
 * every problem.
 */
export async function loadWorkerSettings(env: Env, network: NetworkConfig, resolvePath: (p: string) => string = (p) => p): Promise<WorkerSettings> {
  const problems: string[] = [];
  if (env.FLOOD_SEASON !== 'off') {
    try {
      floodSeasonWindow(env.FLOOD_SEASON, network.timezone, Date.now());
    } catch (error) {
      problems.push(`  ${(error as Error).message}`);
    }
  }
  let floodConfig: Partial<FloodConfig> | undefined;
  if (env.FLOOD_CONFIG_FILE) {
    try {
      floodConfig = await loadFloodConfigFile(resolvePath(env.FLOOD_CONFIG_FILE), network);
    } catch (error) {
      if (!(error instanceof WorkerSettingsError)) throw error;
      problems.push(error.message.startsWith('Invalid flood configuration:\n') ? error.message.slice('Invalid flood configuration:\n'.length) : `  ${error.message}`);
    }
  }
  if (problems.length > 0) throw new WorkerSettingsError(`Invalid worker settings:\n${problems.join('\n')}`);
  return { autonomyMode: env.DISPATCH_AUTONOMY, floodSeason: env.FLOOD_SEASON, floodCheckIntervalMin: env.FLOOD_CHECK_INTERVAL_MIN, floodConfig };
}
