import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { generatedFiles } from './generated-files.ts';

const root = join(import.meta.dirname, '../../../..');

function read(path: string): string | undefined {
  try {
    return readFileSync(join(root, path), 'utf8');
  } catch {
    return undefined;
  }
}

// The `gen:crds` check: CI fails when deploy/ no longer matches the schemas it is generated from.
const files = await generatedFiles();

describe('generated manifests under deploy/', () => {
  for (const [path, content] of files) {
    it(`${path} is up to date (regenerate with \`npx tsx scripts/gen-crds.ts\`)`, () => {
      expect(read(path), `${path} is stale or missing; run \`npx tsx scripts/gen-crds.ts\``).toBe(content);
    });
  }
});
