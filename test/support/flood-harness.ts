// The flood-season workflow with its real activities (createFloodActivities, createDispatchActivities) over
// fake connectors: an in-memory SCADA that logs every write, scripted forecast and observed rain, an InfluxDB
// that can refuse writes, and a notifier that records each message and can fail or be slow. Temporal is the
// project's own dev server; domain time is accelerated. For fault tests of the season (test/integration/flood-season-*).
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import type { WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { createDispatchActivities } from '../../activities/dispatch.js';
import { createFloodActivities, type ObservedRainSource } from '../../activities/flood.js';
import type { RainForecastSource } from '../../activities/dispatch.js';
import type { InfluxConnector, SeriesPoint } from '../../connectors/influx.js';
import type { OpcUaConnector } from '../../connectors/opcua.js';
import type { DomainClock, FloodSeasonInput } from '../../contract/index.js';
import { loadNetworkFile, referenceNetworkPath } from '../../network/load.js';
import type { NetworkConfig } from '../../network/schema.js';
import { StationMode } from '../../network/tags.js';
import type { Notification } from '../../notify/types.js';
import { bundleWorkflows } from '../../worker/worker.js';
import { temporalTestEnvironmentOptions } from './servers.js';

export const H = 3_600_000;

export interface Script {
  /** mm in the hour ending at t (domain ms) — the truth. */
  rain: (t: number) => number;
  /** The forecast the source serves at domain time now (default: the truth); throw to fail. */
  forecast?: (now: number) => ((t: number) => number) | 'fail';
  observed?: (now: number) => 'fail' | 'truth' | 'empty';
  scadaDown?: (now: number) => boolean;
  influxFails?: (p: readonly SeriesPoint[], now: number) => boolean;
  notifyFails?: (n: Notification) => boolean;
  notifyDelayMs?: (n: Notification) => number;
  /** The channel answers without throwing but has no destination for the audience (delivered: false). */
  notifyUndelivered?: (n: Notification) => boolean;
}

export interface Ctx {
  network: NetworkConfig;
  env: TestWorkflowEnvironment;
  bundle: WorkflowBundleWithSourceMap;
}

export async function setup(): Promise<Ctx> {
  const network = await loadNetworkFile(referenceNetworkPath);
  const [env, bundle] = await Promise.all([TestWorkflowEnvironment.createLocal(await temporalTestEnvironmentOptions()), bundleWorkflows()]);
  return { network, env, bundle };
}

export function fakes(network: NetworkConfig, clock: DomainClock, script: Script) {
  const domainNow = () => clock.originUtcMs + (Date.now() - clock.wallOriginUtcMs) * clock.speed;
  const scada = new Map<string, number>();
  for (const s of network.stations) {
    scada.set(`${s.id}.levelM`, 1.8);
    scada.set(`${s.id}.inflowM3h`, 100);
    scada.set(`${s.id}.overflowM3h`, 0);
    scada.set(`${s.id}.pumpsAvailable`, s.pumps.length);
    scada.set(`${s.id}.pumpsRunning`, 1);
    scada.set(`${s.id}.mode`, StationMode.remote);
    scada.set(`${s.id}.startLevelSpM`, s.levels.pumpStartM);
    scada.set(`${s.id}.stopLevelSpM`, s.levels.pumpStopM);
  }
  const writes: { atUtcMs: number; wallMs: number; objectId: string; tag: string; value: number }[] = [];
  const opcua: OpcUaConnector = {
    async readTags(ts) {
      if (script.scadaDown?.(domainNow())) throw new Error('BadNoCommunication');
      return ts.map((t) => {
        const v = scada.get(`${t.objectId}.${t.tag}`);
        return { objectId: t.objectId, tag: t.tag, nodeId: t.nodeId, value: v ?? 0, statusCode: 'Good', good: true, sourceTimeUtcMs: domainNow() };
      });
    },
    async writeSetpoints(ws) {
      if (script.scadaDown?.(domainNow())) throw new Error('BadNoCommunication');
      return ws.map((w) => {
        scada.set(`${w.tag.objectId}.${w.tag.tag}`, w.value);
        writes.push({ atUtcMs: domainNow(), wallMs: Date.now(), objectId: w.tag.objectId, tag: w.tag.tag, value: w.value });
        return { nodeId: w.tag.nodeId, statusCode: 'Good', good: true };
      });
    },
    async ping() {
      return { latencyMs: 1, serverState: 'Running' };
    },
    async close() {},
  };
  const influxPoints: SeriesPoint[] = [];
  const influx: InfluxConnector = {
    async write(points) {
      if (script.influxFails?.(points, domainNow())) throw new Error('InfluxDB unreachable: connect ECONNREFUSED');
      influxPoints.push(...points);
      return points.length;
    },
    async query() {
      return [];
    },
    async ping() {
      return { latencyMs: 1, version: 'fake' };
    },
  };
  const hours = (from: number, to: number) => {
    const out: number[] = [];
    for (let t = Math.floor(from / H) * H + H; t <= to; t += H) out.push(t);
    return out;
  };
  const forecast: RainForecastSource = {
    async fetchCatchmentRain(net, h) {
      const now = domainNow();
      const f = script.forecast ? script.forecast(now) : script.rain;
      if (f === 'fail') throw new Error('forecast server: HTTP 503');
      const times = hours(now, now + h * H);
      return { issuedAtUtcMs: now, source: 'fake', stepMin: 60, locations: net.catchments.map((c) => ({ catchmentId: c.id, timeUtcMs: times, precipitationMm: times.map((t) => f(t)) })) };
    },
  };
  const observed: ObservedRainSource = {
    async fetchObservedRain(net, from, to) {
      const mode = script.observed?.(domainNow()) ?? 'truth';
      if (mode === 'fail') throw new Error('archive: HTTP 500');
      const times = hours(from, Math.min(to, domainNow()));
      return { source: 'fake-archive', catchments: net.catchments.map((c) => ({ catchmentId: c.id, hourly: { timeUtcMs: times, mm: times.map((t) => (mode === 'empty' ? null : script.rain(t))) } })) };
    },
  };
  const notifications: (Notification & { atUtcMs: number; delivered: boolean })[] = [];
  const notifier = {
    channels: [],
    async send(n: Notification) {
      const delay = script.notifyDelayMs?.(n) ?? 0;
      if (delay > 0) await new Promise((r) => setTimeout(r, delay));
      const fail = script.notifyFails?.(n) ?? false;
      notifications.push({ ...n, atUtcMs: domainNow(), delivered: !fail && !script.notifyUndelivered?.(n) });
      if (fail) throw new Error(`webhook answered HTTP 502 for ${n.key}`);
      if (script.notifyUndelivered?.(n)) return [{ channel: 'log', audience: n.audience, delivered: true }, { channel: 'webhook:wecom', audience: n.audience, delivered: false, detail: `no webhook configured for ${n.audience}` }];
      return [{ channel: 'fake', audience: n.audience, delivered: true }];
    },
  };
  const deps = { network, opcua, influx, forecast, observed, notifier, now: domainNow };
  const activities = { ...createDispatchActivities(deps), ...createFloodActivities(deps) };
  return { activities, scada, writes, influxPoints, notifications, domainNow };
}

export async function worker(ctx: Ctx, taskQueue: string, activities: object) {
  return Worker.create({ connection: ctx.env.nativeConnection, taskQueue, workflowBundle: ctx.bundle, activities });
}

export function seasonInput(network: NetworkConfig, clock: DomainClock, extra: Partial<FloodSeasonInput> = {}): FloodSeasonInput {
  return {
    networkId: network.id,
    seasonId: '2026',
    seasonEndUtcMs: clock.originUtcMs + 30 * 86_400_000,
    checkIntervalMin: 30,
    config: extra.config!,
    clock,
    ...extra,
  };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
export const fmt = (utcMs: number, origin: number) => `T+${((utcMs - origin) / H).toFixed(2)}h`;
