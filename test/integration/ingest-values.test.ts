// What ingest does with the values a real OPC UA server sends that the simulator never does: a source clock a
// day ahead of the server's, 64-bit integers, strings and dates where numbers were expected; and a consumer
// that throws. The server is a small node-opcua server holding a few tags of the reference network.
import assert from 'node:assert/strict';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import {
  DataType,
  DataValue,
  OPCUACertificateManager,
  OPCUAServer,
  SessionContext,
  StatusCodes,
  Variant,
  VariantArrayType,
  type StatusCode,
  type UAVariable,
  type VariantLike,
} from 'node-opcua';
import type { IngestLogger } from '../../ingest/log.js';
import { startIngest, type IngestHandle } from '../../ingest/service.js';
import { createSubscriber, type TagUpdate } from '../../ingest/subscriber.js';
import type { LineWriter } from '../../ingest/writer.js';
import { loadNetworkFile, referenceNetworkPath } from '../../network/load.js';
import type { NetworkConfig } from '../../network/schema.js';
import { resolveTagMap, type ResolvedTag } from '../../network/tags.js';
import { until as untilTrue } from '../support/until.js';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const DAY = 86_400_000;

let tmp: string;
let network: NetworkConfig;
let tags: ResolvedTag[];
let server: OPCUAServer;
let endpointUrl: string;
const variables = new Map<string, UAVariable>();

const until = <T>(what: string, timeoutMs: number, check: () => T | Promise<T>) => untilTrue(what, timeoutMs, check, { pollMs: 50 });

interface Logged {
  level: string;
  message: string;
  fields: Record<string, unknown>;
}
function recordingLogger(): { logger: IngestLogger; logged: Logged[] } {
  const logged: Logged[] = [];
  const at = (level: string) => (message: string, fields: Record<string, unknown> = {}) => void logged.push({ level, message, fields });
  return { logger: { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') }, logged };
}

const variable = (objectId: string, tag: string) => variables.get(`${objectId}.${tag}`)!;

/** Set a value as a device would: source and server time from the same clock, now. */
function set(objectId: string, tag: string, value: VariantLike) {
  variable(objectId, tag).setValueFromSource(value, StatusCodes.Good, new Date());
}

/** Set a value with the source and server times given (a device clock that is off). */
async function setStamped(objectId: string, tag: string, value: VariantLike, sourceTimestamp: Date, serverTimestamp: Date) {
  const dataValue = new DataValue({ value: new Variant(value), statusCode: StatusCodes.Good, sourceTimestamp, serverTimestamp });
  const status = await new Promise<StatusCode>((resolve, reject) => variable(objectId, tag).writeValue(SessionContext.defaultContext, dataValue, null, (error, s) => (error ? reject(error) : resolve(s!))));
  assert.equal(status.name, 'Good');
}

const uint64 = (high: number, low: number): VariantLike => new Variant({ dataType: DataType.UInt64, arrayType: VariantArrayType.Scalar, value: [high, low] });
const int64 = (high: number, low: number): VariantLike => new Variant({ dataType: DataType.Int64, arrayType: VariantArrayType.Scalar, value: [high, low] });

before(async () => {
  tmp = await fsp.mkdtemp(path.join(os.tmpdir(), 'sewer-ingest-values-'));
  network = await loadNetworkFile(referenceNetworkPath);
  tags = resolveTagMap(network);
  const certificateManager = new OPCUACertificateManager({ rootFolder: path.join(tmp, 'pki'), automaticallyAcceptUnknownCertificate: true, disableFileWatchers: true });
  await certificateManager.initialize();
  server = new OPCUAServer({ port: 0, host: '127.0.0.1', hostname: '127.0.0.1', serverCertificateManager: certificateManager, skipOwnNamespace: true, serverCapabilities: { minSupportedSampleRate: 0 } });
  await server.initialize();
  const addressSpace = server.engine.addressSpace!;
  const namespace = addressSpace.registerNamespace(network.opcua.namespaceUri);
  assert.equal(namespace.index, 1);
  // A few tags of the reference network, some in types the tag map does not expect (a real server may).
  const initial: [string, string, string, VariantLike][] = [
    ['W1', 'levelM', 'Double', { dataType: DataType.Double, value: 2 }],
    ['W1', 'energyKwh', 'Int64', int64(0, 123_456)],
    ['W1', 'pumpStarts', 'UInt64', uint64(1, 5)],
    ['W1', 'mode', 'String', { dataType: DataType.String, value: 'REMOTE' }],
    ['W1', 'heartbeat', 'DateTime', { dataType: DataType.DateTime, value: new Date() }],
    ['Q-WP', 'codMgL', 'Double', { dataType: DataType.Double, value: 300 }],
    ['Q-WP', 'ph', 'Double', { dataType: DataType.Double, value: 7.2 }],
  ];
  for (const [objectId, tag, dataType, value] of initial) {
    const t = tags.find((x) => x.objectId === objectId && x.tag === tag)!;
    const v = namespace.addVariable({ organizedBy: addressSpace.rootFolder.objects, browseName: `${objectId}.${tag}`, nodeId: t.nodeId, dataType, minimumSamplingInterval: 0, value: new Variant(value) });
    variables.set(`${objectId}.${tag}`, v);
  }
  await server.start();
  endpointUrl = `opc.tcp://127.0.0.1:${server.endpoints[0]!.port}`;
});

after(async () => {
  await server?.shutdown(0);
  await fsp.rm(tmp, { recursive: true, force: true });
});

test('through the service: a clock a day ahead is stamped at server time and flagged; 64-bit integers stored; strings and dates named once', async () => {
  const lines: string[] = [];
  const writer: LineWriter = {
    write: async (batch) => {
      lines.push(...batch);
    },
    close: async () => undefined,
  };
  const { logger, logged } = recordingLogger();
  let ingest: IngestHandle | undefined;
  try {
    ingest = await startIngest({
      network,
      endpointUrl,
      influx: { url: 'http://127.0.0.1:1', token: 'x', org: 'x', bucket: 'x', database: 'x' },
      spoolDir: path.join(tmp, 'spool'),
      samplingIntervalMs: 0,
      publishingIntervalMs: 100,
      flushIntervalMs: 50,
      qualityTickMs: 50,
      writer,
      logger,
    });
    await ingest.waitUntilSubscribed(15_000);
    const running = ingest;
    await until('the initial values', 5000, () => running.stats().values.received >= 7);

    // The analyser's clock jumps a day ahead of the server's.
    const serverTime = new Date(Date.now() - 1);
    await setStamped('Q-WP', 'codMgL', { dataType: DataType.Double, value: 305 }, new Date(serverTime.getTime() + DAY), serverTime);
    set('W1', 'mode', { dataType: DataType.String, value: 'LOCAL' });
    set('W1', 'heartbeat', { dataType: DataType.DateTime, value: new Date() });
    set('W1', 'pumpStarts', uint64(1, 6));
    await until('the clock_skew flag', 5000, () => running.flags().some((f) => f.kind === 'clock_skew'));
    await sleep(300); // a few quality ticks
    await running.flush();

    // Stamped with the server time, not a day ahead.
    const cod = lines.filter((l) => l.startsWith('analyser,id=Q-WP ') && l.includes('codMgL=305'));
    assert.deepEqual(cod, [`analyser,id=Q-WP codMgL=305 ${serverTime.getTime()}`]);
    const flag = running.flags().find((f) => f.kind === 'clock_skew')!;
    assert.deepEqual([flag.objectId, flag.tag], ['Q-WP', 'codMgL']);
    assert.ok(lines.some((l) => l.startsWith('sensor_flag,kind=clock_skew,object=Q-WP,tag=codMgL active=true,detail="source clock 24 h 0 min ahead of the server clock')));
    // The monitor's clock did not jump a day: no sensor has been flat for 3 h.
    assert.deepEqual(
      running.flags().filter((f) => f.kind === 'flatline'),
      [],
    );
    assert.equal(running.stats().subscriber.clockSkewed, 1);
    assert.ok(logged.some((l) => l.level === 'warn' && /source clock off/.test(l.message) && l.fields['nodeId'] === 'ns=1;s=Q-WP.codMgL'));

    // 64-bit integers as numbers.
    assert.ok(lines.some((l) => /^station,id=W1 .*energyKwh=123456[ ,]/.test(l)), 'Int64 123456');
    assert.ok(lines.some((l) => /^station,id=W1 .*pumpStarts=4294967301[ ,]/.test(l)), 'UInt64 [1, 5]');
    assert.ok(lines.some((l) => /^station,id=W1 .*pumpStarts=4294967302[ ,]/.test(l)), 'UInt64 [1, 6]');
    // Strings and dates: recorded in tag_status with their type, and logged once per tag naming NodeId and type.
    assert.equal(lines.filter((l) => l.startsWith('tag_status,object=W1,tag=mode statusCode="Good (unsupported type String)" ')).length, 2);
    assert.equal(lines.filter((l) => l.startsWith('tag_status,object=W1,tag=heartbeat statusCode="Good (unsupported type DateTime)" ')).length, 2);
    const typeLogs = logged.filter((l) => /type ingest cannot store/.test(l.message));
    assert.deepEqual(
      typeLogs.map((l) => [l.level, l.fields['nodeId'], l.fields['type']]).sort(),
      [
        ['warn', 'ns=1;s=W1.heartbeat', 'DateTime'],
        ['warn', 'ns=1;s=W1.mode', 'String'],
      ],
    );
    assert.equal(running.stats().subscriber.unsupportedValues, 4);

    // The clock back in line: the flag clears.
    set('Q-WP', 'codMgL', { dataType: DataType.Double, value: 306 });
    await until('the clock_skew flag to clear', 5000, () => !running.flags().some((f) => f.kind === 'clock_skew'));
  } finally {
    await ingest?.stop();
  }
});

test('onUpdates throwing: the batch is counted as dropped and logged, later batches still arrive', async () => {
  const { logger, logged } = recordingLogger();
  const subset = tags.filter((t) => t.objectId === 'W1' && (t.tag === 'levelM' || t.tag === 'energyKwh'));
  const received: TagUpdate[][] = [];
  let calls = 0;
  const subscriber = createSubscriber({
    endpointUrl,
    tags: subset,
    samplingIntervalMs: 0,
    publishingIntervalMs: 100,
    logger,
    onUpdates: (updates) => {
      calls++;
      if (calls === 1) throw new Error('consumer failed');
      received.push(updates);
    },
  });
  subscriber.start();
  try {
    await subscriber.waitUntilSubscribed(15_000);
    await until('the first batch', 5000, () => calls >= 1);
    const first = subscriber.stats();
    assert.ok(first.dropped >= 1, `dropped ${first.dropped}`);
    assert.equal(first.droppedBatches, 1);
    const error = logged.find((l) => l.level === 'error' && /onUpdates threw; the values of this batch are lost/.test(l.message));
    assert.ok(error, JSON.stringify(logged.filter((l) => l.level === 'error')));
    assert.equal(error.fields['values'], first.dropped);
    assert.equal(error.fields['error'], 'consumer failed');
    assert.match(String(error.fields['first']), /^W1\.(levelM|energyKwh) at /);
    set('W1', 'levelM', { dataType: DataType.Double, value: 2.5 });
    await until('the next batch', 5000, () => received.some((b) => b.some((u) => u.value === 2.5)));
    assert.equal(subscriber.stats().dropped, first.dropped, 'only the batch that threw is lost');
  } finally {
    await subscriber.stop();
  }
});
