/** `npm run build -w @agenttier/sandboxd [-- --force]`: builds dist/ (sandboxd.mjs + node-pty) if stale. */
import { ensureSandboxdBundle } from './bundle.ts';

const force = process.argv.includes('--force');
const started = Date.now();
ensureSandboxdBundle({ force, log: (m) => process.stderr.write(`${m}\n`) }).then(
  (b) => {
    process.stdout.write(`${JSON.stringify({ ...b, ms: Date.now() - started })}\n`);
  },
  (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  },
);
