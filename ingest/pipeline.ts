// Batching and backpressure from the subscriber into InfluxDB, with a disk spool so nothing is lost.
//
//   push(line) ─► bounded in-memory queue ─► batches (by size or age) ─► InfluxDB        mode "direct"
//                        │                                   │ failure
//                        └──────── queue full or ◄───────────┘
//                                  InfluxDB down ─► spool (append-only segments on disk)   mode "spooling"
//                                                     │ replayed oldest first, one batch at a time
//                                                     └──► InfluxDB; when the spool is empty ─► "direct"
//
// While anything is spooled, new lines go to the spool behind it, so InfluxDB receives them in order and
// the memory queue stays bounded however long an outage lasts. A batch that fails is spooled whole; the
// spool is replayed with exponential backoff between failed attempts.
//
// Lines InfluxDB refuses as invalid (HTTP 400/422) cannot succeed on retry: the batch is halved down to the
// lines refused on their own (writeIsolatingRefusals; lines with a timestamp InfluxDB cannot store are
// refused without a request), which go to the spool's rejected.lp with their error and are counted as
// rejected; the rest of the batch is written. If rejected.lp cannot be written (disk full, budget, an
// unwritable file), the refused lines stay in the spool, uncommitted, and are tried again after the backoff.
//
// Stopping: persist() copies the batches in flight and the queue to the spool at once, and from then on every
// point pushed is appended to the spool as it arrives, so a kill after persist() loses nothing. close()
// persists, tries to write the spool out until its deadline (drainTimeoutMs), and never waits past it.
// Counters are in points (lines); values (fields) are counted too, as the unit of "tag updates".
import { countFields } from './line-protocol.js';
import { errorText, silentLogger, type IngestLogger } from './log.js';
import { Spool, type SpoolChunk, type SpoolOptions, type SpoolStats } from './spool.js';
import { writeIsolatingRefusals, type LineWriter, type RefusedLine, type WriteOutcome } from './writer.js';

export interface PipelineOptions {
  writer: LineWriter;
  spool: SpoolOptions;
  /** Lines per InfluxDB request (default 5000). */
  batchSize?: number;
  /** A partial batch is sent (or spooled) after this long (default 1000 ms). */
  flushIntervalMs?: number;
  /** Bound of the in-memory queue; beyond it lines spill to the spool (default 100 000). */
  maxQueueLines?: number;
  /** Concurrent InfluxDB requests in direct mode (default 2). */
  concurrency?: number;
  /** Lines per request when replaying the spool (default 10 000). */
  replayBatchSize?: number;
  /** Backoff between failed replay attempts (default 250 ms doubling to 10 s). */
  retryInitialDelayMs?: number;
  retryMaxDelayMs?: number;
  logger?: IngestLogger;
  /**
   * The line recording points lost (the spool and the memory queue both full or unwritable), pushed once
   * memory has room again, so the loss reaches InfluxDB (an ingest_gap) and is never only a counter.
   */
  lossLine?: (loss: PointLoss) => string;
}

/** Points lost because neither the spool nor the memory queue could take them. */
export interface PointLoss {
  points: number;
  /** Timestamps of the lines lost (UTC ms; the lines' own times). */
  firstUtcMs: number;
  lastUtcMs: number;
  /** Wall clock of the first and the last loss. */
  startWallUtcMs: number;
  endWallUtcMs: number;
  /** Why the spool could not take them. */
  error: string;
}

export type PipelineMode = 'direct' | 'spooling';

export interface PipelineCounters {
  /** Points accepted by push(). */
  received: number;
  /** Points acknowledged by InfluxDB (directly or from the spool). */
  written: number;
  /** Points appended to the disk spool. */
  spooled: number;
  /** Points written to InfluxDB from the spool (included in written). */
  replayed: number;
  /** Points lost: the spool could not take them (full or unwritable) and the memory queue was full. Must stay 0. */
  dropped: number;
  /** Appends to the spool that failed (the points stayed in memory while it had room). */
  spoolFailures: number;
  /** Points InfluxDB refused as invalid (or with a time it cannot store), kept in rejected.lp. */
  rejected: number;
  /** Times refused points could not be written to rejected.lp (they stayed in the spool). */
  deadLetterFailures: number;
  /** Field values accepted / acknowledged (a point carries one or more). */
  receivedValues: number;
  writtenValues: number;
  /** Points waiting in memory, requests in flight to InfluxDB (not yet copied to disk), points in the spool. */
  queued: number;
  inFlight: number;
  spoolPending: number;
  /** Points found in the spool at start (from an earlier run); replayed before anything newer. */
  recovered: number;
  maxQueued: number;
  mode: PipelineMode;
  /** persist() or close() was called: points go to disk as they arrive. */
  stopping: boolean;
  /** HTTP requests to InfluxDB, and those that failed (a refused batch is halved, so one batch may make several). */
  writeRequests: number;
  writeFailures: number;
  /** Times the pipeline switched to spooling, and why the last time. */
  spoolEpisodes: number;
  /** The last failure, until the pipeline recovers (back to direct writes with the spool empty). */
  lastError: string | null;
  spool: SpoolStats;
}

export interface Pipeline {
  push(line: string): void;
  pushMany(lines: readonly string[]): void;
  /** Send or spool everything received so far, and wait for requests in flight (after persist(): spool only). */
  flush(): Promise<void>;
  /** Wait until everything received is in InfluxDB (queue, requests and spool empty); false on timeout. */
  drain(timeoutMs: number): Promise<boolean>;
  counters(): PipelineCounters;
  /**
   * For shutdown, first thing: append the batches in flight (a copy: an answer that comes later is not
   * counted, the copy is re-sent, harmlessly) and the queue to the spool now, synchronously; from then on
   * every point pushed goes to the spool as it arrives. The spool goes on being replayed. A kill after this
   * loses nothing.
   */
  persist(): void;
  /**
   * persist(); then try to write the spool out for up to drainTimeoutMs (default 0: leave it for the next
   * start); then close the spool and the writer. Never waits for InfluxDB past the deadline (plus ≤ 1 s for
   * the writer to close): what is not written stays in the spool.
   */
  close(options?: { drainTimeoutMs?: number }): Promise<PipelineCounters>;
}

export function createPipeline(options: PipelineOptions): Pipeline {
  const log = options.logger ?? silentLogger;
  const batchSize = options.batchSize ?? 5000;
  const flushIntervalMs = options.flushIntervalMs ?? 1000;
  const maxQueueLines = options.maxQueueLines ?? 100_000;
  const concurrency = options.concurrency ?? 2;
  const replayBatchSize = options.replayBatchSize ?? 10_000;
  const retryInitialDelayMs = options.retryInitialDelayMs ?? 250;
  const retryMaxDelayMs = options.retryMaxDelayMs ?? 10_000;
  if (!(batchSize >= 1 && maxQueueLines >= batchSize && concurrency >= 1 && replayBatchSize >= 1)) {
    throw new RangeError('pipeline: need batchSize ≥ 1, maxQueueLines ≥ batchSize, concurrency ≥ 1, replayBatchSize ≥ 1');
  }
  const spool = Spool.open({ ...options.spool, logger: options.spool.logger ?? log });

  const c = {
    received: 0,
    written: 0,
    spooled: 0,
    replayed: 0,
    dropped: 0,
    rejected: 0,
    receivedValues: 0,
    writtenValues: 0,
    maxQueued: 0,
    writeRequests: 0,
    writeFailures: 0,
    spoolEpisodes: 0,
    deadLetterFailures: 0,
    spoolFailures: 0,
    lastError: null as string | null,
  };
  // Every request to InfluxDB (writeIsolatingRefusals may make several per batch) is counted here.
  const writer: LineWriter = {
    write: (lines) => {
      c.writeRequests++;
      return options.writer.write(lines).catch((error: unknown) => {
        c.writeFailures++;
        throw error;
      });
    },
    close: () => options.writer.close(),
  };
  const recovered = spool.pendingLines;
  let queue: string[] = [];
  let mode: PipelineMode = recovered > 0 ? 'spooling' : 'direct';
  /** Batches sent directly and not answered yet, by sequence number. `persisted`: a copy is in the spool. */
  const inFlight = new Map<number, { lines: string[]; persisted: boolean }>();
  const inFlightPromises = new Set<Promise<void>>();
  /** persist() was called: every point is appended to the spool as it arrives; nothing is sent directly. */
  let stopping = false;
  let closed = false;
  let closing: Promise<PipelineCounters> | undefined;
  let kickScheduled = false;
  let replayTimer: NodeJS.Timeout | undefined;
  let replayRunning: Promise<void> | undefined;
  let replayDelay = retryInitialDelayMs;
  let retryAfterMs = retryInitialDelayMs;
  const idleWaiters: (() => void)[] = [];

  const take = (n: number): string[] => {
    if (queue.length <= n) {
      const all = queue;
      queue = [];
      return all;
    }
    const batch = queue.slice(0, n);
    queue = queue.slice(n);
    return batch;
  };

  const valuesOf = (lines: readonly string[]) => {
    let n = 0;
    for (const l of lines) n += countFields(l);
    return n;
  };

  /** Requests in flight whose lines are only in memory (not yet copied to the spool by persist()). */
  const unpersistedInFlight = () => {
    let n = 0;
    for (const b of inFlight.values()) if (!b.persisted) n++;
    return n;
  };

  const notifyIdle = () => {
    if (queue.length === 0 && unpersistedInFlight() === 0 && mode === 'direct' && spool.isEmpty) {
      for (const w of idleWaiters.splice(0)) w();
    }
  };

  // A failed append keeps the lines in memory (at the front: they are the oldest) while the queue has room,
  // and the next flush tries the spool again (replay frees space, an operator moves rejected.lp). Only what
  // does not fit is lost, counted, and recorded as one loss (lossLine) once memory has room.
  let spoolFailing: string | null = null;
  let loss: PointLoss | undefined;
  const lineTime = (line: string): number => {
    const t = Number(line.slice(line.lastIndexOf(' ') + 1));
    return Number.isFinite(t) ? t : Date.now();
  };
  const recordLoss = (lines: readonly string[], error: string) => {
    if (lines.length === 0) return;
    let first = Number.POSITIVE_INFINITY;
    let last = Number.NEGATIVE_INFINITY;
    for (const l of lines) {
      const t = lineTime(l);
      if (t < first) first = t;
      if (t > last) last = t;
    }
    const now = Date.now();
    c.dropped += lines.length;
    if (loss) {
      loss.points += lines.length;
      loss.firstUtcMs = Math.min(loss.firstUtcMs, first);
      loss.lastUtcMs = Math.max(loss.lastUtcMs, last);
      loss.endWallUtcMs = now;
      loss.error = error;
    } else {
      loss = { points: lines.length, firstUtcMs: first, lastUtcMs: last, startWallUtcMs: now, endWallUtcMs: now, error };
    }
    log.error('pipeline: the spool cannot take points and the memory queue is full; they are lost (recorded as an ingest_gap)', { points: lines.length, dropped: c.dropped, error });
  };
  /** The loss so far as one line in the queue (if memory has room): it then goes the way of every point. */
  const emitLoss = () => {
    if (!loss || !options.lossLine || queue.length >= maxQueueLines) return;
    const l = loss;
    loss = undefined;
    accept(options.lossLine(l));
  };

  /** Append to the spool; if that fails, keep the lines in memory while it has room. False if the append failed. */
  const toSpool = (lines: readonly string[]): boolean => {
    if (lines.length === 0) return true;
    try {
      spool.append(lines);
      c.spooled += lines.length;
      if (spoolFailing !== null) log.info('pipeline: the spool takes points again', { spoolDir: spool.dir });
      spoolFailing = null;
      emitLoss();
      return true;
    } catch (error) {
      c.spoolFailures++;
      const why = errorText(error);
      c.lastError = `could not spool points: ${why}`;
      const room = Math.max(0, maxQueueLines - queue.length);
      const keep = lines.length <= room ? (lines as string[]) : lines.slice(0, room);
      queue = keep.concat(queue);
      if (keep.length < lines.length) recordLoss(lines.slice(keep.length), why);
      if (spoolFailing === null) log.error('pipeline: could not spool points; they stay in memory and the spool is tried again', { points: lines.length, queued: queue.length, maxQueueLines, error: why });
      spoolFailing = why;
      return false;
    }
  };

  /**
   * Keep refused lines in rejected.lp. False if that failed (disk full, budget, unwritable file): the caller
   * keeps the lines in the spool and tries again later, so nothing is lost and nothing crashes.
   */
  const deadLetter = (refused: readonly RefusedLine[]): boolean => {
    try {
      spool.deadLetter(refused);
    } catch (error) {
      c.deadLetterFailures++;
      c.lastError = `could not keep ${refused.length} refused points in rejected.lp: ${errorText(error)}`;
      log.error('pipeline: could not write rejected.lp; the refused points stay in the spool and are tried again', { points: refused.length, spoolDir: spool.dir, error: errorText(error) });
      return false;
    }
    c.rejected += refused.length;
    c.lastError = refused[0]!.error;
    log.error('pipeline: InfluxDB refused points as invalid; kept in rejected.lp', { points: refused.length, first: refused[0]!.line.slice(0, 300), error: refused[0]!.error });
    return true;
  };

  // A batch that fails while others are in flight: the failed batches are spooled in the order they were
  // taken, once every request in flight has settled, and only then the queue behind them ("settling").
  const failed: { seq: number; lines: string[] }[] = [];
  let batchSeq = 0;
  const settling = () => mode === 'spooling' && unpersistedInFlight() > 0;

  const enterSpooling = (reason: string) => {
    if (mode === 'spooling' || closed) return;
    mode = 'spooling';
    c.spoolEpisodes++;
    log.warn('pipeline: spooling to disk', { reason, spoolDir: spool.dir });
    if (unpersistedInFlight() === 0) settle();
  };

  /** All requests in flight are done: spool the failed batches in order, then the queue, and start replaying. */
  const settle = () => {
    if (closed) return;
    failed.sort((a, b) => a.seq - b.seq);
    for (const f of failed.splice(0)) toSpool(f.lines);
    toSpool(take(queue.length));
    scheduleReplay(retryInitialDelayMs);
  };

  /** One batch sent directly: written, refused lines to rejected.lp, or (InfluxDB unavailable) to the spool. */
  const send = async (seq: number, entry: { lines: string[]; persisted: boolean }): Promise<void> => {
    let outcome: WriteOutcome;
    try {
      outcome = await writeIsolatingRefusals(writer, entry.lines);
    } catch (error) {
      c.lastError = errorText(error);
      // A batch persist() copied to the spool is already there.
      if (entry.persisted) return;
      failed.push({ seq, lines: entry.lines });
      enterSpooling(c.lastError);
      return;
    }
    // Its copy in the spool is replayed (and counted) later; re-sending is idempotent.
    if (entry.persisted) return;
    c.written += outcome.written.length;
    c.writtenValues += valuesOf(outcome.written);
    if (outcome.refused.length > 0 && !deadLetter(outcome.refused)) {
      failed.push({ seq, lines: outcome.refused.map((r) => r.line) });
      enterSpooling(c.lastError ?? 'could not write rejected.lp');
    }
  };

  const dispatch = (force: boolean) => {
    if (mode !== 'direct' || stopping || closed) return;
    while (inFlight.size < concurrency && queue.length > 0 && (force || queue.length >= batchSize)) {
      const batch = take(batchSize);
      const seq = batchSeq++;
      const entry = { lines: batch, persisted: false };
      inFlight.set(seq, entry);
      const p = send(seq, entry);
      inFlightPromises.add(p);
      void p.finally(() => {
        inFlightPromises.delete(p);
        inFlight.delete(seq);
        if (closed) return;
        if (mode === 'spooling' && unpersistedInFlight() === 0) settle();
        else if (mode === 'direct' && queue.length >= batchSize) dispatch(false);
        notifyIdle();
      });
    }
  };

  const kick = () => {
    if (kickScheduled) return;
    kickScheduled = true;
    setImmediate(() => {
      kickScheduled = false;
      if (mode === 'direct') dispatch(false);
      else if (queue.length >= batchSize && !settling()) toSpool(take(queue.length));
    });
  };

  const scheduleReplay = (delayMs: number) => {
    if (closed || replayTimer !== undefined || replayRunning) return;
    replayTimer = setTimeout(() => {
      replayTimer = undefined;
      replayRunning = replayLoop().finally(() => {
        replayRunning = undefined;
        // A failure that arrived while this run was ending must not leave the spool unattended.
        if (mode === 'spooling' && !settling() && replayTimer === undefined && !closed) scheduleReplay(retryAfterMs);
      });
    }, delayMs);
  };

  // Failed replays are warned about at the first failure and then at most once a minute, with the reason.
  let replayFailures = 0;
  let replayWarnedAtMs = 0;
  const backOff = (why: string) => {
    replayFailures++;
    const now = Date.now();
    if (replayFailures === 1 || now - replayWarnedAtMs >= 60_000) {
      replayWarnedAtMs = now;
      log.warn('pipeline: replaying the spool failed; backing off', { attempts: replayFailures, spoolPending: spool.pendingLines, delayMs: replayDelay, error: why });
    } else log.debug('pipeline: replay attempt failed; backing off', { delayMs: replayDelay, error: why });
    retryAfterMs = replayDelay;
    replayDelay = Math.min(retryMaxDelayMs, replayDelay * 2);
  };

  /**
   * Replay the spool oldest first until it is empty (then back to direct) or something fails (then back off):
   * InfluxDB unavailable, or the refused lines of a chunk cannot be kept in rejected.lp — then the chunk stays
   * uncommitted in the spool and is tried again after the backoff. Never throws.
   */
  const replayLoop = async (): Promise<void> => {
    for (;;) {
      if (mode !== 'spooling' || closed) return;
      let chunk: SpoolChunk | null;
      try {
        // Anything queued in memory is newer than the spool: put it behind it.
        toSpool(take(queue.length));
        chunk = spool.read(replayBatchSize);
      } catch (error) {
        c.lastError = `could not read the spool: ${errorText(error)}`;
        log.error('pipeline: could not read the spool; trying again later', { spoolDir: spool.dir, error: errorText(error) });
        backOff(c.lastError);
        return;
      }
      if (!chunk) {
        mode = 'direct';
        replayDelay = retryInitialDelayMs;
        log.info('pipeline: spool replayed; writing directly again', { replayed: c.replayed, failedAttempts: replayFailures, lastError: c.lastError });
        // Recovered: the error is history (it is in the log above), not the current state.
        replayFailures = 0;
        c.lastError = null;
        dispatch(true);
        notifyIdle();
        return;
      }
      let outcome: WriteOutcome;
      try {
        outcome = await writeIsolatingRefusals(writer, chunk.lines);
      } catch (error) {
        c.lastError = errorText(error);
        if (closed) return;
        backOff(c.lastError);
        return;
      }
      // Past close's deadline: the chunk stays uncommitted and is sent again (harmlessly) on the next start.
      if (closed) return;
      if (outcome.refused.length > 0 && !deadLetter(outcome.refused)) {
        backOff(c.lastError ?? 'could not write rejected.lp');
        return;
      }
      try {
        spool.commit(chunk);
      } catch (error) {
        // spool.commit() writes the cursor before it moves on: the chunk is still the spool's head.
        c.lastError = `could not record the replay position: ${errorText(error)}`;
        log.error('pipeline: could not record the replay position; the chunk stays in the spool and is sent again', { spoolDir: spool.dir, points: chunk.lines.length, error: errorText(error) });
        backOff(c.lastError);
        return;
      }
      c.written += outcome.written.length;
      c.replayed += outcome.written.length;
      c.writtenValues += valuesOf(outcome.written);
      replayDelay = retryInitialDelayMs;
    }
  };

  const flushTimer = setInterval(() => {
    emitLoss();
    if (queue.length === 0) return;
    if (mode === 'direct') dispatch(true);
    else if (!settling()) toSpool(take(queue.length));
  }, flushIntervalMs);
  flushTimer.unref();

  if (mode === 'spooling') {
    c.spoolEpisodes++;
    scheduleReplay(0);
  }

  /** After persist(): what arrives goes to disk at once, behind the rest, and the replay picks it up. */
  const spoolNow = () => {
    toSpool(take(queue.length));
    if (mode === 'direct' && !spool.isEmpty) mode = 'spooling';
    if (mode === 'spooling') scheduleReplay(0);
  };

  const accept = (line: string) => {
    queue.push(line);
    c.received++;
    c.receivedValues += countFields(line);
  };

  const afterPush = () => {
    if (queue.length > c.maxQueued) c.maxQueued = queue.length;
    if (stopping) {
      spoolNow();
      return;
    }
    if (mode === 'direct' && queue.length > maxQueueLines) {
      // Backpressure: InfluxDB is slower than the feed. Spill to disk rather than grow or drop
      // (once the requests in flight have settled, so the spool keeps the order).
      enterSpooling(`memory queue above ${maxQueueLines} points`);
    }
    if (mode === 'spooling' && queue.length > maxQueueLines) {
      // The memory bound wins over strict order while requests are still settling.
      toSpool(take(queue.length));
      return;
    }
    if (queue.length >= batchSize) kick();
  };

  const counters = (): PipelineCounters => ({
    ...c,
    queued: queue.length,
    inFlight: unpersistedInFlight(),
    spoolPending: spool.pendingLines,
    recovered,
    mode,
    stopping,
    spool: spool.stats(),
  });

  const persist = () => {
    if (closed) return;
    if (!stopping) {
      stopping = true;
      // In the order they were taken: batches in flight (a copy) and failed ones waiting to settle, then the queue.
      const pending = failed.splice(0);
      for (const [seq, b] of inFlight) {
        if (b.persisted) continue;
        b.persisted = true;
        pending.push({ seq, lines: b.lines });
      }
      pending.sort((a, b) => a.seq - b.seq);
      for (const p of pending) toSpool(p.lines);
      log.info('pipeline: stopping; every point received is on disk from here on', { queued: queue.length, inFlightBatches: pending.length, spoolDir: spool.dir });
    }
    spoolNow();
  };

  const flush = async () => {
    for (;;) {
      if (stopping) {
        spoolNow();
        return;
      }
      if (mode === 'direct') dispatch(true);
      // The spool cannot take them now: they stay in memory (tried again on the next flush).
      else if (!settling() && !toSpool(take(queue.length))) return;
      if (inFlightPromises.size === 0 && queue.length === 0) return;
      await Promise.allSettled([...inFlightPromises]);
    }
  };

  const drain = async (timeoutMs: number): Promise<boolean> => {
    await flush();
    if (queue.length === 0 && unpersistedInFlight() === 0 && mode === 'direct' && spool.isEmpty) return true;
    if (mode === 'spooling' && !replayRunning && !settling() && !closed) {
      // Try now rather than at the end of the current backoff.
      if (replayTimer !== undefined) clearTimeout(replayTimer);
      replayTimer = undefined;
      scheduleReplay(0);
    }
    return new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => {
        const i = idleWaiters.indexOf(done);
        if (i >= 0) idleWaiters.splice(i, 1);
        resolve(false);
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        resolve(true);
      };
      idleWaiters.push(done);
      notifyIdle();
    });
  };

  /** Resolve after `promise` or `ms`, whichever is first; never rejects. */
  const atMost = async (promise: Promise<unknown>, ms: number) => {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([promise.catch(() => undefined), new Promise((resolve) => (timer = setTimeout(resolve, ms)))]);
    clearTimeout(timer);
  };

  return {
    push(line) {
      if (closed) {
        c.dropped++;
        log.error('pipeline: point pushed after close; lost');
        return;
      }
      accept(line);
      afterPush();
    },
    pushMany(lines) {
      if (closed) {
        c.dropped += lines.length;
        log.error('pipeline: points pushed after close; lost', { points: lines.length });
        return;
      }
      for (const l of lines) accept(l);
      afterPush();
    },
    flush,
    drain,
    counters,
    persist,
    close(closeOptions = {}) {
      return (closing ??= (async () => {
        const startedAt = Date.now();
        persist();
        const drainTimeoutMs = closeOptions.drainTimeoutMs ?? 0;
        const drained = drainTimeoutMs > 0 ? await drain(drainTimeoutMs) : spool.isEmpty;
        closed = true;
        clearInterval(flushTimer);
        if (replayTimer !== undefined) clearTimeout(replayTimer);
        replayTimer = undefined;
        // A replay request still running is not waited for: its chunk is not committed, so it is sent again
        // (harmlessly) on the next start. Requests persist() copied to the spool are not waited for either.
        // What the spool cannot take now is lost with the process: counted and logged (no InfluxDB to record it in).
        if (!toSpool(take(queue.length))) recordLoss(take(queue.length), spoolFailing ?? 'spool unwritable at close');
        spool.close();
        await atMost(writer.close(), 1000);
        const final = counters();
        log.info('pipeline: closed', {
          received: final.received,
          written: final.written,
          spooled: final.spooled,
          replayed: final.replayed,
          spoolPending: final.spoolPending,
          dropped: final.dropped,
          rejected: final.rejected,
          drained,
          ms: Date.now() - startedAt,
        });
        return final;
      })());
    },
  };
}
