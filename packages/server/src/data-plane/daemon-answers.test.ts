/**
 * What the routes answer from a real sandboxd (the bundled daemon on the host, on a temp unix socket)
 * parses with the response schemas of the OpenAPI document: files, processes, exec, usage, ports and
 * the install log. The same schemas refuse a hostile daemon's answers (daemon-answers.attack.test.ts),
 * so these cases also prove that an honest daemon is never refused.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  execResponseSchema,
  fileEntrySchema,
  fileListSchema,
  fileWriteResultSchema,
  installLogSchema,
  portListSchema,
  processInfoSchema,
  processListSchema,
  sandboxUsageSchema,
} from '@agenttier/contract';
import type { LocalSandboxd } from '@agenttier/sandboxd';
import { startLocalSandboxd } from '@agenttier/sandboxd';
import { SqliteAgentRecords } from '../agent/sqlite-agent-records.ts';
import type { DaemonApp } from '../testing/daemon-app.ts';
import { startDaemonApp } from '../testing/daemon-app.ts';

let sd: LocalSandboxd;
let t: DaemonApp;
const records = new SqliteAgentRecords(':memory:');

beforeAll(async () => {
  sd = await startLocalSandboxd();
  t = await startDaemonApp(sd.client, { agentRecords: records });
}, 300_000);
afterAll(async () => {
  await t?.close();
  await sd?.stop();
  records.close();
});

async function ok(r: Promise<{ statusCode: number; body: string; json(): unknown }>, status = 200) {
  const res = await r;
  expect(res.statusCode, res.body).toBe(status);
  return res.json();
}

describe("a real sandboxd's answers, as the routes pass them on", () => {
  it('files: write, list, stat, mkdir and rename', async () => {
    // The router's roots are the workspace and /tmp; the daemon's temp root sits under /tmp.
    const file = `${sd.tmp}/notes.txt`;
    const written = fileWriteResultSchema.parse(
      await ok(t.call('PUT', `/files${file}`, Buffer.from('hello')), 201),
    );
    expect(written).toEqual({ path: file, bytes: 5 });
    const listing = fileListSchema.parse(await ok(t.call('GET', `/files/?path=${sd.tmp}`)));
    expect(listing.entries.map((e) => e.name)).toContain('notes.txt');
    const stat = fileEntrySchema.parse(await ok(t.call('GET', `/fs/stat?path=${file}`)));
    expect(stat).toMatchObject({ name: 'notes.txt', size: 5, isDir: false });
    fileEntrySchema.parse(await ok(t.call('POST', '/fs/mkdir', { path: `${sd.tmp}/dir` }), 201));
    const moved = fileEntrySchema.parse(
      await ok(t.call('POST', '/fs/rename', { from: file, to: `${sd.tmp}/dir/moved.txt` })),
    );
    expect(moved.path).toBe(`${sd.tmp}/dir/moved.txt`);
  });

  it('exec and background processes', async () => {
    const exec = execResponseSchema.parse(await ok(t.call('POST', '/exec', { command: 'echo hi; exit 3' })));
    expect(exec).toMatchObject({ stdout: 'hi\n', exitCode: 3 });
    const started = processInfoSchema.parse(
      await ok(t.call('POST', '/processes', { command: ['sleep', '60'], name: 'sleeper' }), 201),
    );
    expect(started).toMatchObject({ name: 'sleeper', state: 'running' });
    const list = processListSchema.parse(await ok(t.call('GET', '/processes')));
    expect(list.processes.map((p) => p.id)).toContain(started.id);
    processInfoSchema.parse(await ok(t.call('GET', `/processes/${started.id}`)));
    processInfoSchema.parse(
      await ok(t.call('POST', `/processes/${started.id}/signal`, { signal: 'SIGCONT' })),
    );
    const killed = processInfoSchema.parse(await ok(t.call('DELETE', `/processes/${started.id}`)));
    expect(killed.id).toBe(started.id);
  });

  it('usage, ports and the install log', async () => {
    sandboxUsageSchema.parse(await ok(t.call('GET', '/usage')));
    await ok(t.call('POST', '/ports', { port: 8000 }), 201);
    const ports = portListSchema.parse(await ok(t.call('GET', '/ports')));
    expect(ports.ports[0]).toMatchObject({ port: 8000, listening: false });
    await records.putInstallLog('default', 'box', 'installed\n');
    expect(installLogSchema.parse(await ok(t.call('GET', '/configure/install-log')))).toEqual({
      log: 'installed\n',
    });
  });
});
