import type { FastifyInstance } from 'fastify';
import { accessRuleOf } from './access-rules.ts';
import type { IdentityRateLimiter } from './rate-limits.ts';

/**
 * Spends the caller's token (and its address's, `req.ip`: the socket's peer, or the client a trusted
 * proxy names) for routes whose access rule names a rate-limit class. Registered after the
 * guard chain, so it runs once the caller is authenticated and authorised: refused calls spend
 * nothing, and a scoped key's 403 is not turned into a 429.
 */
export function installIdentityRateLimits(app: FastifyInstance, limiter: IdentityRateLimiter): void {
  app.addHook('onRequest', async (req) => {
    const url = req.routeOptions.url;
    if (url === undefined || !req.identity) return;
    const { limit } = accessRuleOf(req.method, url);
    if (limit) limiter.take(limit, req.identity, req.ip);
  });
}
