import type { FastifyReply, FastifyRequest } from 'fastify';

/** Request headers a configured origin may send (everything the SDK sends). */
const ALLOWED_HEADERS = ['authorization', 'content-type', 'x-api-key', 'x-request-id'];
/** Response headers a configured origin may read besides the CORS-safelisted ones. */
const EXPOSED_HEADERS = ['x-request-id', 'x-invoke-id', 'retry-after', 'location'];
const ALLOWED_METHODS = 'GET, HEAD, POST, PUT, PATCH, DELETE';
/** How long a browser may cache a preflight answer. */
const PREFLIGHT_MAX_AGE_SEC = 600;

/**
 * CORS for configured origins only. Credentials mode is off: the API authenticates with headers
 * (`Authorization`, `X-API-Key`), so no page gets to ride on cookies. Called after the Origin guard,
 * so `origin` is the API's own or a configured one.
 */
export function applyCors(
  req: FastifyRequest,
  reply: FastifyReply,
  corsOrigins: readonly string[],
): 'preflight-answered' | 'continue' {
  const origin = req.headers.origin?.toLowerCase();
  if (!origin || !corsOrigins.includes(origin)) return 'continue';
  void reply.header('access-control-allow-origin', origin).header('vary', 'Origin');
  const isPreflight = req.method === 'OPTIONS' && req.headers['access-control-request-method'] !== undefined;
  if (!isPreflight) {
    void reply.header('access-control-expose-headers', EXPOSED_HEADERS.join(', '));
    return 'continue';
  }
  const asked = String(req.headers['access-control-request-headers'] ?? '')
    .split(',')
    .map((h) => h.trim().toLowerCase())
    .filter(Boolean);
  const granted = asked.filter((h) => ALLOWED_HEADERS.includes(h));
  void reply
    .code(204)
    .header('access-control-allow-methods', ALLOWED_METHODS)
    .header('access-control-allow-headers', (granted.length ? granted : ALLOWED_HEADERS).join(', '))
    .header('access-control-max-age', String(PREFLIGHT_MAX_AGE_SEC))
    .send();
  return 'preflight-answered';
}
