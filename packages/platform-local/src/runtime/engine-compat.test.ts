import { describe, expect, it } from 'vitest';
import { hasLabels, isNameConflict, isNotFound } from './docker-client.ts';

/** Errors shaped as docker-modem builds them from each engine's answer. */
const engineError = (statusCode: number, message: string) =>
  Object.assign(new Error(message), { statusCode });

describe('engine answers that differ between Docker and Podman', () => {
  it('treats a lost race for a container name as a conflict on both engines', () => {
    expect(
      isNameConflict(
        engineError(
          409,
          '(HTTP code 409) unexpected - Conflict. The container name "/x" is already in use by container "4b53"',
        ),
      ),
    ).toBe(true);
    // Podman 4.x: 500 with the storage error text.
    expect(
      isNameConflict(
        engineError(
          500,
          '(HTTP code 500) server error - container create: creating container storage: the container name "x" is already in use by a2ff',
        ),
      ),
    ).toBe(true);
    expect(isNameConflict(engineError(500, '(HTTP code 500) server error - runc create failed'))).toBe(false);
    expect(isNameConflict(engineError(404, 'no such image'))).toBe(false);
    expect(isNameConflict(undefined)).toBe(false);
    expect(isNotFound(engineError(404, 'no such container'))).toBe(true);
  });

  it('matches every wanted label, since Podman ORs several label filters on volumes', () => {
    const wanted = ['agenttier.io/managed=true', 'agenttier.io/instance=abc'];
    expect(
      hasLabels({ 'agenttier.io/managed': 'true', 'agenttier.io/instance': 'abc', x: 'y' }, wanted),
    ).toBe(true);
    expect(hasLabels({ 'agenttier.io/managed': 'true', 'agenttier.io/instance': 'other' }, wanted)).toBe(
      false,
    );
    expect(hasLabels({ 'agenttier.io/instance': 'abc' }, wanted)).toBe(false);
    expect(hasLabels(null, wanted)).toBe(false);
    expect(hasLabels(undefined, [])).toBe(true);
    // A bare key asks only for presence, as in Docker's `label=key` filter.
    expect(hasLabels({ k: '' }, ['k'])).toBe(true);
    expect(hasLabels({ k: 'a=b' }, ['k=a=b'])).toBe(true);
  });
});
