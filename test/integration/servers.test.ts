// The development servers for real: Temporal dev server and InfluxDB 1.8 on free ports with state in a temp
// folder, then a restart on the same folder to show state and credentials survive.
import assert from 'node:assert/strict';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import {
  ensureInfluxdBinary,
  ensureTemporalBinary,
  startInfluxd,
  startTemporal,
  type RunningInfluxd,
  type RunningTemporal,
} from '../../infra/servers.js';
import { startTestServers, temporalTestEnvironmentOptions } from '../support/servers.js';

const WORKFLOW_ID = 'servers-test-persistence';
const POINT_TIME_S = 1_700_000_000;

async function influxSelect(influx: { url: string; token?: string; database: string }, q: string): Promise<{ status: number; body: string }> {
  const headers: Record<string, string> = {};
  if (influx.token) headers['Authorization'] = `Token ${influx.token}`;
  const response = await fetch(`${influx.url}/query?${new URLSearchParams({ db: influx.database, q, epoch: 's' }).toString()}`, { headers });
  return { status: response.status, body: await response.text() };
}

interface SeriesResult {
  results: { series?: { name: string; columns: string[]; values: unknown[][] }[]; error?: string }[];
}

async function withClient<T>(address: string, work: (client: Client, connection: Connection) => Promise<T>): Promise<T> {
  const connection = await Connection.connect({ address, connectTimeout: 5000 });
  try {
    return await work(new Client({ connection, namespace: 'default' }), connection);
  } finally {
    await connection.close();
  }
}

function processGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return false;
  } catch {
    return true;
  }
}

void describe('development servers (infra/servers.ts)', { timeout: 300_000 }, () => {
  let dataDir = '';
  let temporalBinary = '';
  let influxdBinary = '';
  let temporal: RunningTemporal | undefined;
  let influx: RunningInfluxd | undefined;
  let firstToken = '';

  const start = async () => {
    [temporal, influx] = await Promise.all([
      startTemporal({ dataDir: path.join(dataDir, 'temporal'), port: 0, uiPort: 0, binary: temporalBinary }),
      startInfluxd({ dataDir: path.join(dataDir, 'influxdb'), port: 0, binary: influxdBinary }),
    ]);
    return { temporal, influx };
  };

  before(async () => {
    temporalBinary = await ensureTemporalBinary();
    influxdBinary = await ensureInfluxdBinary();
    dataDir = await fsp.mkdtemp(path.join(os.tmpdir(), 'servers-test-'));
  });

  after(async () => {
    await Promise.all([temporal?.stop(), influx?.stop()]);
    if (dataDir) await fsp.rm(dataDir, { recursive: true, force: true });
  });

  void test('both start on free ports with state in the temp folder', async () => {
    const { temporal: t, influx: i } = await start();
    assert.match(t.address, /^127\.0\.0\.1:\d+$/);
    assert.notEqual(t.address, '127.0.0.1:7233', 'port 0 must pick a free port, not the default');
    assert.match(i.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(i.database, 'sewer');
    assert.ok(t.pid > 0 && i.pid > 0);
    assert.equal((await fsp.stat(path.join(dataDir, 'temporal', 'temporal.sqlite'))).isFile(), true);
    assert.equal(Number((await fsp.readFile(path.join(dataDir, 'influxdb', 'influxd.pid'), 'utf8')).trim()), i.pid);
    const ui = await fetch(t.uiUrl);
    assert.equal(ui.status, 200, 'the Temporal Web UI answers');
  });

  void test('Temporal answers and accepts a workflow start', async () => {
    assert.ok(temporal);
    await withClient(temporal.address, async (client, connection) => {
      const info = await connection.workflowService.getSystemInfo({});
      assert.match(info.serverVersion ?? '', /^\d+\.\d+\.\d+/);
      // No worker polls this queue: the execution just stays open, which is what the restart test looks for.
      await client.workflow.start('persistenceProbe', { taskQueue: 'servers-test', workflowId: WORKFLOW_ID });
      const description = await client.workflow.getHandle(WORKFLOW_ID).describe();
      assert.equal(description.status.name, 'RUNNING');
    });
  });

  void test('InfluxDB enforces authentication', async () => {
    assert.ok(influx);
    const anonymous = await influxSelect({ url: influx.url, database: influx.database }, 'SHOW MEASUREMENTS');
    assert.equal(anonymous.status, 401, anonymous.body);
    const wrong = await influxSelect({ url: influx.url, database: influx.database, token: `${influx.username}:not-the-password` }, 'SHOW MEASUREMENTS');
    assert.equal(wrong.status, 401, wrong.body);
    const anonymousWrite = await fetch(`${influx.url}/api/v2/write?bucket=${influx.database}&precision=s`, { method: 'POST', body: `probe value=1 ${POINT_TIME_S}` });
    assert.equal(anonymousWrite.status, 401);
    const credentials = path.join(dataDir, 'influxdb', 'credentials.json');
    assert.equal((await fsp.stat(credentials)).mode & 0o777, 0o600, 'credentials.json is private');
    const stored = JSON.parse(await fsp.readFile(credentials, 'utf8')) as { user: string; password: string };
    assert.equal(`${stored.user}:${stored.password}`, influx.token);
    assert.ok(stored.password.length >= 24, 'a generated password, not a shipped default');
    const config = await fsp.readFile(influx.configFile, 'utf8');
    assert.match(config, /auth-enabled = true/);
    assert.match(config, /flux-enabled = false/);
    assert.match(config, /reporting-disabled = true/);
  });

  void test('a write to /api/v2/write with the token reads back with InfluxQL', async () => {
    assert.ok(influx);
    firstToken = influx.token;
    const write = await fetch(`${influx.url}/api/v2/write?bucket=${influx.database}&precision=s`, {
      method: 'POST',
      headers: { Authorization: `Token ${influx.token}`, 'Content-Type': 'text/plain; charset=utf-8' },
      body: `wet_well,station=PS-EAST-01 level_m=2.35 ${POINT_TIME_S}\n`,
    });
    assert.equal(write.status, 204, await write.text());
    const read = await influxSelect(influx, 'SELECT level_m, station FROM wet_well');
    assert.equal(read.status, 200, read.body);
    const series = (JSON.parse(read.body) as SeriesResult).results[0]?.series?.[0];
    assert.deepEqual(series?.columns, ['time', 'level_m', 'station']);
    assert.deepEqual(series?.values, [[POINT_TIME_S, 2.35, 'PS-EAST-01']]);
  });

  void test('a second server on the same data folder is refused while the first runs', async () => {
    await assert.rejects(startInfluxd({ dataDir: path.join(dataDir, 'influxdb'), port: 0, binary: influxdBinary }), /already runs/);
    await assert.rejects(startTemporal({ dataDir: path.join(dataDir, 'temporal'), port: 0, uiPort: 0, binary: temporalBinary }), /already runs/);
  });

  void test('stop ends both processes; a restart keeps workflows, points and credentials', async () => {
    assert.ok(temporal && influx);
    const pids = [temporal.pid, influx.pid];
    await Promise.all([temporal.stop(), influx.stop()]);
    assert.ok(pids.every(processGone), 'both processes have exited');
    await assert.rejects(fsp.access(path.join(dataDir, 'temporal', 'temporal.pid')), 'the pid file is removed');

    const { temporal: t, influx: i } = await start();
    assert.equal(i.token, firstToken, 'the credentials are reused');
    const read = await influxSelect(i, 'SELECT level_m FROM wet_well');
    assert.deepEqual((JSON.parse(read.body) as SeriesResult).results[0]?.series?.[0]?.values, [[POINT_TIME_S, 2.35]]);
    await withClient(t.address, async (client) => {
      const description = await client.workflow.getHandle(WORKFLOW_ID).describe();
      assert.equal(description.status.name, 'RUNNING', 'the workflow started before the restart is still there');
      await client.workflow.getHandle(WORKFLOW_ID).terminate('test done');
    });
    await Promise.all([t.stop(), i.stop()]);
  });

  void test('startTestServers() runs both on free ports and cleans up', async () => {
    const servers = await startTestServers();
    try {
      await withClient(servers.temporal.address, async (_client, connection) => {
        await connection.workflowService.getSystemInfo({});
      });
      const read = await influxSelect(servers.influx, 'SHOW DATABASES');
      assert.equal(read.status, 200, read.body);
      assert.match(read.body, /"sewer"/);
    } finally {
      await servers.stop();
    }
    await assert.rejects(fsp.access(servers.dataDir), 'the temp folder is removed');
  });

  void test('TestWorkflowEnvironment.createLocal runs the project binary', async () => {
    const options = await temporalTestEnvironmentOptions();
    assert.deepEqual(options, { server: { executable: { type: 'existing-path', path: temporalBinary } } });
    const env = await TestWorkflowEnvironment.createLocal(options);
    try {
      const info = await env.connection.workflowService.getSystemInfo({});
      assert.match(info.serverVersion ?? '', /^\d+\.\d+\.\d+/);
    } finally {
      await env.teardown();
    }
  });

  void test('a missing binary fails with a message listing what was tried', async () => {
    const emptyBinDir = await fsp.mkdtemp(path.join(os.tmpdir(), 'servers-test-bin-'));
    const saved = process.env['TEMPORAL_BIN'];
    delete process.env['TEMPORAL_BIN'];
    try {
      await assert.rejects(ensureTemporalBinary({ binDir: emptyBinDir, usePath: false, useGo: false, useDownload: false }), (error: Error) => {
        assert.match(error.message, /Could not find or install temporal/);
        assert.match(error.message, /TEMPORAL_BIN: not set/);
        assert.match(error.message, /go install: disabled/);
        assert.match(error.message, /release download: disabled/);
        return true;
      });
      process.env['TEMPORAL_BIN'] = path.join(emptyBinDir, 'no-such-temporal');
      await assert.rejects(ensureTemporalBinary(), /TEMPORAL_BIN is set to .* not an executable/);
    } finally {
      if (saved === undefined) delete process.env['TEMPORAL_BIN'];
      else process.env['TEMPORAL_BIN'] = saved;
      await fsp.rm(emptyBinDir, { recursive: true, force: true });
    }
  });
});
