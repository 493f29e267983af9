import { request } from 'node:http';
import type { IncomingHttpHeaders } from 'node:http';

/* eslint-disable @typescript-eslint/no-explicit-any -- test helpers return loosely typed JSON for terse assertions */

export interface HostResponse {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  json: any;
}

/**
 * An HTTP request to the router at `base` (its loopback address) carrying any Host header: how a
 * browser reaches a preview (`*.localhost` resolves to loopback in browsers, not in Node) or how a
 * DNS-rebinding page reaches the router under its own name.
 */
export function requestWithHost(
  base: string,
  host: string,
  path: string,
  opts: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<HostResponse> {
  const target = new URL(base);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: target.hostname,
        port: target.port,
        path,
        method: opts.method ?? 'GET',
        headers: { ...opts.headers, host },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: any;
          try {
            json = text ? JSON.parse(text) : undefined;
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(opts.body);
  });
}

/** The Host of a preview URL (`http://3000-box--default.localhost:8080/` → `3000-box--default.localhost:8080`). */
export function hostOf(url: string): string {
  return new URL(url).host;
}
