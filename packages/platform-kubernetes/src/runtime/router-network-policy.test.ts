import { describe, expect, it } from 'vitest';
import { renderInstallManifests } from '../install/install-manifests.ts';
import { helm as renderHelm, kustomize as renderKustomize } from '../testing/manifest-renderings.ts';
import { DEFAULT_BLOCKED_CIDRS } from './network-policy.ts';

type Obj = { kind: string; metadata: { name: string }; spec?: Record<string, unknown> } & Record<
  string,
  unknown
>;
type Peer = {
  namespaceSelector?: { matchLabels?: Record<string, string> };
  podSelector?: {
    matchLabels?: Record<string, string>;
    matchExpressions?: Array<{ key: string; operator: string }>;
  };
  ipBlock?: { cidr: string };
};
type Rule = { from?: Peer[]; to?: Peer[]; ports?: Array<{ protocol: string; port: number }> };
type Policy = {
  spec: {
    podSelector: { matchLabels: Record<string, string> };
    policyTypes: string[];
    ingress: Rule[];
    egress: Rule[];
  };
};

// The install renderings, typed for this file's reads.
const kustomize = (dir: string) => renderKustomize(dir) as Obj[];
const helm = (...set: string[]) => renderHelm(...set) as Obj[];

const RENDERINGS: Record<string, () => Obj[]> = {
  'kustomize base': () => kustomize('deploy/kustomize/base'),
  'kustomize overlays/gvisor': () => kustomize('deploy/kustomize/overlays/gvisor'),
  'helm template (defaults)': () => helm(),
  'agenttier install --render': () => renderInstallManifests() as Obj[],
};

const routerPolicy = (objects: Obj[]) =>
  objects.find((o) => o.kind === 'NetworkPolicy' && o.metadata.name.endsWith('-router')) as
    (Obj & Policy) | undefined;
const routerPodLabels = (objects: Obj[]) =>
  (
    objects.find((o) => o.kind === 'Deployment' && o.metadata.name.endsWith('-router')) as unknown as {
      spec: { template: { metadata: { labels: Record<string, string> } } };
    }
  ).spec.template.metadata.labels;

describe('the router NetworkPolicy', () => {
  for (const [name, render] of Object.entries(RENDERINGS)) {
    it(`${name}: selects the router pods; in only on 8080 and never from sandboxes; out only to DNS, the API server and sandboxd`, () => {
      const objects = render();
      const np = routerPolicy(objects);
      expect(np, 'a router NetworkPolicy').toBeDefined();
      const spec = np!.spec;
      expect(routerPodLabels(objects)).toMatchObject(spec.podSelector.matchLabels);
      expect(spec.policyTypes).toEqual(['Ingress', 'Egress']);
      expect(spec.ingress).toHaveLength(1);
      expect(spec.ingress[0]!.ports).toEqual([{ protocol: 'TCP', port: 8080 }]);
      for (const peer of spec.ingress[0]!.from ?? []) {
        // Every peer excludes sandbox pods (they carry agenttier.io/managed).
        expect(peer.podSelector?.matchExpressions).toContainEqual({
          key: 'agenttier.io/managed',
          operator: 'DoesNotExist',
        });
      }
      // No egress rule without ports (that would be any port to its peers).
      for (const rule of spec.egress) expect(rule.ports?.length, JSON.stringify(rule)).toBeGreaterThan(0);
      const ports = spec.egress.map((r) => r.ports!.map((p) => `${p.protocol}/${p.port}`).join(','));
      expect(ports).toEqual(['UDP/53,TCP/53', 'TCP/443,TCP/6443', 'TCP/7070']);
      expect(spec.egress[0]!.to).toEqual([
        {
          namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } },
          podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } },
        },
      ]);
      expect(spec.egress[2]!.to).toEqual([
        { namespaceSelector: {}, podSelector: { matchLabels: { 'agenttier.io/managed': 'true' } } },
      ]);
    });
  }

  it('helm: the API server can be pinned, ingress narrowed, egress extended, DNS pods and cluster CIDRs configured', () => {
    const objects = helm(
      'networking.apiServer.cidrs[0]=203.0.113.10/32',
      'networking.routerPolicy.ingressFrom[0].namespaceSelector.matchLabels.name=ingress-nginx',
      'networking.routerPolicy.ingressFrom[0].podSelector.matchExpressions[0].key=agenttier.io/managed',
      'networking.routerPolicy.ingressFrom[0].podSelector.matchExpressions[0].operator=DoesNotExist',
      'networking.routerPolicy.extraEgress[0].to[0].ipBlock.cidr=198.51.100.5/32',
      'networking.routerPolicy.extraEgress[0].ports[0].port=443',
      'networking.dns.namespace=dns',
      'networking.dns.podLabels.app=unbound',
      'networking.clusterCidrs[0]=203.0.113.0/24',
    );
    const spec = routerPolicy(objects)!.spec;
    expect(spec.egress[1]!.to).toEqual([{ ipBlock: { cidr: '203.0.113.10/32' } }]);
    expect(spec.egress[3]).toEqual({
      to: [{ ipBlock: { cidr: '198.51.100.5/32' } }],
      ports: [{ port: 443 }],
    });
    expect(spec.ingress[0]!.from![0]!.namespaceSelector).toEqual({ matchLabels: { name: 'ingress-nginx' } });
    expect(spec.egress[0]!.to![0]!.podSelector!.matchLabels).toEqual({
      app: 'unbound',
      'k8s-app': 'kube-dns',
    });

    const controller = objects.find(
      (o) => o.kind === 'Deployment' && o.metadata.name.endsWith('-controller'),
    );
    const env = (
      controller as unknown as {
        spec: { template: { spec: { containers: Array<{ env: Array<{ name: string; value?: string }> }> } } };
      }
    ).spec.template.spec.containers[0]!.env;
    const value = (n: string) => env.find((e) => e.name === n)?.value;
    expect(value('AGENTTIER_BLOCKED_CIDRS')).toBe([...DEFAULT_BLOCKED_CIDRS, '203.0.113.0/24'].join(','));
    expect(value('AGENTTIER_DNS_NAMESPACE')).toBe('dns');
    expect(value('AGENTTIER_DNS_POD_LABELS')).toBe('app=unbound,k8s-app=kube-dns');
  });

  it('helm: routerPolicy.enabled=false renders none', () => {
    expect(routerPolicy(helm('networking.routerPolicy.enabled=false'))).toBeUndefined();
  });
});
