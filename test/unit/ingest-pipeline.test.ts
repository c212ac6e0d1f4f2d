// The spool and pipeline where telemetry used to be lost or a process crash: a second process on the same
// spool folder.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import type { IngestLogger } from '../../ingest/log.js';
import { Spool, SpoolLockedError } from '../../ingest/spool.js';
import { repoRoot } from '../../runtime/paths.js';

let dir: string;
beforeEach(async () => {
  dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'ingest-pipeline-'));
});
afterEach(async () => {
  await fsp.rm(dir, { recursive: true, force: true });
});

const lines = (from: number, count: number) => Array.from({ length: count }, (_, i) => `station,id=W${(from + i) % 7} levelM=${from + i} ${1_700_000_000_000 + from + i}`);
function recordingLogger(): IngestLogger & { warnings: string[] } {
  const warnings: string[] = [];
  return { warnings, debug: () => undefined, info: () => undefined, warn: (m) => warnings.push(m), error: () => undefined };
}

/** A process holding the spool folder open (as a second ingest would): resolves once it has it. */
async function otherProcessHolding(spoolDir: string): Promise<ChildProcess> {
  const spoolUrl = pathToFileURL(path.join(repoRoot, 'ingest', 'spool.ts')).href;
  const code = `const { Spool } = await import(${JSON.stringify(spoolUrl)});
const s = Spool.open({ dir: ${JSON.stringify(spoolDir)}, fsync: false });
s.append(['m,held=by-child v=1 1', 'm,held=by-child v=2 2']);
process.stdout.write('open\\n');
setInterval(() => {}, 60_000);`;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => d.toString().includes('open') && resolve());
    child.once('exit', (code) => reject(new Error(`child exited ${code}`)));
  });
  return child;
}

describe('Spool lock', () => {
  test('the same folder opened twice in one process: the second open fails, naming folder and PID; close releases it', () => {
    const first = Spool.open({ dir, fsync: false });
    assert.throws(
      () => Spool.open({ dir, fsync: false }),
      (e: unknown) => e instanceof SpoolLockedError && e.message.includes(dir) && e.message.includes(`pid ${process.pid}`) && e.pid === process.pid,
    );
    first.append(lines(0, 2));
    first.close();
    assert.ok(!fs.existsSync(path.join(dir, 'lock')), 'close removes the lock file');
    const again = Spool.open({ dir, fsync: false });
    assert.equal(again.pendingLines, 2);
    again.close();
  });

  test('another live process holds the folder: open fails naming folder and PID; once it is killed, its lock is taken over and its lines replayed', async () => {
    const child = await otherProcessHolding(dir);
    try {
      assert.throws(
        () => Spool.open({ dir, fsync: false }),
        (e: unknown) => e instanceof SpoolLockedError && e.message.includes(dir) && e.message.includes(`process ${child.pid}`) && e.pid === child.pid,
      );
    } finally {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL');
      await exited;
    }
    assert.ok(fs.existsSync(path.join(dir, 'lock')), 'a killed process leaves its lock behind');
    const logger = recordingLogger();
    const spool = Spool.open({ dir, fsync: false, logger });
    assert.ok(logger.warnings.includes('spool: took over a stale lock'));
    assert.deepEqual(spool.read(10)?.lines, ['m,held=by-child v=1 1', 'm,held=by-child v=2 2']);
    assert.equal((JSON.parse(fs.readFileSync(path.join(dir, 'lock'), 'utf8')) as { pid: number }).pid, process.pid);
    spool.close();
  });

  test('a lock naming a PID that now belongs to another process (its start time differs) is taken over', { skip: !fs.existsSync('/proc/self/stat') }, () => {
    // process.ppid is alive, but it is not the process that wrote this lock.
    fs.writeFileSync(path.join(dir, 'lock'), JSON.stringify({ pid: process.ppid, host: os.hostname(), procStart: '1', since: '2020-01-01T00:00:00Z' }));
    const spool = Spool.open({ dir, fsync: false });
    spool.close();
  });

  test('a lock from a live process on this host, or from another host, is respected', () => {
    fs.writeFileSync(path.join(dir, 'lock'), JSON.stringify({ pid: process.ppid, host: os.hostname() }));
    assert.throws(() => Spool.open({ dir, fsync: false }), new RegExp(`in use by process ${process.ppid}`));
    fs.writeFileSync(path.join(dir, 'lock'), JSON.stringify({ pid: 12345, host: 'elsewhere' }));
    assert.throws(() => Spool.open({ dir, fsync: false }), /in use by process 12345 on host elsewhere/);
  });
});
