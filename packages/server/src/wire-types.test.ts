import { describe, expectTypeOf, it } from 'vitest';
import type { InvokeRecord, ProcessInfo } from '@agenttier/contract';
import type { InvokeRecord as StoredInvokeRecord } from '@agenttier/core';
import type { ProcessInfo as DaemonProcessInfo } from '@agenttier/sandboxd';

// Type-level (checked by tsc): what the router relays and stores is the one wire type in contract, which
// the SDK re-exports to its users.
describe('wire types declared once in contract', () => {
  it("relays sandboxd's process info as contract's ProcessInfo", () => {
    expectTypeOf<DaemonProcessInfo>().toMatchTypeOf<ProcessInfo>();
  });

  it('stores and serves one InvokeRecord', () => {
    expectTypeOf<StoredInvokeRecord>().toEqualTypeOf<InvokeRecord>();
  });
});
