// CLI: the telemetry ingest service, with settings from the environment (settings/env.ts):
//
//   tsx ingest/main.ts [--spool-dir .data/spool] [--sampling-ms 500] [--publishing-ms 1000]
//                      [--batch-size 5000] [--flush-ms 1000] [--stats-every-s 60] [--no-setpoints]
//
// Reads NETWORK_FILE, OPCUA_ENDPOINT, OPCUA_SECURITY_MODE, OPCUA_USER/OPCUA_PASSWORD, INFLUX_URL, INFLUX_TOKEN,
// INFLUX_ORG, INFLUX_BUCKET, INFLUX_DATABASE, INGEST_SPOOL_MAX_MB and LOG_LEVEL. Runs until SIGINT/SIGTERM, then unsubscribes, puts
// every point received on disk, tries to write the spool out for INGEST_STOP_DRAIN_MS and exits, within
// INGEST_STOP_DEADLINE_MS in all (ingest/shutdown.ts); what InfluxDB has not taken is replayed on the next
// start. One process per spool folder: a second one exits with code 2 naming the PID that holds it.
import { parseArgs } from 'node:util';
import { resolveFromRepo } from '../runtime/paths.js';
import { loadSettings } from '../runtime/startup.js';
import { consoleLogger } from './log.js';
import { defaultSpoolDir, startIngest, type IngestHandle } from './service.js';
import { INGEST_STOP_DEADLINE_MS, INGEST_STOP_DRAIN_MS } from './shutdown.js';
import { SpoolLockedError } from './spool.js';

const usage = `Usage: tsx ingest/main.ts [options]
  --spool-dir <dir>       spool for points InfluxDB cannot take now (default .data/spool)
  --sampling-ms <n>       requested sampling interval per tag (default 500; 0 = every change)
  --publishing-ms <n>     requested publishing interval of the subscription (default 1000)
  --batch-size <n>        points per InfluxDB request (default 5000)
  --flush-ms <n>          longest wait before a partial batch is sent (default 1000)
  --stats-every-s <n>     log counters this often (default 60; 0 = never)
  --no-setpoints          do not subscribe to setpoint tags
  -h, --help              this text
Settings come from the environment (settings/env.ts).`;

const { values } = parseArgs({
  args: process.argv.slice(2),
  strict: true,
  allowPositionals: false,
  options: {
    'spool-dir': { type: 'string' },
    'sampling-ms': { type: 'string', default: '500' },
    'publishing-ms': { type: 'string', default: '1000' },
    'batch-size': { type: 'string', default: '5000' },
    'flush-ms': { type: 'string', default: '1000' },
    'stats-every-s': { type: 'string', default: '60' },
    'no-setpoints': { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (values.help) {
  console.log(usage);
  process.exit(0);
}
const integer = (name: string, raw: string, min: number): number => {
  if (!/^\d+$/.test(raw) || Number(raw) < min) {
    console.error(`Cannot start: --${name} must be a whole number ≥ ${min}, got "${raw}"\n\n${usage}`);
    process.exit(2);
  }
  return Number(raw);
};
const samplingIntervalMs = integer('sampling-ms', values['sampling-ms'], 0);
const publishingIntervalMs = integer('publishing-ms', values['publishing-ms'], 10);
const batchSize = integer('batch-size', values['batch-size'], 1);
const flushIntervalMs = integer('flush-ms', values['flush-ms'], 10);
const statsEveryS = integer('stats-every-s', values['stats-every-s'], 0);

const { env, network } = await loadSettings();
const log = consoleLogger('main', env.LOG_LEVEL);
const spoolDir = values['spool-dir'] ? resolveFromRepo(values['spool-dir']) : defaultSpoolDir;
const secure = env.OPCUA_SECURITY_MODE === 'SignAndEncrypt';

let ingest: IngestHandle;
try {
  ingest = await startIngest({
    network,
    endpointUrl: env.OPCUA_ENDPOINT,
    security: {
      mode: env.OPCUA_SECURITY_MODE,
      ...(env.OPCUA_USER ? { userName: env.OPCUA_USER } : {}),
      ...(env.OPCUA_PASSWORD ? { password: env.OPCUA_PASSWORD } : {}),
      // The folder the worker and the API use too: SCADA trusts one client certificate (runtime/connectors.ts).
      ...(secure ? { pkiFolder: resolveFromRepo(env.OPCUA_PKI_DIR), acceptUnknownServerCertificate: env.OPCUA_ACCEPT_UNKNOWN_SERVER_CERT === 'true' } : {}),
    },
    influx: { url: env.INFLUX_URL, token: env.INFLUX_TOKEN, org: env.INFLUX_ORG, bucket: env.INFLUX_BUCKET, database: env.INFLUX_DATABASE },
    spoolDir,
    spoolMaxBytes: env.INGEST_SPOOL_MAX_MB * 1024 * 1024,
    includeSetpoints: !values['no-setpoints'],
    samplingIntervalMs,
    publishingIntervalMs,
    batchSize,
    flushIntervalMs,
    logger: log,
  });
} catch (error) {
  if (!(error instanceof SpoolLockedError)) throw error;
  console.error(`Cannot start: ${error.message}`);
  process.exit(2);
}
log.info('ingest: running', {
  network: network.id,
  endpointUrl: env.OPCUA_ENDPOINT,
  influx: env.INFLUX_URL,
  bucket: env.INFLUX_BUCKET,
  spoolDir,
  spoolMaxBytes: ingest.stats().pipeline.spool.maxBytes,
});

const statsTimer =
  statsEveryS > 0
    ? setInterval(() => {
        const s = ingest.stats();
        const p = s.pipeline;
        const sub = s.subscriber;
        const fields = {
          state: sub.state,
          lastPublishAgeMs: sub.lastPublishAtUtcMs !== null ? Date.now() - sub.lastPublishAtUtcMs : null,
          connectionsLost: sub.connectionsLost,
          recreated: sub.recreated,
          gaps: s.gaps,
          updates: s.values.received,
          stored: s.values.stored,
          received: p.received,
          written: p.written,
          spooled: p.spooled,
          replayed: p.replayed,
          dropped: p.dropped,
          rejected: p.rejected,
          spoolPending: p.spoolPending,
          mode: p.mode,
          writeFailures: p.writeFailures,
          spoolFailures: p.spoolFailures,
          deadLetterFailures: p.deadLetterFailures,
          flags: s.flags.active,
          clockResets: s.clockResets,
          // Why it is spooling, reconnecting or losing points: the reason, not only the mode.
          lastError: p.lastError ?? sub.lastError,
          stateError: s.stateError,
        };
        const unwell = p.dropped > 0 || p.mode === 'spooling' || sub.state !== 'subscribed' || s.stateError !== null;
        if (unwell) log.warn('ingest: counters', fields);
        else log.info('ingest: counters', fields);
      }, statsEveryS * 1000)
    : undefined;

let stopping = false;
const shutdown = (signal: string) => {
  if (stopping) return;
  stopping = true;
  log.info('ingest: stopping', { signal, deadlineMs: INGEST_STOP_DEADLINE_MS });
  if (statsTimer) clearInterval(statsTimer);
  // A supervisor kills after its grace period: exit before it does, whatever is still waiting on OPC UA or
  // InfluxDB. Once the pipeline is stopping, every point received is on disk.
  setTimeout(() => {
    const p = ingest.stats().pipeline;
    log.error('ingest: not stopped within the deadline; exiting', {
      deadlineMs: INGEST_STOP_DEADLINE_MS,
      onDisk: p.stopping,
      spoolPending: p.spoolPending,
      queued: p.queued,
      inFlight: p.inFlight,
    });
    process.exit(p.stopping && p.dropped === 0 ? 0 : 1);
  }, INGEST_STOP_DEADLINE_MS).unref();
  ingest
    .stop({ drainTimeoutMs: INGEST_STOP_DRAIN_MS })
    .then((final) => {
      process.exit(final.pipeline.dropped > 0 ? 1 : 0);
    })
    .catch((error: unknown) => {
      log.error('ingest: stop failed', { error: (error as Error).message });
      process.exit(1);
    });
};
process.on('SIGINT', () => shutdown('SIGINT'));
process.on('SIGTERM', () => shutdown('SIGTERM'));
