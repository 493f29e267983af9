// The sandbox pods' Pod Security mode (docs/kubernetes.md, "Pod security") reaches the controller the
// same way from every install path: baseline by default, restricted only when asked, anything else
// refused before it could start sandboxes in a mode nobody chose.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { helmBinary } from '../testing/helm-binary.ts';
import type { Obj } from '../testing/manifest-renderings.ts';
import { RENDERINGS, helm, root } from '../testing/manifest-renderings.ts';
import { renderInstallManifests } from './install-manifests.ts';

function controllerEnv(objects: Obj[]): Record<string, string | undefined> {
  const d = objects.find((o) => o.kind === 'Deployment' && o.metadata.name.endsWith('-controller')) as
    | {
        spec: {
          template: { spec: { containers: Array<{ env?: Array<{ name: string; value?: string }> }> } };
        };
      }
    | undefined;
  return Object.fromEntries((d?.spec.template.spec.containers[0]?.env ?? []).map((e) => [e.name, e.value]));
}

describe('sandbox pod security in the install manifests', () => {
  it('is baseline in every default rendering (kustomize, Helm, agenttier install --render)', () => {
    for (const [name, render] of Object.entries(RENDERINGS))
      expect(controllerEnv(render()).AGENTTIER_SANDBOX_POD_SECURITY, name).toBe('baseline');
  });

  it('is restricted only when asked (Helm sandbox.podSecurity, install sandboxPodSecurity)', () => {
    expect(controllerEnv(helm('sandbox.podSecurity=restricted')).AGENTTIER_SANDBOX_POD_SECURITY).toBe(
      'restricted',
    );
    expect(
      controllerEnv(renderInstallManifests({ sandboxPodSecurity: 'restricted' }) as Obj[])
        .AGENTTIER_SANDBOX_POD_SECURITY,
    ).toBe('restricted');
  });

  it('Helm refuses any other value', () => {
    expect(() =>
      execFileSync(
        helmBinary(),
        [
          'template',
          'agenttier',
          join(root, 'deploy/helm/agenttier'),
          '--set',
          'sandbox.podSecurity=privileged',
        ],
        { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
      ),
    ).toThrow(/sandbox.podSecurity must be baseline or restricted \(got "privileged"\)/);
  });
});
