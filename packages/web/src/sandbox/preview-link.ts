/**
 * Opening a forwarded port's preview from this page. Sandbox content is hostile: the preview runs on
 * its own origin and is opened with `noopener` and `noreferrer`, so the page in the sandbox gets no
 * handle on this window (`window.opener` is null: it cannot navigate the UI to a look-alike login page)
 * and no Referer naming the UI.
 *
 * Where the router offers preview links (`POST …/ports/{port}/preview-link`), the browser is sent
 * through a short-lived single-use link that the preview origin swaps for its own session cookie;
 * routers without the route (or development authentication, where none is needed) get the plain
 * preview URL.
 */
import { AgentTierError, type AgentTier } from '@agenttier/sdk';

export const PREVIEW_WINDOW_FEATURES = 'noopener,noreferrer';

export interface PreviewTargetRef {
  client: AgentTier;
  sandbox: string;
  namespace: string;
  port: number;
  previewUrl: string;
}

/** The URL to open: a fresh preview link when the router mints them, else the preview URL itself. */
export async function previewAddress(t: PreviewTargetRef): Promise<string> {
  try {
    const res = await t.client.http.json<{ url?: string }>({
      method: 'POST',
      path: `/api/v1/sandboxes/${encodeURIComponent(t.sandbox)}/ports/${t.port}/preview-link`,
      query: { namespace: t.namespace },
      json: {},
    });
    if (typeof res?.url === 'string' && /^https?:\/\//.test(res.url)) return res.url;
  } catch (err) {
    // A router without the route answers the generic NOT_FOUND (an unforwarded port is PORT_NOT_FOUND,
    // a missing sandbox SANDBOX_NOT_FOUND); anything else is a real refusal.
    const missingRoute = err instanceof AgentTierError && err.code === 'NOT_FOUND';
    if (!missingRoute && !(err instanceof AgentTierError && err.status === 501)) throw err;
  }
  return t.previewUrl;
}

/** Opens `url` in a new tab that cannot reach back into this one. */
export function openPreviewWindow(url: string): void {
  window.open(url, '_blank', PREVIEW_WINDOW_FEATURES);
}
