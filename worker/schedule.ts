// The dispatch cycle as a Temporal Schedule: every cycleMin minutes, overlapping runs skipped,
// catch-up after an outage limited to one cycle (a stale plan is worth less than a fresh one).
// A cycle only gathers and plans (seconds); its plan waits for approval and is dispatched in its own
// workflow, so skipping overlaps never holds back the next proposal.
import { ScheduleAlreadyRunning, ScheduleOverlapPolicy, type Client, type ScheduleHandle } from '@temporalio/client';
import { autonomyModes, dispatchScheduleId, dispatchWorkflowIdPrefix, taskQueue, type AutonomyConfig, type AutonomyMode, type DispatchCycleInput } from '../contract/index.js';
import type { NetworkConfig } from '../network/schema.js';
import { zoneOffsets } from '../dashboards/common/network.js';
import type { BaselineRunInput } from '../workflows/baseline.js';

export interface DispatchScheduleOptions {
  /** Final timeout of an unanswered plan; default one minute short of a cycle. */
  approvalTimeoutMin?: number;
  /** Escalation to the supervisor; default half the approval timeout. */
  escalateAfterMin?: number;
  /** Autonomy of this network (default advisory: every plan needs a dispatcher). */
  autonomy?: Partial<AutonomyConfig>;
  paused?: boolean;
  taskQueueName?: string;
  /** The hourly baseline run's Schedule (ensureBaselineSchedule), kept beside the cycle's; false leaves it alone. Default: paused as the cycle. */
  baseline?: BaselineScheduleOptions | false;
}

/** The autonomy mode named by an environment variable (DISPATCH_AUTONOMY), or a clear error. */
export function parseAutonomyMode(value: string | undefined): AutonomyMode | undefined {
  if (value === undefined || value === '') return undefined;
  if (!(autonomyModes as readonly string[]).includes(value)) throw new RangeError(`DISPATCH_AUTONOMY must be one of ${autonomyModes.join(', ')}, got "${value}"`);
  return value as AutonomyMode;
}

export async function ensureDispatchSchedule(client: Client, network: NetworkConfig, options: DispatchScheduleOptions = {}): Promise<ScheduleHandle> {
  const cycleMin = network.planning.cycleMin;
  const input: DispatchCycleInput = {
    networkId: network.id,
    approvalTimeoutMin: options.approvalTimeoutMin ?? Math.max(1, cycleMin - 1),
    ...(options.escalateAfterMin !== undefined ? { escalateAfterMin: options.escalateAfterMin } : {}),
    ...(options.autonomy ? { autonomy: options.autonomy } : {}),
  };
  const scheduleId = dispatchScheduleId(network.id);
  const action = {
    type: 'startWorkflow' as const,
    workflowType: 'dispatchCycle',
    workflowId: dispatchWorkflowIdPrefix(network.id),
    taskQueue: options.taskQueueName ?? taskQueue,
    args: [input],
  };
  const policies = { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: `${cycleMin} minutes` };
  if (options.baseline !== false) {
    await ensureBaselineSchedule(client, network, { paused: options.paused ?? false, ...(options.taskQueueName ? { taskQueueName: options.taskQueueName } : {}), ...options.baseline });
  }
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

export interface BaselineScheduleOptions {
  paused?: boolean;
  taskQueueName?: string;
}

export const baselineScheduleId = (networkId: string) => `baseline-${networkId}`;

/**
 * The energy baseline (workflows/baseline.ts) every hour, 5 minutes past (the hour's rain has been observed),
 * overlapping runs skipped and no catch-up beyond one run: each run rewrites the whole day so far.
 */
export async function ensureBaselineSchedule(client: Client, network: NetworkConfig, options: BaselineScheduleOptions = {}): Promise<ScheduleHandle> {
  const input: BaselineRunInput = { networkId: network.id, utcOffsetMin: zoneOffsets(network).standardMin };
  const scheduleId = baselineScheduleId(network.id);
  const spec = { intervals: [{ every: '1 hour', offset: '5 minutes' }] };
  const action = { type: 'startWorkflow' as const, workflowType: 'baselineRun', workflowId: scheduleId, taskQueue: options.taskQueueName ?? taskQueue, args: [input] };
  const policies = { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 hour' };
  try {
    return await client.schedule.create({ scheduleId, spec, action, policies, state: { paused: options.paused ?? false, note: `energy baseline of ${network.id}` } });
  } catch (error) {
    if (!(error instanceof ScheduleAlreadyRunning)) throw error;
    const handle = client.schedule.getHandle(scheduleId);
    await handle.update((previous) => ({ ...previous, spec, action, policies }));
    return handle;
  }
}
