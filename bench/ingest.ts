// Benchmark of the telemetry ingest and of one dispatch cycle:
//
//   npm run bench -- ingest --json          (bench/index.ts calls run(args) and prints the result last)
//   tsx bench/ingest.ts [options]           (standalone: prints the JSON object)
//
// Phase 1 — ingest throughput. The reference network alone changes too few values per second, so the
// simulator runs a generated larger network (the reference network replicated --copies times, default
// 20: 4000 measurements) on a faster clock (--speed simulated seconds per wall second, --step): it is an
// OPC UA server in a child process pushing every changed value (exception-based, no sampling timers) at
// most every --publish-interval-ms. The ingest service subscribes to every tag (--sampling-ms 0 asks for
// every change, --publishing-ms) and writes into a real InfluxDB 1.8 started for the run. After warm-up
// the simulator marks the window (the source time of its newest value); after --duration-s it pauses, the
// ingest drains, and InfluxDB is asked how many field values it holds with a source time in the window:
// tag_updates_per_s = those values / the window's wall time (mark to last value written);
// points_lost = Good values the simulator pushed in the window − values InfluxDB holds for it.
//
// Phase 1b — the ingest path alone (--capacity-s): synthetic updates through the same encoder, pipeline
// and writer into the same InfluxDB, to show where the limit of phase 1 lies.
//
// Phase 2 — dispatch cycle. On the reference network (its own simulator, the local forecast server, the
// same InfluxDB), --cycles times: readNetworkState + writeTelemetry + fetchRainForecast + buildPlan of
// createDispatchActivities composed as the worker composes them (runtime/connectors.ts: ensemble rain, the
// inflow forecast written to InfluxDB; --planner mpc (default, the worker's default) or rule-based), timed end
// to end (cycle_ms_p50 / cycle_ms_p95).
import { fork, type ChildProcess } from 'node:child_process';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { createDispatchActivities } from '../activities/dispatch.js';
import type { PlannerName } from '../activities/mpc-planner.js';
import { createInfluxConnector } from '../connectors/influx.js';
import { createRuntimeConnectors, cycleDependencies } from '../runtime/connectors.js';
import { loadEnv } from '../settings/env.js';
import { startForecastServer } from '../forecast-server/server.js';
import { createPipeline } from '../ingest/pipeline.js';
import { ingestTags, startIngest, TelemetryEncoder } from '../ingest/service.js';
import { createInfluxLineWriter } from '../ingest/writer.js';
import { consoleLogger, silentLogger } from '../ingest/log.js';
import { loadNetworkFile, referenceNetworkPath } from '../network/load.js';
import type { NetworkConfig } from '../network/schema.js';
import { parseNetwork } from '../network/validate.js';
import { createSimulation } from '../simulator/model.js';
import { startSimulatorServer, type PublishCounts } from '../simulator/opcua-server.js';
import { startTestServers } from '../test/support/servers.js';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

// ---------------------------------------------------------------------------------------------------------
// A larger network: the reference network replicated, every id of copy k suffixed "_k" (copy 0 unchanged).
// ---------------------------------------------------------------------------------------------------------

export function replicateNetwork(base: NetworkConfig, copies: number): NetworkConfig {
  if (!(Number.isInteger(copies) && copies >= 1)) throw new RangeError(`copies must be a whole number ≥ 1, got ${copies}`);
  if (copies === 1) return base;
  const out = structuredClone(base) as NetworkConfig & Record<string, unknown>;
  for (let k = 1; k < copies; k++) {
    const r = (id: string) => `${id}_${k}`;
    const copy = structuredClone(base);
    for (const s of copy.stations) {
      s.id = r(s.id);
      s.dischargeMainId = r(s.dischargeMainId);
      delete s.tags;
    }
    for (const m of copy.mains) {
      m.id = r(m.id);
      m.from = r(m.from);
      m.to = r(m.to);
    }
    for (const x of copy.interconnections) {
      x.id = r(x.id);
      x.a = r(x.a);
      x.b = r(x.b);
      delete x.tags;
    }
    for (const t of copy.tanks) {
      t.id = r(t.id);
      t.node = r(t.node);
      if (t.overflowTo !== undefined) t.overflowTo = r(t.overflowTo);
      delete t.tags;
    }
    for (const p of copy.plants) {
      p.id = r(p.id);
      delete p.tags;
    }
    for (const c of copy.catchments) {
      c.id = r(c.id);
      c.node = r(c.node);
    }
    for (const a of copy.analysers) {
      a.id = r(a.id);
      a.node = r(a.node);
      delete a.tags;
    }
    out.stations.push(...copy.stations);
    out.mains.push(...copy.mains);
    out.interconnections.push(...copy.interconnections);
    out.tanks.push(...copy.tanks);
    out.plants.push(...copy.plants);
    out.catchments.push(...copy.catchments);
    out.analysers.push(...copy.analysers);
  }
  out.id = `${base.id}-x${copies}`;
  return parseNetwork(out, `${base.id} × ${copies}`);
}

// ---------------------------------------------------------------------------------------------------------
// The simulator child process (its own event loop and CPU, as a SCADA server would be).
// ---------------------------------------------------------------------------------------------------------

interface ChildStart {
  type: 'start';
  networkFile: string;
  stepS: number;
  speed: number;
  publishIntervalMs: number;
  startUtcMs: number;
  pkiFolder: string;
}
type ParentMessage = ChildStart | { type: 'cpu' } | { type: 'mark' } | { type: 'pause' } | { type: 'stop' };
type ChildMessage =
  | { type: 'ready'; endpointUrl: string }
  | { type: 'cpu'; cpuMs: number; steps: number }
  | { type: 'marked'; counts: PublishCounts }
  | { type: 'paused'; timeUtcMs: number; counts: PublishCounts }
  | { type: 'error'; message: string };

async function simulatorChild(): Promise<void> {
  let handle: Awaited<ReturnType<typeof startSimulatorServer>> | undefined;
  let steps = 0;
  const send = (m: ChildMessage) => process.send?.(m);
  process.on('message', (raw: ParentMessage) => {
    void (async () => {
      try {
        if (raw.type === 'start') {
          const network = parseNetwork(JSON.parse(await fsp.readFile(raw.networkFile, 'utf8')), raw.networkFile);
          const simulation = createSimulation({ network, startUtcMs: raw.startUtcMs, stepS: raw.stepS });
          handle = await startSimulatorServer({
            network,
            simulation,
            port: 0,
            host: '127.0.0.1',
            clock: { mode: 'paced', speed: raw.speed, tickMs: 10, watchdogBasis: 'simulated' },
            publishIntervalMs: raw.publishIntervalMs,
            pkiFolder: raw.pkiFolder,
          });
          const stepMs = raw.stepS * 1000;
          let lastUtcMs = simulation.timeUtcMs;
          handle.clock.onAdvance((t) => {
            steps += Math.round((t - lastUtcMs) / stepMs);
            lastUtcMs = t;
          });
          send({ type: 'ready', endpointUrl: handle.endpointUrl });
        } else if (raw.type === 'cpu') {
          const u = process.cpuUsage();
          send({ type: 'cpu', cpuMs: (u.user + u.system) / 1000, steps });
        } else if (raw.type === 'mark') {
          if (handle) send({ type: 'marked', counts: handle.publishCounts() });
        } else if (raw.type === 'pause') {
          if (!handle) throw new Error('pause before start');
          handle.clock.stop();
          handle.publish();
          send({ type: 'paused', timeUtcMs: handle.simulation.timeUtcMs, counts: handle.publishCounts() });
        } else if (raw.type === 'stop') {
          await handle?.close();
          process.exit(0);
        }
      } catch (error) {
        send({ type: 'error', message: (error as Error).stack ?? String(error) });
      }
    })();
  });
  process.on('disconnect', () => process.exit(0));
}

function startSimulatorProcess(start: Omit<ChildStart, 'type'>): Promise<{ child: ChildProcess; endpointUrl: string; request(m: ParentMessage, reply?: ChildMessage['type']): Promise<ChildMessage | undefined> }> {
  const child = fork(fileURLToPath(import.meta.url), ['--simulator-child'], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  const request = (m: ParentMessage, reply?: ChildMessage['type']) =>
    new Promise<ChildMessage | undefined>((resolve, reject) => {
      if (!reply) {
        child.send(m);
        resolve(undefined);
        return;
      }
      const onMessage = (answer: ChildMessage) => {
        if (answer.type === 'error') {
          child.off('message', onMessage);
          reject(new Error(`simulator process: ${answer.message}`));
        } else if (answer.type === reply) {
          child.off('message', onMessage);
          resolve(answer);
        }
      };
      child.on('message', onMessage);
      child.once('exit', (code) => reject(new Error(`simulator process exited (${code})`)));
      child.send(m);
    });
  return request({ type: 'start', ...start }, 'ready').then((ready) => ({ child, endpointUrl: (ready as { endpointUrl: string }).endpointUrl, request }));
}

/** Ask the child to close its server and exit; wait for it (SIGKILL after 10 s) so no zombie is left. */
async function stopSimulatorProcess(sim: { child: ChildProcess; request(m: ParentMessage): Promise<unknown> }): Promise<void> {
  const { child } = sim;
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  if (child.connected) await sim.request({ type: 'stop' });
  else child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

// ---------------------------------------------------------------------------------------------------------

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = (p / 100) * (sorted.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (rank - lo);
}

const round = (x: number, digits = 0) => Math.round(x * 10 ** digits) / 10 ** digits;

interface Options {
  durationS: number;
  warmupS: number;
  copies: number;
  samplingMs: number;
  publishingMs: number;
  speed: number;
  stepS: number;
  publishIntervalMs: number;
  batchSize: number;
  concurrency: number;
  cycles: number;
  skipCycle: boolean;
  /** The planner of the timed cycle (the worker's PLANNER setting). */
  planner: PlannerName;
  capacityS: number;
  measurementsOnly: boolean;
  verbose: boolean;
}

function plannerOption(value: unknown): PlannerName {
  if (value === 'mpc' || value === 'rule-based') return value;
  throw new RangeError(`--planner must be mpc or rule-based, got ${String(value)}`);
}

function parseOptions(args: string[]): Options {
  const { values } = parseArgs({
    args,
    strict: false,
    allowPositionals: true,
    options: {
      'duration-s': { type: 'string', default: '25' },
      'warmup-s': { type: 'string', default: '4' },
      copies: { type: 'string', default: '20' },
      'sampling-ms': { type: 'string', default: '0' },
      'publishing-ms': { type: 'string', default: '250' },
      speed: { type: 'string', default: '3600' },
      step: { type: 'string', default: '60' },
      'publish-interval-ms': { type: 'string', default: '50' },
      'batch-size': { type: 'string', default: '5000' },
      concurrency: { type: 'string', default: '2' },
      cycles: { type: 'string', default: '20' },
      planner: { type: 'string', default: 'mpc' },
      'skip-cycle': { type: 'boolean', default: false },
      'capacity-s': { type: 'string', default: '10' },
      'measurements-only': { type: 'boolean', default: false },
      verbose: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
    },
  });
  const num = (name: string, min: number) => {
    const v = Number(values[name]);
    if (!(Number.isFinite(v) && v >= min)) throw new RangeError(`--${name} must be a number ≥ ${min}, got ${String(values[name])}`);
    return v;
  };
  return {
    durationS: num('duration-s', 1),
    warmupS: num('warmup-s', 0),
    copies: num('copies', 1),
    samplingMs: num('sampling-ms', 0),
    publishingMs: num('publishing-ms', 10),
    speed: num('speed', 1),
    stepS: num('step', 1),
    publishIntervalMs: num('publish-interval-ms', 1),
    batchSize: num('batch-size', 1),
    concurrency: num('concurrency', 1),
    cycles: num('cycles', 0),
    skipCycle: values['skip-cycle'] === true,
    planner: plannerOption(values['planner']),
    capacityS: num('capacity-s', 0),
    measurementsOnly: values['measurements-only'] === true,
    verbose: values['verbose'] === true,
  };
}

async function countInflux(influx: ReturnType<typeof createInfluxConnector>, afterUtcMs?: number): Promise<{ values: number; statusPoints: number; flags: number }> {
  let values = 0;
  const where = afterUtcMs === undefined ? '' : ` WHERE time > ${afterUtcMs}ms`;
  for (const s of await influx.query(`SELECT COUNT(*) FROM "station", "tank", "plant", "interconnection", "analyser"${where}`)) {
    for (const row of s.values) for (const v of row.slice(1)) values += Number(v ?? 0);
  }
  let statusPoints = 0;
  for (const s of await influx.query('SELECT COUNT("statusCode") FROM "tag_status"')) for (const row of s.values) statusPoints += Number(row[1] ?? 0);
  let flags = 0;
  for (const s of await influx.query('SELECT COUNT("active") FROM "sensor_flag"')) for (const row of s.values) flags += Number(row[1] ?? 0);
  return { values, statusPoints, flags };
}

export async function run(args: string[]): Promise<Record<string, unknown>> {
  const o = parseOptions(args);
  const progress = (m: string) => process.stderr.write(`[bench ingest] ${m}\n`);
  const tmp = await fsp.mkdtemp(path.join(os.tmpdir(), 'sewer-bench-ingest-'));
  const reference = await loadNetworkFile(referenceNetworkPath);
  const network = replicateNetwork(reference, o.copies);
  const networkFile = path.join(tmp, 'network.json');
  await fsp.writeFile(networkFile, JSON.stringify(network));
  const tags = ingestTags(network, !o.measurementsOnly);
  progress(`network ${network.id}: ${tags.length} tags (${tags.filter((t) => t.access === 'read').length} measurements) in ${o.copies} cop${o.copies === 1 ? 'y' : 'ies'} of the reference network`);

  process.env['SERVERS_QUIET'] ??= '1';
  const servers = await startTestServers({ temporal: false });
  const influxOptions = { url: servers.influx.url, token: servers.influx.token, org: '-', bucket: servers.influx.database, database: servers.influx.database };
  const influx = createInfluxConnector(influxOptions);
  let sim: Awaited<ReturnType<typeof startSimulatorProcess>> | undefined;
  const result: Record<string, unknown> = {};
  try {
    // ---------------- Phase 1: ingest throughput ----------------
    const startUtcMs = Math.floor(Date.now() / 3_600_000) * 3_600_000;
    sim = await startSimulatorProcess({ networkFile, stepS: o.stepS, speed: o.speed, publishIntervalMs: o.publishIntervalMs, startUtcMs, pkiFolder: path.join(tmp, 'pki') });
    const ingest = await startIngest({
      network,
      endpointUrl: sim.endpointUrl,
      influx: influxOptions,
      spoolDir: path.join(tmp, 'spool'),
      samplingIntervalMs: o.samplingMs,
      publishingIntervalMs: o.publishingMs,
      batchSize: o.batchSize,
      concurrency: o.concurrency,
      maxQueueLines: Math.max(100_000, o.batchSize * 10),
      includeSetpoints: !o.measurementsOnly,
      logger: o.verbose ? consoleLogger('bench', 'info') : silentLogger,
    });
    await ingest.waitUntilSubscribed(60_000);
    progress(`subscribed to ${tags.length} tags; warming up ${o.warmupS} s, measuring ${o.durationS} s`);
    await sleep(o.warmupS * 1000);
    const cpuBefore = process.cpuUsage();
    const simCpuBefore = (await sim.request({ type: 'cpu' }, 'cpu')) as { cpuMs: number; steps: number };
    // From here on, every value the simulator pushes carries a source time after mark.lastSourceUtcMs.
    const mark = ((await sim.request({ type: 'mark' }, 'marked')) as { counts: PublishCounts }).counts;
    const a = ingest.stats();
    const t0 = performance.now();
    const perSecond: number[] = [];
    let prev = a.pipeline.writtenValues;
    let maxBacklog = 0;
    for (let s = 0; s < o.durationS; s++) {
      await sleep(1000);
      const st = ingest.stats();
      perSecond.push(st.pipeline.writtenValues - prev);
      prev = st.pipeline.writtenValues;
      maxBacklog = Math.max(maxBacklog, st.pipeline.queued + st.pipeline.inFlight + st.pipeline.spoolPending);
    }
    const elapsedS = (performance.now() - t0) / 1000;
    const b = ingest.stats();
    const cpu = process.cpuUsage(cpuBefore);
    const simCpuAfter = (await sim.request({ type: 'cpu' }, 'cpu')) as { cpuMs: number; steps: number };
    const writtenRate = (b.pipeline.writtenValues - a.pipeline.writtenValues) / elapsedS;
    const receivedRate = (b.values.received - a.values.received) / elapsedS;
    const pointsRate = (b.pipeline.written - a.pipeline.written) / elapsedS;
    const backlogAtEnd = b.pipeline.queued + b.pipeline.inFlight + b.pipeline.spoolPending;

    // Stop the changes, let the last values arrive and be written, and count what InfluxDB holds.
    const paused = (await sim.request({ type: 'pause' }, 'paused')) as { counts: PublishCounts };
    const generated = paused.counts.goodChanges - mark.goodChanges;
    const drainDeadline = performance.now() + 60_000;
    let quietSince = performance.now();
    let lastReceived = ingest.stats().values.received;
    // Drained: nothing queued or in flight and no new value for two publishing intervals.
    while (performance.now() < drainDeadline) {
      await sleep(20);
      const st = ingest.stats();
      if (st.values.received !== lastReceived) {
        lastReceived = st.values.received;
        quietSince = performance.now();
      }
      if (st.pipeline.queued + st.pipeline.inFlight + st.pipeline.spoolPending === 0 && performance.now() - quietSince >= 2 * o.publishingMs) break;
    }
    const windowS = (performance.now() - t0) / 1000;
    const final = await ingest.stop({ drainTimeoutMs: 60_000 });
    const stored = await countInflux(influx, mark.lastSourceUtcMs);
    const held = await countInflux(influx);
    // Lost = values the simulator pushed (Good) in the window − values InfluxDB holds for it.
    const lost = generated - stored.values;
    const sortedSeconds = [...perSecond].sort((x, y) => x - y);
    Object.assign(result, {
      // Counted back from InfluxDB: values with a source time in the window, over the window's wall time
      // (from the mark to the last value written, so a backlog still draining after the pause counts against it).
      tag_updates_per_s: round(stored.values / windowS),
      points_lost: lost,
      ingest: {
        network: network.id,
        window_s: round(windowS, 2),
        values_generated_in_window: generated,
        values_in_influx_for_window: stored.values,
        tags: tags.length,
        measurement_tags: tags.filter((t) => t.access === 'read').length,
        duration_s: round(elapsedS, 1),
        updates_received_per_s: round(receivedRate),
        updates_written_per_s: round(writtenRate),
        updates_written_per_s_min_1s: sortedSeconds[0] ?? 0,
        updates_written_per_s_p50_1s: round(percentile(sortedSeconds, 50)),
        influx_points_per_s: round(pointsRate),
        backlog_max: maxBacklog,
        backlog_at_end: backlogAtEnd,
        ingest_process_cpu_fraction: round((cpu.user + cpu.system) / 1e6 / elapsedS, 2),
        simulator_process_cpu_fraction: round((simCpuAfter.cpuMs - simCpuBefore.cpuMs) / 1000 / elapsedS, 2),
        simulator_steps_per_s: round((simCpuAfter.steps - simCpuBefore.steps) / elapsedS, 1),
        // How many updates the simulator's OPC UA server delivers per CPU-second it gets: its ceiling.
        simulator_updates_per_cpu_s: round((b.values.received - a.values.received) / Math.max(1e-9, (simCpuAfter.cpuMs - simCpuBefore.cpuMs) / 1000)),
        load_average_1m: round(os.loadavg()[0] ?? 0, 2),
        totals: {
          lost_after_receipt: final.values.stored - held.values + (final.values.statusPoints - held.statusPoints),
          updates_received: final.values.received,
          values_stored: final.values.stored,
          status_points: final.values.statusPoints,
          values_in_influx: held.values,
          status_points_in_influx: held.statusPoints,
          pipeline_points_received: final.pipeline.received,
          pipeline_points_written: final.pipeline.written,
          spooled: final.pipeline.spooled,
          replayed: final.pipeline.replayed,
          dropped: final.pipeline.dropped,
          rejected: final.pipeline.rejected,
          duplicates_removed: final.subscriber.duplicates,
          opcua_queue_overflows: final.subscriber.overflows,
        },
        settings: {
          sampling_ms_requested: o.samplingMs,
          sampling_ms_revised: final.subscriber.revisedSamplingIntervalMs,
          publishing_ms: final.subscriber.revisedPublishingIntervalMs,
          simulator_speed: o.speed,
          simulator_step_s: o.stepS,
          simulator_publish_interval_ms: o.publishIntervalMs,
          batch_size: o.batchSize,
          concurrency: o.concurrency,
        },
      },
    });
    progress(`ingest: ${round(writtenRate)} updates/s written (${round(receivedRate)} received), lost ${lost}`);
    await stopSimulatorProcess(sim);
    sim = undefined;

    // ---------------- Phase 1b: capacity of the ingest path alone (encoder, pipeline, InfluxDB) ----------------
    if (o.capacityS > 0) {
      const capacity = await measureCapacity(tags, influxOptions, influx, o, path.join(tmp, 'spool-capacity'));
      Object.assign(result, { ingest_path_capacity: capacity });
      progress(`ingest path alone (synthetic updates, no OPC UA): ${capacity.updates_written_per_s} updates/s, lost ${capacity.points_lost}`);
    }

    // ---------------- Phase 2: dispatch cycle on the reference network ----------------
    if (!o.skipCycle && o.cycles > 0) {
      const cycle = await measureCycle(reference, influxOptions, o.cycles, tmp, o.planner);
      Object.assign(result, { cycle_ms_p50: cycle.p50, cycle_ms_p95: cycle.p95, cycle });
      progress(`cycle: p50 ${cycle.p50} ms, p95 ${cycle.p95} ms over ${o.cycles}`);
    } else {
      Object.assign(result, { cycle_ms_p50: null, cycle_ms_p95: null });
    }
    Object.assign(result, {
      targets: { tag_updates_per_s: 20_000, points_lost: 0, cycle_ms: 5_000 },
      machine: { cpus: os.cpus().length, cpu_model: os.cpus()[0]?.model ?? 'unknown', node: process.version },
      influxdb: '1.8 (infra/servers.ts startInfluxd)',
    });
    // The headline figures first, then the context.
    const { tag_updates_per_s, points_lost, cycle_ms_p50, cycle_ms_p95, ...context } = result;
    return { tag_updates_per_s, points_lost, cycle_ms_p50, cycle_ms_p95, ...context };
  } finally {
    if (sim) await stopSimulatorProcess(sim);
    await servers.stop();
    await fsp.rm(tmp, { recursive: true, force: true });
  }
}

/**
 * The ingest path without OPC UA: synthetic updates of the same tags (as the subscriber would hand them
 * over) through the same encoder, pipeline and writer into the same InfluxDB, as fast as InfluxDB takes
 * them while keeping the backlog bounded. Times are a week before the simulator's, counted separately.
 */
async function measureCapacity(
  tags: ReturnType<typeof ingestTags>,
  influxOptions: { url: string; token: string; org: string; bucket: string; database: string },
  influx: ReturnType<typeof createInfluxConnector>,
  o: Options,
  spoolDir: string,
): Promise<Record<string, number>> {
  const encoder = new TelemetryEncoder(tags);
  const pipeline = createPipeline({
    writer: createInfluxLineWriter(influxOptions),
    spool: { dir: spoolDir },
    batchSize: o.batchSize,
    concurrency: o.concurrency,
    maxQueueLines: Math.max(100_000, o.batchSize * 10),
  });
  const baseUtcMs = Math.floor(Date.now() / 3_600_000) * 3_600_000 - 7 * 86_400_000;
  const counts = { stored: 0, statusPoints: 0 };
  const measurementIdx = tags.flatMap((t, i) => (t.access === 'read' && t.dataType === 'Double' ? [i] : []));
  const highWater = o.batchSize * o.concurrency * 2;
  let round_ = 0;
  const deadline = performance.now() + o.capacityS * 1000;
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  while (performance.now() < deadline) {
    const c = pipeline.counters();
    if (c.queued + c.inFlight >= highWater) {
      await new Promise((r) => setImmediate(r));
      continue;
    }
    const t = baseUtcMs + round_;
    const updates = measurementIdx.map((index) => ({
      index,
      tag: tags[index]!,
      value: 1 + ((round_ * 7919 + index) % 1000) / 997,
      statusCode: 'Good',
      severity: 'good' as const,
      timeUtcMs: t,
      sourceTimeUtcMs: t,
      serverTimeUtcMs: t,
      receivedAtUtcMs: Date.now(),
    }));
    pipeline.pushMany(encoder.encode(updates, counts));
    round_++;
    await new Promise((r) => setImmediate(r));
  }
  await pipeline.flush();
  const elapsedS = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const final = await pipeline.close({ drainTimeoutMs: 60_000 });
  let held = 0;
  for (const s of await influx.query(`SELECT COUNT(*) FROM "station", "tank", "plant", "interconnection", "analyser" WHERE time >= ${baseUtcMs}ms AND time < ${baseUtcMs + 86_400_000}ms`)) {
    for (const row of s.values) for (const v of row.slice(1)) held += Number(v ?? 0);
  }
  return {
    updates_written_per_s: round(final.writtenValues / elapsedS),
    points_written_per_s: round(final.written / elapsedS),
    points_lost: Math.max(0, counts.stored - held) + final.dropped + final.rejected,
    values_pushed: counts.stored,
    values_in_influx: held,
    spooled: final.spooled,
    process_cpu_fraction: round((cpu.user + cpu.system) / 1e6 / elapsedS, 2),
    duration_s: round(elapsedS, 1),
  };
}

async function measureCycle(
  network: NetworkConfig,
  influxOptions: { url: string; token: string; org: string; bucket: string; database: string },
  cycles: number,
  tmp: string,
  plannerName: PlannerName,
): Promise<{ planner: PlannerName; p50: number; p95: number; max: number; cycles: number; phases_ms_p50: Record<string, number> }> {
  const startUtcMs = Math.floor(Date.now() / 3_600_000) * 3_600_000;
  const simulation = createSimulation({ network, startUtcMs });
  const simulator = await startSimulatorServer({ network, simulation, port: 0, host: '127.0.0.1', clock: { mode: 'manual' }, pkiFolder: path.join(tmp, 'pki-cycle') });
  simulator.advance(30);
  const forecast = await startForecastServer({ port: 0, scenario: 'rainstorm', scenarioStartUtcMs: startUtcMs, seed: 7 });
  // The worker's own composition (runtime/connectors.ts, worker/main.ts): ensemble rain, the inflow forecast
  // written to InfluxDB, and the planner PLANNER names (the optimiser by default).
  const env = loadEnv({
    INFLUX_URL: influxOptions.url,
    INFLUX_TOKEN: influxOptions.token,
    INFLUX_BUCKET: influxOptions.bucket,
    INFLUX_DATABASE: influxOptions.database,
    OPCUA_ENDPOINT: simulator.endpointUrl,
    OPEN_METEO_FORECAST_URL: `${forecast.url}/v1/forecast`,
    OPEN_METEO_ENSEMBLE_URL: `${forecast.url}/v1/ensemble`,
    OPEN_METEO_ARCHIVE_URL: `${forecast.url}/v1/archive`,
    PLANNER: plannerName,
  });
  const connectors = createRuntimeConnectors(env, network);
  const activities = createDispatchActivities(cycleDependencies(env, network, connectors));
  const totals: number[] = [];
  const phases: Record<string, number[]> = { readNetworkState: [], writeTelemetry: [], fetchRainForecast: [], buildPlan: [] };
  try {
    for (let i = 0; i < cycles + 1; i++) {
      simulator.advance(15);
      const t0 = performance.now();
      const snapshot = await activities.readNetworkState();
      const t1 = performance.now();
      await activities.writeTelemetry(snapshot);
      const t2 = performance.now();
      const rain = await activities.fetchRainForecast();
      const t3 = performance.now();
      await activities.buildPlan({ planId: `bench-${i}`, snapshot, forecast: rain });
      const t4 = performance.now();
      if (i === 0) continue; // the first cycle pays for connection set-up and JIT warm-up
      totals.push(t4 - t0);
      phases['readNetworkState']!.push(t1 - t0);
      phases['writeTelemetry']!.push(t2 - t1);
      phases['fetchRainForecast']!.push(t3 - t2);
      phases['buildPlan']!.push(t4 - t3);
    }
  } finally {
    await connectors.close();
    await simulator.close();
    await forecast.close();
  }
  const sorted = [...totals].sort((a, b) => a - b);
  const p50s: Record<string, number> = {};
  for (const [k, v] of Object.entries(phases)) p50s[k] = round(percentile([...v].sort((a, b) => a - b), 50), 1);
  return { planner: plannerName, p50: round(percentile(sorted, 50), 1), p95: round(percentile(sorted, 95), 1), max: round(sorted.at(-1) ?? Number.NaN, 1), cycles: totals.length, phases_ms_p50: p50s };
}

// Standalone: `tsx bench/ingest.ts [options]`, or the simulator child forked above.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  if (process.argv[2] === '--simulator-child') {
    await simulatorChild();
  } else {
    const result = await run(process.argv.slice(2));
    process.stdout.write(`${JSON.stringify(result)}\n`);
    process.exit(0);
  }
}
