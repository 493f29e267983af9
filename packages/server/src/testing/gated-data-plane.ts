import type { DataPlane, ExecOutcome } from '@agenttier/core';

/** A data plane whose execs all wait on one gate, so requests stay in flight until `release()`. */
export interface GatedDataPlane {
  readonly plane: DataPlane;
  /** Execs that have started (and wait on the gate, until it opens). */
  readonly started: number;
  /** Opens the gate: every waiting exec, and every later one, answers `ok`. */
  release(): void;
}

export function gatedDataPlane(): GatedDataPlane {
  let release: () => void = () => undefined;
  const gate = new Promise<void>((r) => (release = r));
  let started = 0;
  const plane = {
    kind: 'engine',
    exec: async (): Promise<ExecOutcome> => {
      started++;
      await gate;
      return { stdout: 'ok\n', stderr: '', exitCode: 0, durationMs: 1, timedOut: false, truncated: false };
    },
  } as unknown as DataPlane;
  return {
    plane,
    get started() {
      return started;
    },
    release: () => release(),
  };
}
