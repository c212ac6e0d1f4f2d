// The dispatch heartbeat: while this worker runs, the watchdog tag of each station the dispatch stands
// behind is refreshed well inside the PLC's timeout, so those stations keep the live plan's setpoints.
// A station whose last dispatch was not verified (its writes failed or read back wrong, it was handed back,
// or the plan's step failed) is left out, so its watchdog lapses and its PLC takes local authority until a
// later plan writes it successfully. Once no plan is live — the last one completed and its last step's time
// is over, or it ended otherwise — no station is refreshed: every PLC falls back to its own level control,
// as the expiry message tells the dispatcher. When the worker (or its link) dies, the heartbeat stops and
// every PLC does the same — the fail-safe the PLC owns.
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { OpcUaConnector } from '../connectors/opcua.js';
import { coordinatorStateQuery, coordinatorWorkflowId, dispatchStateQuery, type CoordinatorState, type DispatchCycleState } from '../contract/index.js';
import type { NetworkConfig } from '../network/schema.js';
import { resolveTagMap } from '../network/tags.js';

/**
 * Which stations to refresh now; null when that cannot be said yet (a plan gone live has not finished its
 * first step): the keeper then keeps its last answer.
 */
export type RefreshedStations = () => Promise<Iterable<string> | null>;

export interface HeartbeatOptions {
  network: NetworkConfig;
  opcua: OpcUaConnector;
  /** Default a quarter of the watchdog timeout, so three beats may be lost before the PLC gives up. */
  intervalMs?: number;
  /**
   * The stations the dispatch stands behind (dispatchedStations below). Only these are refreshed. When the
   * answer fails or takes longer than the interval (at least 5 s) the last one is kept (none before the
   * first). Left out, every station is refreshed whatever the dispatch did (the keeper as it was before;
   * the worker should pass it).
   */
  stations?: RefreshedStations;
  onError?: (error: Error) => void;
}

export interface HeartbeatKeeper {
  beats(): number;
  failures(): number;
  /** The stations the last beat refreshed (or was to refresh), sorted. */
  refreshing(): string[];
  stop(): Promise<void>;
}

/**
 * The stations a plan's state stands behind: those whose every write in its latest step outcome read back
 * right, less the stations it handed back. None when its step failed (the failed step's writes are not
 * known); null when it has not finished its first step yet.
 */
export function stationsVerifiedBy(state: DispatchCycleState): Set<string> | null {
  if (state.status === 'dispatch-failed') return new Set();
  if (!state.outcome) return state.status === 'approved' ? null : new Set();
  const handedBack = new Set((state.handedBack ?? []).map((h) => h.stationId));
  const verified = new Map<string, boolean>();
  for (const w of state.outcome.writes) verified.set(w.objectId, (verified.get(w.objectId) ?? true) && w.status === 'verified');
  return new Set([...verified].filter(([id, ok]) => ok && !handedBack.has(id)).map(([id]) => id));
}

/** When the plan's last step ends (its own length, else the plan's step); undefined without a plan. */
export function planEndsUtcMs(state: Pick<DispatchCycleState, 'plan'>): number | undefined {
  const last = state.plan?.steps.at(-1);
  return last && state.plan ? last.startUtcMs + (last.durationMin ?? state.plan.stepMin) * 60_000 : undefined;
}

/**
 * The stations whose last dispatch outcome was verified, read from Temporal (so a restarted worker knows
 * them at once): the coordinator names the plan that went live last, whose state holds its latest step's
 * writes and its hand-backs. Stood behind only while that plan is live at the coordinator, or completed with
 * its last step's time not over, and never past its last step's end. No coordinator, no plan ever live, that
 * plan over (or its history gone): none, so the PLC watchdogs lapse to local control.
 */
export function dispatchedStations(client: Pick<Client, 'workflow'>, networkId: string, now: () => number = Date.now): RefreshedStations {
  /** A plan that has closed does not change: its answer is kept instead of replaying its history each beat. */
  let closed: { workflowId: string; stations: Set<string>; untilUtcMs: number } | undefined;
  const until = (c: { stations: Set<string>; untilUtcMs: number }) => (now() < c.untilUtcMs ? c.stations : new Set<string>());
  return async () => {
    let coordinator: CoordinatorState;
    try {
      coordinator = await client.workflow.getHandle(coordinatorWorkflowId(networkId)).query(coordinatorStateQuery);
    } catch (error) {
      if (error instanceof WorkflowNotFoundError) return new Set();
      throw error;
    }
    const lastWorkflowId = coordinator.lastApproved?.workflowId;
    if (!lastWorkflowId) return new Set();
    if (closed?.workflowId === lastWorkflowId) return until(closed);
    try {
      const state = await client.workflow.getHandle(lastWorkflowId).query(dispatchStateQuery);
      const stations = stationsVerifiedBy(state);
      const endsUtcMs = planEndsUtcMs(state);
      if (state.status === 'completed' || state.status === 'dispatch-failed' || state.status === 'replaced') {
        // A completed plan's last step holds until its time is over (not known: not at all); a failed or replaced one stands behind none.
        closed = { workflowId: lastWorkflowId, stations: (state.status === 'completed' ? stations : null) ?? new Set(), untilUtcMs: endsUtcMs ?? Number.NEGATIVE_INFINITY };
        return until(closed);
      }
      // Not live at the coordinator (it closed, or never told it): nothing stands behind it.
      if (coordinator.live?.workflowId !== lastWorkflowId) return new Set();
      if (stations === null) return null; // gone live, first step not finished: the keeper keeps its last answer
      return endsUtcMs === undefined || now() < endsUtcMs ? stations : new Set();
    } catch (error) {
      // Past the namespace's retention nothing says what that plan wrote: stand behind no station.
      if (error instanceof WorkflowNotFoundError) return new Set();
      throw error;
    }
  };
}

export function startHeartbeat(options: HeartbeatOptions): HeartbeatKeeper {
  const intervalMs = options.intervalMs ?? (options.network.opcua.watchdogTimeoutS * 1000) / 4;
  const tags = resolveTagMap(options.network).filter((t) => t.objectKind === 'station' && t.tag === 'heartbeat');
  let counter = Math.floor(Date.now() / 1000);
  let beats = 0;
  let failures = 0;
  let stopped = false;
  let inFlight: Promise<void> = Promise.resolve();
  let busy = false;
  const sourceTimeoutMs = Math.max(intervalMs, 5_000);
  /** What the stations source said last; every station when there is no source. */
  let standBehind: ReadonlySet<string> = options.stations ? new Set() : new Set(tags.map((t) => t.objectId));
  let due = tags.filter((t) => standBehind.has(t.objectId));

  const askStations = async (source: RefreshedStations) => {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${sourceTimeoutMs} ms`)), sourceTimeoutMs);
    });
    try {
      const answer = await Promise.race([source(), late]);
      if (answer !== null) standBehind = new Set(answer);
    } catch (error) {
      failures++;
      options.onError?.(new Error(`stations to refresh not known, kept the last ${standBehind.size}: ${(error as Error).message}`));
    } finally {
      clearTimeout(timer);
    }
  };

  const beat = async () => {
    counter = (counter + 1) >>> 0;
    if (options.stations) await askStations(options.stations);
    due = tags.filter((t) => standBehind.has(t.objectId));
    try {
      const outcomes = due.length > 0 ? await options.opcua.writeSetpoints(due.map((tag) => ({ tag, value: counter }))) : [];
      const bad = outcomes.filter((o) => !o.good);
      if (bad.length > 0) throw new Error(`heartbeat refused for ${bad.map((o) => `${o.nodeId} (${o.statusCode})`).join(', ')}`);
      beats++;
    } catch (error) {
      failures++;
      options.onError?.(error as Error);
    }
  };
  const run = async () => {
    busy = true;
    try {
      await beat();
    } finally {
      busy = false;
    }
  };
  // A beat still running (SCADA or Temporal slow) is not queued behind: the next tick after it beats.
  const timer = setInterval(() => {
    if (!stopped && !busy) inFlight = run();
  }, intervalMs);
  inFlight = run();

  return {
    beats: () => beats,
    failures: () => failures,
    refreshing: () => due.map((t) => t.objectId).sort(),
    async stop() {
      stopped = true;
      clearInterval(timer);
      await inFlight;
    },
  };
}
