// The crash-recovery suite's server: the local platform (what `agenttier up` runs) that kills itself
// with SIGKILL at a chosen step of the runtime, so a test can cut a create, stop, resume or delete at
// an exact point instead of by timing. AGENTTIER_CRASH_AT=<step>[:<n>] crashes the n-th time (default
// the first) any sandbox passes <step> (one of RUNTIME_STEPS); without it the server runs normally.
// Test support only: production code has the hook (onRuntimeStep), never a reason to use it.
import { RUNTIME_STEPS } from '@agenttier/platform-local';
import type { RuntimeStep } from '@agenttier/platform-local';
import { startLocalPlatform } from '../local-platform.ts';

const [step, nth] = (process.env.AGENTTIER_CRASH_AT ?? '').split(':');
if (step && !(RUNTIME_STEPS as readonly string[]).includes(step)) {
  throw new Error(`AGENTTIER_CRASH_AT: unknown step ${step}; one of ${RUNTIME_STEPS.join(', ')}`);
}
const crashOn = Number(nth ?? 1);
let seen = 0;

await startLocalPlatform({
  devAuth: true, // the crash suites call the API without keys
  onRuntimeStep: (s: RuntimeStep, sandbox) => {
    if (s !== step || ++seen < crashOn) return;
    process.stderr.write(`${JSON.stringify({ crash: s, sandbox: sandbox.metadata.name })}\n`);
    process.kill(process.pid, 'SIGKILL');
  },
});
