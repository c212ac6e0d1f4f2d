// Audiences without a notification destination: named at start (Chinese, then English), and a message for one
// comes back delivered:false and is logged, never dropped in silence (the workflows record it).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { audiencesWithoutDestination, loadNotifyEnv, notifierFromEnv, notifyDestinationWarning } from '../../notify/index.js';

test('the start-up warning names every audience without a destination, in both languages', () => {
  const supervisorOnly = loadNotifyEnv({ NOTIFY_WEBHOOK_URL_SUPERVISOR: 'http://127.0.0.1:9/supervisors' });
  assert.deepEqual(audiencesWithoutDestination(supervisorOnly), ['dispatcher', 'admin', 'crew']);
  const warning = notifyDestinationWarning(supervisorOnly) ?? '';
  const [zh, en] = warning.split('\n');
  assert.match(zh ?? '', /^通知：调度员（dispatcher）、管理员（admin）、抢修班组（crew）未配置接收地址.*NOTIFY_WEBHOOK_URL，或 NOTIFY_WEBHOOK_URL_ADMIN、NOTIFY_WEBHOOK_URL_CREW/);
  assert.match(en ?? '', /^Notifications: no destination for dispatcher, admin, crew: .*reach nobody \(set NOTIFY_WEBHOOK_URL, or NOTIFY_WEBHOOK_URL_ADMIN, NOTIFY_WEBHOOK_URL_CREW\)/);
  assert.doesNotMatch(warning, /supervisor/);

  assert.deepEqual(audiencesWithoutDestination(loadNotifyEnv({})), ['dispatcher', 'supervisor', 'admin', 'crew'], 'log only: nobody is reached');
  assert.equal(notifyDestinationWarning(loadNotifyEnv({ NOTIFY_WEBHOOK_URL: 'http://127.0.0.1:9/all' })), null);
  assert.equal(notifyDestinationWarning(loadNotifyEnv({ NOTIFY_WEBHOOK_URL: 'http://127.0.0.1:9/all', NOTIFY_WEBHOOK_URL_CREW: 'http://127.0.0.1:9/crew' })), null);
});

test('a message for an audience without a destination comes back delivered:false and is logged as not delivered', async () => {
  const lines: string[] = [];
  const notifier = notifierFromEnv(loadNotifyEnv({ NOTIFY_WEBHOOK_URL_SUPERVISOR: 'http://127.0.0.1:9/supervisors' }), (l) => lines.push(l));
  const reports = await notifier.send({ audience: 'dispatcher', severity: 'alarm', title: '泵站交回本地控制 / Stations handed back', text: 'W2', key: 'plan-x:step-1:hand-back' });
  assert.deepEqual(
    reports.map((r) => [r.channel, r.delivered, r.detail]),
    [
      ['log', true, undefined],
      ['webhook:wecom', false, 'no webhook configured for dispatcher'],
    ],
  );
  assert.ok(lines.some((l) => /^notify NOT delivered → dispatcher via webhook:wecom: .*\[plan-x:step-1:hand-back\]: no webhook configured for dispatcher$/.test(l)), lines.join('\n'));
});
