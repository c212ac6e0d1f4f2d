// Pure helpers of the dispatcher's console: no DOM, no fetch, no translation. They answer with message
// keys and parameters; app.js translates them with t(). test/unit/web-logic.test.ts imports this file
// in Node and checks every rule here, and that every key it can answer exists in both languages.

/** A request without an answer after this long is aborted. */
export const REQUEST_TIMEOUT_MS = 15_000;
/** Modify re-plans the whole horizon inside the request: it gets longer. */
export const REPLAN_TIMEOUT_MS = 120_000;

/** Plan statuses in which the plan's workflow still runs and the plan can change by itself: the plan page polls. */
export const LIVE_STATUSES = new Set(['gathering', 'proposed', 'approved', 'dispatched']);

/** Data shown as "updated at" is stale once older than two refresh intervals. */
export function isStale(updatedAtMs, nowMs, refreshMs) {
  return typeof updatedAtMs === 'number' && nowMs - updatedAtMs > 2 * refreshMs;
}

/** The decision body with the revision the dispatcher reviewed, when the plan has one (an integer ≥ 1). */
export function withRevision(body, revision) {
  return Number.isInteger(revision) && revision >= 1 ? { ...body, revision } : { ...body };
}

/** What changed between two reads of a plan: its status, its revision (re-planned after a modification). */
export function planChange(previous, next) {
  if (!previous) return { status: false, revision: false, leftProposed: false };
  const status = previous.status !== next.status;
  const revision = (previous.revision ?? 1) !== (next.revision ?? 1);
  return { status, revision, leftProposed: status && previous.status === 'proposed' };
}

/**
 * Which stations the approval will write, by the server's rule (activities/dispatch.ts applyPlanStep):
 * every station of the step whose mode is REMOTE is written, whether or not its remote setpoints are
 * active (watchdog); LOCAL ones are skipped. The mode here is the one the plan was made with; a station
 * whose mode is unknown is decided by the mode read at dispatch time.
 * `stationIds`: the stations of the plan's first step; `snapshot`: the plan's snapshot stations.
 */
export function dispatchCounts(stationIds, snapshot) {
  const byId = new Map((snapshot ?? []).map((s) => [s.stationId, s]));
  const counts = { written: 0, inactive: 0, local: 0, unknown: 0 };
  for (const id of stationIds) {
    const s = byId.get(id);
    const mode = s?.mode;
    if (mode === 'remote' || mode === 1) {
      counts.written++;
      if (s.remoteActive === false) counts.inactive++;
    } else if (mode === 'local' || mode === 0) counts.local++;
    else counts.unknown++;
  }
  return counts;
}

/** The kind of a 409 from the plan and flood routes, from the workflow validators' messages. */
export function conflictKind(message) {
  const m = String(message ?? '');
  // dispatchPlan's approvePlan: approving would replace the emergency plan in force, not confirmed.
  if (/confirm with replaceEmergencyPlan: true/i.test(m)) return 'emergencyUnconfirmed';
  if (/being re-planned/i.test(m)) return 'replanning';
  if (/invalid modification/i.test(m)) return 'invalidModification';
  if (/no emergency plan is waiting|is not the one waiting/i.test(m)) return 'noEmergencyPlan';
  // POST /api/flood/replan refusals (api/routes/flood.ts).
  if (/is waiting for a decision; approve or reject it first/i.test(m)) return 'emergencyPlanWaiting';
  if (/no flood event with a response level|is standing down/i.test(m)) return 'noFloodEvent';
  if (/revision/i.test(m)) return 'revision';
  if (/only a proposed plan can be decided/i.test(m)) return 'notProposed';
  if (/\bis closed\b/i.test(m)) return 'closed';
  if (/needs an? \w+ or higher/i.test(m)) return 'role';
  if (/rejection needs a reason/i.test(m)) return 'reasonRequired';
  return 'other';
}

/**
 * The message for a failed request: `status` (0 = no answer), the server's message, whether it timed out
 * and whether it was a write (a timed-out write may still have been done). Answers { key, params }.
 */
export function errorInfo({ status, message, timeout = false, write = false, timeoutMs = REQUEST_TIMEOUT_MS }) {
  if (timeout) return { key: write ? 'error.timeoutWrite' : 'error.timeout', params: { s: Math.round(timeoutMs / 1000) } };
  if (status === 0) return { key: 'error.network', params: {} };
  if (status === 400) return { key: 'error.badRequest', params: {} };
  if (status === 401) return { key: 'login.expired', params: {} };
  if (status === 403) {
    // dispatchPlan's approvePlan: replacing the emergency plan in force needs its role.
    const e = /emergency plan (\S+) is in force: approving plan \S+ replaces it and needs an? (\w+) or higher/i.exec(String(message ?? ''));
    if (e) return { key: 'error.forbiddenEmergency', params: { planId: e[1], role: e[2] } };
    return { key: 'error.forbidden', params: {} };
  }
  if (status === 404) return { key: 'error.notFound', params: {} };
  if (status === 409) {
    const kind = conflictKind(message);
    if (kind === 'notProposed') {
      const m = /\bis ([a-z-]+)(?: by (\S+))?; only a proposed plan/i.exec(String(message));
      return m ? { key: 'error.conflict.notProposed', params: { status: m[1] } } : { key: 'error.conflict.closed', params: {} };
    }
    return { key: `error.conflict.${kind}`, params: {} };
  }
  if (status === 429) {
    // The per-account lockout (api/auth.ts) names its seconds; the request limiter does not.
    const locked = /account is locked for (\d+) s/.exec(String(message ?? ''));
    return locked ? { key: 'error.locked', params: { s: Number(locked[1]) } } : { key: 'error.rateLimited', params: {} };
  }
  // A write answered with a 5xx (a decision sent to the workflow without an answer back: 503) may have been
  // done: the page reloads and says so, never "try again".
  if (status >= 500 && write) return { key: 'error.outcomeUnknown', params: {} };
  if (status === 503) return { key: 'error.unavailable', params: {} };
  if (status >= 500) return { key: 'error.server', params: {} };
  return { key: 'error.generic', params: { status } };
}

/** Every key errorInfo can answer (for the translation test). */
export const ERROR_KEYS = [
  'error.timeout',
  'error.timeoutWrite',
  'error.network',
  'error.badRequest',
  'login.expired',
  'error.forbidden',
  'error.forbiddenEmergency',
  'error.notFound',
  'error.conflict.notProposed',
  'error.conflict.closed',
  'error.conflict.replanning',
  'error.conflict.invalidModification',
  'error.conflict.noEmergencyPlan',
  'error.conflict.emergencyPlanWaiting',
  'error.conflict.emergencyUnconfirmed',
  'error.conflict.noFloodEvent',
  'error.conflict.revision',
  'error.conflict.role',
  'error.conflict.reasonRequired',
  'error.conflict.other',
  'error.rateLimited',
  'error.locked',
  'error.outcomeUnknown',
  'error.unavailable',
  'error.server',
  'error.generic',
];

/** Time to rain onset, from the forecast onset and end and the time now (not the assessment's time). */
export function rainCountdown(onsetUtcMs, endUtcMs, nowMs) {
  if (typeof onsetUtcMs !== 'number') return { kind: 'none' };
  if (typeof endUtcMs === 'number' && nowMs >= endUtcMs) return { kind: 'ended' };
  if (nowMs >= onsetUtcMs) return { kind: 'raining', minutes: Math.floor((nowMs - onsetUtcMs) / 60_000) };
  const minutes = Math.ceil((onsetUtcMs - nowMs) / 60_000);
  return { kind: 'until', minutes, h: Math.floor(minutes / 60), m: minutes % 60 };
}

/**
 * A level band typed in the modify form, checked against the station's levels: each level ≥ 0 and at most
 * the overflow level, min ≤ max (the server's rule), at least one given. Null when fine, else
 * { key, params, field: 'min' | 'max' } of the first problem.
 */
export function bandProblem(min, max, levels) {
  if (min === undefined && max === undefined) return { key: 'modify.errBandEmpty', params: {}, field: 'min' };
  for (const [field, v] of [['min', min], ['max', max]]) {
    if (v === undefined) continue;
    if (!Number.isFinite(v)) return { key: 'modify.errBandNumber', params: {}, field };
    if (v < 0) return { key: 'modify.errBandNegative', params: {}, field };
    if (v > levels.overflowM) return { key: 'modify.errBandAboveOverflow', params: { overflow: levels.overflowM }, field };
  }
  if (min !== undefined && max !== undefined && min > max) return { key: 'modify.errBandOrder', params: {}, field: 'max' };
  return null;
}

/**
 * A plan's forecastSource ("inflow-forecast;rain=open-meteo:cma;quality=fresh", "open-meteo:gfs;quality=stale,age=95min",
 * "fallback:climatology;quality=fallback", "dry-weather flow only;rain=…", "none"), or a stored rain forecast's
 * source ("open-meteo:best_match;quality=fresh;60min"), in parts: what was used (inflow forecast, rain forecast,
 * fallback, dry-weather flow only), the provider, the rain provider behind it, the rain quality and age. Parts
 * without "=" (the ";60min" of an hourly series) are left out.
 */
export function parseForecastSource(source) {
  const raw = String(source ?? '');
  const [head = '', ...rest] = raw.split(';');
  const out = { kind: 'other', provider: head, rain: null, quality: null, ageMin: null };
  if (raw === '' || raw === 'none') return { ...out, kind: 'none', provider: '' };
  if (/^dry-weather flow only$/.test(head)) {
    out.kind = 'dwf';
    out.provider = '';
  } else if (/^inflow[- ]/.test(head)) {
    out.kind = 'inflow';
    out.provider = '';
  } else if (head.startsWith('fallback:')) {
    out.kind = 'fallback';
    out.provider = head.slice('fallback:'.length);
  } else if (head) out.kind = 'rain';
  for (const part of rest) {
    for (const item of part.split(',')) {
      const [key, value] = item.split('=');
      if (value === undefined) continue;
      if (key === 'rain') out.rain = value;
      else if (key === 'quality') out.quality = value;
      else if (key === 'age') {
        const n = Number.parseInt(value, 10);
        out.ageMin = Number.isFinite(n) ? n : null;
      }
    }
  }
  return out;
}

/**
 * Autonomy reasons and automatic decisions (workflows/autonomy.ts, dispatch-plan.ts, flood-season.ts) are
 * English text; the ones known here become { key, params }, anything else null (shown as sent).
 * An automatic decision reads "<mode>: <reason>"; `mode` comes back apart.
 */
export function autonomyReason(text) {
  let s = String(text ?? '');
  let mode = null;
  const prefixed = /^(advisory|auto-within-bounds|emergency-auto): (.*)$/s.exec(s);
  if (prefixed) {
    mode = prefixed[1];
    s = prefixed[2];
  }
  let m;
  if ((m = /^within bounds of (\S+) over (\d+) step\(s\) \(levels ±([\d.]+) m, transfers ±([\d.]+) m³\/h\)$/.exec(s))) {
    return { mode, key: 'autonomy.reason.within', params: { planId: m[1], n: Number(m[2]), level: m[3], transfer: m[4] } };
  }
  if ((m = /^pre-approved playbook: (\S+)$/.exec(s))) return { mode, key: 'autonomy.reason.playbook', params: { opMode: m[1] } };
  if ((m = /^pre-approved playbook for (.+)$/.exec(s))) return { mode, key: 'autonomy.reason.playbookFor', params: { response: RESPONSE_BY_NAME[m[1]] ?? m[1] } };
  if ((m = /^stand-down of (\S+) approved by (\S+)$/.exec(s))) return { mode, key: 'autonomy.reason.standDown', params: { planId: m[1], user: m[2] } };
  if (/^no answer from the coordinator/.test(s)) return { mode, key: 'autonomy.reason.noCoordinator', params: {} };
  if (/^no approved plan to compare with/.test(s)) return { mode, key: 'autonomy.reason.noLastApproved', params: {} };
  if ((m = /^the plan in force \((\S+)\) is an emergency plan/.exec(s))) return { mode, key: 'autonomy.reason.emergencyInForce', params: { planId: m[1] } };
  if ((m = /^operating mode changes from (\S+) to (\S+)$/.exec(s))) return { mode, key: 'autonomy.reason.modeChange', params: { from: m[1], to: m[2] } };
  if ((m = /^(\S+) (?:start level|stop level|flow|pumps allowed|control|transfer) .*$/.exec(s))) return { mode, key: 'autonomy.reason.outOfBounds', params: { object: m[1] } };
  return mode ? { mode, key: null, params: {} } : null;
}

// ---------------------------------------------------------------------------------------------------
// Roles

/** Roles from least to most senior (contract/index.ts roleOrder). */
export const ROLE_ORDER = ['viewer', 'dispatcher', 'supervisor', 'admin'];

/** Whether `role` is `minimum` or more senior; an unknown role is not (contract/index.ts roleAtLeast). */
export function roleAtLeast(role, minimum) {
  const rank = ROLE_ORDER.indexOf(role);
  return rank >= 0 && rank >= ROLE_ORDER.indexOf(minimum);
}

/**
 * Whether a user may approve, reject or modify a plan: the API wants a dispatcher at least, the plan's
 * workflow its requiredRole at least (emergency plans by their level). `required` is the role to name.
 */
export function decisionAccess(userRole, requiredRole) {
  const required = ROLE_ORDER.indexOf(requiredRole) > ROLE_ORDER.indexOf('dispatcher') ? requiredRole : 'dispatcher';
  return { allowed: roleAtLeast(userRole, required), required };
}

/**
 * Approving this plan replaces the emergency plan in force (the plan's `replacesEmergency`): which plan, the
 * role the approval needs (the emergency plan's, never below dispatcher) and whether the user has it; null
 * when it replaces none. The approve dialog then warns and asks for the confirmation the API needs.
 */
export function emergencyReplace(userRole, state) {
  const e = state?.replacesEmergency;
  if (!e || typeof e.planId !== 'string') return null;
  const access = decisionAccess(userRole, e.requiredRole ?? 'supervisor');
  return { planId: e.planId, required: access.required, allowed: access.allowed };
}

// ---------------------------------------------------------------------------------------------------
// Workflow text in words: plan errors, modifications, history and report details.
//
// The helpers below answer { key, params } (or null: show the server's text as sent). app.js turns params
// into words by their names, so every helper here follows one convention:
//   role, audience          a role or notification audience code   → role.* / audience.*
//   warning, fromWarning,
//   toWarning, observed,
//   forecast                a rain warning code                     → warning.*
//   response                a response level code (or its raw text) → response.*
//   crewKind                a crew task kind                        → crew.*
//   opMode, from, to        an operating mode                       → opMode.*
//   …UtcMs                  a time                                  → fmtTime (Asia/Shanghai)
//   …LevelM                 a level in metres                       → 2 decimals
//   …M3h                    a flow                                  → whole m³/h
//   an array                joined as a list (of sentences, when its items are { key, params })
//   { key, params }         a sentence of its own
//   { zh, en }              the text in the current language
// Step numbers are shown from 1, as the plan page shows them (older workflow records count from 0: STEP below).

/**
 * A step in the workflow's English texts: "step 3 of 12" (counted from 1, as the page counts), or in records
 * written before the count was given, "step 2" (counted from 0). Two capture groups: the number, the total.
 */
const STEP = 'step (\\d+)(?: of (\\d+))?';
const stepNumber = (number, total) => Number(number) + (total === undefined ? 1 : 0);

/** A plan's error (workflows/dispatch-plan.ts "step <k> of <n>: <error>", or a dispatch-cycle failure) under a translated label. */
export function planErrorInfo(text) {
  const m = new RegExp(`^${STEP}: `).exec(String(text ?? ''));
  return m ? { key: 'plan.errorStep', params: { step: stepNumber(m[1], m[2]) } } : { key: 'plan.errorOther', params: {} };
}

/** A modification's constraints (contract PlanConstraints) as sentences: bands, stations locked to local control, transfer caps. */
export function constraintItems(constraints) {
  const c = constraints && typeof constraints === 'object' ? constraints : {};
  const items = [];
  for (const b of Array.isArray(c.stationBands) ? c.stationBands : []) {
    const min = typeof b?.minLevelM === 'number' ? b.minLevelM : undefined;
    const max = typeof b?.maxLevelM === 'number' ? b.maxLevelM : undefined;
    const station = String(b?.stationId ?? '?');
    if (min !== undefined && max !== undefined) items.push({ key: 'modify.item.band', params: { station, minLevelM: min, maxLevelM: max } });
    else if (min !== undefined) items.push({ key: 'modify.item.bandMin', params: { station, minLevelM: min } });
    else if (max !== undefined) items.push({ key: 'modify.item.bandMax', params: { station, maxLevelM: max } });
  }
  const locked = Array.isArray(c.lockedStations) ? c.lockedStations.map(String) : [];
  if (locked.length) items.push({ key: 'modify.item.locked', params: { stations: locked } });
  for (const x of Array.isArray(c.transferCaps) ? c.transferCaps : []) {
    items.push({ key: 'modify.item.cap', params: { link: String(x?.interconnectionId ?? '?'), capM3h: x?.maxAbsM3h } });
  }
  return items;
}

/** English names of warning and response levels as the flood workflow writes them (flood/types.ts). */
export const WARNING_BY_NAME = { 'no warning': 'none', 'blue rainstorm warning': 'blue', 'yellow rainstorm warning': 'yellow', 'orange rainstorm warning': 'orange', 'red rainstorm warning': 'red' };
export const RESPONSE_BY_NAME = { 'level IV (general)': 'IV', 'level III (serious)': 'III', 'level II (severe)': 'II', 'level I (extremely severe)': 'I' };

const stationList = (text) => text.split(',').filter(Boolean);

/** Why stations failed at a step (workflows/dispatch-plan.ts applyStep's reason). */
function writeFailure(stations, reason) {
  let m;
  if ((m = new RegExp(`^writes failed (\\d+) times at ${STEP}$`).exec(reason))) return { key: 'event.writesFailed', params: { stations, n: Number(m[1]), step: stepNumber(m[2], m[3]) } };
  if ((m = new RegExp(`^writes failed at ${STEP}; retry (\\d+) gave up: `, 's').exec(reason))) return { key: 'event.writesGaveUp', params: { stations, step: stepNumber(m[1], m[2]), retries: Number(m[3]) } };
  return null;
}

/**
 * The detail of a plan event in the history (workflows/dispatch-plan.ts record()): { key, params } when its
 * text is one the workflow writes, else null (a dispatcher's own comment, or a text not known here).
 */
export function planEventDetail(status, detail) {
  const s = String(detail ?? '');
  if (s === '') return null;
  let m;
  if (status === 'auto-approved' || status === 'needs-approval') {
    const reason = autonomyReason(s);
    return reason?.key ? { key: reason.key, params: reason.params } : null;
  }
  if ((m = /^notified the (\w+) after (\d+) min$/.exec(s))) return { key: 'event.escalatedAfter', params: { role: m[1], min: Number(m[2]) } };
  if ((m = /^the (\w+) could NOT be notified after (\d+) min \(see notification-failed\)$/.exec(s))) return { key: 'event.escalationUnnotified', params: { role: m[1], min: Number(m[2]) } };
  if ((m = /^plan (\S+) stays in force$/.exec(s))) return { key: 'event.keptPlan', params: { planId: m[1] } };
  if (s === 'stations keep their current setpoints / local control') return { key: 'event.keptNone', params: {} };
  if ((m = /^superseded by (\S+)$/.exec(s))) return { key: 'event.supersededBy', params: { planId: m[1] } };
  if ((m = /^replaced by (\S+)$/.exec(s))) return { key: 'event.replacedBy', params: { planId: m[1] } };
  if ((m = /^(\d+) steps applied$/.exec(s))) return { key: 'event.stepsApplied', params: { n: Number(m[1]) } };
  if ((m = /^revision (\d+) by (\S+): (\{.*\})$/s.exec(s))) {
    let constraints;
    try {
      constraints = JSON.parse(m[3]);
    } catch {
      return null;
    }
    const changes = constraintItems(constraints);
    return changes.length ? { key: 'event.modified', params: { revision: Number(m[1]), user: m[2], changes } } : null;
  }
  if (status === 'hand-back-skipped' && (m = /^([^:\s]+): (.*); not handed back: (?:replaced by (\S+)|cancelled)$/s.exec(s))) {
    const failure = writeFailure(stationList(m[1]), m[2]);
    if (!failure) return null;
    const why = m[3] ? { key: 'event.skipReplaced', params: { planId: m[3] } } : { key: 'event.skipCancelled', params: {} };
    return { key: 'event.handBackSkipped', params: { failure, why } };
  }
  if (status === 'handed-back' && (m = /^([^:\s]+): (.*)$/s.exec(s))) {
    const failure = writeFailure(stationList(m[1]), m[2]);
    return failure ? { key: 'event.handedBack', params: { failure } } : null;
  }
  if ((m = new RegExp(`^(.+): not written after (\\d+) attempts at ${STEP}(?: \\(.*\\))?$`, 's').exec(s))) {
    return { key: 'event.linkWriteFailed', params: { what: m[1], n: Number(m[2]), step: stepNumber(m[3], m[4]) } };
  }
  if (status === 'dispatch-failed' && new RegExp(`^${STEP}: `).test(s)) return planErrorInfo(s);
  return null;
}

/**
 * The detail of a flood-season action in a post-event report (workflows/flood-season.ts act()): { key, params }
 * when its text is one the workflow writes, else null (a comment, the plan's English summary, a text not known).
 */
export function floodActionDetail(kind, detail) {
  const s = String(detail ?? '');
  if (s === '') return null;
  let m;
  switch (kind) {
    case 'notification': {
      if (!(m = /^(dispatcher|supervisor|admin|crew): (.*)$/s.exec(s))) return null;
      // Titles are "中文 / English".
      const cut = m[2].indexOf(' / ');
      const title = cut >= 0 ? { zh: m[2].slice(0, cut), en: m[2].slice(cut + 3) } : { zh: m[2], en: m[2] };
      return { key: 'event.notified', params: { audience: m[1], title } };
    }
    case 'plan-approved':
      m = /^revision (\d+)$/.exec(s);
      return m ? { key: 'event.revision', params: { revision: Number(m[1]) } } : null;
    case 'plan-auto-approved': {
      const reason = autonomyReason(s);
      return reason?.key ? { key: reason.key, params: reason.params } : null;
    }
    case 'dispatch-started':
      m = /^(\d+) stations drawn down; (\d+) transfer\(s\)$/.exec(s);
      return m ? { key: 'event.dispatchStarted', params: { stations: Number(m[1]), transfers: Number(m[2]) } } : null;
    case 'crew-task': {
      if (!(m = /^(\S+) @ (\S+) \(([-\d.]+),([-\d.]+)\) due (\S+)$/.exec(s))) return null;
      const dueUtcMs = Date.parse(m[5]);
      if (!Number.isFinite(dueUtcMs)) return null;
      return { key: 'event.crewTask', params: { crewKind: m[1], station: m[2], lat: m[3], lon: m[4], dueUtcMs } };
    }
    case 'plan-superseded':
      m = /^revision (\d+) replaced by revision (\d+) before approval$/.exec(s);
      return m ? { key: 'event.revisionReplaced', params: { revision: Number(m[1]), next: Number(m[2]) } } : null;
    case 'plan-expired':
      if ((m = /^approved plan (\S+) stays in force$/.exec(s))) return { key: 'event.keptPlan', params: { planId: m[1] } };
      return s === 'no emergency setpoints were sent; stations stay on their current settings / local control' ? { key: 'event.keptNoEmergency', params: {} } : null;
    case 'plan-escalated':
      m = /^notified the (\w+)$/.exec(s);
      return m ? { key: 'event.escalated', params: { role: m[1] } } : null;
    case 'stand-down':
      m = /^no warning for (\d+) checks$/.exec(s);
      return m ? { key: 'event.standDown', params: { n: Number(m[1]) } } : null;
    case 'warning-raised':
    case 'warning-lowered': {
      if ((m = /^(.+) \(observed (\w+), forecast (\w+)\): (.+)$/.exec(s))) {
        const warning = WARNING_BY_NAME[m[1]];
        const response = RESPONSE_BY_NAME[m[4]];
        return warning && response ? { key: 'event.warningRaised', params: { warning, observed: m[2], forecast: m[3], response } } : null;
      }
      if (!(m = /^(.+?) → (.+?)(?:: (.+))?$/.exec(s))) return null;
      const fromWarning = WARNING_BY_NAME[m[1]];
      const toWarning = m[2] === 'none' ? 'none' : WARNING_BY_NAME[m[2]];
      if (!fromWarning || !toWarning) return null;
      if (m[3] === undefined) return { key: 'event.warningChanged', params: { fromWarning, toWarning } };
      const response = RESPONSE_BY_NAME[m[3]];
      return response ? { key: 'event.warningChangedResponse', params: { fromWarning, toWarning, response } } : null;
    }
    default:
      return null;
  }
}

/**
 * What the flood board could not know, most important first, as { key, params } sentences (F12: during a
 * forecast outage the board read "no warning" and "no significant rain forecast"). `notes` are the
 * assessment's own words (English) for the details; each item says which of them it stands for.
 */
export function floodDataMissing(board) {
  const inputs = board?.inputs;
  if (!inputs) return [];
  const notes = inputs.notes ?? [];
  const items = [];
  const about = (re) => notes.filter((n) => re.test(n));
  if (board.assessedAtUtcMs === null && board.status !== 'ended') {
    items.push({ key: 'flood.missing.noAssessment', params: {}, notes: about(/^no assessment/) });
  } else if (inputs.forecastMissing) {
    items.push({ key: 'flood.missing.forecast', params: { since: inputs.levelKeptSinceUtcMs ?? board.assessedAtUtcMs }, notes: about(/^(forecast|no assessment)/) });
  }
  // flood-unknown-assessment: the season keeps the level in force instead of reading "unknown" as dry.
  if (inputs.levelKeptSinceUtcMs !== null && inputs.levelKeptSinceUtcMs !== undefined) {
    items.push({ key: 'flood.missing.levelKept', params: { warning: board.warning, since: inputs.levelKeptSinceUtcMs, alarmed: inputs.alarmed ? 'yes' : 'no' }, notes: [] });
  }
  const observed = about(/^observed rain unavailable/);
  if (observed.length) items.push({ key: 'flood.missing.observed', params: {}, notes: observed });
  const scada = about(/^SCADA unavailable/);
  const unknown = inputs.levelsUnknown ?? [];
  if (scada.length || unknown.length) items.push({ key: 'flood.missing.levels', params: { n: unknown.length, stations: unknown.join(', ') }, notes: scada });
  const told = new Set(items.flatMap((i) => i.notes));
  const rest = notes.filter((n) => !told.has(n));
  if (rest.length) items.push({ key: 'flood.missing.other', params: { n: rest.length }, notes: rest });
  return items;
}

/**
 * The rain outlook the board shows: the countdown to onset, or 'unavailable' when the forecast is missing and
 * no rain is known to have begun (no forecast is not "no rain").
 */
export function floodRainOutlook(board, nowMs) {
  const c = rainCountdown(board.rain.onsetUtcMs, board.rain.endUtcMs, nowMs);
  if (board.inputs?.forecastMissing && (c.kind === 'none' || c.kind === 'ended')) return { kind: 'unavailable' };
  return c;
}

/**
 * Whether the board offers "re-plan" (POST /api/flood/replan): a warning with a response level in force, the
 * event not standing down, no plan waiting, and no request already due. `due` says why one is on its way.
 */
export function floodReplanOffer(board) {
  const due = board?.replanDue ?? null;
  const inEvent = board?.status === 'event' && board.response !== null && board.response !== undefined;
  return { show: inEvent && !board.pending && due === null, due: inEvent && !board.pending ? due : null };
}

/**
 * The report's dispatch outcomes (flood/types.ts DispatchOutcomeSummary) as { key, params } lines per plan:
 * failed steps (numbered from 1), hand-backs, link-write failures, a dispatch that failed. Null dispatch
 * (could not be read) is one line saying so; a plan with none of these says it ran clean.
 */
export function reportDispatchLines(dispatch) {
  if (dispatch === null) return [{ key: 'reports.dispatchUnknown', params: {} }];
  if (!Array.isArray(dispatch)) return [];
  const lines = [];
  for (const d of dispatch) {
    const clean = d.failedSteps.length === 0 && d.handBacks.length === 0 && d.linkWriteFailures.length === 0 && !d.dispatchFailed;
    lines.push({ key: clean ? 'reports.dispatchClean' : 'reports.dispatchPlan', params: { planId: d.planId, steps: d.stepsApplied } });
    for (const f of d.failedSteps) lines.push({ key: 'reports.dispatchFailedStep', params: { planId: d.planId, step: f.stepNumber ?? '—', failed: f.failed, atUtcMs: f.atUtcMs } });
    for (const x of d.handBacks) lines.push({ key: 'reports.dispatchHandBack', params: { planId: d.planId, atUtcMs: x.atUtcMs, detail: x.detail } });
    for (const x of d.linkWriteFailures) lines.push({ key: 'reports.dispatchLinkWrite', params: { planId: d.planId, atUtcMs: x.atUtcMs, detail: x.detail } });
    if (d.dispatchFailed) lines.push({ key: 'reports.dispatchFailed', params: { planId: d.planId, atUtcMs: d.dispatchFailed.atUtcMs, detail: d.dispatchFailed.detail } });
  }
  return lines;
}
