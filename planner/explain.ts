// Why the plan says what it says, per station (and per interconnection, tank and plant), in Chinese and
// English, derived from the solved model: which limit binds (pump capacity, storage, plant capacity), which
// rain is expected when, why water crosses the interconnection, why pumping moves to valley tariff hours.
import type { RainForecast } from '../activities/types.js';
import type { NetworkConfig } from '../network/schema.js';
import { cheapestPeriod, localClock, localTime } from './calendar.js';
import type { Formulation, ScenarioResult, StationModel } from './formulation.js';
import { rainOutlook } from './rule-based.js';
import type { OverflowRisk, PlanStep, StationReason } from './types.js';
import { levelAtVolume } from './wet-well.js';

export interface ExplainInput {
  network: NetworkConfig;
  formulation: Formulation;
  /** The scenario the plan's setpoints follow. */
  shown: ScenarioResult;
  risk: OverflowRisk[];
  nowUtcMs: number;
  rainForecast: RainForecast | null;
  bands: Map<string, { minLevelM: number; maxLevelM: number }>;
  firstStep: PlanStep;
  /** Fixed-speed stations on a whole-pump schedule: their starts over the horizon. */
  wholePump?: ReadonlyMap<string, { starts: number; pricedDownstream?: readonly string[] }>;
  /** VFD stations whose first-step flow is held on the running pumps (mpc.ts holdVfdFlow): what the LP planned. */
  heldVfd?: ReadonlyMap<string, { plannedM3h: number; sentM3h: number; running: number }>;
  /** Pumps available now per station (the state's count; absent: all installed). */
  pumpsAvailable?: ReadonlyMap<string, number>;
}

interface Parts {
  zh: string[];
  en: string[];
}

const m3 = (v: number) => (Math.abs(v) >= 1000 ? Math.round(v / 10) * 10 : Math.round(v)).toLocaleString('en-US');
const pct = (v: number) => `${Math.round(v * 100)}%`;
const lv = (v: number) => v.toFixed(2);
const pumps = (n: number) => `${n} pump${n === 1 ? '' : 's'}`;

/** Local "HH:MM", marked when it falls on a later local day than now (次日 / +1d). */
function clock(network: NetworkConfig, nowUtcMs: number, utcMs: number, lang: 'zh' | 'en'): string {
  const day = (t: number) => {
    const l = localTime(t, network.timezone);
    return Date.UTC(l.year, l.monthIndex, l.day) / 86_400_000;
  };
  const later = Math.round(day(utcMs) - day(nowUtcMs));
  const hhmm = localClock(utcMs, network.timezone);
  if (later <= 0) return hhmm;
  if (lang === 'zh') return later === 1 ? `次日${hhmm}` : `${later}天后${hhmm}`;
  return `${hhmm} (+${later}d)`;
}

/** Merge the steps where `flag` holds into "HH:MM–HH:MM" windows (at most three, the rest summarised). */
function windowsIn(f: Formulation, network: NetworkConfig, flag: (k: number) => boolean, lang: 'zh' | 'en'): string[] {
  const b = f.grid.boundariesUtcMs;
  const out: [number, number][] = [];
  for (let k = 0; k < f.grid.durationH.length; k++) {
    if (!flag(k)) continue;
    const last = out[out.length - 1];
    if (last && last[1] === b[k]) last[1] = b[k + 1]!;
    else out.push([b[k]!, b[k + 1]!]);
  }
  const now = b[0]!;
  const text = out.slice(0, 3).map(([a, z]) => `${clock(network, now, a, lang)}–${clock(network, now, z, lang)}`);
  if (out.length > 3) text.push(`+${out.length - 3}`);
  return text;
}

function plantOf(network: NetworkConfig, nodeId: string): string | null {
  const seen = new Set<string>();
  let current = nodeId;
  while (!seen.has(current)) {
    seen.add(current);
    if (network.plants.some((p) => p.id === current)) return current;
    const station = network.stations.find((s) => s.id === current);
    const main = station ? network.mains.find((m) => m.id === station.dischargeMainId) : network.mains.find((m) => m.from === current);
    if (!main) {
      const tank = network.tanks.find((t) => t.id === current);
      if (!tank) return null;
      current = tank.node;
      continue;
    }
    current = main.to;
  }
  return null;
}

function windows(f: Formulation, network: NetworkConfig, flag: (k: number) => boolean): { zh: string; en: string; any: boolean } {
  const zh = windowsIn(f, network, flag, 'zh');
  return { zh: zh.join('、'), en: windowsIn(f, network, flag, 'en').join(', '), any: zh.length > 0 };
}

/** A time in both languages. */
function at(f: Formulation, network: NetworkConfig, utcMs: number): { zh: string; en: string } {
  const now = f.grid.boundariesUtcMs[0]!;
  return { zh: clock(network, now, utcMs, 'zh'), en: clock(network, now, utcMs, 'en') };
}

function finish(objectId: string, parts: Parts): StationReason {
  return { objectId, reason: { zh: `${parts.zh.join('；')}。`, en: `${parts.en.join('; ')}.` } };
}

function stationReason(input: ExplainInput, s: StationModel): StationReason {
  const { network, formulation: f, shown, nowUtcMs } = input;
  const station = s.station;
  const tr = shown.stations.get(station.id)!;
  const K = f.grid.durationH.length;
  const dt = f.grid.durationH;
  const b = f.grid.boundariesUtcMs;
  const parts: Parts = { zh: [], en: [] };
  const risk = input.risk.find((r) => r.objectId === station.id);
  const level = (k: number) => levelAtVolume(station.wetWell, tr.volumeM3[k]!);

  if (s.locked) {
    parts.zh.push('泵站处于本地控制，按本地启停液位运行，方案不下发远程设定');
    parts.en.push('Station is in LOCAL control: it runs on its own start/stop levels and receives no remote setpoints');
  }
  // Pumps out of service come first: they explain an overflow or a limit below the pumps installed.
  const available = input.pumpsAvailable?.get(station.id) ?? station.pumps.length;
  if (available < station.pumps.length) {
    parts.zh.push(`可用泵${available}/${station.pumps.length}台`);
    parts.en.push(`${available}/${station.pumps.length} pumps available`);
  }

  // Rain: from the rain forecast when there is one, otherwise from inflow above dry weather.
  const catchments = network.catchments.filter((c) => c.node === station.id);
  const horizonH = (b[K]! - nowUtcMs) / 3_600_000;
  const excess = f.wetExcessM3h.get(station.id) ?? [];
  const dryMean = (f.dryWeatherM3h.get(station.id) ?? [0]).reduce((a, v) => a + v, 0) / Math.max(1, K);
  const onsetK = excess.findIndex((e) => e > Math.max(5, 0.05 * dryMean));
  const excessM3 = excess.reduce((a, e, k) => a + e * dt[k]!, 0);
  let rainText: { zh: string; en: string } | null = null;
  if (input.rainForecast && catchments.length > 0) {
    const outlooks = catchments.map((c) => rainOutlook(input.rainForecast, c.id, nowUtcMs, horizonH));
    const totalMm = Math.max(...outlooks.map((o) => o.totalMm));
    const onsets = outlooks.map((o) => o.onsetUtcMs).filter((t): t is number => t !== null);
    if (totalMm >= 1 && onsets.length > 0) {
      const t = at(f, network, Math.min(...onsets));
      rainText = { zh: `预计${t.zh}起降雨约${totalMm.toFixed(0)}毫米`, en: `rain of about ${totalMm.toFixed(0)} mm expected from ${t.en}` };
    }
  }
  if (onsetK >= 0 && excessM3 >= 1) {
    const t = at(f, network, b[onsetK]!);
    const more = { zh: `进水自${t.zh}起高于旱季流量，共多约${m3(excessM3)}立方米`, en: `inflow above dry weather from ${t.en}, about ${m3(excessM3)} m³ extra` };
    rainText = rainText ? { zh: `${rainText.zh}，${more.zh}`, en: `${rainText.en}; ${more.en}` } : more;
  }
  if (!rainText && s.rainUpstreamOf.length > 0) {
    rainText = { zh: `上游${s.rainUpstreamOf.join('、')}来水高于旱季流量，将随管道到达本站`, en: `rain upstream: inflow at ${s.rainUpstreamOf.join(', ')} above dry weather reaches this station through the mains` };
  }
  if (rainText) {
    parts.zh.push(rainText.zh);
    parts.en.push(rainText.en.charAt(0).toUpperCase() + rainText.en.slice(1));
  } else if (!s.dryBaseline && !s.locked) {
    // No catchment, so no dry-weather flow to tell rain by: do not call it dry weather.
    if (s.aboveDutyFromK >= 0) {
      const t = at(f, network, b[s.aboveDutyFromK]!);
      parts.zh.push(`无旱季流量基线（无汇水区），无法区分雨天与旱天；进水自${t.zh}起超过主泵能力（${m3(s.dutyCapM3h)}立方米/时），按计划液位与流量运行`);
      parts.en.push(`No dry-weather baseline (no catchment), so rain cannot be told from dry weather; inflow exceeds the duty pumps (${m3(s.dutyCapM3h)} m³/h) from ${t.en}, so the planned level and flow are followed`);
    } else {
      parts.zh.push('无旱季流量基线（无汇水区），无法区分雨天与旱天；进水不超过主泵能力');
      parts.en.push('No dry-weather baseline (no catchment), so rain cannot be told from dry weather; the inflow stays within the duty pumps');
    }
  } else if (!s.locked) {
    parts.zh.push('时域内无降雨影响（旱天）');
    parts.en.push('No rain effect within the horizon (dry weather)');
  }

  if (!s.locked) {
    // Reserve: drawn down ahead of the rain.
    const reserveK = s.reserveMaxVolumeM3.findIndex((v) => v !== null);
    if (reserveK >= 0 && onsetK >= 0) {
      const beforeOnset = Array.from({ length: Math.max(1, onsetK) }, (_, k) => k);
      const lowest = beforeOnset.reduce((best, k) => (tr.volumeM3[k]! < tr.volumeM3[best]! ? k : best), 0);
      const freeM3 = s.volumeMaxM3 - tr.volumeM3[lowest]!;
      if (level(lowest) < levelAtVolume(station.wetWell, s.initialVolumeM3) - 0.05) {
        const t = at(f, network, b[lowest + 1]!);
        parts.zh.push(`雨前预降水位至${lv(level(lowest))}米（${t.zh}），腾出约${m3(freeM3)}立方米`);
        parts.en.push(`draws the well down to ${lv(level(lowest))} m by ${t.en} ahead of the rain, keeping about ${m3(freeM3)} m³ free`);
      } else {
        parts.zh.push(`保持低水位，腾出约${m3(freeM3)}立方米迎接降雨`);
        parts.en.push(`keeps the level low, about ${m3(freeM3)} m³ free for the rain`);
      }
    }

    // Binding pump capacity and standby pumps.
    const capM3h = s.dutyCapM3h + s.standbyCapM3h;
    const full = windows(f, network, (k) => capM3h > 0 && tr.pumpedM3h[k]! >= 0.98 * capM3h);
    const dutyFull = windows(f, network, (k) => s.dutyCapM3h > 0 && tr.pumpedM3h[k]! >= 0.98 * s.dutyCapM3h && tr.standbyM3h[k]! < 1);
    const standby = windows(f, network, (k) => tr.standbyM3h[k]! >= 1);
    if (standby.any) {
      parts.zh.push(`主泵能力不足，${standby.zh}需启用备用泵`);
      parts.en.push(`duty pumps are not enough: standby pump needed ${standby.en}`);
    }
    if (full.any) {
      parts.zh.push(`${full.zh}全部可用泵满负荷运行（${m3(capM3h)}立方米/时）`);
      parts.en.push(`all available pumps at full capacity (${m3(capM3h)} m³/h) ${full.en}`);
    } else if (dutyFull.any) {
      parts.zh.push(`${dutyFull.zh}主泵满负荷运行`);
      parts.en.push(`duty pumps at full capacity ${dutyFull.en}`);
    }

    // Downstream plant at capacity while this station holds water.
    const plantId = plantOf(network, station.id);
    const plant = plantId ? shown.plants.get(plantId) : undefined;
    const plantConfig = network.plants.find((p) => p.id === plantId);
    if (plant && plantConfig) {
      const holding = windows(f, network, (k) => plant.inflowM3h[k]! >= 0.98 * plantConfig.capacityM3h && tr.volumeM3[k]! > (k === 0 ? s.initialVolumeM3 : tr.volumeM3[k - 1]!) + 1);
      if (holding.any) {
        parts.zh.push(`${plantConfig.name.zh}${holding.zh}满负荷，本站蓄水错峰`);
        parts.en.push(`${plantConfig.name.en} at capacity ${holding.en}: water is held here`);
      }
    }

    // Tariff: pumping moved to cheaper hours than the water arrives in.
    const otherDraws = (k: number) => {
      let sum = 0;
      for (const x of network.interconnections) {
        const q = shown.transfers.get(x.id)?.[k] ?? 0;
        if (x.a === station.id && q > 0) sum += q;
        if (x.b === station.id && q < 0) sum -= q;
      }
      for (const t of network.tanks) if (t.node === station.id) sum += shown.tanks.get(t.id)?.inletM3h[k] ?? 0;
      return sum;
    };
    let pumpedM3 = 0;
    let pumpedCny = 0;
    let arrivedM3 = 0;
    let arrivedCny = 0;
    for (let k = 0; k < K; k++) {
      const price = f.priceCnyPerKwh[k]!;
      const previous = k === 0 ? s.initialVolumeM3 : tr.volumeM3[k - 1]!;
      const arrivals = Math.max(0, tr.pumpedM3h[k]! + tr.overflowM3h[k]! + tr.spillM3h[k]! + otherDraws(k) + (tr.volumeM3[k]! - previous) / dt[k]!);
      pumpedM3 += tr.pumpedM3h[k]! * dt[k]!;
      pumpedCny += tr.pumpedM3h[k]! * dt[k]! * price;
      arrivedM3 += arrivals * dt[k]!;
      arrivedCny += arrivals * dt[k]! * price;
    }
    const overflowsHere = tr.overflowM3h.some((q, k) => q * dt[k]! >= 1);
    // At a station that overflows, capacity drives the schedule, not the tariff: say nothing about prices.
    if (pumpedM3 > 1 && arrivedM3 > 1 && !overflowsHere) {
      const pumpedPrice = pumpedCny / pumpedM3;
      const arrivedPrice = arrivedCny / arrivedM3;
      if (pumpedPrice < arrivedPrice - 0.01) {
        const valley = cheapestPeriod(network);
        const savedCny = (arrivedPrice - pumpedPrice) * pumpedM3 * station.specificEnergyKwhM3;
        parts.zh.push(`利用池容将抽水移至低谷电价时段（${valley.ranges}，${valley.priceCnyPerKwh}元/千瓦时），比随来随抽省约${savedCny.toFixed(0)}元`);
        parts.en.push(`uses storage to shift pumping to valley tariff hours (${valley.ranges}, ${valley.priceCnyPerKwh} CNY/kWh): about ${savedCny.toFixed(0)} CNY less than pumping water as it arrives`);
      }
    }

    // Interconnection endpoints.
    for (const x of network.interconnections) {
      if (x.a !== station.id && x.b !== station.id) continue;
      const series = shown.transfers.get(x.id) ?? [];
      const sign = x.a === station.id ? 1 : -1;
      const sentM3 = series.reduce((a, q, k) => a + Math.max(0, sign * q) * dt[k]!, 0);
      const receivedM3 = series.reduce((a, q, k) => a + Math.max(0, -sign * q) * dt[k]!, 0);
      const other = x.a === station.id ? x.b : x.a;
      if (sentM3 >= 1) {
        parts.zh.push(`经${x.name.zh}向${other}输送约${m3(sentM3)}立方米`);
        parts.en.push(`sends about ${m3(sentM3)} m³ to ${other} over ${x.id}`);
      }
      if (receivedM3 >= 1) {
        parts.zh.push(`经${x.name.zh}接收${other}来水约${m3(receivedM3)}立方米`);
        parts.en.push(`receives about ${m3(receivedM3)} m³ from ${other} over ${x.id}`);
      }
    }
  }

  // Storage: high levels, overflow, risk over the scenarios.
  let peakK = 0;
  for (let k = 1; k < K; k++) if (tr.volumeM3[k]! > tr.volumeM3[peakK]!) peakK = k;
  if (level(peakK) >= station.levels.highAlarmM - 1e-6) {
    const t = at(f, network, b[peakK + 1]!);
    parts.zh.push(`水位将于${t.zh}达${lv(level(peakK))}米（高报警${station.levels.highAlarmM}米）`);
    parts.en.push(`level reaches ${lv(level(peakK))} m (high alarm ${station.levels.highAlarmM} m) at ${t.en}`);
  }
  const overflowM3 = tr.overflowM3h.reduce((a, q, k) => a + q * dt[k]!, 0);
  if (overflowM3 >= 1) {
    const when = windows(f, network, (k) => tr.overflowM3h[k]! > 0.5);
    // A dispatcher's cap on a link can be what makes it unavoidable: name it, or the reason blames the network.
    const caps = f.transfers.filter((t) => Number.isFinite(t.dispatcherCapM3h) && t.dispatcherCapM3h < Math.min(t.interconnection.capacityM3h, Math.max(t.interconnection.envelope.transferM3h.max, -t.interconnection.envelope.transferM3h.min)) - 1e-6);
    const capZh = caps.map((t) => `${t.interconnection.id}调度员限值${m3(t.dispatcherCapM3h)}立方米/时`).join('、');
    const capEn = caps.map((t) => `${t.interconnection.id} capped by the dispatcher at ${m3(t.dispatcherCapM3h)} m³/h`).join(', ');
    parts.zh.push(`无法避免溢流约${m3(overflowM3)}立方米（${when.zh}），${caps.length > 0 ? `是现有约束下（${capZh}）的最小值` : '已是管网所能做到的最小值'}`);
    parts.en.push(`an overflow of about ${m3(overflowM3)} m³ cannot be avoided (${when.en}); ${caps.length > 0 ? `it is the least possible with ${capEn}` : 'it is the least the network allows'}`);
  }
  if (risk && risk.probability > 0) {
    parts.zh.push(`溢流风险：${risk.scenarioCount}个情景中${pct(risk.probability)}溢流，期望${m3(risk.expectedVolumeM3)}立方米`);
    parts.en.push(`overflow risk: ${pct(risk.probability)} of ${risk.scenarioCount} scenarios, expected ${m3(risk.expectedVolumeM3)} m³`);
  }
  const band = input.bands.get(station.id);
  if (band) {
    const range = `${Number.isFinite(band.minLevelM) ? lv(band.minLevelM) : '–'}–${Number.isFinite(band.maxLevelM) ? lv(band.maxLevelM) : '–'}`;
    parts.zh.push(`执行调度员液位区间${range}米`);
    parts.en.push(`dispatcher band ${range} m applied`);
  }

  // What SCADA receives now.
  const sp = input.firstStep.stations.find((x) => x.stationId === station.id);
  const scheduled = input.wholePump?.get(station.id);
  if (scheduled) {
    const hours = Math.round(f.grid.offsetH[K]!);
    parts.zh.push(`定速泵按整台排程（避开高峰电价、减少启停）：未来${hours}小时启泵${scheduled.starts}次`);
    parts.en.push(`fixed-speed pumps scheduled as whole pumps (off-peak, few starts): ${scheduled.starts} start${scheduled.starts === 1 ? '' : 's'} in the next ${hours} h`);
    const downstream = scheduled.pricedDownstream ?? [];
    if (downstream.length > 0) {
      // Why a run waits for the tariff change although this station's own saving is small.
      parts.zh.push(`电价计入下游${downstream.join('、')}泵站送这些水的电费`);
      parts.en.push(`priced with what ${downstream.join(' and ')} downstream pay${downstream.length === 1 ? 's' : ''} to pump this water on`);
    }
  }
  if (sp && !s.locked) {
    if (scheduled) {
      const running = Math.round(sp.flowM3h / s.pumpEachM3h);
      parts.zh.push(`当前设定：运行${running}台泵（${m3(sp.flowM3h)}立方米/时）`);
      parts.en.push(`now: ${pumps(running)} running (${m3(sp.flowM3h)} m³/h)`);
    } else if (sp.remoteControl === 'flow') {
      parts.zh.push(`当前设定：流量${m3(sp.flowM3h)}立方米/时，允许${sp.pumpsAllowed}台泵`);
      parts.en.push(`now: flow ${m3(sp.flowM3h)} m³/h, up to ${pumps(sp.pumpsAllowed)}`);
      const held = input.heldVfd?.get(station.id);
      if (held) {
        // The setpoint is not the planned flow: say why, or a dispatcher comparing the two would wonder.
        const change = held.sentM3h < held.plannedM3h ? { zh: '启动', en: 'starting' } : { zh: '停止', en: 'stopping' };
        parts.zh.push(`保持${held.running}台泵运行（计划${m3(held.plannedM3h)}立方米/时），不为短时流量变化${change.zh}一台泵`);
        parts.en.push(`keeps ${pumps(held.running)} running (planned ${m3(held.plannedM3h)} m³/h) rather than ${change.en} one for a short change of flow`);
      }
    } else {
      parts.zh.push(`当前设定：液位${lv(sp.stopLevelM)}–${lv(sp.startLevelM)}米，允许${sp.pumpsAllowed}台泵`);
      parts.en.push(`now: band ${lv(sp.stopLevelM)}–${lv(sp.startLevelM)} m, up to ${pumps(sp.pumpsAllowed)}`);
    }
  }
  return finish(station.id, parts);
}

function transferReason(input: ExplainInput, xId: string): StationReason {
  const { network, formulation: f, shown } = input;
  const x = network.interconnections.find((i) => i.id === xId)!;
  const series = shown.transfers.get(x.id) ?? [];
  const dt = f.grid.durationH;
  const parts: Parts = { zh: [], en: [] };
  const describe = (sign: 1 | -1) => {
    const from = sign > 0 ? x.a : x.b;
    const to = sign > 0 ? x.b : x.a;
    const volume = series.reduce((a, q, k) => a + Math.max(0, sign * q) * dt[k]!, 0);
    if (volume < 1) return;
    const fromPlant = plantOf(network, from);
    const toPlant = plantOf(network, to);
    const fromCfg = network.plants.find((p) => p.id === fromPlant);
    const ratio = (id: string | null, k: number) => {
      const cfg = network.plants.find((p) => p.id === id);
      return cfg ? (shown.plants.get(cfg.id)?.inflowM3h[k] ?? 0) / cfg.capacityM3h : 0;
    };
    const fromStation = f.stations.find((s) => s.station.id === from);
    const keepEnergy = fromStation?.pathEnergyKwhM3 ?? 0;
    const crossEnergy = x.specificEnergyKwhM3 + (f.stations.find((s) => s.station.id === to)?.pathEnergyKwhM3 ?? 0);
    // Why, step by step, in the order of the priorities that can make water cross.
    type Why = 'capacity' | 'full' | 'reserve' | 'balance' | 'energy' | 'spare';
    const whyAt = (k: number): Why => {
      if (ratio(fromPlant, k) >= 0.97) return 'capacity';
      if (fromStation && (shown.stations.get(from)?.volumeM3[k] ?? 0) >= 0.9 * fromStation.volumeMaxM3) return 'full';
      if (fromStation && fromStation.reserveMaxVolumeM3[k] !== null) return 'reserve';
      if (fromCfg && ratio(fromPlant, k) > ratio(toPlant, k) + 0.02) return 'balance';
      if (crossEnergy < keepEnergy - 1e-6) return 'energy';
      return 'spare';
    };
    const text: Record<Why, { zh: string; en: string }> = {
      capacity: { zh: `${fromCfg?.name.zh ?? from}满负荷`, en: `${fromCfg?.name.en ?? from} is at capacity` },
      full: { zh: `${from}池容将满`, en: `storage at ${from} is nearly full` },
      reserve: { zh: `为${from}预留池容接纳预计的雨水入流`, en: `it keeps room at ${from} for the rain-driven inflow expected` },
      balance: { zh: '均衡两厂负荷', en: 'it balances the plants' },
      energy: { zh: `经互联管的线路更省电（${crossEnergy.toFixed(2)}对${keepEnergy.toFixed(2)}千瓦时/立方米）`, en: `the route across needs less energy (${crossEnergy.toFixed(2)} vs ${keepEnergy.toFixed(2)} kWh/m³)` },
      spare: { zh: `${to}下游有富余能力`, en: `there is spare capacity downstream of ${to}` },
    };
    const reasons = (Object.keys(text) as Why[])
      .map((why) => ({ why, when: windows(f, network, (k) => sign * series[k]! > 1 && whyAt(k) === why) }))
      .filter((r) => r.when.any);
    parts.zh.push(`由${from}向${to}输送约${m3(volume)}立方米：${reasons.map((r) => `${r.when.zh}因${text[r.why].zh}`).join('，')}`);
    parts.en.push(`moves about ${m3(volume)} m³ from ${from} to ${to}: ${reasons.map((r) => `${r.when.en} because ${text[r.why].en}`).join(', ')}`);
  };
  describe(1);
  describe(-1);
  if (parts.en.length === 0) {
    const spilling = [...shown.stations.entries()].filter(([, t]) => t.overflowM3h.reduce((a, q, k) => a + q * dt[k]!, 0) >= 1).map(([id]) => id);
    const bypassing = [...shown.plants.entries()].filter(([, t]) => t.bypassM3h.reduce((a, q, k) => a + q * dt[k]!, 0) >= 1).map(([id]) => id);
    if (spilling.length === 0 && bypassing.length === 0) {
      parts.zh.push('两片系统均在能力范围内，无需互联输送');
      parts.en.push('No transfer needed: both systems stay within their capacity');
    } else {
      // Water is lost somewhere, yet nothing crosses: say what holds each direction shut rather than "not needed".
      const model = f.transfers.find((t) => t.interconnection.id === x.id);
      const blocked = (from: string, to: string, limitM3h: number): { zh: string; en: string } => {
        if (limitM3h <= 1e-6 && model && model.dispatcherCapM3h <= 1e-6) return { zh: `${from}→${to}被调度员限值0立方米/时关闭`, en: `${from}→${to} is shut by the dispatcher's cap of 0 m³/h` };
        if (limitM3h <= 1e-6) return { zh: `${from}→${to}安全范围不允许输送`, en: `${from}→${to} is not allowed by the envelope` };
        return { zh: `${from}→${to}无益：${to}一侧无余量`, en: `${from}→${to} would not help: there is no room on ${to}'s side` };
      };
      const ab = blocked(x.a, x.b, model?.maxAbM3h ?? x.capacityM3h);
      const ba = blocked(x.b, x.a, model?.maxBaM3h ?? x.capacityM3h);
      const lost = [...spilling, ...bypassing].join(', ');
      parts.zh.push(`无互联输送，尽管${[...spilling, ...bypassing].join('、')}发生溢流或超越：${ab.zh}；${ba.zh}`);
      parts.en.push(`No transfer although ${lost} overflow${spilling.length + bypassing.length === 1 ? 's' : ''} or bypass: ${ab.en}; ${ba.en}`);
    }
  }
  return finish(x.id, parts);
}

function tankReason(input: ExplainInput, tankId: string): StationReason {
  const { network, formulation: f, shown } = input;
  const tank = network.tanks.find((t) => t.id === tankId)!;
  const tr = shown.tanks.get(tank.id)!;
  const dt = f.grid.durationH;
  const b = f.grid.boundariesUtcMs;
  const parts: Parts = { zh: [], en: [] };
  const inM3 = tr.inletM3h.reduce((a, q, k) => a + q * dt[k]!, 0);
  const outM3 = tr.outletM3h.reduce((a, q, k) => a + q * dt[k]!, 0);
  const overM3 = tr.overflowM3h.reduce((a, q, k) => a + q * dt[k]!, 0);
  let peakK = 0;
  for (let k = 1; k < tr.volumeM3.length; k++) if (tr.volumeM3[k]! > tr.volumeM3[peakK]!) peakK = k;
  const model = f.tanks.find((t) => t.tank.id === tank.id);
  // What spills in from the full well (a combined-sewer tank), from the tank's own balance: it has no gate setpoint.
  const v0 = model?.initialVolumeM3 ?? 0;
  const spillM3h = tr.volumeM3.map((v, k) => Math.max(0, (v - (k === 0 ? v0 : tr.volumeM3[k - 1]!)) / dt[k]! - tr.inletM3h[k]! + tr.outletM3h[k]! + tr.overflowM3h[k]!));
  const spillM3 = spillM3h.reduce((a, q, k) => a + q * dt[k]!, 0);
  const heldM3 = Math.max(v0, tr.volumeM3[peakK]!);
  if (heldM3 < 1 && inM3 + spillM3 >= 1 && outM3 >= 1) {
    // Water let in and out within the same steps is carried through, not stored: say so rather than "shaves
    // the peak" and "empties" of a tank whose volume stays at zero.
    const when = windows(f, network, (k) => tr.outletM3h[k]! > 1);
    parts.zh.push(`${when.zh}将约${m3(outM3)}立方米从${tank.node}经本池直接输往${model?.outletTo ?? tank.node}，池内不存水`);
    parts.en.push(`carries about ${m3(outM3)} m³ from ${tank.node} straight through to ${model?.outletTo ?? tank.node} ${when.en}; it holds no water`);
    if (overM3 >= 1) {
      parts.zh.push(`溢流堰溢流约${m3(overM3)}立方米`);
      parts.en.push(`weir overflow of about ${m3(overM3)} m³`);
    }
    return finish(tank.id, parts);
  }
  if (inM3 >= 1) {
    const when = windows(f, network, (k) => tr.inletM3h[k]! > 1);
    const t = at(f, network, b[peakK + 1]!);
    parts.zh.push(`${when.zh}进水约${m3(inM3)}立方米，削减${tank.node}峰值，最高蓄水${m3(tr.volumeM3[peakK]!)}立方米（${t.zh}）`);
    parts.en.push(`takes about ${m3(inM3)} m³ ${when.en} to shave the peak at ${tank.node}; fullest ${m3(tr.volumeM3[peakK]!)} m³ at ${t.en}`);
  }
  if (spillM3 >= 1) {
    const when = windows(f, network, (k) => spillM3h[k]! > 1);
    const t = at(f, network, b[peakK + 1]!);
    parts.zh.push(`${when.zh}接纳${tank.node}满池后的溢流约${m3(spillM3)}立方米，最高蓄水${m3(tr.volumeM3[peakK]!)}立方米（${t.zh}）`);
    parts.en.push(`takes about ${m3(spillM3)} m³ spilling from the full well at ${tank.node} ${when.en}; fullest ${m3(tr.volumeM3[peakK]!)} m³ at ${t.en}`);
  }
  if (outM3 >= 1) {
    const when = windows(f, network, (k) => tr.outletM3h[k]! > 1);
    parts.zh.push(`${when.zh}放空约${m3(outM3)}立方米（下游有余量时）`);
    parts.en.push(`empties about ${m3(outM3)} m³ ${when.en} when there is room downstream`);
  }
  const turnover = model?.turnover;
  if (turnover && (inM3 >= 1 || model.initialVolumeM3 >= 1)) {
    const by = at(f, network, b[turnover.lastStep + 1]!);
    // Worded from the solved volume, not the target: an outlet held shut leaves the tank full.
    const leftM3 = tr.volumeM3[turnover.lastStep] ?? 0;
    if (leftM3 < 1) {
      parts.zh.push(`旱天${by.zh}前放空，池内污水存放不超过一天，并为下一场雨腾出容积`);
      parts.en.push(`empty again by ${by.en}: in dry weather no sewage stands longer than a day, and the room is free for the next rain`);
    } else if (leftM3 <= turnover.leftM3 + 1) {
      const outletMax = model.outletMaxM3h;
      parts.zh.push(`按出水能力（${m3(outletMax)}立方米/时）尽量放空，${by.zh}时仍存约${m3(leftM3)}立方米，部分污水存放将超过一天`);
      parts.en.push(`drawn down as fast as its outlet allows (${m3(outletMax)} m³/h): about ${m3(leftM3)} m³ still stands at ${by.en}, so some sewage stands longer than a day`);
    } else {
      parts.zh.push(`${by.zh}时仍存约${m3(leftM3)}立方米：下游余量不足以放空，部分污水存放将超过一天`);
      parts.en.push(`about ${m3(leftM3)} m³ still stands at ${by.en}: there is not room downstream to empty it, so some sewage stands longer than a day`);
    }
  }
  if (overM3 >= 1) {
    parts.zh.push(`溢流堰溢流约${m3(overM3)}立方米`);
    parts.en.push(`weir overflow of about ${m3(overM3)} m³`);
  }
  if (parts.en.length === 0) {
    parts.zh.push('无需调蓄，保持空池备用');
    parts.en.push('Not needed: kept empty and ready');
  }
  return finish(tank.id, parts);
}

function plantReason(input: ExplainInput, plantId: string): StationReason {
  const { network, formulation: f, shown } = input;
  const plant = network.plants.find((p) => p.id === plantId)!;
  const tr = shown.plants.get(plant.id)!;
  const dt = f.grid.durationH;
  const parts: Parts = { zh: [], en: [] };
  const peak = Math.max(...tr.inflowM3h);
  const low = Math.min(...tr.inflowM3h);
  const bypassM3 = tr.bypassM3h.reduce((a, q, k) => a + q * dt[k]!, 0);
  // The range is what steadiness (a priority above cost) is about: how far the plant's load swings.
  parts.zh.push(`进厂流量${m3(low)}–${m3(peak)}立方米/时（能力${m3(plant.capacityM3h)}的${pct(low / plant.capacityM3h)}–${pct(peak / plant.capacityM3h)}）`);
  parts.en.push(`Inflow between ${m3(low)} and ${m3(peak)} m³/h (${pct(low / plant.capacityM3h)}–${pct(peak / plant.capacityM3h)} of the ${m3(plant.capacityM3h)} m³/h capacity)`);
  const band = f.plants.find((p) => p.plant.id === plant.id)?.steadyBandShare ?? null;
  if (band !== null && band < 1) {
    // The utility's setting (planning.plantSteadiness.deviationBand), so a dispatcher sees why a cheaper swing was not taken.
    parts.zh.push(`旱天按稳定水平±${pct(band)}能力控制`);
    parts.en.push(`dry weather: held within ±${pct(band)} of capacity of a steady level`);
  }
  if (bypassM3 >= 1) {
    parts.zh.push(`超越约${m3(bypassM3)}立方米无法避免`);
    parts.en.push(`a bypass of about ${m3(bypassM3)} m³ cannot be avoided`);
  }
  return finish(plant.id, parts);
}

/** One reason per station, then per interconnection, tank and plant. */
export function explainPlan(input: ExplainInput): StationReason[] {
  return [
    ...input.formulation.stations.map((s) => stationReason(input, s)),
    ...input.network.interconnections.map((x) => transferReason(input, x.id)),
    ...input.network.tanks.map((t) => tankReason(input, t.id)),
    ...input.network.plants.map((p) => plantReason(input, p.id)),
  ];
}
