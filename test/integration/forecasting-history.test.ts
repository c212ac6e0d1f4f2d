// Station history for dry-weather learning, read from a real InfluxDB 1.8: faulty flow (zero, flat-lined,
// flagged by ingest in sensor_flag) is missing rather than a sample; a station below an upstream station
// without flow telemetry has no local inflow (rather than the upstream flow counted as its own); and the
// inflow cycle refuses a learned profile far from the configured one, saying why in the station's flags.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createInfluxConnector, type InfluxConnector, type SeriesPoint } from '../../connectors/influx.js';
import { createOpenMeteoConnector } from '../../connectors/openmeteo.js';
import { startForecastServer, type ForecastServer } from '../../forecast-server/server.js';
import { loadNetworkFile, referenceNetworkPath } from '../../network/load.js';
import { MS_PER_DAY, MS_PER_H, MS_PER_MIN } from '../../forecasting/calendar.js';
import { createInflowCycle } from '../../forecasting/cycle.js';
import { readStationHistory, writeObservedRain } from '../../forecasting/history.js';
import { modelsFromNetwork } from '../../forecasting/inflow.js';
import { createRainSource } from '../../forecasting/rain-source.js';
import { startTestServers, type TestServers } from '../support/servers.js';

const network = await loadNetworkFile(referenceNetworkPath);
/** Local midnight, Wednesday 1 July 2026 (no holiday near). */
const START_UTC_MS = Date.UTC(2026, 5, 30, 16);
/** Flow that moves like sewage (never repeating exactly). */
const wavy = (base: number, t: number) => base * (1 + 0.2 * Math.sin((2 * Math.PI * t) / MS_PER_DAY) + 0.01 * Math.sin(t / 7_000_000));

void describe('station history and learning on faulty telemetry (InfluxDB)', () => {
  let servers: TestServers;
  let influx: InfluxConnector;
  let forecastServer: ForecastServer | undefined;

  before(async () => {
    servers = await startTestServers({ temporal: false });
    influx = createInfluxConnector({ url: servers.influx.url, token: servers.influx.token, org: '-', bucket: servers.influx.database, database: servers.influx.database });
  });
  after(async () => {
    await forecastServer?.close();
    await servers?.stop();
  });

  void it('reads zero, flat-lined and ingest-flagged flow as missing, and no local inflow below an unmetered upstream station', async () => {
    const from = START_UTC_MS;
    const to = from + 2 * MS_PER_DAY;
    const points: SeriesPoint[] = [];
    const station = (id: string, t: number, fields: Record<string, number>) => points.push({ measurement: 'station', tags: { id }, fields, timeUtcMs: t });
    for (let t = from; t < to; t += 5 * MS_PER_MIN) {
      station('W1', t, { levelM: 1.2 }); // level only: no flow meters
      station('W2', t, { inflowM3h: wavy(150, t), outflowM3h: wavy(150, t) });
      station('W3', t, { inflowM3h: wavy(462, t), outflowM3h: wavy(462, t) });
      station('W4', t, { inflowM3h: t < from + MS_PER_DAY ? 0 : wavy(125, t), outflowM3h: 0 }); // not in service the first day
      station('W7', t, { inflowM3h: t < from + 8 * MS_PER_H ? 88.5 : wavy(100, t) }); // stuck for the first 8 h
      station('E1', t, { inflowM3h: wavy(1000, t) });
      station('E3', t, { inflowM3h: wavy(330, t) });
      station('E5', t, { inflowM3h: wavy(130, t) });
    }
    // Ingest's flags (ingest/service.ts flagLine): E1's inflow flat from 07:00 (raised at 10:00 after its 3 h
    // window, cleared at 14:00); E3's out of range since before the window until 03:00.
    const flag = (object: string, tag: string, kind: string, active: boolean, detail: string, t: number): SeriesPoint => ({
      measurement: 'sensor_flag',
      tags: { kind, object, tag },
      fields: { active, detail },
      timeUtcMs: t,
    });
    points.push(
      flag('E1', 'inflowM3h', 'flatline', true, 'no change beyond 0.001 for 180 min (value 1000)', from + 10 * MS_PER_H),
      flag('E1', 'inflowM3h', 'flatline', false, 'no change beyond 0.001 for 420 min (value 1000)', from + 14 * MS_PER_H),
      flag('E3', 'inflowM3h', 'out_of_range', true, 'value 99999 outside [0, 6000]', from - 5 * MS_PER_H),
      flag('E3', 'inflowM3h', 'out_of_range', false, '', from + 3 * MS_PER_H),
      flag('E5', 'inflowM3h', 'clock_skew', true, 'source clock 10 min ahead', from + 2 * MS_PER_H), // values still good
    );
    await influx.write(points);

    const history = await readStationHistory(influx, network, { fromUtcMs: from, toUtcMs: to, stepMin: 60 });
    const nulls = (values: readonly (number | null)[]) => values.flatMap((v, i) => (v === null ? [i] : []));
    const range = (a: number, b: number) => Array.from({ length: b - a }, (_, i) => a + i);

    // W3 = W1 + W2 + its own: W1 unmetered, so W3's own flow is unknown (before: 462 − 150 ≈ 312 m³/h "local").
    assert.deepEqual(nulls(history.localInflowM3h['W3']!), range(0, 48), String(history.localInflowM3h['W3']!.slice(0, 3)));
    assert.match(history.localInflowNotes['W3'] ?? '', /上游泵站W1无出水流量遥测.* \/ upstream station W1 has no outflow telemetry/);
    assert.equal(nulls(history.localInflowM3h['W2']!).length, 0);

    assert.deepEqual(nulls(history.inflowM3h['W4']!), range(0, 24), 'a station reading zero is missing, not dry');
    assert.deepEqual(history.faultySteps['W4'], { zero: 24, flat: 0, flagged: 0 });
    assert.deepEqual(nulls(history.inflowM3h['W7']!), range(0, 8), 'a stuck transmitter is missing');
    assert.deepEqual(history.faultySteps['W7'], { zero: 0, flat: 8, flagged: 0 });
    assert.deepEqual(nulls(history.inflowM3h['E1']!), range(7, 14), 'flat-line flag: its window before the raise, to the clear');
    assert.deepEqual(history.faultySteps['E1'], { zero: 0, flat: 0, flagged: 7 });
    assert.deepEqual(nulls(history.inflowM3h['E3']!), range(0, 3), 'a flag raised before the window counts from its start');
    assert.equal(nulls(history.inflowM3h['E5']!).length, 0, 'clock_skew does not make a value unusable');
  });

  void it('the cycle refuses a learned profile twice the configured level, and the station\'s forecast flags say why', async () => {
    const from = START_UTC_MS + 10 * MS_PER_DAY;
    const days = 10;
    const nowUtcMs = from + days * MS_PER_DAY + 5 * MS_PER_MIN;
    const configured = modelsFromNetwork(network);
    const w2 = configured.find((m) => m.stationId === 'W2')!.dwf;
    const e5 = configured.find((m) => m.stationId === 'E5')!.dwf;
    const points: SeriesPoint[] = [];
    for (let t = from; t < from + days * MS_PER_DAY; t += 15 * MS_PER_MIN) {
      const h = new Date(t + 8 * MS_PER_H).getUTCHours();
      const weekend = [0, 6].includes(new Date(t + 8 * MS_PER_H).getUTCDay());
      const noise = 1 + 0.01 * Math.sin(t / 5_000_000);
      // W2 reads twice its configured flow (a meter scaled wrong); E5 reads what its pattern says.
      points.push({ measurement: 'station', tags: { id: 'W2' }, fields: { inflowM3h: 2 * (weekend ? w2.weekendM3h : w2.weekdayM3h)[h]! * noise }, timeUtcMs: t });
      points.push({ measurement: 'station', tags: { id: 'E5' }, fields: { inflowM3h: (weekend ? e5.weekendM3h : e5.weekdayM3h)[h]! * noise }, timeUtcMs: t });
      points.push({ measurement: 'station', tags: { id: 'W1' }, fields: { levelM: 1.2 }, timeUtcMs: t });
      points.push({ measurement: 'station', tags: { id: 'W3' }, fields: { inflowM3h: 500 * noise }, timeUtcMs: t });
    }
    await influx.write(points);
    const dry = { startUtcMs: from - 3 * MS_PER_DAY, stepMin: 60, values: new Array<number>((days + 3) * 24).fill(0) };
    await writeObservedRain(influx, { 'C-W2': dry, 'C-W3': dry, 'C-E5': dry });

    forecastServer = await startForecastServer({ scenario: 'dry-week', scenarioStartUtcMs: from, seed: 1, ensembleMembers: 3, nowUtcMs: () => nowUtcMs });
    const connector = createOpenMeteoConnector({
      forecastUrl: `${forecastServer.url}/v1/forecast`,
      ensembleUrl: `${forecastServer.url}/v1/ensemble`,
      archiveUrl: `${forecastServer.url}/v1/archive`,
      retries: 0,
      nowUtcMs: () => nowUtcMs,
    });
    const cycle = createInflowCycle({
      network,
      influx,
      rain: createRainSource({ connector, locations: network, horizonH: 24, nowUtcMs: () => nowUtcMs }),
      now: () => nowUtcMs,
      write: false,
      // Ten days hold 2–3 dry weekend days: the day minimum is lowered so that the level decides here.
      dwfLearning: { historyDays: days, stepMin: 60, options: { minAcceptedDryDaysPerType: 2 } },
    });
    const report = await cycle.refreshModels();
    const of = (id: string) => report.find((r) => r.stationId === id)!;
    assert.equal(of('E5').source, 'learned', of('E5').detail);
    assert.equal(of('W2').source, 'configured');
    assert.match(of('W2').detail, /W2学习的旱季流量不采用：周均.*为管网文件模式.*的20\d%/);
    assert.match(of('W2').detail, /learned dry-weather flow at W2 not used: its weekly mean [\d.]+ m³\/h is 20\d % of the network file's [\d.]+ m³\/h \(accepted 50–150 %\)/);
    assert.equal(of('W3').source, 'configured');
    assert.match(of('W3').detail, /upstream station W1 has no outflow telemetry/);
    // The configured models in use follow the network's day calendar.
    assert.equal(cycle.models().models.find((m) => m.stationId === 'W2')!.dwf.dayCalendar, network.dayCalendar);

    const issued = await cycle.issue();
    const flags = (id: string) => issued.inflow.stations.find((s) => s.stationId === id)!.flags.join(' | ');
    assert.match(flags('W2'), /learned dry-weather flow at W2 not used: its weekly mean/);
    assert.match(flags('W3'), /上游泵站W1无出水流量遥测/);
    assert.doesNotMatch(flags('E5'), /not used|network file pattern/);
  });
});
