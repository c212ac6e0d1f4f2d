// The OPC UA client trusts the SCADA server's certificate explicitly (connectors/opcua.ts, ingest/subscriber.ts):
// with OPCUA_ACCEPT_UNKNOWN_SERVER_CERT=false (the production setting) a server whose certificate is not in
// <pki>/trusted/certs is refused, and accepted once it is put there. Both used to accept any server certificate.
// Also: the client certificate is kept in the folder, so a restart on the same folder presents the same one.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createOpcUaConnector } from '../../connectors/opcua.js';
import { loadNetworkFile, referenceNetworkPath } from '../../network/load.js';
import { createSimulation } from '../../simulator/model.js';
import { startSimulatorServer, type SimulatorServerHandle } from '../../simulator/opcua-server.js';

const credentials = { userName: 'dispatch', password: 'test-only-secret' };

void describe('OPC UA server certificate trust', { timeout: 60_000 }, () => {
  let tmp: string;
  let server: SimulatorServerHandle;
  before(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'opcua-trust-'));
    const network = await loadNetworkFile(referenceNetworkPath);
    const simulation = createSimulation({ network, startUtcMs: Date.UTC(2026, 6, 1), seed: 3 });
    server = await startSimulatorServer({ network, simulation, port: 0, host: '127.0.0.1', pkiFolder: path.join(tmp, 'server-pki'), security: credentials });
  });
  after(async () => {
    await server?.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  const connect = (accept: boolean | undefined) =>
    createOpcUaConnector({
      endpointUrl: server.endpointUrl,
      securityMode: 'SignAndEncrypt',
      ...credentials,
      pkiFolder: path.join(tmp, 'client-pki'),
      ...(accept === undefined ? {} : { acceptUnknownServerCertificate: accept }),
      connectTimeoutMs: 5_000,
    });

  test('an unknown server certificate is refused by default, and accepted once it is in trusted/certs', async () => {
    const refused = connect(undefined);
    await assert.rejects(refused.ping());
    await refused.close();

    // The operator's trust step (infra/README.md): the refused certificate waits in rejected/; move it to trusted/certs.
    const rejected = path.join(tmp, 'client-pki', 'rejected');
    const pem = fs.readdirSync(rejected).find((f) => f.endsWith('.pem'));
    assert.ok(pem, `the refused server certificate in ${rejected}`);
    const trusted = path.join(tmp, 'client-pki', 'trusted', 'certs');
    fs.mkdirSync(trusted, { recursive: true });
    fs.renameSync(path.join(rejected, pem), path.join(trusted, pem));

    const ok = connect(false);
    try {
      const ping = await ok.ping();
      assert.equal(ping.serverState, 'Running');
    } finally {
      await ok.close();
    }
  });

  test('the embedded-simulator setting accepts the server without a trust step, and the client keeps its certificate', async () => {
    const own = path.join(tmp, 'client-pki', 'own', 'certs', 'client_certificate.pem');
    const before = fs.readFileSync(own, 'utf8');
    fs.rmSync(path.join(tmp, 'client-pki', 'trusted'), { recursive: true, force: true });
    const auto = connect(true);
    try {
      assert.equal((await auto.ping()).serverState, 'Running');
    } finally {
      await auto.close();
    }
    assert.equal(fs.readFileSync(own, 'utf8'), before, 'the same client certificate on the same folder');
  });
});
