/**
 * Which refusal of the preview-link route means "this router has no such route" (open the plain
 * preview URL) and which is a real refusal (shown to the user): decided by the wire code.
 */
import { describe, expect, it } from 'vitest';
import { AgentTier } from '@agenttier/sdk';
import { sendJson } from '@agenttier/sdk/testing';
import { previewAddress } from './preview-link.ts';
import { useSdkTestServer } from '../testing/sdk-test-server.ts';

const sdk = useSdkTestServer();

const ROUTE = 'POST /api/v1/sandboxes/web/ports/8000/preview-link';
const target = () => ({
  client: new AgentTier({ apiUrl: sdk.server.url, env: {} }),
  sandbox: 'web',
  namespace: 'default',
  port: 8000,
  previewUrl: 'http://8000-web--default.localhost:7000/',
});

describe('previewAddress', () => {
  it('opens the link the router mints', async () => {
    sdk.server.route(ROUTE, (_req, res) =>
      sendJson(res, 201, { url: 'http://8000-web--default.localhost:7000/_s?t=1' }),
    );
    expect(await previewAddress(target())).toBe('http://8000-web--default.localhost:7000/_s?t=1');
  });

  it('falls back to the preview URL on a router without the route (generic NOT_FOUND)', async () => {
    sdk.server.route(ROUTE, (_req, res) =>
      sendJson(res, 404, { error: 'no route for POST /api/v1/…', code: 'NOT_FOUND' }),
    );
    expect(await previewAddress(target())).toBe(target().previewUrl);
  });

  it('passes on the refusal of an unforwarded port, whatever its message says', async () => {
    sdk.server.route(ROUTE, (_req, res) =>
      sendJson(res, 404, { error: 'no route for this port (a message, not a code)', code: 'PORT_NOT_FOUND' }),
    );
    await expect(previewAddress(target())).rejects.toMatchObject({ code: 'PORT_NOT_FOUND', status: 404 });
  });
});
