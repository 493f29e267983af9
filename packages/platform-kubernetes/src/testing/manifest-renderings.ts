// Every way the install manifests are rendered (kustomize base and overlays, Helm with several value
// sets, `agenttier install --render`), for tests that check them against an API server: the fake
// (deploy-manifests.test.ts) and real kube-apiservers (deploy-manifests.real.int.test.ts).
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { helmBinary } from './helm-binary.ts';
import { renderInstallManifests } from '../install/install-manifests.ts';

export type Obj = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [k: string]: unknown;
};

export const root = join(import.meta.dirname, '../../../..');

export function parseYaml(text: string): Obj[] {
  return parseAllDocuments(text)
    .map((d) => d.toJSON() as Obj | null)
    .filter((o): o is Obj => o !== null && typeof o === 'object');
}

export const kustomize = (dir: string) =>
  parseYaml(execFileSync('kubectl', ['kustomize', join(root, dir)], { encoding: 'utf8' }));
export const helm = (...set: string[]) =>
  parseYaml(
    execFileSync(
      helmBinary(),
      [
        'template',
        'agenttier',
        join(root, 'deploy/helm/agenttier'),
        '--namespace',
        'agenttier',
        '--include-crds',
        ...set.flatMap((s) => ['--set', s]),
      ],
      { encoding: 'utf8' },
    ),
  );

export const RENDERINGS: Record<string, () => Obj[]> = {
  'kustomize base': () => kustomize('deploy/kustomize/base'),
  'kustomize overlays/gvisor': () => kustomize('deploy/kustomize/overlays/gvisor'),
  'kustomize overlays/kata': () => kustomize('deploy/kustomize/overlays/kata'),
  'helm template (defaults)': () => helm(),
  'helm template (gVisor, web UI, ingress)': () =>
    helm(
      'security.gvisor.enabled=true',
      'webui.enabled=true',
      'ingress.enabled=true',
      'ingress.className=nginx',
      'auth.devAuth=true',
      'router.previewOrigin=https://*.preview.example.com',
      'router.trustedProxies[0]=10.0.0.0/8',
      'router.trustedProxies[1]=fd00::/8',
    ),
  'helm template (pinned API server, narrowed router ingress, cluster CIDRs, admin key Secret)': () =>
    helm(
      'networking.apiServer.cidrs[0]=203.0.113.10/32',
      'auth.adminKeySecret.name=agenttier-admin-key',
      'networking.routerPolicy.ingressFrom[0].namespaceSelector.matchLabels.name=ingress-nginx',
      'networking.routerPolicy.extraEgress[0].to[0].ipBlock.cidr=198.51.100.5/32',
      'networking.routerPolicy.extraEgress[0].ports[0].port=443',
      'networking.clusterCidrs[0]=203.0.113.0/24',
    ),
  'agenttier install --render': () => renderInstallManifests() as Obj[],
};
