// What one ingest run leaves for the next: the flags in force and the last network time, so a restart
// neither leaves flags "active" for ever (nothing in the new process would clear them) nor hides its own
// downtime (an ingest_gap with reason ingest-stopped is written from the last time to the first new value).
//
// Two sources, both read at start: state.json in the spool folder (written every heartbeat and at stop;
// there even when InfluxDB was down) and InfluxDB itself (the latest sensor_flag point of every series and
// the latest ingest_heartbeat; there even when the spool folder was lost). Either may be missing.
import fs from 'node:fs';
import path from 'node:path';
import type { InfluxConnector } from '../connectors/influx.js';
import { errorText, type IngestLogger } from './log.js';
import type { FlagKind, SensorFlag } from './quality.js';

export const STATE_FILE = 'state.json';

export interface IngestStateFile {
  version: 1;
  /** Wall clock of this record. */
  wallUtcMs: number;
  /** Network time (newest measurement source time) then; null before the first value. */
  networkUtcMs: number | null;
  /** Wall time at which networkUtcMs was last seen (the start of the next run's downtime gap). */
  networkAtWallUtcMs: number | null;
  /** False once the run stopped cleanly; true while it runs (a true at start means it crashed or was killed). */
  running: boolean;
  flags: SensorFlag[];
  /** For the compose healthcheck and engineers: subscriber state, last Publish response, pipeline mode, points lost, last error. */
  status?: { state: string; lastPublishAtUtcMs: number | null; mode: string; dropped: number; spoolPending: number; lastError: string | null };
}

export interface PreviousRun {
  /** Newest network time a previous run recorded, and the wall time it recorded it. */
  networkUtcMs: number | null;
  wallUtcMs: number | null;
  /** False when the state file says the run was stopped cleanly; null when unknown. */
  crashed: boolean | null;
  /** Flags a previous run left active. */
  flags: SensorFlag[];
  /** Where it came from, for the log. */
  sources: string[];
}

const flagKinds = new Set<FlagKind>(['flatline', 'out_of_range', 'bad_status', 'uncertain_status', 'clock_skew']);

export function writeStateFile(dir: string, state: IngestStateFile): void {
  const tmp = path.join(dir, `${STATE_FILE}.tmp`);
  fs.writeFileSync(tmp, JSON.stringify(state));
  fs.renameSync(tmp, path.join(dir, STATE_FILE));
}

export function readStateFile(dir: string, log: IngestLogger): IngestStateFile | undefined {
  try {
    const parsed = JSON.parse(fs.readFileSync(path.join(dir, STATE_FILE), 'utf8')) as Partial<IngestStateFile>;
    if (parsed.version === 1 && typeof parsed.wallUtcMs === 'number' && Array.isArray(parsed.flags)) {
      return {
        version: 1,
        wallUtcMs: parsed.wallUtcMs,
        networkUtcMs: typeof parsed.networkUtcMs === 'number' ? parsed.networkUtcMs : null,
        networkAtWallUtcMs: typeof parsed.networkAtWallUtcMs === 'number' ? parsed.networkAtWallUtcMs : null,
        running: parsed.running === true,
        flags: parsed.flags.filter((f) => f && typeof f.objectId === 'string' && typeof f.tag === 'string' && flagKinds.has(f.kind) && typeof f.sinceUtcMs === 'number'),
      };
    }
    log.warn('state: ignoring a malformed state.json', { dir });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') log.warn('state: ignoring an unreadable state.json', { dir, error: errorText(error) });
  }
  return undefined;
}

const col = (columns: string[], row: unknown[], name: string): unknown => {
  const i = columns.indexOf(name);
  return i >= 0 ? row[i] : undefined;
};

/** The latest sensor_flag point of every series whose active is true, and the latest heartbeat. Throws when InfluxDB cannot answer. */
export async function previousRunInInflux(influx: Pick<InfluxConnector, 'query'>): Promise<{ flags: SensorFlag[]; networkUtcMs: number | null; wallUtcMs: number | null }> {
  const flags: SensorFlag[] = [];
  const series = await influx.query('SELECT * FROM "sensor_flag" GROUP BY "object", "tag", "kind" ORDER BY time DESC LIMIT 1');
  for (const s of series) {
    const row = s.values[0];
    const kind = s.tags.kind as FlagKind;
    if (!row || col(s.columns, row, 'active') !== true || !flagKinds.has(kind) || !s.tags.object || !s.tags.tag) continue;
    const value = col(s.columns, row, 'value');
    const detail = col(s.columns, row, 'detail');
    const detailZh = col(s.columns, row, 'detailZh');
    flags.push({
      objectId: s.tags.object,
      objectKind: '',
      tag: s.tags.tag,
      kind,
      sinceUtcMs: Number(col(s.columns, row, 'time')),
      detail: typeof detail === 'string' ? detail : '',
      detailZh: typeof detailZh === 'string' ? detailZh : '',
      ...(typeof value === 'number' ? { value } : {}),
    });
  }
  const beat = await influx.query('SELECT * FROM "ingest_heartbeat" ORDER BY time DESC LIMIT 1');
  const row = beat[0]?.values[0];
  const networkUtcMs = row ? col(beat[0]!.columns, row, 'networkUtcMs') : undefined;
  return {
    flags,
    networkUtcMs: typeof networkUtcMs === 'number' ? networkUtcMs : null,
    wallUtcMs: row ? Number(col(beat[0]!.columns, row, 'time')) : null,
  };
}

/** Both sources together: flags active in either, the newest network time of either. */
export async function readPreviousRun(dir: string, influx: Pick<InfluxConnector, 'query'> | undefined, log: IngestLogger): Promise<PreviousRun> {
  const run: PreviousRun = { networkUtcMs: null, wallUtcMs: null, crashed: null, flags: [], sources: [] };
  const byKey = new Map<string, SensorFlag>();
  const take = (networkUtcMs: number | null, wallUtcMs: number | null, flags: readonly SensorFlag[]) => {
    if (networkUtcMs !== null && (run.networkUtcMs === null || networkUtcMs > run.networkUtcMs)) {
      run.networkUtcMs = networkUtcMs;
      run.wallUtcMs = wallUtcMs;
    }
    for (const f of flags) byKey.set(`${f.objectId}/${f.tag}/${f.kind}`, f);
  };
  if (influx) {
    try {
      const fromInflux = await previousRunInInflux(influx);
      take(fromInflux.networkUtcMs, fromInflux.wallUtcMs, fromInflux.flags);
      run.sources.push('influxdb');
    } catch (error) {
      log.warn('state: could not read the flags and heartbeat of the previous run from InfluxDB; using state.json only', { error: errorText(error) });
    }
  }
  const file = readStateFile(dir, log);
  if (file) {
    take(file.networkUtcMs, file.networkAtWallUtcMs ?? file.wallUtcMs, file.flags);
    run.crashed = file.running;
    run.sources.push(STATE_FILE);
  }
  run.flags = [...byKey.values()];
  return run;
}

/** A heartbeat older than this means ingest is not running (it writes one every 10 s; a write may wait a flush). */
export const INGEST_HEARTBEAT_STALE_MS = 30_000;
/** No Publish answer from SCADA for this long means the subscription is not delivering (keep-alives included). */
export const INGEST_PUBLISH_STALE_MS = 70_000;

/**
 * The API's health probe for ingest, from its latest `ingest_heartbeat` point (written by service.ts at wall
 * time): throws — the component is down — when there is none, when it is stale, when ingest is not
 * subscribed or SCADA has sent nothing for a while; otherwise says how it stands (spooling, points lost).
 */
export async function ingestHealth(influx: Pick<InfluxConnector, 'query'>, nowUtcMs: number): Promise<{ detail?: string }> {
  // Bounded to the last hour: load balancers poll this, and an older heartbeat means "not running" anyway.
  const [series] = await influx.query('SELECT * FROM "ingest_heartbeat" WHERE time > now() - 1h ORDER BY time DESC LIMIT 1');
  const row = series?.values[0];
  if (!series || !row) throw new Error('no ingest heartbeat in InfluxDB in the last hour: the ingest service is not running against this database');
  const value = (name: string) => col(series.columns, row, name);
  const ageMs = nowUtcMs - Number(value('time'));
  if (!(ageMs <= INGEST_HEARTBEAT_STALE_MS)) throw new Error(`last ingest heartbeat ${Math.round(ageMs / 1000)} s ago: ingest is not running`);
  const state = value('state');
  const lastError = typeof value('lastError') === 'string' && value('lastError') ? ` (${String(value('lastError'))})` : '';
  if (state !== 'subscribed') throw new Error(`ingest is ${String(state)}, not subscribed to SCADA${lastError}`);
  const publishAgeMs = value('lastPublishAgeMs');
  if (typeof publishAgeMs === 'number' && publishAgeMs > INGEST_PUBLISH_STALE_MS) throw new Error(`no answer from SCADA for ${Math.round(publishAgeMs / 1000)} s${lastError}`);
  const notes = [`mode ${String(value('mode'))}`];
  const dropped = Number(value('dropped') ?? 0);
  if (dropped > 0) notes.push(`${dropped} points lost since start${lastError}`);
  const pending = Number(value('spoolPending') ?? 0);
  if (pending > 0) notes.push(`${pending} points waiting in the spool`);
  return { detail: notes.join('; ') };
}
