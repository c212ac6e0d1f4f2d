// The worker's watch over the flood season, on the project's Temporal dev server: a worker started before the
// season starts it once the season begins (no restart needed), and a running season whose config differs from
// the configured one (FLOOD_CONFIG_FILE corrected, worker restarted) is sent the configured one and says so.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { WorkflowNotFoundError } from '@temporalio/client';
import { floodSeasonConfigQuery, floodSeasonWorkflowId } from '../../contract/index.js';
import { floodConfig } from '../../flood/types.js';
import { ensureFloodSeason, watchFloodSeason } from '../../worker/flood-season.js';
import { fakes, setup, sleep, worker, type Ctx } from '../support/flood-harness.js';

let ctx: Ctx;
before(async () => {
  ctx = await setup();
});
after(async () => {
  await ctx?.env.teardown();
});

test('a worker started before the season starts it when the season begins; a corrected config reaches the running season', async () => {
  const network = { ...ctx.network, id: 'watch' };
  const taskQueue = 'flood-watch';
  const f = fakes(network, { originUtcMs: Date.now(), wallOriginUtcMs: Date.now(), speed: 1 }, { rain: () => 0 });
  const w = await worker(ctx, taskQueue, f.activities);
  const workflowId = floodSeasonWorkflowId(network.id);
  const lines: string[] = [];
  await w.runUntil(async () => {
    // The season is the whole year (local dates) up to 31 December: "before the season" is last New Year's Eve.
    const year = new Date().getUTCFullYear();
    let now = Date.UTC(year - 1, 11, 31, 12);
    const watch = watchFloodSeason(ctx.env.client, network, { spec: '01-01/12-31', taskQueueName: taskQueue, everyMs: 200, now: () => now, log: (l) => lines.push(l) });
    try {
      assert.equal(await watch.first, null, 'outside the season at start-up');
      assert.ok(lines.some((l) => l.includes('outside the season')), 'said at start, not only when it changes');
      // The default config configures no overflow points: said once at start, in both languages.
      assert.equal(lines.filter((l) => l.includes('overflowPoints')).length, 1, lines.join('\n'));
      assert.match(lines.find((l) => l.includes('overflowPoints'))!, /防汛配置未设溢流点.* \/ flood config has no overflow points/);
      await assert.rejects(ctx.env.client.workflow.getHandle(workflowId).describe(), WorkflowNotFoundError);
      // The season begins while the worker runs: the next hourly check (200 ms here) starts it.
      now = Date.now();
      let started = false;
      for (let i = 0; i < 50 && !started; i++) {
        await sleep(100);
        started = await ctx.env.client.workflow.getHandle(workflowId).describe().then((d) => d.status.name === 'RUNNING', () => false);
      }
      assert.ok(started, 'the season was started without a worker restart');
      assert.ok(lines.some((l) => l.includes(`watched by ${workflowId}`)), lines.join('\n'));
    } finally {
      watch.stop();
    }

    // The worker restarts with a corrected config: the running season gets it, and the log names what changed.
    const corrected = { approvalRoles: { ...floodConfig().approvalRoles, II: 'admin' as const }, overflowPoints: [{ stationId: network.stations[0]!.id, receivingWater: 'river' }] };
    const before = await ctx.env.client.workflow.getHandle(workflowId).query(floodSeasonConfigQuery);
    assert.equal(before.approvalRoles.II, 'supervisor');
    assert.equal(await ensureFloodSeason(ctx.env.client, network, { spec: '01-01/12-31', taskQueueName: taskQueue, config: corrected, log: (l) => lines.push(l) }), workflowId);
    let running = before;
    for (let i = 0; i < 50 && running.approvalRoles.II !== 'admin'; i++) {
      await sleep(100);
      running = await ctx.env.client.workflow.getHandle(workflowId).query(floodSeasonConfigQuery);
    }
    assert.equal(running.approvalRoles.II, 'admin', 'the running season uses the corrected approval role');
    assert.deepEqual(running.overflowPoints, corrected.overflowPoints);
    assert.ok(lines.some((l) => /ran with a different flood config \(approvalRoles, overflowPoints\)/.test(l)), lines.join('\n'));
    // Same config again: nothing sent, nothing logged.
    const count = lines.length;
    await ensureFloodSeason(ctx.env.client, network, { spec: '01-01/12-31', taskQueueName: taskQueue, config: corrected, log: (l) => lines.push(l) });
    assert.equal(lines.length, count);
    await ctx.env.client.workflow.getHandle(workflowId).terminate('test done');
  });
});
