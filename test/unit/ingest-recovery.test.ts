// Ingest after trouble: flags a previous run left active are cleared by the first value that shows them gone,
// the network clock follows a server whose time went back (no flat-line storm), and flags and gaps carry
// Chinese next to English.
import assert from 'node:assert/strict';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { silentLogger as silent } from '../../ingest/log.js';
import { NetworkClock } from '../../ingest/network-clock.js';
import { SensorQualityMonitor, type SensorFlag } from '../../ingest/quality.js';
import { TelemetryEncoder, ingestTags } from '../../ingest/service.js';
import { readPreviousRun, writeStateFile } from '../../ingest/state.js';
import { loadNetworkFile, referenceNetworkPath } from '../../network/load.js';

const network = await loadNetworkFile(referenceNetworkPath);
const tags = ingestTags(network);
const indexOf = (objectId: string, tag: string) => tags.findIndex((t) => t.objectId === objectId && t.tag === tag);
const T0 = Date.UTC(2026, 11, 8);
const MIN = 60_000;

let dir: string;
beforeEach(async () => {
  dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'ingest-recovery-'));
});
afterEach(async () => {
  await fsp.rm(dir, { recursive: true, force: true });
});

const flag = (objectId: string, tag: string, kind: SensorFlag['kind'], sinceUtcMs: number, value?: number): SensorFlag => ({
  objectId,
  objectKind: '',
  tag,
  kind,
  sinceUtcMs,
  detail: 'from the previous run',
  detailZh: '上一次运行',
  ...(value !== undefined ? { value } : {}),
});

describe('flags left active by the previous run', () => {
  test('the first Good value clears a restored bad_status flag, after its raise', () => {
    const m = new SensorQualityMonitor(network, tags);
    assert.deepEqual(m.restore([flag('W1', 'levelM', 'bad_status', T0)], T0), []);
    assert.equal(m.active().length, 1, 'held until a value of the tag arrives');
    const changes = m.observe({ index: indexOf('W1', 'levelM'), value: 1.3, statusCode: 'Good', severity: 'good', timeUtcMs: T0 + MIN, clockSkewMs: null });
    assert.deepEqual(
      changes.map((c) => [c.flag.kind, c.active, c.atUtcMs]),
      [['bad_status', false, T0 + MIN]],
    );
    assert.equal(m.active().length, 0);
    const line = new TelemetryEncoder(tags).flagLine(changes[0]!);
    assert.match(line, /^sensor_flag,kind=bad_status,object=W1,tag=levelM active=false,/);
  });

  test('a restored flat line stays while the value sits where it was, and is cleared when it moves', () => {
    const m = new SensorQualityMonitor(network, tags);
    const i = indexOf('Q-WP', 'codMgL');
    m.restore([flag('Q-WP', 'codMgL', 'flatline', T0, 250)], T0);
    const same = m.observe({ index: i, value: 250, statusCode: 'Good', severity: 'good', timeUtcMs: T0 + 10 * MIN, clockSkewMs: null });
    assert.deepEqual(same, [], 'still stuck at 250: the flag stays');
    assert.deepEqual(m.tick(), [], 'and the flat-line check agrees');
    assert.deepEqual(
      m.active().map((f) => f.kind),
      ['flatline'],
    );
    const moved = m.observe({ index: i, value: 260, statusCode: 'Good', severity: 'good', timeUtcMs: T0 + 11 * MIN, clockSkewMs: null });
    assert.deepEqual(
      moved.map((c) => [c.flag.kind, c.active]),
      [['flatline', false]],
    );
  });

  test('flags of tags no longer monitored are cleared at once', () => {
    const m = new SensorQualityMonitor(network, tags);
    const clears = m.restore([flag('GONE', 'levelM', 'out_of_range', T0 + 5 * MIN)], T0);
    assert.deepEqual(
      clears.map((c) => [c.flag.objectId, c.active, c.atUtcMs]),
      [['GONE', false, T0 + 5 * MIN + 1]],
    );
  });

  test('state.json carries flags and the last network time to the next run (InfluxDB unreachable)', async () => {
    writeStateFile(dir, { version: 1, wallUtcMs: T0 + 5000, networkUtcMs: T0, networkAtWallUtcMs: T0 + 4000, running: true, flags: [flag('W1', 'levelM', 'bad_status', T0)] });
    const unreachable = { query: () => Promise.reject(new Error('connect ECONNREFUSED')) };
    const run = await readPreviousRun(dir, unreachable, silent);
    assert.deepEqual([run.networkUtcMs, run.wallUtcMs, run.crashed, run.flags.length, run.sources], [T0, T0 + 4000, true, 1, ['state.json']]);
  });

  test('InfluxDB and state.json together: active flags of either, cleared ones not, the newest time', async () => {
    writeStateFile(dir, { version: 1, wallUtcMs: T0, networkUtcMs: T0 - MIN, networkAtWallUtcMs: T0, running: false, flags: [flag('W2', 'levelM', 'flatline', T0 - 9 * MIN, 1.5)] });
    const influx = {
      query: (q: string) =>
        Promise.resolve(
          q.includes('sensor_flag')
            ? [
                { name: 'sensor_flag', tags: { object: 'W1', tag: 'levelM', kind: 'out_of_range' }, columns: ['time', 'active', 'detail', 'detailZh', 'value'], values: [[T0 - 2 * MIN, true, 'value 9 outside [0, 5]', '读数 9 超出合理范围 [0, 5]', 9]] },
                { name: 'sensor_flag', tags: { object: 'W3', tag: 'levelM', kind: 'bad_status' }, columns: ['time', 'active', 'detail'], values: [[T0 - 3 * MIN, false, '']] },
              ]
            : [{ name: 'ingest_heartbeat', tags: {}, columns: ['time', 'networkUtcMs'], values: [[T0 + 10_000, T0 + 5 * MIN]] }],
        ),
    };
    const run = await readPreviousRun(dir, influx, silent);
    assert.deepEqual(run.flags.map((f) => `${f.objectId}/${f.tag}/${f.kind}`).sort(), ['W1/levelM/out_of_range', 'W2/levelM/flatline']);
    assert.equal(run.flags.find((f) => f.objectId === 'W1')!.value, 9);
    assert.deepEqual([run.networkUtcMs, run.wallUtcMs], [T0 + 5 * MIN, T0 + 10_000]);
  });
});

describe('network time going back (a simulator restarted at an earlier hour, a SCADA clock stepped back)', () => {
  test('no flat-line storm: the clock follows the tags back and the anchors move with it', () => {
    const m = new SensorQualityMonitor(network, tags);
    const watched = tags.map((t, i) => ({ t, i })).filter(({ t }) => t.access === 'read');
    let raised = 0;
    // 10 hours of values that all move, one every 10 minutes.
    for (let step = 0; step <= 60; step++) {
      for (const { i } of watched) m.observe({ index: i, value: 1 + ((step + i) % 7) * 0.1, statusCode: 'Good', severity: 'good', timeUtcMs: T0 + step * 10 * MIN, clockSkewMs: null });
      raised += m.tick().filter((c) => c.active).length;
    }
    assert.equal(raised, 0, 'values that move raise nothing');
    // The server comes back at T0: its values start again from there, and keep moving.
    for (let step = 0; step <= 5; step++) {
      for (const { i } of watched) m.observe({ index: i, value: 2 + ((step + i) % 5) * 0.1, statusCode: 'Good', severity: 'good', timeUtcMs: T0 + step * MIN, clockSkewMs: null });
      raised += m.tick().filter((c) => c.active && c.flag.kind === 'flatline').length;
    }
    assert.equal(raised, 0, 'no flat-line flag for sensors that changed a minute ago');
    assert.equal(m.nowUtcMs, T0 + 5 * MIN, 'network time is the server time again');
    assert.equal(m.clockResets, 1);
  });

  test('a sensor stuck before the jump is still judged by how long it has been still', () => {
    const m = new SensorQualityMonitor(network, tags, { analyserFlatLineMs: 30 * MIN });
    const stuck = indexOf('Q-WP', 'codMgL');
    const others = tags.map((t, i) => ({ t, i })).filter(({ t, i }) => t.access === 'read' && i !== stuck);
    m.observe({ index: stuck, value: 250, statusCode: 'Good', severity: 'good', timeUtcMs: T0 + 10 * 60 * MIN - 20 * MIN, clockSkewMs: null });
    for (const { i } of others) m.observe({ index: i, value: i, statusCode: 'Good', severity: 'good', timeUtcMs: T0 + 10 * 60 * MIN, clockSkewMs: null });
    assert.deepEqual(m.tick(), [], '20 min still: not yet');
    for (const { i } of others) m.observe({ index: i, value: i + 1, statusCode: 'Good', severity: 'good', timeUtcMs: T0 + 15 * MIN, clockSkewMs: null });
    assert.deepEqual(m.tick(), [], 'right after the jump: still 20 min, not 10 h the wrong way');
    for (const { i } of others) m.observe({ index: i, value: i + 2, statusCode: 'Good', severity: 'good', timeUtcMs: T0 + 26 * MIN, clockSkewMs: null });
    assert.deepEqual(
      m.tick().map((c) => [c.flag.objectId, c.flag.tag, c.active]),
      [['Q-WP', 'codMgL', true]],
      '31 min still in all: flagged',
    );
  });

  test('one tag going back does not move the clock', () => {
    const clock = new NetworkClock(4);
    for (let i = 0; i < 4; i++) clock.advance(i, T0 + 60 * MIN, 0);
    assert.equal(clock.advance(0, T0, 1), 0);
    assert.equal(clock.nowUtcMs, T0 + 60 * MIN);
    assert.equal(clock.advance(1, T0 + 61 * MIN, 2), 0);
    assert.equal(clock.nowUtcMs, T0 + 61 * MIN);
  });
});

describe('flags and gaps in Chinese and English', () => {
  test('sensor_flag carries detailZh and the reading; ingest_gap carries detailZh', () => {
    const m = new SensorQualityMonitor(network, tags, { ranges: { 'W1/levelM': { min: 0, max: 0.5 } } });
    const [raised] = m.observe({ index: indexOf('W1', 'levelM'), value: 2, statusCode: 'Good', severity: 'good', timeUtcMs: T0, clockSkewMs: null });
    const enc = new TelemetryEncoder(tags);
    assert.equal(enc.flagLine(raised!), `sensor_flag,kind=out_of_range,object=W1,tag=levelM active=true,detail="value 2 outside [0, 0.5]",detailZh="读数 2 超出合理范围 [0, 0.5]",value=2 ${T0}`);
    const gap = enc.gapLine({ reason: 'ingest-stopped', startUtcMs: T0, endUtcMs: T0 + MIN, startWallUtcMs: 0, endWallUtcMs: 1, items: tags.map((_, i) => i), open: false, detail: 'ingest was not running' });
    assert.match(gap, /detailZh="采集服务未运行（重启、升级或崩溃），期间无数据"/);
  });
});

