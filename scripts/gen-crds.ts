/**
 * Regenerates the CRDs (and every other generated manifest under deploy/) from the contract's zod
 * schemas: `npx tsx scripts/gen-crds.ts`. `--check` only reports stale files (exit 1), which is what
 * packages/platform-kubernetes/src/install/generated-files.test.ts does in CI.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generatedFiles } from '../packages/platform-kubernetes/src/install/generated-files.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const check = process.argv.includes('--check');
let stale = 0;
for (const [path, content] of await generatedFiles()) {
  const abs = join(root, path);
  let current: string | undefined;
  try {
    current = readFileSync(abs, 'utf8');
  } catch {
    current = undefined;
  }
  if (current === content) continue;
  stale++;
  if (check) {
    console.error(`stale: ${path}`);
    continue;
  }
  mkdirSync(dirname(abs), { recursive: true });
  writeFileSync(abs, content);
  console.log(`wrote ${path}`);
}
if (check && stale > 0) {
  console.error(`${stale} generated file(s) are stale; run \`npx tsx scripts/gen-crds.ts\``);
  process.exit(1);
}
