import { describe, expect, it } from 'vitest';
import { SSEParser, formatSSE, formatSSEComment, type SSEEvent } from './sse.ts';

function parseAll(chunks: string[], parser = new SSEParser()): SSEEvent[] {
  const out: SSEEvent[] = [];
  for (const chunk of chunks) out.push(...parser.push(chunk));
  out.push(...parser.end());
  return out;
}

/** Every way of cutting `text` in two, and one character at a time. */
function everySplit(text: string): string[][] {
  const cuts: string[][] = [[text], [...text]];
  for (let i = 1; i < text.length; i++) cuts.push([text.slice(0, i), text.slice(i)]);
  return cuts;
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

describe('formatSSE', () => {
  it('writes what the parser reads back, whatever the chunk boundaries', () => {
    const wire =
      formatSSE('start', { processId: 'p1' }) +
      formatSSEComment('keepalive') +
      formatSSE('stdout', { data: 'a\nb', offset: 0 }, 3) +
      formatSSE('note', 'two\nlines\r\nand\rthree') +
      formatSSE('exit', { exitCode: 0 }, 'inv-1');
    const expected: SSEEvent[] = [
      { event: 'start', data: '{"processId":"p1"}' },
      { event: 'stdout', data: '{"data":"a\\nb","offset":0}', id: '3' },
      { event: 'note', data: 'two\nlines\nand\nthree', id: '3' },
      { event: 'exit', data: '{"exitCode":0}', id: 'inv-1' },
    ];
    for (const chunks of everySplit(wire)) expect(parseAll(chunks)).toEqual(expected);
  });

  it('keeps a comment on its line', () => {
    expect(formatSSEComment('a\nevent: forged')).toBe(': a event: forged\n\n');
    expect(parseAll([formatSSEComment('a\ndata: forged'), formatSSE('x', 1)])).toEqual([
      { event: 'x', data: '1' },
    ]);
  });
});

describe('SSEParser limits', () => {
  it('throws on an event past maxEventChars (one long line or many short ones), not before', () => {
    const parser = new SSEParser({ maxEventChars: 16 });
    expect(parser.push('data: 0123456789')).toEqual([]);
    expect(parser.push('\n\n')).toEqual([{ event: 'message', data: '0123456789' }]);
    expect(() => parser.push('data: ' + 'x'.repeat(20))).toThrow(/over 16 characters/);
    const lines = new SSEParser({ maxEventChars: 16 });
    expect(() => {
      for (let i = 0; i < 10; i++) lines.push('data: 12\n');
    }).toThrow(/over 16 characters/);
  });
});
