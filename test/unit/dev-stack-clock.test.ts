// npm start's demo clock (infra/demo-clock.ts): the simulator and the forecast server start at the same instant
// and run at the same speed. The forecast server used to get no --speed and no --now, and served the scenario's
// rain at ×1 from the real clock while the simulated storm ran ×60.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { demoClock, forecastServerArgs, simulatorArgs } from '../../infra/demo-clock.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const START = Date.UTC(2026, 6, 1, 3, 7, 42);

test('the simulator and the forecast server get the same start and speed', () => {
  const clock = demoClock('60', START);
  assert.deepEqual(clock, { startIso: '2026-07-01T03:07:00.000Z', speed: 60 });
  const sim = simulatorArgs(clock, { network: 'config/reference-network.json', port: 4840, scenario: 'typhoon' });
  const fc = forecastServerArgs(clock, { port: 8081, scenario: 'typhoon' });
  const after = (argv: string[], flag: string) => argv[argv.indexOf(flag) + 1];
  assert.equal(after(sim, '--speed'), '60');
  assert.equal(after(fc, '--speed'), '60');
  assert.equal(after(sim, '--start'), clock.startIso);
  assert.equal(after(fc, '--start'), clock.startIso);
  assert.equal(after(fc, '--now'), clock.startIso, 'the forecast clock starts where the simulation starts');
});

test('a speed the forecast clock cannot follow is refused, naming the option', () => {
  for (const bad of ['max', '0', '-5', '', 'fast']) assert.throws(() => demoClock(bad, START), /--speed \(or DEMO_SPEED\)/);
});

test('the forecast server started with these arguments runs its clock from the start at the speed', { timeout: 60_000 }, async () => {
  const clock = demoClock('60', START);
  const child = spawn(process.execPath, ['--import', 'tsx', 'forecast-server/main.ts', ...forecastServerArgs(clock, { port: 0, scenario: 'rainstorm' })], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    let out = '';
    const line = await new Promise<string>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /clock (\S+) ×(\S+)/.exec(out);
        if (m) resolve(m[0]);
      });
      child.stderr.on('data', (d: Buffer) => (out += d.toString()));
      child.on('exit', (code) => reject(new Error(`forecast server exited ${code}: ${out}`)));
    });
    const [, iso, speed] = /clock (\S+) ×(\S+)/.exec(line)!;
    assert.equal(speed, '60');
    const offsetMs = Date.parse(iso!) - START;
    // Launched at the clock's start (rounded down to the minute), a few wall seconds × 60 later at most.
    assert.ok(offsetMs >= -60_000 && offsetMs < 10 * 60_000, `forecast clock ${iso} vs simulation start ${clock.startIso}`);
  } finally {
    child.kill('SIGTERM');
  }
});
