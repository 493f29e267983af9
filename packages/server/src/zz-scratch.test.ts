import { it } from 'vitest';
import Fastify from 'fastify';
it('x', async () => {
  const app = Fastify();
  app.get('/f/*', async (req) => ({ w: (req.params as any)['*'], url: req.url }));
  app.post('/j', async (req) => ({ b: req.body }));
  for (const url of ['/f/workspace/../etc/passwd', '/f/workspace/%2e%2e/etc', '/f/workspace/a%2F..%2F..%2Fetc', '/f/workspace/a%00b', '/f/workspace/a%0Ab', '/f/workspace/a%5Cb', '/f/etc/passwd', '/f/workspace/%ZZ']) {
    const r = await app.inject({ method: 'GET', url });
    console.log(url, r.statusCode, r.body);
  }
  for (const [ct, body] of [['application/json', '{bad'], ['application/json', ''], ['text/plain', 'hello'], ['application/xml', '<a/>']]) {
    const r = await app.inject({ method: 'POST', url: '/j', headers: { 'content-type': ct }, payload: body });
    console.log(ct, JSON.stringify(body), r.statusCode, r.body);
  }
});
