import type { InvokeRecord } from '@agenttier/contract';
import type { SandboxdClient } from '@agenttier/sandboxd';
import { InvokeRun } from '../agent/invoke-run.ts';
import { SqliteAgentRecords } from '../agent/sqlite-agent-records.ts';

/**
 * A detached invoke of the daemon's process `processId` in sandbox `sandbox`, recorded in its own
 * in-memory store (close it when done). Not started: call `run.start()`.
 */
export async function detachedInvoke(opts: {
  client: SandboxdClient;
  processId: string;
  invokeId: string;
  sandbox: string;
}): Promise<{ store: SqliteAgentRecords; record: InvokeRecord; run: InvokeRun }> {
  const store = new SqliteAgentRecords(':memory:');
  const record: InvokeRecord = {
    invokeId: opts.invokeId,
    namespace: 'default',
    sandbox: opts.sandbox,
    sandboxUid: 'u1',
    template: 't',
    state: 'running',
    detached: true,
    startedAt: new Date().toISOString(),
    bytesStdout: 0,
    bytesStderr: 0,
    eventCount: 0,
    outputTail: '',
  };
  await store.createInvoke(record);
  return {
    store,
    record,
    run: new InvokeRun({ record, client: opts.client, processId: opts.processId, store }),
  };
}
