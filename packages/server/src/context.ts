import type {} from 'fastify';
import type { Sandbox } from '@agenttier/contract';
import type { ApiKeyScope } from '@agenttier/core';
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
  /** A sandbox-scoped key: the caller may act on this one sandbox with these verbs, nothing else. */
  scope?: ApiKeyScope;
}

export const DEV_IDENTITY: Identity = {
  sub: 'dev-user',
  email: 'dev@agenttier.local',
  name: 'Dev User',
  groups: ['agenttier-admins'],
  isAdmin: true,
  via: 'dev',
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
    /**
     * The sandbox a sandbox route names, as the access check read it: handlers use it instead of
     * reading it again (one store read per request). Null on other routes.
     */
    sandbox: Sandbox | null;
  }
}
