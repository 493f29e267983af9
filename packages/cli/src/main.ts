/**
 * The process entry: the only file that reads `process`. Wires stdio, env and signals into `run`.
 * First SIGINT/SIGTERM aborts the running command (or stops `agenttier up` cleanly); a second one
 * exits at once.
 */
import { homedir } from 'node:os';
import { EXIT } from './errors.ts';
import { run } from './run.ts';

const controller = new AbortController();
let signalsSeen = 0;
const onSignal = (): void => {
  signalsSeen++;
  if (signalsSeen === 1) controller.abort();
  else process.exit(EXIT.INTERRUPTED);
};
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);
// `agenttier … | head`: the reader went away; stop quietly instead of crashing on EPIPE.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? EXIT.OK);
    throw err;
  });
}

const exitCode = await run(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  get stdin() {
    return process.stdin;
  },
  env: process.env,
  cwd: process.cwd(),
  homeDir: homedir(),
  signal: controller.signal,
});
process.exitCode = exitCode;
