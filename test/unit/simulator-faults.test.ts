// Timed faults for the running twin (simulator/faults.ts, main.ts --faults): checked against the network,
// applied once each when the simulated clock reaches them.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadNetworkFile, referenceNetworkPath } from '../../network/load.js';
import { StationMode } from '../../network/tags.js';
import { faultApplier, parseFaultScript } from '../../simulator/faults.js';
import { createSimulation } from '../../simulator/model.js';

const network = await loadNetworkFile(referenceNetworkPath);
const START_UTC_MS = Date.UTC(2026, 6, 1);

void describe('simulator fault script', () => {
  void it('refuses a bad file with the event and field named', () => {
    assert.throws(() => parseFaultScript({}, network), /JSON array/);
    assert.throws(() => parseFaultScript([{ atMin: 5, action: 'tripPump', stationId: 'W9', pumpId: 'P1' }], network), /event 0 \(tripPump\): unknown stationId "W9"/);
    assert.throws(() => parseFaultScript([{ atMin: 0, action: 'floodSeason', on: true }, { atMin: -1, action: 'floodSeason', on: true }], network), /event 1 \(floodSeason\): atMin must be a number ≥ 0/);
    assert.throws(() => parseFaultScript([{ atMin: 1, action: 'explode' }], network), /event 0: unknown action "explode"/);
    assert.throws(() => parseFaultScript([{ atMin: 1, action: 'mode', stationId: 'W1', mode: 'auto' }], network), /unknown mode "auto"/);
  });

  void it('applies each event once when the simulated time reaches it', () => {
    const sim = createSimulation({ network, startUtcMs: START_UTC_MS, seed: 1 });
    const events = parseFaultScript(
      [
        { atMin: 30, action: 'tripPump', stationId: 'W1', pumpId: 'P1' },
        { atMin: 10, action: 'mode', stationId: 'W6', mode: 'local' },
        { atMin: 10, action: 'analyserFlatLine', analyserId: 'Q-WP', flat: true },
      ],
      network,
    );
    const apply = faultApplier(sim, events, START_UTC_MS);
    assert.deepEqual(apply(), []);
    sim.advance(9);
    assert.deepEqual(apply(), []);
    assert.equal(sim.readTag('W6', 'mode').value, StationMode.remote);
    sim.advance(1);
    assert.deepEqual(apply().map((e) => e.action), ['mode', 'analyserFlatLine']);
    assert.equal(sim.readTag('W6', 'mode').value, StationMode.local, 'W6 switched to LOCAL');
    assert.equal(sim.readTag('Q-WP', 'codMgL').quality, 'good', 'a frozen analyser reports Good by default');
    const pumpsBefore = sim.readTag('W1', 'pumpsAvailable').value as number;
    sim.advance(25); // one late advance past the trip time
    assert.deepEqual(apply().map((e) => e.action), ['tripPump']);
    assert.equal(sim.readTag('W1', 'pumpsAvailable').value, pumpsBefore - 1);
    sim.advance(60);
    assert.deepEqual(apply(), [], 'nothing applied twice');
  });
});
