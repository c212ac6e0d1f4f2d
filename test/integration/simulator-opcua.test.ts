// The simulator's OPC UA server, spoken to by a real node-opcua client: reads, writes, subscriptions,
// the write log, and SignAndEncrypt/Basic256Sha256 with username and password.
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import {
  AttributeIds,
  ClientMonitoredItem,
  ClientSubscription,
  DataType,
  MessageSecurityMode,
  OPCUACertificateManager,
  OPCUAClient,
  SecurityPolicy,
  StatusCodes,
  TimestampsToReturn,
  UserTokenType,
} from 'node-opcua';
import type { ClientSession, DataValue, StatusCode, UserIdentityInfo } from 'node-opcua';
import { loadNetworkFile, referenceNetworkPath } from '../../network/load.js';
import { resolveTagMap } from '../../network/tags.js';
import { createSimulation } from '../../simulator/model.js';
import { startSimulatorServer } from '../../simulator/opcua-server.js';
import type { SimulatorServerHandle } from '../../simulator/opcua-server.js';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const serverPki = path.join(repoRoot, '.data/pki/test-simulator');
const clientPki = path.join(repoRoot, '.data/pki/test-client');
const network = await loadNetworkFile(referenceNetworkPath);
const tags = resolveTagMap(network);
const START_UTC_MS = Date.UTC(2026, 6, 1);
const nodeIdOf = (objectId: string, tag: string) => tags.find((t) => t.objectId === objectId && t.tag === tag)!.nodeId;

let clientCertificateManager: OPCUACertificateManager;

interface SessionOptions {
  secure?: boolean;
  userIdentity?: UserIdentityInfo;
}

/** Open a client and a session, run `work`, and close both in `finally`. */
async function withSessionAsync<T>(endpointUrl: string, options: SessionOptions, work: (session: ClientSession) => Promise<T>): Promise<T> {
  const client = OPCUAClient.create({
    applicationName: 'simulator-opcua-test',
    endpointMustExist: false,
    securityMode: options.secure ? MessageSecurityMode.SignAndEncrypt : MessageSecurityMode.None,
    securityPolicy: options.secure ? SecurityPolicy.Basic256Sha256 : SecurityPolicy.None,
    connectionStrategy: { maxRetry: 0, initialDelay: 100, maxDelay: 200 },
    clientCertificateManager,
  });
  await client.connect(endpointUrl);
  try {
    const session = await client.createSession(options.userIdentity);
    try {
      return await work(session);
    } finally {
      await session.close();
    }
  } finally {
    await client.disconnect();
  }
}

async function write(session: ClientSession, nodeId: string, dataType: DataType, value: number | boolean): Promise<StatusCode> {
  return session.write({ nodeId, attributeId: AttributeIds.Value, value: { value: { dataType, value } } });
}

async function readValue(session: ClientSession, nodeId: string): Promise<DataValue> {
  return session.read({ nodeId, attributeId: AttributeIds.Value });
}

before(async () => {
  clientCertificateManager = new OPCUACertificateManager({ rootFolder: clientPki, automaticallyAcceptUnknownCertificate: true, disableFileWatchers: true });
  await clientCertificateManager.initialize();
});

after(async () => {
  await clientCertificateManager.dispose();
});

void describe('simulator OPC UA server, anonymous', { timeout: 30_000 }, () => {
  let server: SimulatorServerHandle;
  before(async () => {
    const simulation = createSimulation({ network, startUtcMs: START_UTC_MS, seed: 3 });
    server = await startSimulatorServer({ network, simulation, port: 0, host: '127.0.0.1', pkiFolder: serverPki });
    server.advance(30);
  });
  after(async () => {
    await server?.close();
  });

  void it('listens on a free port and puts the network namespace at index 1', async () => {
    assert.ok(server.port > 0);
    assert.equal(server.endpointUrl, `opc.tcp://127.0.0.1:${server.port}`);
    await withSessionAsync(server.endpointUrl, {}, async (session) => {
      const namespaces = await readValue(session, 'ns=0;i=2255');
      assert.equal((namespaces.value.value as string[])[1], network.opcua.namespaceUri);
    });
  });

  void it('reads measurements with the values, data types and units of the tag map', async () => {
    await withSessionAsync(server.endpointUrl, {}, async (session) => {
      const dataTypeOf: Record<string, DataType> = { Double: DataType.Double, Int32: DataType.Int32, UInt32: DataType.UInt32, Boolean: DataType.Boolean };
      const values = await session.read(tags.map((t) => ({ nodeId: t.nodeId, attributeId: AttributeIds.Value })));
      const types = await session.read(tags.map((t) => ({ nodeId: t.nodeId, attributeId: AttributeIds.DataType })));
      tags.forEach((tag, i) => {
        const dv = values[i]!;
        assert.equal(dv.statusCode.name, 'Good', `${tag.nodeId}: ${dv.statusCode.name}`);
        assert.equal(dv.value.dataType, dataTypeOf[tag.dataType], `${tag.nodeId} value type`);
        assert.equal((types[i]!.value.value as { value: number }).value, dataTypeOf[tag.dataType], `${tag.nodeId} DataType attribute`);
      });
      const level = values[tags.findIndex((t) => t.objectId === 'W1' && t.tag === 'levelM')]!;
      assert.equal(level.value.value, server.simulation.readTag('W1', 'levelM').value);
      assert.equal(level.sourceTimestamp?.getTime(), server.simulation.timeUtcMs, 'source timestamps are simulated time');
      const cod = values[tags.findIndex((t) => t.objectId === 'Q-WP' && t.tag === 'codMgL')]!;
      assert.equal(cod.value.value, server.simulation.readTag('Q-WP', 'codMgL').value);

      // Engineering units: an AnalogItem's EngineeringUnits property.
      const browse = await session.browse(nodeIdOf('W1', 'levelM'));
      const euRef = browse.references?.find((r) => r.browseName.name === 'EngineeringUnits');
      assert.ok(euRef, 'levelM has EngineeringUnits');
      const eu = await readValue(session, euRef.nodeId.toString());
      assert.equal((eu.value.value as { displayName: { text: string } }).displayName.text, 'm');
    });
  });

  void it('accepts setpoint writes of the right type and reads them back', async () => {
    await withSessionAsync(server.endpointUrl, {}, async (session) => {
      const writes: [string, string, DataType, number][] = [
        ['W1', 'startLevelSpM', DataType.Double, 2.4],
        ['W1', 'pumpsAllowedSp', DataType.Int32, 1],
        ['W1', 'heartbeat', DataType.UInt32, 41],
        ['X1', 'transferSpM3h', DataType.Double, -300],
        ['T1', 'inletSpM3h', DataType.Double, 1200],
      ];
      for (const [objectId, tag, dataType, value] of writes) {
        const status = await write(session, nodeIdOf(objectId, tag), dataType, value);
        assert.equal(status.name, 'Good', `${objectId}.${tag}`);
        const back = await readValue(session, nodeIdOf(objectId, tag));
        assert.equal(back.value.value, value);
        assert.equal(back.value.dataType, dataType);
        assert.equal(server.simulation.readTag(objectId, tag).value, value);
      }
    });
  });

  void it('rejects wrong types, read-only tags and out-of-range values, and logs none of them', async () => {
    const logged = server.writeLog.length;
    await withSessionAsync(server.endpointUrl, {}, async (session) => {
      assert.equal((await write(session, nodeIdOf('W1', 'pumpsAllowedSp'), DataType.Double, 2)).name, StatusCodes.BadTypeMismatch.name);
      assert.equal((await write(session, nodeIdOf('W1', 'flowSpM3h'), DataType.Int32, 100)).name, StatusCodes.BadTypeMismatch.name);
      assert.equal((await write(session, nodeIdOf('W1', 'heartbeat'), DataType.Int32, 5)).name, StatusCodes.BadTypeMismatch.name);
      assert.equal((await write(session, nodeIdOf('W1', 'levelM'), DataType.Double, 1)).name, StatusCodes.BadNotWritable.name);
      assert.equal((await write(session, nodeIdOf('W1', 'startLevelSpM'), DataType.Double, 9)).name, StatusCodes.BadOutOfRange.name);
    });
    assert.equal(server.writeLog.length, logged);
    assert.notEqual(server.simulation.readTag('W1', 'startLevelSpM').value, 9);
  });

  void it('notifies a subscription when the level changes as the simulation runs', async () => {
    await withSessionAsync(server.endpointUrl, {}, async (session) => {
      const subscription = ClientSubscription.create(session, { requestedPublishingInterval: 50, requestedMaxKeepAliveCount: 20, requestedLifetimeCount: 100, publishingEnabled: true, priority: 1 });
      try {
        const item = ClientMonitoredItem.create(
          subscription,
          { nodeId: nodeIdOf('W3', 'levelM'), attributeId: AttributeIds.Value },
          { samplingInterval: 50, queueSize: 10, discardOldest: true },
          TimestampsToReturn.Both,
        );
        const seen: number[] = [];
        const changed = new Promise<void>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`no level change notified; saw ${seen.join(', ')}`)), 10_000);
          item.on('changed', (dv: DataValue) => {
            seen.push(dv.value.value as number);
            if (seen.length >= 2 && seen[seen.length - 1] !== seen[0]) {
              clearTimeout(timer);
              resolve();
            }
          });
        });
        // Wait for the initial value, then let simulated time pass.
        await new Promise((r) => setTimeout(r, 300));
        server.advance(20);
        await changed;
        assert.equal(seen[seen.length - 1], server.simulation.readTag('W3', 'levelM').value);
      } finally {
        await subscription.terminate();
      }
    });
  });

  void it('checks a level band as the pair a request leaves: moves it down past its width in one request, refuses an inverted pair', async () => {
    const band = (start: number, stop: number) => [
      { nodeId: nodeIdOf('W2', 'startLevelSpM'), attributeId: AttributeIds.Value, value: { value: { dataType: DataType.Double, value: start } } },
      { nodeId: nodeIdOf('W2', 'stopLevelSpM'), attributeId: AttributeIds.Value, value: { value: { dataType: DataType.Double, value: stop } } },
    ];
    const held = () => [server.simulation.readTag('W2', 'startLevelSpM').value, server.simulation.readTag('W2', 'stopLevelSpM').value];
    await withSessionAsync(server.endpointUrl, {}, async (session) => {
      // Start first, as activities/dispatch.ts writes: up, then down by more than the band's width (the
      // intermediate start 1.5 below the held stop 2.8 would be an inverted band).
      assert.deepEqual((await session.write(band(3.4, 2.8))).map((c) => c.name), ['Good', 'Good']);
      assert.deepEqual(held(), [3.4, 2.8]);
      assert.deepEqual((await session.write(band(1.5, 1.0))).map((c) => c.name), ['Good', 'Good']);
      assert.deepEqual(held(), [1.5, 1.0]);
      const back = await session.read([nodeIdOf('W2', 'startLevelSpM'), nodeIdOf('W2', 'stopLevelSpM')].map((nodeId) => ({ nodeId, attributeId: AttributeIds.Value })));
      assert.deepEqual(back.map((d) => d.value.value as number), [1.5, 1.0]);
      // An inverted pair: neither level is written.
      const logged = server.writeLog.length;
      assert.deepEqual((await session.write(band(1.3, 2.0))).map((c) => c.name), [StatusCodes.BadOutOfRange.name, StatusCodes.BadOutOfRange.name]);
      // One level alone that would leave start within 0.05 m of stop.
      assert.equal((await write(session, nodeIdOf('W2', 'startLevelSpM'), DataType.Double, 1.02)).name, StatusCodes.BadOutOfRange.name);
      assert.equal((await write(session, nodeIdOf('W2', 'stopLevelSpM'), DataType.Double, 1.6)).name, StatusCodes.BadOutOfRange.name);
      assert.equal(server.writeLog.length, logged);
      assert.deepEqual(held(), [1.5, 1.0]);
    });
  });

  void it('stamps an accepted setpoint with the simulated time, like the measurements', async () => {
    server.advance(7);
    const t = server.simulation.timeUtcMs;
    assert.ok(Math.abs(t - Date.now()) > 3_600_000, 'simulated time is not the wall clock here');
    await withSessionAsync(server.endpointUrl, {}, async (session) => {
      assert.equal((await write(session, nodeIdOf('W2', 'flowSpM3h'), DataType.Double, 210)).name, 'Good');
      const sp = await readValue(session, nodeIdOf('W2', 'flowSpM3h'));
      assert.equal(sp.value.value, 210);
      assert.equal(sp.sourceTimestamp?.getTime(), t, `setpoint source time ${sp.sourceTimestamp?.toISOString()}`);
      const level = await readValue(session, nodeIdOf('W2', 'levelM'));
      assert.equal(level.sourceTimestamp?.getTime(), t);
    });
  });

  void it('logs every accepted write in order, duplicates included, at simulated time', async () => {
    const from = server.writeLog.length;
    const t0 = server.simulation.timeUtcMs;
    await withSessionAsync(server.endpointUrl, {}, async (session) => {
      assert.equal((await write(session, nodeIdOf('E4', 'flowSpM3h'), DataType.Double, 1500)).name, 'Good');
      assert.equal((await write(session, nodeIdOf('E4', 'flowSpM3h'), DataType.Double, 1500)).name, 'Good');
      server.advance(5);
      assert.equal((await write(session, nodeIdOf('E4', 'remoteControlSp'), DataType.Int32, 1)).name, 'Good');
    });
    assert.deepEqual(server.writeLog.slice(from), [
      { atUtcMs: t0, nodeId: nodeIdOf('E4', 'flowSpM3h'), objectId: 'E4', tag: 'flowSpM3h', value: 1500 },
      { atUtcMs: t0, nodeId: nodeIdOf('E4', 'flowSpM3h'), objectId: 'E4', tag: 'flowSpM3h', value: 1500 },
      { atUtcMs: t0 + 5 * 60_000, nodeId: nodeIdOf('E4', 'remoteControlSp'), objectId: 'E4', tag: 'remoteControlSp', value: 1 },
    ]);
  });

  void it('reports Bad status on communication loss and Uncertain for a stuck level sensor', async () => {
    server.simulation.setCommunicationLoss('E2', true);
    server.simulation.setLevelSensorStuck('E3', true);
    server.publish();
    try {
      await withSessionAsync(server.endpointUrl, {}, async (session) => {
        const lost = await readValue(session, nodeIdOf('E2', 'levelM'));
        assert.equal(lost.statusCode.name, StatusCodes.BadNoCommunication.name);
        assert.equal((await write(session, nodeIdOf('E2', 'heartbeat'), DataType.UInt32, 9)).name, StatusCodes.BadNoCommunication.name);
        const stuck = await readValue(session, nodeIdOf('E3', 'levelM'));
        assert.equal(stuck.statusCode.name, StatusCodes.UncertainSensorNotAccurate.name);
      });
    } finally {
      server.simulation.setCommunicationLoss('E2', false);
      server.simulation.setLevelSensorStuck('E3', false);
      server.publish();
    }
  });
});

void describe('simulator OPC UA server, SignAndEncrypt with username and password', { timeout: 30_000 }, () => {
  let server: SimulatorServerHandle;
  const credentials = { userName: 'dispatch', password: 'test-only-secret' };
  before(async () => {
    const simulation = createSimulation({ network, startUtcMs: START_UTC_MS, seed: 3 });
    server = await startSimulatorServer({ network, simulation, port: 0, host: '127.0.0.1', pkiFolder: serverPki, security: credentials });
  });
  after(async () => {
    await server?.close();
  });

  void it('offers only SignAndEncrypt/Basic256Sha256 endpoints with username tokens', async () => {
    const client = OPCUAClient.create({ applicationName: 'simulator-opcua-test', endpointMustExist: false, connectionStrategy: { maxRetry: 0 }, clientCertificateManager });
    await client.connect(server.endpointUrl);
    try {
      const endpoints = await client.getEndpoints();
      assert.ok(endpoints.length > 0);
      for (const e of endpoints) {
        assert.equal(e.securityMode, MessageSecurityMode.SignAndEncrypt);
        assert.equal(e.securityPolicyUri, SecurityPolicy.Basic256Sha256);
        const tokenTypes = (e.userIdentityTokens ?? []).map((t) => t.tokenType);
        assert.ok(tokenTypes.includes(UserTokenType.UserName));
        assert.ok(!tokenTypes.includes(UserTokenType.Anonymous));
      }
    } finally {
      await client.disconnect();
    }
  });

  void it('reads and writes over an encrypted channel with the right password', async () => {
    const userIdentity: UserIdentityInfo = { type: UserTokenType.UserName, ...credentials };
    await withSessionAsync(server.endpointUrl, { secure: true, userIdentity }, async (session) => {
      const level = await readValue(session, nodeIdOf('E8', 'levelM'));
      assert.equal(level.statusCode.name, 'Good');
      assert.equal(level.value.dataType, DataType.Double);
      assert.equal((await write(session, nodeIdOf('E8', 'heartbeat'), DataType.UInt32, 1)).name, 'Good');
      assert.equal((await write(session, nodeIdOf('E8', 'remoteControlSp'), DataType.Double, 1)).name, StatusCodes.BadTypeMismatch.name);
    });
    assert.deepEqual(
      server.writeLog.map((w) => [w.objectId, w.tag, w.value]),
      [['E8', 'heartbeat', 1]],
    );
  });

  void it('refuses a wrong password and anonymous sessions', async () => {
    await assert.rejects(
      withSessionAsync(server.endpointUrl, { secure: true, userIdentity: { type: UserTokenType.UserName, userName: credentials.userName, password: 'wrong' } }, () => Promise.resolve()),
      /BadUserAccessDenied|BadIdentityTokenRejected|BadIdentityTokenInvalid/,
    );
    await assert.rejects(
      withSessionAsync(server.endpointUrl, { secure: true, userIdentity: { type: UserTokenType.Anonymous } }, () => Promise.resolve()),
      // The client already refuses, since no endpoint offers an anonymous token; a server-side refusal is fine too.
      /ANONYMOUS user token policy|BadIdentityTokenInvalid|BadIdentityTokenRejected|BadUserAccessDenied/,
    );
  });
});
