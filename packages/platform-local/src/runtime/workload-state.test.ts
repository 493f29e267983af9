import type { ContainerInspectInfo } from 'dockerode';
import { describe, expect, it } from 'vitest';
import { workloadStateOf } from './docker-runtime.ts';

type State = ContainerInspectInfo['State'];
const base: State = {
  Status: 'created',
  Running: false,
  Paused: false,
  Restarting: false,
  OOMKilled: false,
  Dead: false,
  Pid: 0,
  ExitCode: 0,
  Error: '',
  StartedAt: '0001-01-01T00:00:00Z',
  FinishedAt: '0001-01-01T00:00:00Z',
};

describe('workloadStateOf (engine container state → planner state)', () => {
  it.each<[string, Partial<State>, string]>([
    ['created', { Status: 'created' }, 'created'],
    ['Podman configured', { Status: 'configured' }, 'created'],
    ['running', { Status: 'running', Running: true }, 'running'],
    // Docker keeps Running true while paused or restarting: those must not count as running.
    ['paused', { Status: 'paused', Running: true, Paused: true }, 'paused'],
    ['restarting', { Status: 'restarting', Running: true, Restarting: true }, 'restarting'],
    ['exited', { Status: 'exited', ExitCode: 137 }, 'exited'],
    ['Podman stopped', { Status: 'stopped' }, 'exited'],
    ['dead', { Status: 'dead', Dead: true }, 'dead'],
    ['removing', { Status: 'removing' }, 'removing'],
    ['unknown', { Status: 'frobnicating' }, 'other'],
  ])('%s', (_name, state, expected) => {
    expect(workloadStateOf({ ...base, ...state })).toBe(expected);
  });
});
