// Starts the flood-season workflow of a network while the configured season is on (default 15 April to
// 15 October, local dates), unless it already runs. One workflow per season: id flood-season-<network>,
// the season (year) in its input; it continues as new inside the season and ends at its end.
import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import { floodSeasonWorkflowId, taskQueue, type AutonomyConfig, type DispatchTiming, type FloodSeasonInput } from '../contract/index.js';
import { floodConfig, type FloodConfig } from '../flood/types.js';
import type { NetworkConfig } from '../network/schema.js';

export interface FloodSeasonWindow {
  inSeason: boolean;
  seasonId: string;
  startUtcMs: number;
  endUtcMs: number;
}

/** UTC instant of local midnight of `date` (YYYY-MM-DD) in `timeZone`. */
export function localMidnightUtcMs(date: string, timeZone: string): number {
  const guess = Date.parse(`${date}T00:00:00Z`);
  const parts = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).formatToParts(new Date(guess));
  const get = (t: string) => parts.find((p) => p.type === t)?.value ?? '00';
  const asUtc = Date.parse(`${get('year')}-${get('month')}-${get('day')}T${get('hour')}:${get('minute')}:00Z`);
  return guess - (asUtc - guess);
}

/** The season window around `nowUtcMs` for a spec "MM-DD/MM-DD" in local dates. */
export function floodSeasonWindow(spec: string, timeZone: string, nowUtcMs: number): FloodSeasonWindow {
  const match = /^(\d{2}-\d{2})\/(\d{2}-\d{2})$/.exec(spec);
  if (!match) throw new RangeError(`FLOOD_SEASON must look like 04-15/10-15 (local MM-DD/MM-DD) or "off", got "${spec}"`);
  const year = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric' }).format(new Date(nowUtcMs));
  // Date.parse would roll 02-30 over to 03-02 (or give NaN for 13-01): a date must survive the round trip.
  const isDate = (md: string) => new Date(`${year}-${md}T00:00:00Z`).toISOString().slice(5, 10) === md;
  for (const md of [match[1]!, match[2]!]) {
    if (Number.isNaN(Date.parse(`${year}-${md}T00:00:00Z`)) || !isDate(md)) throw new RangeError(`FLOOD_SEASON ${spec}: not a valid date range within one year (${md} is not a date)`);
  }
  const startUtcMs = localMidnightUtcMs(`${year}-${match[1]}`, timeZone);
  const endUtcMs = localMidnightUtcMs(`${year}-${match[2]}`, timeZone);
  if (Number.isNaN(startUtcMs) || Number.isNaN(endUtcMs) || endUtcMs <= startUtcMs) throw new RangeError(`FLOOD_SEASON ${spec}: not a valid date range within one year`);
  return { inSeason: nowUtcMs >= startUtcMs && nowUtcMs < endUtcMs, seasonId: year, startUtcMs, endUtcMs };
}

export interface FloodSeasonOptions {
  spec?: string;
  config?: Partial<FloodConfig>;
  checkIntervalMin?: number;
  autonomy?: Partial<AutonomyConfig>;
  dispatchTiming?: DispatchTiming;
  taskQueueName?: string;
  nowUtcMs?: number;
}

/** Start this season's workflow when in season; returns its id, or null when out of season or disabled. */
export async function ensureFloodSeason(client: Client, network: NetworkConfig, options: FloodSeasonOptions = {}): Promise<string | null> {
  const spec = options.spec ?? '04-15/10-15';
  if (spec === 'off') return null;
  const window = floodSeasonWindow(spec, network.timezone, options.nowUtcMs ?? Date.now());
  if (!window.inSeason) return null;
  const workflowId = floodSeasonWorkflowId(network.id);
  const input: FloodSeasonInput = {
    networkId: network.id,
    seasonId: window.seasonId,
    seasonEndUtcMs: window.endUtcMs,
    checkIntervalMin: options.checkIntervalMin ?? 30,
    config: floodConfig(options.config),
    ...(options.autonomy ? { autonomy: options.autonomy } : {}),
    ...(options.dispatchTiming ? { dispatchTiming: options.dispatchTiming } : {}),
  };
  try {
    await client.workflow.start('floodSeason', { taskQueue: options.taskQueueName ?? taskQueue, workflowId, args: [input] });
  } catch (error) {
    if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
  }
  return workflowId;
}
