import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { loadNetworkFile, referenceNetworkPath } from '../../network/load.js';
import { ConfigError, parseNetwork } from '../../network/validate.js';
import { resolveTagMap, tagIndex } from '../../network/tags.js';
import type { NetworkConfig } from '../../network/schema.js';

const reference = JSON.parse(readFileSync(referenceNetworkPath, 'utf8')) as NetworkConfig;
const copy = (): NetworkConfig => structuredClone(reference);

function issuesOf(input: unknown) {
  try {
    parseNetwork(input, 'test.json');
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected ConfigError, got ${String(error)}`);
    return error.issues;
  }
  assert.fail('expected the network to be rejected');
}

test('the reference network is valid and has the stations of the brief', async () => {
  const network = await loadNetworkFile(referenceNetworkPath);
  assert.equal(network.stations.length, 16);
  assert.deepEqual(network.stations.filter((s) => s.system === 'west').map((s) => s.id), ['W1', 'W2', 'W3', 'W4', 'W5', 'W6', 'W7']);
  const plantCapacity = Object.fromEntries(network.plants.map((p) => [p.id, p.capacityM3h]));
  assert.deepEqual(plantCapacity, { WP: 2500, EP: 6500 });
  assert.equal(network.interconnections[0]?.capacityM3h, 1200);
  assert.equal(network.tanks[0]?.capacityM3, 40000);
});

test('schema errors list every problem with path, value and reason', () => {
  const bad = copy() as unknown as Record<string, unknown> & { stations: Record<string, unknown>[] };
  bad.stations[0]!['maxStartsPerHour'] = 0;
  bad.stations[1]!['colour'] = 'red';
  delete bad.stations[2]!['pumps'];
  const issues = issuesOf(bad);
  assert.ok(issues.some((i) => i.path === '/stations/0/maxStartsPerHour' && i.value === 0 && /must be >= 1/.test(i.reason)), JSON.stringify(issues));
  assert.ok(issues.some((i) => i.path === '/stations/1/colour' && i.reason === 'unknown property'));
  assert.ok(issues.some((i) => i.path === '/stations/2/pumps' && /required/.test(i.reason)));
});

test('plant steadiness settings are shares of capacity: a value outside 0..1 or an unknown one is named with its path', () => {
  const bad = copy();
  bad.planning.plantSteadiness = { rampFractionPerH: 0.15, balanceBand: 1.5, deviationBand: -0.1 };
  (bad.planning.plantSteadiness as Record<string, unknown>)['smoothness'] = 0.2;
  const issues = issuesOf(bad);
  assert.ok(issues.some((i) => i.path === '/planning/plantSteadiness/balanceBand' && i.value === 1.5 && /<= 1/.test(i.reason)), JSON.stringify(issues));
  assert.ok(issues.some((i) => i.path === '/planning/plantSteadiness/deviationBand' && i.value === -0.1 && />= 0/.test(i.reason)), JSON.stringify(issues));
  assert.ok(issues.some((i) => i.path === '/planning/plantSteadiness/smoothness' && i.reason === 'unknown property'), JSON.stringify(issues));
  assert.ok(!issues.some((i) => i.path.endsWith('/rampFractionPerH')), 'a valid ramp is not reported');
});

test('well margins, the smoothing share, the tank turnover and the VFD start price are bounded: a value out of range or an unknown one is named with its path', () => {
  const bad = copy();
  bad.planning.wellMargins = { alarmMarginFraction: 0.6, fixedSpeedAlarmMarginFraction: -0.01 };
  (bad.planning.wellMargins as Record<string, unknown>)['vfdMargin'] = 0.1;
  bad.planning.smoothingEnergyShare = 0.9;
  bad.planning.tankTurnoverH = -1;
  bad.planning.vfdStartCostCny = -5;
  const issues = issuesOf(bad);
  assert.ok(issues.some((i) => i.path === '/planning/wellMargins/alarmMarginFraction' && i.value === 0.6 && /<= 0.5/.test(i.reason)), JSON.stringify(issues));
  assert.ok(issues.some((i) => i.path === '/planning/wellMargins/fixedSpeedAlarmMarginFraction' && i.value === -0.01 && />= 0/.test(i.reason)), JSON.stringify(issues));
  assert.ok(issues.some((i) => i.path === '/planning/wellMargins/vfdMargin' && i.reason === 'unknown property'), JSON.stringify(issues));
  assert.ok(issues.some((i) => i.path === '/planning/smoothingEnergyShare' && i.value === 0.9), JSON.stringify(issues));
  assert.ok(issues.some((i) => i.path === '/planning/tankTurnoverH' && i.value === -1 && />= 0/.test(i.reason)), JSON.stringify(issues));
  assert.ok(issues.some((i) => i.path === '/planning/vfdStartCostCny' && i.value === -5 && />= 0/.test(i.reason)), JSON.stringify(issues));
  const good = copy();
  good.planning.wellMargins = { fixedSpeedAlarmMarginFraction: 0.04 };
  good.planning.smoothingEnergyShare = 0.05;
  good.planning.vfdStartCostCny = 20;
  assert.deepEqual(parseNetwork(good, 'test.json').planning.wellMargins, { fixedSpeedAlarmMarginFraction: 0.04 });
});

test('graph errors: unknown downstream, self-discharge, cycles, levels out of order', () => {
  const n = copy();
  n.mains.find((m) => m.id === 'M-W1')!.to = 'NOWHERE';
  const w2Main = n.mains.find((m) => m.id === 'M-W2')!;
  w2Main.to = 'W2';
  n.stations[3]!.levels.pumpStartM = 0.5;
  // W3 → W6 → W3: a cycle
  n.mains.find((m) => m.id === 'M-W6')!.to = 'W3';
  const issues = issuesOf(n);
  const reasons = issues.map((i) => `${i.path}: ${i.reason}`);
  assert.ok(reasons.some((r) => r.startsWith('/mains/0/to: unknown station, tank or plant')), reasons.join('\n'));
  assert.ok(reasons.some((r) => r.startsWith('/mains/1/to: a main cannot discharge into the node it leaves')), reasons.join('\n'));
  assert.ok(reasons.some((r) => r.startsWith('/stations/1/dischargeMainId: station discharges into itself')), reasons.join('\n'));
  assert.ok(reasons.some((r) => r.startsWith('/stations/3/levels: levels out of order')), reasons.join('\n'));
  assert.ok(reasons.some((r) => /\/stations\/\d\/dischargeMainId: discharge path forms a cycle/.test(r)), reasons.join('\n'));
});

test('cross-checks: duplicate ids, unknown references, tariff gaps, envelopes outside physics', () => {
  const n = copy();
  n.stations[1]!.id = 'W1';
  n.catchments[0]!.dwf.pattern = 'mystery';
  n.tariff.periods[2]!.ranges = [{ from: '11:00', to: '17:00' }];
  n.stations[0]!.envelope.flowSetpointM3h.max = 99_999;
  n.interconnections[0]!.b = 'ZZ';
  n.timezone = 'Mars/Olympus';
  const issues = issuesOf(n);
  const find = (path: string, pattern: RegExp) => assert.ok(issues.some((i) => i.path === path && pattern.test(i.reason)), `${path} ${pattern} in\n${JSON.stringify(issues, null, 1)}`);
  find('/stations/1/id', /duplicate id/);
  find('/catchments/0/dwf/pattern', /unknown DWF pattern/);
  find('/tariff/periods', /without a price/);
  find('/stations/0/envelope/flowSetpointM3h', /installed pump capacity/);
  find('/interconnections/0/b', /unknown station/);
  find('/timezone', /IANA/);
});

test('tag map: template NodeIds, per-object overrides, unknown tags named in the error', () => {
  const n = copy();
  n.stations[0]!.tags = { levelM: 'ns=2;s=PLC_W1.LT101' };
  const tags = resolveTagMap(n);
  const tag = tagIndex(tags);
  assert.equal(tag('W1', 'levelM').nodeId, 'ns=2;s=PLC_W1.LT101');
  assert.equal(tag('W2', 'levelM').nodeId, 'ns=1;s=W2.levelM');
  assert.equal(tag('X1', 'transferSpM3h').access, 'write');
  assert.equal(tag('Q-WP', 'codMgL').unit, 'mg/L');
  assert.throws(() => tag('W1', 'colour'), /No tag "colour" for object "W1"/);
  assert.equal(new Set(tags.map((t) => t.nodeId)).size, tags.length, 'NodeIds are unique');
});
