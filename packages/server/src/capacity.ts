import type { FieldIssue } from '@agenttier/contract';
import { PlatformError, parseBytes, parseCpuMillis } from '@agenttier/contract';
import type { EffectiveSandbox } from '@agenttier/core';

/** What one machine can give a single sandbox (the local platform: its CPUs and memory). */
export interface MachineCapacity {
  cpuMillis: number;
  memoryBytes: number;
  /**
   * Workspace sizes this platform can make, when workspaces are real filesystems of `storage.size`
   * (the local platform's loop workspaces): at least the filesystem's minimum, at most the disk they live on.
   */
  storageBytes?: { min: number; max: number };
}

const GI = 1024 ** 3;

/**
 * Refuses a sandbox whose CPU or memory limit (its own or its template's) exceeds the machine: the
 * engine would accept the container and the kernel could never honour it, or refuse it on start,
 * leaving the sandbox to fail its attempts one by one. A 422 that names the field is clearer.
 */
export function checkCapacity(effective: EffectiveSandbox, capacity: MachineCapacity | undefined): void {
  if (!capacity) return;
  const issues: FieldIssue[] = [];
  const cpu = parseCpuMillis(effective.resources.cpu);
  if (cpu !== undefined && cpu > capacity.cpuMillis) {
    issues.push({
      field: 'resources.limits.cpu',
      rule: 'capacity',
      message: `${effective.resources.cpu} CPUs is more than this machine has (${capacity.cpuMillis / 1000})`,
    });
  }
  const memory = parseBytes(effective.resources.memory);
  if (memory !== undefined && memory > capacity.memoryBytes) {
    issues.push({
      field: 'resources.limits.memory',
      rule: 'capacity',
      message: `${effective.resources.memory} is more memory than this machine has (${(capacity.memoryBytes / GI).toFixed(1)}Gi)`,
    });
  }
  const storage = parseBytes(effective.storage.size);
  if (capacity.storageBytes && storage !== undefined) {
    const { min, max } = capacity.storageBytes;
    if (storage < min || storage > max) {
      issues.push({
        field: 'storage.size',
        rule: 'capacity',
        message:
          storage < min
            ? `${effective.storage.size} is smaller than a workspace can be here (at least ${min / 2 ** 20}Mi)`
            : `${effective.storage.size} is more than the disk holding the workspaces (${(max / GI).toFixed(1)}Gi)`,
      });
    }
  }
  if (issues.length) {
    const from = `(from the request or template "${effective.templateName}")`;
    throw new PlatformError(
      'UNPROCESSABLE',
      `${issues.map((i) => `${i.field}: ${i.message}`).join('; ')} ${from}; change the limit`,
      { details: issues },
    );
  }
}
