/**
 * A stand-in for the Kubernetes API server's TokenReview in unit tests: tokens it "issued" with a
 * user and audiences, revocable, and switchable to unreachable. Real-server tests use the real one.
 */
import { randomBytes } from 'node:crypto';
import type { TokenReviewCall, TokenReviewStatus } from '../auth/token-review.ts';

export interface FakeTokenReview {
  review: TokenReviewCall;
  /** A new token for `username`, valid for these audiences (the API server's, by default). */
  issue(username: string, audiences?: string[], groups?: string[]): string;
  revoke(token: string): void;
  /** While true every review fails as a network error would. */
  down: boolean;
  readonly calls: number;
}

export function createFakeTokenReview(): FakeTokenReview {
  const tokens = new Map<string, { username: string; audiences: string[]; groups: string[] }>();
  let calls = 0;
  const fake: FakeTokenReview = {
    down: false,
    get calls() {
      return calls;
    },
    async review(token, audiences): Promise<TokenReviewStatus> {
      calls++;
      if (fake.down) throw new Error('connect ECONNREFUSED (fake API server down)');
      const t = tokens.get(token);
      // Like the real server: authenticated only when the token is valid for one of the asked audiences.
      const matched = t?.audiences.filter((a) => audiences.includes(a)) ?? [];
      if (!t || matched.length === 0) return { authenticated: false, error: 'invalid bearer token' };
      return {
        authenticated: true,
        user: { username: t.username, uid: 'uid-1', groups: t.groups },
        audiences: matched,
      };
    },
    issue(username, audiences = ['https://kubernetes.default.svc'], groups = ['system:serviceaccounts']) {
      const token = `eyJhbGciOiJSUzI1NiJ9.${randomBytes(24).toString('base64url')}.${randomBytes(32).toString('base64url')}`;
      tokens.set(token, { username, audiences, groups });
      return token;
    },
    revoke(token) {
      tokens.delete(token);
    },
  };
  return fake;
}
