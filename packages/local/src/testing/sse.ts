/** A minimal SSE reader for tests: collects `{id, event, data}` records from a fetch response. */
export interface SseRecord {
  id?: string;
  event: string;
  data: any; // eslint-disable-line @typescript-eslint/no-explicit-any -- test assertions read arbitrary JSON
}

export async function* readSse(res: Response): AsyncGenerator<SseRecord | { comment: string }> {
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let buf = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buf += decoder.decode(value, { stream: true });
    let idx: number;
    while ((idx = buf.indexOf('\n\n')) >= 0) {
      const block = buf.slice(0, idx);
      buf = buf.slice(idx + 2);
      if (block.startsWith(':')) {
        yield { comment: block.slice(1).trim() };
        continue;
      }
      const rec: Partial<SseRecord> = { event: 'message' };
      for (const line of block.split('\n')) {
        const [k, ...rest] = line.split(':');
        const v = rest.join(':').replace(/^ /, '');
        if (k === 'event') rec.event = v;
        else if (k === 'data') rec.data = JSON.parse(v);
        else if (k === 'id') rec.id = v;
      }
      yield rec as SseRecord;
    }
  }
}

export async function collectSse(res: Response): Promise<SseRecord[]> {
  const out: SseRecord[] = [];
  for await (const r of readSse(res)) if ('event' in r) out.push(r);
  return out;
}
