import { describe, expect, it } from 'vitest';
import { STANDBY_STARTED, StandbyStartGate } from './standby-start-gate.ts';

function gate(): { g: StandbyStartGate; written: string[] } {
  const written: string[] = [];
  return { g: new StandbyStartGate((d) => written.push(d)), written };
}

describe('StandbyStartGate', () => {
  it('holds input until the child says the pty has its settings back, then writes it in order', () => {
    const { g, written } = gate();
    g.send('echo one\r');
    g.send('echo two\r');
    expect(written).toEqual([]);
    expect(g.output(`${STANDBY_STARTED}$ `)).toBe('$ ');
    expect(written).toEqual(['echo one\r', 'echo two\r']);
    g.send('x');
    expect(written.at(-1)).toBe('x');
  });

  it('finds the marker split over chunks and never shows any part of it', () => {
    const { g, written } = gate();
    g.send('ls\r');
    const cut = 7;
    expect(g.output(`a${STANDBY_STARTED.slice(0, cut)}`)).toBe('a');
    expect(written).toEqual([]);
    expect(g.output(`${STANDBY_STARTED.slice(cut)}prompt`)).toBe('prompt');
    expect(written).toEqual(['ls\r']);
    expect(g.output(STANDBY_STARTED)).toBe(STANDBY_STARTED); // after the start, output is the shell's own
  });

  it('lets through output that only looks like the start of the marker', () => {
    const { g } = gate();
    expect(g.output('\x1b]')).toBe('');
    expect(g.output('0;title\x07')).toBe('\x1b]0;title\x07');
    expect(g.open).toBe(false);
  });

  it('drops held input beyond 1 Mi characters instead of growing without bound', () => {
    const { g, written } = gate();
    const chunk = 'y'.repeat(1 << 19);
    g.send(chunk);
    g.send(chunk);
    g.send('lost');
    g.output(STANDBY_STARTED);
    expect(written).toEqual([chunk, chunk]);
  });
});
