// Append-only disk spool for line protocol: what InfluxDB cannot take now is kept here and replayed in order.
//
// Layout of the spool folder:
//   000000000001.lp, 000000000002.lp, …   segments, newline-delimited line protocol, appended only
//   cursor.json                            {"segment": n, "offset": bytes} — how far the head segment is replayed
//   rejected.lp                            lines InfluxDB refused as invalid (dead letters; never replayed),
//                                          each after a "# <time> <error>" line
//   lock                                   {"pid", "host", …} of the process using the folder
//
// One process at a time: open() takes the lock file (created exclusively) and fails with SpoolLockedError
// naming the folder and the holder's PID while that process lives; a lock left by a process that is gone
// (not running, or its PID now belongs to another process) is taken over. close() removes it.
//
// Budget: segments not yet replayed plus rejected.lp may take at most maxBytes (default 4 GiB); an append or
// a dead letter beyond it fails with SpoolFullError. A warning is logged when usage crosses highWaterFraction
// (default 80 %) of it, and again each time it comes back above after falling below.
//
// Crash safety:
//  - a segment is only ever appended to by the process that created it; after a restart new lines go to a
//    new segment, so a torn tail can never be glued to a later line;
//  - on open, a segment whose last line has no newline (a write torn by a crash) is truncated to its last
//    complete line, and empty segments are removed;
//  - the cursor is written with write-to-temp + rename, so it is either the old or the new value; a lost
//    cursor update only re-sends lines, and re-sending a point to InfluxDB is idempotent (same series,
//    field and timestamp overwrite with the same value), so delivery is at-least-once and nothing is lost;
//  - a cursor that does not fall on a line boundary is moved back to the previous one;
//  - every append and every dead letter is fdatasync'ed by default (option fsync), as is the folder when a
//    segment or rejected.lp is created; a failed append or dead letter is cut back, leaving no torn line.
// All file operations are synchronous: the spool is used from one event loop, which makes appends,
// reads and commits atomic with respect to each other without locks.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { silentLogger, type IngestLogger } from './log.js';

export interface SpoolOptions {
  dir: string;
  /** A new segment is started when the current one would grow beyond this (default 8 MiB). */
  segmentMaxBytes?: number;
  /**
   * Budget of the folder: pending segment bytes plus rejected.lp. Appends and dead letters that would exceed
   * it fail with SpoolFullError (default 4 GiB).
   */
  maxBytes?: number;
  /** Log a warning when usage crosses this fraction of maxBytes (default 0.8). */
  highWaterFraction?: number;
  /** fdatasync every append (default true). */
  fsync?: boolean;
  logger?: IngestLogger;
}

export interface SpoolStats {
  segments: number;
  pendingLines: number;
  pendingBytes: number;
  /** Lines appended since open. */
  appendedLines: number;
  /** Lines committed (replayed) since open. */
  committedLines: number;
  /** Lines that were waiting in the spool when it was opened (from an earlier run). */
  recoveredLines: number;
  /** Bytes of torn tails cut off at open. */
  truncatedBytes: number;
  /** Lines written to rejected.lp since open. */
  deadLetterLines: number;
  /** Size of rejected.lp. */
  rejectedBytes: number;
  /** pendingBytes + rejectedBytes, against maxBytes. */
  usedBytes: number;
  maxBytes: number;
}

/** A line for rejected.lp and the reason InfluxDB refused it. */
export interface DeadLetter {
  line: string;
  error: string;
}

/** A run of lines read from the head of the spool; hand it back to commit() once delivered. */
export interface SpoolChunk {
  readonly lines: string[];
  readonly segment: number;
  readonly startOffset: number;
  readonly endOffset: number;
}

export class SpoolFullError extends Error {
  override readonly name = 'SpoolFullError';
}

/** The folder is in use by another live process (or already open in this one). */
export class SpoolLockedError extends Error {
  override readonly name = 'SpoolLockedError';
  constructor(
    message: string,
    readonly dir: string,
    readonly pid: number | undefined,
  ) {
    super(message);
  }
}

interface Segment {
  seq: number;
  file: string;
  size: number;
  lines: number;
  /** Open for appending (only the segment created last by this process). */
  fd: number | null;
}

const SEGMENT_RE = /^(\d{12})\.lp$/;
const CURSOR = 'cursor.json';
const REJECTED = 'rejected.lp';
const LOCK = 'lock';
const NEWLINE = 0x0a;
const READ_WINDOW = 4 * 1024 * 1024;

const segmentName = (seq: number) => `${String(seq).padStart(12, '0')}.lp`;

function countNewlines(buffer: Buffer, end = buffer.length): number {
  let n = 0;
  let at = buffer.indexOf(NEWLINE, 0);
  while (at !== -1 && at < end) {
    n++;
    at = buffer.indexOf(NEWLINE, at + 1);
  }
  return n;
}

function writeAll(fd: number, data: Buffer): void {
  let written = 0;
  while (written < data.length) written += fs.writeSync(fd, data, written, data.length - written);
}

interface LockInfo {
  pid: number;
  host: string;
  /** Start time of the process (field 22 of /proc/<pid>/stat), to tell a reused PID apart; Linux only. */
  procStart?: string;
  since?: string;
}

/** Folders a Spool of this process holds open. */
const openHere = new Set<string>();

function procStart(pid: number): string | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Why a lock is stale (its holder is gone), or undefined while its holder may still be using the folder. */
function staleReason(held: LockInfo): string | undefined {
  // Another host's (or container's) processes cannot be checked from here.
  if (held.host !== os.hostname()) return undefined;
  if (held.pid === process.pid) return `left by an earlier process with this process's id ${held.pid}`;
  if (!processAlive(held.pid)) return `process ${held.pid} is not running`;
  const start = held.procStart === undefined ? undefined : procStart(held.pid);
  if (start !== undefined && start !== held.procStart) return `process id ${held.pid} now belongs to another process`;
  return undefined;
}

function parseLock(raw: string): LockInfo | undefined {
  try {
    const v = JSON.parse(raw) as Partial<LockInfo>;
    if (Number.isInteger(v.pid) && (v.pid as number) > 0 && typeof v.host === 'string') return v as LockInfo;
  } catch {
    // malformed: judged by age below
  }
  return undefined;
}

function fsyncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = fs.openSync(dir, 'r');
    fs.fsyncSync(fd);
  } catch {
    // Not supported on every platform/filesystem; the segment's own fsync still holds its data.
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

export class Spool {
  readonly dir: string;
  private readonly segmentMaxBytes: number;
  private readonly maxBytes: number;
  private readonly highWaterBytes: number;
  private aboveHighWater = false;
  private rejectedBytes = 0;
  private lockFile: string | undefined;
  private readonly fsync: boolean;
  private readonly log: IngestLogger;
  private readonly segments: Segment[] = [];
  /** Byte offset and lines already delivered in the head segment. */
  private headOffset = 0;
  private headLines = 0;
  private nextSeq = 1;
  private closed = false;
  private readonly counters = { appendedLines: 0, committedLines: 0, recoveredLines: 0, truncatedBytes: 0, deadLetterLines: 0 };

  private constructor(options: SpoolOptions) {
    this.dir = path.resolve(options.dir);
    this.segmentMaxBytes = options.segmentMaxBytes ?? 8 * 1024 * 1024;
    this.maxBytes = options.maxBytes ?? 4 * 1024 * 1024 * 1024;
    const highWater = options.highWaterFraction ?? 0.8;
    this.highWaterBytes = this.maxBytes * highWater;
    this.fsync = options.fsync ?? true;
    this.log = options.logger ?? silentLogger;
    if (!(this.segmentMaxBytes > 0)) throw new RangeError(`segmentMaxBytes must be positive, got ${this.segmentMaxBytes}`);
    if (!(this.maxBytes > 0)) throw new RangeError(`spool maxBytes must be positive, got ${this.maxBytes}`);
    if (!(highWater > 0 && highWater <= 1)) throw new RangeError(`spool highWaterFraction must be in (0, 1], got ${highWater}`);
  }

  /**
   * Open (creating the folder if needed), take its lock and recover what an earlier run left behind.
   * Throws SpoolLockedError if another live process (or this one) has the folder open.
   */
  static open(options: SpoolOptions): Spool {
    const spool = new Spool(options);
    fs.mkdirSync(spool.dir, { recursive: true });
    spool.lock();
    try {
      spool.recover();
    } catch (error) {
      spool.unlock();
      throw error;
    }
    return spool;
  }

  private lock(): void {
    if (openHere.has(this.dir)) {
      throw new SpoolLockedError(`spool ${this.dir} is already open in this process (pid ${process.pid}); close it first`, this.dir, process.pid);
    }
    const file = path.join(this.dir, LOCK);
    const start = procStart(process.pid);
    const mine: LockInfo = { pid: process.pid, host: os.hostname(), ...(start !== undefined ? { procStart: start } : {}), since: new Date().toISOString() };
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        const fd = fs.openSync(file, 'wx');
        try {
          writeAll(fd, Buffer.from(`${JSON.stringify(mine)}\n`));
          fs.fsyncSync(fd);
        } finally {
          fs.closeSync(fd);
        }
        this.lockFile = file;
        openHere.add(this.dir);
        return;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
      let raw: string;
      let ageMs: number;
      try {
        raw = fs.readFileSync(file, 'utf8');
        ageMs = Date.now() - fs.statSync(file).mtimeMs;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue; // released meanwhile
        throw error;
      }
      const held = parseLock(raw);
      // A lock without readable content may be one being written this instant: give it a few seconds.
      const stale = held ? staleReason(held) : ageMs > 5_000 ? 'unreadable lock file' : undefined;
      if (stale === undefined) {
        const who = held ? `process ${held.pid}${held.host !== os.hostname() ? ` on host ${held.host}` : ''}${held.since ? ` (since ${held.since})` : ''}` : 'a process that is starting';
        throw new SpoolLockedError(
          `spool ${this.dir} is in use by ${who}: lock file ${file}. Stop that process, or give this one another spool folder; if it is gone, delete the lock file.`,
          this.dir,
          held?.pid,
        );
      }
      // Stale: move it aside (atomic), check that it is still the one judged, then try again.
      const aside = `${file}.stale-${process.pid}-${attempt}`;
      try {
        fs.renameSync(file, aside);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue;
        throw error;
      }
      const moved = fs.readFileSync(aside, 'utf8');
      if (moved !== raw) {
        // Another process took it over between our read and the rename: give its lock back.
        try {
          fs.linkSync(aside, file);
        } catch {
          // a third one already made a new lock; ours is gone either way
        }
        fs.rmSync(aside, { force: true });
        continue;
      }
      fs.rmSync(aside, { force: true });
      this.log.warn('spool: took over a stale lock', { spoolDir: this.dir, heldBy: held?.pid ?? null, reason: stale });
    }
    throw new SpoolLockedError(`spool ${this.dir}: could not take the lock file ${file} (other processes keep changing it)`, this.dir, undefined);
  }

  private unlock(): void {
    if (this.lockFile === undefined) return;
    const file = this.lockFile;
    this.lockFile = undefined;
    openHere.delete(this.dir);
    try {
      if (parseLock(fs.readFileSync(file, 'utf8'))?.pid === process.pid) fs.rmSync(file, { force: true });
    } catch {
      // already gone
    }
  }

  private recover(): void {
    // Sequence numbers only grow, also past segments removed here (a cursor may still name them).
    let maxSeq = 0;
    for (const name of fs.readdirSync(this.dir)) {
      if (name.endsWith('.tmp')) {
        fs.rmSync(path.join(this.dir, name), { force: true });
        continue;
      }
      const match = SEGMENT_RE.exec(name);
      if (!match) continue;
      const seq = Number(match[1]);
      maxSeq = Math.max(maxSeq, seq);
      const file = path.join(this.dir, name);
      let data = fs.readFileSync(file);
      if (data.length > 0 && data[data.length - 1] !== NEWLINE) {
        // A torn append: keep the complete lines, cut the partial one.
        const keep = data.lastIndexOf(NEWLINE) + 1;
        fs.truncateSync(file, keep);
        this.counters.truncatedBytes += data.length - keep;
        this.log.warn('spool: cut a torn line off a segment', { segment: name, bytes: data.length - keep });
        data = data.subarray(0, keep);
      }
      if (data.length === 0) {
        fs.rmSync(file, { force: true });
        continue;
      }
      this.segments.push({ seq, file, size: data.length, lines: countNewlines(data), fd: null });
    }
    this.segments.sort((a, b) => a.seq - b.seq);
    this.nextSeq = maxSeq + 1;

    const cursor = this.readCursor();
    if (cursor) {
      // Segments before the cursor's one were delivered; the process died before removing them.
      while (this.segments.length > 0 && this.segments[0]!.seq < cursor.segment) this.removeHeadFile();
      const head = this.segments[0];
      if (head && head.seq === cursor.segment && cursor.offset > 0) {
        const data = fs.readFileSync(head.file);
        let offset = Math.min(cursor.offset, data.length);
        // Back to a line boundary (re-sending a line is harmless; skipping one is not).
        if (offset > 0 && data[offset - 1] !== NEWLINE) offset = data.lastIndexOf(NEWLINE, offset - 1) + 1;
        this.headOffset = offset;
        this.headLines = countNewlines(data, offset);
      }
      this.nextSeq = Math.max(this.nextSeq, cursor.segment + 1);
    }
    if (this.headOffset > 0 && this.segments[0] && this.headOffset >= this.segments[0].size) this.removeHeadFile();
    this.rejectedBytes = this.statRejected();
    this.counters.recoveredLines = this.pendingLines;
    this.checkHighWater();
    if (this.counters.recoveredLines > 0) {
      this.log.info('spool: found lines from an earlier run; they will be replayed first', { lines: this.counters.recoveredLines, segments: this.segments.length });
    }
  }

  private readCursor(): { segment: number; offset: number } | undefined {
    try {
      const parsed = JSON.parse(fs.readFileSync(path.join(this.dir, CURSOR), 'utf8')) as { segment?: unknown; offset?: unknown };
      if (Number.isInteger(parsed.segment) && Number.isInteger(parsed.offset) && (parsed.offset as number) >= 0) {
        return { segment: parsed.segment as number, offset: parsed.offset as number };
      }
      this.log.warn('spool: ignoring a malformed cursor.json (lines may be re-sent)');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') this.log.warn('spool: ignoring an unreadable cursor.json (lines may be re-sent)', { error: (error as Error).message });
    }
    return undefined;
  }

  private writeCursor(value?: { segment: number; offset: number }): void {
    const head = this.segments[0];
    value ??= head ? { segment: head.seq, offset: this.headOffset } : { segment: this.nextSeq - 1, offset: 0 };
    const tmp = path.join(this.dir, `${CURSOR}.tmp`);
    fs.writeFileSync(tmp, JSON.stringify(value));
    fs.renameSync(tmp, path.join(this.dir, CURSOR));
  }

  private removeHeadFile(): void {
    const head = this.segments.shift();
    if (!head) return;
    if (head.fd !== null) fs.closeSync(head.fd);
    fs.rmSync(head.file, { force: true });
    this.headOffset = 0;
    this.headLines = 0;
  }

  get pendingLines(): number {
    let n = 0;
    for (const s of this.segments) n += s.lines;
    return n - this.headLines;
  }

  get pendingBytes(): number {
    let n = 0;
    for (const s of this.segments) n += s.size;
    return n - this.headOffset;
  }

  get isEmpty(): boolean {
    return this.pendingLines === 0;
  }

  /** Bytes counted against maxBytes: segments not yet replayed and rejected.lp. */
  get usedBytes(): number {
    return this.pendingBytes + this.rejectedBytes;
  }

  stats(): SpoolStats {
    const pendingBytes = this.pendingBytes;
    return {
      segments: this.segments.length,
      pendingLines: this.pendingLines,
      pendingBytes,
      ...this.counters,
      rejectedBytes: this.rejectedBytes,
      usedBytes: pendingBytes + this.rejectedBytes,
      maxBytes: this.maxBytes,
    };
  }

  private statRejected(): number {
    try {
      const stat = fs.statSync(path.join(this.dir, REJECTED));
      return stat.isFile() ? stat.size : 0;
    } catch {
      return 0;
    }
  }

  /** Fail with SpoolFullError if `bytes` more would exceed the budget (rejected.lp re-read: an operator may have moved it). */
  private reserve(bytes: number, what: string): void {
    if (this.usedBytes + bytes <= this.maxBytes) return;
    this.rejectedBytes = this.statRejected();
    if (this.usedBytes + bytes <= this.maxBytes) return;
    throw new SpoolFullError(
      `spool ${this.dir} would exceed its budget of ${this.maxBytes} bytes with ${what} of ${bytes} bytes (${this.pendingBytes} bytes waiting to be replayed, ${this.rejectedBytes} in ${REJECTED})`,
    );
  }

  /** Warn once each time usage crosses the high-water mark; re-armed below it. */
  private checkHighWater(): void {
    const used = this.usedBytes;
    if (used >= this.highWaterBytes && !this.aboveHighWater) {
      this.aboveHighWater = true;
      this.log.warn('spool: above its high-water mark; at the budget new points are lost', {
        spoolDir: this.dir,
        usedBytes: used,
        maxBytes: this.maxBytes,
        percent: Math.round((used / this.maxBytes) * 1000) / 10,
        pendingBytes: this.pendingBytes,
        rejectedBytes: this.rejectedBytes,
      });
    } else if (used < this.highWaterBytes && this.aboveHighWater) {
      this.aboveHighWater = false;
      this.log.info('spool: back below its high-water mark', { spoolDir: this.dir, usedBytes: used, maxBytes: this.maxBytes });
    }
  }

  /** Append lines (each without a newline) at the tail; durable on return when fsync is on. */
  append(lines: readonly string[]): void {
    if (this.closed) throw new Error('spool is closed');
    if (lines.length === 0) return;
    const data = Buffer.from(`${lines.join('\n')}\n`, 'utf8');
    this.reserve(data.length, `${lines.length} lines`);
    let tail = this.segments.at(-1);
    if (!tail || tail.fd === null || (tail.size > 0 && tail.size + data.length > this.segmentMaxBytes)) {
      if (tail && tail.fd !== null) this.seal(tail);
      tail = this.createSegment();
    }
    const fd = tail.fd!;
    try {
      writeAll(fd, data);
      if (this.fsync) fs.fdatasyncSync(fd);
    } catch (error) {
      // Leave no torn line behind (e.g. ENOSPC half-way): cut back to the last complete append.
      try {
        fs.ftruncateSync(fd, tail.size);
      } catch {
        // recover() will cut it on the next open
      }
      throw error;
    }
    tail.size += data.length;
    tail.lines += lines.length;
    this.counters.appendedLines += lines.length;
    this.checkHighWater();
  }

  private createSegment(): Segment {
    const seq = this.nextSeq++;
    const file = path.join(this.dir, segmentName(seq));
    const fd = fs.openSync(file, 'ax+');
    fsyncDir(this.dir);
    const segment: Segment = { seq, file, size: 0, lines: 0, fd };
    this.segments.push(segment);
    return segment;
  }

  private seal(segment: Segment): void {
    if (segment.fd === null) return;
    if (this.fsync) fs.fdatasyncSync(segment.fd);
    fs.closeSync(segment.fd);
    segment.fd = null;
  }

  /** Up to `maxLines` of the oldest undelivered lines (not removed until commit), or null when empty. */
  read(maxLines: number): SpoolChunk | null {
    if (!(maxLines >= 1)) throw new RangeError(`maxLines must be ≥ 1, got ${maxLines}`);
    for (;;) {
      const head = this.segments[0];
      if (!head) return null;
      if (this.headOffset >= head.size) {
        if (head.fd !== null) return null; // the tail segment, all delivered: nothing more yet
        this.removeHeadFile();
        this.writeCursor();
        continue;
      }
      let window = Math.min(READ_WINDOW, head.size - this.headOffset);
      for (;;) {
        const buffer = Buffer.allocUnsafe(window);
        const fd = head.fd ?? fs.openSync(head.file, 'r');
        let got = 0;
        try {
          while (got < window) {
            const n = fs.readSync(fd, buffer, got, window - got, this.headOffset + got);
            if (n === 0) break;
            got += n;
          }
        } finally {
          if (head.fd === null) fs.closeSync(fd);
        }
        // Cut after the maxLines-th newline, or after the last complete line in the window.
        let end = -1;
        let count = 0;
        let at = buffer.indexOf(NEWLINE, 0);
        while (at !== -1 && at < got) {
          end = at;
          if (++count >= maxLines) break;
          at = buffer.indexOf(NEWLINE, at + 1);
        }
        if (end === -1) {
          if (window >= head.size - this.headOffset) throw new Error(`spool segment ${head.file} has an unterminated line at ${this.headOffset}`);
          window = Math.min(window * 2, head.size - this.headOffset);
          continue;
        }
        const lines = buffer.toString('utf8', 0, end).split('\n');
        return { lines, segment: head.seq, startOffset: this.headOffset, endOffset: this.headOffset + end + 1 };
      }
    }
  }

  /** Mark a chunk from read() as delivered. Chunks must be committed in the order they were read. */
  commit(chunk: SpoolChunk): void {
    const head = this.segments[0];
    if (!head || head.seq !== chunk.segment || this.headOffset !== chunk.startOffset) {
      throw new Error(`spool commit out of order: head ${head?.seq}@${this.headOffset}, chunk ${chunk.segment}@${chunk.startOffset}`);
    }
    if (this.closed) throw new Error('spool is closed');
    // The cursor first: if it cannot be written, nothing moves and the chunk is still the head (read and
    // sent again), rather than gone from memory while the file says otherwise.
    const whole = chunk.endOffset >= head.size;
    const next = this.segments[1];
    this.writeCursor(whole ? (next ? { segment: next.seq, offset: 0 } : { segment: this.nextSeq - 1, offset: 0 }) : { segment: head.seq, offset: chunk.endOffset });
    this.headOffset = chunk.endOffset;
    this.headLines += chunk.lines.length;
    this.counters.committedLines += chunk.lines.length;
    // Delivered a whole segment: remove it (the tail segment too, so the next append starts afresh).
    if (whole) this.removeHeadFile();
    this.checkHighWater();
  }

  /**
   * Keep lines InfluxDB refused (invalid data) in rejected.lp for inspection, each after a "# <time> <error>"
   * line (one for a run of lines with the same error); they are not replayed. Durable on return (fsync on),
   * counted against the budget; on failure (SpoolFullError, disk full, unwritable file) it throws and leaves
   * rejected.lp as it was, so the caller can keep the lines and try again later.
   */
  deadLetter(entries: readonly DeadLetter[]): void {
    if (this.closed) throw new Error('spool is closed');
    if (entries.length === 0) return;
    const at = new Date().toISOString();
    let text = '';
    let lastError: string | undefined;
    for (const { line, error } of entries) {
      if (error !== lastError) text += `# ${at} ${error.replace(/[\r\n]+/g, ' ')}\n`;
      lastError = error;
      text += `${line}\n`;
    }
    const data = Buffer.from(text, 'utf8');
    this.reserve(data.length, `${entries.length} rejected lines`);
    const file = path.join(this.dir, REJECTED);
    const fd = fs.openSync(file, 'a');
    let size: number | undefined;
    try {
      size = fs.fstatSync(fd).size;
      if (size === 0) fsyncDir(this.dir);
      writeAll(fd, data);
      if (this.fsync) fs.fdatasyncSync(fd);
    } catch (error) {
      if (size !== undefined) {
        try {
          fs.ftruncateSync(fd, size);
        } catch {
          // a torn dead letter only spoils the record, never the spool
        }
      }
      throw error;
    } finally {
      fs.closeSync(fd);
    }
    this.rejectedBytes = size + data.length;
    this.counters.deadLetterLines += entries.length;
    this.checkHighWater();
  }

  /** Seal the segments and release the folder's lock. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      for (const s of this.segments) this.seal(s);
    } finally {
      this.unlock();
    }
  }
}
