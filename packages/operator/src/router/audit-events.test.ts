/**
 * Audited calls on a sandbox become core/v1 Events on it, through the router on the fake API server:
 * who did what, refused or not; unauthenticated refusals and namespaces outside the router's are not
 * mirrored; writes in flight are bounded.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import type { AuditEvent, AuditLog, Logger } from '@agenttier/core';
import { generateApiKey } from '@agenttier/server';
import type { FakeKubeApiServer } from '@agenttier/testkit/kube';
import type { ControllerProcess } from '../controller/start-controller.ts';
import { startClusterWithController, startFakeCluster, startTestRouter } from '../testing/index.ts';
import { eventually } from '@agenttier/testkit';
import type { RouterProcess } from './start-router.ts';
import { mirrorAuditToEvents } from './audit-events.ts';

const quiet = pino({ level: 'silent' });
const dataDir = mkdtempSync(join(tmpdir(), 'agenttier-audit-events-'));
const adminKey = generateApiKey();

describe('audit events mirrored as Kubernetes Events', () => {
  let fake: FakeKubeApiServer;
  let controller: ControllerProcess;
  let router: RouterProcess;
  let core: CoreV1Api;

  beforeAll(async () => {
    ({ fake, controller } = await startClusterWithController());
    core = fake.kubeConfig.makeApiClient(CoreV1Api);
    router = await startTestRouter(fake, {
      dataDir,
      adminKey,
    });
  });
  afterAll(async () => {
    await router?.close();
    await controller?.close();
    await fake?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const call = (method: string, path: string, key: string, body?: unknown) =>
    fetch(`${router.url}${path}`, {
      method,
      headers: { 'x-api-key': key, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });

  const auditEventsOf = async (name: string) =>
    (await core.listNamespacedEvent({ namespace: 'default' })).items.filter(
      (e) => e.involvedObject.name === name && e.reason?.startsWith('Audit'),
    );

  it('a refused stop and a stop show on the sandbox; a guessed key leaves none', async () => {
    const made = await call('POST', '/api/v1/user/api-keys', adminKey, { name: 'u', user: { id: 'ursula' } });
    const userKey = ((await made.json()) as { key: string }).key;
    const mallory = (
      (await (
        await call('POST', '/api/v1/user/api-keys', adminKey, { name: 'm', user: { id: 'mallory' } })
      ).json()) as { key: string }
    ).key;
    expect(
      (await call('POST', '/api/v1/sandboxes', userKey, { name: 'ev', template: 'general-coding' })).status,
    ).toBe(201);
    expect((await call('POST', '/api/v1/sandboxes/ev/stop', mallory)).status).toBe(404);
    expect((await call('POST', '/api/v1/sandboxes/ev/stop', generateApiKey())).status).toBe(401);
    expect((await call('POST', '/api/v1/sandboxes/ev/stop', userKey)).status).toBe(200);
    await eventually(async () => (await auditEventsOf('ev')).length >= 2, 'two audit Events on ev');
    const events = await auditEventsOf('ev');
    const lines = events.map((e) => [e.reason, e.type, e.message?.split(' (key')[0]]);
    expect(lines).toContainEqual(['Audit', 'Normal', 'ursula POST /api/v1/sandboxes/:id/stop → 200']);
    expect(lines).toContainEqual([
      'AuditRefused',
      'Warning',
      'mallory POST /api/v1/sandboxes/:id/stop → 404',
    ]);
    // The create has no :id in its route; its target is not a sandbox yet: only calls on one are mirrored.
    expect(events).toHaveLength(2);
    expect(
      events.every((e) => e.involvedObject.kind === 'Sandbox' && e.source?.component === 'agenttier-router'),
    ).toBe(true);
    expect(JSON.stringify(events)).not.toContain(userKey.slice(4));
  });
});

describe('the mirror', () => {
  it('skips other namespaces and unauthenticated events, and drops past its in-flight bound', async () => {
    const fake = await startFakeCluster();
    try {
      const recorded: Array<Omit<AuditEvent, 'id'>> = [];
      const inner: AuditLog = {
        record: async (e) => void recorded.push(e),
        query: async () => [],
      };
      const logger = quiet as unknown as Logger;
      const mirror = mirrorAuditToEvents(inner, fake.kubeConfig, {
        namespaces: ['default'],
        component: 'test',
        logger,
        maxInFlight: 2,
      });
      const e = (target: string, actor?: string): Omit<AuditEvent, 'id'> => ({
        at: new Date().toISOString(),
        ...(actor ? { actor } : {}),
        action: 'POST /api/v1/sandboxes/:id/exec',
        target,
        status: 200,
        requestId: 'r',
        source: '127.0.0.1',
      });
      await mirror.record(e('sandbox:kube-system/x', 'a'));
      await mirror.record(e('sandbox:default/x'));
      await mirror.record(e('apikey:key_0123456789abcdef', 'a'));
      for (let i = 0; i < 5; i++) await mirror.record(e('sandbox:default/x', 'a'));
      await mirror.flush();
      expect(recorded).toHaveLength(8); // the trail keeps everything
      expect(mirror.dropped).toBe(3);
      const core = fake.kubeConfig.makeApiClient(CoreV1Api);
      expect((await core.listNamespacedEvent({ namespace: 'default' })).items).toHaveLength(2);
      expect((await core.listNamespacedEvent({ namespace: 'kube-system' })).items).toHaveLength(0);
    } finally {
      await fake.close();
    }
  });
});
