import { describe, expect, it } from 'vitest';
import type { Sandbox, SandboxSpec, SandboxTemplate, TemplateRef, TemplateSpec } from '@agenttier/contract';
import { API_VERSION, isPlatformError } from '@agenttier/contract';
import type { TemplateLookup } from './template-merge.ts';
import {
  DEFAULTS,
  MAX_TEMPLATE_DEPTH,
  mergeSandboxWithTemplate,
  mergeTemplateChain,
  resolveEffectiveSandbox,
  resolveTemplateChain,
} from './template-merge.ts';
import { BUILTIN_TEMPLATES } from './builtin-templates.ts';

function tpl(name: string, spec: TemplateSpec, namespace?: string): SandboxTemplate {
  return {
    apiVersion: API_VERSION,
    kind: namespace ? 'SandboxTemplate' : 'ClusterSandboxTemplate',
    metadata: { name, ...(namespace ? { namespace } : {}) },
    spec,
  };
}

/** A lookup over a fixed set of templates, recording every ref it was asked for. */
function lookupOf(templates: SandboxTemplate[]): TemplateLookup & { calls: string[] } {
  const calls: string[] = [];
  const fn = async (ref: TemplateRef, ns: string) => {
    const kind = ref.kind ?? 'ClusterSandboxTemplate';
    calls.push(`${kind}/${ref.name}`);
    return templates.find(
      (t) =>
        t.kind === kind &&
        t.metadata.name === ref.name &&
        (kind === 'ClusterSandboxTemplate' || t.metadata.namespace === (ref.namespace ?? ns)),
    );
  };
  return Object.assign(fn, { calls });
}

function sandbox(spec: Partial<SandboxSpec> = {}, name = 'sb'): Sandbox {
  return {
    apiVersion: API_VERSION,
    kind: 'Sandbox',
    metadata: { name, namespace: 'default' },
    spec: { templateRef: { name: 'base' }, ...spec },
  };
}

async function rejectsWith(p: Promise<unknown>, code: string, message: RegExp) {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(isPlatformError(err), String(err)).toBe(true);
  if (isPlatformError(err)) {
    expect(err.code).toBe(code);
    expect(err.message).toMatch(message);
  }
}

describe('resolveTemplateChain', () => {
  it('returns a single template when nothing is inherited', async () => {
    const chain = await resolveTemplateChain({ name: 'base' }, 'default', lookupOf([tpl('base', {})]));
    expect(chain.map((t) => t.metadata.name)).toEqual(['base']);
  });

  it('follows inheritsFrom to the root and returns root first', async () => {
    const lookup = lookupOf([
      tpl('leaf', { inheritsFrom: { name: 'mid' } }),
      tpl('mid', { inheritsFrom: { name: 'root' } }),
      tpl('root', {}),
    ]);
    const chain = await resolveTemplateChain({ name: 'leaf' }, 'default', lookup);
    expect(chain.map((t) => t.metadata.name)).toEqual(['root', 'mid', 'leaf']);
    expect(lookup.calls).toEqual([
      'ClusterSandboxTemplate/leaf',
      'ClusterSandboxTemplate/mid',
      'ClusterSandboxTemplate/root',
    ]);
  });

  it('resolves namespaced templates in the sandbox namespace unless the ref names one', async () => {
    const lookup = lookupOf([
      tpl(
        'team',
        { inheritsFrom: { name: 'shared', kind: 'SandboxTemplate', namespace: 'platform' } },
        'dev',
      ),
      tpl('shared', {}, 'platform'),
    ]);
    const chain = await resolveTemplateChain({ name: 'team', kind: 'SandboxTemplate' }, 'dev', lookup);
    expect(chain.map((t) => `${t.metadata.namespace}/${t.metadata.name}`)).toEqual([
      'platform/shared',
      'dev/team',
    ]);
    await rejectsWith(
      resolveTemplateChain({ name: 'team', kind: 'SandboxTemplate' }, 'other', lookup),
      'TEMPLATE_NOT_FOUND',
      /"team"/,
    );
  });

  it('does not mistake a namespaced template inheriting from a cluster template of the same name for a cycle', async () => {
    const lookup = lookupOf([
      tpl('base', { inheritsFrom: { name: 'base', kind: 'ClusterSandboxTemplate' } }, 'default'),
      tpl('base', {}),
    ]);
    const chain = await resolveTemplateChain({ name: 'base', kind: 'SandboxTemplate' }, 'default', lookup);
    expect(chain.map((t) => t.kind)).toEqual(['ClusterSandboxTemplate', 'SandboxTemplate']);
  });

  it('refuses a cycle with UNPROCESSABLE', async () => {
    const lookup = lookupOf([
      tpl('a', { inheritsFrom: { name: 'b' } }),
      tpl('b', { inheritsFrom: { name: 'c' } }),
      tpl('c', { inheritsFrom: { name: 'a' } }),
    ]);
    await rejectsWith(resolveTemplateChain({ name: 'a' }, 'default', lookup), 'UNPROCESSABLE', /cycle at a/);
  });

  it('refuses a template that inherits from itself', async () => {
    const lookup = lookupOf([tpl('self', { inheritsFrom: { name: 'self' } })]);
    await rejectsWith(resolveTemplateChain({ name: 'self' }, 'default', lookup), 'UNPROCESSABLE', /cycle/);
  });

  it(`accepts a chain of exactly ${MAX_TEMPLATE_DEPTH} and refuses a deeper one`, async () => {
    const linear = (n: number) =>
      Array.from({ length: n }, (_, i) =>
        tpl(`t${i}`, i + 1 < n ? { inheritsFrom: { name: `t${i + 1}` } } : {}),
      );
    const ok = await resolveTemplateChain({ name: 't0' }, 'default', lookupOf(linear(MAX_TEMPLATE_DEPTH)));
    expect(ok).toHaveLength(MAX_TEMPLATE_DEPTH);
    await rejectsWith(
      resolveTemplateChain({ name: 't0' }, 'default', lookupOf(linear(MAX_TEMPLATE_DEPTH + 1))),
      'UNPROCESSABLE',
      /maximum depth of 10/,
    );
  });

  it('names the missing template, whether it is the one referenced or a parent', async () => {
    await rejectsWith(
      resolveTemplateChain({ name: 'nope' }, 'default', lookupOf([])),
      'TEMPLATE_NOT_FOUND',
      /"nope"/,
    );
    await rejectsWith(
      resolveTemplateChain(
        { name: 'child' },
        'default',
        lookupOf([tpl('child', { inheritsFrom: { name: 'gone' } })]),
      ),
      'TEMPLATE_NOT_FOUND',
      /"gone"/,
    );
  });
});

describe('mergeTemplateChain (root → leaf)', () => {
  it('merges env by name: order kept, child value wins, new names appended', () => {
    const merged = mergeTemplateChain([
      tpl('root', {
        env: [
          { name: 'A', value: '1' },
          { name: 'B', value: '2' },
        ],
      }),
      tpl('leaf', {
        env: [
          { name: 'B', value: '3' },
          { name: 'C', value: '4' },
        ],
      }),
    ]);
    expect(merged.env).toEqual([
      { name: 'A', value: '1' },
      { name: 'B', value: '3' },
      { name: 'C', value: '4' },
    ]);
  });

  it('replaces whole blocks (image, resources, storage, network) when the child sets them', () => {
    const merged = mergeTemplateChain([
      tpl('root', {
        image: { repository: 'root:1', pullPolicy: 'Never' },
        resources: { limits: { cpu: '2', memory: '4Gi' }, pids: 512 },
        storage: { size: '5Gi', mountPath: '/data' },
        network: { allowInternet: true },
        timeout: '8h',
        mode: 'agent',
        description: 'root',
      }),
      tpl('leaf', { image: { repository: 'leaf:1' }, resources: { limits: { memory: '8Gi' } } }),
    ]);
    expect(merged.image).toEqual({ repository: 'leaf:1' });
    expect(merged.resources).toEqual({ limits: { memory: '8Gi' } });
    // Blocks the child leaves alone are inherited.
    expect(merged.storage).toEqual({ size: '5Gi', mountPath: '/data' });
    expect(merged.network).toEqual({ allowInternet: true });
    expect(merged.timeout).toBe('8h');
    expect(merged.mode).toBe('agent');
    expect(merged.description).toBe('root');
  });

  it('deep-merges the harness: scalars replace, tools append, hooks replace as a block, agent merges', () => {
    const merged = mergeTemplateChain([
      tpl('root', {
        harness: {
          shell: '/bin/bash',
          workingDir: '/workspace',
          tools: [{ name: 'git' }],
          hooks: { onStart: 'echo root', onStop: 'echo bye' },
          agent: {
            entrypoint: ['python3', 'a.py'],
            maxConcurrentInvokes: 1,
            env: [{ name: 'X', value: '1' }],
          },
        },
      }),
      tpl('leaf', {
        harness: {
          shell: '/bin/zsh',
          tools: [{ name: 'node' }],
          hooks: { onStart: 'echo leaf' },
          agent: { maxConcurrentInvokes: 4, env: [{ name: 'Y', value: '2' }] },
        },
      }),
    ]);
    expect(merged.harness).toMatchObject({
      shell: '/bin/zsh',
      workingDir: '/workspace',
      tools: [{ name: 'git' }, { name: 'node' }],
      hooks: { onStart: 'echo leaf' },
      agent: {
        entrypoint: ['python3', 'a.py'],
        maxConcurrentInvokes: 4,
        env: [
          { name: 'X', value: '1' },
          { name: 'Y', value: '2' },
        ],
      },
    });
    expect(merged.harness?.hooks).toEqual({ onStart: 'echo leaf' });
  });

  it('returns an empty spec for an empty chain', () => {
    expect(mergeTemplateChain([])).toEqual({});
  });
});

describe('mergeSandboxWithTemplate', () => {
  it('applies the platform defaults when neither the sandbox nor the template says anything', () => {
    const eff = mergeSandboxWithTemplate(sandbox(), {}, 'base');
    expect(eff).toEqual({
      mode: 'code',
      image: DEFAULTS.image,
      pullPolicy: 'IfNotPresent',
      resources: { cpu: DEFAULTS.cpu, memory: DEFAULTS.memory, pids: DEFAULTS.pids },
      storage: { size: DEFAULTS.storageSize, mountPath: DEFAULTS.mountPath },
      network: { allowInternet: false, allowedDomains: [] },
      env: [],
      credentials: [],
      workingDir: DEFAULTS.mountPath,
      shell: '/bin/bash',
      agent: {},
      templateName: 'base',
    });
  });

  it('appends credentials parent first: the template chain, then the sandbox', () => {
    const merged = mergeTemplateChain([
      tpl('root', { credentials: [{ secretName: 'a' }] }),
      tpl('mid', {}),
      tpl('leaf', { credentials: [{ secretName: 'b', mountAs: 'file', mountPath: '/credentials/b' }] }),
    ]);
    const eff = mergeSandboxWithTemplate(
      sandbox({ credentials: [{ secretName: 'c', envPrefix: 'C_' }] }),
      merged,
      'leaf',
    );
    expect(eff.credentials?.map((c) => c.secretName)).toEqual(['a', 'b', 'c']);
  });

  it('takes custom defaults', () => {
    const eff = mergeSandboxWithTemplate(sandbox(), {}, 'base', {
      ...DEFAULTS,
      image: 'x:1',
      cpu: '1',
      pids: 64,
    });
    expect(eff.image).toBe('x:1');
    expect(eff.resources).toMatchObject({ cpu: '1', pids: 64 });
  });

  it('lets sandbox fields override the template field by field', () => {
    const template: TemplateSpec = {
      mode: 'code',
      image: { repository: 't:1', pullPolicy: 'Never' },
      storage: { size: '5Gi', mountPath: '/workspace', storageClass: 'fast' },
      network: { allowInternet: true, allowedDomains: ['pypi.org'] },
      runtimeClass: 'runsc',
    };
    const eff = mergeSandboxWithTemplate(
      sandbox({
        mode: 'agent',
        image: { repository: 's:2' },
        storage: { size: '20Gi' },
        network: { allowInternet: false },
      }),
      template,
      'base',
    );
    expect(eff.mode).toBe('agent');
    expect(eff.image).toBe('s:2');
    expect(eff.pullPolicy).toBe('Never'); // not given by the sandbox: the template's
    expect(eff.storage).toEqual({ size: '20Gi', mountPath: '/workspace', storageClass: 'fast' });
    expect(eff.network).toEqual({ allowInternet: false, allowedDomains: ['pypi.org'] });
    expect(eff.runtimeClass).toBe('runsc');
  });

  it('merges resources per field: overriding memory keeps the template CPU', () => {
    const template: TemplateSpec = {
      resources: { requests: { cpu: '500m', memory: '1Gi' }, limits: { cpu: '2', memory: '4Gi' }, pids: 512 },
    };
    const eff = mergeSandboxWithTemplate(
      sandbox({ resources: { limits: { memory: '8Gi' }, requests: { memory: '2Gi' } } }),
      template,
      'base',
    );
    expect(eff.resources).toEqual({
      cpu: '2',
      memory: '8Gi',
      pids: 512,
      requests: { cpu: '500m', memory: '2Gi' },
    });
    expect(
      mergeSandboxWithTemplate(sandbox({ resources: { pids: 100 } }), template, 'base').resources.pids,
    ).toBe(100);
  });

  it('merges env by name with the sandbox winning', () => {
    const eff = mergeSandboxWithTemplate(
      sandbox({ env: [{ name: 'B', value: 'sandbox' }] }),
      {
        env: [
          { name: 'A', value: 'tpl' },
          { name: 'B', value: 'tpl' },
        ],
      },
      'base',
    );
    expect(eff.env).toEqual([
      { name: 'A', value: 'tpl' },
      { name: 'B', value: 'sandbox' },
    ]);
  });

  it('applies template timeouts, lets the sandbox override them, and treats 0 as none', () => {
    const template: TemplateSpec = { timeout: '8h', idleTimeout: '30m' };
    expect(mergeSandboxWithTemplate(sandbox(), template, 'base')).toMatchObject({
      timeoutMs: 8 * 3_600_000,
      idleTimeoutMs: 30 * 60_000,
    });
    expect(
      mergeSandboxWithTemplate(sandbox({ timeout: '1h', idleTimeout: '90s' }), template, 'base'),
    ).toMatchObject({
      timeoutMs: 3_600_000,
      idleTimeoutMs: 90_000,
    });
    const off = mergeSandboxWithTemplate(sandbox({ timeout: '0s' }), template, 'base');
    expect(off.timeoutMs).toBeUndefined();
    expect(off.idleTimeoutMs).toBe(30 * 60_000);
  });

  it('takes the harness from the template only, and follows a custom mount path for the working dir', () => {
    const eff = mergeSandboxWithTemplate(
      sandbox({ storage: { mountPath: '/data' } }),
      {
        harness: {
          shell: '/bin/sh',
          hooks: { onStart: 'make setup' },
          agent: {
            entrypoint: ['python3', '/workspace/agent.py'],
            installCommand: [],
            maxConcurrentInvokes: 0,
            defaultInvokeTimeout: '30m',
          },
        },
      },
      'agent',
    );
    expect(eff.workingDir).toBe('/data');
    expect(eff.shell).toBe('/bin/sh');
    expect(eff.onStart).toBe('make setup');
    expect(eff.agent).toEqual({
      entrypoint: ['python3', '/workspace/agent.py'],
      maxConcurrentInvokes: 0,
      defaultInvokeTimeoutMs: 30 * 60_000,
    });
  });
});

describe('resolveEffectiveSandbox', () => {
  it('resolves, merges the chain and names the leaf template', async () => {
    const lookup = lookupOf([
      tpl('python', {
        inheritsFrom: { name: 'base' },
        image: { repository: 'py:1' },
        env: [{ name: 'LANG', value: 'C.UTF-8' }],
      }),
      tpl('base', {
        resources: { limits: { cpu: '1', memory: '1Gi' } },
        env: [{ name: 'TZ', value: 'UTC' }],
      }),
    ]);
    const { effective, chain } = await resolveEffectiveSandbox(
      sandbox({ templateRef: { name: 'python' } }),
      lookup,
    );
    expect(chain.map((t) => t.metadata.name)).toEqual(['base', 'python']);
    expect(effective).toMatchObject({
      templateName: 'python',
      image: 'py:1',
      resources: { cpu: '1', memory: '1Gi' },
      env: [
        { name: 'TZ', value: 'UTC' },
        { name: 'LANG', value: 'C.UTF-8' },
      ],
    });
  });

  it('resolves every built-in template', async () => {
    const lookup = lookupOf(BUILTIN_TEMPLATES);
    for (const t of BUILTIN_TEMPLATES) {
      const { effective } = await resolveEffectiveSandbox(
        sandbox({ templateRef: { name: t.metadata.name } }),
        lookup,
      );
      expect(effective.image).toBe(t.spec.image?.repository);
      expect(effective.mode).toBe(t.spec.mode);
    }
  });
});
