// Recorded workflow histories (test/histories/*.json): where they live, how they are written, and whether this
// run records them (RECORD_HISTORIES=1; see workflows/README.md "Versioning and replay").
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';

export const historiesDir = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'histories');

/** A history as JSON without this machine's paths (stack traces of failed activities carry them). */
export const portableHistory = (history: Parameters<typeof historyToJSON>[0]) => historyToJSON(history).replaceAll(`${path.resolve(historiesDir, '..', '..')}/`, './');

/** True when this run records histories instead of only replaying them. */
export const recording = process.env['RECORD_HISTORIES'] === '1';
