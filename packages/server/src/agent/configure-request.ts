import { createHash } from 'node:crypto';
import type { ConfigureRequest } from '@agenttier/contract';
import {
  MAX_CONFIGURE_FILE_BYTES,
  MAX_CONFIGURE_TOTAL_BYTES,
  PlatformError,
  configureRequestSchema,
  parseOrThrow,
} from '@agenttier/contract';

export interface ConfigureFile {
  path: string;
  bytes: Buffer;
  mode?: number;
}

/** Validates the body and decodes files; size limits are 413 so clients can tell them apart. */
export function parseConfigureRequest(
  body: unknown,
  confine: (path: string) => string,
): { req: ConfigureRequest; files: ConfigureFile[] } {
  const req = parseOrThrow(configureRequestSchema, body ?? {}, 'configure request');
  let total = 0;
  const files = (req.files ?? []).map((f, i) => {
    const path = confine(f.path);
    if (f.contentBase64 !== undefined && !/^[A-Za-z0-9+/]*={0,2}$/.test(f.contentBase64.replace(/\s/g, ''))) {
      throw new PlatformError('VALIDATION_FAILED', `files[${i}].contentBase64 is not valid base64`);
    }
    const bytes =
      f.content !== undefined ? Buffer.from(f.content, 'utf8') : Buffer.from(f.contentBase64 ?? '', 'base64');
    if (bytes.length > MAX_CONFIGURE_FILE_BYTES) {
      throw new PlatformError(
        'PAYLOAD_TOO_LARGE',
        `files[${i}] (${path}) is ${bytes.length} bytes, max ${MAX_CONFIGURE_FILE_BYTES}`,
      );
    }
    total += bytes.length;
    const mode = typeof f.mode === 'string' ? parseInt(f.mode, 8) : f.mode;
    return { path, bytes, ...(mode !== undefined ? { mode } : {}) };
  });
  if (total > MAX_CONFIGURE_TOTAL_BYTES) {
    throw new PlatformError(
      'PAYLOAD_TOO_LARGE',
      `files total ${total} bytes, max ${MAX_CONFIGURE_TOTAL_BYTES}`,
    );
  }
  return { req, files };
}

/**
 * The idempotency key: install argv and the files (sorted by path). Re-running configure with the same
 * key skips the writes and the install; the entrypoint is not part of it (changing only the entrypoint
 * updates it without reinstalling).
 */
export function configureHash(installCommand: string[] | undefined, files: ConfigureFile[]): string {
  const h = createHash('sha256');
  h.update((installCommand ?? []).join('\0'));
  for (const f of [...files].sort((a, b) => a.path.localeCompare(b.path))) {
    h.update('\0\0');
    h.update(f.path);
    h.update('\0');
    h.update(f.bytes);
  }
  return h.digest('hex');
}
