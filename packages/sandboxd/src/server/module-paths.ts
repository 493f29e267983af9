import Module, { createRequire } from 'node:module';

/**
 * Takes the sandbox's directories out of Node's module search. Node's CommonJS resolution falls back
 * to "global folders" for a bare name it does not find next to the code: `$NODE_PATH`,
 * `$HOME/.node_modules` and `$HOME/.node_libraries`. sandboxd's HOME is the workspace, which the
 * sandbox writes, and the bundle asks for modules that are not there (ws's optional `bufferutil` and
 * `utf-8-validate`, on the first WebSocket): the red team planted
 * `/workspace/.node_modules/bufferutil/index.js` and the next terminal ran it inside sandboxd (its
 * socket, its token, its answers). Node computes those folders once, in `Module._initPaths()`; it is
 * run again here with HOME and NODE_PATH unset (then both are put back for the processes sandboxd
 * starts), leaving only the bundle's own `node_modules` chain and Node's install prefix.
 *
 * Returns where a bare name would now be looked for, so the caller can check it.
 */
export function dropGlobalModulePaths(moduleUrl: string): string[] {
  const saved = { HOME: process.env.HOME, NODE_PATH: process.env.NODE_PATH };
  delete process.env.HOME;
  delete process.env.NODE_PATH;
  try {
    (Module as unknown as { _initPaths?: () => void })._initPaths?.();
  } finally {
    for (const [k, v] of Object.entries(saved)) if (v !== undefined) process.env[k] = v;
  }
  return createRequire(moduleUrl).resolve.paths('bufferutil') ?? [];
}

/** The module search paths that lie under one of `roots` (the sandbox's writable places) or HOME. */
export function writableModulePaths(paths: readonly string[], roots: readonly string[]): string[] {
  const home = process.env.HOME;
  const places = [...roots, ...(home ? [home] : [])].filter((r) => r !== '/');
  return paths.filter((p) => places.some((r) => p === r || p.startsWith(`${r}/`)));
}
