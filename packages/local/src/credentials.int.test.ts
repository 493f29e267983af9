/**
 * Sandbox `credentials` on the real engine: a user's secret reaches that user's sandbox as environment
 * variables and as read-only files on a tmpfs, never another user's sandbox, and its value shows up in
 * no API answer, audit event, container label or workspace (docs/security.md, "Credentials").
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDockerClient } from '@agenttier/platform-local';
import { generateApiKey, hashApiKey, newKeyId } from '@agenttier/server';
import { eventually } from '@agenttier/testkit';
import type { TestPlatform } from './testing/platform.ts';
import { dockerHost, startTestPlatform, stopTestPlatform, testNamespace } from './testing/platform.ts';

/* eslint-disable @typescript-eslint/no-explicit-any -- terse assertions on JSON answers */

const ns = testNamespace('creds');
const VALUE = `ghp_${randomBytes(16).toString('hex')}`;
const PEM = `-----BEGIN KEY-----\n${randomBytes(24).toString('base64')}\n-----END KEY-----\n`;
let platform: TestPlatform;
let alice: string;
let bob: string;
let admin: string;
const answers: string[] = [];

async function call(key: string, method: string, path: string, body?: unknown) {
  const res = await fetch(`${platform.url}${path}`, {
    method,
    headers: { 'x-api-key': key, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  // Exec answers print the values on purpose; every other answer must not carry them.
  if (!path.includes('/exec')) answers.push(text);
  return { status: res.status, text, json: text ? (JSON.parse(text) as any) : undefined };
}

async function issue(id: string, isAdmin = false): Promise<string> {
  const key = generateApiKey();
  await platform.apiKeys.insert({
    id: newKeyId(),
    name: id,
    hash: hashApiKey(key),
    owner: { id, groups: [], isAdmin },
    createdAt: new Date().toISOString(),
  });
  return key;
}

async function sandbox(key: string, name: string) {
  return (await call(key, 'GET', `/api/v1/sandboxes/${name}?namespace=${ns}`)).json;
}

async function exec(key: string, name: string, command: string) {
  const r = await call(key, 'POST', `/api/v1/sandboxes/${name}/exec?namespace=${ns}`, { command });
  expect(r.status, r.text).toBe(200);
  return r.json as { stdout: string; stderr: string; exitCode: number };
}

beforeAll(async () => {
  platform = await startTestPlatform({ devAuth: false });
  alice = await issue('alice');
  bob = await issue('bob');
  admin = await issue('root', true);
}, 120_000);

afterAll(async () => {
  await stopTestPlatform(platform, { namespace: ns });
});

describe('credentials on the local platform', () => {
  it("hands a user's secret to that user's sandbox as env and 0400 files on a read-only tmpfs", async () => {
    expect(
      (await call(alice, 'PUT', `/api/v1/secrets/gh?namespace=${ns}`, { stringData: { TOKEN: VALUE } }))
        .status,
    ).toBe(201);
    expect(
      (
        await call(alice, 'PUT', `/api/v1/secrets/ssh?namespace=${ns}`, {
          stringData: { 'id.pem': PEM },
          data: { bin: Buffer.from([0, 1, 2, 255]).toString('base64') },
        })
      ).status,
    ).toBe(201);
    const created = await call(alice, 'POST', '/api/v1/sandboxes', {
      name: 'box',
      namespace: ns,
      template: 'general-coding',
      credentials: [
        { secretName: 'gh', envPrefix: 'GH_' },
        { secretName: 'ssh', mountAs: 'file', mountPath: '/credentials/ssh' },
      ],
    });
    expect(created.status, created.text).toBe(201);
    await eventually(async () => (await sandbox(alice, 'box')).status === 'Running', 'box Running', 90_000);

    expect((await exec(alice, 'box', 'printenv GH_TOKEN')).stdout).toBe(`${VALUE}\n`);
    expect((await exec(alice, 'box', 'cat /credentials/ssh/id.pem')).stdout).toBe(PEM);
    expect((await exec(alice, 'box', 'od -An -tu1 /credentials/ssh/bin')).stdout.trim().split(/\s+/)).toEqual(
      ['0', '1', '2', '255'],
    );
    const stat = await exec(alice, 'box', 'stat -c "%a %u:%g %n" /credentials/ssh /credentials/ssh/id.pem');
    expect(stat.stdout).toBe('555 0:0 /credentials/ssh\n400 1000:1000 /credentials/ssh/id.pem\n');
    // In memory, and the sandbox can neither add, swap nor link anything there.
    expect((await exec(alice, 'box', 'grep " /credentials/ssh " /proc/mounts')).stdout).toMatch(
      /^\S+ \/credentials\/ssh tmpfs /,
    );
    for (const attack of [
      'touch /credentials/ssh/planted',
      'ln -s /workspace /credentials/ssh/link',
      'mv /credentials/ssh/id.pem /credentials/ssh/x',
      'rm -f /credentials/ssh/id.pem',
    ]) {
      expect((await exec(alice, 'box', attack)).exitCode, attack).not.toBe(0);
    }
    // Nothing of it in the workspace the sandbox keeps.
    expect((await exec(alice, 'box', `grep -rl ${VALUE} /workspace /tmp; echo done`)).stdout).toBe('done\n');

    // The engine holds env values (its trust domain, docs/security.md), never in labels; files are not in its config.
    const docker = createDockerClient(dockerHost);
    const [c] = await docker.listContainers({
      filters: { label: [`agenttier.io/namespace=${ns}`, 'agenttier.io/sandbox=box'] },
    });
    const info = await docker.getContainer(c!.Id).inspect();
    expect(JSON.stringify(info.Config.Labels)).not.toContain(VALUE);
    expect(JSON.stringify(info)).not.toContain(PEM.split('\n')[1]!);
    const mount = info.Mounts.find((m) => m.Destination === '/credentials/ssh');
    expect(mount?.Type).toBe('volume');
    const volume = await docker.getVolume(mount!.Name!).inspect();
    expect(volume.Options).toMatchObject({ type: 'tmpfs' });
  }, 150_000);

  it("refuses another user's sandbox that references the secret, and shows no value anywhere", async () => {
    const theft = await call(bob, 'POST', '/api/v1/sandboxes', {
      name: 'bob-box',
      namespace: ns,
      template: 'general-coding',
      credentials: [{ secretName: 'gh' }],
    });
    expect([theft.status, theft.json.code]).toEqual([422, 'UNPROCESSABLE']);
    expect((await call(bob, 'GET', `/api/v1/secrets/gh?namespace=${ns}`)).status).toBe(404);
    expect((await call(admin, 'GET', `/api/v1/secrets?namespace=${ns}`)).json.items).toEqual([]);
    await call(alice, 'GET', `/api/v1/secrets?namespace=${ns}`);
    await call(alice, 'GET', `/api/v1/sandboxes?namespace=${ns}`);
    await call(admin, 'GET', '/api/v1/audit/events?limit=500');
    for (const a of answers) {
      expect(a).not.toContain(VALUE);
      expect(a).not.toContain(PEM.split('\n')[1]!);
    }
  });

  it("gives a sandbox only its creator's secret even when the router's create check is bypassed", async () => {
    // Straight into the store, as if the create check were gone: the runtime looks the secret up under
    // the sandbox's creator (bob), so Alice's "gh" is not found and nothing starts.
    await platform.store.create({
      apiVersion: 'agenttier.io/v1alpha1',
      kind: 'Sandbox',
      metadata: { name: 'sneaky', namespace: ns },
      spec: {
        templateRef: { name: 'general-coding', kind: 'ClusterSandboxTemplate' },
        desiredState: 'Running',
        createdBy: { sub: 'bob' },
        credentials: [{ secretName: 'gh', envPrefix: 'GH_' }],
      },
    });
    platform.controller.enqueue(ns, 'sneaky');
    const failed = await eventually(
      async () => {
        const sb = await sandbox(admin, 'sneaky');
        return sb?.status === 'Error' && sb;
      },
      'sneaky in Error',
      60_000,
    );
    expect(failed.message).toContain(`secret "gh" is not one of the sandbox owner's secrets`);
    const docker = createDockerClient(dockerHost);
    const containers = await docker.listContainers({
      all: true,
      filters: { label: [`agenttier.io/namespace=${ns}`, 'agenttier.io/sandbox=sneaky'] },
    });
    expect(containers).toEqual([]);
  }, 90_000);

  it("shows a viewer no part of a secret the engine refuses (a NUL byte in an env value), in the sandbox's message or its events", async () => {
    // runc refuses such a variable and quotes the whole NAME=value in its error; the message and the
    // events feed are readable by viewers, who may not read env, let alone a secret.
    const [head, tail] = [randomBytes(12).toString('hex'), randomBytes(12).toString('hex')];
    const put = await call(alice, 'PUT', `/api/v1/secrets/nul?namespace=${ns}`, {
      data: { TOKEN: Buffer.from(`${head}\0${tail}`).toString('base64') },
    });
    expect(put.status, put.text).toBe(201);
    const created = await call(alice, 'POST', '/api/v1/sandboxes', {
      name: 'nul-box',
      namespace: ns,
      template: 'general-coding',
      credentials: [{ secretName: 'nul', envPrefix: 'NUL_' }],
    });
    expect(created.status, created.text).toBe(201);
    const shared = await call(alice, 'PUT', `/api/v1/sandboxes/nul-box/shares/bob?namespace=${ns}`, {
      role: 'viewer',
    });
    expect(shared.status, shared.text).toBe(200);
    const seen = await eventually(
      async () => {
        const sb = await sandbox(bob, 'nul-box');
        // Retried with back-off ("Retrying after an error: …") or refused for good (Error).
        return (sb.status === 'Error' || /error/i.test(sb.message)) && sb;
      },
      'nul-box failed',
      90_000,
    );
    const events = await call(bob, 'GET', `/api/v1/sandboxes/nul-box/events?namespace=${ns}`);
    expect(events.status, events.text).toBe(200);
    for (const text of [JSON.stringify(seen), events.text]) {
      expect(text).not.toContain(head);
      expect(text).not.toContain(tail);
    }
    expect(seen.status).toBe('Error');
    expect(seen.message).toContain('NUL_TOKEN');
  }, 120_000);

  it('refuses a template with serviceAccount annotations at start, saying only Kubernetes honours them', async () => {
    const tpl = await call(admin, 'PUT', '/api/v1/templates/irsa-local', {
      spec: { serviceAccount: { annotations: { 'eks.amazonaws.com/role-arn': 'arn:aws:iam::1:role/x' } } },
    });
    expect(tpl.status, tpl.text).toBe(201);
    const created = await call(alice, 'POST', '/api/v1/sandboxes', {
      name: 'irsa',
      namespace: ns,
      template: 'irsa-local',
    });
    expect(created.status, created.text).toBe(201);
    const failed = await eventually(
      async () => {
        const sb = await sandbox(alice, 'irsa');
        return sb.status === 'Error' && sb;
      },
      'irsa in Error',
      60_000,
    );
    expect(failed.message).toContain('only Kubernetes honours');
  }, 90_000);

  it('puts a sandbox whose secret was deleted into Error with a message naming the secret', async () => {
    await call(alice, 'PUT', `/api/v1/secrets/temp?namespace=${ns}`, { stringData: { A: 'x' } });
    const created = await call(alice, 'POST', '/api/v1/sandboxes', {
      name: 'gone',
      namespace: ns,
      template: 'general-coding',
      credentials: [{ secretName: 'temp', mountAs: 'file', mountPath: '/credentials/temp' }],
    });
    expect(created.status, created.text).toBe(201);
    await eventually(async () => (await sandbox(alice, 'gone')).status === 'Running', 'gone Running', 90_000);
    expect((await call(alice, 'POST', `/api/v1/sandboxes/gone/stop?namespace=${ns}`)).status).toBe(200);
    await eventually(async () => (await sandbox(alice, 'gone')).status === 'Stopped', 'gone Stopped', 60_000);
    expect((await call(alice, 'DELETE', `/api/v1/secrets/temp?namespace=${ns}`)).status).toBe(204);
    expect((await call(alice, 'POST', `/api/v1/sandboxes/gone/resume?namespace=${ns}`)).status).toBe(200);
    const failed = await eventually(
      async () => {
        const sb = await sandbox(alice, 'gone');
        return sb.status === 'Error' && sb;
      },
      'gone in Error',
      60_000,
    );
    expect(failed.message).toContain('secret "temp"');
  }, 150_000);
});
