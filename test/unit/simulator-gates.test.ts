// Interconnection and tank gates in the twin: they follow dispatch only while it holds the stations (REMOTE
// and a live heartbeat), and PLC interlocks stop a transfer or tank pump that would drain a well below its stop
// level or fill a well at its high alarm.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadNetworkFile, referenceNetworkPath } from '../../network/load.js';
import { createSimulation } from '../../simulator/model.js';
import type { Simulation } from '../../simulator/model.js';
import { scenarioRain } from '../../simulator/rain-adapter.js';

const network = await loadNetworkFile(referenceNetworkPath);
const START_UTC_MS = Date.UTC(2026, 5, 30, 16);

function num(s: Simulation, id: string, tag: string): number {
  const v = s.readTag(id, tag).value;
  assert.equal(typeof v, 'number', `${id}.${tag}`);
  return v as number;
}

/** Dispatch's heartbeat to the given stations, one beat per simulated minute. */
function heartbeats(s: Simulation, ids: readonly string[]): () => void {
  let beat = 0;
  return () => {
    beat++;
    for (const id of ids) s.writeSetpoint(id, 'heartbeat', beat);
  };
}

/** Minutes of simulation with the heartbeat written before each. */
function run(s: Simulation, beat: () => void, minutes: number): void {
  for (let m = 0; m < minutes; m++) {
    beat();
    s.step();
  }
}

void describe('simulator model: interconnection and tank gates', () => {
  void it('closes X1 when an end switches to LOCAL or the heartbeat lapses', () => {
    const s = createSimulation({ network, startUtcMs: START_UTC_MS, seed: 1 });
    const beat = heartbeats(s, ['W6', 'E4']);
    s.writeSetpoint('X1', 'transferSpM3h', 300);
    run(s, beat, 30);
    assert.equal(num(s, 'X1', 'transferM3h'), 300, 'dispatch holds both ends: the transfer runs');
    s.setMode('W6', 'local');
    run(s, beat, 5);
    assert.equal(num(s, 'X1', 'transferM3h'), 0, 'W6 in LOCAL');
    s.setMode('W6', 'remote');
    run(s, beat, 5);
    assert.equal(num(s, 'X1', 'transferM3h'), 300, 'back in REMOTE with a heartbeat');
    s.advance(10); // no heartbeat: the 120-s watchdog lapses
    assert.equal(s.readTag('W6', 'remoteActive').value, false);
    assert.equal(num(s, 'X1', 'transferM3h'), 0, 'watchdog lapsed');
    assert.equal(num(s, 'X1', 'transferSpM3h'), 300, 'the setpoint is kept (dispatch sees what it wrote)');
  });

  void it('stops a transfer at the source well\'s stop level, not below it', () => {
    const s = createSimulation({ network, startUtcMs: START_UTC_MS, seed: 1 });
    const beat = heartbeats(s, ['W6', 'E4']);
    s.writeSetpoint('X1', 'transferSpM3h', 1200);
    const stopM = num(s, 'W6', 'stopLevelSpM');
    let minLevel = Infinity;
    let movedM3 = 0;
    for (let m = 0; m < 10 * 60; m++) {
      beat();
      s.step();
      minLevel = Math.min(minLevel, s.trueLevelM('W6'));
      movedM3 += num(s, 'X1', 'transferM3h') / 60;
    }
    assert.ok(movedM3 > 1000, `the transfer ran (${movedM3.toFixed(0)} m3)`);
    // One step of 1,200 m3/h from the W6 well may pass the stop level before the interlock sees it.
    assert.ok(minLevel >= stopM - 0.05, `W6 went down to ${minLevel.toFixed(3)} m, stop level ${stopM} m`);
  });

  void it('keeps the T1 return pump and X1 off a well at its high alarm (typhoon, dispatch alive)', () => {
    const { rainMmPerMin } = scenarioRain('typhoon', START_UTC_MS);
    const s = createSimulation({ network, startUtcMs: START_UTC_MS, seed: 1, rainMmPerMin, initialTankVolumesM3: { T1: 30_000 } });
    const beat = heartbeats(s, ['W6', 'E4', 'E8']);
    s.writeSetpoint('T1', 'outletSpM3h', 800);
    s.writeSetpoint('X1', 'transferSpM3h', 600);
    const e8 = network.stations.find((st) => st.id === 'E8')!.levels.highAlarmM;
    const e4 = network.stations.find((st) => st.id === 'E4')!.levels.highAlarmM;
    let returned = 0;
    let transferred = 0;
    let e8High = 0;
    let e4High = 0;
    const violations: string[] = [];
    const minutes = Math.round((Date.UTC(2026, 6, 3, 12) - START_UTC_MS) / 60_000);
    for (let m = 0; m < minutes; m++) {
      beat();
      const e8AtAlarm = num(s, 'E8', 'levelM') >= e8;
      const e4AtAlarm = num(s, 'E4', 'levelM') >= e4;
      s.step();
      const ret = num(s, 'T1', 'outletM3h');
      const x = num(s, 'X1', 'transferM3h');
      if (ret > 0) returned++;
      if (x > 0) transferred++;
      if (e8AtAlarm) e8High++;
      if (e4AtAlarm) e4High++;
      if (e8AtAlarm && ret > 0) violations.push(`T1 return ${ret} m3/h into E8 at its alarm, ${new Date(s.timeUtcMs).toISOString()}`);
      if (e4AtAlarm && x > 0) violations.push(`X1 ${x} m3/h into E4 at its alarm, ${new Date(s.timeUtcMs).toISOString()}`);
    }
    assert.ok(returned > 0 && transferred > 0, `both ran at times (return ${returned} min, transfer ${transferred} min)`);
    assert.ok(e8High > 0 && e4High > 0, `both wells reached their alarm (E8 ${e8High} min, E4 ${e4High} min)`);
    assert.deepEqual(violations.slice(0, 5), []);
  });
});
