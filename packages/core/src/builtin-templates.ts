import type { SandboxTemplate, TemplateSpec } from '@agenttier/contract';
import { API_VERSION } from '@agenttier/contract';

/** Image tag suffix of the images built from `images/` (scripts/images.sh). */
export const IMAGE_TAG = 'dev';

function template(name: string, spec: TemplateSpec): SandboxTemplate {
  return {
    apiVersion: API_VERSION,
    kind: 'ClusterSandboxTemplate',
    metadata: { name, labels: { 'agenttier.io/builtin': 'true' } },
    spec,
  };
}

/** Templates every install starts with; users may edit or delete them, startup only adds missing ones. */
export const BUILTIN_TEMPLATES: SandboxTemplate[] = [
  template('minimal-shell', {
    description: 'A small Debian shell: bash, coreutils and vim. Starts fastest.',
    mode: 'code',
    image: { repository: `agenttier/minimal-shell:${IMAGE_TAG}`, pullPolicy: 'Never' },
    resources: { limits: { cpu: '1', memory: '1Gi' }, pids: 512 },
    storage: { size: '5Gi', mountPath: '/workspace' },
    harness: { shell: '/bin/bash', workingDir: '/workspace' },
  }),
  template('general-coding', {
    description: 'General coding: Python 3, Node.js, git and build tools.',
    mode: 'code',
    image: { repository: `agenttier/general-coding:${IMAGE_TAG}`, pullPolicy: 'Never' },
    resources: { requests: { cpu: '500m', memory: '1Gi' }, limits: { cpu: '2', memory: '4Gi' }, pids: 1024 },
    storage: { size: '10Gi', mountPath: '/workspace' },
    idleTimeout: '4h',
    harness: {
      shell: '/bin/bash',
      workingDir: '/workspace',
      tools: [{ name: 'python3' }, { name: 'node' }, { name: 'git' }],
    },
  }),
  template('langgraph-agent', {
    description: 'Agent mode with Python 3: configure an entrypoint once, invoke it on demand.',
    mode: 'agent',
    image: { repository: `agenttier/langgraph-agent:${IMAGE_TAG}`, pullPolicy: 'Never' },
    resources: { requests: { cpu: '500m', memory: '1Gi' }, limits: { cpu: '2', memory: '4Gi' }, pids: 1024 },
    storage: { size: '10Gi', mountPath: '/workspace' },
    idleTimeout: '4h',
    harness: {
      shell: '/bin/bash',
      workingDir: '/workspace',
      agent: {
        entrypoint: ['python3', '/workspace/agent.py'],
        defaultInvokeTimeout: '30m',
        maxConcurrentInvokes: 0,
      },
    },
  }),
];
