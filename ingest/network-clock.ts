// Network time: the newest measurement source time seen. It only moves forward, except when the source's
// clock itself went back (a simulator restarted at an earlier hour, a SCADA clock stepped back by NTP):
// then the tags report times well before their own previous ones, and the clock follows them back, or every
// flat-line window would be measured against a time the network will not reach for hours (a storm of false
// flat-line flags, raised and cleared on every update).
//
// One tag going back (a device clock corrected) moves nothing: the clock resets only when at least half of
// the tags with a known time report a time more than backJumpMs before their own last one, within
// windowWallMs of wall time of each other (the values a new subscription sends at once).

export interface NetworkClockOptions {
  /** A tag's time this far before its own previous one counts as going back (default 5 min). */
  backJumpMs?: number;
  /** The tags going back must do so within this much wall time (default 60 s). */
  windowWallMs?: number;
}

export class NetworkClock {
  private now = Number.NEGATIVE_INFINITY;
  private readonly last: Float64Array;
  private known = 0;
  private readonly behind = new Set<number>();
  private behindNewestUtcMs = Number.NEGATIVE_INFINITY;
  private behindSinceWallMs = 0;
  private readonly backJumpMs: number;
  private readonly windowWallMs: number;
  /** Times the clock went back. */
  resets = 0;

  constructor(tagCount: number, options: NetworkClockOptions = {}) {
    this.last = new Float64Array(tagCount).fill(Number.NaN);
    this.backJumpMs = options.backJumpMs ?? 5 * 60_000;
    this.windowWallMs = options.windowWallMs ?? 60_000;
  }

  get nowUtcMs(): number {
    return this.now;
  }

  /** Tags gone back so far without (yet) a reset. */
  get pendingBehind(): number {
    return this.behind.size;
  }

  /**
   * A measurement of tag `index` at `timeUtcMs` (source clock not off). Returns how far the clock went back
   * (negative ms) when this value completed a reset, else 0.
   */
  advance(index: number, timeUtcMs: number, wallUtcMs: number = Date.now()): number {
    const previous = this.last[index]!;
    if (Number.isNaN(previous)) this.known++;
    this.last[index] = timeUtcMs;
    if (!(timeUtcMs < previous - this.backJumpMs)) {
      if (timeUtcMs > this.now) this.now = timeUtcMs;
      return 0;
    }
    if (this.behind.size > 0 && wallUtcMs - this.behindSinceWallMs > this.windowWallMs) this.behind.clear();
    if (this.behind.size === 0) {
      this.behindSinceWallMs = wallUtcMs;
      this.behindNewestUtcMs = Number.NEGATIVE_INFINITY;
    }
    this.behind.add(index);
    if (timeUtcMs > this.behindNewestUtcMs) this.behindNewestUtcMs = timeUtcMs;
    if (this.behind.size < Math.max(1, Math.ceil(this.known / 2))) return 0;
    // The tags not yet heard from since the jump still hold times of the old clock: forget them, so the
    // next value of each one moves the clock forward normally.
    const jump = this.behindNewestUtcMs - this.now;
    for (let i = 0; i < this.last.length; i++) if (!this.behind.has(i)) this.last[i] = Number.NaN;
    this.known = this.behind.size;
    this.now = this.behindNewestUtcMs;
    this.behind.clear();
    this.resets++;
    return jump;
  }
}
