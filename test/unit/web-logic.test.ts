// The console's pure rules (web/static/logic.js), imported in Node as the page imports them: which stations
// an approval writes (the server's REMOTE rule), the revision sent with a decision, the translated message for
// each failed request, staleness, the rain countdown, the band check of the modify form, and the parsing of
// forecast sources and autonomy reasons, the role a decision needs, and the workflows' English texts (plan
// errors, modifications, history and report details) read into translated sentences. Every message key the
// rules can answer exists in Chinese and English, with the parameters its sentence names.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { roleOrder } from '../../contract/index.js';
import { responseLevelNames, warningNames } from '../../flood/types.js';

interface ErrorInput {
  status: number;
  message?: string;
  timeout?: boolean;
  write?: boolean;
  timeoutMs?: number;
}
interface Keyed {
  key: string;
  params: Record<string, unknown>;
}
interface Logic {
  REQUEST_TIMEOUT_MS: number;
  LIVE_STATUSES: Set<string>;
  ERROR_KEYS: string[];
  isStale(updatedAtMs: number | null, nowMs: number, refreshMs: number): boolean;
  withRevision(body: Record<string, unknown>, revision: unknown): Record<string, unknown>;
  planChange(previous: { status: string; revision?: number } | null, next: { status: string; revision?: number }): { status: boolean; revision: boolean; leftProposed: boolean };
  dispatchCounts(stationIds: string[], snapshot: { stationId: string; mode: 'local' | 'remote' | null; remoteActive: boolean | null }[]): { written: number; inactive: number; local: number; unknown: number };
  conflictKind(message: string): string;
  errorInfo(input: ErrorInput): Keyed;
  rainCountdown(onsetUtcMs: number | null, endUtcMs: number | null, nowMs: number): { kind: string; minutes?: number; h?: number; m?: number };
  bandProblem(min: number | undefined, max: number | undefined, levels: { overflowM: number }): (Keyed & { field: string }) | null;
  parseForecastSource(source: string): { kind: string; provider: string; rain: string | null; quality: string | null; ageMin: number | null };
  autonomyReason(text: string): { mode: string | null; key: string | null; params: Record<string, unknown> } | null;
  ROLE_ORDER: string[];
  roleAtLeast(role: string | undefined, minimum: string | undefined): boolean;
  decisionAccess(userRole: string | undefined, requiredRole: string | undefined): { allowed: boolean; required: string };
  emergencyReplace(userRole: string | undefined, state: unknown): { planId: string; required: string; allowed: boolean } | null;
  planErrorInfo(text: string): Keyed;
  constraintItems(constraints: unknown): Keyed[];
  WARNING_BY_NAME: Record<string, string>;
  RESPONSE_BY_NAME: Record<string, string>;
  planEventDetail(status: string, detail: string | null): Keyed | null;
  floodActionDetail(kind: string, detail: string | null): Keyed | null;
  floodDataMissing(board: unknown): (Keyed & { notes: string[] })[];
  floodRainOutlook(board: unknown, nowMs: number): { kind: string; minutes?: number };
  floodReplanOffer(board: unknown): { show: boolean; due: string | null };
  reportDispatchLines(dispatch: unknown): Keyed[];
}
interface I18n {
  messages: Record<'zh' | 'en', Record<string, string>>;
  fmtTime: (ms: number) => string;
}

const webRoot = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../web/static');
const logic = (await import(pathToFileURL(path.join(webRoot, 'logic.js')).href)) as Logic;
const { messages, fmtTime } = (await import(pathToFileURL(path.join(webRoot, 'i18n.js')).href)) as I18n;

const translated = (key: string) => {
  assert.ok(messages.zh[key] && messages.en[key], `${key} is translated in zh and en`);
};

void test('the approval counts stations written by the server rule: every REMOTE station, active or not; LOCAL skipped; unknown apart', () => {
  const snapshot = [
    { stationId: 'A', mode: 'remote' as const, remoteActive: true },
    { stationId: 'B', mode: 'remote' as const, remoteActive: false },
    { stationId: 'C', mode: 'local' as const, remoteActive: null },
    { stationId: 'D', mode: null, remoteActive: null },
    { stationId: 'F', mode: 'remote' as const, remoteActive: null },
  ];
  // E has no snapshot entry at all; stations not in the step (F) are not counted.
  assert.deepEqual(logic.dispatchCounts(['A', 'B', 'C', 'D', 'E'], snapshot), { written: 2, inactive: 1, local: 1, unknown: 2 });
  assert.deepEqual(logic.dispatchCounts([], snapshot), { written: 0, inactive: 0, local: 0, unknown: 0 });
  for (const key of ['decision.approveRemote', 'decision.approveInactive', 'decision.approveLocal', 'decision.approveUnknown', 'decision.approveBasis', 'decision.approveRevision']) translated(key);
});

void test('the reviewed revision goes into approve, reject and modify bodies when the plan has one', () => {
  assert.deepEqual(logic.withRevision({ comment: 'ok' }, 3), { comment: 'ok', revision: 3 });
  assert.deepEqual(logic.withRevision({ reason: 'no' }, 1), { reason: 'no', revision: 1 });
  assert.deepEqual(logic.withRevision({ lockedStations: ['E2'] }, 2), { lockedStations: ['E2'], revision: 2 });
  for (const bad of [undefined, null, 0, -1, 1.5, '2']) assert.deepEqual(logic.withRevision({}, bad), {}, `no revision for ${String(bad)}`);
  const body = { comment: 'x' };
  logic.withRevision(body, 2);
  assert.deepEqual(body, { comment: 'x' }, 'the body passed in is not changed');
});

void test('a plan read again: a new revision and leaving "proposed" are told apart', () => {
  assert.deepEqual(logic.planChange(null, { status: 'proposed', revision: 1 }), { status: false, revision: false, leftProposed: false });
  assert.deepEqual(logic.planChange({ status: 'proposed', revision: 1 }, { status: 'proposed', revision: 2 }), { status: false, revision: true, leftProposed: false });
  assert.deepEqual(logic.planChange({ status: 'proposed' }, { status: 'proposed', revision: 1 }), { status: false, revision: false, leftProposed: false }, 'no revision reads as 1');
  assert.deepEqual(logic.planChange({ status: 'proposed', revision: 2 }, { status: 'approved', revision: 2 }), { status: true, revision: false, leftProposed: true });
  assert.deepEqual(logic.planChange({ status: 'approved', revision: 2 }, { status: 'dispatched', revision: 2 }), { status: true, revision: false, leftProposed: false });
});

void test('the plan page keeps polling while the workflow runs, dispatched included', () => {
  for (const s of ['gathering', 'proposed', 'approved', 'dispatched']) assert.ok(logic.LIVE_STATUSES.has(s), s);
  for (const s of ['completed', 'rejected', 'expired', 'superseded', 'replaced', 'dispatch-failed']) assert.ok(!logic.LIVE_STATUSES.has(s), s);
});

void test('failed requests map to translated sentences by status, and 409s by kind', () => {
  const key = (input: ErrorInput) => logic.errorInfo(input).key;
  assert.equal(key({ status: 400, message: 'body must NOT have additional properties' }), 'error.badRequest');
  assert.equal(key({ status: 401 }), 'login.expired');
  assert.equal(key({ status: 403, message: 'needs role dispatcher' }), 'error.forbidden');
  // dispatchPlan's approvePlan refusal (the API's 403): the emergency plan and the role it needs.
  const forbidden = logic.errorInfo({ status: 403, message: '应急预案 ep-r1 正在执行… / emergency plan ep-r1 is in force: approving plan plan-1 replaces it and needs a supervisor or higher; wang is dispatcher' });
  assert.deepEqual(forbidden, { key: 'error.forbiddenEmergency', params: { planId: 'ep-r1', role: 'supervisor' } });
  sentence(forbidden, 'emergency replace 403');
  assert.equal(key({ status: 404, message: 'no plan plan-x' }), 'error.notFound');
  assert.equal(key({ status: 429 }), 'error.rateLimited');
  const locked = logic.errorInfo({ status: 429, message: '多次登录失败，账户已暂时锁定，请 42 秒后再试 / too many failed sign-ins: this account is locked for 42 s' });
  assert.deepEqual(locked, { key: 'error.locked', params: { s: 42 } });
  sentence(locked, 'account locked');
  assert.equal(key({ status: 500, message: 'internal error; see the server log' }), 'error.server');
  assert.equal(key({ status: 503 }), 'error.unavailable', 'a read while Temporal is down');
  // A decision the API sent without an answer back (its 503), or any 5xx on a write: it may have been done.
  assert.equal(key({ status: 503, write: true, message: '决定结果未知… / outcome unknown: …' }), 'error.outcomeUnknown');
  assert.equal(key({ status: 500, write: true }), 'error.outcomeUnknown');
  assert.equal(key({ status: 0 }), 'error.network');
  assert.deepEqual(logic.errorInfo({ status: 418 }), { key: 'error.generic', params: { status: 418 } });
  assert.deepEqual(logic.errorInfo({ status: 0, timeout: true }), { key: 'error.timeout', params: { s: logic.REQUEST_TIMEOUT_MS / 1000 } });
  assert.deepEqual(logic.errorInfo({ status: 0, timeout: true, write: true, timeoutMs: 120_000 }), { key: 'error.timeoutWrite', params: { s: 120 } }, 'a timed-out write may have been done');

  // The workflow validators' messages (workflows/dispatch-plan.ts, flood-season.ts) and the routes' own.
  const conflicts: [string, string, Record<string, unknown>][] = [
    ['plan plan-1 is approved; only a proposed plan can be decided', 'error.conflict.notProposed', { status: 'approved' }],
    ['plan plan-1 is superseded by plan-2; only a proposed plan can be decided', 'error.conflict.notProposed', { status: 'superseded' }],
    ['plan plan-1 is closed', 'error.conflict.closed', {}],
    ['plan plan-1 is being re-planned after a modification; decide on the new revision', 'error.conflict.replanning', {}],
    ['plan plan-1 is at revision 3; the decision was made on revision 2 — review the new revision', 'error.conflict.revision', {}],
    ['invalid modification: band: unknown station X9', 'error.conflict.invalidModification', {}],
    ['no emergency plan is waiting for approval', 'error.conflict.noEmergencyPlan', {}],
    ['emergency plan ep-r1 is not the one waiting (ep-r2)', 'error.conflict.noEmergencyPlan', {}],
    ['plan plan-1 needs a supervisor or higher; wang is dispatcher', 'error.conflict.role', {}],
    ['a rejection needs a reason', 'error.conflict.reasonRequired', {}],
    [
      '应急预案 ep-r1 正在执行，批准计划 plan-1 将替换它：请确认替换（replaceEmergencyPlan: true） / emergency plan ep-r1 is in force: approving plan plan-1 replaces it; confirm with replaceEmergencyPlan: true',
      'error.conflict.emergencyUnconfirmed',
      {},
    ],
    ['something else', 'error.conflict.other', {}],
  ];
  for (const [message, expected, params] of conflicts) assert.deepEqual(logic.errorInfo({ status: 409, message }), { key: expected, params }, message);
  // Never the server's words, never "see the server log", in the sentence itself.
  assert.doesNotMatch(messages.zh['error.server']!, /日志/);
  assert.equal(messages.zh['error.server'], '服务器出错，请稍后重试或联系系统管理员。');
  assert.doesNotMatch(messages.en['error.server']!, /log/);
  for (const k of logic.ERROR_KEYS) translated(k);
  for (const k of ['error.page', 'error.details', 'error.dismiss']) translated(k);
});

void test('"updated at" is stale after two refresh intervals', () => {
  assert.equal(logic.isStale(1_000, 21_000, 10_000), false);
  assert.equal(logic.isStale(1_000, 21_001, 10_000), true);
  assert.equal(logic.isStale(null, 1e12, 10_000), false, 'nothing shown yet is not stale');
});

void test('the rain countdown runs from the forecast onset and now, not the assessment', () => {
  const onset = Date.UTC(2026, 6, 1, 6, 0);
  const end = onset + 6 * 3_600_000;
  assert.deepEqual(logic.rainCountdown(onset, end, onset - 95 * 60_000), { kind: 'until', minutes: 95, h: 1, m: 35 });
  assert.deepEqual(logic.rainCountdown(onset, end, onset - 30_000), { kind: 'until', minutes: 1, h: 0, m: 1 }, 'under a minute to go is still a minute');
  assert.deepEqual(logic.rainCountdown(onset, end, onset + 90 * 60_000), { kind: 'raining', minutes: 90 });
  assert.deepEqual(logic.rainCountdown(onset, end, end), { kind: 'ended' });
  assert.deepEqual(logic.rainCountdown(onset, null, onset + 60_000), { kind: 'raining', minutes: 1 });
  assert.deepEqual(logic.rainCountdown(null, null, onset), { kind: 'none' });
  for (const k of ['flood.noRain', 'flood.rainEnded', 'flood.raining', 'flood.onsetIn']) translated(k);
});

void test("the modify form's band is checked against the station's levels before it is sent", () => {
  const levels = { overflowM: 4.2 };
  assert.equal(logic.bandProblem(1, 3, levels), null);
  assert.equal(logic.bandProblem(2, 2, levels), null, 'min = max is allowed, as the server allows it');
  assert.equal(logic.bandProblem(undefined, 4.2, levels), null);
  assert.equal(logic.bandProblem(0, undefined, levels), null);
  assert.deepEqual(logic.bandProblem(undefined, undefined, levels), { key: 'modify.errBandEmpty', params: {}, field: 'min' });
  assert.deepEqual(logic.bandProblem(-0.1, 2, levels), { key: 'modify.errBandNegative', params: {}, field: 'min' });
  assert.deepEqual(logic.bandProblem(1, 4.5, levels), { key: 'modify.errBandAboveOverflow', params: { overflow: 4.2 }, field: 'max' });
  assert.deepEqual(logic.bandProblem(3, 2, levels), { key: 'modify.errBandOrder', params: {}, field: 'max' });
  assert.deepEqual(logic.bandProblem(Number.NaN, 2, levels), { key: 'modify.errBandNumber', params: {}, field: 'min' });
  for (const k of ['modify.errBandEmpty', 'modify.errBandNegative', 'modify.errBandAboveOverflow', 'modify.errBandOrder', 'modify.errBandNumber', 'modify.lockedAlready']) translated(k);
});

void test('forecast sources and autonomy reasons are read into parts the console translates', () => {
  assert.deepEqual(logic.parseForecastSource('inflow-forecast;rain=open-meteo:cma_grapes_global;quality=fresh'), { kind: 'inflow', provider: '', rain: 'open-meteo:cma_grapes_global', quality: 'fresh', ageMin: null });
  assert.deepEqual(logic.parseForecastSource('open-meteo:gfs;quality=stale,age=95min'), { kind: 'rain', provider: 'open-meteo:gfs', rain: null, quality: 'stale', ageMin: 95 });
  assert.deepEqual(logic.parseForecastSource('fallback:climatology;quality=fallback'), { kind: 'fallback', provider: 'climatology', rain: null, quality: 'fallback', ageMin: null });
  assert.deepEqual(logic.parseForecastSource('inflow-forecast(influxdb);quality=unknown'), { kind: 'inflow', provider: '', rain: null, quality: 'unknown', ageMin: null });
  assert.equal(logic.parseForecastSource('none').kind, 'none');
  // The planner without an inflow forecast, and a stored rain series (the forecasts page).
  assert.deepEqual(logic.parseForecastSource('dry-weather flow only;rain=none'), { kind: 'dwf', provider: '', rain: 'none', quality: null, ageMin: null });
  assert.deepEqual(logic.parseForecastSource('open-meteo:best_match;quality=fresh;60min'), { kind: 'rain', provider: 'open-meteo:best_match', rain: null, quality: 'fresh', ageMin: null });
  for (const k of ['forecastSource.inflow', 'forecastSource.dwf', 'forecastSource.rain', 'forecastSource.fallback', 'forecastSource.other', 'forecastSource.rainOf', 'forecastSource.quality', 'forecastSource.age', 'rainQuality.unknown']) translated(k);

  assert.deepEqual(logic.autonomyReason('auto-within-bounds: within bounds of plan-a over 4 step(s) (levels ±0.3 m, transfers ±200 m³/h)'), {
    mode: 'auto-within-bounds',
    key: 'autonomy.reason.within',
    params: { planId: 'plan-a', n: 4, level: '0.3', transfer: '200' },
  });
  assert.deepEqual(logic.autonomyReason('pre-approved playbook: flood-drawdown'), { mode: null, key: 'autonomy.reason.playbook', params: { opMode: 'flood-drawdown' } });
  assert.equal(logic.autonomyReason('no approved plan to compare with: a dispatcher decides')?.key, 'autonomy.reason.noLastApproved');
  assert.equal(logic.autonomyReason('E1 start level 2 → 3 m exceeds ±0.3 m')?.key, 'autonomy.reason.outOfBounds');
  assert.deepEqual(logic.autonomyReason('emergency-auto: something new'), { mode: 'emergency-auto', key: null, params: {} });
  assert.equal(logic.autonomyReason('something new'), null);
  for (const k of Object.keys(messages.zh).filter((x) => x.startsWith('autonomy.'))) translated(k);
  for (const mode of ['advisory', 'auto-within-bounds', 'emergency-auto']) translated(`autonomy.${mode}`);
});

/**
 * A { key, params } answer the page can put in words: the key exists in both languages, and every
 * placeholder of its sentences is among the params (nested sentences checked the same way).
 */
const sentence = (info: Keyed | null, label: string) => {
  assert.ok(info, `${label}: a sentence`);
  translated(info.key);
  const wants = (text: string) => [...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1]!);
  for (const lang of ['zh', 'en'] as const) {
    for (const name of wants(messages[lang][info.key]!)) assert.ok(name in info.params, `${label}: ${lang} ${info.key} needs {${name}}`);
  }
  for (const value of Object.values(info.params)) {
    for (const nested of Array.isArray(value) ? value : [value]) {
      if (nested && typeof nested === 'object' && 'key' in nested) sentence(nested as Keyed, `${label} › ${(nested as Keyed).key}`);
    }
  }
  return info;
};

void test('decisions need the plan\'s required role, never less than dispatcher, in the order the API uses', () => {
  assert.deepEqual(logic.ROLE_ORDER, [...roleOrder], 'the same order as contract/index.ts');
  assert.equal(logic.roleAtLeast('supervisor', 'dispatcher'), true);
  assert.equal(logic.roleAtLeast('dispatcher', 'supervisor'), false);
  assert.equal(logic.roleAtLeast('admin', 'admin'), true);
  assert.equal(logic.roleAtLeast('system', 'viewer'), false, 'an unknown role is not enough');
  assert.equal(logic.roleAtLeast(undefined, 'viewer'), false);

  assert.deepEqual(logic.decisionAccess('dispatcher', 'dispatcher'), { allowed: true, required: 'dispatcher' });
  assert.deepEqual(logic.decisionAccess('dispatcher', 'supervisor'), { allowed: false, required: 'supervisor' });
  assert.deepEqual(logic.decisionAccess('supervisor', 'supervisor'), { allowed: true, required: 'supervisor' });
  assert.deepEqual(logic.decisionAccess('supervisor', 'admin'), { allowed: false, required: 'admin' });
  assert.deepEqual(logic.decisionAccess('admin', 'supervisor'), { allowed: true, required: 'supervisor' });
  assert.deepEqual(logic.decisionAccess('viewer', undefined), { allowed: false, required: 'dispatcher' }, 'no required role: dispatcher, as the API wants');
  assert.deepEqual(logic.decisionAccess('viewer', 'viewer'), { allowed: false, required: 'dispatcher' }, 'the API never lets a viewer decide');
  assert.deepEqual(logic.decisionAccess(undefined, 'dispatcher'), { allowed: false, required: 'dispatcher' });
  for (const k of ['decision.needsRole', 'decision.needsRoleTooltip', 'decision.viewerOnly', 'decision.viewerTooltip']) translated(k);

  // Approving a plan that replaces the emergency plan in force: that plan's role, never below dispatcher.
  const replacing = (requiredRole?: string) => ({ planId: 'plan-1', replacesEmergency: { planId: 'ep-r1', ...(requiredRole ? { requiredRole } : {}) } });
  assert.equal(logic.emergencyReplace('supervisor', { planId: 'plan-1' }), null, 'replaces no emergency plan');
  assert.equal(logic.emergencyReplace('supervisor', undefined), null);
  assert.deepEqual(logic.emergencyReplace('dispatcher', replacing('supervisor')), { planId: 'ep-r1', required: 'supervisor', allowed: false });
  assert.deepEqual(logic.emergencyReplace('supervisor', replacing('supervisor')), { planId: 'ep-r1', required: 'supervisor', allowed: true });
  assert.deepEqual(logic.emergencyReplace('supervisor', replacing('admin')), { planId: 'ep-r1', required: 'admin', allowed: false });
  assert.deepEqual(logic.emergencyReplace('dispatcher', replacing('dispatcher')), { planId: 'ep-r1', required: 'dispatcher', allowed: true }, 'a level-IV plan: a dispatcher, with the confirmation');
  assert.deepEqual(logic.emergencyReplace('dispatcher', replacing()), { planId: 'ep-r1', required: 'supervisor', allowed: false }, 'not known: supervisor, as the workflow assumes');
  for (const k of ['decision.replacesEmergency', 'decision.replaceEmergencyConfirm', 'decision.replaceEmergencyRequired', 'decision.replaceEmergencyTooltip']) translated(k);
  for (const lang of ['zh', 'en'] as const) {
    assert.match(messages[lang]['decision.replacesEmergency']!, /\{planId\}.*\{role\}/, `${lang}: names the emergency plan and the role`);
    assert.match(messages[lang]['decision.replaceEmergencyConfirm']!, /\{planId\}/);
  }
  for (const role of roleOrder) translated(`role.${role}`);
  assert.match(messages.zh['decision.needsRole']!.replace('{role}', messages.zh['role.supervisor']!), /此计划需调度主管或以上角色审批/);
});

void test("a plan's error gets a translated label; the step is counted from 1 as the page counts steps", () => {
  assert.deepEqual(sentence(logic.planErrorInfo('step 0: OPC UA write to E3 timed out'), 'step error'), { key: 'plan.errorStep', params: { step: 1 } });
  assert.deepEqual(logic.planErrorInfo('step 4: x').params, { step: 5 });
  // Records written since the total is given count from 1 already.
  assert.deepEqual(logic.planErrorInfo('step 1 of 12: OPC UA write to E3 timed out').params, { step: 1 });
  assert.deepEqual(logic.planErrorInfo('step 12 of 12: x').params, { step: 12 });
  assert.deepEqual(sentence(logic.planErrorInfo('Activity task failed'), 'other error'), { key: 'plan.errorOther', params: {} });
  assert.equal(logic.planErrorInfo('').key, 'plan.errorOther');
});

void test("a modification's constraints become one sentence per band, lock and cap", () => {
  const items = logic.constraintItems({
    stationBands: [{ stationId: 'E1', minLevelM: 1.2, maxLevelM: 2.5 }, { stationId: 'E2', minLevelM: 0.8 }, { stationId: 'E3', maxLevelM: 3 }, { stationId: 'E4' }],
    lockedStations: ['E5', 'E6'],
    transferCaps: [{ interconnectionId: 'X1', maxAbsM3h: 300 }],
  });
  assert.deepEqual(items, [
    { key: 'modify.item.band', params: { station: 'E1', minLevelM: 1.2, maxLevelM: 2.5 } },
    { key: 'modify.item.bandMin', params: { station: 'E2', minLevelM: 0.8 } },
    { key: 'modify.item.bandMax', params: { station: 'E3', maxLevelM: 3 } },
    { key: 'modify.item.locked', params: { stations: ['E5', 'E6'] } },
    { key: 'modify.item.cap', params: { link: 'X1', capM3h: 300 } },
  ]);
  items.forEach((x, i) => sentence(x, `item ${i}`));
  assert.deepEqual(logic.constraintItems({}), []);
  assert.deepEqual(logic.constraintItems(null), []);
  assert.deepEqual(logic.constraintItems({ lockedStations: [] }), [], 'an empty lock list says nothing');
});

// The texts below are written exactly as workflows/dispatch-plan.ts and flood-season.ts write them; the
// last test checks those templates are still in the workflow sources.
void test('history details: the plan workflow\'s texts become sentences; comments and unknown texts stay as sent', () => {
  const d = (status: string, detail: string | null) => logic.planEventDetail(status, detail);
  assert.deepEqual(sentence(d('escalated', 'notified the supervisor after 30 min'), 'escalated'), { key: 'event.escalatedAfter', params: { role: 'supervisor', min: 30 } });
  assert.deepEqual(sentence(d('escalated', 'the supervisor could NOT be notified after 30 min (see notification-failed)'), 'escalated'), { key: 'event.escalationUnnotified', params: { role: 'supervisor', min: 30 } });
  assert.deepEqual(sentence(d('expired', 'plan plan-a stays in force'), 'kept'), { key: 'event.keptPlan', params: { planId: 'plan-a' } });
  assert.deepEqual(sentence(d('rejected', 'stations keep their current setpoints / local control'), 'kept none'), { key: 'event.keptNone', params: {} });
  assert.deepEqual(sentence(d('superseded', 'superseded by plan-b'), 'superseded'), { key: 'event.supersededBy', params: { planId: 'plan-b' } });
  assert.deepEqual(sentence(d('replaced', 'replaced by plan-c'), 'replaced'), { key: 'event.replacedBy', params: { planId: 'plan-c' } });
  assert.deepEqual(sentence(d('completed', '12 steps applied'), 'completed'), { key: 'event.stepsApplied', params: { n: 12 } });

  const modified = sentence(d('modified', 'revision 3 by qian: {"transferCaps":[{"interconnectionId":"X1","maxAbsM3h":300}]}'), 'modified');
  assert.deepEqual(modified, { key: 'event.modified', params: { revision: 3, user: 'qian', changes: [{ key: 'modify.item.cap', params: { link: 'X1', capM3h: 300 } }] } });
  assert.equal(d('modified', 'revision 2 by zhou: {"lockedStations":["E2"'), null, 'JSON cut short: as sent');
  assert.equal(d('modified', 'revision 2 by zhou: {}'), null, 'nothing the console knows: as sent');

  const failure = { key: 'event.writesFailed', params: { stations: ['E1', 'E4'], n: 3, step: 1 } };
  assert.deepEqual(sentence(d('handed-back', 'E1,E4: writes failed 3 times at step 0'), 'handed back'), { key: 'event.handedBack', params: { failure } });
  const gaveUp = { key: 'event.writesGaveUp', params: { stations: ['E1'], step: 3, retries: 2 } };
  assert.deepEqual(sentence(d('handed-back', 'E1: writes failed at step 2; retry 2 gave up: write E1.startLevelSpM: BadTimeout'), 'gave up'), { key: 'event.handedBack', params: { failure: gaveUp } });
  assert.deepEqual(sentence(d('hand-back-skipped', 'E1,E4: writes failed 3 times at step 0; not handed back: replaced by plan-d'), 'skipped replaced'), {
    key: 'event.handBackSkipped',
    params: { failure, why: { key: 'event.skipReplaced', params: { planId: 'plan-d' } } },
  });
  assert.deepEqual(sentence(d('hand-back-skipped', 'E1: writes failed at step 2; retry 2 gave up: a; b: c; not handed back: cancelled'), 'skipped cancelled'), {
    key: 'event.handBackSkipped',
    params: { failure: gaveUp, why: { key: 'event.skipCancelled', params: {} } },
  });
  assert.deepEqual(sentence(d('link-write-failed', 'X1.transferSpM3h = 300, T1.outflowSpM3h = 50: not written after 4 attempts at step 1 (BadCommunicationError)'), 'link'), {
    key: 'event.linkWriteFailed',
    params: { what: 'X1.transferSpM3h = 300, T1.outflowSpM3h = 50', n: 4, step: 2 },
  });
  assert.deepEqual(d('link-write-failed', 'X1.transferSpM3h = 300: not written after 1 attempts at step 0')?.params, { what: 'X1.transferSpM3h = 300', n: 1, step: 1 });
  // The same texts as written since steps are counted from 1 with the total.
  assert.deepEqual(sentence(d('handed-back', 'E1,E4: writes failed 3 times at step 1 of 8'), 'handed back, counted'), { key: 'event.handedBack', params: { failure } });
  assert.deepEqual(sentence(d('handed-back', 'E1: writes failed at step 3 of 8; retry 2 gave up: write E1.startLevelSpM: BadTimeout'), 'gave up, counted'), { key: 'event.handedBack', params: { failure: gaveUp } });
  assert.deepEqual(d('link-write-failed', 'X1.transferSpM3h = 300: not written after 4 attempts at step 2 of 8 (BadCommunicationError)')?.params, { what: 'X1.transferSpM3h = 300', n: 4, step: 2 });
  assert.deepEqual(sentence(d('dispatch-failed', 'step 3 of 8: OPC UA session closed'), 'failed, counted'), { key: 'plan.errorStep', params: { step: 3 } });
  assert.deepEqual(sentence(d('dispatch-failed', 'step 2: OPC UA session closed'), 'failed'), { key: 'plan.errorStep', params: { step: 3 } });
  assert.deepEqual(sentence(d('needs-approval', 'no approved plan to compare with: a dispatcher decides'), 'needs approval'), { key: 'autonomy.reason.noLastApproved', params: {} });
  assert.deepEqual(sentence(d('auto-approved', 'auto-within-bounds: within bounds of plan-a over 4 step(s) (levels ±0.3 m, transfers ±200 m³/h)'), 'auto').key, 'autonomy.reason.within');

  // A dispatcher's comment, the same words under another status, and texts not known here: as sent.
  assert.equal(d('approved', '同意，按计划执行'), null);
  assert.equal(d('approved', 'notified the supervisor'), null);
  assert.equal(d('handed-back', 'E1: something else'), null);
  assert.equal(d('dispatch-failed', 'Activity task failed'), null);
  assert.equal(d('needs-approval', 'a reason from a newer workflow'), null);
  assert.equal(d('expired', ''), null);
  assert.equal(d('expired', null), null);
});

void test('report details: the flood workflow\'s texts become sentences with their times in Beijing time; comments stay as sent', () => {
  const a = (kind: string, detail: string) => logic.floodActionDetail(kind, detail);
  // The English names the workflow writes are the ones the console reads back.
  for (const [code, name] of Object.entries(warningNames)) assert.equal(logic.WARNING_BY_NAME[name.en], code, name.en);
  for (const [code, name] of Object.entries(responseLevelNames)) assert.equal(logic.RESPONSE_BY_NAME[name.en], code, name.en);
  assert.equal(Object.keys(logic.WARNING_BY_NAME).length, Object.keys(warningNames).length);
  assert.equal(Object.keys(logic.RESPONSE_BY_NAME).length, Object.keys(responseLevelNames).length);

  const due = Date.UTC(2025, 6, 1, 6, 30);
  assert.deepEqual(sentence(a('crew-task', `mobile-pump @ E3 (30.7012,121.0345) due ${new Date(due).toISOString()}`), 'crew'), {
    key: 'event.crewTask',
    params: { crewKind: 'mobile-pump', station: 'E3', lat: '30.7012', lon: '121.0345', dueUtcMs: due },
  });
  assert.equal(fmtTime(due), '2025-07-01 14:30', 'the page shows the due time (dueUtcMs) in Beijing time');
  assert.equal(a('crew-task', 'patrol @ E3 (30.7,121.0) due tomorrow'), null, 'a time that does not parse: as sent');
  assert.deepEqual(sentence(a('notification', 'supervisor: 应急预案未获批准已失效 / Emergency plan expired unapproved'), 'notification'), {
    key: 'event.notified',
    params: { audience: 'supervisor', title: { zh: '应急预案未获批准已失效', en: 'Emergency plan expired unapproved' } },
  });
  assert.deepEqual(a('notification', 'crew: 防汛任务 3 项 / 3 flood tasks')?.params, { audience: 'crew', title: { zh: '防汛任务 3 项', en: '3 flood tasks' } });
  assert.deepEqual(sentence(a('plan-approved', 'revision 2'), 'approved'), { key: 'event.revision', params: { revision: 2 } });
  assert.equal(a('plan-approved', '同意启动Ⅳ级响应'), null, "the approver's comment");
  assert.equal(a('plan-rejected', 'revision 2'), null, 'a rejection reason, whatever it says');
  assert.deepEqual(sentence(a('plan-auto-approved', `emergency-auto: pre-approved playbook for ${responseLevelNames.II.en}`), 'auto'), { key: 'autonomy.reason.playbookFor', params: { response: 'II' } });
  assert.deepEqual(sentence(a('dispatch-started', '6 stations drawn down; 2 transfer(s)'), 'started'), { key: 'event.dispatchStarted', params: { stations: 6, transfers: 2 } });
  assert.deepEqual(sentence(a('plan-superseded', 'revision 1 replaced by revision 2 before approval'), 'superseded'), { key: 'event.revisionReplaced', params: { revision: 1, next: 2 } });
  assert.deepEqual(sentence(a('plan-expired', 'approved plan ep-1 stays in force'), 'expired kept'), { key: 'event.keptPlan', params: { planId: 'ep-1' } });
  assert.deepEqual(sentence(a('plan-expired', 'no emergency setpoints were sent; stations stay on their current settings / local control'), 'expired none'), { key: 'event.keptNoEmergency', params: {} });
  assert.deepEqual(sentence(a('plan-escalated', 'notified the admin'), 'escalated'), { key: 'event.escalated', params: { role: 'admin' } });
  assert.deepEqual(sentence(a('stand-down', 'no warning for 3 checks'), 'stand-down'), { key: 'event.standDown', params: { n: 3 } });
  assert.deepEqual(sentence(a('warning-raised', `${warningNames.orange.en} (observed yellow, forecast orange): ${responseLevelNames.II.en}`), 'raised'), {
    key: 'event.warningRaised',
    params: { warning: 'orange', observed: 'yellow', forecast: 'orange', response: 'II' },
  });
  assert.deepEqual(sentence(a('warning-raised', `${warningNames.yellow.en} → ${warningNames.red.en}: ${responseLevelNames.I.en}`), 'changed'), {
    key: 'event.warningChangedResponse',
    params: { fromWarning: 'yellow', toWarning: 'red', response: 'I' },
  });
  assert.deepEqual(sentence(a('warning-lowered', `${warningNames.blue.en} → none`), 'lowered'), { key: 'event.warningChanged', params: { fromWarning: 'blue', toWarning: 'none' } });
  assert.equal(a('warning-lowered', 'purple rainstorm warning → none'), null, 'a name not known: as sent');
  assert.equal(a('plan-proposed', 'Level IV response: draw down 6 stations'), null, "the plan's English summary: as sent");
  assert.equal(a('something-new', 'x'), null);
  for (const audience of ['dispatcher', 'supervisor', 'admin', 'crew']) translated(`audience.${audience}`);
});

void test('the workflow texts read above are still the ones the workflows write', () => {
  const source = (file: string) => readFileSync(path.join(webRoot, '../..', file), 'utf8');
  const expectations: [string, string[]][] = [
    [
      'workflows/dispatch-plan.ts',
      [
        'state.error = `${stepOf(k)}: ${errorText(error)}`',
        'const stepOf = (k: number) => `step ${k + 1} of ${plan.steps.length}`',
        "`revision ${state.revision} by ${m.userName}: ${JSON.stringify(m.constraints)}`",
        '`notified the ${up} after ${waitedMin} min`',
        '`the ${up} could NOT be notified after ${waitedMin} min (see notification-failed)`',
        '`plan ${state.keptPlanId} stays in force`',
        "'stations keep their current setpoints / local control'",
        '`superseded by ${state.supersededBy}`',
        '`replaced by ${state.replacedBy}`',
        '`${state.steps!.length} steps applied`',
        '`writes failed at ${stepOf(k)}; retry ${retries} gave up: ${retryError}`',
        '`writes failed ${retries + 1} times at ${stepOf(k)}`',
        "`${failing.join(',')}: ${reason}; not handed back: ${state.replacedBy ? `replaced by ${state.replacedBy}` : 'cancelled'}`",
        "`${failing.join(',')}: ${reason}`",
        "`${what}: not written after ${linkRetries + 1} attempts at ${stepOf(k)}${linkError ? ` (${linkError})` : ''}`",
      ],
    ],
    [
      'workflows/flood-season.ts',
      [
        "act('notification', `${n.audience}: ${n.title}`)",
        '`revision ${plan.revision}`',
        '`${plan.drawdown.length} stations drawn down; ${plan.transfers.length} transfer(s)`',
        '`${t.kind} @ ${t.stationId} (${t.location.latDeg},${t.location.lonDeg}) due ${new Date(t.dueUtcMs).toISOString()}`',
        '`revision ${state.pending.plan.revision} replaced by revision ${revision} before approval`',
        '`approved plan ${state.live.emergencyPlanId} stays in force`',
        "'no emergency setpoints were sent; stations stay on their current settings / local control'",
        '`notified the ${to}`',
        '`no warning for ${state.quietChecks} checks`',
        '`${warningNames[a.warning].en} (observed ${a.bySource.observed}, forecast ${a.bySource.forecast}): ${responseLevelNames[a.response].en}`',
        '`${warningNames[before].en} → none`',
        '`${warningNames[before].en} → ${warningNames[a.warning].en}: ${responseLevelNames[a.response].en}`',
        '`emergency-auto: pre-approved playbook for ${responseLevelNames[plan.response].en}`',
      ],
    ],
  ];
  for (const [file, templates] of expectations) {
    const text = source(file);
    for (const template of templates) assert.ok(text.includes(template), `${file} still writes ${template} (else change logic.js to match)`);
  }
});

// --- Flood board: what its inputs lacked (audit F12), re-plan, and the report's dispatch outcomes ------------

const T0 = Date.UTC(2026, 6, 14, 8, 0);
/** A board as GET /api/flood/board sends it (api/routes/flood.ts FloodBoardBody), trimmed to what the rules read. */
const board = (over: Record<string, unknown> = {}, inputs: Record<string, unknown> = {}) => ({
  status: 'event',
  warning: 'yellow',
  response: 'III',
  assessedAtUtcMs: T0,
  rain: { onsetUtcMs: null, endUtcMs: null },
  pending: null,
  replanDue: null,
  notificationFailures: [],
  ...over,
  inputs: { notes: [], forecastIssuedAtUtcMs: T0 - 3_600_000, forecastSource: 'open-meteo', forecastMissing: false, levelKeptSinceUtcMs: null, alarmed: false, levelsUnknown: [], ...inputs },
});

void test('flood board during a forecast outage: "data missing" names the forecast, the kept level and unreadable levels, never "no rain"', () => {
  const outage = board({}, {
    notes: ['forecast unavailable: forecast server: HTTP 503', 'SCADA unavailable: connect ECONNREFUSED', 'flood_status not written: timeout'],
    forecastIssuedAtUtcMs: null,
    forecastSource: 'none',
    forecastMissing: true,
    levelKeptSinceUtcMs: T0 - 30 * 60_000,
    alarmed: true,
    levelsUnknown: ['W1', 'E2'],
  });
  const items = logic.floodDataMissing(outage);
  assert.deepEqual(
    items.map((i) => [i.key, i.params, i.notes]),
    [
      ['flood.missing.forecast', { since: T0 - 30 * 60_000 }, ['forecast unavailable: forecast server: HTTP 503']],
      ['flood.missing.levelKept', { warning: 'yellow', since: T0 - 30 * 60_000, alarmed: 'yes' }, []],
      ['flood.missing.levels', { n: 2, stations: 'W1, E2' }, ['SCADA unavailable: connect ECONNREFUSED']],
      ['flood.missing.other', { n: 1 }, ['flood_status not written: timeout']],
    ],
  );
  // The outage board had onset null and maxima 0: the countdown said "no significant rain". Now: unavailable.
  assert.deepEqual(logic.floodRainOutlook(outage, T0), { kind: 'unavailable' });
  assert.deepEqual(logic.floodRainOutlook({ ...outage, rain: { onsetUtcMs: T0 - 60 * 60_000, endUtcMs: null } }, T0), { kind: 'raining', minutes: 60 }, 'observed rain under way still counts');
  // With a forecast, nothing is missing and no rain is no rain.
  assert.deepEqual(logic.floodDataMissing(board()), []);
  assert.deepEqual(logic.floodRainOutlook(board(), T0), { kind: 'none' });
  // No check at all yet; observed rain missing alone.
  assert.deepEqual(logic.floodDataMissing(board({ assessedAtUtcMs: null }, { forecastMissing: true, notes: ['no assessment: no rain data'] })).map((i) => i.key), ['flood.missing.noAssessment']);
  assert.deepEqual(logic.floodDataMissing(board({}, { notes: ['observed rain unavailable: archive 500'] })).map((i) => [i.key, i.notes]), [['flood.missing.observed', ['observed rain unavailable: archive 500']]]);
  // The season's own notes on the outage (no assessment could be made) read as a missing forecast.
  assert.deepEqual(logic.floodDataMissing(board({}, { forecastMissing: true, levelKeptSinceUtcMs: T0, notes: ['no assessment: no rain data'] })).map((i) => [i.key, i.notes]), [['flood.missing.forecast', ['no assessment: no rain data']], ['flood.missing.levelKept', []]]);
  for (const key of ['flood.missing.title', 'flood.missing.lead', 'flood.missing.details', 'flood.missing.noAssessment', 'flood.missing.forecast', 'flood.missing.levelKept', 'flood.missing.observed', 'flood.missing.levels', 'flood.missing.other', 'flood.forecastUnavailable', 'flood.forecastUnavailableHint', 'flood.forecastIssued', 'flood.forecastNone', 'flood.notifyFailed.title', 'flood.notifyFailed.line']) translated(key);
  assert.match(messages.zh['flood.forecastUnavailable']!, /降雨预报不可用/);
  assert.match(messages.zh['flood.missing.title']!, /数据缺失/);
  assert.match(messages.en['flood.missing.title']!, /Data missing/);
});

void test('re-plan is offered while a warning is in force and nothing waits; a request on its way says so instead', () => {
  assert.deepEqual(logic.floodReplanOffer(board()), { show: true, due: null });
  const waiting = { emergencyPlanId: 'p-r2', response: 'III' };
  assert.deepEqual(logic.floodReplanOffer(board({ pending: waiting })), { show: false, due: null }, 'a plan waits: decide it');
  assert.deepEqual(logic.floodReplanOffer(board({ response: null, warning: 'none' })), { show: false, due: null }, 'no response level');
  assert.deepEqual(logic.floodReplanOffer(board({ status: 'standing-down' })), { show: false, due: null });
  assert.deepEqual(logic.floodReplanOffer(board({ status: 'watching', response: null })), { show: false, due: null });
  for (const due of ['requested', 'expired', 'rejected']) {
    assert.deepEqual(logic.floodReplanOffer(board({ replanDue: due })), { show: false, due });
    translated(`flood.replan.due.${due}`);
  }
  for (const key of ['flood.replan.title', 'flood.replan.lead', 'flood.replan.button', 'flood.replan.dialogTitle', 'flood.replan.reason', 'flood.replan.sent', 'action.flood.replan', 'action.flood.replan.refused']) translated(key);
  // The route's refusals (api/routes/flood.ts) read as their own sentences.
  assert.equal(logic.conflictKind('emergency plan plan-flood-x-e1-r2 is waiting for a decision; approve or reject it first'), 'emergencyPlanWaiting');
  assert.equal(logic.conflictKind('no flood event with a response level is in progress'), 'noFloodEvent');
  assert.equal(logic.conflictKind('the event is standing down'), 'noFloodEvent');
  for (const kind of ['emergencyPlanWaiting', 'noFloodEvent']) assert.ok(logic.ERROR_KEYS.includes(`error.conflict.${kind}`));
});

void test('the report\'s dispatch outcomes: failed steps, hand-backs, link-write failures and a failed dispatch per plan; unreadable is said', () => {
  const lines = logic.reportDispatchLines([
    { planId: 'p1', stepsApplied: 4, failedSteps: [{ stepNumber: 2, failed: 1, atUtcMs: T0 }], handBacks: [{ atUtcMs: T0 + 1, detail: 'E2' }], linkWriteFailures: [{ atUtcMs: T0 + 2, detail: 'X1' }], dispatchFailed: { atUtcMs: T0 + 3, detail: 'boom' } },
    { planId: 'p2', stepsApplied: 1, failedSteps: [], handBacks: [], linkWriteFailures: [], dispatchFailed: null },
  ]);
  assert.deepEqual(
    lines.map((l) => l.key),
    ['reports.dispatchPlan', 'reports.dispatchFailedStep', 'reports.dispatchHandBack', 'reports.dispatchLinkWrite', 'reports.dispatchFailed', 'reports.dispatchClean'],
  );
  assert.deepEqual(lines[1]!.params, { planId: 'p1', step: 2, failed: 1, atUtcMs: T0 });
  assert.deepEqual(lines[5]!.params, { planId: 'p2', steps: 1 });
  assert.deepEqual(logic.reportDispatchLines(null), [{ key: 'reports.dispatchUnknown', params: {} }]);
  assert.deepEqual(logic.reportDispatchLines(undefined), [], 'a report from before dispatch outcomes were kept');
  assert.deepEqual(logic.reportDispatchLines([{ planId: 'p3', stepsApplied: 0, failedSteps: [{ stepNumber: null, failed: 2, atUtcMs: T0 }], handBacks: [], linkWriteFailures: [], dispatchFailed: null }])[1]!.params.step, '—');
  for (const key of new Set(lines.map((l) => l.key).concat(['reports.dispatchUnknown', 'reports.dispatch', 'reports.notes', 'reports.planned', 'reports.levels', 'reports.source.telemetry', 'reports.source.snapshots', 'reports.source.mixed']))) translated(key);
});
