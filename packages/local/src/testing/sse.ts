import { SSEParser } from '@agenttier/contract/sse';

/** An SSE record as tests read it: the event's JSON data parsed. */
export interface SseRecord {
  id?: string;
  event: string;
  data: any; // eslint-disable-line @typescript-eslint/no-explicit-any -- test assertions read arbitrary JSON
}

/** Yields the events of a fetch response as they arrive (the one parser, from contract). */
export async function* readSse(res: Response): AsyncGenerator<SseRecord> {
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  const parser = new SSEParser();
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      for (const ev of parser.push(value)) {
        yield { event: ev.event, data: JSON.parse(ev.data), ...(ev.id !== undefined ? { id: ev.id } : {}) };
      }
    }
  } finally {
    reader.cancel().catch(() => {});
  }
}

export async function collectSse(res: Response): Promise<SseRecord[]> {
  const out: SseRecord[] = [];
  for await (const r of readSse(res)) out.push(r);
  return out;
}
