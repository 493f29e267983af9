/**
 * The audit trail's durability/cost trade-off on a real SQLite file: every exec is an audited call, so
 * a record must not cost a disk sync (synchronous=NORMAL under WAL), yet what was recorded must
 * survive the router being killed outright.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SqliteAuditLog } from './sqlite-audit-log.ts';

const dir = mkdtempSync(join(tmpdir(), 'agenttier-audit-log-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const event = (i: number) => ({
  at: new Date().toISOString(),
  actor: 'alice',
  action: 'POST /api/v1/sandboxes/:id/exec',
  target: 'sandbox:default/demo',
  status: 200,
  requestId: `req-${i}`,
  source: '127.0.0.1',
});

describe('SqliteAuditLog on a file', () => {
  it('commits an event without syncing the disk (synchronous NORMAL on its own connection)', () => {
    const log = new SqliteAuditLog(join(dir, 'sync.db'));
    // PRAGMA synchronous: 1 = NORMAL (no fsync per commit under WAL), 2 = FULL (one per commit).
    expect(log['db'].statement('PRAGMA synchronous').get()).toEqual({ synchronous: 1 });
    log.close();
  });

  it('keeps every event it recorded when the process that wrote them is killed (SIGKILL)', async () => {
    const path = join(dir, 'killed.db');
    const moduleUrl = new URL('./sqlite-audit-log.ts', import.meta.url).href;
    const script = `
      import { SqliteAuditLog } from ${JSON.stringify(moduleUrl)};
      const log = new SqliteAuditLog(${JSON.stringify(path)});
      const events = ${JSON.stringify([...Array(50).keys()].map(event))};
      for (const e of events) await log.record(e);
      process.stdout.write('recorded\\n');
      setInterval(() => {}, 1 << 30); // killed here, never closed
    `;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    await new Promise<void>((resolve, reject) => {
      let out = '';
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('recorded')) resolve();
      });
      child.once('exit', (code) => reject(new Error(`writer exited ${code} before recording`)));
    });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;

    const log = new SqliteAuditLog(path);
    const events = await log.query({ limit: 100 });
    expect(events.map((e) => e.requestId).sort()).toEqual(
      [...Array(50).keys()].map((i) => `req-${i}`).sort(),
    );
    log.close();
  });
});
