// Polling for integration tests: wait for a condition on a real server, failing with what was awaited.
import assert from 'node:assert/strict';

/**
 * Poll until `check` returns a truthy value and return it, or fail after `timeoutMs` naming `what`
 * (and `context()`, when given, for what the test saw last).
 */
export async function until<T>(what: string, timeoutMs: number, check: () => T | Promise<T>, options: { pollMs?: number; context?: () => string } = {}): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) assert.fail(`timed out after ${timeoutMs} ms waiting for ${what}${options.context ? `; ${options.context()}` : ''}`);
    await new Promise<void>((resolve) => setTimeout(resolve, options.pollMs ?? 100));
  }
}
