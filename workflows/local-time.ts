// Times a dispatcher reads, in the network's local time. Workflow code must stay deterministic, so no Intl
// with the host's zone: a fixed offset. The networks served are in Asia/Shanghai (UTC+8 all year, no DST).

/** Asia/Shanghai: China Standard Time, UTC+8 all year. */
export const NETWORK_UTC_OFFSET_MIN = 8 * 60;

const offsetLabel = (offsetMin: number) => {
  const sign = offsetMin < 0 ? '-' : '+';
  const abs = Math.abs(offsetMin);
  return `UTC${sign}${Math.floor(abs / 60)}${abs % 60 ? `:${String(abs % 60).padStart(2, '0')}` : ''}`;
};

/**
 * "08:47 (UTC+8)", with the local date in front ("2026-12-09 08:47 (UTC+8)") when it is not the local day of
 * `nowUtcMs`. Minutes are cut, never rounded up: a deadline is never shown later than it is.
 */
export function localTimeText(utcMs: number, nowUtcMs: number, offsetMin = NETWORK_UTC_OFFSET_MIN): string {
  const local = new Date(utcMs + offsetMin * 60_000).toISOString();
  const today = new Date(nowUtcMs + offsetMin * 60_000).toISOString().slice(0, 10);
  const day = local.slice(0, 10);
  return `${day === today ? '' : `${day} `}${local.slice(11, 16)} (${offsetLabel(offsetMin)})`;
}
