import type { sandboxCommand } from './command.ts';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import type { SandboxFiles } from '@agenttier/sdk';
import { NotFoundError, normalizeRemotePath } from '@agenttier/sdk';
import type { Client } from '../../context.ts';
import { CliError, EXIT, UsageError } from '../../errors.ts';
import { formatBytes } from '../../output.ts';
import type { HandlerOf } from '../../spec.ts';
import { extractZip } from '../../zip.ts';

export type Location = { kind: 'local'; path: string } | { kind: 'remote'; sandbox: string; path: string };

const REMOTE_RE = /^([a-z0-9](?:[-a-z0-9]*[a-z0-9])?):(.*)$/s;

/** `NAME:/path` is a sandbox path (an empty path means /workspace); anything else is local. */
export function parseLocation(text: string): Location {
  const m = REMOTE_RE.exec(text);
  if (m && m[1] !== undefined) return { kind: 'remote', sandbox: m[1], path: m[2] || '/workspace' };
  return { kind: 'local', path: text };
}

function endsWithSlash(path: string): boolean {
  return path.endsWith('/') || path.endsWith(sep);
}

async function localStat(path: string) {
  try {
    return await stat(path);
  } catch (err) {
    if ((err as { code?: string }).code === 'ENOENT') return undefined;
    throw err;
  }
}

function remoteJoin(dir: string, name: string): string {
  return dir === '/' ? `/${name}` : `${dir}/${name}`;
}

/** Regular files under `root`, depth first; symlinks and special files are reported, not followed. */
async function walk(root: string, skipped: string[]): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(root, { withFileTypes: true })) {
    const full = join(root, entry.name);
    if (entry.isDirectory()) out.push(...(await walk(full, skipped)));
    else if (entry.isFile()) out.push(full);
    else skipped.push(full);
  }
  return out;
}

interface CopyResult {
  source: string;
  destination: string;
  files: number;
  bytes: number;
}

async function upload(client: Client, files: SandboxFiles, local: string, sandbox: string, remote: string) {
  const abs = resolve(client.cwd, local);
  const info = await localStat(abs);
  if (!info) throw new CliError(`local path ${local} does not exist`, EXIT.NOT_FOUND);
  let target = normalizeRemotePath(remote);
  let into = endsWithSlash(remote);
  if (!into) {
    try {
      into = (await files.stat(target, { signal: client.signal })).isDir;
    } catch (err) {
      if (!(err instanceof NotFoundError)) throw err;
    }
  }
  if (into) target = remoteJoin(target, basename(abs));

  if (info.isFile()) {
    const r = await files.upload(abs, target, { signal: client.signal });
    client.log(`Uploaded ${local} to ${sandbox}:${r.path} (${formatBytes(r.bytes)}B).`);
    return { source: local, destination: `${sandbox}:${r.path}`, files: 1, bytes: r.bytes };
  }
  if (!info.isDirectory()) throw new CliError(`${local} is neither a file nor a directory`);
  const skipped: string[] = [];
  const paths = await walk(abs, skipped);
  let bytes = 0;
  for (const path of paths) {
    const rel = relative(abs, path).split(sep).join('/');
    const r = await files.upload(path, `${target}/${rel}`, { signal: client.signal });
    bytes += r.bytes;
  }
  for (const s of skipped) client.warn(`skipped ${s} (not a regular file)`);
  client.log(
    `Uploaded ${paths.length} files from ${local} to ${sandbox}:${target} (${formatBytes(bytes)}B).`,
  );
  return { source: local, destination: `${sandbox}:${target}`, files: paths.length, bytes };
}

async function download(client: Client, files: SandboxFiles, sandbox: string, remote: string, local: string) {
  const remotePath = normalizeRemotePath(remote);
  const entry = await files.stat(remotePath, { signal: client.signal });
  const abs = resolve(client.cwd, local);
  const existing = await localStat(abs);
  const intoDir = existing?.isDirectory() === true || endsWithSlash(local);
  const name = basename(remotePath) || 'root';

  if (!entry.isDir) {
    const target = intoDir ? join(abs, name) : abs;
    if (!(await localStat(dirname(target)))?.isDirectory()) {
      throw new CliError(
        `local directory ${dirname(target)} does not exist`,
        EXIT.NOT_FOUND,
        'Create it first',
      );
    }
    const r = await files.download(remotePath, target, { signal: client.signal });
    client.log(
      `Downloaded ${sandbox}:${remotePath} to ${relative(client.cwd, target) || target} (${formatBytes(r.bytes)}B).`,
    );
    return { source: `${sandbox}:${remotePath}`, destination: target, files: 1, bytes: r.bytes };
  }

  if (!intoDir && abs.endsWith('.zip')) {
    const r = await files.archive(remotePath, abs, { signal: client.signal });
    client.log(`Saved ${sandbox}:${remotePath} as ${local} (${formatBytes(r.bytes)}B zip).`);
    return { source: `${sandbox}:${remotePath}`, destination: abs, files: 1, bytes: r.bytes };
  }
  const target = intoDir ? join(abs, name) : abs;
  const tmp = await mkdtemp(join(tmpdir(), 'agenttier-cp-'));
  try {
    const zip = join(tmp, 'archive.zip');
    await files.archive(remotePath, zip, { signal: client.signal });
    const r = await extractZip(zip, target, { stripTopDir: name, signal: client.signal });
    for (const s of r.skipped) client.warn(`skipped archive entry ${s}`);
    client.log(
      `Downloaded ${sandbox}:${remotePath} to ${relative(client.cwd, target) || target} (${r.files} files, ${formatBytes(r.bytes)}B).`,
    );
    return { source: `${sandbox}:${remotePath}`, destination: target, files: r.files, bytes: r.bytes };
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

export const cp: HandlerOf<typeof sandboxCommand, 'cp'> = async (client, { args }) => {
  const src = parseLocation(args[0]);
  const dst = parseLocation(args[1]);
  if (src.kind === 'remote' && dst.kind === 'remote') {
    throw new UsageError(
      'copying between two sandboxes is not supported',
      'Download to this machine, then upload',
    );
  }
  if (src.kind === 'local' && dst.kind === 'local') {
    throw new UsageError(
      'one side must be a sandbox path, written NAME:/path',
      'For example: agenttier sandbox cp ./file.txt demo:/workspace/file.txt',
    );
  }
  const remote = src.kind === 'remote' ? src : (dst as Extract<Location, { kind: 'remote' }>);
  const namespace = client.settings.namespace;
  const files = client.sdk().sandbox(remote.sandbox, namespace ? { namespace } : {}).files;
  let result: CopyResult;
  if (src.kind === 'local' && dst.kind === 'remote') {
    result = await upload(client, files, src.path, dst.sandbox, dst.path);
  } else if (src.kind === 'remote' && dst.kind === 'local') {
    result = await download(client, files, src.sandbox, src.path, dst.path);
  } else {
    throw new UsageError('unsupported copy');
  }
  if (client.output !== 'table') client.print(result, () => '');
  return EXIT.OK;
};
