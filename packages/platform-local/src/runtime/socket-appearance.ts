import { existsSync, watch } from 'node:fs';
import { join } from 'node:path';

/**
 * Calls `onAppear` once when `name` exists in `dir` (at once when it already does), or never if it has
 * not appeared within `maxWaitMs`. Used to wake the controller as soon as a freshly started sandboxd
 * listens, instead of waiting for its next readiness poll (20 sandboxes started at once otherwise sat
 * in Creating for up to a poll interval each after their daemon was up).
 *
 * The directory is the container's run volume, which the sandbox can write: a file it creates under
 * the same name only triggers one early look (the readiness probe still decides), and the watch ends
 * after the first appearance or `maxWaitMs`, so it cannot be made to fire repeatedly or live on.
 */
export function whenFileAppears(
  dir: string,
  name: string,
  onAppear: () => void,
  opts: { maxWaitMs: number },
): { close(): void } {
  let done = false;
  let watcher: ReturnType<typeof watch> | undefined;
  const timer = setTimeout(() => close(), opts.maxWaitMs);
  timer.unref();
  const close = () => {
    done = true;
    watcher?.close();
    clearTimeout(timer);
  };
  const fire = () => {
    if (done) return;
    close();
    onAppear();
  };
  try {
    watcher = watch(dir, { persistent: false }, (_event, file) => {
      if (file === name) fire();
    });
    watcher.on('error', close);
  } catch {
    close();
    return { close }; // no watch (directory gone, inotify limits): the readiness polls still find it
  }
  // Created between the start and the watch.
  if (existsSync(join(dir, name))) fire();
  return { close };
}
