/**
 * Node built-ins for the few SDK features that touch the local machine (the CLI config file, local
 * uploads and downloads). Loaded with `process.getBuiltinModule` rather than `import`, so the SDK has
 * no `node:` import at all and bundles for the browser as it is (the web UI uses it there).
 */
type BuiltinLoader = (id: string) => unknown;

function loader(): BuiltinLoader | undefined {
  const proc = (globalThis as { process?: { getBuiltinModule?: BuiltinLoader } }).process;
  return typeof proc?.getBuiltinModule === 'function' ? proc.getBuiltinModule.bind(proc) : undefined;
}

/** The built-in module `id`, or undefined outside Node (a browser). */
export function maybeNodeModule<T>(id: string): T | undefined {
  return loader()?.(id) as T | undefined;
}

/** The built-in module `id`; throws a TypeError naming `feature` outside Node. */
export function nodeModule<T>(id: string, feature: string): T {
  const mod = maybeNodeModule<T>(id);
  if (mod === undefined) throw new TypeError(`${feature} needs Node.js (it reads or writes local files)`);
  return mod;
}
