// Rain for planning (last good forecast, stale and fallback with an injectable clock, gaps, time-zone
// mistakes, coordinates) and the inflow forecast built on it (components, ordered quantiles, ensemble
// coverage, RDII state from past rain, plant aggregation).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { LocationEnsemble, LocationForecast, OpenMeteoConnector } from '../../connectors/openmeteo.js';
import { loadNetworkFile, referenceNetworkPath } from '../../network/load.js';
import { createRainScenario, perturbForecast, rainSeries, type RainScenario } from '../../scenarios/rain.js';
import { createCalendar, MS_PER_H, MS_PER_MIN } from '../../forecasting/calendar.js';
import { dwfSeries } from '../../forecasting/dwf.js';
import { forecastInflow, modelsFromNetwork, plantInflowForecast, toPlannerInflow, type InflowRainInput } from '../../forecasting/inflow.js';
import { activityRainForecastSource, createRainSource, fetchArchiveRain, checkTimeAxis, toActivityRainForecast, type PlanningRain, type RainFallback } from '../../forecasting/rain-source.js';
import { plantRoutes } from '../../forecasting/routing.js';
import { coverage } from '../../forecasting/series.js';

const network = await loadNetworkFile(referenceNetworkPath);
const T0 = Date.UTC(2026, 6, 1, 2, 20); // 10:20 local
const STEP_MS = 15 * MS_PER_MIN;
const calendar = createCalendar(network.timezone);

/** A fake Open-Meteo: rain(id, endUtcMs, stepMin) per step (null = NaN on the wire), controllable failures. */
function fakeConnector(clock: () => number, rain: (id: string, endUtcMs: number, stepMin: number, member: number) => number | null) {
  const control = { fail: null as string | null, timeShiftMs: 0, hoursServed: null as number | null, calls: 0 };
  /** Labels of `steps` steps from the current one (plus `pastHours` before it), as Open-Meteo's forecast_hours / past_hours. */
  const axis = (stepMin: number, steps: number, pastHours = 0) => {
    const stepMs = stepMin * MS_PER_MIN;
    steps += (pastHours * 60) / stepMin;
    const first = Math.floor(clock() / stepMs) * stepMs + control.timeShiftMs - pastHours * 60 * MS_PER_MIN;
    return Array.from({ length: steps }, (_, i) => first + i * stepMs);
  };
  const series = (id: string, times: number[], stepMin: number, member: number) => {
    const values = times.map((t) => rain(id, t - control.timeShiftMs, stepMin, member));
    return { values, gaps: values.filter((v) => v === null).length };
  };
  const connector: OpenMeteoConnector = {
    fetchPrecipitationForecast(locations, { hours, pastHours = 0, includeMinutely15 }) {
      control.calls++;
      if (control.fail) return Promise.reject(new Error(control.fail));
      const served = control.hoursServed ?? hours;
      const out: Record<string, LocationForecast> = {};
      for (const l of locations) {
        const hourly = axis(60, served, pastHours);
        const h = series(l.id, hourly, 60, 0);
        out[l.id] = {
          locationId: l.id,
          latDeg: l.latDeg,
          lonDeg: l.lonDeg,
          elevationM: 3,
          model: 'fake',
          issuedAtUtcMs: clock(),
          hourly: { timeUtcMs: hourly, stepMin: 60, precipitationMm: h.values, precipitationProbabilityPct: h.values.map(() => 50), gaps: h.gaps },
        };
        if (includeMinutely15) {
          const m15 = axis(15, served * 4, pastHours);
          const m = series(l.id, m15, 15, 0);
          out[l.id]!.minutely15 = { timeUtcMs: m15, stepMin: 15, precipitationMm: m.values, gaps: m.gaps };
        }
      }
      return Promise.resolve(out);
    },
    fetchEnsemble(locations, { hours }) {
      control.calls++;
      if (control.fail) return Promise.reject(new Error(control.fail));
      const out: Record<string, LocationEnsemble> = {};
      for (const l of locations) {
        const hourly = axis(60, control.hoursServed ?? hours);
        const members = [0, 1, 2, 3].map((member) => {
          const s = series(l.id, hourly, 60, member);
          return { member, precipitationMm: s.values, gaps: s.gaps };
        });
        out[l.id] = {
          locationId: l.id,
          latDeg: l.latDeg,
          lonDeg: l.lonDeg,
          elevationM: 3,
          model: 'fake_ens',
          issuedAtUtcMs: clock(),
          hourly: { timeUtcMs: hourly, stepMin: 60, members, gaps: members.reduce((a, m) => a + m.gaps, 0) },
        };
      }
      return Promise.resolve(out);
    },
    fetchArchive: () => Promise.reject(new Error('not used')),
    ping: () => Promise.resolve(1),
  };
  return { connector, control };
}

/** 2 mm per 15 min from 12:00 to 14:00 UTC on the first day (ends labelled), × (1 + member/10). */
const simpleRain = (_id: string, endUtcMs: number, stepMin: number, member: number): number | null => {
  const start = Date.UTC(2026, 6, 1, 12);
  const from = endUtcMs - stepMin * MS_PER_MIN;
  const overlapMin = Math.max(0, Math.min(endUtcMs, start + 2 * MS_PER_H) - Math.max(from, start)) / MS_PER_MIN;
  return (overlapMin / 15) * 2 * (1 + member / 10);
};

void describe('rain source: last good forecast, stale and fallback', () => {
  void it('is fresh, then stale with its age when the service fails, then falls back visibly', async () => {
    let now = T0;
    const { connector, control } = fakeConnector(() => now, simpleRain);
    const source = createRainSource({ connector, locations: network, horizonH: 24, maxStaleMin: 360, nowUtcMs: () => now });

    const fresh = await source.get();
    assert.equal(fresh.quality, 'fresh');
    assert.equal(fresh.reason, null);
    assert.equal(fresh.ageMin, 0);
    assert.equal(fresh.startUtcMs, Date.UTC(2026, 6, 1, 2, 15));
    assert.equal(fresh.steps, 96);
    assert.equal(fresh.ensemble.quality, 'fresh');
    assert.equal(fresh.ensemble.members, 4);
    const w1 = fresh.catchments.find((c) => c.catchmentId === 'C-W1')!;
    const rainStep = (Date.UTC(2026, 6, 1, 12) - fresh.startUtcMs) / STEP_MS;
    assert.equal(w1.precipitationMm[rainStep - 1], 0);
    assert.equal(w1.precipitationMm[rainStep], 2);
    assert.equal(w1.precipitationMm[rainStep + 7], 2);
    assert.equal(w1.precipitationMm[rainStep + 8], 0);
    // Ensemble members are hourly: 4 mm/15 min × … split evenly over the hour's quarters.
    assert.ok(Math.abs(w1.members[1]![rainStep]! - 2.2) < 1e-9);
    assert.deepEqual(fresh.gaps, []);
    assert.deepEqual(fresh.uncovered, []);

    control.fail = 'connect ECONNREFUSED';
    now = T0 + 2 * MS_PER_H;
    const stale = await source.get();
    assert.equal(stale.quality, 'stale');
    assert.equal(stale.ageMin, 120);
    assert.equal(stale.issuedAtUtcMs, T0);
    assert.match(stale.reason!, /deterministic forecast unavailable \(connect ECONNREFUSED\); using the last good one from .*, 120 min old/);
    assert.equal(stale.ensemble.quality, 'stale');
    const w1Stale = stale.catchments.find((c) => c.catchmentId === 'C-W1')!;
    // Same absolute times, re-sliced from the new start.
    assert.equal(w1Stale.precipitationMm[rainStep - 8], 2);
    assert.deepEqual(stale.uncovered, []);
    assert.match(toActivityRainForecast(stale).source, /quality=stale,age=120min/);

    now = T0 + 7 * MS_PER_H;
    const fallback = await source.get();
    assert.equal(fallback.quality, 'fallback');
    assert.equal(fallback.issuedAtUtcMs, null);
    assert.match(fallback.reason!, /connect ECONNREFUSED; the last good one is 420 min old \(limit 360 min\)\); no rain forecast \(unknown\); the inflow forecast fills it with zero rain \(no forecast\)/);
    // No forecast is unknown rain, not dry rain: only the inflow model fills it (by fallbackMm), flagged.
    assert.ok(fallback.catchments.every((c) => c.precipitationMm.every((v) => v === null) && c.members.length === 0));
    assert.equal(fallback.uncovered.length, network.catchments.length);
    assert.equal(fallback.uncovered[0]!.reason, 'no forecast');
    assert.equal(fallback.fallbackLabel, 'zero rain (no forecast)');

    control.fail = null;
    now = T0 + 8 * MS_PER_H;
    assert.equal((await source.get()).quality, 'fresh');
  });

  void it('falls back to a configured climatology or to persistence, flagged', async () => {
    const now = T0;
    const { connector, control } = fakeConnector(() => now, simpleRain);
    control.fail = 'fetch failed';
    const hourly = Array.from({ length: 24 }, (_, h) => (h >= 14 && h < 18 ? 2 : 0.1));
    const climatology: RainFallback = { kind: 'climatology', hourlyMmPerH: hourly, name: 'July' };
    const climSource = createRainSource({ connector, locations: network, horizonH: 24, nowUtcMs: () => now, fallback: climatology });
    const clim = await climSource.get();
    assert.equal(clim.quality, 'fallback');
    assert.match(clim.reason!, /fetch failed; no earlier good forecast\); no rain forecast \(unknown\); the inflow forecast fills it with climatology "July"/);
    assert.ok(clim.catchments[0]!.precipitationMm.every((v) => v === null), 'the rain itself stays unknown');
    clim.catchments[0]!.precipitationMm.forEach((_, i) => assert.equal(climSource.fallbackMm('C-W1', clim.startUtcMs + i * STEP_MS, 15), hourly[calendar.hour(clim.startUtcMs + i * STEP_MS)]! / 4));
    // The inflow model fills with it: the same RDII as a forecast of exactly the climatology.
    const climFilled = forecastInflow({ models: modelsFromNetwork(network), timeZone: network.timezone, issuedAtUtcMs: now, rain: clim, gapFillMm: climSource.fallbackMm, gapFillLabel: 'the fallback rain rule' });
    const asForecast = forecastInflow({
      models: modelsFromNetwork(network),
      timeZone: network.timezone,
      issuedAtUtcMs: now,
      rain: { ...clim, catchments: clim.catchments.map((c) => ({ ...c, precipitationMm: c.precipitationMm.map((_, i) => hourly[calendar.hour(clim.startUtcMs + i * STEP_MS)]! / 4) })) },
    });
    assert.deepEqual(climFilled.stations[0]!.rdiiM3h, asForecast.stations[0]!.rdiiM3h);
    assert.match(climFilled.stations[0]!.flags.join(' | '), /rain gap: 96 of 96 step\(s\) of the deterministic forecast at C-W1 unknown .*filled with the fallback rain rule/);

    const persistence: RainFallback = { kind: 'persistence', observedMmPerH: (id) => (id === 'C-E1' ? 4 : null), decayH: 2 };
    const persSource = createRainSource({ connector, locations: network, horizonH: 6, nowUtcMs: () => now, fallback: persistence });
    const pers = await persSource.get();
    assert.match(pers.reason!, /persistence of the observed rain rate/);
    const e1 = Array.from({ length: 24 }, (_, i) => persSource.fallbackMm('C-E1', pers.startUtcMs + i * STEP_MS, 15));
    assert.ok(e1[0]! > 0.9 && e1[0]! <= 1, `first step ${e1[0]}`);
    assert.ok(e1[23]! < e1[0]! * Math.exp(-2.5), 'decays');
    assert.equal(persSource.fallbackMm('C-W1', pers.startUtcMs, 15), 0);
  });

  void it('keeps missing values as flagged gaps, and refuses an answer with too many', async () => {
    const now = T0;
    const gapAt = Date.UTC(2026, 6, 1, 13);
    const { connector } = fakeConnector(() => now, (id, end, stepMin, member) =>
      id === 'C-E7' && end > gapAt && end <= gapAt + MS_PER_H ? null : simpleRain(id, end, stepMin, member),
    );
    const rain = await createRainSource({ connector, locations: network, horizonH: 24, nowUtcMs: () => now }).get();
    // Any unknown step in the horizon degrades "fresh", visibly.
    assert.equal(rain.quality, 'fresh-with-gaps');
    assert.match(rain.reason!, /^deterministic rain: 4 of 1536 steps in the 24-h horizon unknown — 4 missing \(NaN\) at 1 catchment\(s\) \(C-E7\)/);
    assert.equal(rain.ensemble.quality, 'fresh-with-gaps');
    assert.equal(toActivityRainForecast(rain).source, 'open-meteo:fake;quality=fresh-with-gaps');
    const e7 = rain.catchments.find((c) => c.catchmentId === 'C-E7')!;
    const k = (gapAt - rain.startUtcMs) / STEP_MS;
    assert.deepEqual(e7.precipitationMm.slice(k - 1, k + 5), [2, null, null, null, null, 0]);
    const det = rain.gaps.filter((g) => g.member === null);
    assert.deepEqual(det, [{ catchmentId: 'C-E7', member: null, fromUtcMs: gapAt, toUtcMs: gapAt + MS_PER_H, reason: 'missing value in the forecast' }]);
    assert.equal(rain.gaps.filter((g) => g.member !== null).length, 4); // the gap hour in every member

    // The inflow forecast fills them by a visible rule.
    const forecast = forecastInflow({ models: modelsFromNetwork(network), timeZone: network.timezone, issuedAtUtcMs: now, rain, gapFillMm: () => 0.5, gapFillLabel: 'climatology 2 mm/h' });
    const e7Flags = forecast.stations.find((s) => s.stationId === 'E7')!.flags.join(' | ');
    assert.match(e7Flags, /rain gap: 4 of 96 step\(s\) of the deterministic forecast at C-E7 unknown \(2026-07-01T13:00Z–2026-07-01T14:00Z\): filled with climatology 2 mm\/h/);
    assert.match(e7Flags, /rain gap: 16 step\(s\) over 4 of 4 ensemble member\(s\) \(member 0, 1, 2, 3\) at C-E7 unknown/);
    assert.match(forecast.flags.join(' | '), /rain fresh-with-gaps: deterministic rain: 4 of 1536 steps/);
    assert.match(toPlannerInflow(forecast).source, /quality=fresh-with-gaps$/);
    assert.ok(!forecast.stations.find((s) => s.stationId === 'W1')!.flags.some((f) => f.includes('rain gap')));

    // Every other hour missing in both blocks (the hourly one cannot stand in for the 15-min one).
    const holey = fakeConnector(() => now, (_id, end, stepMin) => (Math.floor((end - stepMin * MS_PER_MIN) / MS_PER_H) % 2 === 0 ? null : 0));
    const refused = await createRainSource({ connector: holey.connector, locations: network, horizonH: 24, nowUtcMs: () => now, ensemble: false }).get();
    assert.equal(refused.quality, 'fallback');
    assert.match(refused.reason!, /5\d(\.\d)? % of the forecast values in the 24-h planning horizon are missing or not covered \(limit 20 %\)/);
    assert.equal(refused.ensemble.reason, 'ensemble not requested');
  });

  void it('rejects a time axis 8 h off (UTC vs UTC+8) instead of planning on it', async () => {
    let now = T0;
    const { connector, control } = fakeConnector(() => now, simpleRain);
    const source = createRainSource({ connector, locations: network, horizonH: 24, nowUtcMs: () => now });
    assert.equal((await source.get()).quality, 'fresh');
    control.timeShiftMs = 8 * MS_PER_H;
    now = T0 + MS_PER_H;
    const shifted = await source.get();
    assert.equal(shifted.quality, 'stale');
    assert.match(shifted.reason!, /time axis starts at .*\+8\.00 h from the current step.*UTC\+8/);
    assert.throws(() => checkTimeAxis(Math.floor(T0 / MS_PER_H) * MS_PER_H - 8 * MS_PER_H, 60, T0, 'x'), /-8\.00 h from the current step.*UTC\+8/);
    assert.doesNotThrow(() => checkTimeAxis(Math.floor(T0 / MS_PER_H) * MS_PER_H, 60, T0, 'x'));
  });

  void it('keeps the steps a short answer does not cover unknown (never 0 mm), in the rain and in the hourly flood view', async () => {
    let now = T0;
    // Rain in the last hour of the horizon, which the short answer does not reach.
    const lateRain = (_id: string, endUtcMs: number, stepMin: number): number | null => (endUtcMs > T0 + 23 * MS_PER_H ? 3 * (stepMin / 15) : 0);
    const { connector, control } = fakeConnector(() => now, lateRain);
    control.hoursServed = 23; // the 24-h horizon starts at 02:15: the answer ends 1.25 h short of it
    const source = createRainSource({ connector, locations: network, horizonH: 24, nowUtcMs: () => now, ensemble: false });
    const rain = await source.get();
    assert.equal(rain.quality, 'fresh-with-gaps');
    assert.match(rain.reason!, /80 of 1536 steps in the 24-h horizon unknown — 80 beyond the end of the answer \(it ends at 2026-07-02T01:00Z, 1\.25 h before the end of the horizon\); kept unknown, the inflow forecast fills them with zero rain/);
    const w1 = rain.catchments.find((c) => c.catchmentId === 'C-W1')!;
    assert.deepEqual(w1.precipitationMm.slice(-6), [0, null, null, null, null, null]);
    const uncovered = rain.uncovered.find((f) => f.catchmentId === 'C-W1')!;
    assert.deepEqual(uncovered, { catchmentId: 'C-W1', member: null, fromUtcMs: Date.UTC(2026, 6, 2, 1), toUtcMs: rain.startUtcMs + 24 * MS_PER_H, reason: 'beyond the end of the forecast' });
    // The hourly view the flood assessment reads: unknown hours are gaps (null), not dry hours.
    const hourly = await activityRainForecastSource(source, { stepMin: 60 }).fetchCatchmentRain(network, 24);
    const w1Hourly = hourly.locations.find((l) => l.catchmentId === 'C-W1')!;
    assert.equal(hourly.source, 'open-meteo:fake;quality=fresh-with-gaps;60min');
    assert.deepEqual(w1Hourly.precipitationMm.slice(-2), [0, null]);
    // The inflow model fills them (zero here, by the rule) and says so at the station.
    const forecast = forecastInflow({ models: modelsFromNetwork(network), timeZone: network.timezone, issuedAtUtcMs: now, rain, gapFillMm: source.fallbackMm, gapFillLabel: 'the fallback rain rule' });
    assert.match(forecast.stations.find((s) => s.stationId === 'W1')!.flags.join(' | '), /rain gap: 5 of 96 step\(s\) of the deterministic forecast at C-W1 unknown \(2026-07-02T01:00Z–2026-07-02T02:15Z\): filled with the fallback rain rule/);
    assert.match(forecast.flags.join(' | '), /rain fresh-with-gaps: deterministic rain: 80 of 1536/);

    // The service down later: the last good answer, stale, still short — said in its reason.
    control.fail = 'timeout';
    now = T0 + 3 * MS_PER_H;
    const stale = await source.get();
    assert.equal(stale.quality, 'stale');
    assert.match(stale.reason!, /120 min old|180 min old/);
    assert.match(stale.reason!, /beyond the end of the answer/);
    assert.equal(stale.catchments[0]!.precipitationMm.filter((v) => v === null).length, 17);
  });

  void it('judges missing values over the planning horizon, not diluted by the past hours, and the past hours apart', async () => {
    const now = T0;
    const horizonStart = Date.UTC(2026, 6, 1, 2);
    // 20 of the 24 horizon hours missing; 72 past hours known: 19 % of everything fetched, 83 % of the horizon.
    const { connector } = fakeConnector(() => now, (id, end, stepMin, member) => (end > horizonStart && end <= horizonStart + 20 * MS_PER_H ? null : simpleRain(id, end, stepMin, member)));
    const rain = await createRainSource({ connector, locations: network, horizonH: 24, pastH: 72, nowUtcMs: () => now, ensemble: false }).get();
    assert.equal(rain.quality, 'fallback');
    assert.match(rain.reason!, /8\d(\.\d)? % of the forecast values in the 24-h planning horizon are missing or not covered \(limit 20 %\)/);

    // Past rain mostly missing: the forecast is used, but degraded and said.
    const pastGappy = fakeConnector(() => now, (id, end, stepMin, member) => (end <= horizonStart - 12 * MS_PER_H ? null : simpleRain(id, end, stepMin, member)));
    const past = await createRainSource({ connector: pastGappy.connector, locations: network, horizonH: 24, pastH: 72, nowUtcMs: () => now, ensemble: false }).get();
    assert.equal(past.quality, 'fresh-with-gaps');
    assert.match(past.reason!, /^8\d(\.\d)? % of the rain in the 72 h before now is missing \(limit 20 %\): the RDII state takes it as dry$/);
    assert.ok(past.catchments[0]!.precipitationMm.every((v) => v !== null));
  });

  void it('drops ensemble members mostly missing in the horizon, from every catchment, and says how many are used', async () => {
    const now = T0;
    // Member 2 all NaN at C-W1 only; member 3 NaN over the first 10 of 24 h everywhere (not mostly).
    const { connector } = fakeConnector(() => now, (id, end, stepMin, member) =>
      (member === 2 && id === 'C-W1') || (member === 3 && end <= T0 + 10 * MS_PER_H) ? null : simpleRain(id, end, stepMin, member),
    );
    const rain = await createRainSource({ connector, locations: network, horizonH: 24, nowUtcMs: () => now }).get();
    assert.equal(rain.quality, 'fresh');
    assert.equal(rain.ensemble.quality, 'fresh-with-gaps');
    assert.equal(rain.ensemble.members, 3);
    assert.equal(rain.ensemble.membersDropped, 1);
    assert.match(rain.ensemble.reason!, /^1 of 4 ensemble members dropped as mostly missing in the horizon \(member 2; at C-W1: 1\): 3 used; ensemble \(3 members\): \d+ of \d+ steps/);
    assert.ok(rain.catchments.every((c) => c.members.length === 3));
    // The members left are the same scenarios everywhere: member index 2 is now the answer's member 3.
    const e1 = rain.catchments.find((c) => c.catchmentId === 'C-E1')!;
    const rainStep = (Date.UTC(2026, 6, 1, 12) - rain.startUtcMs) / STEP_MS;
    assert.ok(Math.abs(e1.members[2]![rainStep]! - 2.6) < 1e-9);
    assert.ok(Math.abs(e1.members[1]![rainStep]! - 2.2) < 1e-9);
    const forecast = forecastInflow({ models: modelsFromNetwork(network), timeZone: network.timezone, issuedAtUtcMs: now, rain, includeMembers: true });
    assert.equal(forecast.rain.members, 3);
    assert.match(forecast.flags.join(' | '), /ensemble fresh-with-gaps: 1 of 4 ensemble members dropped/);
    assert.match(forecast.stations.find((s) => s.stationId === 'W1')!.flags.join(' | '), /1 of 4 ensemble member\(s\) mostly missing at C-W1 \(more than 50 % of the horizon\): dropped from the ensemble/);
    assert.equal(toPlannerInflow(forecast).members!.length, 3);

    // Every member mostly missing: no ensemble (not dry members).
    const empty = fakeConnector(() => now, (id, end, stepMin, member) => (member > 0 && member < 4 ? null : id === 'C-E9' ? null : simpleRain(id, end, stepMin, member)));
    const none = await createRainSource({ connector: empty.connector, locations: network, horizonH: 24, nowUtcMs: () => now }).get();
    assert.equal(none.ensemble.quality, 'fallback');
    assert.match(none.ensemble.reason!, /every one of the 4 ensemble members is mostly missing in the 24-h horizon/);
    assert.equal(none.ensemble.members, 0);
  });

  void it('takes the 15-min steps a gappy 15-min block lacks from the hourly block of the same answer, flagged', async () => {
    const now = T0;
    // The 15-min block is all NaN at C-W1 and NaN for one hour at C-E1; the hourly block is complete.
    const gapHourEnd = Date.UTC(2026, 6, 1, 13);
    const { connector } = fakeConnector(() => now, (id, end, stepMin, member) =>
      stepMin === 15 && (id === 'C-W1' || (id === 'C-E1' && end > gapHourEnd - MS_PER_H && end <= gapHourEnd - 30 * MS_PER_MIN)) ? null : simpleRain(id, end, stepMin, member),
    );
    const rain = await createRainSource({ connector, locations: network, horizonH: 24, nowUtcMs: () => now, ensemble: false }).get();
    assert.equal(rain.quality, 'fresh');
    const w1 = rain.catchments.find((c) => c.catchmentId === 'C-W1')!;
    const rainStep = (Date.UTC(2026, 6, 1, 12) - rain.startUtcMs) / STEP_MS;
    assert.deepEqual(w1.precipitationMm.slice(rainStep - 1, rainStep + 9), [0, 2, 2, 2, 2, 2, 2, 2, 2, 0]);
    // C-E1: the two missing quarters share the hour less its two known quarters.
    const e1 = rain.catchments.find((c) => c.catchmentId === 'C-E1')!;
    assert.deepEqual(e1.precipitationMm.slice(rainStep + 4, rainStep + 8), [2, 2, 2, 2]);
    assert.deepEqual(rain.gaps, []);
    assert.match(rain.notes.join(' | '), /15-min rain forecast missing at 2 catchment\(s\) \(C-W1, C-E1\): \d+ step\(s\) taken from the hourly forecast of the same answer/);
    const forecast = forecastInflow({ models: modelsFromNetwork(network), timeZone: network.timezone, issuedAtUtcMs: now, rain });
    assert.match(forecast.flags.join(' | '), /15-min rain forecast missing at 2 catchment/);
    assert.match(forecast.stations.find((s) => s.stationId === 'E1')!.flags.join(' | '), /15-min rain forecast missing for 2 step\(s\) at C-E1: taken from the hourly forecast of the same answer/);
  });

  void it('serves the dispatch activity and the planner in their own shapes', async () => {
    const now = T0;
    const { connector } = fakeConnector(() => now, simpleRain);
    const source = createRainSource({ connector, locations: network, horizonH: 24, nowUtcMs: () => now });
    const activity = await activityRainForecastSource(source).fetchCatchmentRain(network, 6);
    assert.equal(activity.locations.length, network.catchments.length);
    assert.match(activity.source, /^open-meteo:fake;quality=fresh$/);
    const first = activity.locations[0]!;
    assert.equal(first.timeUtcMs.length, 24);
    // End-labelled, as RainForecast and Open-Meteo label accumulations.
    assert.equal(first.timeUtcMs[0], Date.UTC(2026, 6, 1, 2, 30));
    const rain = await source.get();
    const planner = toPlannerInflow(forecastInflow({ models: modelsFromNetwork(network), timeZone: network.timezone, issuedAtUtcMs: now, rain, includeMembers: true }));
    assert.equal(planner.series.length, network.stations.length);
    assert.equal(planner.members!.length, 4);
    assert.equal(planner.series[0]!.flowM3h.length, 96);
    assert.match(planner.source, /quality=fresh/);
  });

  void it('reads archive rain onto a start-labelled grid, keeping missing hours null', async () => {
    const { connector } = fakeConnector(() => T0, simpleRain);
    connector.fetchArchive = (locations) => {
      const day = Date.UTC(2026, 6, 1);
      const timeUtcMs = Array.from({ length: 24 }, (_, i) => day + i * MS_PER_H); // labels: end of each hour
      const precipitationMm = timeUtcMs.map((t) => (t === day + 13 * MS_PER_H ? null : t === day + 12 * MS_PER_H ? 4 : 0));
      return Promise.resolve(
        Object.fromEntries(
          locations.map((l) => [l.id, { locationId: l.id, latDeg: l.latDeg, lonDeg: l.lonDeg, elevationM: 3, model: 'era5', issuedAtUtcMs: T0, hourly: { timeUtcMs, stepMin: 60, precipitationMm, gaps: 1 } }]),
        ),
      );
    };
    const rain = await fetchArchiveRain(connector, network, { startDate: '2026-07-01', endDate: '2026-07-01', stepMin: 15 });
    const w1 = rain['C-W1']!;
    assert.equal(w1.startUtcMs, Date.UTC(2026, 6, 1) - MS_PER_H);
    assert.equal(w1.values.length, 96);
    const at = (utcMs: number) => w1.values[(utcMs - w1.startUtcMs) / STEP_MS];
    assert.equal(at(Date.UTC(2026, 6, 1, 11)), 1); // 4 mm over 11:00–12:00, in quarters
    assert.equal(at(Date.UTC(2026, 6, 1, 12)), null); // the missing hour 12:00–13:00
    assert.equal(at(Date.UTC(2026, 6, 1, 13)), 0);
  });

  void it('checks coordinates before any request', () => {
    const { connector, control } = fakeConnector(() => T0, simpleRain);
    const at = (latDeg: number, lonDeg: number) => () => createRainSource({ connector, locations: [{ catchmentId: 'C-X', latDeg, lonDeg }], horizonH: 24 });
    assert.throws(at(121.0, 30.7), /catchment C-X: latDeg 121 is outside \[-90, 90\] \(latitude and longitude swapped\?\)/);
    assert.throws(at(30.7, 200), /catchment C-X: lonDeg 200 is outside \[-180, 180\]/);
    assert.throws(at(Number.NaN, 121), /latDeg NaN/);
    assert.equal(control.calls, 0);
  });
});

/** Rain input on the planning grid straight from scenarios (truth and perturbed members). */
function scenarioRain(truth: RainScenario, startUtcMs: number, steps: number, seed: number, members: number): { forecast: InflowRainInput; truth: InflowRainInput } {
  const range = { startUtcMs, endUtcMs: startUtcMs + steps * STEP_MS, stepMin: 15 };
  const at = (s: RainScenario, c: (typeof network.catchments)[number]) => rainSeries(s, c.location, range).rainMm;
  const base = { startUtcMs, stepMin: 15, steps, quality: 'fresh' as const, reason: null, source: 'test', issuedAtUtcMs: startUtcMs, ageMin: 0 };
  const memberScenarios = Array.from({ length: members }, (_, m) => perturbForecast(truth, { seed, member: m + 1 }));
  const deterministic = perturbForecast(truth, { seed, member: 0 });
  return {
    forecast: { ...base, catchments: network.catchments.map((c) => ({ catchmentId: c.id, precipitationMm: at(deterministic, c), members: memberScenarios.map((s) => at(s, c)) })) },
    truth: { ...base, catchments: network.catchments.map((c) => ({ catchmentId: c.id, precipitationMm: at(truth, c), members: [] })) },
  };
}

void describe('inflow forecast', () => {
  const models = modelsFromNetwork(network);
  const start = Date.UTC(2026, 6, 1, 0);
  /** A fresh forecast of no rain anywhere, from `start`. */
  const freshDryRain = (steps: number): InflowRainInput => ({
    startUtcMs: start,
    stepMin: 15,
    steps,
    quality: 'fresh',
    reason: null,
    source: 'test',
    issuedAtUtcMs: start,
    ageMin: 0,
    catchments: network.catchments.map((c) => ({ catchmentId: c.id, precipitationMm: new Array<number>(steps).fill(0), members: [] })),
  });

  void it('is DWF + groundwater without rain, with a band from the dry-weather spread only', () => {
    const rain: InflowRainInput = {
      startUtcMs: start,
      stepMin: 15,
      steps: 96,
      quality: 'fallback',
      reason: 'test: no forecast',
      source: 'none',
      issuedAtUtcMs: null,
      ageMin: null,
      catchments: network.catchments.map((c) => ({ catchmentId: c.id, precipitationMm: new Array<number>(96).fill(0), members: [] })),
    };
    const f = forecastInflow({ models, timeZone: network.timezone, issuedAtUtcMs: start, rain });
    assert.match(f.flags.join(' | '), /rain fallback: test: no forecast/);
    assert.match(f.flags.join(' | '), /no ensemble members.*P10–P90 hold only/);
    const w1 = f.stations.find((s) => s.stationId === 'W1')!;
    const c = network.catchments.find((x) => x.id === 'C-W1')!;
    const pattern = network.dwfPatterns.find((p) => p.id === 'residential')!;
    // 00:00 UTC = 08:00 local on a Wednesday: the morning peak.
    assert.ok(Math.abs(w1.deterministicM3h[0]! - ((c.dwf.meanM3d / 24) * pattern.weekdayHourly[8]! + c.groundwaterM3h)) < 1e-9);
    assert.ok(w1.rdiiM3h.every((v) => v === 0));
    assert.equal(w1.groundwaterM3h[0], c.groundwaterM3h);
    w1.deterministicM3h.forEach((v, i) => {
      assert.ok(Math.abs(w1.dwfM3h[i]! + w1.groundwaterM3h[i]! + w1.rdiiM3h[i]! - v) < 1e-9);
      assert.ok(w1.quantilesM3h['p10']![i]! < v && v < w1.quantilesM3h['p90']![i]!);
      assert.ok(Math.abs(w1.quantilesM3h['p50']![i]! - v) < 1e-6 * v);
    });
    const expected = dwfSeries(models.find((m) => m.stationId === 'W1')!.dwf, calendar, { startUtcMs: start, stepMin: 15, steps: 96 });
    assert.deepEqual(w1.deterministicM3h, expected);
  });

  void it('gives ordered P10 ≤ P50 ≤ P90 that cover the truth on a perturbed storm', () => {
    const truthScenario = createRainScenario('rainstorm', { startUtcMs: start, rainOnsetOffsetMin: 120 });
    const inside: number[] = [];
    for (const seed of [1, 2, 3, 4, 5, 6]) {
      const { forecast, truth } = scenarioRain(truthScenario, start, 96, seed, 20);
      const f = forecastInflow({ models, timeZone: network.timezone, issuedAtUtcMs: start, rain: forecast, includeMembers: true, rdiiErrorFraction: 0 });
      const t = forecastInflow({ models, timeZone: network.timezone, issuedAtUtcMs: start, rain: truth });
      for (const s of f.stations) {
        const { p10, p50, p90 } = s.quantilesM3h as Record<'p10' | 'p50' | 'p90', number[]>;
        for (let i = 0; i < f.steps; i++) assert.ok(p10[i]! <= p50[i]! && p50[i]! <= p90[i]!, `${s.stationId} step ${i}`);
        assert.equal(s.membersM3h!.length, 20);
        const observed = t.stations.find((x) => x.stationId === s.stationId)!.deterministicM3h;
        // Wet steps only: in dry weather both are the same DWF.
        const wet = observed.map((v, i) => (t.stations.find((x) => x.stationId === s.stationId)!.rdiiM3h[i]! > 0.05 * v ? v : null));
        inside.push(coverage(wet, p10, p90));
      }
      const plants = plantInflowForecast(f, plantRoutes(network));
      for (const p of plants) {
        for (let i = 0; i < f.steps; i++) assert.ok(p.quantilesM3h['p10']![i]! <= p.quantilesM3h['p50']![i]! && p.quantilesM3h['p50']![i]! <= p.quantilesM3h['p90']![i]!);
      }
    }
    const mean = inside.filter(Number.isFinite).reduce((a, b) => a + b, 0) / inside.filter(Number.isFinite).length;
    // The truth behaves like one more member: near-nominal 80 % when averaged over forecast runs.
    assert.ok(mean > 0.6 && mean <= 1, `mean coverage ${mean.toFixed(2)}`);
  });

  void it('starts from the RDII state left by observed past rain', () => {
    const dry = freshDryRain(96);
    const pastValues = Array.from({ length: 96 }, (_, i) => (i >= 80 ? 1.5 : 0)); // 24 mm in the last 4 h
    const pastRain = Object.fromEntries(network.catchments.map((c) => [c.id, { startUtcMs: start - 96 * STEP_MS, stepMin: 15, values: pastValues }]));
    const f = forecastInflow({ models, timeZone: network.timezone, issuedAtUtcMs: start, rain: dry, pastRain });
    const w1 = f.stations.find((s) => s.stationId === 'W1')!;
    assert.ok(w1.rdiiM3h[0]! > 100, `RDII draining from past rain: ${w1.rdiiM3h[0]}`);
    assert.ok(w1.rdiiM3h[95]! < w1.rdiiM3h[0]!);
    assert.equal(w1.iaAtStartMm['C-W1'], 0);
    assert.throws(
      () => forecastInflow({ models, timeZone: network.timezone, issuedAtUtcMs: start, rain: dry, pastRain: { 'C-W1': { startUtcMs: start - 95 * STEP_MS, stepMin: 15, values: pastValues } } }),
      /past rain of C-W1 ends at .* not at the forecast start/,
    );
    const none = forecastInflow({ models, timeZone: network.timezone, issuedAtUtcMs: start, rain: dry });
    assert.match(none.stations[0]!.flags.join(' '), /no observed rain before the start/);
  });

  void it('carries the measured deviation from the dry-weather profile forward (error correction), dry stations only, limited against a failed meter', () => {
    const dryRain = freshDryRain(96);
    const hourBefore = { startUtcMs: start - 4 * STEP_MS, stepMin: 15, steps: 4 };
    const profileOf = (id: string) => models.find((m) => m.stationId === id)!.dwf;
    // E1 measured 4 % above its profile over the last hour, W4 10 % below (a meter reading low), W1 unmeasured.
    const measured = (id: string, share: number) => ({ ...hourBefore, values: dwfSeries(profileOf(id), calendar, hourBefore).map((v) => v * (1 + share)) });
    const recentLocalInflowM3h = { E1: measured('E1', 0.04), W4: measured('W4', -0.9), E2: { ...hourBefore, values: [null, null, null, 700] } };
    const plain = forecastInflow({ models, timeZone: network.timezone, issuedAtUtcMs: start, rain: dryRain });
    const corrected = forecastInflow({ models, timeZone: network.timezone, issuedAtUtcMs: start, rain: dryRain, recentLocalInflowM3h });
    const at = (f: typeof plain, id: string) => f.stations.find((s) => s.stationId === id)!;

    const e1 = at(corrected, 'E1');
    const e1Profile = dwfSeries(profileOf('E1'), calendar, hourBefore);
    const e1Deviation = 0.04 * (e1Profile.reduce((a, v) => a + v, 0) / 4);
    assert.ok(Math.abs(e1.errorCorrectionM3h - e1Deviation) < 1e-6, `E1 deviation ${e1.errorCorrectionM3h} against ${e1Deviation}`);
    // Decays with the profile's hourly autocorrelation, from the middle of the hour it was measured over.
    const rho = profileOf('E1').residualLag1;
    [0, 3, 11, 95].forEach((i) => {
      const expected = e1Deviation * Math.pow(rho, ((i + 1) * 15) / 60 + 0.5);
      assert.ok(Math.abs(e1.deterministicM3h[i]! - at(plain, 'E1').deterministicM3h[i]! - expected) < 1e-6, `E1 step ${i}`);
    });
    assert.ok(e1.dwfSdM3h[0]! < at(plain, 'E1').dwfSdM3h[0]!, 'a known deviation narrows the first steps');
    assert.equal(e1.flags.filter((f) => f.startsWith('error correction')).length, 0, 'applied as measured: nothing to flag');

    // A deviation beyond 3 sd of the residual is limited, and said.
    const w4 = at(corrected, 'W4');
    const w4Mean = dwfSeries(profileOf('W4'), calendar, hourBefore).reduce((a, v) => a + v, 0) / 4;
    assert.ok(Math.abs(w4.errorCorrectionM3h + 3 * profileOf('W4').residualSdFraction * w4Mean) < 1e-6, `W4 limited: ${w4.errorCorrectionM3h}`);
    assert.match(w4.flags.join(' | '), /error correction: measured −\d+ m³\/h off the profile, beyond 3 sd: limited to −\d+ m³\/h/);
    assert.ok(w4.deterministicM3h[0]! > 0.8 * at(plain, 'W4').deterministicM3h[0]!);

    // Too few measurements, or none: the profile alone.
    assert.equal(at(corrected, 'E2').errorCorrectionM3h, 0);
    assert.match(at(corrected, 'E2').flags.join(' | '), /error correction not applied: 1 of 4 recent step\(s\) measured/);
    assert.deepEqual(at(corrected, 'W1').deterministicM3h, at(plain, 'W1').deterministicM3h);
    assert.match(at(corrected, 'W1').flags.join(' | '), /error correction not applied: no recent measurement/);

    // Rain-derived inflow under way: the deviation is not the profile's error.
    const pastRain = Object.fromEntries(network.catchments.map((c) => [c.id, { startUtcMs: start - 16 * STEP_MS, stepMin: 15, values: Array.from({ length: 16 }, (_, i) => (i >= 12 ? 2 : 0)) }]));
    const wet = forecastInflow({ models, timeZone: network.timezone, issuedAtUtcMs: start, rain: dryRain, pastRain, recentLocalInflowM3h });
    assert.equal(at(wet, 'E1').errorCorrectionM3h, 0);
    assert.match(at(wet, 'E1').flags.join(' | '), /error correction not applied: rain-derived inflow under way/);
  });

  void it('sums 15-min planning rain into hours on round boundaries for hourly readers, the elapsed quarters from the past hours', () => {
    const start = Date.UTC(2026, 6, 1, 2, 15); // 10:15 local, the current 15-min step
    const rain: PlanningRain = {
      startUtcMs: start,
      stepMin: 15,
      steps: 8,
      pastSteps: 4,
      quality: 'fresh',
      reason: null,
      issuedAtUtcMs: start - 60_000,
      ageMin: 1,
      source: 'open-meteo:fake',
      ensemble: { quality: 'fallback', reason: 'ensemble not requested', issuedAtUtcMs: null, ageMin: null, members: 0, membersDropped: 0 },
      catchments: [
        { catchmentId: 'A', pastMm: [9, 9, 9, 0.5], precipitationMm: [1, 2, 3, 4, 5, 6, 7, 8], members: [] },
        { catchmentId: 'B', pastMm: [0, 0, 0, 0], precipitationMm: [0, null, 0, 0, 0, 0, 0, 0], members: [] },
      ],
      gaps: [],
      uncovered: [],
      fallbackLabel: 'zero rain (no forecast)',
      notes: [],
      catchmentNotes: [],
    };
    const hourly = toActivityRainForecast(rain, { stepMin: 60 });
    assert.equal(hourly.stepMin, 60);
    assert.equal(hourly.source, 'open-meteo:fake;quality=fresh;60min');
    const [a, b] = hourly.locations;
    // [10:00, 11:00) = the elapsed quarter 10:00–10:15 + three ahead; [11:00, 12:00); 12:00–12:15 is not a whole hour.
    assert.deepEqual(a!.timeUtcMs, [Date.UTC(2026, 6, 1, 3), Date.UTC(2026, 6, 1, 4)]);
    assert.deepEqual(a!.precipitationMm, [0.5 + 1 + 2 + 3, 4 + 5 + 6 + 7]);
    assert.deepEqual(b!.precipitationMm, [null, 0], 'an hour with a missing quarter is a gap, not less rain');
    assert.deepEqual(toActivityRainForecast(rain).locations[0]!.precipitationMm, rain.catchments[0]!.precipitationMm);
  });
});
