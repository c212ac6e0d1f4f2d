// The digital twin as a SCADA server: every tag of the network's tag map as an OPC UA variable.
// Measurements are read-only and pushed as the simulation advances; setpoints are writable, type-checked
// and logged. One namespace (network.opcua.namespaceUri) at index 1, so configured `ns=1;s=...` ids resolve.
// Every variable is exception-based (MinimumSamplingInterval 0, values pushed with setValueFromSource):
// a client that asks for sampling interval 0 is notified of each change without any sampling timer, which
// on a large network cost the server more than the simulation itself (3 reads per tag per 50 ms).
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  AttributeIds,
  DataType,
  DataValue,
  MessageSecurityMode,
  OPCUACertificateManager,
  OPCUAServer,
  SecurityPolicy,
  StatusCodes,
  Variant,
  coerceNodeId,
  makeEUInformation,
} from 'node-opcua';
import type { EUInformation, ISessionContext, Namespace, StatusCode, UAObject, UAVariable, WriteValue } from 'node-opcua';
import type { NetworkConfig } from '../network/schema.js';
import { resolveTagMap } from '../network/tags.js';
import type { ResolvedTag, TagDataType } from '../network/tags.js';
import { TagAccessError } from './model.js';
import type { Simulation, TagQuality, TagValue } from './model.js';
import { createClock } from './runner.js';
import type { ClockOptions, SimulationClock } from './runner.js';

export type SecurityModeName = 'None' | 'SignAndEncrypt';

export interface SimulatorSecurity {
  userName: string;
  password: string;
  /** Endpoints to offer; default SignAndEncrypt only when credentials are configured. */
  modes?: SecurityModeName[];
}

export interface SimulatorServerOptions {
  network: NetworkConfig;
  simulation: Simulation;
  /** TCP port; 0 picks a free port. Default 4840. */
  port?: number;
  /** Interface to listen on and hostname in the endpoint URL; default '127.0.0.1'. */
  host?: string;
  /** Username/password required (anonymous is refused); without it, anonymous None and SignAndEncrypt. */
  security?: SimulatorSecurity;
  /** How simulated time advances; default manual (call `advance`). A clock built elsewhere may be passed. */
  clock?: ClockOptions | SimulationClock;
  /** PKI folder of the server certificate and trusted clients; default <repo>/.data/pki/simulator. */
  pkiFolder?: string;
  /** Shortest wall-clock interval between pushes of new values to OPC UA variables; default 100 ms. */
  publishIntervalMs?: number;
}

export interface WriteLogEntry {
  /** Simulated time the write was applied at (UTC ms). */
  atUtcMs: number;
  nodeId: string;
  objectId: string;
  tag: string;
  value: TagValue;
}

/** Values pushed to OPC UA variables since the server started (cumulative; for benchmarks and tests). */
export interface PublishCounts {
  /** Pushes of a new value or status. */
  changes: number;
  /** Of those, pushes with status Good (what a historian stores as values). */
  goodChanges: number;
  /** Source timestamp (simulated time) of the newest push, UTC ms. */
  lastSourceUtcMs: number;
}

export interface SimulatorServerHandle {
  endpointUrl: string;
  port: number;
  /** Every accepted write, in order (rejected writes are not logged). */
  writeLog: readonly WriteLogEntry[];
  simulation: Simulation;
  clock: SimulationClock;
  /** Advance the simulation by whole steps and push the new values now. */
  advance(steps: number): void;
  /** Push the current simulation state to the OPC UA variables now. */
  publish(): void;
  /** What has been pushed so far. */
  publishCounts(): PublishCounts;
  close(): Promise<void>;
}

export const defaultPkiFolder = fileURLToPath(new URL('../.data/pki/simulator', import.meta.url));

const dataTypes: Record<TagDataType, DataType> = {
  Double: DataType.Double,
  Int32: DataType.Int32,
  UInt32: DataType.UInt32,
  Boolean: DataType.Boolean,
};

// UNECE Recommendation 20 common codes, as OPC UA EUInformation expects.
const units: Record<string, EUInformation> = {
  m: makeEUInformation('MTR', 'm', 'metre'),
  m3: makeEUInformation('MTQ', 'm³', 'cubic metre'),
  'm3/h': makeEUInformation('MQH', 'm³/h', 'cubic metre per hour'),
  kWh: makeEUInformation('KWH', 'kWh', 'kilowatt hour'),
  'mg/L': makeEUInformation('M1', 'mg/L', 'milligram per litre'),
  pH: makeEUInformation('', 'pH', 'pH'),
};

function statusOf(quality: TagQuality, commLoss: boolean): StatusCode {
  if (commLoss) return StatusCodes.BadNoCommunication;
  if (quality === 'uncertain') return StatusCodes.UncertainSensorNotAccurate;
  if (quality === 'bad') return StatusCodes.BadSensorFailure;
  return StatusCodes.Good;
}

function statusOfError(error: unknown): StatusCode {
  if (!(error instanceof TagAccessError)) return StatusCodes.BadInternalError;
  switch (error.code) {
    case 'TypeMismatch':
      return StatusCodes.BadTypeMismatch;
    case 'OutOfRange':
      return StatusCodes.BadOutOfRange;
    case 'ReadOnly':
      return StatusCodes.BadNotWritable;
    case 'NoCommunication':
      return StatusCodes.BadNoCommunication;
    default:
      return StatusCodes.BadNodeIdUnknown;
  }
}

/** Engineering range of a measurement, for the AnalogItem's EURange (display scaling, not validation). */
function euRange(network: NetworkConfig, simulation: Simulation, tag: ResolvedTag): { low: number; high: number } {
  if (tag.access === 'write') {
    const range = simulation.rangeOf(tag.objectId, tag.tag);
    return { low: range.min, high: range.max };
  }
  const station = network.stations.find((s) => s.id === tag.objectId);
  if (station) {
    if (tag.unit === 'm') return { low: 0, high: station.levels.overflowM };
    if (tag.unit === 'm3/h') return { low: 0, high: station.pumps.reduce((a, p) => a + p.capacityM3h, 0) * 2 };
  }
  const x = network.interconnections.find((i) => i.id === tag.objectId);
  if (x) return { low: -x.capacityM3h, high: x.capacityM3h };
  const tank = network.tanks.find((t) => t.id === tag.objectId);
  if (tank) return tag.unit === 'm3' ? { low: 0, high: tank.capacityM3 } : tag.unit === 'm' ? { low: 0, high: 10 } : { low: 0, high: Math.max(tank.inletMaxM3h, tank.outletMaxM3h) * 2 };
  const plant = network.plants.find((p) => p.id === tag.objectId);
  if (plant) return { low: 0, high: plant.capacityM3h * 2 };
  if (tag.unit === 'pH') return { low: 0, high: 14 };
  if (tag.unit === 'mg/L') return { low: 0, high: 2000 };
  return { low: 0, high: 1e9 };
}

function toVariantValue(dataType: TagDataType, value: TagValue): TagValue {
  return dataType === 'Boolean' ? Boolean(value) : Number(value);
}

function modesOf(security: SimulatorSecurity | undefined): SecurityModeName[] {
  const modes = security?.modes ?? (security ? ['SignAndEncrypt'] : ['None', 'SignAndEncrypt']);
  if (modes.length === 0) throw new RangeError('security.modes must name at least one mode');
  for (const m of modes) if (m !== 'None' && m !== 'SignAndEncrypt') throw new RangeError(`security.modes: unknown mode ${String(m)} (None or SignAndEncrypt)`);
  return modes;
}

interface PushedVariable {
  variable: UAVariable;
  tag: ResolvedTag;
  lastValue: TagValue | undefined;
  lastStatus: StatusCode | undefined;
}

export async function startSimulatorServer(options: SimulatorServerOptions): Promise<SimulatorServerHandle> {
  const { network, simulation } = options;
  if (simulation.network.id !== network.id || simulation.tagMap.length !== resolveTagMap(network).length) {
    throw new Error(`the simulation was built for network ${simulation.network.id}, not for ${network.id}`);
  }
  const port = options.port ?? 4840;
  if (!(Number.isInteger(port) && port >= 0 && port <= 65535)) throw new RangeError(`port must be an integer in [0, 65535], got ${port}`);
  const host = options.host ?? '127.0.0.1';
  const security = options.security;
  if (security && (!security.userName || !security.password)) throw new RangeError('security.userName and security.password must be non-empty');
  const modes = modesOf(security);
  const publishIntervalMs = options.publishIntervalMs ?? 100;
  const tags = resolveTagMap(network);

  const pkiFolder = path.resolve(options.pkiFolder ?? defaultPkiFolder);
  const serverCertificateManager = new OPCUACertificateManager({
    rootFolder: pkiFolder,
    // A test twin: any client certificate is trusted (a real SCADA would keep a curated trust list).
    automaticallyAcceptUnknownCertificate: true,
    disableFileWatchers: true,
  });
  await serverCertificateManager.initialize();

  const server = new OPCUAServer({
    port,
    host,
    hostname: host,
    serverCertificateManager,
    certificateFile: path.join(pkiFolder, 'own/certs/simulator_certificate.pem'),
    privateKeyFile: path.join(pkiFolder, 'own/private/private_key.pem'),
    securityModes: modes.map((m) => (m === 'None' ? MessageSecurityMode.None : MessageSecurityMode.SignAndEncrypt)),
    securityPolicies: modes.map((m) => (m === 'None' ? SecurityPolicy.None : SecurityPolicy.Basic256Sha256)),
    allowAnonymous: !security,
    userManager: security ? { isValidUser: (userName: string, password: string) => userName === security.userName && password === security.password } : undefined,
    skipOwnNamespace: true,
    serverInfo: { applicationName: { text: `sewer-dispatch simulator (${network.id})` } },
    // Exception-based items asking for 0 get every change, not one per coalescing window.
    serverCapabilities: { minSupportedSampleRate: 0 },
    buildInfo: { productName: 'sewer-dispatch simulator', manufacturerName: 'sewer-dispatch' },
  });

  let clock: SimulationClock | undefined;
  let publishTimer: NodeJS.Timeout | undefined;
  let closed = false;
  try {
    await server.initialize();
    const addressSpace = server.engine.addressSpace;
    if (!addressSpace) throw new Error('OPC UA address space did not initialise');
    const namespace: Namespace = addressSpace.registerNamespace(network.opcua.namespaceUri);
    if (namespace.index !== 1) throw new Error(`namespace ${network.opcua.namespaceUri} got index ${namespace.index}, expected 1`);

    const usedNodeIds = new Set(tags.map((t) => t.nodeId));
    for (const tag of tags) {
      const nodeId = coerceNodeId(tag.nodeId);
      if (nodeId.namespace !== 1) throw new Error(`tag ${tag.objectId}.${tag.tag}: NodeId ${tag.nodeId} must be in namespace 1 (${network.opcua.namespaceUri})`);
    }
    // Folder ids mirror the objects (ns=1;s=W1); a clash with a configured tag id falls back to an automatic id.
    const folderNodeId = (name: string): string | undefined => {
      const candidate = `ns=1;s=${name}`;
      if (usedNodeIds.has(candidate)) return undefined;
      usedNodeIds.add(candidate);
      return candidate;
    };
    const root = namespace.addFolder(addressSpace.rootFolder.objects, {
      browseName: network.id,
      nodeId: folderNodeId(network.id),
      displayName: `${network.name.en} / ${network.name.zh}`,
    });

    const folders = new Map<string, UAObject>();
    const byNodeId = new Map<string, PushedVariable>();
    const pushed: PushedVariable[] = [];
    const writeLog: WriteLogEntry[] = [];

    for (const tag of tags) {
      let folder = folders.get(tag.objectId);
      if (!folder) {
        folder = namespace.addFolder(root, { browseName: tag.objectId, nodeId: folderNodeId(tag.objectId), description: tag.objectKind });
        folders.set(tag.objectId, folder);
      }
      const dataType = dataTypes[tag.dataType];
      const writable = tag.access === 'write';
      const common = {
        componentOf: folder,
        browseName: tag.tag,
        nodeId: tag.nodeId,
        description: `${tag.description.en} / ${tag.description.zh}`,
        accessLevel: writable ? 'CurrentRead | CurrentWrite' : 'CurrentRead',
        userAccessLevel: writable ? 'CurrentRead | CurrentWrite' : 'CurrentRead',
        minimumSamplingInterval: 0,
      } as const;
      const initial = simulation.readTag(tag.objectId, tag.tag);
      // Setpoints are read from the simulation (a read sees a write at once) and notified by publish()
      // like measurements; the server notifies an accepted write itself.
      // Source time of a setpoint: the simulated time it took its value (a write, or the start), like the
      // measurements publish() pushes; node-opcua would stamp a plain getter's value with the wall clock.
      let spValue = initial.value;
      let spSourceUtcMs = simulation.timeUtcMs;
      const setpointBinding = writable
        ? {
            timestamped_get: (): DataValue => {
              if (simulation.communicationLost(tag.objectId)) return new DataValue({ statusCode: StatusCodes.BadNoCommunication, serverTimestamp: new Date() });
              const reading = simulation.readTag(tag.objectId, tag.tag);
              if (reading.value !== spValue) {
                spValue = reading.value;
                spSourceUtcMs = simulation.timeUtcMs;
              }
              const value = new Variant({ dataType, value: toVariantValue(tag.dataType, reading.value) });
              return new DataValue({ value, statusCode: StatusCodes.Good, sourceTimestamp: new Date(spSourceUtcMs), serverTimestamp: new Date() });
            },
            // Timestamped: the accepted value is stored with the simulated time as its source time, like the
            // measurements publish() pushes (node-opcua would stamp it with the wall clock).
            timestamped_set: (dataValue: DataValue, callback: (err: Error | null, statusCode: StatusCode) => void): void => {
              const variant = dataValue.value;
              if (variant.dataType !== dataType) return callback(null, StatusCodes.BadTypeMismatch);
              const value = variant.value as TagValue;
              try {
                simulation.writeSetpoint(tag.objectId, tag.tag, value);
              } catch (error) {
                return callback(null, statusOfError(error));
              }
              writeLog.push({ atUtcMs: simulation.timeUtcMs, nodeId: tag.nodeId, objectId: tag.objectId, tag: tag.tag, value });
              // The server notifies the written value itself; publish() must not push it a second time.
              const item = byNodeId.get(tag.nodeId);
              spValue = simulation.readTag(tag.objectId, tag.tag).value;
              spSourceUtcMs = simulation.timeUtcMs;
              if (item) item.lastValue = spValue;
              dataValue.sourceTimestamp = new Date(simulation.timeUtcMs);
              dataValue.sourcePicoseconds = 0;
              callback(null, StatusCodes.Good);
            },
          }
        : undefined;
      const binding = { dataType, value: toVariantValue(tag.dataType, initial.value) };
      let variable: UAVariable;
      const unit = units[tag.unit];
      if (tag.dataType === 'Double' && unit) {
        variable = namespace.addAnalogDataItem({ ...common, dataType: 'Double', engineeringUnits: unit, engineeringUnitsRange: euRange(network, simulation, tag), value: binding });
      } else {
        variable = namespace.addVariable({ ...common, dataType, value: binding });
      }
      // Bound after creation: node-opcua warns about any getter on an exception-based variable, but this one
      // is never sampled (publish() pushes its changes), the getter only answers reads.
      if (setpointBinding) variable.bindVariable(setpointBinding, true);
      const item: PushedVariable = { variable, tag, lastValue: undefined, lastStatus: undefined };
      pushed.push(item);
      byNodeId.set(tag.nodeId, item);
    }

    // A level band is checked as a pair. The dispatch writes a station's start and stop levels in one request, start
    // first; lowering the band by more than its width would pass through an inverted band that the model refuses
    // write by write. So a request holding both levels of a station is checked as the pair it leaves (both refused,
    // nothing written, when that pair is invalid) and written in the order that never inverts the band on the way:
    // stop first when the stop level goes down, start first otherwise.
    const engine = server.engine;
    const engineWrite = engine.write.bind(engine);
    engine.write = async (context: ISessionContext, nodesToWrite: WriteValue[]): Promise<StatusCode[]> => {
      const refused = new Map<number, StatusCode>();
      const order = nodesToWrite.map((_, i) => i);
      const bands = new Map<string, { start?: number; stop?: number }>();
      nodesToWrite.forEach((w, i) => {
        const item = byNodeId.get(w.nodeId.toString());
        const name = item?.tag.tag;
        if (!item || (name !== 'startLevelSpM' && name !== 'stopLevelSpM') || w.attributeId !== Number(AttributeIds.Value)) return;
        const band = bands.get(item.tag.objectId) ?? {};
        if (name === 'startLevelSpM') band.start = i;
        else band.stop = i;
        bands.set(item.tag.objectId, band);
      });
      for (const [stationId, { start, stop }] of bands) {
        if (start === undefined || stop === undefined) continue;
        const startV = nodesToWrite[start]!.value.value;
        const stopV = nodesToWrite[stop]!.value.value;
        // Anything but two Doubles is refused write by write (type mismatch) as usual.
        if (startV.dataType !== dataTypes.Double || stopV.dataType !== dataTypes.Double) continue;
        const startM = startV.value as number;
        const stopM = stopV.value as number;
        if (simulation.communicationLost(stationId)) continue;
        try {
          simulation.checkLevelBand(stationId, startM, stopM);
        } catch (error) {
          refused.set(start, statusOfError(error));
          refused.set(stop, statusOfError(error));
          continue;
        }
        const heldStopM = simulation.readTag(stationId, 'stopLevelSpM').value as number;
        const [first, second] = stopM < heldStopM ? [stop, start] : [start, stop];
        order[Math.min(start, stop)] = first;
        order[Math.max(start, stop)] = second;
      }
      const toWrite = order.filter((i) => !refused.has(i));
      const codes = toWrite.length > 0 ? await engineWrite(context, toWrite.map((i) => nodesToWrite[i]!)) : [];
      const results: StatusCode[] = nodesToWrite.map((_, i) => refused.get(i) ?? StatusCodes.BadInternalError);
      toWrite.forEach((i, k) => (results[i] = codes[k]!));
      return results;
    };

    // The simulated clock, so clients can relate values to simulated time.
    const simulatorFolder = namespace.addFolder(root, { browseName: 'Simulator', nodeId: folderNodeId('Simulator') });
    const clockNodeId = usedNodeIds.has('ns=1;s=Simulator.timeUtc') ? undefined : 'ns=1;s=Simulator.timeUtc';
    const timeVariable = namespace.addVariable({
      componentOf: simulatorFolder,
      browseName: 'timeUtc',
      nodeId: clockNodeId,
      dataType: DataType.DateTime,
      accessLevel: 'CurrentRead',
      userAccessLevel: 'CurrentRead',
      minimumSamplingInterval: 0,
      value: { dataType: DataType.DateTime, value: new Date(simulation.timeUtcMs) },
    });

    const counts: PublishCounts = { changes: 0, goodChanges: 0, lastSourceUtcMs: simulation.timeUtcMs };
    const publish = () => {
      const sourceTimestamp = new Date(simulation.timeUtcMs);
      for (const item of pushed) {
        const reading = simulation.readTag(item.tag.objectId, item.tag.tag);
        const status = statusOf(reading.quality, simulation.communicationLost(item.tag.objectId));
        if (reading.value === item.lastValue && status === item.lastStatus) continue;
        item.lastValue = reading.value;
        item.lastStatus = status;
        item.variable.setValueFromSource({ dataType: dataTypes[item.tag.dataType], value: toVariantValue(item.tag.dataType, reading.value) }, status, sourceTimestamp);
        counts.changes++;
        if (status === StatusCodes.Good) counts.goodChanges++;
      }
      counts.lastSourceUtcMs = simulation.timeUtcMs;
      timeVariable.setValueFromSource({ dataType: DataType.DateTime, value: sourceTimestamp }, StatusCodes.Good, sourceTimestamp);
    };
    publish();

    // Push at most every publishIntervalMs of wall time, however fast the clock runs.
    let lastPublishMs = 0;
    const schedulePublish = () => {
      if (closed || publishTimer !== undefined) return;
      const wait = lastPublishMs + publishIntervalMs - Date.now();
      if (wait <= 0) {
        lastPublishMs = Date.now();
        publish();
        return;
      }
      publishTimer = setTimeout(() => {
        publishTimer = undefined;
        lastPublishMs = Date.now();
        if (!closed) publish();
      }, wait);
    };

    const clockOption = options.clock ?? { mode: 'manual' };
    clock = 'advance' in clockOption ? clockOption : createClock(simulation, clockOption);
    clock.onAdvance(schedulePublish);

    await server.start();
    const endpoint = server.endpoints[0];
    const actualPort = endpoint?.port ?? port;
    const endpointUrl = `opc.tcp://${host}:${actualPort}`;
    clock.start();

    const activeClock = clock;
    return {
      endpointUrl,
      port: actualPort,
      writeLog,
      simulation,
      clock: activeClock,
      advance(steps: number) {
        activeClock.advance(steps);
        lastPublishMs = Date.now();
        publish();
      },
      publish,
      publishCounts: () => ({ ...counts }),
      async close() {
        if (closed) return;
        closed = true;
        activeClock.stop();
        if (publishTimer !== undefined) clearTimeout(publishTimer);
        await server.shutdown(0);
        await serverCertificateManager.dispose();
      },
    };
  } catch (error) {
    closed = true;
    clock?.stop();
    if (publishTimer !== undefined) clearTimeout(publishTimer);
    await server.shutdown(0).catch(() => undefined);
    await serverCertificateManager.dispose().catch(() => undefined);
    throw error;
  }
}

