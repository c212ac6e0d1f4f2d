// The hourly baseline run, started by its Schedule: re-simulate the current local day up to the last full hour
// (activity writeBaseline, activities/baseline.ts) and, in the first hours of a day, the whole previous day
// again, so a run missed around midnight still closes that day's counter at 24:00. Every run rewrites whole
// periods with the same values, so skipped or repeated runs do no harm.
import { ApplicationFailure, log, proxyActivities } from '@temporalio/workflow';
import type { BaselineActivities, BaselineResult } from '../activities/baseline.js';
import { domainTimeOf, type DomainClock } from '../contract/index.js';

const MS_PER_MIN = 60_000;
const MS_PER_H = 3_600_000;
const MS_PER_DAY = 86_400_000;

export interface BaselineRunInput {
  networkId: string;
  /** Offset of the network's local day from UTC (min, east positive; the dashboards' standard-time offset). */
  utcOffsetMin: number;
  /** Until this many hours into a day the previous day is re-simulated too; default 3. */
  catchUpH?: number;
  /** Domain time (accelerated demos and tests). */
  clock?: DomainClock;
}

export interface BaselinePeriod {
  fromUtcMs: number;
  toUtcMs: number;
}

export interface BaselineRunResult {
  networkId: string;
  periods: BaselineResult[];
}

/**
 * The periods a run at `nowUtcMs` writes: the local day holding the last full hour, from its midnight to that
 * hour, preceded by the whole previous day while the run is within `catchUpH` of midnight. At 00:05 the last
 * full hour ends at 24:00, so that run closes the previous day.
 */
export function baselinePeriods(nowUtcMs: number, utcOffsetMin: number, catchUpH: number): BaselinePeriod[] {
  const offsetMs = utcOffsetMin * MS_PER_MIN;
  const endUtcMs = Math.floor(nowUtcMs / MS_PER_H) * MS_PER_H;
  const dayStartUtcMs = Math.floor((endUtcMs - 1 + offsetMs) / MS_PER_DAY) * MS_PER_DAY - offsetMs;
  const periods: BaselinePeriod[] = [];
  if (endUtcMs - dayStartUtcMs <= catchUpH * MS_PER_H) periods.push({ fromUtcMs: dayStartUtcMs - MS_PER_DAY, toUtcMs: dayStartUtcMs });
  periods.push({ fromUtcMs: dayStartUtcMs, toUtcMs: endUtcMs });
  return periods;
}

const io = proxyActivities<BaselineActivities>({
  // Two simulated days and a few thousand points: seconds; the timeout leaves room for a slow InfluxDB.
  startToCloseTimeout: '5 minutes',
  retry: { initialInterval: '10 seconds', backoffCoefficient: 2, maximumAttempts: 3, nonRetryableErrorTypes: ['BaselineInputError'] },
});

export async function baselineRun(input: BaselineRunInput): Promise<BaselineRunResult> {
  const catchUpH = input.catchUpH ?? 3;
  if (!Number.isFinite(input.utcOffsetMin) || Math.abs(input.utcOffsetMin) > 14 * 60) {
    throw ApplicationFailure.nonRetryable(`baselineRun: utcOffsetMin must be a number of minutes within ±840, got ${input.utcOffsetMin}`, 'BaselineInputError');
  }
  if (!(catchUpH >= 0 && catchUpH < 24)) throw ApplicationFailure.nonRetryable(`baselineRun: catchUpH must lie in [0, 24), got ${catchUpH}`, 'BaselineInputError');
  const periods: BaselineResult[] = [];
  // In order: the previous day's closing reading is the current day's opening reading.
  for (const period of baselinePeriods(domainTimeOf(input.clock, Date.now()), input.utcOffsetMin, catchUpH)) {
    const result = await io.writeBaseline(period);
    // A gap is an answer, not a failure (retrying would not bring the rain): say it where operators look.
    if (result.rainGap) {
      log.warn('baseline stops before an hour without observed rain', { ...period, writtenUntilUtcMs: result.writtenUntilUtcMs, catchmentId: result.rainGap.catchmentId, hourEndUtcMs: result.rainGap.hourEndUtcMs });
    }
    periods.push(result);
  }
  return { networkId: input.networkId, periods };
}
