import { describe, expect, it } from 'vitest';
import { SSEParser, eventPayload, readSSE, type SSEEvent } from './sse.ts';

function parseAll(chunks: string[]): SSEEvent[] {
  const parser = new SSEParser();
  const out: SSEEvent[] = [];
  for (const chunk of chunks) out.push(...parser.push(chunk));
  out.push(...parser.end());
  return out;
}

function streamOf(chunks: Uint8Array[]): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(controller) {
      for (const c of chunks) controller.enqueue(c);
      controller.close();
    },
  });
}

describe('SSEParser', () => {
  it('parses named events with JSON data', () => {
    expect(parseAll(['event: exit\ndata: {"exitCode":0}\n\n'])).toEqual([
      { event: 'exit', data: '{"exitCode":0}' },
    ]);
  });

  it('defaults the event name to message', () => {
    expect(parseAll(['data: hi\n\n'])).toEqual([{ event: 'message', data: 'hi' }]);
  });

  it('accepts CRLF and bare CR line endings', () => {
    const expected = [
      { event: 'a', data: '1' },
      { event: 'b', data: '2' },
    ];
    expect(parseAll(['event: a\r\ndata: 1\r\n\r\nevent: b\r\ndata: 2\r\n\r\n'])).toEqual(expected);
    expect(parseAll(['event: a\rdata: 1\r\revent: b\rdata: 2\r\r'])).toEqual(expected);
  });

  it('does not see an extra blank line when CRLF is split across chunks', () => {
    expect(parseAll(['event: a\r', '\ndata: 1\r', '\n\r', '\n'])).toEqual([{ event: 'a', data: '1' }]);
  });

  it('ignores comments such as keepalives', () => {
    expect(parseAll([': keepalive\n\n', 'event: x\n: mid-event comment\ndata: 1\n\n'])).toEqual([
      { event: 'x', data: '1' },
    ]);
  });

  it('joins multi-line data with newlines and strips only one leading space', () => {
    expect(parseAll(['data: line one\ndata:line two\ndata:  indented\n\n'])).toEqual([
      { event: 'message', data: 'line one\nline two\n indented' },
    ]);
  });

  it('handles events split at every possible chunk boundary', () => {
    const text =
      'event: stdout\ndata: {"data":"héllo"}\n\n: ping\n\nevent: exit\r\ndata: {"exitCode":3}\r\n\r\n';
    const whole = parseAll([text]);
    expect(whole).toHaveLength(2);
    for (let i = 1; i < text.length; i++) {
      expect(parseAll([text.slice(0, i), text.slice(i)])).toEqual(whole);
    }
    expect(parseAll([...text])).toEqual(whole);
  });

  it('drops events without data and unterminated trailing events', () => {
    expect(parseAll(['event: nothing\n\n', 'data: done\n\n', 'event: cut\ndata: {"par'])).toEqual([
      { event: 'message', data: 'done' },
    ]);
  });

  it('keeps id and retry fields and ignores unknown fields', () => {
    expect(parseAll(['id: 7\nretry: 1500\nfoo: bar\ndata\n\n'])).toEqual([
      { event: 'message', data: '', id: '7', retry: 1500 },
    ]);
  });

  it('resets the event name between events', () => {
    expect(parseAll(['event: a\ndata: 1\n\ndata: 2\n\n'])).toEqual([
      { event: 'a', data: '1' },
      { event: 'message', data: '2' },
    ]);
  });
});

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
