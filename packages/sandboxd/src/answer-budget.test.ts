import { createServer, get } from 'node:http';
import type { IncomingMessage, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AnswerBudget } from './answer-budget.ts';
import { readCapped } from './client-body.ts';
import { SandboxdError } from './errors.ts';

const MiB = 1024 * 1024;
let server: Server;
let base: string;
let release: () => void = () => {};
let gate = new Promise<void>((r) => (release = r));

beforeAll(async () => {
  // A daemon's answer of ?mib= MiB: all but half a MiB at once, the rest once the test opens the
  // gate, so two answers are provably in flight together.
  server = createServer((req, res) => {
    const mib = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('mib'));
    res.write(Buffer.alloc(mib * MiB - MiB / 2, 'a'));
    void gate.then(() => res.end(Buffer.alloc(MiB / 2, 'a')));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

const answer = (mib: number) =>
  new Promise<IncomingMessage>((resolve, reject) => get(`${base}/?mib=${mib}`, resolve).on('error', reject));

describe('the router-wide answer budget', () => {
  it('refuses a second large answer while another holds the budget, and frees it after', async () => {
    const budget = new AnswerBudget(4 * MiB);
    gate = new Promise<void>((r) => (release = r));
    // As the client's call() does: the lease is released once the read ends, however it ends.
    const read = async (mib: number) => {
      const lease = budget.lease('exec');
      try {
        return await readCapped(await answer(mib), 16 * MiB, 'exec', lease);
      } finally {
        lease.release();
      }
    };
    const a = read(3);
    const b = read(3);
    // Whichever reads past 4 MiB while the other holds bytes is refused; open the gate once one is.
    const settled = (p: Promise<Buffer>) =>
      p.then(
        () => 'read',
        (err: unknown) => String(err),
      );
    const firstOutcome = await Promise.race([settled(a), settled(b)]);
    release();
    const results = await Promise.allSettled([a, b]);
    const refused = results.filter((r) => r.status === 'rejected');
    expect(refused, `first outcome: ${firstOutcome}`).toHaveLength(1);
    const err = (refused[0] as PromiseRejectedResult).reason;
    expect(err).toBeInstanceOf(SandboxdError);
    expect((err as SandboxdError).code).toBe('resource_exhausted');
    expect((err as SandboxdError).message).toMatch(/budget 4 MiB/);
    expect(budget.usedBytes).toBe(0);
  });

  it('always lets one answer through, even one larger than the budget', async () => {
    const budget = new AnswerBudget(1 * MiB);
    gate = Promise.resolve();
    const lease = budget.lease('exec');
    const body = await readCapped(await answer(4), 16 * MiB, 'exec', lease);
    expect(body).toHaveLength(4 * MiB);
    expect(budget.usedBytes).toBe(4 * MiB);
    lease.release();
    lease.release();
    expect(budget.usedBytes).toBe(0);
  });
});
