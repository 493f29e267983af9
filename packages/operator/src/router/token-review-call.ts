import type { KubeConfig } from '@kubernetes/client-node';
import { AuthenticationV1Api } from '@kubernetes/client-node';
import type { TokenReviewCall } from '@agenttier/server';

/**
 * TokenReview with the router's own credentials (its ServiceAccount in the cluster): the API server
 * says whether a token is valid for the given audiences and whose it is. Gives up after `timeoutMs`.
 */
export function kubeTokenReview(kc: KubeConfig, timeoutMs = 5000): TokenReviewCall {
  const api = kc.makeApiClient(AuthenticationV1Api);
  return async (token, audiences) => {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer in ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      const review = await Promise.race([
        api.createTokenReview({
          body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token, audiences } },
        }),
        timeout,
      ]);
      const s = review.status;
      return {
        ...(s?.authenticated !== undefined ? { authenticated: s.authenticated } : {}),
        ...(s?.user
          ? {
              user: {
                ...(s.user.username !== undefined ? { username: s.user.username } : {}),
                ...(s.user.uid !== undefined ? { uid: s.user.uid } : {}),
                ...(s.user.groups ? { groups: s.user.groups } : {}),
              },
            }
          : {}),
        ...(s?.audiences ? { audiences: s.audiences } : {}),
        ...(s?.error ? { error: s.error } : {}),
      };
    } finally {
      clearTimeout(timer);
    }
  };
}
