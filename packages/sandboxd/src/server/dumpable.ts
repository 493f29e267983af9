import { createRequire } from 'node:module';

/** agenttier-prctl.node next to the bundle (native/prctl.c; bundle.ts PRCTL_FILE). */
const PRCTL_FILE = 'agenttier-prctl.node';

interface PrctlAddon {
  setDumpable(on: boolean): boolean;
  isDumpable(): boolean;
}

/**
 * Makes this process non-dumpable (`prctl(PR_SET_DUMPABLE, 0)`). Code in the sandbox runs as the
 * same uid as sandboxd; a dumpable sandboxd could be ptraced, have its memory rewritten through
 * /proc/PID/mem (becoming an impostor that keeps the real socket and token) or its environment read.
 * Non-dumpable, its /proc entries belong to root and ptrace access needs CAP_SYS_PTRACE, which the
 * container does not have. Returns `off` when that holds, else why not (no addon, prctl refused).
 */
export function makeNonDumpable(moduleUrl: string): 'off' | string {
  let addon: PrctlAddon;
  try {
    addon = createRequire(moduleUrl)(`./${PRCTL_FILE}`) as PrctlAddon;
  } catch (err) {
    return `cannot load ${PRCTL_FILE}: ${(err as Error).message.split('\n')[0]}`;
  }
  if (!addon.setDumpable(false)) return 'prctl(PR_SET_DUMPABLE, 0) failed';
  return addon.isDumpable() ? 'still dumpable after prctl' : 'off';
}
