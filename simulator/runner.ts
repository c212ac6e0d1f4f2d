// The clock that drives a simulation: real time, accelerated, as fast as possible, or by hand.
// The model is deterministic for a seed; the only non-determinism is when external writes land.
import type { Simulation } from './model.js';

export type ClockOptions =
  /** Advanced only by `advance()` (tests). */
  | { mode: 'manual' }
  /** Simulated time runs `speed` × wall time (1 = real time, 60 = one simulated minute per second). */
  | {
      mode: 'paced';
      speed: number;
      /** Wall-clock interval between catch-ups; default 200 ms. */
      tickMs?: number;
      /**
       * 'wall' (default) scales the PLC watchdog by `speed`, so a dispatcher's heartbeat every few wall seconds
       * keeps its stations in REMOTE as a real PLC timer would; 'simulated' keeps it in simulated seconds.
       */
      watchdogBasis?: 'wall' | 'simulated';
    }
  /** As fast as the CPU allows, in chunks that yield to the event loop (so OPC UA clients are served). */
  | {
      mode: 'fast';
      untilUtcMs?: number;
      /** Wall time spent stepping before yielding to the event loop; default 20 ms. */
      chunkBudgetMs?: number;
      /** Pause between chunks (ms); default 0. */
      chunkPauseMs?: number;
      /**
       * 'wall' (default) counts the PLC watchdog in wall-clock seconds (network.opcua.watchdogTimeoutS of them),
       * the time base a client keeps it alive in: at thousands of simulated minutes per wall second a timeout in
       * simulated seconds lapses between any two heartbeats, and every station would stay in local fallback.
       * 'simulated' keeps it in simulated seconds (then no client can hold REMOTE).
       */
      watchdogBasis?: 'wall' | 'simulated';
    };

export interface SimulationClock {
  readonly options: ClockOptions;
  readonly running: boolean;
  /** Start advancing (no-op for manual clocks). */
  start(): void;
  stop(): void;
  /** Advance by whole steps now, whatever the mode, and notify listeners. */
  advance(steps: number): void;
  /** Called after every advance with the new simulation time; returns an unsubscribe function. */
  onAdvance(listener: (timeUtcMs: number) => void): () => void;
  /** Resolves when a fast clock reaches untilUtcMs (or stop() is called). */
  finished(): Promise<void>;
}

export function validateClockOptions(options: ClockOptions): void {
  if (options.mode === 'paced') {
    if (!(Number.isFinite(options.speed) && options.speed > 0)) throw new RangeError(`clock speed must be a positive number, got ${options.speed}`);
    if (options.tickMs !== undefined && !(options.tickMs >= 10)) throw new RangeError(`clock tickMs must be ≥ 10, got ${options.tickMs}`);
  } else if (options.mode === 'fast') {
    if (options.chunkBudgetMs !== undefined && !(options.chunkBudgetMs > 0)) throw new RangeError(`clock chunkBudgetMs must be positive, got ${options.chunkBudgetMs}`);
    if (options.chunkPauseMs !== undefined && !(options.chunkPauseMs >= 0)) throw new RangeError(`clock chunkPauseMs must be ≥ 0, got ${options.chunkPauseMs}`);
  } else if ((options as { mode: string }).mode !== 'manual') {
    throw new RangeError(`unknown clock mode ${String((options as { mode: unknown }).mode)}`);
  }
}

/** `wallNowMs` is injectable so paced clocks can be tested without waiting. */
export function createClock(simulation: Simulation, options: ClockOptions, wallNowMs: () => number = () => Date.now()): SimulationClock {
  validateClockOptions(options);
  const listeners = new Set<(timeUtcMs: number) => void>();
  const stepMs = simulation.stepS * 1000;
  let running = false;
  let timer: NodeJS.Timeout | undefined;
  let resolveFinished: (() => void) | undefined;
  const finishedPromise = new Promise<void>((resolve) => (resolveFinished = resolve));

  const notify = () => {
    for (const listener of listeners) listener(simulation.timeUtcMs);
  };
  const advance = (steps: number) => {
    if (!(Number.isInteger(steps) && steps >= 0)) throw new RangeError(`advance: steps must be a whole number ≥ 0, got ${steps}`);
    if (steps === 0) return;
    simulation.advance(steps);
    notify();
  };

  if (options.mode === 'paced' && (options.watchdogBasis ?? 'wall') === 'wall') {
    simulation.setWatchdogTimeoutS(simulation.network.opcua.watchdogTimeoutS * options.speed);
  } else if (options.mode === 'fast' && (options.watchdogBasis ?? 'wall') === 'wall') {
    // Not a scale but a time base: the simulated-per-wall ratio of a fast clock is not constant.
    simulation.setWatchdogClock(wallNowMs);
    simulation.setWatchdogTimeoutS(simulation.network.opcua.watchdogTimeoutS);
  }

  const clock: SimulationClock = {
    options,
    get running() {
      return running;
    },
    start() {
      if (running || options.mode === 'manual') return;
      running = true;
      if (options.mode === 'paced') {
        const wallStart = wallNowMs();
        const simStart = simulation.timeUtcMs;
        const tick = () => {
          const targetUtcMs = simStart + (wallNowMs() - wallStart) * options.speed;
          // Catch up in whole steps; cap one tick's work so a stalled process does not freeze clients.
          const due = Math.min(Math.floor((targetUtcMs - simulation.timeUtcMs) / stepMs), 100_000);
          if (due > 0) advance(due);
        };
        timer = setInterval(tick, options.tickMs ?? 200);
      } else if (options.mode === 'fast') {
        const budgetMs = options.chunkBudgetMs ?? 20;
        const until = options.untilUtcMs ?? Number.POSITIVE_INFINITY;
        const run = () => {
          if (!running) return;
          // Step in small batches until the wall-time budget is spent, then let clients be served.
          const chunkStart = wallNowMs();
          let stepped = 0;
          for (;;) {
            const left = Math.floor((until - simulation.timeUtcMs) / stepMs);
            if (left <= 0) break;
            const batch = Math.min(60, left);
            simulation.advance(batch);
            stepped += batch;
            if (wallNowMs() - chunkStart >= budgetMs || stepped >= 100_000) break;
          }
          if (stepped > 0) notify();
          if (Math.floor((until - simulation.timeUtcMs) / stepMs) <= 0) {
            clock.stop();
            return;
          }
          timer = setTimeout(run, options.chunkPauseMs ?? 0);
        };
        timer = setTimeout(run, 0);
      }
    },
    stop() {
      running = false;
      if (timer !== undefined) {
        clearInterval(timer);
        clearTimeout(timer);
        timer = undefined;
      }
      resolveFinished?.();
    },
    advance,
    onAdvance(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    finished: () => finishedPromise,
  };
  return clock;
}
