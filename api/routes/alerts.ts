// Alerts: what needs a dispatcher's attention now, from every source at once —
//   alarms from the latest telemetry (level at high alarm or overflow, overflow flow, plant bypass,
//   station in LOCAL, pumps out of service), sensor quality flags (sensor_flag), readings with a bad OPC UA
//   status (tag_status), an unanswered plan and its escalation, and the flood-season warning.
// A source that cannot be read is listed in `sources` with its error; the others are still answered.
import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import Type from 'typebox';
import { coordinatorStateQuery, coordinatorWorkflowId, dispatchStateQuery, floodSeasonWorkflowId, floodStatusQuery } from '../../contract/index.js';
import type { InfluxConnector } from '../../connectors/influx.js';
import { quoteIdent } from '../../forecasting/influxql.js';
import { responseLevelNames, warningNames } from '../../flood/types.js';
import type { NetworkConfig } from '../../network/schema.js';
import { StationMode } from '../../network/tags.js';
import { errorResponses } from '../schemas.js';
import { readLiveState } from './state.js';

export const alertKinds = [
  'overflow',
  'level-high',
  'plant-bypass',
  'tank-overflow',
  'station-local',
  'pumps-unavailable',
  'sensor-flag',
  'tag-status',
  'plan-pending',
  'plan-escalated',
  'flood-warning',
  'flood-plan-pending',
  'flood-plan-escalated',
] as const;
export type AlertKind = (typeof alertKinds)[number];
/** Where alerts come from; each is read on its own, and one failing does not hide the others. */
export const alertSources = ['telemetry', 'sensor_flag', 'tag_status', 'plans', 'flood'] as const;
export type AlertSeverity = 'critical' | 'warning' | 'info';

const Localised = Type.Object({ zh: Type.String(), en: Type.String() });
const Alert = Type.Object({
  /** Stable while the condition lasts: kind, object and tag. */
  alertId: Type.String(),
  kind: Type.Enum(alertKinds),
  severity: Type.Union([Type.Literal('critical'), Type.Literal('warning'), Type.Literal('info')]),
  objectId: Type.String(),
  tag: Type.Union([Type.String(), Type.Null()]),
  /** When the condition was seen (sample time, flag time, escalation time). */
  atUtcMs: Type.Number(),
  message: Localised,
  /** Where to act: a console route such as #/plans/<id>, or null. */
  link: Type.Union([Type.String(), Type.Null()]),
  /** A plan waiting for a decision: when it expires unanswered (the console formats it in Beijing time). */
  deadlineUtcMs: Type.Optional(Type.Number()),
});
export type Alert = Type.Static<typeof Alert>;

const SourceStatus = Type.Object({ source: Type.String(), ok: Type.Boolean(), detail: Type.Optional(Type.String()) });

export const AlertsBody = Type.Object({ checkedAtUtcMs: Type.Number(), alerts: Type.Array(Alert), sources: Type.Array(SourceStatus) });
export type AlertsBody = Type.Static<typeof AlertsBody>;

const severityRank: Record<AlertSeverity, number> = { critical: 0, warning: 1, info: 2 };
/** Telemetry older than this raises no alarm (it is shown as stale on the overview instead). */
const ALARM_MAX_AGE_MS = 60 * 60_000;
const TAG_STATUS_WINDOW = '15m';
const SENSOR_FLAG_WINDOW = '7d';

const numberOf = (value: unknown): number | null => (typeof value === 'number' && Number.isFinite(value) ? value : null);

export function telemetryAlarms(network: NetworkConfig, state: Awaited<ReturnType<typeof readLiveState>>, nowUtcMs: number): Alert[] {
  const alerts: Alert[] = [];
  const fresh = state.objects.filter((o) => nowUtcMs - o.timeUtcMs <= ALARM_MAX_AGE_MS);
  const of = (kind: string, id: string) => fresh.find((o) => o.objectKind === kind && o.objectId === id);
  const fmt = (x: number, digits: number) => x.toFixed(digits);
  for (const st of network.stations) {
    const obj = of('station', st.id);
    if (!obj) continue;
    const v = obj.values;
    const level = numberOf(v['levelM']);
    const overflow = numberOf(v['overflowM3h']) ?? 0;
    const base = { objectId: st.id, atUtcMs: obj.timeUtcMs, link: null };
    if (overflow > 0 || (level !== null && level >= st.levels.overflowM)) {
      alerts.push({
        ...base,
        alertId: `overflow:${st.id}`,
        kind: 'overflow',
        severity: 'critical',
        tag: overflow > 0 ? 'overflowM3h' : 'levelM',
        message: {
          zh: `${st.id} ${st.name.zh} 溢流：液位 ${level === null ? '—' : fmt(level, 2)} m（溢流液位 ${fmt(st.levels.overflowM, 2)} m），溢流量 ${fmt(overflow, 0)} m³/h`,
          en: `${st.id} ${st.name.en} overflowing: level ${level === null ? '—' : fmt(level, 2)} m (overflow level ${fmt(st.levels.overflowM, 2)} m), overflow ${fmt(overflow, 0)} m³/h`,
        },
      });
    } else if (level !== null && level >= st.levels.highAlarmM) {
      alerts.push({
        ...base,
        alertId: `level-high:${st.id}`,
        kind: 'level-high',
        severity: 'warning',
        tag: 'levelM',
        message: {
          zh: `${st.id} ${st.name.zh} 高液位报警：${fmt(level, 2)} m ≥ ${fmt(st.levels.highAlarmM, 2)} m（距溢流 ${fmt(st.levels.overflowM - level, 2)} m）`,
          en: `${st.id} ${st.name.en} high level: ${fmt(level, 2)} m ≥ ${fmt(st.levels.highAlarmM, 2)} m (${fmt(st.levels.overflowM - level, 2)} m below overflow)`,
        },
      });
    }
    if (numberOf(v['mode']) === StationMode.local) {
      alerts.push({
        ...base,
        alertId: `station-local:${st.id}`,
        kind: 'station-local',
        severity: 'info',
        tag: 'mode',
        message: { zh: `${st.id} ${st.name.zh} 处于就地控制，不接受远程设定`, en: `${st.id} ${st.name.en} is in LOCAL control and ignores remote setpoints` },
      });
    }
    const available = numberOf(v['pumpsAvailable']);
    if (available !== null && available < st.pumps.length) {
      alerts.push({
        ...base,
        alertId: `pumps-unavailable:${st.id}`,
        kind: 'pumps-unavailable',
        severity: available <= st.pumps.length - st.standbyPumps - 1 ? 'warning' : 'info',
        tag: 'pumpsAvailable',
        message: {
          zh: `${st.id} ${st.name.zh} 可用泵 ${available}/${st.pumps.length} 台`,
          en: `${st.id} ${st.name.en}: ${available} of ${st.pumps.length} pumps available`,
        },
      });
    }
  }
  for (const plant of network.plants) {
    const obj = of('plant', plant.id);
    const bypass = numberOf(obj?.values['bypassM3h']) ?? 0;
    if (obj && bypass > 0) {
      alerts.push({
        alertId: `plant-bypass:${plant.id}`,
        kind: 'plant-bypass',
        severity: 'critical',
        objectId: plant.id,
        tag: 'bypassM3h',
        atUtcMs: obj.timeUtcMs,
        link: null,
        message: { zh: `${plant.id} ${plant.name.zh} 超越 ${fmt(bypass, 0)} m³/h（超出处理能力）`, en: `${plant.id} ${plant.name.en} bypassing ${fmt(bypass, 0)} m³/h (above capacity)` },
      });
    }
  }
  for (const tank of network.tanks) {
    const obj = of('tank', tank.id);
    const overflow = numberOf(obj?.values['overflowM3h']) ?? 0;
    if (obj && overflow > 0) {
      alerts.push({
        alertId: `tank-overflow:${tank.id}`,
        kind: 'tank-overflow',
        severity: 'critical',
        objectId: tank.id,
        tag: 'overflowM3h',
        atUtcMs: obj.timeUtcMs,
        link: null,
        message: { zh: `${tank.id} ${tank.name.zh} 溢流 ${fmt(overflow, 0)} m³/h`, en: `${tank.id} ${tank.name.en} overflowing ${fmt(overflow, 0)} m³/h` },
      });
    }
  }
  return alerts;
}

/** The quality checks' kinds (ingest/quality.ts) in Chinese. */
const FLAG_KIND_ZH: Record<string, string> = {
  flatline: '数值不变',
  out_of_range: '超出合理范围',
  bad_status: '状态异常',
  uncertain_status: '状态不确定',
  clock_skew: '时钟偏差',
};

async function sensorFlagAlerts(influx: InfluxConnector): Promise<Alert[]> {
  const series = await influx.query(
    `SELECT ${quoteIdent('active')}, ${quoteIdent('detail')}, ${quoteIdent('detailZh')} FROM ${quoteIdent('sensor_flag')} WHERE time > now() - ${SENSOR_FLAG_WINDOW} GROUP BY ${quoteIdent('object')}, ${quoteIdent('tag')}, ${quoteIdent('kind')} ORDER BY time DESC LIMIT 1`,
  );
  const alerts: Alert[] = [];
  for (const s of series) {
    const row = s.values[0];
    if (!row || row[s.columns.indexOf('active')] !== true) continue;
    const [objectId, tag, kind] = [s.tags['object'] ?? '', s.tags['tag'] ?? '', s.tags['kind'] ?? ''];
    const text = (name: string) => {
      const i = s.columns.indexOf(name);
      const v = i >= 0 ? row[i] : null;
      return typeof v === 'string' && v ? v : null;
    };
    // Ingest writes the detail in both languages (detailZh since it does); older points have English only.
    const en = text('detail');
    const zh = text('detailZh') ?? en;
    alerts.push({
      alertId: `sensor-flag:${objectId}:${tag}:${kind}`,
      kind: 'sensor-flag',
      severity: 'warning',
      objectId,
      tag,
      atUtcMs: Number(row[0]),
      link: null,
      message: {
        zh: `${objectId}.${tag} 数据质量异常（${FLAG_KIND_ZH[kind] ?? kind}）${zh ? `：${zh}` : ''}`,
        en: `${objectId}.${tag} sensor quality flag (${kind})${en ? `: ${en}` : ''}`,
      },
    });
  }
  return alerts;
}

async function tagStatusAlerts(influx: InfluxConnector): Promise<Alert[]> {
  const series = await influx.query(
    `SELECT ${quoteIdent('statusCode')} FROM ${quoteIdent('tag_status')} WHERE time > now() - ${TAG_STATUS_WINDOW} GROUP BY ${quoteIdent('object')}, ${quoteIdent('tag')} ORDER BY time DESC LIMIT 1`,
  );
  return series.flatMap((s) => {
    const row = s.values[0];
    if (!row) return [];
    const [objectId, tag] = [s.tags['object'] ?? '', s.tags['tag'] ?? ''];
    const raw = row[s.columns.indexOf('statusCode')];
    const code = typeof raw === 'string' || typeof raw === 'number' ? String(raw) : 'unknown';
    return [
      {
        alertId: `tag-status:${objectId}:${tag}`,
        kind: 'tag-status' as const,
        severity: 'warning' as const,
        objectId,
        tag,
        atUtcMs: Number(row[0]),
        link: null,
        message: { zh: `${objectId}.${tag} 读数状态异常：${code}（${TAG_STATUS_WINDOW} 内）`, en: `${objectId}.${tag} read with status ${code} (within ${TAG_STATUS_WINDOW})` },
      },
    ];
  });
}

async function planAlerts(temporal: Client, networkId: string): Promise<Alert[]> {
  let pending;
  try {
    pending = (await temporal.workflow.getHandle(coordinatorWorkflowId(networkId)).query(coordinatorStateQuery)).pending;
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) return [];
    throw error;
  }
  if (!pending) return [];
  const state = await temporal.workflow.getHandle(pending.workflowId).query(dispatchStateQuery);
  if (state.status !== 'proposed') return [];
  const link = `#/plans/${encodeURIComponent(pending.planId)}`;
  const deadlineUtcMs = typeof state.deadlineUtcMs === 'number' ? state.deadlineUtcMs : undefined;
  const deadline = deadlineUtcMs === undefined ? '—' : beijingTime(deadlineUtcMs);
  const withDeadline = deadlineUtcMs === undefined ? {} : { deadlineUtcMs };
  if (state.escalatedAtUtcMs !== undefined) {
    return [
      {
        alertId: `plan-escalated:${pending.planId}`,
        kind: 'plan-escalated',
        severity: 'warning',
        objectId: pending.planId,
        tag: null,
        atUtcMs: state.escalatedAtUtcMs,
        link,
        ...withDeadline,
        message: {
          zh: `调度计划 ${pending.planId} 超时未审批，已上报主管；${deadline}（北京时间）前无人决定则作废（不做任何改变）`,
          en: `Plan ${pending.planId} unanswered and escalated to the supervisor; it expires unchanged at ${deadline} (Beijing time)`,
        },
      },
    ];
  }
  return [
    {
      alertId: `plan-pending:${pending.planId}`,
      kind: 'plan-pending',
      severity: 'info',
      objectId: pending.planId,
      tag: null,
      atUtcMs: state.proposedAtUtcMs ?? 0,
      link,
      ...withDeadline,
      message: { zh: `调度计划 ${pending.planId} 待审批`, en: `Plan ${pending.planId} is waiting for a decision` },
    },
  ];
}

/** "2026-07-01 14:30" in Beijing time (UTC+8 all year, no daylight saving), for alert texts. */
export function beijingTime(utcMs: number): string {
  return new Date(utcMs + 8 * 3_600_000).toISOString().slice(0, 16).replace('T', ' ');
}

async function floodAlerts(temporal: Client, networkId: string): Promise<Alert[]> {
  let state;
  try {
    state = await temporal.workflow.getHandle(floodSeasonWorkflowId(networkId)).query(floodStatusQuery);
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) return [];
    throw error;
  }
  const alerts: Alert[] = [];
  const at = state.lastAssessment?.assessedAtUtcMs ?? 0;
  if (state.warning !== 'none') {
    const response = state.response ? responseLevelNames[state.response] : { zh: '无', en: 'none' };
    alerts.push({
      alertId: `flood-warning:${state.warning}`,
      kind: 'flood-warning',
      severity: state.warning === 'blue' ? 'warning' : 'critical',
      objectId: networkId,
      tag: null,
      atUtcMs: at,
      link: '#/flood',
      message: { zh: `${warningNames[state.warning].zh}，应急响应 ${response.zh}`, en: `${warningNames[state.warning].en}, emergency response ${response.en}` },
    });
  }
  const p = state.pending;
  if (p) {
    const escalated = p.escalatedAtUtcMs !== null;
    alerts.push({
      alertId: `${escalated ? 'flood-plan-escalated' : 'flood-plan-pending'}:${p.plan.emergencyPlanId}`,
      kind: escalated ? 'flood-plan-escalated' : 'flood-plan-pending',
      severity: escalated ? 'critical' : 'warning',
      objectId: p.plan.emergencyPlanId,
      tag: null,
      atUtcMs: p.escalatedAtUtcMs ?? p.proposedAtUtcMs,
      link: '#/flood',
      deadlineUtcMs: p.deadlineUtcMs,
      message: {
        zh: `应急预案 ${p.plan.emergencyPlanId}（${responseLevelNames[p.plan.response].zh}）待${p.plan.requiredRole === 'dispatcher' ? '调度员' : p.plan.requiredRole === 'supervisor' ? '调度主管' : '管理员'}批准${escalated ? '，已超时上报' : ''}`,
        en: `Emergency plan ${p.plan.emergencyPlanId} (${responseLevelNames[p.plan.response].en}) waits for a ${p.plan.requiredRole}${escalated ? '; escalated' : ''}`,
      },
    });
  }
  return alerts;
}

export const alertRoutes: FastifyPluginAsync<{ influx: InfluxConnector; temporal: Client; network: NetworkConfig }> = async (fastify, options) => {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { influx, temporal, network } = options;
  app.get(
    '/api/alerts',
    {
      onRequest: app.requireRole('viewer'),
      schema: {
        tags: ['alerts'],
        summary: 'Active alarms, sensor flags, bad tag status, escalations and the flood warning, most severe first / 当前告警',
        security: [{ bearer: [] }],
        response: { 200: AlertsBody, ...errorResponses },
      },
    },
    async (request) => {
      const nowUtcMs = Date.now();
      const readers: Record<(typeof alertSources)[number], () => Promise<Alert[]>> = {
        telemetry: async () => telemetryAlarms(network, await readLiveState(influx), nowUtcMs),
        sensor_flag: () => sensorFlagAlerts(influx),
        tag_status: () => tagStatusAlerts(influx),
        plans: () => planAlerts(temporal, network.id),
        flood: () => floodAlerts(temporal, network.id),
      };
      const sources = alertSources.map((source) => [source, readers[source]] as const);
      const results = await Promise.allSettled(sources.map(([, read]) => read()));
      const alerts: Alert[] = [];
      const status: AlertsBody['sources'] = [];
      results.forEach((r, i) => {
        const source = sources[i]![0];
        if (r.status === 'fulfilled') {
          alerts.push(...r.value);
          status.push({ source, ok: true });
        } else {
          request.log.warn({ err: r.reason, source }, 'alert source failed');
          status.push({ source, ok: false, detail: String((r.reason as Error)?.message ?? r.reason).slice(0, 300) });
        }
      });
      alerts.sort((a, b) => severityRank[a.severity] - severityRank[b.severity] || b.atUtcMs - a.atUtcMs);
      return { checkedAtUtcMs: nowUtcMs, alerts, sources: status };
    },
  );
};
