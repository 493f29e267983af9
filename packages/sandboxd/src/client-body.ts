/**
 * Reading what sandboxd sends back. The daemon runs inside the sandbox, so everything it answers is
 * input from the attacker: every body is read with a hard byte cap and never buffered past it, and a
 * daemon that sends more than it may ends the call with a clear error instead of growing the router.
 */
import type { IncomingMessage } from 'node:http';
import { Transform } from 'node:stream';
import type { Readable } from 'node:stream';

import type { AnswerLease } from './answer-budget.ts';
import { SandboxdError } from './errors.ts';
import { EXEC_TRUNCATION_MARKER } from './protocol.ts';

/** An error answer is a small JSON object; the first bytes are enough to report it. */
export const ERROR_BODY_MAX_BYTES = 64 * 1024;

/** Any JSON answer other than exec's (listings, process tables, stat, info). */
export const JSON_ANSWER_MAX_BYTES = 16 * 1024 * 1024;

/** sandboxd's own default per-stream cap for unary exec output, when the request names none. */
export const DEFAULT_EXEC_OUTPUT_BYTES = 8 * 1024 * 1024;

/**
 * The largest exec answer a well-behaved daemon can send for a per-stream cap: two streams, each byte
 * escaped at worst as `\u00XX` (6 bytes) in JSON, plus the fixed fields.
 */
export function execAnswerMaxBytes(maxOutputBytes: number | undefined): number {
  return 2 * 6 * (maxOutputBytes ?? DEFAULT_EXEC_OUTPUT_BYTES) + 64 * 1024;
}

export function tooLarge(what: string, maxBytes: number): SandboxdError {
  return new SandboxdError('too_large', `sandboxd's answer to ${what} is over ${maxBytes} bytes`, {
    details: { maxBytes },
  });
}

/**
 * Reads a whole response of at most `maxBytes`. A longer one (by its Content-Length or by what
 * arrives) is destroyed as soon as that is known and rejects with `too_large`.
 */
export async function readCapped(
  res: IncomingMessage,
  maxBytes: number,
  what: string,
  lease?: AnswerLease,
): Promise<Buffer> {
  const declared = Number(res.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) {
    res.destroy();
    throw tooLarge(what, maxBytes);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of res as AsyncIterable<Buffer>) {
    size += c.length;
    if (size > maxBytes) {
      res.destroy();
      throw tooLarge(what, maxBytes);
    }
    try {
      lease?.charge(c.length);
    } catch (err) {
      res.destroy();
      throw err;
    }
    chunks.push(c);
  }
  return Buffer.concat(chunks, size);
}

/**
 * Passes at most `maxBytes` of `source` through; one byte more fails the returned stream with
 * `too_large` and destroys the source (so the connection to the daemon is dropped, not drained).
 * Backpressure is kept: the source is read only as fast as the returned stream is consumed.
 */
export function capStream(source: Readable, maxBytes: number, what: string): Readable {
  let seen = 0;
  const limiter = new Transform({
    transform(chunk: Buffer, _enc, done) {
      seen += chunk.length;
      if (seen > maxBytes) {
        source.destroy();
        done(tooLarge(what, maxBytes));
      } else done(null, chunk);
    },
  });
  source.once('error', (err) => limiter.destroy(err));
  limiter.once('close', () => {
    if (!source.readableEnded) source.destroy();
  });
  return source.pipe(limiter);
}

/** `files.readBuffer` without a `maxBytes`: the router's own file cap. */
export const READ_BUFFER_MAX_BYTES = 32 * 1024 * 1024;

/**
 * Cuts one output stream to `maxBytes` of content (decoded bytes for base64); utf8 output may carry
 * sandboxd's truncation marker past the cap, and a cut one gets it too.
 */
function cutOutput(text: string, maxBytes: number, base64: boolean): { text: string; cut: boolean } {
  if (base64) {
    const bytes = Buffer.from(text, 'base64');
    if (bytes.length <= maxBytes) return { text, cut: false };
    return { text: bytes.subarray(0, maxBytes).toString('base64'), cut: true };
  }
  if (Buffer.byteLength(text, 'utf8') <= maxBytes + EXEC_TRUNCATION_MARKER.length)
    return { text, cut: false };
  // Cutting the encoded bytes may split a character; the decoder turns the stray tail into U+FFFD.
  const kept = Buffer.from(text, 'utf8').subarray(0, maxBytes).toString('utf8');
  return { text: kept + EXEC_TRUNCATION_MARKER, cut: true };
}

/**
 * Checks the shape of an exec answer and holds the daemon to the per-stream cap the caller asked for:
 * a daemon that sends more (it runs inside the sandbox and may ignore the cap) is cut, with
 * `truncated` set, exactly as if it had obeyed.
 */
export function capExecResult<T extends { stdout: unknown; stderr: unknown; truncated: unknown }>(
  r: T,
  req: { maxOutputBytes?: number; outputEncoding?: 'utf8' | 'base64' },
): T & { stdout: string; stderr: string; truncated: boolean } {
  if (typeof r !== 'object' || r === null || typeof r.stdout !== 'string' || typeof r.stderr !== 'string')
    throw new SandboxdError('internal', "sandboxd's exec answer has no stdout/stderr strings");
  const max = req.maxOutputBytes ?? DEFAULT_EXEC_OUTPUT_BYTES;
  const base64 = req.outputEncoding === 'base64';
  const out = cutOutput(r.stdout, max, base64);
  const err = cutOutput(r.stderr, max, base64);
  return {
    ...r,
    stdout: out.text,
    stderr: err.text,
    truncated: r.truncated === true || out.cut || err.cut,
  };
}

/** Largest WebSocket message accepted from sandboxd (attach output, terminal frames). */
export const WS_FRAME_MAX_BYTES = 4 * 1024 * 1024;

/**
 * The largest tar a well-behaved daemon sends for `bytes` of files in `entries` entries: each entry
 * at most a pax header with a PATH_MAX name and link target, a ustar header and padding.
 */
export function archiveMaxTarBytes(bytes: number, entries: number): number {
  return bytes + entries * 12 * 1024 + 1024;
}
