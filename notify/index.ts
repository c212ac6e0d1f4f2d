// The notifier the worker uses: every configured channel (webhook when configured, and the log), from
// environment variables. The variables are described by `NotifyEnvSchema`, part of settings/env.ts EnvSchema.
import Type from 'typebox';
import Value from 'typebox/value';
import type { Audience, DeliveryReport, Notification, NotificationChannel } from './types.js';
import { createWebhookChannel } from './webhook.js';

export type { Audience, DeliveryReport, Notification, NotificationChannel, Severity } from './types.js';
export { createWebhookChannel, WebhookError } from './webhook.js';

const WebhookUrl = (description: string) => Type.Optional(Type.String({ pattern: '^https?://', description }));

/** Environment variables of the notification channels (spread into settings/env.ts EnvSchema). */
export const NotifyEnvSchema = Type.Object({
  NOTIFY_WEBHOOK_URL: WebhookUrl('Group-robot webhook for all notifications (WeCom/DingTalk); unset = log only'),
  NOTIFY_WEBHOOK_URL_SUPERVISOR: WebhookUrl('Webhook for supervisor escalations and level II+ emergencies (default NOTIFY_WEBHOOK_URL)'),
  NOTIFY_WEBHOOK_URL_ADMIN: WebhookUrl('Webhook for level I emergencies (default NOTIFY_WEBHOOK_URL)'),
  NOTIFY_WEBHOOK_URL_CREW: WebhookUrl('Webhook for crew tasks (default NOTIFY_WEBHOOK_URL)'),
  NOTIFY_WEBHOOK_FLAVOUR: Type.Enum(['wecom', 'dingtalk'], { default: 'wecom', description: 'Message format' }),
  NOTIFY_WEBHOOK_SECRET: Type.Optional(Type.String({ minLength: 1, description: 'DingTalk signing secret (加签)' })),
  NOTIFY_WEBHOOK_TIMEOUT_MS: Type.Integer({ minimum: 100, maximum: 60_000, default: 10_000 }),
});
export type NotifyEnv = Type.Static<typeof NotifyEnvSchema>;

/** Validate the notification variables of `source` (numbers coerced, defaults applied); throws naming each problem. */
export function loadNotifyEnv(source: Record<string, string | undefined>): NotifyEnv {
  const raw: Record<string, unknown> = {};
  for (const name of Object.keys(NotifyEnvSchema.properties)) {
    const value = source[name];
    if (value === undefined || value === '') continue;
    raw[name] = name === 'NOTIFY_WEBHOOK_TIMEOUT_MS' && /^[0-9]+$/.test(value) ? Number(value) : value;
  }
  const withDefaults = Value.Default(NotifyEnvSchema, raw);
  const problems = [...Value.Errors(NotifyEnvSchema, withDefaults)].map((e) => `  ${e.instancePath.slice(1)}: ${e.message}`);
  if (problems.length > 0) throw new RangeError(`Invalid notification settings:\n${problems.join('\n')}`);
  return withDefaults as NotifyEnv;
}

/** Writes every notification to the log; always present so nothing is silently dropped. */
export function createLogChannel(log: (line: string) => void = (line) => console.log(line)): NotificationChannel {
  return {
    name: 'log',
    async send(n) {
      log(`notify ${n.severity} → ${n.audience}: ${n.title} [${n.key}]`);
      return { channel: 'log', audience: n.audience, delivered: true };
    },
  };
}

export interface Notifier {
  readonly channels: readonly NotificationChannel[];
  /**
   * Send through every channel; throws when a channel that should deliver fails (so the activity retries).
   * A channel with no destination for the audience answers `delivered: false` (not retried: no retry helps);
   * the caller acts on it (dispatch-plan and flood-season record it), and it is logged here.
   */
  send(notification: Notification): Promise<DeliveryReport[]>;
}

export function createNotifier(channels: readonly NotificationChannel[], log: (line: string) => void = (line) => console.warn(line)): Notifier {
  return {
    channels,
    async send(notification) {
      const results = await Promise.allSettled(channels.map((c) => c.send(notification)));
      const failures = results.flatMap((r) => (r.status === 'rejected' ? [r.reason instanceof Error ? r.reason.message : String(r.reason)] : []));
      if (failures.length > 0) throw new Error(`notification ${notification.key} failed: ${failures.join('; ')}`);
      const reports = results.map((r) => (r as PromiseFulfilledResult<DeliveryReport>).value);
      for (const r of reports.filter((x) => !x.delivered)) log(`notify NOT delivered → ${r.audience} via ${r.channel}: ${notification.title} [${notification.key}]: ${r.detail ?? 'not delivered'}`);
      return reports;
    },
  };
}

/** Every audience a notification can be for. */
export const audiences: readonly Audience[] = ['dispatcher', 'supervisor', 'admin', 'crew'];
const audienceNames: Readonly<Record<Audience, string>> = { dispatcher: '调度员', supervisor: '主管', admin: '管理员', crew: '抢修班组' };

/** Audiences whose messages reach no webhook (no NOTIFY_WEBHOOK_URL, and no URL of their own): only the worker log. */
export function audiencesWithoutDestination(env: NotifyEnv): Audience[] {
  if (env.NOTIFY_WEBHOOK_URL) return [];
  const own: Partial<Record<Audience, string | undefined>> = { supervisor: env.NOTIFY_WEBHOOK_URL_SUPERVISOR, admin: env.NOTIFY_WEBHOOK_URL_ADMIN, crew: env.NOTIFY_WEBHOOK_URL_CREW };
  return audiences.filter((a) => own[a] === undefined);
}

/** The start-up warning (Chinese, then English) naming the audiences without a destination; null when every audience has one. */
export function notifyDestinationWarning(env: NotifyEnv): string | null {
  const missing = audiencesWithoutDestination(env);
  if (missing.length === 0) return null;
  const zh = missing.map((a) => `${audienceNames[a]}（${a}）`).join('、');
  // Without NOTIFY_WEBHOOK_URL the dispatchers have no destination at all (there is no URL of their own).
  const own = missing.filter((a) => a !== 'dispatcher').map((a) => `NOTIFY_WEBHOOK_URL_${a.toUpperCase()}`);
  return (
    `通知：${zh}未配置接收地址，发给他们的消息只写入工作进程日志，无人收到（请设置 NOTIFY_WEBHOOK_URL${own.length > 0 ? `，或 ${own.join('、')}` : ''}）。\n` +
    `Notifications: no destination for ${missing.join(', ')}: their messages go only to the worker log and reach nobody (set NOTIFY_WEBHOOK_URL${own.length > 0 ? `, or ${own.join(', ')}` : ''}).`
  );
}

export function notifierFromEnv(env: NotifyEnv, log?: (line: string) => void): Notifier {
  const channels: NotificationChannel[] = [createLogChannel(log)];
  const urls = { supervisor: env.NOTIFY_WEBHOOK_URL_SUPERVISOR, admin: env.NOTIFY_WEBHOOK_URL_ADMIN, crew: env.NOTIFY_WEBHOOK_URL_CREW };
  const perAudience = Object.fromEntries(Object.entries(urls).filter((e): e is [string, string] => e[1] !== undefined));
  if (env.NOTIFY_WEBHOOK_URL || Object.keys(perAudience).length > 0) {
    channels.push(
      createWebhookChannel({
        ...(env.NOTIFY_WEBHOOK_URL ? { defaultUrl: env.NOTIFY_WEBHOOK_URL } : {}),
        urls: perAudience,
        flavour: env.NOTIFY_WEBHOOK_FLAVOUR,
        ...(env.NOTIFY_WEBHOOK_SECRET ? { secret: env.NOTIFY_WEBHOOK_SECRET } : {}),
        timeoutMs: env.NOTIFY_WEBHOOK_TIMEOUT_MS,
      }),
    );
  }
  return createNotifier(channels, log);
}
