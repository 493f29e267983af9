import type { IncomingHttpHeaders } from 'node:http';
import { PlatformError } from '@agenttier/contract';

/**
 * No service workers on preview origins. A preview origin is named after the sandbox
 * (`{port}-{sandbox}--{namespace}`), so it outlives the sandbox: a worker registered by a hostile app
 * stays in the browser after the sandbox is deleted and controls the preview of the next sandbox given
 * that name (the same or another owner's), with the user's preview session — it answers the preview
 * link's exchange itself and reads every page. Browsers fetch a worker's script (on registration and
 * on every update check) with `Service-Worker: script`, so refusing those fetches means no preview can
 * register one. docs/security.md, "No service workers on previews".
 */
export function refuseServiceWorkerScript(headers: IncomingHttpHeaders): void {
  if (headers['service-worker'] === undefined) return;
  throw new PlatformError(
    'FORBIDDEN',
    'service workers are not allowed on preview origins (a worker would outlive its sandbox and take over the preview of the next sandbox with the same name)',
  );
}
