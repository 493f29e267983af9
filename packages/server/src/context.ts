import type {} from 'fastify';
/** Who is calling. Auth (OIDC, API keys) fills this in a later issue; until then a development identity. */
export interface Identity {
  sub: string;
  email?: string;
  name?: string;
  groups: string[];
  isAdmin: boolean;
}

export const DEV_IDENTITY: Identity = {
  sub: 'dev-user',
  email: 'dev@agenttier.local',
  name: 'Dev User',
  groups: ['agenttier-admins'],
  isAdmin: true,
};

export type Authenticator = (headers: Record<string, string | string[] | undefined>) => Promise<Identity>;

/** The development authenticator: every caller is the local admin. Only safe on loopback. */
export const devAuthenticator: Authenticator = async () => DEV_IDENTITY;

declare module 'fastify' {
  interface FastifyRequest {
    identity: Identity;
  }
}
