// Waiting on a dispatch workflow's state (dispatchStateQuery) in workflow tests: polls with `until`, counting a
// query that fails before the workflow has started as "not yet".
import type { WorkflowHandle } from '@temporalio/client';
import { dispatchStateQuery, type DispatchCycleState } from '../../contract/index.js';
import { until } from './until.js';

export async function waitForDispatchState(handle: WorkflowHandle, what: string, ok: (s: DispatchCycleState) => boolean, timeoutMs: number): Promise<DispatchCycleState> {
  let last: DispatchCycleState | undefined;
  return until(
    what,
    timeoutMs,
    async () => {
      try {
        last = await handle.query(dispatchStateQuery);
      } catch {
        return null; // not started yet
      }
      return ok(last) ? last : null;
    },
    { context: () => `${handle.workflowId} last: ${last?.status}` },
  );
}
