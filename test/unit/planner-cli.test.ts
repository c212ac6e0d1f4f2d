// The sewer-dispatch CLI: its input schemas round-trip, it plans on any valid network (here one with a
// combined-sewer tank), and it rejects bad files with the path and reason of every problem.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCli } from '../../bin/cli.js';
import { ConfigError } from '../../network/validate.js';
import { cliTestNetwork } from '../support/cli-network.js';
import { InflowFile, StateFile, parseConstraintsFile, parseInflowFile, parseStateFile, toInflowFile, toStateFile } from '../../planner/files.js';
import { insideEnvelope } from '../../planner/envelope.js';
import type { Plan } from '../../planner/types.js';

const bin = fileURLToPath(new URL('../../bin/sewer-dispatch.js', import.meta.url));
const dir = mkdtempSync(path.join(tmpdir(), 'sewer-cli-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

const network = cliTestNetwork(12);
const networkPath = path.join(dir, 'network.json');
writeFileSync(networkPath, JSON.stringify(network));

/** The CLI in this process (fast); `spawned` goes through the package's bin shim and tsx. */
async function cli(...args: string[]) {
  let stdout = '';
  let stderr = '';
  const code = await runCli(args, { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t) });
  return { code, stdout, stderr };
}

function spawned(...args: string[]) {
  const result = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 60_000 });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

test('schemas round-trip: file → planner types → file is the identity, and the schema command prints them', async () => {
  const readAt = Date.UTC(2026, 6, 1, 2, 0);
  const stateFile = toStateFile({
    readAtUtcMs: readAt,
    stations: [
      { stationId: 'W1', levelM: 1.5, pumpsAvailable: 3, mode: 'remote', outflowM3h: 90, pumpsRunning: 1, startLevelSpM: 2, stopLevelSpM: 1, flowSpM3h: 0, recentOutflowM3h: { stepMin: 5, valuesM3h: [0, 0, 90, 90] } },
      { stationId: 'E1', levelM: null, pumpsAvailable: 2, mode: 'local', recentOutflowM3h: null },
    ],
    tanks: [{ tankId: 'CS1', volumeM3: 120, inletSpM3h: 0, outletSpM3h: 0 }],
    transfers: [{ interconnectionId: 'X1', transferM3h: -20 }],
  });
  const reread = JSON.parse(JSON.stringify(stateFile)) as unknown;
  assert.deepEqual(toStateFile(parseStateFile(reread, network)), stateFile);
  assert.equal(parseStateFile(reread, network).readAtUtcMs, readAt);

  const inflowFile = toInflowFile({
    startUtcMs: readAt,
    stepMin: 15,
    source: 'test',
    issuedAtUtcMs: readAt - 3_600_000,
    series: [{ nodeId: 'W1', flowM3h: [100, 110, 120] }],
    members: [{ id: 'm1', series: [{ nodeId: 'W1', flowM3h: [80, 90, 150] }] }],
  });
  assert.deepEqual(toInflowFile(parseInflowFile(JSON.parse(JSON.stringify(inflowFile)), network)), inflowFile);

  // Through the installed command once: the bin shim starts tsx from any directory.
  const printed = spawnSync(process.execPath, [bin, 'schema', 'state'], { encoding: 'utf8', timeout: 60_000, cwd: tmpdir() });
  assert.equal(printed.status, 0, printed.stderr);
  assert.deepEqual(JSON.parse(printed.stdout), JSON.parse(JSON.stringify(StateFile)));
  assert.deepEqual(JSON.parse((await cli('schema', 'inflow')).stdout), JSON.parse(JSON.stringify(InflowFile)));
});

test('example → plan: the CLI plans a network with a combined-sewer tank and an interconnection', async () => {
  const statePath = path.join(dir, 'state.json');
  const inflowPath = path.join(dir, 'inflow.json');
  const planPath = path.join(dir, 'plan.json');
  const made = await cli('example', '--network', networkPath, '--state', statePath, '--inflow', inflowPath, '--now', '2026-07-01T06:00:00Z', '--rain-mm', '40', '--members', '2');
  assert.equal(made.code, 0, made.stderr);
  // The example has no catchments: give it a storm by hand, through the file format.
  const inflow = JSON.parse(readFileSync(inflowPath, 'utf8')) as InflowFile;
  // E1: 300 m³/h of pumps and 180 m³ of well against 700 m³/h for 3 h: the in-line tank has to take the rest.
  const storm = (peak: number) => ['W1', 'E1'].map((nodeId) => ({ nodeId, flowM3h: Array.from({ length: 56 }, (_, i) => (i >= 8 && i < 20 ? (nodeId === 'E1' ? peak : 300) : 120)) }));
  writeFileSync(inflowPath, JSON.stringify({ ...inflow, series: storm(700), members: [{ id: 'wet', series: storm(900) }] }));

  const planned = await cli('plan', '--network', networkPath, '--state', statePath, '--inflow', inflowPath, '--out', planPath, '--time-limit', '30');
  assert.equal(planned.code, 0, planned.stderr);
  assert.match(planned.stderr, /planner mpc/);
  const plan = JSON.parse(readFileSync(planPath, 'utf8')) as Plan;
  assert.equal(plan.planner, 'mpc');
  assert.equal(plan.fallback, undefined, JSON.stringify(plan.fallback));
  assert.equal(plan.steps[0]!.startUtcMs, Date.UTC(2026, 6, 1, 6, 0));
  assert.equal(plan.predicted!.scenarioCount, 2);
  assert.ok(plan.predicted!.tanks[0]!.volumeM3.some((v) => v > 100), 'the storm reaches the combined-sewer tank');
  for (const step of plan.steps) {
    const cs = step.tanks.find((t) => t.tankId === 'CS1')!;
    const tank = network.tanks[0]!;
    assert.ok(insideEnvelope(cs.inletM3h, tank.envelope.inletM3h) && insideEnvelope(cs.outletM3h, tank.envelope.outletM3h), 'tank setpoints inside their envelopes');
    assert.equal(step.stations.find((s) => s.stationId === 'E1')!.remoteControl, 'flow', 'the VFD station takes a flow setpoint');
  }
  assert.ok(plan.reasons.some((r) => r.objectId === 'CS1'), 'the tank is explained');
});

test('bad files are rejected with the path and reason of every problem', async () => {
  const statePath = path.join(dir, 'bad-state.json');
  const inflowPath = path.join(dir, 'bad-inflow.json');
  const goodInflow = path.join(dir, 'good-inflow.json');
  writeFileSync(
    statePath,
    JSON.stringify({
      schemaVersion: 1,
      readAtUtc: '2026-07-01T06:00:00Z',
      stations: [
        { stationId: 'W1', levelM: -1, pumpsAvailable: 3, mode: 'remote', recentOutflowM3h: { stepMin: 0, valuesM3h: [90, -5] } },
        { stationId: 'Q9', levelM: 1, pumpsAvailable: 1, mode: 'auto' },
      ],
    }),
  );
  writeFileSync(goodInflow, JSON.stringify({ schemaVersion: 1, startUtc: '2026-07-01T06:00:00Z', stepMin: 15, series: [{ nodeId: 'W1', flowM3h: [100] }] }));
  // Through the installed command: the exit code is 2 for bad input.
  const schemaErrors = spawned('plan', '--network', networkPath, '--state', statePath, '--inflow', goodInflow, '--out', path.join(dir, 'x.json'));
  assert.equal(schemaErrors.code, 2);
  assert.match(schemaErrors.stderr, /bad-state\.json: \d+ problems/);
  assert.match(schemaErrors.stderr, /\/stations\/0\/levelM: .*>= 0.*\(value: -1\)/);
  assert.match(schemaErrors.stderr, /\/stations\/1\/mode: .*\(value: "auto"\)/);
  assert.match(schemaErrors.stderr, /\/stations\/0\/recentOutflowM3h\/stepMin: .*> 0.*\(value: 0\)/);
  assert.match(schemaErrors.stderr, /\/stations\/0\/recentOutflowM3h\/valuesM3h\/1: .*>= 0.*\(value: -5\)/);

  writeFileSync(statePath, JSON.stringify({ schemaVersion: 1, readAtUtc: '2026-07-01T06:00:00Z', stations: [{ stationId: 'Q9', levelM: 1, pumpsAvailable: 9, mode: 'remote' }, { stationId: 'W1', levelM: 1, pumpsAvailable: 9, pumpsRunning: 4, mode: 'remote' }] }));
  const crossErrors = await cli('plan', '--network', networkPath, '--state', statePath, '--inflow', goodInflow, '--out', path.join(dir, 'x.json'));
  assert.equal(crossErrors.code, 2);
  assert.match(crossErrors.stderr, /\/stations\/0\/stationId: unknown station in this network \(value: "Q9"\)/);
  assert.match(crossErrors.stderr, /\/stations\/1\/pumpsAvailable: station has only 3 pumps \(value: 9\)/);
  assert.match(crossErrors.stderr, /\/stations\/1\/pumpsRunning: station has only 3 pumps \(value: 4\)/);

  writeFileSync(inflowPath, '{"schemaVersion": 1, "startUtc": ');
  const state = path.join(dir, 'ok-state.json');
  writeFileSync(state, JSON.stringify({ schemaVersion: 1, readAtUtc: '2026-07-01T06:00:00Z', stations: [] }));
  const notJson = await cli('plan', '--network', networkPath, '--state', state, '--inflow', inflowPath, '--out', path.join(dir, 'x.json'));
  assert.equal(notJson.code, 2);
  assert.match(notJson.stderr, /bad-inflow\.json: 1 problem\n {2}\/: not valid JSON/);

  const usage = await cli('plan', '--network', networkPath);
  assert.equal(usage.code, 2);
  assert.match(usage.stderr, /--state is required/);
  const unknownCommand = await cli('plans');
  assert.equal(unknownCommand.code, 2);
  assert.match(unknownCommand.stderr, /unknown command plans\nusage:/);
  const help = await cli('--help');
  assert.deepEqual([help.code, help.stderr], [0, '']);
  assert.match(help.stdout, /^usage:\n {2}sewer-dispatch plan --network N/);

  // The same checks in-process, for the inflow and constraints files.
  const issuesOf = (fn: () => unknown) => {
    try {
      fn();
    } catch (error) {
      assert.ok(error instanceof ConfigError, String(error));
      return error.issues;
    }
    return assert.fail('expected a ConfigError');
  };
  const inflowIssues = issuesOf(() =>
    parseInflowFile({ schemaVersion: 1, startUtc: '2026-07-01T06:00:00Z', stepMin: 15, series: [{ nodeId: 'ZZ', flowM3h: [1] }, { nodeId: 'W1', flowM3h: [-5] }] }, network, 'in.json'),
  );
  assert.deepEqual(
    inflowIssues.map((i) => i.path),
    ['/series/1/flowM3h/0'],
    'schema problems are reported first (negative flow)',
  );
  const nodeIssues = issuesOf(() => parseInflowFile({ schemaVersion: 1, startUtc: '2026-07-01T06:00:00Z', stepMin: 15, series: [{ nodeId: 'ZZ', flowM3h: [1] }, { nodeId: 'W1', flowM3h: [1] }, { nodeId: 'W1', flowM3h: [2] }] }, network, 'in.json'));
  assert.deepEqual(
    nodeIssues.map((i) => `${i.path} ${i.reason}`),
    ['/series/0/nodeId unknown station, tank or plant in this network', '/series/2/nodeId duplicate node'],
  );
  const constraintIssues = issuesOf(() => parseConstraintsFile({ schemaVersion: 1, stationBands: [{ stationId: 'W1', minLevelM: 3, maxLevelM: 2 }], lockedStations: ['NOPE'] }, network, 'c.json'));
  assert.deepEqual(
    constraintIssues.map((i) => `${i.path} ${i.reason}`),
    ['/stationBands/0 minLevelM is above maxLevelM', '/lockedStations/0 unknown station in this network'],
  );
});
