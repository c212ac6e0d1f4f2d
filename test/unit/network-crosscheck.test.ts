// Network cross-checks that a schema cannot express: discharge paths through tanks, mains a plan would never
// use, duplicate system and DWF pattern ids, where a weir may spill, and the OPC UA tag overrides.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { referenceNetworkPath } from '../../network/load.js';
import type { Main, NetworkConfig, StorageTank } from '../../network/schema.js';
import { resolveTagMap } from '../../network/tags.js';
import { ConfigError, parseNetwork } from '../../network/validate.js';
import { exampleNetwork } from '../../planner/examples.js';

/** A → B → P1, plain. */
const base = (): NetworkConfig =>
  structuredClone(
    exampleNetwork({
      stations: [
        { id: 'A', areaM2: 50, pumpCount: 3, pumpM3h: 100, standbyPumps: 1, to: 'B', travelMin: 10 },
        { id: 'B', areaM2: 80, pumpCount: 3, pumpM3h: 300, standbyPumps: 1, to: 'P1', travelMin: 10 },
      ],
      plants: [{ id: 'P1', capacityM3h: 800 }],
    }),
  );
const tank = (id: string, kind: StorageTank['kind'], node: string, extra: Partial<StorageTank> = {}): StorageTank => ({
  id,
  name: { zh: id, en: id },
  kind,
  node,
  capacityM3: 1000,
  inletMaxM3h: 200,
  outletMaxM3h: 100,
  outletSpecificEnergyKwhM3: 0,
  envelope: { inletM3h: { min: 0, max: 200, maxChangePerMin: 20 }, outletM3h: { min: 0, max: 100, maxChangePerMin: 10 } },
  ...extra,
});
const main = (id: string, from: string, to: string): Main => ({ id, from, to, kind: 'gravity', travelMin: 5, capacityM3h: 1000 });

function problems(n: NetworkConfig): string[] {
  try {
    parseNetwork(JSON.parse(JSON.stringify(n)), 'test.json');
  } catch (error) {
    assert.ok(error instanceof ConfigError, String(error));
    return error.issues.map((i) => `${i.path} ${JSON.stringify(i.value)}: ${i.reason}`);
  }
  return [];
}

test('discharge paths are followed through tank outlet mains: a loop back upstream or no plant is refused', () => {
  const viaTank = base();
  viaTank.mains.find((m) => m.from === 'B')!.to = 'T1';
  viaTank.tanks.push(tank('T1', 'offline', 'A'));
  viaTank.mains.push(main('M-T1', 'T1', 'A'));
  assert.deepEqual(problems(viaTank), [
    '/stations/0/dischargeMainId "M-A": discharge path forms a cycle through A and never reaches a plant',
    '/stations/1/dischargeMainId "M-B": discharge path forms a cycle through B and never reaches a plant',
    '/tanks/0 "M-T1": discharge path forms a cycle through T1 and never reaches a plant',
  ]);
  // Through a tank to the plant is a path.
  const fine = base();
  fine.mains.find((m) => m.from === 'B')!.to = 'T1';
  fine.tanks.push(tank('T1', 'offline', 'B'));
  fine.mains.push(main('M-T1', 'T1', 'P1'));
  assert.deepEqual(problems(fine), []);
});

test('a second main leaving a station, or a tank, is refused: the planner would never send water down it', () => {
  const n = base();
  n.mains.push(main('M-extra', 'A', 'P1'));
  n.tanks.push(tank('T1', 'offline', 'B'));
  n.mains.push(main('M-T1a', 'T1', 'B'), main('M-T1b', 'T1', 'P1'));
  assert.deepEqual(problems(n), [
    '/mains/2/from "A": station A discharges through M-A; this second main would never be used (a station has one discharge main)',
    '/mains/4/from "T1": tank T1 already has outlet main M-T1a; a second would never be used (a tank has one outlet main)',
  ]);
});

test('duplicate system and DWF pattern ids are refused (readers picking the first and the last disagreed)', () => {
  const n = structuredClone(JSON.parse(readFileSync(referenceNetworkPath, 'utf8')) as NetworkConfig);
  n.systems.push({ id: 'west', name: { zh: '西2', en: 'West 2' } });
  n.dwfPatterns.push({ ...structuredClone(n.dwfPatterns[0]!), weekdayFactor: 2 });
  assert.deepEqual(problems(n), [`/systems/2/id "west": duplicate system id`, `/dwfPatterns/2/id "${n.dwfPatterns[0]!.id}": duplicate DWF pattern id`]);
});

test("a weir spills to another node or, with overflowTo omitted, out of the network; never into its own tank or node", () => {
  const omitted = base();
  omitted.tanks.push(tank('CS1', 'combined-sewer', 'B'));
  assert.deepEqual(problems(omitted), [], 'a combined-sewer tank spilling to a receiving water leaves overflowTo out');
  for (const [to, reason] of [
    ['CS1', 'a weir cannot spill back into its own tank'],
    ['B', "a weir cannot spill back into the tank's own node"],
    ['RIVER1', 'unknown station, tank or plant (omit overflowTo when the weir spills to a receiving water, out of the network)'],
  ] as const) {
    const n = base();
    n.tanks.push(tank('CS1', 'combined-sewer', 'B', { overflowTo: to }));
    assert.deepEqual(problems(n), [`/tanks/0/overflowTo "${to}": ${reason}`]);
  }
  const toPlant = base();
  toPlant.tanks.push(tank('CS1', 'combined-sewer', 'B', { overflowTo: 'P1' }));
  assert.deepEqual(problems(toPlant), []);
});

test('tag overrides: a misspelt tag name and a NodeId shared by two tags are refused, with the valid names and both owners', () => {
  const n = structuredClone(JSON.parse(readFileSync(referenceNetworkPath, 'utf8')) as NetworkConfig);
  n.stations[0]!.tags = { levelm: 'ns=2;s=PLC.W1.LT101', flowSpM3h: 'ns=2;s=PLC.W1.FIC101' };
  n.stations[1]!.tags = { flowSpM3h: 'ns=2;s=PLC.W1.FIC101' };
  n.tanks[0]!.tags = { heartbeat: 'ns=2;s=T1.hb' };
  // The template's own NodeId of another tag, taken by an override.
  n.plants[0]!.tags = { inflowM3h: 'ns=1;s=W3.levelM' };
  const found = problems(n);
  assert.equal(found.length, 4, found.join('\n'));
  assert.match(found[0]!, /^\/stations\/0\/tags\/levelm "levelm": not a station tag; valid names: levelM, inflowM3h, .*flowSpM3h/);
  assert.equal(found[1], '/stations/1/tags/flowSpM3h "ns=2;s=PLC.W1.FIC101": NodeId of W2.flowSpM3h is already the NodeId of W1.flowSpM3h');
  assert.match(found[2]!, /^\/tanks\/0\/tags\/heartbeat "heartbeat": not a tank tag; valid names: levelM, volumeM3, /);
  assert.equal(found[3], '/plants/0/tags/inflowM3h "ns=1;s=W3.levelM": NodeId of WP.inflowM3h is already the NodeId of W3.levelM');

  // A correct override passes and resolves.
  const good = structuredClone(JSON.parse(readFileSync(referenceNetworkPath, 'utf8')) as NetworkConfig);
  good.stations[0]!.tags = { levelM: 'ns=2;s=PLC.W1.LT101' };
  const parsed = parseNetwork(good, 'good.json');
  assert.equal(resolveTagMap(parsed).find((t) => t.objectId === 'W1' && t.tag === 'levelM')!.nodeId, 'ns=2;s=PLC.W1.LT101');
});
