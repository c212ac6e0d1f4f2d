// A tiny structured logger for the ingest service: one line per event, level-filtered, injectable in tests.
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface IngestLogger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

const order: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/** Log lines "ingest <level> <component>: message k=v …" to stderr at `level` and above. */
export function consoleLogger(component: string, level: LogLevel | 'fatal' | 'trace' | 'silent' = 'info'): IngestLogger {
  const min = level === 'silent' || level === 'fatal' ? Number.POSITIVE_INFINITY : level === 'trace' ? 0 : order[level];
  const write = (lvl: LogLevel, message: string, fields?: Record<string, unknown>) => {
    if (order[lvl] < min) return;
    const extra = fields
      ? Object.entries(fields)
          .map(([k, v]) => `${k}=${typeof v === 'string' ? JSON.stringify(v) : v instanceof Error ? JSON.stringify(v.message) : JSON.stringify(v)}`)
          .join(' ')
      : '';
    process.stderr.write(`${new Date().toISOString()} ingest ${lvl} ${component}: ${message}${extra ? ` ${extra}` : ''}\n`);
  };
  return {
    debug: (m, f) => write('debug', m, f),
    info: (m, f) => write('info', m, f),
    warn: (m, f) => write('warn', m, f),
    error: (m, f) => write('error', m, f),
  };
}

export const silentLogger: IngestLogger = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

export function errorText(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}
