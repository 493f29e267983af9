import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';

import { ensureSandboxdBundle } from './bundle.ts';

describe('the sandboxd bundle', () => {
  it('loads Node built-ins without ESM imports (a facade of node:http loads undici: ~45 ms per start)', async () => {
    const { entry } = await ensureSandboxdBundle();
    const text = await readFile(entry, 'utf8');
    expect(text.match(/^\s*import\s[^;]*?from\s*["']node:[^"']+["']/gm) ?? []).toEqual([]);
    expect(text).toContain('process.getBuiltinModule("node:http")');
  });
});
