/**
 * The Settings tab's labels against a real HTTP server through the SDK: removing one label sends a
 * JSON merge patch with that key set to null and nothing else, so the other labels stay.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { sandboxView, sendJson } from '@agenttier/sdk/testing';
import type { SandboxView } from '@agenttier/sdk';
import { renderWithServer, waitFor, type Rendered } from '../testing/render.tsx';
import SettingsTab from './SettingsTab.tsx';

let ui: Rendered | undefined;
afterEach(async () => {
  await ui?.close();
  ui = undefined;
});

const view = sandboxView('demo', 'Running', {
  labels: { team: 'ml', stale: 'yes' },
}) as unknown as SandboxView;

describe('Settings tab labels', () => {
  it('removes one label with {labels: {key: null}} and keeps the rest', async () => {
    ui = await renderWithServer(<SettingsTab sandbox={view} />, {
      'PATCH /api/v1/sandboxes/demo': (_req, res) =>
        sendJson(res, 200, { sandboxId: 'demo', applied: { labels: 'immediately' }, restartRequired: false }),
    });
    const r = ui;
    await waitFor(() => expect(r.button('Remove label stale')).toBeTruthy());
    r.button('Remove label stale').click();
    await waitFor(() => expect(r.host.textContent).toContain('Removed label stale.'));
    expect(r.writes()).toEqual([{ call: 'PATCH /api/v1/sandboxes/demo', body: { labels: { stale: null } } }]);
  });

  it('adds labels from key=value lines and refuses a line without "=" before sending', async () => {
    ui = await renderWithServer(<SettingsTab sandbox={view} />, {
      'PATCH /api/v1/sandboxes/demo': (_req, res) => sendJson(res, 200, { sandboxId: 'demo' }),
    });
    const r = ui;
    await waitFor(() => expect(r.field('Add or change labels')).toBeTruthy());
    r.type(r.field('Add or change labels'), 'oops');
    r.button('Save labels').click();
    await waitFor(() => expect(r.host.textContent).toContain('Line 1: write key=value.'));
    expect(r.writes()).toEqual([]);
    r.type(r.field('Add or change labels'), 'env = dev\nowner=ana');
    r.button('Save labels').click();
    await waitFor(() =>
      expect(r.writes()).toEqual([
        { call: 'PATCH /api/v1/sandboxes/demo', body: { labels: { env: 'dev', owner: 'ana' } } },
      ]),
    );
  });

  it('shows the server’s refusal in words', async () => {
    ui = await renderWithServer(<SettingsTab sandbox={view} />, {
      'PATCH /api/v1/sandboxes/demo': (_req, res) =>
        sendJson(res, 400, {
          error: 'invalid patch: labels.x must be at most 63 characters',
          code: 'VALIDATION_FAILED',
          message: 'invalid patch: labels.x must be at most 63 characters',
          requestId: 'req-1',
        }),
    });
    const r = ui;
    await waitFor(() => expect(r.button('Remove label team')).toBeTruthy());
    r.button('Remove label team').click();
    await waitFor(() => expect(r.host.querySelector('[role="alert"]')?.textContent).toMatch(/63 characters/));
  });
});
