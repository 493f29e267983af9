import { describe, expect, it } from 'vitest';
import type { Condition, Sandbox, SandboxSpec, SandboxStatus } from '@agenttier/contract';
import { API_VERSION, SANDBOX_FINALIZER } from '@agenttier/contract';
import type { ObservedSandbox, ObservedWorkload, WorkloadState } from './ports.ts';
import type { Plan } from './plan.ts';
import {
  CREATING_POLL_MAX_MS,
  CREATING_POLL_MS,
  ENGINE_POLL_MS,
  MAX_RESTARTS,
  READINESS_POLL_MS,
  RUNNING_RESYNC_MS,
  WORKLOAD_HANDLING,
  backoffMs,
  creatingPollMs,
  planSandbox,
  readyCondition,
  setCondition,
} from './plan.ts';
import type { EffectiveSandbox } from './template-merge.ts';
import { mergeSandboxWithTemplate } from './template-merge.ts';

const NOW = Date.parse('2026-03-01T12:00:00Z');
const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
const MIN = 60_000;

interface Fixture {
  spec?: Partial<SandboxSpec>;
  status?: SandboxStatus;
  finalizer?: boolean;
  deleting?: boolean;
}

function sandbox({ spec = {}, status, finalizer = true, deleting = false }: Fixture = {}): Sandbox {
  return {
    apiVersion: API_VERSION,
    kind: 'Sandbox',
    metadata: {
      name: 'sb',
      namespace: 'default',
      uid: 'uid-1',
      generation: 1,
      ...(finalizer ? { finalizers: [SANDBOX_FINALIZER] } : {}),
      ...(deleting ? { deletionTimestamp: iso(NOW - 1000) } : {}),
    },
    spec: { templateRef: { name: 'minimal-shell' }, desiredState: 'Running', ...spec },
    ...(status ? { status } : {}),
  };
}

const VOLUME = { name: 'agenttier-default-sb-workspace' };
const running: ObservedWorkload = { name: 'agenttier-default-sb', state: 'running', ready: true };
const starting: ObservedWorkload = { name: 'agenttier-default-sb', state: 'running', ready: false };
const exited = (exitCode = 137): ObservedWorkload => ({
  name: 'agenttier-default-sb',
  state: 'exited',
  ready: false,
  exitCode,
});

function effective(over: Partial<EffectiveSandbox> = {}): EffectiveSandbox {
  return { ...mergeSandboxWithTemplate(sandbox(), {}, 'minimal-shell'), ...over };
}

function plan(
  fixture: Fixture,
  observed: ObservedSandbox,
  eff: Partial<EffectiveSandbox> = {},
  nowMs = NOW,
): Plan {
  return planSandbox({ sandbox: sandbox(fixture), observed, effective: effective(eff), nowMs });
}

const types = (p: Plan) => p.actions.map((a) => a.type);

describe('planSandbox: create', () => {
  it('adds the finalizer first, then ensures the volume and the workload', () => {
    const p = plan({ finalizer: false }, {});
    expect(types(p)).toEqual(['addFinalizer', 'ensureVolume', 'ensureWorkload']);
    expect(p.status).toEqual({
      phase: 'Creating',
      reason: 'Starting',
      message: 'Creating the workspace and container',
    });
    expect(p.requeueAfterMs).toBe(CREATING_POLL_MS);
  });

  it('ensures only what is missing', () => {
    expect(types(plan({}, {}))).toEqual(['ensureVolume', 'ensureWorkload']);
    expect(types(plan({}, { volume: VOLUME }))).toEqual(['ensureWorkload']);
    expect(types(plan({}, { workload: starting }))).toEqual(['ensureVolume']);
  });

  it('waits without acting while the workload starts', () => {
    const p = plan({ status: { phase: 'Creating' } }, { volume: VOLUME, workload: starting });
    expect(p.actions).toEqual([]);
    expect(p.status).toMatchObject({
      phase: 'Creating',
      reason: 'Starting',
      message: expect.stringMatching(/ready/),
    });
    expect(p.requeueAfterMs).toBe(CREATING_POLL_MS);
  });

  it('replaces a workload that exited before the sandbox was ever Running, without counting a restart', () => {
    const p = plan({ status: { phase: 'Creating' } }, { volume: VOLUME, workload: exited(1) });
    expect(types(p)).toEqual(['ensureWorkload']);
    expect(p.status.restartCount).toBeUndefined();
  });

  it('counts a workload that exits before it was ever ready, and gives up after the restart budget', () => {
    const p = plan(
      { status: { phase: 'Creating', reason: 'Starting' } },
      { volume: VOLUME, workload: exited(2) },
    );
    expect(types(p)).toEqual(['ensureWorkload']);
    expect(p.status).toMatchObject({ phase: 'Creating', reason: 'Restarting', restartCount: 1 });
    const last = plan(
      { status: { phase: 'Creating', reason: 'Restarting', restartCount: MAX_RESTARTS } },
      { volume: VOLUME, workload: exited(2) },
    );
    expect(types(last)).toEqual([]);
    expect(last.status).toMatchObject({
      phase: 'Error',
      reason: 'RestartLimitExceeded',
      message: expect.stringMatching(/exited before it became ready .*last exit code 2/),
    });
  });

  it('replaces a leftover of another sandbox with the same name without counting it', () => {
    const p = plan(
      { status: { phase: 'Creating', reason: 'Starting' } },
      { volume: VOLUME, workload: { ...exited(0), sandboxUid: 'someone-else' } },
    );
    expect(types(p)).toEqual(['ensureWorkload']);
    expect(p.status.restartCount).toBeUndefined();
  });

  it('never mounts a volume labelled for another sandbox: ensureVolume (which refuses) comes first', () => {
    const p = plan({ status: { phase: 'Creating' } }, { volume: { ...VOLUME, sandboxUid: 'someone-else' } });
    expect(types(p)).toEqual(['ensureVolume', 'ensureWorkload']);
  });

  it('becomes Running with startedAt and lastActivityTimestamp when the workload is ready', () => {
    const p = plan({ status: { phase: 'Creating' } }, { volume: VOLUME, workload: running });
    expect(p.actions).toEqual([]);
    expect(p.status).toEqual({
      phase: 'Running',
      reason: 'Ready',
      message: '',
      startedAt: iso(NOW),
      lastActivityTimestamp: iso(NOW),
    });
    expect(p.requeueAfterMs).toBe(0);
  });

  it('does not call a running-but-unready workload Running', () => {
    expect(plan({ status: { phase: 'Creating' } }, { volume: VOLUME, workload: starting }).status.phase).toBe(
      'Creating',
    );
  });
});

describe('planSandbox: Running', () => {
  const since = (ms: number) => ({ phase: 'Running' as const, reason: 'Ready', startedAt: iso(NOW - ms) });

  it('keeps startedAt and resyncs periodically', () => {
    const p = plan({ status: since(5 * MIN) }, { volume: VOLUME, workload: running });
    expect(p.actions).toEqual([]);
    expect(p.status).toEqual({ phase: 'Running', reason: 'Ready', message: '' });
    expect(p.requeueAfterMs).toBe(RUNNING_RESYNC_MS);
  });

  it('fills in a missing startedAt', () => {
    const p = plan({ status: { phase: 'Running' } }, { volume: VOLUME, workload: running });
    expect(p.status.startedAt).toBe(iso(NOW));
  });

  it('requeues just after the max runtime or idle deadline when that comes before the resync', () => {
    const p1 = plan(
      { status: since(10 * MIN - 5000) },
      { volume: VOLUME, workload: running },
      { timeoutMs: 10 * MIN },
    );
    expect(p1.requeueAfterMs).toBe(5000 + 50);
    const p2 = plan(
      { status: { ...since(60 * MIN), lastActivityTimestamp: iso(NOW - 9 * MIN) } },
      { volume: VOLUME, workload: running },
      { idleTimeoutMs: 9 * MIN + 20_000 },
    );
    expect(p2.requeueAfterMs).toBe(20_000 + 50);
  });

  it('requests a stop when the max runtime is reached', () => {
    const p = plan(
      { status: since(60 * MIN) },
      { volume: VOLUME, workload: running },
      { timeoutMs: 60 * MIN },
    );
    expect(p.actions).toEqual([
      { type: 'requestStop', reason: 'MaxRuntimeExceeded', message: 'Max runtime exceeded' },
    ]);
    expect(p.status).toEqual({});
    expect(p.requeueAfterMs).toBe(0);
  });

  it('does not stop a second before the max runtime (status times have whole seconds)', () => {
    const p = plan(
      { status: since(60 * MIN - 1000) },
      { volume: VOLUME, workload: running },
      { timeoutMs: 60 * MIN },
    );
    expect(p.actions).toEqual([]);
  });

  it('requests a stop after the idle timeout, counted from the last activity', () => {
    const idle = { idleTimeoutMs: 30 * MIN };
    const quiet = plan(
      { status: { ...since(120 * MIN), lastActivityTimestamp: iso(NOW - 30 * MIN) } },
      { volume: VOLUME, workload: running },
      idle,
    );
    expect(quiet.actions).toEqual([
      { type: 'requestStop', reason: 'IdleTimeout', message: 'Idle timeout exceeded' },
    ]);
    const busy = plan(
      { status: { ...since(120 * MIN), lastActivityTimestamp: iso(NOW - 29 * MIN) } },
      { volume: VOLUME, workload: running },
      idle,
    );
    expect(busy.actions).toEqual([]);
  });

  it('counts idleness from startedAt when the last activity is older than the start (a resumed sandbox)', () => {
    const p = plan(
      { status: { ...since(5 * MIN), lastActivityTimestamp: iso(NOW - 300 * MIN) } },
      { volume: VOLUME, workload: running },
      { idleTimeoutMs: 30 * MIN },
    );
    expect(p.actions).toEqual([]);
  });

  it('prefers MaxRuntimeExceeded when both limits are past', () => {
    const p = plan(
      { status: since(120 * MIN) },
      { volume: VOLUME, workload: running },
      { timeoutMs: 60 * MIN, idleTimeoutMs: 30 * MIN },
    );
    expect(p.actions).toMatchObject([{ type: 'requestStop', reason: 'MaxRuntimeExceeded' }]);
  });
});

describe('planSandbox: readiness blip while Running', () => {
  it('keeps startedAt and lastActivityTimestamp when the workload is briefly unready', () => {
    // A busy sandbox whose daemon misses one readiness probe must not get a fresh max-runtime clock.
    const t0 = iso(NOW - 50 * MIN);
    const status: SandboxStatus = {
      phase: 'Running',
      reason: 'Ready',
      startedAt: t0,
      lastActivityTimestamp: t0,
    };
    const blip = plan({ status }, { volume: VOLUME, workload: starting }, { timeoutMs: 60 * MIN }, NOW);
    const during = { ...status, ...blip.status };
    const back = plan(
      { status: during },
      { volume: VOLUME, workload: running },
      { timeoutMs: 60 * MIN },
      NOW + MIN,
    );
    const after = { ...during, ...back.status };
    expect(after.startedAt).toBe(t0);
    expect(after.lastActivityTimestamp).toBe(t0);
  });
});

describe('planSandbox: crash while Running', () => {
  it.each([
    ['exited', { volume: VOLUME, workload: exited() }],
    ['vanished', { volume: VOLUME }],
  ])('restarts a workload that %s and counts the restart', (_why, observed: ObservedSandbox) => {
    const p = plan({ status: { phase: 'Running', startedAt: iso(NOW - MIN) } }, observed);
    expect(types(p)).toEqual(['ensureWorkload']);
    expect(p.status).toEqual({
      phase: 'Creating',
      reason: 'Restarting',
      message: `Restarting after an unexpected exit (attempt 1/${MAX_RESTARTS})`,
      restartCount: 1,
      startedAt: undefined,
    });
    expect('startedAt' in p.status).toBe(true); // undefined clears it when the status is written
    expect(p.requeueAfterMs).toBe(CREATING_POLL_MS);
  });

  it('recreates the volume too when it went with the workload', () => {
    expect(types(plan({ status: { phase: 'Running' } }, {}))).toEqual(['ensureVolume', 'ensureWorkload']);
  });

  it(`allows ${MAX_RESTARTS} restarts`, () => {
    const p = plan(
      { status: { phase: 'Running', restartCount: MAX_RESTARTS - 1 } },
      { volume: VOLUME, workload: exited() },
    );
    expect(types(p)).toEqual(['ensureWorkload']);
    expect(p.status.restartCount).toBe(MAX_RESTARTS);
  });

  it('goes to Error with RestartLimitExceeded past the budget, naming the last exit code', () => {
    const p = plan(
      { status: { phase: 'Running', restartCount: MAX_RESTARTS } },
      { volume: VOLUME, workload: exited(137) },
    );
    expect(p.actions).toEqual([]);
    expect(p.status).toEqual({
      phase: 'Error',
      reason: 'RestartLimitExceeded',
      message: expect.stringMatching(/last exit code 137.*resume/),
    });
    expect(p.requeueAfterMs).toBeUndefined();
  });

  it('leaves the exit code out of the message when the workload vanished', () => {
    const p = plan({ status: { phase: 'Running', restartCount: MAX_RESTARTS } }, { volume: VOLUME });
    expect(p.status.message).not.toMatch(/exit code/);
  });
});

describe('planSandbox: terminal Error waits for the user', () => {
  it.each(['RestartLimitExceeded', 'ReconcileFailed'])('does nothing in Error/%s', (reason) => {
    const p = plan({ status: { phase: 'Error', reason } }, { volume: VOLUME, workload: exited() });
    expect(p).toEqual({ actions: [], status: {} });
  });

  it('still adds a missing finalizer in Error', () => {
    expect(
      types(plan({ finalizer: false, status: { phase: 'Error', reason: 'ReconcileFailed' } }, {})),
    ).toEqual(['addFinalizer']);
  });

  it('retries a non-terminal Error', () => {
    expect(types(plan({ status: { phase: 'Error', reason: 'Other' } }, { volume: VOLUME }))).toEqual([
      'ensureWorkload',
    ]);
  });

  it('lets a stop through from Error', () => {
    const p = plan(
      { spec: { desiredState: 'Stopped' }, status: { phase: 'Error', reason: 'Stopping' } },
      { volume: VOLUME },
    );
    expect(p.status.phase).toBe('Stopped');
  });
});

describe('planSandbox: stop and resume', () => {
  it('removes the workload but keeps the volume', () => {
    const p = plan(
      { spec: { desiredState: 'Stopped' }, status: { phase: 'Running', reason: 'Stopping' } },
      { volume: VOLUME, workload: running },
    );
    expect(types(p)).toEqual(['removeWorkload']);
    expect(p.status).toEqual({ message: 'Stopping' });
    expect(p.requeueAfterMs).toBe(0);
  });

  it('is Stopped once the workload is gone, with stoppedAt and no startedAt', () => {
    const p = plan(
      {
        spec: { desiredState: 'Stopped' },
        status: { phase: 'Running', reason: 'Stopping', startedAt: iso(NOW - MIN) },
      },
      { volume: VOLUME },
    );
    expect(p.actions).toEqual([]);
    expect(p.status).toEqual({
      phase: 'Stopped',
      reason: 'Stopped',
      message: 'Stopped; resume it to continue with the same workspace',
      stoppedAt: iso(NOW),
      startedAt: undefined,
      restartCount: 0,
    });
    expect(p.requeueAfterMs).toBeUndefined();
  });

  it('keeps the first stoppedAt on later passes', () => {
    const p = plan(
      {
        spec: { desiredState: 'Stopped' },
        status: { phase: 'Stopped', reason: 'Stopped', stoppedAt: iso(NOW - MIN) },
      },
      { volume: VOLUME },
    );
    expect(p.status).not.toHaveProperty('stoppedAt');
    expect(p.status.phase).toBe('Stopped');
  });

  it.each([
    ['MaxRuntimeExceeded', 'Max runtime exceeded'],
    ['IdleTimeout', 'Idle timeout exceeded'],
  ])('keeps the reason %s of an automatic stop', (reason, message) => {
    const p = plan(
      { spec: { desiredState: 'Stopped' }, status: { phase: 'Running', reason } },
      { volume: VOLUME },
    );
    expect(p.status).toMatchObject({ phase: 'Stopped', reason, message });
  });

  it('does not carry the Running reason "Ready" into Stopped when desiredState was set directly', () => {
    // Stopping by editing spec.desiredState (kubectl, a store write) skips the router's reason: "Stopping".
    const p = plan(
      { spec: { desiredState: 'Stopped' }, status: { phase: 'Running', reason: 'Ready' } },
      { volume: VOLUME },
    );
    expect(p.status).toMatchObject({ phase: 'Stopped', reason: 'Stopped' });
  });

  it('does not add the finalizer-less sandbox volume on stop', () => {
    expect(types(plan({ finalizer: false, spec: { desiredState: 'Stopped' } }, {}))).toEqual([
      'addFinalizer',
    ]);
  });

  it('resumes into the kept volume: only the workload is ensured', () => {
    const p = plan(
      { status: { phase: 'Creating', reason: 'Resuming', restartCount: 0 } },
      { volume: VOLUME },
    );
    expect(types(p)).toEqual(['ensureWorkload']);
    expect(p.status.phase).toBe('Creating');
  });
});

describe('planSandbox: deletion', () => {
  it('removes the workload and the volume, but not the finalizer while children remain', () => {
    const p = plan({ deleting: true, status: { phase: 'Running' } }, { volume: VOLUME, workload: running });
    expect(types(p)).toEqual(['removeWorkload', 'removeVolume']);
    expect(p.status).toEqual({
      phase: 'Deleting',
      reason: 'Deleting',
      message: 'Removing the container and its workspace',
    });
  });

  it('removes whichever child is left', () => {
    expect(types(plan({ deleting: true }, { volume: VOLUME }))).toEqual(['removeVolume']);
    expect(types(plan({ deleting: true }, { workload: exited() }))).toEqual(['removeWorkload']);
  });

  it('removes the finalizer once no child is left', () => {
    expect(types(plan({ deleting: true }, {}))).toEqual(['removeFinalizer']);
  });

  it('neither adds a finalizer nor removes a missing one', () => {
    expect(types(plan({ deleting: true, finalizer: false }, {}))).toEqual([]);
    expect(types(plan({ deleting: true, finalizer: false }, { volume: VOLUME }))).toEqual(['removeVolume']);
  });

  it('deletes a stopped or failed sandbox the same way', () => {
    expect(
      types(
        plan(
          { deleting: true, spec: { desiredState: 'Stopped' }, status: { phase: 'Stopped' } },
          { volume: VOLUME },
        ),
      ),
    ).toEqual(['removeVolume']);
    expect(
      types(
        plan(
          { deleting: true, status: { phase: 'Error', reason: 'RestartLimitExceeded' } },
          { volume: VOLUME },
        ),
      ),
    ).toEqual(['removeVolume']);
  });
});

describe('planSandbox is pure', () => {
  it('does not modify its input and gives the same answer twice', () => {
    const sb = sandbox({ status: { phase: 'Running', restartCount: 2, conditions: [] } });
    const before = structuredClone(sb);
    const input = {
      sandbox: sb,
      observed: { volume: VOLUME, workload: exited() },
      effective: effective(),
      nowMs: NOW,
    };
    const a = planSandbox(input);
    const b = planSandbox(input);
    expect(a).toEqual(b);
    expect(sb).toEqual(before);
  });
});

describe('setCondition', () => {
  const ready = (status: Condition['status'], reason = 'Ready', message = '') => ({
    type: 'Ready',
    status,
    reason,
    message,
  });

  it('adds a new condition stamped now', () => {
    expect(setCondition(undefined, ready('True'), NOW)).toEqual([
      { ...ready('True'), lastTransitionTime: iso(NOW) },
    ]);
  });

  it('keeps lastTransitionTime when the status is unchanged, even if reason and message change', () => {
    const first = setCondition([], ready('False', 'Starting', 'a'), NOW);
    const second = setCondition(first, ready('False', 'Restarting', 'b'), NOW + MIN);
    expect(second).toEqual([{ ...ready('False', 'Restarting', 'b'), lastTransitionTime: iso(NOW) }]);
  });

  it('stamps a new lastTransitionTime when the status flips', () => {
    const first = setCondition([], ready('False'), NOW);
    expect(setCondition(first, ready('True'), NOW + MIN)[0]?.lastTransitionTime).toBe(iso(NOW + MIN));
  });

  it('leaves other conditions and the input array alone', () => {
    const other: Condition = {
      type: 'Other',
      status: 'True',
      reason: 'x',
      message: '',
      lastTransitionTime: iso(0),
    };
    const input = [other];
    const out = setCondition(input, ready('True'), NOW);
    expect(out).toEqual([other, { ...ready('True'), lastTransitionTime: iso(NOW) }]);
    expect(input).toEqual([other]);
  });

  it('writes RFC 3339 times without fractional seconds', () => {
    expect(setCondition([], ready('True'), NOW + 123)[0]?.lastTransitionTime).toMatch(
      /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/,
    );
  });
});

describe('backoffMs', () => {
  it('doubles from 1 s and caps at 30 s', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 100].map(backoffMs)).toEqual([
      1000, 2000, 4000, 8000, 16_000, 30_000, 30_000, 30_000,
    ]);
  });

  it('treats zero or negative failure counts as the first attempt', () => {
    expect(backoffMs(0)).toBe(1000);
    expect(backoffMs(-3)).toBe(1000);
  });
});

describe('planSandbox: every engine state of the workload', () => {
  const w = (state: WorkloadState, extra: Partial<ObservedWorkload> = {}): ObservedWorkload => ({
    name: 'agenttier-default-sb',
    state,
    ready: false,
    sandboxUid: 'uid-1',
    ...extra,
  });
  const creating = { phase: 'Creating' as const, reason: 'Starting' };
  const runningSince = { phase: 'Running' as const, reason: 'Ready', startedAt: iso(NOW - MIN) };

  it('lists every state in one table, so a new state cannot be forgotten', () => {
    expect(Object.keys(WORKLOAD_HANDLING).sort()).toEqual(
      [
        'created',
        'dead',
        'exited',
        'other',
        'paused',
        'removing',
        'restarting',
        'running',
        'starting',
      ].sort(),
    );
  });

  it('created (a crash between create and start, or a start that failed): starts it', () => {
    const p = plan({ status: creating }, { volume: VOLUME, workload: w('created') });
    expect(types(p)).toEqual(['ensureWorkload']);
    expect(p.status).toMatchObject({
      phase: 'Creating',
      reason: 'Starting',
      message: /Starting the container/,
    });
    expect(p.status.restartCount).toBeUndefined();
    expect(p.requeueAfterMs).toBe(CREATING_POLL_MS);
    // The same container left in `created` by a crash while the sandbox was Running (mid-restart).
    const mid = plan({ status: runningSince }, { volume: VOLUME, workload: w('created') });
    expect(types(mid)).toEqual(['ensureWorkload']);
    expect(mid.status.phase).toBe('Creating');
  });

  it('created with the start error the engine recorded: starts it again and shows the error', () => {
    const p = plan(
      { status: creating },
      { volume: VOLUME, workload: w('created', { message: 'mount /proc: not allowed' }) },
    );
    expect(types(p)).toEqual(['ensureWorkload']);
    expect(p.status.message).toMatch(/mount \/proc: not allowed/);
  });

  it('starting (a pod the platform is bringing up): waits without acting', () => {
    const p = plan({ status: creating }, { volume: VOLUME, workload: w('starting') });
    expect(p.actions).toEqual([]);
    expect(p.status).toMatchObject({ phase: 'Creating', message: /become ready/ });
    expect(p.requeueAfterMs).toBe(CREATING_POLL_MS);
  });

  it('running and ready: Running; running but not ready while Creating: keeps waiting', () => {
    expect(
      plan({ status: creating }, { volume: VOLUME, workload: w('running', { ready: true }) }).status.phase,
    ).toBe('Running');
    const p = plan({ status: creating }, { volume: VOLUME, workload: w('running') });
    expect(p.actions).toEqual([]);
    expect(p.status.phase).toBe('Creating');
  });

  it('restarting (the engine restarts it): waits for the engine, and a Running sandbox stays Running', () => {
    const c = plan({ status: creating }, { volume: VOLUME, workload: w('restarting') });
    expect(c.actions).toEqual([]);
    expect(c.status).toMatchObject({ phase: 'Creating', message: /restarting/ });
    expect(c.requeueAfterMs).toBe(ENGINE_POLL_MS);
    const r = plan({ status: runningSince }, { volume: VOLUME, workload: w('restarting') });
    expect(r.actions).toEqual([]);
    expect(r.status).toMatchObject({ phase: 'Running', reason: 'NotReady' });
    expect(readyCondition({ ...runningSince, ...r.status }).status).toBe('False');
  });

  it('paused (someone ran docker pause): unpauses it through ensureWorkload, Running stays Running', () => {
    const c = plan({ status: creating }, { volume: VOLUME, workload: w('paused') });
    expect(types(c)).toEqual(['ensureWorkload']);
    expect(c.status.phase).toBe('Creating');
    const r = plan({ status: runningSince }, { volume: VOLUME, workload: w('paused') });
    expect(types(r)).toEqual(['ensureWorkload']);
    expect(r.status).toMatchObject({ phase: 'Running', reason: 'NotReady', message: /paused/ });
    expect(r.status.restartCount).toBeUndefined();
  });

  it.each(['exited', 'dead'] as const)(
    '%s under a Running sandbox: replaced, counted as a restart',
    (state) => {
      const p = plan({ status: runningSince }, { volume: VOLUME, workload: w(state, { exitCode: 137 }) });
      expect(types(p)).toEqual(['ensureWorkload']);
      expect(p.status).toMatchObject({ phase: 'Creating', reason: 'Restarting', restartCount: 1 });
    },
  );

  it.each(['exited', 'dead'] as const)('%s before it was ever ready: replaced within the budget', (state) => {
    const p = plan({ status: creating }, { volume: VOLUME, workload: w(state, { exitCode: 1 }) });
    expect(types(p)).toEqual(['ensureWorkload']);
    expect(p.status).toMatchObject({ reason: 'Restarting', restartCount: 1 });
  });

  it('removing: never creates (the name is still taken) nor removes again; looks later', () => {
    for (const status of [creating, runningSince]) {
      const p = plan({ status }, { volume: VOLUME, workload: w('removing') });
      expect(p.actions).toEqual([]);
      expect(p.status).toMatchObject({ phase: 'Creating', message: /removing/ });
      expect(p.requeueAfterMs).toBe(ENGINE_POLL_MS);
    }
    const stop = plan(
      { spec: { desiredState: 'Stopped' }, status: runningSince },
      { volume: VOLUME, workload: w('removing') },
    );
    expect(stop.actions).toEqual([]);
    expect(stop.requeueAfterMs).toBe(ENGINE_POLL_MS);
    const del = plan({ deleting: true, status: runningSince }, { volume: VOLUME, workload: w('removing') });
    expect(del.actions).toEqual([]);
    expect(del.status.phase).toBe('Deleting');
    expect(del.requeueAfterMs).toBe(ENGINE_POLL_MS);
  });

  it('other (a state the runtime cannot classify): waits without acting and says so', () => {
    const p = plan({ status: creating }, { volume: VOLUME, workload: w('other', { message: 'odd' }) });
    expect(p.actions).toEqual([]);
    expect(p.status.message).toMatch(/does not know \(odd\)/);
    expect(p.requeueAfterMs).toBe(ENGINE_POLL_MS);
  });

  it.each(Object.keys(WORKLOAD_HANDLING) as WorkloadState[])(
    '%s: a stop removes it (or waits for the engine) and a delete removes everything',
    (state) => {
      const stop = plan(
        { spec: { desiredState: 'Stopped' }, status: runningSince },
        { volume: VOLUME, workload: w(state) },
      );
      expect(types(stop)).toEqual(state === 'removing' ? [] : ['removeWorkload']);
      const del = plan({ deleting: true, status: runningSince }, { volume: VOLUME, workload: w(state) });
      expect(types(del)).toEqual(state === 'removing' ? [] : ['removeWorkload', 'removeVolume']);
    },
  );
});

describe('planSandbox: readiness of a Running sandbox (no phase flicker)', () => {
  const status: SandboxStatus = { phase: 'Running', reason: 'Ready', startedAt: iso(NOW - MIN) };

  it('stays Running with reason NotReady (Ready=False) while the daemon does not answer', () => {
    const p = plan({ status }, { volume: VOLUME, workload: starting });
    expect(p.actions).toEqual([]);
    expect(p.status).toMatchObject({ phase: 'Running', reason: 'NotReady', message: /not answering/ });
    expect(p.requeueAfterMs).toBe(READINESS_POLL_MS);
    expect(readyCondition({ ...status, ...p.status })).toMatchObject({ status: 'False', reason: 'NotReady' });
  });

  it('goes back to Ready=True when it answers again', () => {
    const p = plan({ status: { ...status, reason: 'NotReady' } }, { volume: VOLUME, workload: running });
    expect(p.status).toMatchObject({ phase: 'Running', reason: 'Ready' });
    expect(readyCondition({ ...status, ...p.status }).status).toBe('True');
  });

  it('still enforces the max runtime while unready', () => {
    const p = plan(
      { status: { ...status, startedAt: iso(NOW - 60 * MIN) } },
      { volume: VOLUME, workload: starting },
      { timeoutMs: 60 * MIN },
    );
    expect(p.actions).toMatchObject([{ type: 'requestStop', reason: 'MaxRuntimeExceeded' }]);
  });

  it('Ready is False in every phase but Running', () => {
    for (const phase of ['Creating', 'Stopped', 'Error', 'Deleting'] as const) {
      expect(readyCondition({ phase, reason: 'Ready' }).status).toBe('False');
    }
    expect(readyCondition({ phase: 'Running', reason: 'Ready' }).status).toBe('True');
  });
});

describe('creatingPollMs: how soon to look again while a sandbox starts', () => {
  const waitingSince = (ms: number): SandboxStatus => ({
    phase: 'Creating',
    conditions: [
      { type: 'Ready', status: 'False', reason: 'Starting', message: '', lastTransitionTime: iso(NOW - ms) },
    ],
  });

  it('polls every 50 ms at first, then a tenth of the wait (less the truncated second), at most 500 ms', () => {
    expect(creatingPollMs(waitingSince(0), NOW)).toBe(CREATING_POLL_MS);
    expect(creatingPollMs(waitingSince(1000), NOW)).toBe(CREATING_POLL_MS);
    expect(creatingPollMs(waitingSince(3000), NOW)).toBe(200);
    expect(creatingPollMs(waitingSince(60_000), NOW)).toBe(CREATING_POLL_MAX_MS);
  });

  it('polls fast without a Ready=False condition (a fresh object) or with a bad time', () => {
    expect(creatingPollMs({}, NOW)).toBe(CREATING_POLL_MS);
    const bad = waitingSince(0);
    bad.conditions![0]!.lastTransitionTime = 'not a time';
    expect(creatingPollMs(bad, NOW)).toBe(CREATING_POLL_MS);
  });

  it('is what the planner asks for while waiting for readiness', () => {
    const p = plan(
      { status: { ...waitingSince(4000), reason: 'Starting' } },
      { volume: VOLUME, workload: starting },
    );
    expect(p.requeueAfterMs).toBe(300);
  });
});

describe('planSandbox: a half-made volume (a crash between its parts)', () => {
  const incomplete = { ...VOLUME, sandboxUid: 'uid-1', incomplete: true };

  it('completes it while creating', () => {
    expect(
      types(plan({ status: { phase: 'Creating', reason: 'Starting' } }, { volume: incomplete })),
    ).toEqual(['ensureVolume', 'ensureWorkload']);
  });

  it('removes it before the finalizer goes while deleting', () => {
    expect(types(plan({ deleting: true }, { volume: incomplete }))).toEqual(['removeVolume']);
  });
});
