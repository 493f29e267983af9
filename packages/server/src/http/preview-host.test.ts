/**
 * Preview host labels: every sandbox port has exactly one host, no two sandbox ports share one, and
 * a host names at most one sandbox port, also for names and namespaces full of dashes.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { NAME_RE } from '@agenttier/contract';
import { parseHostHeader } from './host-guard.ts';
import type { PreviewTarget } from './preview-host.ts';
import { matchPreviewHost, previewLabel, previewUrlOf } from './preview-host.ts';

const origin = { scheme: 'http' as const, domain: 'localhost', port: 8080 };

/** Names as NAME_RE allows them, biased towards runs of dashes. */
const name = fc
  .array(fc.constantFrom('a', 'b', '1', '-', '-', '--'), { minLength: 1, maxLength: 12 })
  .map((parts) => `x${parts.join('')}z`)
  .filter((n) => NAME_RE.test(n));
const target = fc.record({ port: fc.integer({ min: 1, max: 65535 }), name, namespace: name });

const parse = (label: string): PreviewTarget | undefined =>
  matchPreviewHost(parseHostHeader(`${label}.localhost:8080`)!, origin)?.target;

describe('preview host labels', () => {
  it('round-trip for every name, also with "--" in the name or the namespace', () => {
    fc.assert(
      fc.property(target, (t) => {
        expect(parse(previewLabel(t))).toEqual(t);
      }),
      { numRuns: 2000 },
    );
  });

  it('never give two sandbox ports the same host', () => {
    fc.assert(
      fc.property(target, target, (a, b) => {
        fc.pre(a.port !== b.port || a.name !== b.name || a.namespace !== b.namespace);
        expect(previewLabel(a)).not.toBe(previewLabel(b));
      }),
      { numRuns: 5000 },
    );
  });

  it('keeps the plain form for names without "--" and escapes the rest', () => {
    expect(previewUrlOf(origin, { port: 3000, name: 'web', namespace: 'default' })).toBe(
      'http://3000-web--default.localhost:8080/',
    );
    expect(previewLabel({ port: 3000, name: 'a--b', namespace: 'c' })).toBe('3000--a-1-1b--c');
    // The pair that a plain split would merge: a--b in c, and a in b--c.
    expect(previewLabel({ port: 3000, name: 'a', namespace: 'b--c' })).toBe('3000-a--b--c');
    expect(parse('3000-a--b--c')).toEqual({ port: 3000, name: 'a', namespace: 'b--c' });
    expect(parse('3000--a-1-1b--c')).toEqual({ port: 3000, name: 'a--b', namespace: 'c' });
  });

  it('refuses labels that are not the one label of a sandbox port', () => {
    // The escaped form of a name that needs no escaping would be a second host for `a-b`.
    expect(parse('3000--a-1b--c')).toBeUndefined();
    for (const label of ['3000--a-2b--c', '3000--a-b--c', '3000---a--c', '3000--a--', 'x-a--b', '0-a--b'])
      expect(parse(label), label).toBeUndefined();
  });
});
