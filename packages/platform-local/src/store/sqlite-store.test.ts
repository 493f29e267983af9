import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Sandbox } from '@agenttier/contract';
import { runStoreContract } from '@agenttier/testkit';
import { SqliteStore } from './sqlite-store.ts';

runStoreContract('sqlite', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'agenttier-store-'));
  const store = new SqliteStore({ path: join(dir, 'state.db') });
  return {
    store,
    cleanup: async () => {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

describe('SqliteStore durability', () => {
  it('loses no acknowledged write when the process is killed with SIGKILL', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'agenttier-kill-'));
    try {
      const db = join(dir, 'state.db');
      // A child writes objects as fast as it can and prints each name once create() resolved.
      const script = `
        import { SqliteStore } from ${JSON.stringify(new URL('./sqlite-store.ts', import.meta.url).pathname)};
        const store = new SqliteStore({ path: ${JSON.stringify(db)} });
        for (let i = 0; ; i++) {
          await store.create({ apiVersion: 'agenttier.io/v1alpha1', kind: 'Sandbox', metadata: { name: 's' + i, namespace: 'default' }, spec: { templateRef: { name: 't' } } });
          process.stdout.write('s' + i + '\\n');
        }`;
      const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      const acked: string[] = [];
      await new Promise<void>((resolve) => {
        child.stdout.on('data', (chunk: Buffer) => {
          acked.push(...chunk.toString().split('\n').filter(Boolean));
          if (acked.length >= 200) {
            child.kill('SIGKILL');
            resolve();
          }
        });
      });
      await new Promise((r) => child.on('exit', r));
      const store = new SqliteStore({ path: db });
      const names = new Set((await store.list<Sandbox>('Sandbox')).map((s) => s.metadata.name));
      for (const name of acked) expect(names.has(name)).toBe(true);
      await store.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
