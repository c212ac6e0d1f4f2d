// Notifications: what is sent and the channel interface every implementation (webhook, SMS, console…)
// provides. Pure types, shared with workflows.

/** Who a message is for; a channel maps audiences to its own destinations (e.g. one group robot each). */
export type Audience = 'dispatcher' | 'supervisor' | 'admin' | 'crew';
export type Severity = 'info' | 'warning' | 'alarm' | 'emergency';

export interface Notification {
  audience: Audience;
  severity: Severity;
  /** One line, shown as the heading. */
  title: string;
  /** Markdown body (WeCom/DingTalk subset: headings, bold, lists, quotes, links). */
  text: string;
  /** What the message is about, e.g. "plan-…:escalation"; repeated sends of one key are the same event. */
  key: string;
  planId?: string;
  eventId?: string;
}

export interface DeliveryReport {
  channel: string;
  audience: Audience;
  delivered: boolean;
  detail?: string;
}

export interface NotificationChannel {
  readonly name: string;
  /** Deliver or throw (the caller's retry policy owns retries). */
  send(notification: Notification): Promise<DeliveryReport>;
}
