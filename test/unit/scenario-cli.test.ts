// The scenario command: results file fields, mass balance, determinism for a seed, argument errors.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { main } from '../../simulator/scenario-cli.js';
import type { CliIo, ScenarioResults } from '../../simulator/scenario-cli.js';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const tmp = mkdtempSync(path.join(os.tmpdir(), 'scenario-cli-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

// The shortest scenario: a 2-hour design storm (with the spin-up day and the drain period, about 3.3 days).
const SHORT = ['--scenario', 'chicago-2y'];

async function cli(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const io: CliIo = { stdout: (line) => (stdout += `${line}\n`), stderr: (line) => (stderr += `${line}\n`), cwd: repoRoot };
  const code = await main(argv, io);
  return { code, stdout, stderr };
}

const read = (file: string) => JSON.parse(readFileSync(file, 'utf8')) as ScenarioResults;

void describe('scenario command', () => {
  void it('runs a short scenario and writes a results file with every metric', async () => {
    const file = path.join(tmp, 'short.json');
    const { code, stdout, stderr } = await cli([...SHORT, '--out', file, '--seed', '3']);
    assert.equal(code, 0, stderr);
    assert.match(stdout, /chicago-2y: .*overflow .* m3/);
    const r = read(file);
    assert.equal(r.format, 'sewer-dispatch/scenario-results@1');
    assert.equal(r.scenario.name, 'chicago-2y');
    assert.equal(r.controller, 'baseline');
    assert.equal(r.seed, 3);
    assert.equal(r.network.source, 'config/reference-network.json');
    assert.equal(r.run.spinUpH, 24);
    assert.ok(r.run.drainH > 0, 'a drain period follows the scenario');
    assert.equal(Date.parse(r.run.endUtc) - Date.parse(r.run.measuredFromUtc), r.run.measuredH * 3_600_000);
    assert.ok(r.rain.meanDepthMm > 20, `rain ${r.rain.meanDepthMm} mm`);

    for (const id of ['W1', 'W6', 'E4', 'E8']) {
      const s = r.stations[id]!;
      for (const key of ['overflowM3', 'overflowEvents', 'overflowMin', 'pumpStarts', 'peakLevelM', 'energyKwh', 'costCny'] as const) {
        assert.equal(typeof s[key], 'number', `${id}.${key}`);
      }
      assert.ok(s.peakLevelM > 0 && s.peakLevelM <= s.overflowLevelM);
    }
    for (const id of ['WP', 'EP']) {
      const p = r.plants[id]!;
      assert.ok(p.inflowM3 > 0 && p.bypassM3 >= 0 && p.inflowCv > 0 && p.peakInflowM3h >= p.meanInflowM3h, JSON.stringify(p));
      assert.ok(Math.abs(p.inflowM3 - p.treatedM3 - p.bypassM3) < 0.01);
    }
    // Energy and cost by tariff period add up to the totals.
    assert.deepEqual(Object.keys(r.energyByPeriod).sort(), ['flat', 'peak', 'valley']);
    const periods = Object.values(r.energyByPeriod);
    assert.ok(Math.abs(periods.reduce((a, p) => a + p.energyKwh, 0) - r.totals.energyKwh) < 0.01);
    assert.ok(Math.abs(periods.reduce((a, p) => a + p.costCny, 0) - r.totals.costCny) < 0.01);
    // Totals match the stations.
    const stationOverflow = Object.values(r.stations).reduce((a, s) => a + s.overflowM3, 0);
    assert.ok(Math.abs(stationOverflow - r.totals.overflowM3) < 0.1);
    assert.equal(Object.values(r.stations).reduce((a, s) => a + s.pumpStarts, 0), r.totals.pumpStarts);
    assert.ok(r.totals.overflowM3 > 0, 'a 2-year storm overflows somewhere under local control');
    // Baseline: no transfers, tank idle.
    assert.deepEqual(r.interconnections['X1'], { aToBM3: 0, bToAM3: 0, energyKwh: 0, costCny: 0 });
    assert.equal(r.tanks['T1']!.inletM3, 0);
    // Mass balance over the measured window and the whole run.
    assert.ok(r.massBalance.window.relativeError < 1e-6, `window mass error ${r.massBalance.window.relativeError}`);
    assert.ok(r.massBalance.run.relativeError < 1e-6, `run mass error ${r.massBalance.run.relativeError}`);
    assert.ok(Math.abs(r.inflow.totalM3 - r.massBalance.window.inflowM3) < 0.01);
  });

  void it('gives byte-identical results for the same seed, different ones for another seed', async () => {
    const files = ['a', 'b', 'c'].map((n) => path.join(tmp, `${n}.json`));
    for (const [i, file] of files.entries()) {
      const { code, stderr } = await cli([...SHORT, '--out', file, '--seed', i < 2 ? '5' : '6']);
      assert.equal(code, 0, stderr);
    }
    assert.equal(readFileSync(files[0]!, 'utf8'), readFileSync(files[1]!, 'utf8'));
    assert.notEqual(readFileSync(files[0]!, 'utf8'), readFileSync(files[2]!, 'utf8'));
  });

  void it('fails on bad arguments with a message naming the argument', async () => {
    const cases: [string[], RegExp][] = [
      [['--out', path.join(tmp, 'x.json')], /--scenario: is required/],
      [['--scenario', 'drizzle'], /--scenario: unknown scenario "drizzle"; known: dry-week, moderate/],
      [[...SHORT, '--seed', 'abc'], /--seed: must be an integer/],
      [[...SHORT, '--controller', 'oracle'], /--controller: unknown controller "oracle"; known: baseline/],
      [[...SHORT, '--step', '7'], /--step: must divide 60/],
      [[...SHORT, '--start', '2026-07-01'], /--start: must be an ISO 8601 time with a zone/],
      [[...SHORT, '--drain-h=-3'], /--drain-h: must be between 0/],
      [[...SHORT, '--out', path.join(tmp, 'x.txt')], /--out: must name a \.json results file/],
      [['--scenario', 'all', '--out', path.join(tmp, 'x.json')], /--out: with --scenario all names a folder/],
      [[...SHORT, '--sed', '1'], /--sed: Unknown option '--sed'/],
      [[...SHORT, '--seed'], /--seed: Option '--seed <value>' argument missing/],
      [[...SHORT, '--network', path.join(tmp, 'missing.json'), '--out', path.join(tmp, 'y.json')], /--network: .*missing\.json[\s\S]*cannot read file/],
    ];
    for (const [argv, message] of cases) {
      const { code, stderr } = await cli(argv);
      assert.equal(code, 2, `${argv.join(' ')} should fail`);
      assert.match(stderr, message, `${argv.join(' ')}`);
    }
    assert.ok(!existsSync(path.join(tmp, 'y.json')), 'no results file after a failure');
  });

  void it('works as a command: npx tsx simulator/scenario-cli.ts', () => {
    const file = path.join(tmp, 'command.json');
    const ok = spawnSync(process.execPath, ['--import', 'tsx', 'simulator/scenario-cli.ts', ...SHORT, '--out', file], { cwd: repoRoot, encoding: 'utf8' });
    assert.equal(ok.status, 0, ok.stderr);
    assert.equal(read(file).scenario.name, 'chicago-2y');
    assert.match(ok.stdout, /chicago-2y: .* → /);
  });
});
