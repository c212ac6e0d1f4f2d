// The CLI's input checks beyond the schemas: state values against the network (units, absurd readings), inflow
// members and the horizon, the --previous plan, the options, and output files written whole or not at all.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCli } from '../../bin/cli.js';
import { NetworkConfig } from '../../network/schema.js';
import { ConfigError } from '../../network/validate.js';
import { cliTestNetwork } from '../support/cli-network.js';
import { parseInflowFile, parseStateFile } from '../../planner/files.js';
import type { Plan } from '../../planner/types.js';

const bin = fileURLToPath(new URL('../../bin/sewer-dispatch.js', import.meta.url));
const dir = mkdtempSync(path.join(tmpdir(), 'sewer-cli-inputs-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

const network = cliTestNetwork(6);
const networkPath = path.join(dir, 'network.json');
writeFileSync(networkPath, JSON.stringify(network));

const now = '2026-07-01T06:00:00Z';
const state = (stations: Record<string, unknown>[] = [], extra: Record<string, unknown> = {}) => ({
  schemaVersion: 1,
  readAtUtc: now,
  stations: [{ stationId: 'W1', levelM: 2, pumpsAvailable: 3, mode: 'remote' }, { stationId: 'E1', levelM: 2, pumpsAvailable: 2, mode: 'remote' }, ...stations],
  ...extra,
});
const flat = (nodeId: string, m3h: number, steps = 32) => ({ nodeId, flowM3h: Array.from({ length: steps }, () => m3h) });
const inflow = (extra: Record<string, unknown> = {}) => ({ schemaVersion: 1, startUtc: now, stepMin: 15, series: [flat('W1', 150), flat('E1', 120)], ...extra });

function file(name: string, value: unknown): string {
  const p = path.join(dir, name);
  writeFileSync(p, typeof value === 'string' ? value : JSON.stringify(value));
  return p;
}

async function cli(...args: string[]) {
  let stdout = '';
  let stderr = '';
  const code = await runCli(args, { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t) });
  return { code, stdout, stderr };
}

const plan = (stateValue: unknown, inflowValue: unknown, ...extra: string[]) =>
  cli('plan', '--network', networkPath, '--state', file('s.json', stateValue), '--inflow', file('f.json', inflowValue), '--out', path.join(dir, 'p.json'), '--time-limit', '30', ...extra);

function issuesOf(fn: () => unknown) {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof ConfigError, String(error));
    return error.issues.map((i) => `${i.path} ${JSON.stringify(i.value)}`);
  }
  return assert.fail('expected a ConfigError');
}

test('state values against the network: a level in mm, flows far beyond the pumps, gates or link are refused with path and value', async () => {
  const stations = (w1: Record<string, unknown>) => [{ stationId: 'W1', pumpsAvailable: 3, mode: 'remote', levelM: 2, ...w1 }, { stationId: 'E1', levelM: 2, pumpsAvailable: 2, mode: 'remote' }];
  const bad = {
    schemaVersion: 1,
    readAtUtc: now,
    stations: stations({ levelM: 1500, outflowM3h: 1e7, startLevelSpM: 5.5, flowSpM3h: 1e308, recentOutflowM3h: { stepMin: 5, valuesM3h: [100, 100, 1e308, 1e308] } }),
    tanks: [{ tankId: 'CS1', volumeM3: 10, inletSpM3h: 250, outletSpM3h: 1e9 }],
    transfers: [{ interconnectionId: 'X1', transferM3h: -5000, recentTransferM3h: { stepMin: 5, valuesM3h: [50, -1e308] } }],
  };
  assert.deepEqual(issuesOf(() => parseStateFile(bad, network, 's.json')), [
    '/stations/0/levelM 1500',
    '/stations/0/startLevelSpM 5.5',
    '/stations/0/outflowM3h 10000000',
    '/stations/0/flowSpM3h 1e+308',
    '/stations/0/recentOutflowM3h/valuesM3h/2 1e+308',
    '/tanks/0/inletSpM3h 250',
    '/tanks/0/outletSpM3h 1000000000',
    '/transfers/0/transferM3h -5000',
    '/transfers/0/recentTransferM3h/valuesM3h/1 -1e+308',
  ]);
  // Through the CLI: exit 2, the file, the path, the value and why.
  const refused = await plan({ ...bad, tanks: [], transfers: [], stations: stations({ levelM: 1500 }) }, inflow());
  assert.equal(refused.code, 2);
  assert.match(refused.stderr, /s\.json: 1 problem\n {2}\/stations\/0\/levelM: more than 0\.50 m above the well's overflow level or top \(4 m\).*\(value: 1500\)/);
  // At the limits (2× installed, the overflow level + 0.5 m) it is planned on; a level above overflow is noted.
  const edge = stations({ levelM: 4.4, outflowM3h: 720, flowSpM3h: 720, startLevelSpM: 4.5 });
  assert.doesNotThrow(() => parseStateFile({ ...bad, stations: edge, tanks: [{ tankId: 'CS1', volumeM3: 0, inletSpM3h: 200, outletSpM3h: 160 }], transfers: [{ interconnectionId: 'X1', transferM3h: -200 }] }, network));
  const noted = await plan(state([], { stations: stations({ levelM: 4.3 }) }), inflow());
  assert.equal(noted.code, 0, noted.stderr);
  const written = JSON.parse(readFileSync(path.join(dir, 'p.json'), 'utf8')) as Plan;
  const note = written.assumptions?.find((a) => a.en.startsWith('W1 level 4.3 m is above its overflow level 4 m'));
  assert.ok(note, JSON.stringify(written.assumptions));
  assert.match(note.zh, /W1液位4\.3米高于溢流液位4米/);
  assert.match(noted.stderr, /assumed: W1 level 4\.3 m is above its overflow level/);
});

test('state file: an interconnection listed twice is refused (the last one would silently win)', () => {
  const dup = state([], { transfers: [{ interconnectionId: 'X1', transferM3h: 50 }, { interconnectionId: 'X1', transferM3h: -80 }] });
  assert.deepEqual(issuesOf(() => parseStateFile(dup, network)), ['/transfers/1/interconnectionId "X1"']);
});

test('inflow: members must give the nodes and steps of the deterministic series (or of the first member when series is empty); absurd values refused', async () => {
  const member = (id: string, series: unknown[]) => ({ id, series });
  const unequal = inflow({ members: [member('m1', [flat('W1', 500, 2), flat('E1', 100)]), member('m2', [flat('W1', 100)]), member('m3', [flat('W1', 1), flat('E1', 1), flat('WP', 1)])] });
  assert.deepEqual(issuesOf(() => parseInflowFile(unequal, network)), ['/members/0/series/0/flowM3h 2', '/members/1/series ["E1"]', '/members/2/series/2/nodeId "WP"']);
  // With series [] the members are compared with the first (the planner's stand-in for the deterministic scenario).
  const membersOnly = inflow({ series: [], members: [member('m1', [flat('W1', 100), flat('E1', 90)]), member('m2', [flat('W1', 100)])] });
  assert.deepEqual(issuesOf(() => parseInflowFile(membersOnly, network)), ['/members/1/series ["E1"]']);
  assert.doesNotThrow(() => parseInflowFile(inflow({ series: [], members: [member('m1', [flat('W1', 100)]), member('m2', [flat('W1', 300)])] }), network));
  // series [] without members: no forecast, every node on its dry-weather flow; that is allowed.
  assert.doesNotThrow(() => parseInflowFile(inflow({ series: [] }), network));
  assert.doesNotThrow(() => parseInflowFile(inflow({ members: [member('m1', [flat('E1', 90), flat('W1', 300)])] }), network), 'same nodes in another order');
  const huge = inflow({ series: [flat('W1', 150), { nodeId: 'E1', flowM3h: [120, 1e308, 1e308] }] });
  assert.deepEqual(issuesOf(() => parseInflowFile(huge, network)), ['/series/1/flowM3h/1 1e+308']);
  const refused = await plan(state(), unequal);
  assert.equal(refused.code, 2);
  assert.match(refused.stderr, /\/members\/1\/series: member has no series for these nodes of the deterministic series: every member must give the same nodes \(value: \["E1"\]\)/);
});

test('inflow: a forecast wholly before or after the horizon is refused by the CLI, which knows the horizon', async () => {
  const yearOld = inflow({ startUtc: '2025-07-01T06:00:00Z' });
  assert.doesNotThrow(() => parseInflowFile(yearOld, network), 'without a horizon the file alone is valid');
  const window = { startUtcMs: Date.parse(now), endUtcMs: Date.parse(now) + 6 * 3_600_000 };
  assert.deepEqual(issuesOf(() => parseInflowFile(yearOld, network, 'f.json', window)), ['/startUtc "2025-07-01T06:00:00Z"']);
  assert.deepEqual(issuesOf(() => parseInflowFile(inflow({ startUtc: '2026-07-01T12:00:00Z' }), network, 'f.json', window)), ['/startUtc "2026-07-01T12:00:00Z"']);
  // Overlapping by one step is a forecast (short; the planner holds its edge value and says so).
  assert.doesNotThrow(() => parseInflowFile(inflow({ startUtc: '2026-07-01T11:45:00Z' }), network, 'f.json', window));
  const old = await plan(state(), yearOld);
  assert.equal(old.code, 2);
  assert.match(old.stderr, /\/startUtc: forecast ends at 2025-07-01T14:00:00\.000Z, before the plan starts/);
  const late = await plan(state(), inflow({ startUtc: '2026-07-01T13:00:00Z' }), '--horizon-h', '6');
  assert.equal(late.code, 2);
  assert.match(late.stderr, /\/startUtc: forecast starts after the plan's horizon ends/);
});

test('--previous: checked against a plan schema and the network (physical ranges, ids, step length), exit 2 with path and value', async () => {
  const good = await plan(state(), inflow());
  assert.equal(good.code, 0, good.stderr);
  const previous = JSON.parse(readFileSync(path.join(dir, 'p.json'), 'utf8')) as Plan;
  const accepted = await plan(state(), inflow(), '--previous', file('prev.json', previous));
  assert.equal(accepted.code, 0, accepted.stderr);

  const edited = structuredClone(previous);
  const step = edited.steps[3]!;
  step.stations.find((s) => s.stationId === 'W1')!.startLevelM = 4.5;
  step.stations.find((s) => s.stationId === 'E1')!.flowM3h = 5000;
  step.tanks[0]!.outletM3h = 500;
  step.transfers[0]!.interconnectionId = 'X9';
  const refused = await plan(state(), inflow(), '--previous', file('prev-bad.json', edited));
  assert.equal(refused.code, 2);
  const w1 = step.stations.findIndex((s) => s.stationId === 'W1');
  const e1 = step.stations.findIndex((s) => s.stationId === 'E1');
  assert.match(refused.stderr, /prev-bad\.json: 4 problems/);
  assert.match(refused.stderr, new RegExp(`/steps/3/stations/${w1}/startLevelM: outside the network's physical range \\[1, 4\\] \\(pump-stop\\.\\.overflow level\\) \\(value: 4\\.5\\)`));
  assert.match(refused.stderr, new RegExp(`/steps/3/stations/${e1}/flowM3h: outside the network's physical range \\[0, 300\\] \\(installed pump capacity\\) \\(value: 5000\\)`));
  assert.match(refused.stderr, /\/steps\/3\/tanks\/0\/outletM3h: outside the network's physical range \[0, 80\] \(outlet capacity\) \(value: 500\)/);
  assert.match(refused.stderr, /\/steps\/3\/transfers\/0\/interconnectionId: unknown interconnection in this network \(value: "X9"\)/);

  // A step length of 0 used to make the fallback extend the plan for ever.
  const zero = await plan(state(), inflow(), '--previous', file('prev-zero.json', { ...previous, stepMin: 0, steps: previous.steps.map(({ durationMin: _, ...s }) => s) }));
  assert.equal(zero.code, 2);
  assert.match(zero.stderr, /\/stepMin: .*>= 1.*\(value: 0\)/);
  const other = await plan(state(), inflow(), '--previous', file('prev-other.json', { ...previous, networkId: 'elsewhere' }));
  assert.equal(other.code, 2);
  assert.match(other.stderr, /\/networkId: plan is for another network \(this one is example\) \(value: "elsewhere"\)/);
  const notPlan = await plan(state(), inflow(), '--previous', file('prev-state.json', state()));
  assert.equal(notPlan.code, 2);
  assert.match(notPlan.stderr, /\/planId,networkId,.*: required property is missing/);
});

test('options: --now needs a zone, --horizon-h is a whole number of hours in 1..168, --plan-id is documented and used', async () => {
  const noZone = await plan(state(), inflow(), '--now', '2026-07-01T06:00');
  assert.equal(noZone.code, 2);
  assert.match(noZone.stderr, /--now must be an ISO 8601 time with a zone .*got 2026-07-01T06:00\n/);
  for (const h of ['169', '100000', '1.5', '0']) {
    const r = await plan(state(), inflow(), '--horizon-h', h);
    assert.equal(r.code, 2, h);
    assert.match(r.stderr, new RegExp(`--horizon-h must be a whole number from 1 to 168, got ${h.replace('.', '\\.')}`));
  }
  const zoned = await plan(state(), inflow(), '--now', '2026-07-01T14:00:00+08:00', '--plan-id', 'my-plan', '--horizon-h', '2');
  assert.equal(zoned.code, 0, zoned.stderr);
  const written = JSON.parse(readFileSync(path.join(dir, 'p.json'), 'utf8')) as Plan;
  assert.equal(written.planId, 'my-plan');
  assert.equal(written.steps[0]!.startUtcMs, Date.parse(now));
  const help = await cli('--help');
  assert.match(help.stdout, /\[--plan-id ID\]/);
  assert.match(help.stdout, /--plan-id: the plan's id/);
});

test('schema network prints the NetworkConfig schema', async () => {
  const printed = await cli('schema', 'network');
  assert.equal(printed.code, 0, printed.stderr);
  assert.deepEqual(JSON.parse(printed.stdout), JSON.parse(JSON.stringify(NetworkConfig)));
  const unknown = await cli('schema', 'plan');
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /schema needs one of: network, state, inflow, constraints/);
});

test('outputs: an unwritable --out fails before solving in one line; example writes both files or neither', async () => {
  const t0 = Date.now();
  const nowhere = await plan(state(), inflow(), '--out', path.join(dir, 'no-such-dir', 'p.json'));
  assert.equal(nowhere.code, 2);
  assert.equal(nowhere.stderr, `sewer-dispatch: cannot write ${path.join(dir, 'no-such-dir', 'p.json')}: directory ${path.join(dir, 'no-such-dir')} does not exist\n`);
  assert.doesNotMatch(nowhere.stderr, /planner mpc|\n\s+at /);
  assert.ok(Date.now() - t0 < 5_000);
  const asDir = await plan(state(), inflow(), '--out', dir);
  assert.equal(asDir.code, 2);
  assert.match(asDir.stderr, /it is a directory\n$/);

  const statePath = path.join(dir, 'example-state.json');
  const made = await cli('example', '--network', networkPath, '--state', statePath, '--inflow', path.join(dir, 'nope', 'x.json'), '--now', now);
  assert.equal(made.code, 2);
  assert.match(made.stderr, /^sewer-dispatch: cannot write .*nope\/x\.json: directory .* does not exist\n$/);
  assert.equal(existsSync(statePath), false, 'no state file without its inflow file');
});

test('outputs: a write that fails part-way (file size limit, as a full disk) leaves the previous plan whole', () => {
  const out = path.join(dir, 'kept.json');
  const s = file('big-s.json', state());
  // A week at 15 min: a plan of several hundred kB, against a 64 kB file size limit.
  const f = file('big-f.json', inflow({ series: [flat('W1', 150, 700), flat('E1', 120, 700)] }));
  const previous = '{"planId": "the previous good plan"}\n';
  writeFileSync(out, previous);
  const args = ['plan', '--network', networkPath, '--state', s, '--inflow', f, '--out', out, '--horizon-h', '168', '--time-limit', '60'];
  const quoted = [bin, ...args].map((a) => `'${a}'`).join(' ');
  const r = spawnSync('bash', ['-c', `ulimit -f 64; exec '${process.execPath}' ${quoted}`], { encoding: 'utf8', timeout: 120_000 });
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /cannot write .*kept\.json: .*\(the previous file, if any, is unchanged\)/);
  assert.equal(readFileSync(out, 'utf8'), previous);
  assert.deepEqual(
    (spawnSync('ls', [dir], { encoding: 'utf8' }).stdout.match(/kept\.json\.tmp-\d+/g) ?? []),
    [],
    'no temporary file left behind',
  );
});
