// The webhook notification channel against a local HTTP server: WeCom/DingTalk markdown JSON, routing by
// audience, signing, refusals that throw (so the activity retries), and the environment schema.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { createNotifier, createWebhookChannel, loadNotifyEnv, notifierFromEnv, WebhookError, type Notification } from '../../notify/index.js';
import { startWebhookReceiver, type ReceivedWebhook, type WebhookReceiver } from '../support/webhook-receiver.js';

let receiver: WebhookReceiver;
let received: ReceivedWebhook[];
let base: string;

before(async () => {
  receiver = await startWebhookReceiver();
  received = receiver.received;
  base = receiver.baseUrl;
});
after(() => receiver.close());

const message = (overrides: Partial<Notification> = {}): Notification => ({
  audience: 'supervisor',
  severity: 'warning',
  title: '调度计划30分钟未审批 / Plan unanswered',
  text: '计划 **plan-x** 等待审批',
  key: 'plan-x:escalation',
  ...overrides,
});

test('WeCom markdown JSON, routed to the audience\'s own webhook', async () => {
  received.length = 0;
  receiver.answer = { status: 200, body: '{"errcode":0,"errmsg":"ok"}' };
  const channel = createWebhookChannel({ defaultUrl: `${base}/all`, urls: { supervisor: `${base}/supervisors` } });
  const report = await channel.send(message());
  assert.deepEqual(report, { channel: 'webhook:wecom', audience: 'supervisor', delivered: true });
  await channel.send(message({ audience: 'crew', key: 'crew' }));
  assert.deepEqual(received.map((r) => r.path), ['/supervisors', '/all']);
  const body = received[0]!.body;
  assert.equal(body.msgtype, 'markdown');
  assert.deepEqual(Object.keys(body.markdown), ['content']);
  assert.match(body.markdown.content!, /^### <font color="warning">【提醒】<\/font>调度计划30分钟未审批/);
  assert.match(body.markdown.content!, /\*\*plan-x\*\*/);
  assert.match(body.markdown.content!, /> plan-x:escalation$/);
});

test('DingTalk flavour: title and text, signed with timestamp and HMAC-SHA256', async () => {
  received.length = 0;
  const channel = createWebhookChannel({ defaultUrl: `${base}/robot/send?access_token=t`, flavour: 'dingtalk', secret: 'SEC123', now: () => 1_780_000_000_000 });
  await channel.send(message({ severity: 'emergency' }));
  const r = received[0]!;
  assert.equal(r.query.get('access_token'), 't');
  assert.equal(r.query.get('timestamp'), '1780000000000');
  assert.equal(r.query.get('sign'), createHmac('sha256', 'SEC123').update('1780000000000\nSEC123').digest('base64'));
  assert.equal(r.body.markdown.title, message().title);
  assert.match(r.body.markdown.text!, /【应急】/);
});

test('a refusal (errcode ≠ 0) or an HTTP error throws, so the activity retries; long messages are cut to 4096 bytes', async () => {
  const channel = createWebhookChannel({ defaultUrl: `${base}/all` });
  receiver.answer = { status: 200, body: '{"errcode":93000,"errmsg":"invalid webhook url"}' };
  await assert.rejects(channel.send(message()), (e: Error) => e instanceof WebhookError && /errcode 93000/.test(e.message));
  receiver.answer = { status: 502, body: 'bad gateway' };
  await assert.rejects(channel.send(message()), /HTTP 502/);
  receiver.answer = { status: 200, body: '{"errcode":0}' };
  received.length = 0;
  await channel.send(message({ text: '汛'.repeat(3000) }));
  assert.ok(Buffer.byteLength(received[0]!.body.markdown.content!, 'utf8') <= 4096);
  const unreachable = createWebhookChannel({ defaultUrl: 'http://127.0.0.1:1/x', timeoutMs: 500 });
  await assert.rejects(unreachable.send(message()), /unreachable/);
});

test('the notifier from environment variables: log always, webhook when configured; bad settings are named', async () => {
  received.length = 0;
  receiver.answer = { status: 200, body: '{"errcode":0}' };
  const lines: string[] = [];
  const env = loadNotifyEnv({ NOTIFY_WEBHOOK_URL: `${base}/all`, NOTIFY_WEBHOOK_URL_ADMIN: `${base}/admins`, NOTIFY_WEBHOOK_TIMEOUT_MS: '2000' });
  assert.equal(env.NOTIFY_WEBHOOK_FLAVOUR, 'wecom');
  assert.equal(env.NOTIFY_WEBHOOK_TIMEOUT_MS, 2000);
  const notifier = notifierFromEnv(env, (l) => lines.push(l));
  const reports = await notifier.send(message({ audience: 'admin', severity: 'emergency', title: '红色预警 Ⅰ级响应' }));
  assert.deepEqual(reports.map((r) => `${r.channel}:${r.delivered}`), ['log:true', 'webhook:wecom:true']);
  assert.equal(received[0]?.path, '/admins');
  assert.match(lines[0]!, /emergency → admin: 红色预警/);
  assert.deepEqual(notifierFromEnv(loadNotifyEnv({})).channels.map((c) => c.name), ['log']);
  assert.throws(() => loadNotifyEnv({ NOTIFY_WEBHOOK_URL: 'ftp://x', NOTIFY_WEBHOOK_FLAVOUR: 'slack' }), /NOTIFY_WEBHOOK_URL[\s\S]*NOTIFY_WEBHOOK_FLAVOUR/);
  const failing = createNotifier([{ name: 'broken', send: () => Promise.reject(new Error('down')) }]);
  await assert.rejects(failing.send(message()), /plan-x:escalation failed: down/);
});
