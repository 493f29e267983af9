import { PlatformError } from '@agenttier/contract';
import type { Identity } from '../context.ts';
import type { OidcVerifier } from './oidc-verifier.ts';

/** Reviews a Kubernetes ServiceAccount token (auth/token-review.ts). */
export interface ServiceAccountReviewer {
  review(token: string): Promise<Identity>;
}

export interface BearerAuthDeps {
  oidc?: OidcVerifier;
  serviceAccounts?: ServiceAccountReviewer;
}

/**
 * Who a bearer token that is not an API key is. A JWT naming the OIDC issuer goes to the OIDC
 * verifier; anything else to TokenReview when that is on (the API server knows its own tokens),
 * else to the OIDC verifier, which explains why it is refused. Each path verifies fully: the
 * unverified `iss` only picks the verifier.
 */
export function createBearerAuthenticator(deps: BearerAuthDeps): (token: string) => Promise<Identity> {
  return async (token) => {
    if (deps.oidc && deps.oidc.claimsIssuer(token)) return deps.oidc.verifyAccessToken(token);
    if (deps.serviceAccounts) return deps.serviceAccounts.review(token);
    if (deps.oidc) return deps.oidc.verifyAccessToken(token);
    throw new PlatformError(
      'UNAUTHENTICATED',
      'bearer tokens other than API keys are not accepted by this server (no OIDC issuer or ServiceAccount tokens configured); send an API key (docs/auth.md)',
    );
  };
}
