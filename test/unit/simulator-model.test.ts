// The simulator's mass-balance core and station PLC logic, on the reference network.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadNetworkFile, referenceNetworkPath } from '../../network/load.js';
import type { NetworkConfig } from '../../network/schema.js';
import { RtkFilter, TagAccessError, createSimulation } from '../../simulator/model.js';
import type { RainMmPerMin, Simulation, SimulationOptions } from '../../simulator/model.js';
import { createClock } from '../../simulator/runner.js';

const network = await loadNetworkFile(referenceNetworkPath);
const START_UTC_MS = Date.UTC(2026, 6, 1, 0, 0); // Wednesday 08:00 in Asia/Shanghai
const MIN_MS = 60_000;
const DAY_MS = 86_400_000;

/** Two storms: 45 mm over 8 h on day 2 (heavier in the west), 20 mm over 3 h on day 5. */
const twoStorms: RainMmPerMin = (_latDeg, lonDeg, t) => {
  const h = (t - START_UTC_MS) / 3_600_000;
  const west = lonDeg < 121 ? 1.2 : 0.8;
  if (h >= 30 && h < 38) return (west * 45) / (8 * 60);
  if (h >= 100 && h < 103) return 20 / (3 * 60);
  return 0;
};

function sim(options: Partial<SimulationOptions> = {}, net: NetworkConfig = network): Simulation {
  return createSimulation({ network: net, startUtcMs: START_UTC_MS, seed: 7, ...options });
}

function num(s: Simulation, objectId: string, tag: string): number {
  const value = s.readTag(objectId, tag).value;
  assert.equal(typeof value, 'number', `${objectId}.${tag} should be numeric`);
  return value as number;
}

function storageM3(s: Simulation, net: NetworkConfig): number {
  let sum = 0;
  for (const st of net.stations) {
    assert.equal(st.wetWell.kind, 'prismatic');
    if (st.wetWell.kind === 'prismatic') sum += st.wetWell.areaM2 * s.trueLevelM(st.id);
  }
  for (const t of net.tanks) sum += num(s, t.id, 'volumeM3');
  return sum;
}

void describe('simulator model: mass balance', () => {
  void it('conserves mass to 1e-6 of total inflow over a simulated week with rain, transfers, a tank and faults', () => {
    const s = sim({ rainMmPerMin: twoStorms });
    const storage0 = storageM3(s, network);
    // Dispatch-like activity: X1 west→east, fill T1 during the storm and return it afterwards, a pump trip.
    // Gates follow dispatch only while its heartbeat reaches both ends, so the dispatch keeps it alive.
    let beat = 0;
    const dispatch = (minutes: number) => {
      for (let m = 0; m < minutes; m++) {
        beat++;
        for (const id of ['W6', 'E4', 'E8']) s.writeSetpoint(id, 'heartbeat', beat);
        s.advance(1);
      }
    };
    s.advance(24 * 60);
    s.writeSetpoint('X1', 'transferSpM3h', 600);
    s.writeSetpoint('T1', 'inletSpM3h', 1500);
    dispatch(18 * 60);
    s.tripPump('E4', 'P1');
    s.injectPollution({ nodeId: 'W5', parameter: 'codMgL', excessValue: 900, startUtcMs: s.timeUtcMs, durationMin: 45 });
    dispatch(12 * 60);
    s.writeSetpoint('X1', 'transferSpM3h', -400);
    s.writeSetpoint('T1', 'inletSpM3h', 0);
    s.writeSetpoint('T1', 'outletSpM3h', 800);
    dispatch(24 * 60);
    s.runUntil(START_UTC_MS + 7 * DAY_MS);
    assert.equal(s.timeUtcMs, START_UTC_MS + 7 * DAY_MS);

    const summary = s.summary();
    const inflowM3 = summary.inflow.totalM3;
    const toPlantsM3 = Object.values(summary.plants).reduce((a, p) => a + p.treatedM3, 0);
    const bypassM3 = Object.values(summary.plants).reduce((a, p) => a + p.bypassM3, 0);
    const overflowM3 = Object.values(summary.stations).reduce((a, x) => a + x.overflowM3, 0);
    const storageChangeM3 = storageM3(s, network) - storage0;
    const { inTransitM3 } = s.massBalance();
    const errorM3 = inflowM3 - toPlantsM3 - bypassM3 - overflowM3 - storageChangeM3 - inTransitM3;
    assert.ok(Math.abs(errorM3) <= 1e-6 * inflowM3, `mass error ${errorM3} m3 of ${inflowM3} m3`);
    assert.ok(Math.abs(s.massBalance().errorM3) <= 1e-6 * inflowM3);
    // The terms must all be exercised, or the balance proves little.
    assert.ok(summary.inflow.rdiiM3 > 10_000, `RDII ${summary.inflow.rdiiM3}`);
    assert.ok(overflowM3 > 0, 'the storm should overflow somewhere under local control');
    assert.ok(inTransitM3 > 1000);
    assert.ok(summary.interconnections['X1']!.aToBM3 > 0 && summary.interconnections['X1']!.bToAM3 > 0);
    assert.ok(summary.tanks['T1']!.inletM3 > 0 && summary.tanks['T1']!.outletM3 > 0);
    assert.ok(summary.totals.energyKwh > 0 && summary.totals.costCny > 0);
  });

  void it('releases R × effective rain × area as RDII once the hydrographs have drained', () => {
    const s = sim({ rainMmPerMin: twoStorms, dwfNoiseFraction: 0 });
    s.advance(10 * 24 * 60);
    const summary = s.summary();
    let expectedM3 = 0;
    for (const c of network.catchments) {
      const rainMm = summary.rainDepthMm[c.id]!;
      // Two storms, separated by days of recovery: the initial abstraction is taken from each.
      const ia = c.rdii.initialAbstractionMm;
      const first = twoStormsDepth(c.location.lonDeg, 30, 38);
      const second = twoStormsDepth(c.location.lonDeg, 100, 103);
      assert.ok(Math.abs(first + second - rainMm) < 1e-9);
      const rSum = c.rdii.triangles.reduce((a, t) => a + t.r, 0);
      expectedM3 += rSum * (Math.max(0, first - ia) + Math.max(0, second - ia)) * c.areaHa * 10;
    }
    assert.ok(Math.abs(summary.inflow.rdiiM3 - expectedM3) < 1e-6 * expectedM3, `${summary.inflow.rdiiM3} vs ${expectedM3}`);
  });

  void it('RTK filter matches a direct convolution', () => {
    const kernel = new Float64Array(300);
    for (let j = 0; j < 300; j++) kernel[j] = j < 100 ? j + 0.5 : (300 - j - 0.5) / 2;
    const filter = new RtkFilter(kernel);
    const input = Array.from({ length: 1000 }, (_, i) => (i % 7 === 0 && i < 400 ? (i % 5) + 1 : 0));
    for (let i = 0; i < 1000; i++) {
      let direct = 0;
      for (let j = 0; j <= Math.min(i, 299); j++) direct += kernel[j]! * input[i - j]!;
      assert.ok(Math.abs(filter.step(i, input[i]!) - direct) < 1e-6 * Math.max(1, direct), `step ${i}`);
    }
  });
});

function twoStormsDepth(lonDeg: number, fromH: number, toH: number): number {
  let mm = 0;
  for (let t = START_UTC_MS + fromH * 3_600_000; t < START_UTC_MS + toH * 3_600_000; t += MIN_MS) mm += twoStorms(0, lonDeg, t);
  return mm;
}

void describe('simulator model: station PLC', () => {
  void it('starts the standby pump when a running duty pump trips', () => {
    const s = sim({ initialLevelsM: { W1: 3.4 }, initialModes: 'local' });
    s.advance(1);
    const before = s.pumps('W1');
    assert.equal(before.filter((p) => p.running).length, 2, 'two duty pumps at 3.4 m');
    const standby = before.find((p) => !p.running)!;
    const tripped = before.find((p) => p.running)!;
    s.tripPump('W1', tripped.pumpId);
    assert.equal(num(s, 'W1', 'pumpsAvailable'), 2);
    s.advance(1);
    const after = s.pumps('W1');
    assert.equal(after.filter((p) => p.running).length, 2);
    assert.equal(after.find((p) => p.pumpId === standby.pumpId)!.running, true, 'standby took over');
    assert.equal(after.find((p) => p.pumpId === tripped.pumpId)!.running, false);
    assert.equal(num(s, 'W1', 'outflowM3h'), 400);
  });

  void it('follows remote setpoints while the heartbeat is fresh and falls back to local control when it goes stale', () => {
    const s = sim({ initialLevelsM: { W1: 1.5 } });
    const timeoutMs = network.opcua.watchdogTimeoutS * 1000;
    s.writeSetpoint('W1', 'remoteControlSp', 1);
    s.writeSetpoint('W1', 'flowSpM3h', 0);
    let heartbeat = 0;
    // 15 min of heartbeats with a zero flow setpoint: no pump runs although the level passes pump-start.
    for (let i = 0; i < 15; i++) {
      s.writeSetpoint('W1', 'heartbeat', ++heartbeat);
      s.advance(1);
      assert.equal(s.readTag('W1', 'remoteActive').value, true);
      assert.equal(num(s, 'W1', 'pumpsRunning'), 0);
    }
    const levelM = num(s, 'W1', 'levelM');
    assert.ok(levelM > network.stations[0]!.levels.pumpStartM && levelM < network.stations[0]!.levels.highAlarmM, `level ${levelM}`);
    const lastBeatMs = s.timeUtcMs - MIN_MS;
    // Rewriting the same value is not a heartbeat.
    while (s.timeUtcMs - lastBeatMs <= timeoutMs) {
      assert.equal(s.readTag('W1', 'remoteActive').value, true);
      s.writeSetpoint('W1', 'heartbeat', heartbeat);
      s.advance(1);
    }
    assert.equal(s.readTag('W1', 'remoteActive').value, false);
    s.advance(1);
    assert.ok(num(s, 'W1', 'pumpsRunning') >= 1, 'local control starts a pump above pump-start');
  });

  void it('follows the remote level band and pumps allowed', () => {
    const w1 = network.stations.find((st) => st.id === 'W1')!;
    const s = sim({ initialLevelsM: { W1: 2.6 } });
    s.writeSetpoint('W1', 'startLevelSpM', 3.0);
    s.writeSetpoint('W1', 'stopLevelSpM', 2.5);
    s.writeSetpoint('W1', 'pumpsAllowedSp', 2);
    let beat = 0;
    let maxRunning = 0;
    let minLevel = Number.POSITIVE_INFINITY;
    let maxLevel = 0;
    for (let i = 0; i < 12 * 60; i++) {
      s.writeSetpoint('W1', 'heartbeat', ++beat);
      s.advance(1);
      maxRunning = Math.max(maxRunning, num(s, 'W1', 'pumpsRunning'));
      minLevel = Math.min(minLevel, s.trueLevelM('W1'));
      maxLevel = Math.max(maxLevel, s.trueLevelM('W1'));
    }
    assert.equal(maxRunning, 2);
    // One step of two pumps draws at most 400/60/100 m below the stop level before the PLC sees it.
    assert.ok(minLevel > 2.5 - 0.07, `level ${minLevel} fell below the remote band`);
    assert.ok(maxLevel > 3.0 && maxLevel < w1.levels.highAlarmM, `level peaked at ${maxLevel}`);
    // Local control would have kept the level between 1 m and 2.75 m.
    assert.ok(minLevel > w1.levels.pumpStartM);
  });

  void it('ignores remote setpoints in LOCAL mode', () => {
    const remoteWrites = (s: Simulation, i: number) => {
      s.writeSetpoint('W1', 'remoteControlSp', 1);
      s.writeSetpoint('W1', 'flowSpM3h', 0);
      s.writeSetpoint('W1', 'heartbeat', i + 1);
    };
    const run = (mode: 'local' | 'remote', writes: boolean) => {
      const s = sim({ initialModes: { W1: mode }, initialLevelsM: { W1: 1.8 } });
      const levels: number[] = [];
      for (let i = 0; i < 12 * 60; i++) {
        if (writes) remoteWrites(s, i);
        s.advance(1);
        levels.push(s.trueLevelM('W1'));
      }
      return { levels, pumpedM3: s.summary().stations['W1']!.pumpedM3, remoteActive: s.readTag('W1', 'remoteActive').value };
    };
    const baseline = run('local', false);
    const localWithWrites = run('local', true);
    assert.deepEqual(localWithWrites.levels, baseline.levels);
    assert.equal(localWithWrites.pumpedM3, baseline.pumpedM3);
    assert.equal(localWithWrites.remoteActive, false);
    // The same writes do take effect in REMOTE (so the comparison above can fail).
    const remote = run('remote', true);
    assert.notDeepEqual(remote.levels, baseline.levels);
  });

  void it('gives identical results for the same seed and different ones for another seed', () => {
    const run = (seed: number) => {
      const s = createSimulation({ network, startUtcMs: START_UTC_MS, seed, rainMmPerMin: twoStorms });
      s.advance(3 * 24 * 60);
      return { summary: s.summary(), cod: s.readTag('Q-WP', 'codMgL').value, events: s.overflowEvents(), starts: s.pumpStartLog() };
    };
    const a = run(11);
    const b = run(11);
    assert.deepEqual(a, b);
    const c = run(12);
    assert.notDeepEqual(c.summary, a.summary);
  });

  void it('never starts a pump more often than maxStartsPerHour', () => {
    const tiny = (maxStartsPerHour: number): NetworkConfig => {
      const copy = structuredClone(network);
      const w1 = copy.stations.find((st) => st.id === 'W1')!;
      // A small wet well makes local control cycle its pumps every few minutes.
      w1.wetWell = { kind: 'prismatic', areaM2: 2 };
      w1.maxStartsPerHour = maxStartsPerHour;
      return copy;
    };
    const startsPerPump = (net: NetworkConfig) => {
      const s = sim({ initialModes: 'local' }, net);
      s.advance(24 * 60);
      return s.pumpStartLog().filter((x) => x.stationId === 'W1');
    };
    const maxInAnHour = (starts: { pumpId: string; atUtcMs: number }[]) => {
      let max = 0;
      for (const a of starts) {
        const inWindow = starts.filter((b) => b.pumpId === a.pumpId && b.atUtcMs >= a.atUtcMs && b.atUtcMs < a.atUtcMs + 3_600_000).length;
        max = Math.max(max, inWindow);
      }
      return max;
    };
    const unlimited = startsPerPump(tiny(60));
    assert.ok(maxInAnHour(unlimited) > 3, `without a tight limit the small well cycles (${maxInAnHour(unlimited)} starts/h)`);
    const limited = startsPerPump(tiny(3));
    assert.ok(limited.length > 0);
    assert.ok(maxInAnHour(limited) <= 3, `at most 3 starts per pump in any hour, saw ${maxInAnHour(limited)}`);
  });

  void it('counts overflow only at the overflow level and records events per station', () => {
    const s = sim({ initialModes: 'local' });
    for (const p of network.stations.find((st) => st.id === 'W2')!.pumps) s.tripPump('W2', p.id);
    let firstOverflowLevel = Number.NaN;
    for (let i = 0; i < 6 * 60 && Number.isNaN(firstOverflowLevel); i++) {
      s.advance(1);
      if (num(s, 'W2', 'overflowM3h') > 0) firstOverflowLevel = s.trueLevelM('W2');
      else assert.ok(s.trueLevelM('W2') <= 4);
    }
    assert.equal(firstOverflowLevel, network.stations.find((st) => st.id === 'W2')!.levels.overflowM);
    s.advance(60);
    const events = s.overflowEvents().filter((e) => e.objectId === 'W2');
    assert.equal(events.length, 1);
    assert.equal(s.summary().stations['W2']!.overflowEvents, 1);
    assert.ok(Math.abs(events[0]!.volumeM3 - s.summary().stations['W2']!.overflowM3) < 1e-9);
  });
});

void describe('simulator model: tags', () => {
  void it('reads measurements with their data types and rejects bad writes with a clear reason', () => {
    const s = sim();
    s.advance(10);
    assert.equal(s.readTag('W1', 'levelM').dataType, 'Double');
    assert.equal(typeof s.readTag('W1', 'remoteActive').value, 'boolean');
    assert.equal(s.readTag('W1', 'pumpStarts').dataType, 'UInt32');
    const cod = num(s, 'Q-WP', 'codMgL');
    assert.ok(cod > 250 && cod < 350, `dry-weather COD ${cod}`);
    const code = (fn: () => void) => {
      try {
        fn();
      } catch (error) {
        assert.ok(error instanceof TagAccessError);
        return error.code;
      }
      return 'accepted';
    };
    assert.equal(code(() => s.writeSetpoint('W1', 'levelM', 2)), 'ReadOnly');
    assert.equal(code(() => s.writeSetpoint('W1', 'nonsense', 2)), 'UnknownTag');
    assert.equal(code(() => s.writeSetpoint('Z9', 'levelM', 2)), 'UnknownObject');
    assert.equal(code(() => s.writeSetpoint('W1', 'pumpsAllowedSp', 1.5)), 'TypeMismatch');
    assert.equal(code(() => s.writeSetpoint('W1', 'flowSpM3h', true)), 'TypeMismatch');
    assert.equal(code(() => s.writeSetpoint('W1', 'startLevelSpM', 9)), 'OutOfRange');
    assert.equal(code(() => s.writeSetpoint('X1', 'transferSpM3h', 5000)), 'OutOfRange');
    assert.equal(code(() => s.writeSetpoint('W1', 'startLevelSpM', 2.5)), 'accepted');
    assert.equal(s.readTag('W1', 'startLevelSpM').value, 2.5);
    // A band is refused when a write would leave start within 0.05 m of stop or below it (it used to be
    // accepted and read back while the PLC silently ran start = stop + 0.05).
    assert.equal(code(() => s.writeSetpoint('W1', 'stopLevelSpM', 2.5)), 'OutOfRange');
    assert.equal(code(() => s.writeSetpoint('W1', 'stopLevelSpM', 3.0)), 'OutOfRange');
    assert.equal(code(() => s.writeSetpoint('W1', 'stopLevelSpM', 2.45)), 'accepted');
    assert.equal(code(() => s.writeSetpoint('W1', 'startLevelSpM', 1.3)), 'OutOfRange');
    assert.deepEqual([s.readTag('W1', 'startLevelSpM').value, s.readTag('W1', 'stopLevelSpM').value], [2.5, 2.45]);
    assert.throws(() => s.checkLevelBand('W1', 1.3, 3.0), /start level 1\.3 m must lie at least 0\.05 m above stop level 3 m/);
    s.checkLevelBand('W1', 1.5, 1.0);
  });

  void it('reports faults in tag quality: stuck level, flat-lined analyser, communication loss', () => {
    const s = sim({ initialModes: 'local' });
    s.setLevelSensorStuck('W1', true);
    const frozen = num(s, 'W1', 'levelM');
    s.advance(30);
    assert.equal(s.readTag('W1', 'levelM').quality, 'uncertain');
    assert.equal(num(s, 'W1', 'levelM'), frozen);
    assert.notEqual(s.trueLevelM('W1'), frozen);

    // A frozen analyser keeps reporting Good by default, as in the field; Uncertain on request.
    s.setAnalyserFlatLine('Q-W6', true);
    const flat = num(s, 'Q-W6', 'codMgL');
    s.advance(30);
    assert.equal(num(s, 'Q-W6', 'codMgL'), flat);
    assert.equal(s.readTag('Q-W6', 'codMgL').quality, 'good');
    s.setAnalyserFlatLine('Q-W6', false);
    s.setAnalyserFlatLine('Q-W6', true, 'uncertain');
    s.advance(5);
    assert.equal(s.readTag('Q-W6', 'codMgL').quality, 'uncertain');

    s.setCommunicationLoss('E1', true);
    assert.equal(s.readTag('E1', 'levelM').quality, 'bad');
    assert.throws(() => s.writeSetpoint('E1', 'heartbeat', 1), (e: unknown) => e instanceof TagAccessError && e.code === 'NoCommunication');
    s.setCommunicationLoss('E1', false);
    assert.equal(s.readTag('E1', 'levelM').quality, 'good');
  });

  void it('carries a pollution spike downstream to the plant analyser after the travel time', () => {
    const s = sim({ analyserNoiseFraction: 0 });
    s.advance(60);
    const baseline = num(s, 'Q-WP', 'codMgL');
    s.injectPollution({ nodeId: 'W5', parameter: 'codMgL', excessValue: 2000, startUtcMs: s.timeUtcMs, durationMin: 60 });
    let peak = baseline;
    let peakAtMin = 0;
    for (let i = 1; i <= 8 * 60; i++) {
      s.advance(1);
      const v = num(s, 'Q-WP', 'codMgL');
      if (v > peak) {
        peak = v;
        peakAtMin = i;
      }
    }
    assert.ok(peak > baseline + 100, `COD peak ${peak} over ${baseline}`);
    // W5 → W6 is 30 min and W6 → WP 45 min: the spike cannot reach the plant sooner.
    assert.ok(peakAtMin > 75, `peak after ${peakAtMin} min`);
  });
});

void describe('simulator clock', () => {
  void it('runs as fast as possible to the end time, yielding between chunks', async () => {
    const s = sim();
    const clock = createClock(s, { mode: 'fast', untilUtcMs: START_UTC_MS + 2 * DAY_MS, chunkBudgetMs: 5 });
    let notifications = 0;
    clock.onAdvance(() => notifications++);
    clock.start();
    await clock.finished();
    assert.equal(s.timeUtcMs, START_UTC_MS + 2 * DAY_MS);
    assert.equal(clock.running, false);
    assert.ok(notifications >= 1);
  });

  void it('paces simulated time by the speed and scales the watchdog to wall time', async () => {
    const s = sim();
    let wallMs = 1_000_000;
    const clock = createClock(s, { mode: 'paced', speed: 60, tickMs: 10 }, () => wallMs);
    clock.start();
    try {
      wallMs += 10_000; // ten wall seconds = ten simulated minutes at ×60
      await new Promise((resolve) => setTimeout(resolve, 60));
      assert.equal(s.timeUtcMs, START_UTC_MS + 10 * MIN_MS);
      // A heartbeat 100 simulated minutes ago is only 100 wall seconds old: still fresh at ×60.
      s.writeSetpoint('W1', 'heartbeat', 1);
      wallMs += 100_000;
      await new Promise((resolve) => setTimeout(resolve, 60));
      assert.equal(s.timeUtcMs, START_UTC_MS + 110 * MIN_MS);
      assert.equal(s.readTag('W1', 'remoteActive').value, true);
    } finally {
      clock.stop();
    }
  });

  void it('counts the watchdog in wall seconds under a fast clock, so a heartbeat every few seconds holds REMOTE', () => {
    const s = sim();
    let wallMs = 5_000_000;
    const clock = createClock(s, { mode: 'fast' }, () => wallMs);
    s.writeSetpoint('W1', 'heartbeat', 1);
    clock.advance(600); // ten simulated hours within the same wall second
    assert.equal(s.readTag('W1', 'remoteActive').value, true);
    wallMs += 100_000;
    clock.advance(600);
    assert.equal(s.readTag('W1', 'remoteActive').value, true, '100 wall seconds: within the 120-s watchdog');
    wallMs += 21_000;
    clock.advance(1);
    assert.equal(s.readTag('W1', 'remoteActive').value, false, '121 wall seconds without a heartbeat');
    s.writeSetpoint('W1', 'heartbeat', 2);
    clock.advance(1);
    assert.equal(s.readTag('W1', 'remoteActive').value, true);

    const simulated = sim();
    const simClock = createClock(simulated, { mode: 'fast', watchdogBasis: 'simulated' }, () => wallMs);
    simulated.writeSetpoint('W1', 'heartbeat', 1);
    simClock.advance(3);
    assert.equal(simulated.readTag('W1', 'remoteActive').value, false, "'simulated': 180 simulated seconds lapse it");
  });
});

void describe('simulator model: day calendar', () => {
  /** W1's inflow at 10:00 local on the given local date, with and without the network's day calendar (no DWF noise). */
  function inflowAt10(dateLocal: string): { withCalendar: number; plainWeekends: number } {
    const startUtcMs = Date.parse(`${dateLocal}T00:00:00+08:00`);
    const plain: NetworkConfig = { ...network, dayCalendar: undefined };
    const read = (net: NetworkConfig) => {
      const s = createSimulation({ network: net, startUtcMs, seed: 7, dwfNoiseFraction: 0 });
      s.advance(10 * 60);
      return num(s, 'W1', 'inflowM3h');
    };
    return { withCalendar: read(network), plainWeekends: read(plain) };
  }

  void it('runs statutory holidays on the weekend pattern and make-up working days on the weekday one, as the forecast does', () => {
    assert.ok(network.dayCalendar, 'the reference network lists its holidays');
    const nationalDay = inflowAt10('2026-10-01'); // a Thursday off
    const makeUpSaturday = inflowAt10('2026-10-10'); // a Saturday worked
    const plainWednesday = inflowAt10('2026-07-01');
    const plainSaturday = inflowAt10('2026-07-04');
    assert.equal(plainWednesday.withCalendar, plainWednesday.plainWeekends, 'an ordinary day is unchanged');
    assert.notEqual(plainWednesday.withCalendar, plainSaturday.withCalendar, 'the two patterns differ at 10:00');
    assert.notEqual(nationalDay.withCalendar, nationalDay.plainWeekends, 'National Day is not run as a Thursday');
    assert.notEqual(makeUpSaturday.withCalendar, makeUpSaturday.plainWeekends, 'a make-up Saturday is not run as a weekend');
    // Same pattern as the plain days of that kind, up to the monthly factor between July and October.
    const ratio = (a: number, b: number) => a / b;
    assert.ok(Math.abs(ratio(nationalDay.withCalendar, makeUpSaturday.plainWeekends) - 1) < 1e-9, 'holiday = a plain October Saturday');
    assert.ok(Math.abs(ratio(makeUpSaturday.withCalendar, nationalDay.plainWeekends) - 1) < 1e-9, 'make-up Saturday = a plain October Thursday');
  });
});
