// Starts the flood-season workflow of a network while the configured season is on (default 15 April to
// 15 October, local dates), unless it already runs. One workflow per season: id flood-season-<network>,
// the season (year) in its input; it continues as new inside the season and ends at its end.
// watchFloodSeason checks again every hour, so a worker started before the season (or running from one season
// into the next) starts it on its first day; and a running season whose config differs from the configured one
// (FLOOD_CONFIG_FILE corrected, worker restarted) is sent the configured one by signal, and the change is logged.
import { isDeepStrictEqual } from 'node:util';
import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import { floodConfigSignal, floodSeasonConfigQuery, floodSeasonWorkflowId, taskQueue, type AutonomyConfig, type DispatchTiming, type FloodSeasonInput } from '../contract/index.js';
import { overflowPointWarnings } from '../flood/emergency-plan.js';
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
  /** Where changes are reported (default console.log). */
  log?: (line: string) => void;
}

/** Top-level keys whose values differ between two configs (for the log). */
export function floodConfigChanges(running: FloodConfig, configured: FloodConfig): string[] {
  const keys = [...new Set([...Object.keys(running), ...Object.keys(configured)])] as (keyof FloodConfig)[];
  return keys.filter((k) => !isDeepStrictEqual(running[k], configured[k])).sort();
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
  const log = options.log ?? ((line: string) => console.log(line));
  try {
    await client.workflow.start('floodSeason', { taskQueue: options.taskQueueName ?? taskQueue, workflowId, args: [input] });
    log(`flood season: started ${workflowId} (season ${window.seasonId})`);
  } catch (error) {
    if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
    // Running already: it keeps the config it was started with unless told. Compare, and send the configured one.
    const handle = client.workflow.getHandle(workflowId);
    const running = await handle.query(floodSeasonConfigQuery).catch((e: unknown) => {
      log(`flood season: ${workflowId} runs, but its config cannot be read to compare (${e instanceof Error ? e.message : String(e)}); restart it to apply FLOOD_CONFIG_FILE`);
      return null;
    });
    const changed = running ? floodConfigChanges(running, input.config) : [];
    if (changed.length > 0) {
      await handle.signal(floodConfigSignal, { config: input.config, reason: `configured flood config differs in ${changed.join(', ')}` });
      log(`flood season: ${workflowId} ran with a different flood config (${changed.join(', ')}); sent the configured one, in force from its next check`);
    }
  }
  return workflowId;
}

export interface FloodSeasonWatch {
  /** The first check's answer (the season's workflow id, or null out of season). */
  readonly first: Promise<string | null>;
  stop(): void;
}

/** ensureFloodSeason now and then every `everyMs` (default 1 h); a failed check is logged and tried again next time. */
export function watchFloodSeason(client: Client, network: NetworkConfig, options: FloodSeasonOptions & { everyMs?: number; now?: () => number } = {}): FloodSeasonWatch {
  const log = options.log ?? ((line: string) => console.log(line));
  // Said once at start: with no overflow points configured, emergency plans rank no overflow point and send no
  // crew to stand by at one (flood/emergency-plan.ts).
  if (options.spec !== 'off') for (const w of overflowPointWarnings(network, floodConfig(options.config))) log(`flood season: ${w.zh} / ${w.en}`);
  let watching: string | null | undefined; // undefined until the first check, which is always logged
  const check = async () => {
    const id = await ensureFloodSeason(client, network, { ...options, nowUtcMs: (options.now ?? Date.now)() });
    if (id !== watching) log(id ? `flood season: watched by ${id}` : 'flood season: outside the season; checked again every hour');
    watching = id;
    return id;
  };
  const first = check();
  const timer = setInterval(() => {
    check().catch((error: unknown) => log(`flood season: check failed (${error instanceof Error ? error.message : String(error)}); tried again in an hour`));
  }, options.everyMs ?? 3_600_000);
  timer.unref();
  return { first, stop: () => clearInterval(timer) };
}
