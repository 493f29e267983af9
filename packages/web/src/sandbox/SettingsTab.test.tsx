/**
 * The Settings tab's labels against a real HTTP server through the SDK: removing one label sends a
 * JSON merge patch with that key set to null and nothing else, so the other labels stay.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { sandboxView, sendJson } from '@agenttier/sdk/testing';
import type { SandboxView } from '@agenttier/sdk';
import { renderWithServer, waitFor, type Rendered } from '../testing/render.tsx';
import SettingsTab, { limitsPatch } from './SettingsTab.tsx';

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

describe('Settings tab limits', () => {
  it('sends only what changed, and refuses a bad value naming it', () => {
    const sb = { timeout: '8h', idleTimeout: '30m' };
    expect(limitsPatch(sb, ['8h', '45m', '', ''])).toEqual({ idleTimeout: '45m' });
    expect(limitsPatch(sb, ['8h', '30m', '500m', '2Gi'])).toEqual({
      resources: { limits: { cpu: '500m', memory: '2Gi' } },
    });
    expect(limitsPatch(sb, ['8h', '30m', '', ''])).toBe('Change a value first.');
    expect(limitsPatch(sb, ['soon', '30m', '', ''])).toMatch(/“soon” is not a duration/);
    expect(limitsPatch(sb, ['8h', '30m', 'two', ''])).toMatch(/^CPU is cores/);
    expect(limitsPatch(sb, ['8h', '30m', '', '2GB'])).toMatch(/^Memory is a quantity/);
  });

  it('saves timeouts and resources with one PATCH from the form', async () => {
    ui = await renderWithServer(<SettingsTab sandbox={view} />, {
      'PATCH /api/v1/sandboxes/demo': (_req, res) =>
        sendJson(res, 200, {
          sandboxId: 'demo',
          restartRequired: true,
          message: 'resource and env changes take effect after the sandbox is stopped and resumed',
        }),
    });
    const r = ui;
    await waitFor(() => expect(r.field('Idle timeout')).toBeTruthy());
    r.type(r.field('Idle timeout'), '2h');
    r.type(r.field('Memory limit'), '1Gi');
    r.button('Save timeouts and resources').click();
    await waitFor(() => expect(r.host.textContent).toContain('Saved. resource and env changes take effect'));
    expect(r.writes()).toEqual([
      {
        call: 'PATCH /api/v1/sandboxes/demo',
        body: { idleTimeout: '2h', resources: { limits: { memory: '1Gi' } } },
      },
    ]);
  });
});
