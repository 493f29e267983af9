import { describe, expect, it } from 'vitest';
import type { EffectiveSandbox } from '@agenttier/core';
import { checkCapacity } from './capacity.ts';

const MI = 2 ** 20;
const machine = {
  cpuMillis: 2000,
  memoryBytes: 8 * 1024 * MI,
  storageBytes: { min: 32 * MI, max: 100 * 1024 * MI },
};

function effective(size: string): EffectiveSandbox {
  return {
    templateName: 'minimal-shell',
    resources: { cpu: '1', memory: '1Gi' },
    storage: { size, mountPath: '/workspace' },
  } as unknown as EffectiveSandbox;
}

describe('checkCapacity: storage.size of real workspace filesystems', () => {
  it('accepts sizes the platform can make', () => {
    expect(() => checkCapacity(effective('32Mi'), machine)).not.toThrow();
    expect(() => checkCapacity(effective('10Gi'), machine)).not.toThrow();
  });

  it('refuses a workspace too small for a filesystem or larger than the disk, naming storage.size', () => {
    for (const size of ['1Mi', '1Ti']) {
      try {
        checkCapacity(effective(size), machine);
        expect.unreachable(`${size} was accepted`);
      } catch (err) {
        expect(err).toMatchObject({
          code: 'UNPROCESSABLE',
          details: [{ field: 'storage.size', rule: 'capacity' }],
        });
      }
    }
  });

  it('leaves storage alone where workspaces are not size-limited filesystems', () => {
    const { storageBytes: _, ...plain } = machine;
    expect(() => checkCapacity(effective('1Mi'), plain)).not.toThrow();
  });
});
