// The demo's simulated clock, shared by the two processes that follow a scenario: the OPC UA simulator and the
// forecast server start at the same instant and run at the same speed, so the rain the forecasts announce is the
// rain the simulated network gets. (Ingest, the worker and the Schedules keep wall-clock time: see README.md.)

export interface DemoClock {
  /** Scenario start and both clocks' "now" at launch (ISO, UTC, whole minute). */
  startIso: string;
  /** Simulated seconds per wall second. */
  speed: number;
}

/** The clock from `--speed` (a positive number; `max` cannot be followed by the forecast server's clock). */
export function demoClock(speedArg: string, nowUtcMs: number): DemoClock {
  const speed = Number(speedArg);
  if (speedArg.trim() === '' || !Number.isFinite(speed) || speed <= 0) {
    throw new Error(`--speed (or DEMO_SPEED): "${speedArg}" is not a positive number of simulated seconds per second`);
  }
  // To the minute, so simulated time tracks the wall clock at ×1: plans see the scenario's rain coming within their horizon.
  return { startIso: new Date(Math.floor(nowUtcMs / 60_000) * 60_000).toISOString(), speed };
}

export function simulatorArgs(clock: DemoClock, o: { network: string; port: number; scenario: string }): string[] {
  return ['--network', o.network, '--port', String(o.port), '--scenario', o.scenario, '--speed', String(clock.speed), '--start', clock.startIso];
}

export function forecastServerArgs(clock: DemoClock, o: { port: number; scenario: string }): string[] {
  return ['--port', String(o.port), '--scenario', o.scenario, '--start', clock.startIso, '--now', clock.startIso, '--speed', String(clock.speed)];
}
