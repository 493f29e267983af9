import { describe, expect, it } from 'vitest';
import { eventPayload, readSSE, type SSEEvent } from './sse.ts';

function streamOf(chunks: Uint8Array[]): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(controller) {
      for (const c of chunks) controller.enqueue(c);
      controller.close();
    },
  });
}

describe('readSSE', () => {
  it('decodes UTF-8 split across byte chunks', async () => {
    const bytes = new TextEncoder().encode('event: stdout\ndata: {"data":"日本"}\n\n');
    const chunks = [...bytes].map((b) => Uint8Array.of(b));
    const events: SSEEvent[] = [];
    for await (const ev of readSSE(streamOf(chunks))) events.push(ev);
    expect(events).toEqual([{ event: 'stdout', data: '{"data":"日本"}' }]);
  });

  it('stops when the signal aborts', async () => {
    let pull = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        pull++;
        controller.enqueue(new TextEncoder().encode(`data: ${pull}\n\n`));
      },
    });
    const ac = new AbortController();
    const seen: string[] = [];
    await expect(
      (async () => {
        for await (const ev of readSSE(body, { signal: ac.signal })) {
          seen.push(ev.data);
          if (seen.length === 3) ac.abort(new Error('enough'));
        }
      })(),
    ).rejects.toThrow('enough');
    expect(seen).toEqual(['1', '2', '3']);
  });
});

describe('eventPayload', () => {
  it('parses JSON objects and wraps everything else', () => {
    expect(eventPayload({ event: 'x', data: '{"a":1}' })).toEqual({ a: 1 });
    expect(eventPayload({ event: 'x', data: 'plain' })).toEqual({ data: 'plain' });
    expect(eventPayload({ event: 'x', data: '[1]' })).toEqual({ data: [1] });
  });
});
