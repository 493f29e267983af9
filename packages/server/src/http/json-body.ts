import type { FastifyInstance } from 'fastify';

/**
 * JSON bodies, with one difference from Fastify's own parser: an empty body under
 * `Content-Type: application/json` means "no body" (the handler sees `undefined`) instead of
 * `400 INVALID_JSON`. The seed product's web UI sends exactly that on Stop, Resume, Delete, remove port
 * and delete template; a route that needs a body still refuses the missing one through its schema.
 * Anything else goes to Fastify's parser, which keeps refusing `__proto__` and `constructor.prototype`
 * keys (prototype poisoning) with 400.
 */
export function installJsonBodyParser(app: FastifyInstance): void {
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) => {
    // parseAs: string, so `body` is a string (the type admits a Buffer for other parsers).
    if (body.length === 0) {
      done(null, undefined);
      return;
    }
    parseJson(req, body as string, done);
  });
}
