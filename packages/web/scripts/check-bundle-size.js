// Fails the build when the JavaScript a first visit loads is over budget (docs/web-ui.md): the entry
// chunk and every chunk it imports statically, gzipped. Lazy screens (editor, terminal) do not count.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

export const INITIAL_JS_BUDGET_BYTES = 250 * 1024;

/** Gzipped bytes of the initial JavaScript of a Vite build in `dist`, with the files counted. */
export function initialJsSize(dist) {
  const manifest = JSON.parse(readFileSync(join(dist, '.vite', 'manifest.json'), 'utf8'));
  const entry = Object.keys(manifest).find((k) => manifest[k].isEntry);
  if (!entry) throw new Error(`no entry chunk in ${dist}/.vite/manifest.json`);
  const seen = new Set();
  const visit = (key) => {
    if (seen.has(key)) return;
    seen.add(key);
    for (const dep of manifest[key].imports ?? []) visit(dep);
  };
  visit(entry);
  const files = [...seen].map((k) => manifest[k].file).filter((f) => f.endsWith('.js'));
  let gzipBytes = 0;
  for (const f of files) gzipBytes += gzipSync(readFileSync(join(dist, f)), { level: 9 }).length;
  return { gzipBytes, files };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const dist = process.argv[2] ?? join(import.meta.dirname, '..', 'dist');
  const { gzipBytes, files } = initialJsSize(dist);
  const kb = (n) => `${(n / 1024).toFixed(1)} KiB`;
  console.log(
    `initial JavaScript: ${kb(gzipBytes)} gzipped in ${files.length} file(s) (budget ${kb(INITIAL_JS_BUDGET_BYTES)})`,
  );
  if (gzipBytes > INITIAL_JS_BUDGET_BYTES) {
    console.error(
      `over budget by ${kb(gzipBytes - INITIAL_JS_BUDGET_BYTES)}: load more of it on demand (React.lazy)`,
    );
    process.exit(1);
  }
}
