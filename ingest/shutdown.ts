// How long `tsx ingest/main.ts` takes to stop on SIGTERM/SIGINT, for the supervisors that send it: a
// supervisor must wait longer than INGEST_STOP_DEADLINE_MS before it kills the process (infra/dev-stack.ts
// waits INGEST_STOP_DEADLINE_MS + 5 s; infra/compose.yaml's stop_grace_period is 30 s; test/unit/compose.test.ts
// checks the latter).
//
// On a signal, ingest unsubscribes (the OPC UA teardown is bounded by subscriber.ts at 2 s + 2 s + 5 s, and
// 5 s more if a connection attempt is in progress), puts everything received on disk (Pipeline.persist),
// tries to write the spool out to InfluxDB for INGEST_STOP_DRAIN_MS, and exits. If that has not finished at
// INGEST_STOP_DEADLINE_MS it exits anyway; what InfluxDB has not acknowledged by then is in the spool.

/** From the signal to the exit, at most. */
export const INGEST_STOP_DEADLINE_MS = 15_000;

/** Of which, trying to write the spool out once everything is on disk. */
export const INGEST_STOP_DRAIN_MS = 3_000;
