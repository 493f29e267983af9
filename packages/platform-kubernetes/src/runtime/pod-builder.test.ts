import { describe, expect, it } from 'vitest';
import type { Sandbox } from '@agenttier/contract';
import type { EffectiveSandbox } from '@agenttier/core';
import { buildPod, toolsVerifyScript } from './pod-builder.ts';
import { buildPvc } from './objects.ts';
import {
  DEFAULT_BLOCKED_CIDRS,
  buildNetworkPolicy,
  egressRules,
  inCidrs,
  withNat64Images,
  parseCidr,
} from './network-policy.ts';
import { resolveDomains } from './domain-resolver.ts';
import { newSandboxdToken, tokenDigest } from './children.ts';

const sandbox: Sandbox = {
  apiVersion: 'agenttier.io/v1alpha1',
  kind: 'Sandbox',
  metadata: { name: 'sb1', namespace: 'team', uid: '1111-2222' },
  spec: { templateRef: { name: 't' }, createdBy: { sub: 'u', email: 'u@example.com' } },
};

const effective: EffectiveSandbox = {
  mode: 'code',
  image: 'img:1',
  pullPolicy: 'IfNotPresent',
  resources: { cpu: '2', memory: '4Gi', pids: 1024, requests: { cpu: '500m' } },
  storage: { size: '10Gi', mountPath: '/workspace' },
  network: { allowInternet: false, allowedDomains: [] },
  env: [{ name: 'FOO', value: 'bar' }],
  workingDir: '/workspace',
  shell: '/bin/bash',
  onStart: 'echo hi',
  agent: {},
  templateName: 't',
};

describe('pod builder', () => {
  it('runs sandboxd under tini from the injected emptyDir, with the onStart hook and the user env', () => {
    const pod = buildPod({ sandbox, effective, injectorImage: 'inj:1' });
    const c = pod.spec!.containers[0]!;
    const env = Object.fromEntries((c.env ?? []).map((e) => [e.name, e.value]));
    expect(env).toMatchObject({
      FOO: 'bar',
      AGENTTIER_ONSTART: 'echo hi',
      AGENTTIER_SHELL: '/bin/bash',
      HOME: '/workspace',
    });
    expect(c.resources).toEqual({ limits: { cpu: '2', memory: '4Gi' }, requests: { cpu: '500m' } });
    expect(c.readinessProbe?.tcpSocket?.port).toBe(7070);
    expect(c.volumeMounts?.find((m) => m.mountPath === '/opt/agenttier')?.readOnly).toBe(true);
    expect(pod.spec!.initContainers!.map((i) => i.name)).toEqual(['sandboxd-inject']);
    expect(pod.metadata?.annotations?.['agenttier.io/created-by']).toBe('u@example.com');
    expect(pod.spec?.runtimeClassName).toBeUndefined();
    expect(pod.spec?.enableServiceLinks).toBe(false);
  });

  it('baseline (default): tini and agenttier-launch start as root with four capabilities, the port and token go to sandboxd as descriptors', () => {
    const pod = buildPod({ sandbox, effective, injectorImage: 'inj:1' });
    const c = pod.spec!.containers[0]!;
    expect(c.command).toEqual([
      '/opt/agenttier/bin/tini',
      '-g',
      '--',
      '/opt/agenttier/sandboxd/agenttier-launch',
      '--listen-tcp',
      '[::]:7070',
      '--uid',
      '1000',
      '--gid',
      '1000',
      '--token-file',
      '/run/agenttier/token/token',
      '--token-file-read-only',
      '--',
      '/opt/agenttier/node/bin/node',
      '--disable-sigusr1',
      '/opt/agenttier/sandboxd/sandboxd.mjs',
    ]);
    expect(c.securityContext).toEqual({
      runAsNonRoot: false,
      runAsUser: 0,
      runAsGroup: 0,
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      privileged: false,
      capabilities: { drop: ['ALL'], add: ['SETUID', 'SETGID', 'SETPCAP', 'KILL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    });
    // sandboxd neither binds the port nor reads a token file itself: both come from the launcher.
    const names = (c.env ?? []).map((e) => e.name);
    expect(names).not.toContain('AGENTTIER_SANDBOXD_LISTEN');
    expect(names).not.toContain('AGENTTIER_SANDBOXD_TOKEN_FILE');
    expect(pod.spec?.securityContext).toEqual({
      runAsUser: 1000,
      runAsGroup: 1000,
      fsGroup: 1000,
      fsGroupChangePolicy: 'OnRootMismatch',
      seccompProfile: { type: 'RuntimeDefault' },
    });
  });

  it('baseline: only the injector (root, no capability) mounts the token Secret; the sandbox gets a read-only memory copy', () => {
    const pod = buildPod({ sandbox, effective, injectorImage: 'inj:1' });
    const [inject] = pod.spec!.initContainers!;
    expect(inject!.args).toEqual([
      '/target',
      '--token',
      '/run/agenttier/token-secret/token',
      '/run/agenttier/token/token',
    ]);
    expect(inject!.securityContext).toMatchObject({
      runAsUser: 0,
      runAsNonRoot: false,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
    });
    expect(inject!.securityContext?.capabilities?.add).toBeUndefined();
    const volumes = Object.fromEntries(pod.spec!.volumes!.map((v) => [v.name, v]));
    expect(volumes['sandboxd-token-secret']?.secret).toMatchObject({
      secretName: 'sb1-sandboxd-token',
      defaultMode: 0o400,
    });
    expect(volumes['sandboxd-token']?.emptyDir).toEqual({ medium: 'Memory', sizeLimit: '1Mi' });
    // No container but the injector mounts the Secret; the sandbox container mounts the copy read-only.
    const all = [...pod.spec!.initContainers!, ...pod.spec!.containers];
    for (const ctr of all) {
      const secretMount = ctr.volumeMounts?.find((m) => m.name === 'sandboxd-token-secret');
      expect(Boolean(secretMount)).toBe(ctr.name === 'sandboxd-inject');
    }
    const copy = pod.spec!.containers[0]!.volumeMounts!.find((m) => m.name === 'sandboxd-token');
    expect(copy).toEqual({ name: 'sandboxd-token', mountPath: '/run/agenttier/token', readOnly: true });
  });

  it('baseline: stays within the Pod Security baseline profile (capabilities, privilege, host access, seccomp)', () => {
    const pod = buildPod({
      sandbox,
      effective,
      injectorImage: 'inj:1',
      harness: { tools: [{ name: 'git' }], initScripts: ['true'] },
    });
    // The capabilities baseline allows to add (pod-security-admission's capabilities_baseline check).
    const allowed = new Set([
      'AUDIT_WRITE',
      'CHOWN',
      'DAC_OVERRIDE',
      'FOWNER',
      'FSETID',
      'KILL',
      'MKNOD',
      'NET_BIND_SERVICE',
      'SETFCAP',
      'SETGID',
      'SETPCAP',
      'SETUID',
      'SYS_CHROOT',
    ]);
    const spec = pod.spec!;
    expect([spec.hostNetwork, spec.hostPID, spec.hostIPC].some(Boolean)).toBe(false);
    expect(spec.volumes!.some((v) => v.hostPath)).toBe(false);
    for (const ctr of [...spec.initContainers!, ...spec.containers]) {
      const sc = ctr.securityContext!;
      expect(sc.privileged).toBe(false);
      expect(sc.allowPrivilegeEscalation).toBe(false);
      expect(sc.seccompProfile?.type).toBe('RuntimeDefault');
      for (const cap of sc.capabilities?.add ?? []) expect(allowed.has(cap)).toBe(true);
      expect(ctr.ports?.some((p) => p.hostPort) ?? false).toBe(false);
      // Only the injector and the sandbox's first step are root; the image's own init steps are not.
      expect(sc.runAsUser).toBe(['sandboxd-inject', 'sandbox'].includes(ctr.name) ? 0 : 1000);
    }
  });

  it('restricted (opt-in): uid 1000 from the first process, sandboxd binds its port and reads the mounted Secret', () => {
    const pod = buildPod({ sandbox, effective, injectorImage: 'inj:1', podSecurity: 'restricted' });
    const c = pod.spec!.containers[0]!;
    expect(c.command).toEqual([
      '/opt/agenttier/bin/tini',
      '-g',
      '--',
      '/opt/agenttier/node/bin/node',
      '--disable-sigusr1',
      '/opt/agenttier/sandboxd/sandboxd.mjs',
    ]);
    const env = Object.fromEntries((c.env ?? []).map((e) => [e.name, e.value]));
    expect(env).toMatchObject({
      AGENTTIER_SANDBOXD_LISTEN: '0.0.0.0:7070',
      AGENTTIER_SANDBOXD_TOKEN_FILE: '/run/agenttier/token/token',
    });
    for (const ctr of [...pod.spec!.initContainers!, c])
      expect(ctr.securityContext).toMatchObject({
        runAsNonRoot: true,
        runAsUser: 1000,
        capabilities: { drop: ['ALL'] },
      });
    expect(c.securityContext?.capabilities?.add).toBeUndefined();
    expect(pod.spec!.initContainers![0]!.args).toEqual(['/target']);
    expect(pod.spec?.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 1000 });
    expect(pod.spec!.volumes!.find((v) => v.name === 'sandboxd-token')?.secret?.secretName).toBe(
      'sb1-sandboxd-token',
    );
  });

  it('adds tool verification and init scripts as init containers with the same lockdown', () => {
    const pod = buildPod({
      sandbox,
      effective: { ...effective, runtimeClass: 'gvisor' },
      injectorImage: 'inj:1',
      harness: {
        tools: [{ name: 'git' }, { name: 'claude', verifyCommand: 'claude --version' }],
        initScripts: ['pip install x', 'echo done'],
      },
    });
    const inits = pod.spec!.initContainers!;
    expect(inits.map((i) => i.name)).toEqual(['sandboxd-inject', 'verify-tools', 'init-scripts']);
    expect(inits[1]!.command![2]).toContain("command -v 'git'");
    expect(inits[1]!.command![2]).toContain('claude --version');
    expect(inits[2]!.command).toEqual(['/bin/sh', '-c', 'set -e\npip install x\necho done']);
    for (const i of inits.slice(1))
      expect(i.securityContext).toMatchObject({
        runAsNonRoot: true,
        readOnlyRootFilesystem: true,
        capabilities: { drop: ['ALL'] },
      });
    expect(inits[0]!.securityContext).toMatchObject({
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
    });
    expect(pod.spec?.runtimeClassName).toBe('gvisor');
  });

  it('tool verification names every missing tool', () => {
    const script = toolsVerifyScript([{ name: 'a' }, { name: 'b; rm -rf /' }]);
    expect(script).toContain("command -v 'b; rm -rf /'");
    expect(script).toContain('failed="$failed b__rm_-rf__"');
  });
});

describe('workspace claim', () => {
  it('is ReadWriteOnce by default, with the size, the storage class and the owner reference', () => {
    const pvc = buildPvc(sandbox, { ...effective, storage: { ...effective.storage, storageClass: 'fast' } });
    expect(pvc.metadata?.name).toBe('sb1-workspace');
    expect(pvc.metadata?.ownerReferences?.[0]).toMatchObject({ kind: 'Sandbox', uid: '1111-2222' });
    expect(pvc.spec).toEqual({
      accessModes: ['ReadWriteOnce'],
      resources: { requests: { storage: '10Gi' } },
      storageClassName: 'fast',
    });
  });

  it('takes the access mode it is given (ReadWriteOncePod, ReadWriteMany) and leaves the class unset for the default', () => {
    for (const mode of ['ReadWriteOncePod', 'ReadWriteMany'] as const) {
      const pvc = buildPvc(sandbox, effective, mode);
      expect(pvc.spec?.accessModes).toEqual([mode]);
      expect(pvc.spec && 'storageClassName' in pvc.spec).toBe(false);
    }
  });
});

describe('network policy', () => {
  const router = { namespace: 'agenttier', podLabels: { 'app.kubernetes.io/component': 'router' } };

  it('denies by default: DNS out to the cluster DNS pods only, sandboxd in from the router only', () => {
    const np = buildNetworkPolicy({ sandbox, effective, router });
    // A DNS rule without `to` would let TCP/UDP 53 reach any address (any resolver, any tunnel).
    expect(np.spec?.egress).toEqual([
      {
        to: [
          {
            namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } },
            podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } },
          },
        ],
        ports: [
          { protocol: 'UDP', port: 53 },
          { protocol: 'TCP', port: 53 },
        ],
      },
    ]);
    expect(np.spec?.ingress?.[0]?._from?.[0]?.namespaceSelector?.matchLabels).toEqual({
      'kubernetes.io/metadata.name': 'agenttier',
    });
    expect(np.spec?.ingress?.[0]?.ports).toEqual([{ protocol: 'TCP', port: 7070 }]);
    expect(np.spec?.podSelector?.matchLabels).toEqual({
      'agenttier.io/sandbox': 'sb1',
      'agenttier.io/managed': 'true',
    });
  });

  it('takes the DNS pods it is configured with', () => {
    const rules = egressRules({
      effective,
      dns: { namespace: 'dns', podLabels: { app: 'unbound' } },
    });
    expect(rules[0]?.to).toEqual([
      {
        namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'dns' } },
        podSelector: { matchLabels: { app: 'unbound' } },
      },
    ]);
  });

  it('allows the internet except the private, shared and link-local ranges (pods, services, nodes, API server, metadata)', () => {
    const rules = egressRules({
      effective: { ...effective, network: { allowInternet: true, allowedDomains: ['x.com'] } },
    });
    expect(rules[1]?.to).toEqual([
      {
        ipBlock: {
          cidr: '0.0.0.0/0',
          except: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '100.64.0.0/10', '169.254.0.0/16'],
        },
      },
      {
        ipBlock: {
          cidr: '::/0',
          except: [
            'fc00::/7',
            'fe80::/10',
            // The same IPv4 ranges through NAT64 (an IPv6-only cluster's way to IPv4).
            '64:ff9b::a00:0/104',
            '64:ff9b::ac10:0/108',
            '64:ff9b::c0a8:0/112',
            '64:ff9b::6440:0/106',
            '64:ff9b::a9fe:0/112',
          ],
        },
      },
    ]);
    for (const inside of [
      '10.96.0.1',
      '172.20.3.4',
      '192.168.1.1',
      '100.64.0.10',
      '169.254.169.254',
      'fd00::1',
    ])
      expect(inCidrs(inside, DEFAULT_BLOCKED_CIDRS), inside).toBe(true);
    for (const outside of ['8.8.8.8', '172.32.0.1', '2001:db8::1'])
      expect(inCidrs(outside, DEFAULT_BLOCKED_CIDRS), outside).toBe(false);
  });

  it('excepts the configured cluster ranges too (a cluster on public addresses)', () => {
    const rules = egressRules({
      effective: { ...effective, network: { allowInternet: true, allowedDomains: [] } },
      blockedCidrs: [...DEFAULT_BLOCKED_CIDRS, '203.0.113.0/24', '2001:db8:1::/48'],
    });
    expect(rules[1]?.to?.[0]?.ipBlock?.except).toContain('203.0.113.0/24');
    expect(rules[1]?.to?.[1]?.ipBlock?.except).toContain('2001:db8:1::/48');
  });

  it('never allows a cluster address through an allowed domain that resolves to one', () => {
    const rules = egressRules({
      effective: { ...effective, network: { allowInternet: false, allowedDomains: ['kubernetes.default'] } },
      resolvedIps: ['10.96.0.1', '198.51.100.7', '169.254.169.254'],
    });
    expect(rules[1]?.to).toEqual([{ ipBlock: { cidr: '198.51.100.7/32' } }]);
  });

  it('blocks the IPv4 ranges through NAT64 and IPv4-mapped addresses too, for allowInternet and allowed domains', () => {
    const blocked = withNat64Images([...DEFAULT_BLOCKED_CIDRS, '203.0.113.0/24']);
    // 10.96.0.1 (the kubernetes Service), 169.254.169.254 (metadata) and a configured public range.
    for (const inside of ['64:ff9b::a60:1', '64:ff9b::a9fe:a9fe', '64:ff9b::cb00:7107'])
      expect(inCidrs(inside, blocked), inside).toBe(true);
    expect(inCidrs('64:ff9b::808:808', blocked)).toBe(false); // 8.8.8.8 through NAT64: the internet
    const rules = egressRules({
      effective: { ...effective, network: { allowInternet: false, allowedDomains: ['evil.example'] } },
      resolvedIps: [
        '64:ff9b::a60:1',
        '::ffff:10.96.0.1',
        '::ffff:198.51.100.7',
        '2001:db8::7',
        '64:ff9b::808:808',
      ],
    });
    // An IPv4-mapped address is never a destination on the wire, and Go-based CNIs may read
    // `::ffff:a.b.c.d/128` as the IPv4 host: dropped whatever it maps to.
    expect(rules[1]?.to).toEqual([
      { ipBlock: { cidr: '2001:db8::7/128' } },
      { ipBlock: { cidr: '64:ff9b::808:808/128' } },
    ]);
  });

  it('reads CIDRs and bare addresses, and refuses anything else', () => {
    expect(parseCidr(' 10.0.0.0/8 ')).toBe('10.0.0.0/8');
    expect(parseCidr('203.0.113.9')).toBe('203.0.113.9/32');
    expect(parseCidr('2001:db8::1')).toBe('2001:db8::1/128');
    for (const bad of ['10.0.0.0/33', 'example.com', '10.0.0.0/8/1', '10.0.0/8', 'fd00::/129', '10.0.0.0/x'])
      expect(() => parseCidr(bad), bad).toThrow();
  });

  it('resolves allowed domains, keeps the last addresses when a lookup fails, and reports wildcards', async () => {
    const first = await resolveDomains(['a.example', '*.b.example', '192.0.2.9'], async () => [
      '198.51.100.1',
    ]);
    expect(first.ips).toEqual(['192.0.2.9', '198.51.100.1']);
    expect(first.unresolved).toEqual(['*.b.example']);
    const second = await resolveDomains(
      ['a.example'],
      async () => {
        throw new Error('SERVFAIL');
      },
      first.byDomain,
    );
    expect(second.ips).toEqual(['198.51.100.1']);
  });
});

it('sandboxd tokens are 256 random bits each, and the pod carries only their digest', () => {
  const tokens = new Set(Array.from({ length: 100 }, () => newSandboxdToken()));
  expect(tokens.size).toBe(100);
  for (const t of tokens) expect(t).toMatch(/^[A-Za-z0-9_-]{43}$/);
  const token = [...tokens][0]!;
  const pod = buildPod({ sandbox, effective, injectorImage: 'inj', tokenSha256: tokenDigest(token) });
  expect(pod.metadata?.annotations?.['agenttier.io/sandboxd-token-sha256']).toMatch(/^[0-9a-f]{64}$/);
  expect(JSON.stringify(pod)).not.toContain(token);
});
