/**
 * The `errors` conformance suite: malformed requests sent as raw bytes over a real socket, including
 * ones rejected before routing (by Node's parser, by Fastify, by the Host guard). Every answer must be
 * `{error, code, message, requestId}` with a catalogue code and the catalogue's status.
 */
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { ERROR_STATUS, isErrorCode } from '@agenttier/contract';
import type { SqliteStore } from '@agenttier/platform-local';
import type { RawResponse } from '../testing/raw-http.ts';
import { rawRequest } from '../testing/raw-http.ts';
import { seededStore } from '../testing/seeded-store.ts';
import { createBareApp } from '../testing/bare-app.ts';

let store: SqliteStore;
let app: FastifyInstance;
let port: number;

beforeAll(async () => {
  store = await seededStore();
  app = createBareApp(store, {
    jsonBodyLimitBytes: 1024,
    // Short enough that the slow-client case answers promptly.
    http: { headersTimeoutMs: 300, requestTimeoutMs: 600, timeoutCheckIntervalMs: 50 },
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  port = (app.server.address() as AddressInfo).port;
});

afterAll(async () => {
  await app.close();
  await store.close();
});

function expectShape(r: RawResponse, status: number, code: string) {
  expect(r.status, r.body).toBe(status);
  expect(r.headers['content-type']).toMatch(/^application\/json/);
  expect(Object.keys(r.json ?? {}).sort()).toEqual(['code', 'error', 'message', 'requestId']);
  expect(r.json.code).toBe(code);
  const given: unknown = r.json.code;
  expect(isErrorCode(given) ? ERROR_STATUS[given] : undefined).toBe(status);
  expect(r.json.error).toBe(r.json.message);
  expect(r.json.message.length).toBeGreaterThan(10);
  expect(r.json.requestId).toMatch(/^[A-Za-z0-9._-]{1,128}$/);
}

const host = () => `Host: 127.0.0.1:${port}\r\n`;

const CASES: Array<{ what: string; bytes: () => string; status: number; code: string }> = [
  {
    what: 'headers over 16 KiB (431, before Fastify)',
    bytes: () => `GET /healthz HTTP/1.1\r\n${host()}X-Big: ${'a'.repeat(20_000)}\r\n\r\n`,
    status: 431,
    code: 'HEADERS_TOO_LARGE',
  },
  {
    what: 'an HTTP/1.1 request without Host (Node answers an empty 400 by default)',
    bytes: () => 'GET /api/v1/sandboxes HTTP/1.1\r\nConnection: close\r\n\r\n',
    status: 400,
    code: 'BAD_REQUEST',
  },
  {
    what: 'an HTTP/1.0 request without Host',
    bytes: () => 'GET /api/v1/sandboxes HTTP/1.0\r\n\r\n',
    status: 400,
    code: 'BAD_REQUEST',
  },
  {
    what: 'a malformed Host header',
    bytes: () => 'GET /api/v1/sandboxes HTTP/1.1\r\nHost: a b\r\nConnection: close\r\n\r\n',
    status: 400,
    code: 'BAD_REQUEST',
  },
  {
    what: 'a Host the router does not serve (DNS rebinding)',
    bytes: () => `GET /api/v1/sandboxes HTTP/1.1\r\nHost: evil.example:${port}\r\nConnection: close\r\n\r\n`,
    status: 421,
    code: 'HOST_NOT_ALLOWED',
  },
  {
    what: 'a request line that is not HTTP',
    bytes: () => 'HELLO THERE\r\n\r\n',
    status: 400,
    code: 'BAD_REQUEST',
  },
  {
    what: 'both Content-Length and Transfer-Encoding (request smuggling)',
    bytes: () =>
      `POST /api/v1/sandboxes HTTP/1.1\r\n${host()}Content-Type: application/json\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`,
    status: 400,
    code: 'BAD_REQUEST',
  },
  {
    what: 'a malformed %-escape in the path',
    bytes: () => `GET /api/v1/sandboxes/%E0%A4%A HTTP/1.1\r\n${host()}Connection: close\r\n\r\n`,
    status: 400,
    code: 'BAD_REQUEST',
  },
  {
    what: 'an absolute-form request target (a proxy request; once skipped authentication)',
    bytes: () => `GET http://localhost/api/v1/sandboxes HTTP/1.1\r\n${host()}Connection: close\r\n\r\n`,
    status: 400,
    code: 'BAD_REQUEST',
  },
  {
    what: 'two Host headers (Node would serve the first; RFC 9112 says 400)',
    bytes: () => `GET /api/v1/sandboxes HTTP/1.1\r\n${host()}Host: evil.example\r\nConnection: close\r\n\r\n`,
    status: 400,
    code: 'BAD_REQUEST',
  },
  {
    what: 'an asterisk request target',
    bytes: () => `OPTIONS * HTTP/1.1\r\n${host()}Connection: close\r\n\r\n`,
    status: 400,
    code: 'BAD_REQUEST',
  },
  {
    what: 'JSON sent as text/plain (docs promise 415)',
    bytes: () =>
      `POST /api/v1/sandboxes HTTP/1.1\r\n${host()}Content-Type: text/plain\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}`,
    status: 415,
    code: 'UNSUPPORTED_MEDIA_TYPE',
  },
  {
    what: 'JSON sent as text/plain on PUT (not a CSRF type there, still not JSON)',
    bytes: () =>
      `PUT /api/v1/templates/x HTTP/1.1\r\n${host()}Content-Type: text/plain\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}`,
    status: 415,
    code: 'UNSUPPORTED_MEDIA_TYPE',
  },
  {
    what: 'a form post',
    bytes: () =>
      `POST /api/v1/sandboxes/x/stop HTTP/1.1\r\n${host()}Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 3\r\nConnection: close\r\n\r\na=1`,
    status: 415,
    code: 'UNSUPPORTED_MEDIA_TYPE',
  },
  {
    what: 'invalid JSON',
    bytes: () =>
      `POST /api/v1/sandboxes HTTP/1.1\r\n${host()}Content-Type: application/json\r\nContent-Length: 5\r\nConnection: close\r\n\r\n{nope`,
    status: 400,
    code: 'INVALID_JSON',
  },
  {
    what: 'a JSON body over the limit',
    bytes: () =>
      `POST /api/v1/sandboxes HTTP/1.1\r\n${host()}Content-Type: application/json\r\nContent-Length: 2000\r\nConnection: close\r\n\r\n${'"'.padEnd(2000, 'a')}`,
    status: 413,
    code: 'PAYLOAD_TOO_LARGE',
  },
  {
    what: 'a foreign Origin on a state-changing request',
    bytes: () =>
      `POST /api/v1/sandboxes/x/stop HTTP/1.1\r\n${host()}Origin: https://evil.example\r\nConnection: close\r\n\r\n`,
    status: 403,
    code: 'ORIGIN_NOT_ALLOWED',
  },
  {
    what: 'an unknown route',
    bytes: () => `GET /nope HTTP/1.1\r\n${host()}Connection: close\r\n\r\n`,
    status: 404,
    code: 'NOT_FOUND',
  },
  {
    what: 'headers that never finish (slowloris): 408 once headersTimeout passes',
    bytes: () => `GET /api/v1/sandboxes HTTP/1.1\r\n${host()}X-Slow: 1\r\n`,
    status: 408,
    code: 'REQUEST_TIMEOUT',
  },
  {
    what: 'a body that never finishes: 408 once requestTimeout passes',
    bytes: () =>
      `POST /api/v1/sandboxes HTTP/1.1\r\n${host()}Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"name":`,
    status: 408,
    code: 'REQUEST_TIMEOUT',
  },
];

describe('errors conformance: every rejection, before or after routing, in the one shape', () => {
  for (const c of CASES) {
    it(c.what, async () => {
      expectShape(await rawRequest(port, c.bytes()), c.status, c.code);
    });
  }
});
