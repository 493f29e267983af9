import type {} from 'fastify';
/** Who is calling: filled in by the authenticator on every request that reaches a route. */
export interface Identity {
  sub: string;
  email?: string;
  name?: string;
  groups: string[];
  isAdmin: boolean;
  /** The API key the request presented (its public id), when it came with one. */
  keyId?: string;
  /** How the caller proved who it is (`agenttier whoami` shows it). */
  via?: 'api-key' | 'session' | 'oidc' | 'service-account' | 'dev';
}

export const DEV_IDENTITY: Identity = {
  sub: 'dev-user',
  email: 'dev@agenttier.local',
  name: 'Dev User',
  groups: ['agenttier-admins'],
  isAdmin: true,
};

/** Where a request came from; the authenticator rate-limits failures per address. */
export interface ClientInfo {
  address?: string;
}

export type Authenticator = (
  headers: Record<string, string | string[] | undefined>,
  client?: ClientInfo,
) => Promise<Identity>;

/** The development authenticator: every caller is the local admin. Only safe on loopback. */
export const devAuthenticator: Authenticator = async () => DEV_IDENTITY;

declare module 'fastify' {
  interface FastifyRequest {
    identity: Identity;
  }
}
