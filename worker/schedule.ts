// The dispatch cycle as a Temporal Schedule: every cycleMin minutes, overlapping runs skipped,
// catch-up after an outage limited to one cycle (a stale plan is worth less than a fresh one).
import { ScheduleAlreadyRunning, ScheduleOverlapPolicy, type Client, type ScheduleHandle } from '@temporalio/client';
import { dispatchScheduleId, dispatchWorkflowIdPrefix, taskQueue, type DispatchCycleInput } from '../contract/index.js';
import type { NetworkConfig } from '../network/schema.js';

export interface DispatchScheduleOptions {
  approvalTimeoutMin?: number;
  paused?: boolean;
  taskQueueName?: string;
}

export async function ensureDispatchSchedule(client: Client, network: NetworkConfig, options: DispatchScheduleOptions = {}): Promise<ScheduleHandle> {
  const cycleMin = network.planning.cycleMin;
  const input: DispatchCycleInput = { networkId: network.id, approvalTimeoutMin: options.approvalTimeoutMin ?? Math.max(1, cycleMin - 1) };
  const scheduleId = dispatchScheduleId(network.id);
  const action = {
    type: 'startWorkflow' as const,
    workflowType: 'dispatchCycle',
    workflowId: dispatchWorkflowIdPrefix(network.id),
    taskQueue: options.taskQueueName ?? taskQueue,
    args: [input],
  };
  const policies = { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: `${cycleMin} minutes` };
  try {
    return await client.schedule.create({
      scheduleId,
      spec: { intervals: [{ every: `${cycleMin} minutes` }] },
      action,
      policies,
      state: { paused: options.paused ?? false, note: `dispatch cycle of ${network.id}` },
    });
  } catch (error) {
    if (!(error instanceof ScheduleAlreadyRunning)) throw error;
    const handle = client.schedule.getHandle(scheduleId);
    await handle.update((previous) => ({ ...previous, spec: { intervals: [{ every: `${cycleMin} minutes` }] }, action, policies }));
    return handle;
  }
}
