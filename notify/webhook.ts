// Group-robot webhooks (企业微信 WeCom / 钉钉 DingTalk): one markdown message per notification, POSTed as
// {"msgtype":"markdown","markdown":{"content":…}} (WeCom) or {"msgtype":"markdown","markdown":{"title":…,"text":…}}
// (DingTalk, optionally signed). Both answer HTTP 200 with {"errcode":0,"errmsg":"ok"}; anything else throws.
import { createHmac } from 'node:crypto';
import type { Audience, DeliveryReport, Notification, NotificationChannel, Severity } from './types.js';

export type WebhookFlavour = 'wecom' | 'dingtalk';

export interface WebhookChannelOptions {
  /** Destination for audiences without their own URL. */
  defaultUrl?: string;
  /** Per-audience destinations (e.g. the supervisors' group). */
  urls?: Partial<Record<Audience, string>>;
  flavour?: WebhookFlavour;
  /** DingTalk "加签" secret: adds timestamp and sign to the URL. */
  secret?: string;
  timeoutMs?: number;
  /** Largest message body in bytes (WeCom markdown allows 4096). */
  maxBytes?: number;
  now?: () => number;
}

export class WebhookError extends Error {
  override readonly name = 'WebhookError';
}

const severityLabel: Record<Severity, { zh: string; color: string }> = {
  info: { zh: '通知', color: 'info' },
  warning: { zh: '提醒', color: 'warning' },
  alarm: { zh: '告警', color: 'warning' },
  emergency: { zh: '应急', color: 'warning' },
};

/** Cut a string to at most `maxBytes` of UTF-8 without splitting a character. */
export function truncateUtf8(text: string, maxBytes: number): string {
  if (Buffer.byteLength(text, 'utf8') <= maxBytes) return text;
  const marker = '\n…';
  let out = '';
  let bytes = Buffer.byteLength(marker, 'utf8');
  for (const ch of text) {
    const b = Buffer.byteLength(ch, 'utf8');
    if (bytes + b > maxBytes) break;
    out += ch;
    bytes += b;
  }
  return out + marker;
}

export function markdownOf(n: Notification): string {
  const label = severityLabel[n.severity];
  return [`### <font color="${label.color}">【${label.zh}】</font>${n.title}`, n.text, `> ${n.key}`].filter((x) => x.length > 0).join('\n');
}

export function webhookBody(n: Notification, flavour: WebhookFlavour, maxBytes: number): unknown {
  const content = truncateUtf8(markdownOf(n), maxBytes);
  return flavour === 'dingtalk' ? { msgtype: 'markdown', markdown: { title: n.title.slice(0, 64), text: content } } : { msgtype: 'markdown', markdown: { content } };
}

export function signedUrl(url: string, secret: string, timestampMs: number): string {
  const sign = createHmac('sha256', secret).update(`${timestampMs}\n${secret}`).digest('base64');
  const u = new URL(url);
  u.searchParams.set('timestamp', String(timestampMs));
  u.searchParams.set('sign', sign);
  return u.toString();
}

export function createWebhookChannel(options: WebhookChannelOptions): NotificationChannel {
  const flavour = options.flavour ?? 'wecom';
  const timeoutMs = options.timeoutMs ?? 10_000;
  const maxBytes = options.maxBytes ?? 4096;
  const now = options.now ?? Date.now;
  for (const url of [options.defaultUrl, ...Object.values(options.urls ?? {})]) {
    if (url !== undefined && !URL.canParse(url)) throw new RangeError(`webhook URL is not a URL: ${url}`);
  }
  return {
    name: `webhook:${flavour}`,
    async send(n): Promise<DeliveryReport> {
      const base = options.urls?.[n.audience] ?? options.defaultUrl;
      if (!base) return { channel: this.name, audience: n.audience, delivered: false, detail: `no webhook configured for ${n.audience}` };
      const url = flavour === 'dingtalk' && options.secret ? signedUrl(base, options.secret, now()) : base;
      let response: Response;
      try {
        response = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json; charset=utf-8' },
          body: JSON.stringify(webhookBody(n, flavour, maxBytes)),
          signal: AbortSignal.timeout(timeoutMs),
        });
      } catch (error) {
        throw new WebhookError(`webhook ${new URL(base).host} unreachable for ${n.key}: ${(error as Error).message}`);
      }
      const text = await response.text().catch(() => '');
      if (!response.ok) throw new WebhookError(`webhook ${new URL(base).host} answered HTTP ${response.status} for ${n.key}: ${text.slice(0, 200)}`);
      let errcode: unknown = 0;
      let errmsg: unknown = 'ok';
      try {
        const body = JSON.parse(text) as { errcode?: unknown; errmsg?: unknown };
        errcode = body.errcode ?? 0;
        errmsg = body.errmsg ?? '';
      } catch {
        // A plain-text 2xx answer (some relays) counts as delivered.
      }
      if (errcode !== 0) throw new WebhookError(`webhook refused ${n.key}: errcode ${String(errcode)} ${String(errmsg)}`);
      return { channel: this.name, audience: n.audience, delivered: true };
    },
  };
}
