import { describe, expect, it } from 'vitest';
import { ERROR_STATUS, PlatformError } from '@agenttier/contract';
import type { ErrorCode } from '@agenttier/contract';
import { toWireError } from './errors.ts';

const fastifyError = (code: string, statusCode: number, message: string) =>
  Object.assign(new Error(message), { code, statusCode });

describe('toWireError', () => {
  it('maps every catalogue code to its status with the uniform body', () => {
    for (const code of Object.keys(ERROR_STATUS) as ErrorCode[]) {
      const { status, body, headers } = toWireError(new PlatformError(code, `about ${code}`), 'req-1');
      expect(status).toBe(ERROR_STATUS[code]);
      expect(body).toEqual({ error: `about ${code}`, code, message: `about ${code}`, requestId: 'req-1' });
      expect(headers).toEqual({});
    }
  });

  it('carries details, extra fields and headers of a PlatformError', () => {
    const err = new PlatformError('RATE_LIMITED', 'slow down', {
      details: [{ field: 'x', rule: 'r', message: 'm' }],
      extra: { retryAfterSeconds: 5 },
      headers: { 'retry-after': '5' },
    });
    expect(toWireError(err, 'r')).toEqual({
      status: 429,
      body: {
        error: 'slow down',
        code: 'RATE_LIMITED',
        message: 'slow down',
        requestId: 'r',
        details: [{ field: 'x', rule: 'r', message: 'm' }],
        retryAfterSeconds: 5,
      },
      headers: { 'retry-after': '5' },
    });
  });

  it.each([
    ['FST_ERR_CTP_INVALID_JSON_BODY', 400, 'INVALID_JSON'],
    ['FST_ERR_CTP_EMPTY_JSON_BODY', 400, 'INVALID_JSON'],
    ['FST_ERR_CTP_BODY_TOO_LARGE', 413, 'PAYLOAD_TOO_LARGE'],
    ['FST_ERR_CTP_INVALID_MEDIA_TYPE', 415, 'UNSUPPORTED_MEDIA_TYPE'],
    ['FST_ERR_CTP_INVALID_CONTENT_LENGTH', 400, 'BAD_REQUEST'],
    ['FST_ERR_BAD_URL', 400, 'BAD_REQUEST'],
  ])('maps Fastify %s to %d %s', (fstCode, status, code) => {
    const r = toWireError(fastifyError(fstCode, status, 'fastify says no'), 'r');
    expect(r.status).toBe(status);
    expect(r.body.code).toBe(code);
    expect(r.body.error).toBe(r.body.message);
  });

  it('prefixes JSON syntax errors so the client knows the body was the problem', () => {
    const r = toWireError(new SyntaxError('Unexpected end of JSON input'), 'r');
    expect(r.status).toBe(400);
    expect(r.body).toMatchObject({
      code: 'INVALID_JSON',
      message: 'request body is not valid JSON: Unexpected end of JSON input',
    });
  });

  it('maps another 4xx by its status, and an unknown 4xx status to BAD_REQUEST', () => {
    expect(toWireError(fastifyError('FST_X', 404, 'gone'), 'r').body.code).toBe('NOT_FOUND');
    expect(toWireError(fastifyError('FST_X', 405, 'nope'), 'r').body.code).toBe('METHOD_NOT_ALLOWED');
    // The same generic code the SDK reports for a body without one (contract's STATUS_CODE).
    expect(toWireError(fastifyError('FST_X', 409, 'x'), 'r').body.code).toBe('CONFLICT');
    expect(toWireError(fastifyError('FST_X', 429, 'x'), 'r').body.code).toBe('RATE_LIMITED');
    const teapot = toWireError(fastifyError('FST_X', 418, 'teapot'), 'r');
    expect(teapot).toMatchObject({ status: 400, body: { code: 'BAD_REQUEST', message: 'teapot' } });
  });

  it('turns anything else into a generic 500 INTERNAL that leaks nothing', () => {
    for (const err of [
      new Error('ECONNREFUSED /var/run/docker.sock'),
      'a string',
      undefined,
      null,
      { statusCode: 502, message: 'upstream' },
      Object.assign(new Error('x'), { statusCode: 500 }),
    ]) {
      const r = toWireError(err, 'abc123');
      expect(r.status).toBe(500);
      expect(r.body).toEqual({
        error: 'internal error (request abc123); see the server log',
        code: 'INTERNAL',
        message: 'internal error (request abc123); see the server log',
        requestId: 'abc123',
      });
    }
  });
});
