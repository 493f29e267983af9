/**
 * File transfers with progress, for the Files tab. `fetch` cannot report upload progress, so uploads
 * use XMLHttpRequest against the same public route the SDK uses (`PUT …/files/{path}`, raw bytes);
 * downloads read the response stream and count bytes against `Content-Length`. Failures become the
 * SDK's typed errors, so the tab explains them like any other call.
 */
import type { AgentTier } from '@agenttier/sdk';
import { ConnectionError, PayloadTooLargeError, errorFromResponse } from '@agenttier/sdk';
import { MAX_FILE_BYTES } from '@agenttier/contract';
import { bindingHeaders } from '../api/session-binding.ts';

export interface TransferTarget {
  client: AgentTier;
  sandbox: string;
  namespace: string;
}

export interface Progress {
  loaded: number;
  /** 0 when the size is not known. */
  total: number;
}

function encodePath(path: string): string {
  return path
    .split('/')
    .map((s) => encodeURIComponent(s))
    .join('/');
}

/**
 * The client's credentials (an API key or token, when signed in that way; cookies go by themselves,
 * and the session binding that must go with the cookie).
 */
function authHeaders(client: AgentTier): Record<string, string> {
  const out: Record<string, string> = bindingHeaders();
  client.http.headers().forEach((value, key) => {
    if (key === 'x-api-key' || key === 'authorization') out[key] = value;
  });
  return out;
}

export function fileUrl(t: TransferTarget, path: string): string {
  const url = new URL(
    `${t.client.apiUrl}/api/v1/sandboxes/${encodeURIComponent(t.sandbox)}/files/${encodePath(path.replace(/^\/+/, ''))}`,
  );
  url.searchParams.set('namespace', t.namespace);
  return url.toString();
}

export function archiveUrl(t: TransferTarget, path: string): string {
  const url = new URL(`${t.client.apiUrl}/api/v1/sandboxes/${encodeURIComponent(t.sandbox)}/archive`);
  url.searchParams.set('namespace', t.namespace);
  url.searchParams.set('path', path);
  return url.toString();
}

function parseBody(text: string): unknown {
  try {
    return text === '' ? undefined : JSON.parse(text);
  } catch {
    return text;
  }
}

function headersOf(xhr: XMLHttpRequest): Headers {
  const headers = new Headers();
  for (const line of xhr
    .getAllResponseHeaders()
    .trim()
    .split(/[\r\n]+/)) {
    const i = line.indexOf(':');
    if (i > 0) headers.set(line.slice(0, i).trim(), line.slice(i + 1).trim());
  }
  return headers;
}

export function tooLargeError(name: string, bytes: number): PayloadTooLargeError {
  return new PayloadTooLargeError(
    `${name} is ${formatBytes(bytes)}, over the ${formatBytes(MAX_FILE_BYTES)} limit per file`,
    { code: 'PAYLOAD_TOO_LARGE', status: 413 },
  );
}

/** Writes `body` to `path` in the sandbox, reporting upload progress. */
export function uploadFile(
  t: TransferTarget,
  path: string,
  body: Blob,
  opts: { onProgress?: (p: Progress) => void; signal?: AbortSignal } = {},
): Promise<void> {
  if (body.size > MAX_FILE_BYTES) return Promise.reject(tooLargeError(path, body.size));
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('PUT', fileUrl(t, path));
    xhr.setRequestHeader('Content-Type', 'application/octet-stream');
    for (const [k, v] of Object.entries(authHeaders(t.client))) xhr.setRequestHeader(k, v);
    xhr.upload.onprogress = (e) =>
      opts.onProgress?.({ loaded: e.loaded, total: e.lengthComputable ? e.total : body.size });
    xhr.onload = () => {
      if (xhr.status >= 200 && xhr.status < 300) {
        opts.onProgress?.({ loaded: body.size, total: body.size });
        resolve();
      } else {
        reject(
          errorFromResponse({
            status: xhr.status,
            body: parseBody(xhr.responseText),
            headers: headersOf(xhr),
            what: `uploading ${path}`,
          }),
        );
      }
    };
    xhr.onerror = () =>
      reject(
        new ConnectionError(`the connection broke while uploading ${path}`, { code: 'CONNECTION_FAILED' }),
      );
    xhr.onabort = () => reject(new DOMException('upload cancelled', 'AbortError'));
    opts.signal?.addEventListener('abort', () => xhr.abort(), { once: true });
    xhr.send(body);
  });
}

/** Fetches a file or an archive, reporting download progress; returns the bytes and the server's file name. */
export async function downloadWithProgress(
  t: TransferTarget,
  url: string,
  opts: { onProgress?: (p: Progress) => void; signal?: AbortSignal; what: string },
): Promise<{ blob: Blob; filename: string | undefined }> {
  let res: Response;
  try {
    res = await fetch(url, {
      headers: authHeaders(t.client),
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
  } catch (err) {
    if (opts.signal?.aborted) throw err;
    throw new ConnectionError(`could not reach the server for ${opts.what}`, {
      code: 'CONNECTION_FAILED',
      cause: err,
    });
  }
  if (!res.ok) {
    throw errorFromResponse({
      status: res.status,
      body: parseBody(await res.text()),
      headers: res.headers,
      what: opts.what,
    });
  }
  const total = Number(res.headers.get('content-length') ?? 0) || 0;
  const chunks: Uint8Array[] = [];
  let loaded = 0;
  const reader = res.body?.getReader();
  if (reader) {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      chunks.push(value);
      loaded += value.byteLength;
      opts.onProgress?.({ loaded, total });
    }
  }
  const disposition = res.headers.get('content-disposition') ?? '';
  const filename = /filename="([^"]+)"/.exec(disposition)?.[1];
  return { blob: new Blob(chunks as BlobPart[]), filename };
}

/** Hands bytes to the browser as a download. */
export function saveBlob(blob: Blob, filename: string): void {
  const href = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = href;
  a.download = filename;
  a.rel = 'noopener';
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(href), 60_000);
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}
