import { chromium } from 'playwright-core';
import type { Browser } from 'playwright-core';

/**
 * Host resolver rules under which a page resolves nothing but loopback names: a test page cannot reach
 * another address even by mistake (tests talk to loopback only).
 */
export const LOOPBACK_ONLY_RESOLVER = 'MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1';

export interface ChromiumOpts {
  /** Chromium's `--host-resolver-rules` (e.g. LOOPBACK_ONLY_RESOLVER, or a rebinding simulation). */
  hostResolverRules?: string;
}

/**
 * Debian's Chromium (/usr/bin/chromium) through playwright-core, headless and quiet: no GPU, no
 * background traffic, no first-run pages. `--no-sandbox`: Chromium refuses its own sandbox as root, which
 * is how the tests run here; the pages it loads are the tests' own.
 */
export function launchChromium(opts: ChromiumOpts = {}): Promise<Browser> {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      ...(opts.hostResolverRules ? [`--host-resolver-rules=${opts.hostResolverRules}`] : []),
    ],
  });
}
