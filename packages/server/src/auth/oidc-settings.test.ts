import { describe, expect, it } from 'vitest';
import { oidcSettingsFromEnv } from './oidc-settings.ts';

describe('OIDC settings from the environment (agenttier up flags, the router env, Helm values)', () => {
  it('is off without an issuer, and reads every setting with the client id as default audience', () => {
    expect(oidcSettingsFromEnv({})).toBeUndefined();
    expect(oidcSettingsFromEnv({ AGENTTIER_OIDC_ISSUER: '' })).toBeUndefined();
    expect(
      oidcSettingsFromEnv({
        AGENTTIER_OIDC_ISSUER: 'https://login.example.com/realms/dev',
        AGENTTIER_OIDC_CLIENT_ID: 'agenttier',
        AGENTTIER_OIDC_CLIENT_SECRET: 's3cret',
        AGENTTIER_OIDC_GROUPS_CLAIM: 'realm_access.roles',
        AGENTTIER_OIDC_ADMIN_GROUP: 'agenttier-admins',
        AGENTTIER_OIDC_USER_PREFIX: 'kc:',
        AGENTTIER_OIDC_SCOPES: 'openid, email',
        AGENTTIER_OIDC_CLOCK_SKEW_SEC: '10',
        AGENTTIER_OIDC_USER_CLAIM: '',
      }),
    ).toEqual({
      issuer: 'https://login.example.com/realms/dev',
      audience: ['agenttier'],
      clientId: 'agenttier',
      clientSecret: 's3cret',
      groupsClaim: 'realm_access.roles',
      adminGroup: 'agenttier-admins',
      userPrefix: 'kc:',
      scopes: ['openid', 'email'],
      clockSkewSec: 10,
    });
  });

  it('refuses a plain-http issuer off loopback, a missing audience, and a bad number', () => {
    expect(() =>
      oidcSettingsFromEnv({
        AGENTTIER_OIDC_ISSUER: 'http://login.example.com',
        AGENTTIER_OIDC_AUDIENCE: 'a',
      }),
    ).toThrow(/must be https/);
    expect(
      oidcSettingsFromEnv({ AGENTTIER_OIDC_ISSUER: 'http://127.0.0.1:9000', AGENTTIER_OIDC_AUDIENCE: 'a' })
        ?.issuer,
    ).toBe('http://127.0.0.1:9000');
    expect(() => oidcSettingsFromEnv({ AGENTTIER_OIDC_ISSUER: 'https://login.example.com' })).toThrow(
      /audience/,
    );
    expect(() =>
      oidcSettingsFromEnv({ AGENTTIER_OIDC_ISSUER: 'not a url', AGENTTIER_OIDC_AUDIENCE: 'a' }),
    ).toThrow(/not a URL/);
    expect(() =>
      oidcSettingsFromEnv({
        AGENTTIER_OIDC_ISSUER: 'https://login.example.com',
        AGENTTIER_OIDC_AUDIENCE: 'a',
        AGENTTIER_OIDC_CLOCK_SKEW_SEC: 'soon',
      }),
    ).toThrow(/non-negative number/);
  });
});
