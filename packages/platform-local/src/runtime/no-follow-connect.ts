import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { connect } from 'node:net';
import type { Socket } from 'node:net';

/**
 * Linux open(2) flags Node does not export. O_PATH opens a name without opening the file behind it:
 * no read, no blocking on a FIFO, no device side effects; with O_NOFOLLOW a symlink yields the link itself.
 */
const O_PATH = 0o10000000;
const O_NOFOLLOW = constants.O_NOFOLLOW;
const O_DIRECTORY = constants.O_DIRECTORY;
const O_CLOEXEC = 0o2000000;

export interface NoFollowConnectOpts {
  /**
   * Host directory holding the socket. Every component must be host-owned: the sandbox may write inside
   * it, but must not be able to replace it (a mount point, or an engine-owned path).
   */
  dir: string;
  /** Socket file name inside `dir`: one component, no slash. */
  name: string;
  /** Fails with ETIMEDOUT when the socket has not connected within this long. */
  timeoutMs: number;
}

function fail(code: string, message: string): NodeJS.ErrnoException {
  return Object.assign(new Error(message), { code });
}

/**
 * Connects to the unix socket `dir/name` when `dir` may be written by a hostile sandbox, without ever
 * following a link it planted: the directory is pinned by a descriptor (O_PATH|O_NOFOLLOW|O_DIRECTORY),
 * the name is resolved inside that descriptor with O_NOFOLLOW and must be a socket on the same
 * filesystem, and the connect goes to `/proc/self/fd/<fd>`, which reaches the inode already checked (no
 * window between check and connect). A symlink, FIFO, regular file or device in its place fails with
 * ENOTSOCK; nothing here reads, writes or blocks on what the sandbox put there.
 */
export async function connectNoFollow(opts: NoFollowConnectOpts): Promise<Socket> {
  if (opts.name === '' || opts.name.includes('/') || opts.name === '.' || opts.name === '..') {
    throw fail('EINVAL', `socket name must be a single path component (got ${JSON.stringify(opts.name)})`);
  }
  let dirFd: FileHandle | undefined;
  let sockFd: FileHandle | undefined;
  try {
    dirFd = await open(opts.dir, O_PATH | O_NOFOLLOW | O_DIRECTORY | O_CLOEXEC);
    const dirStat = await dirFd.stat();
    sockFd = await open(`/proc/self/fd/${dirFd.fd}/${opts.name}`, O_PATH | O_NOFOLLOW | O_CLOEXEC);
    const st = await sockFd.stat();
    if (!st.isSocket()) throw fail('ENOTSOCK', `${opts.name} in the sandbox's run directory is not a socket`);
    // Hard links cannot cross mounts, so this is defence in depth: the socket lives on the run volume.
    if (st.dev !== dirStat.dev) throw fail('EXDEV', `${opts.name} is not on the sandbox's run volume`);
    return await connectFd(sockFd.fd, opts.timeoutMs);
  } finally {
    await sockFd?.close().catch(() => undefined);
    await dirFd?.close().catch(() => undefined);
  }
}

function connectFd(fd: number, timeoutMs: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const sock = connect({ path: `/proc/self/fd/${fd}` });
    const timer = setTimeout(() => {
      sock.destroy();
      reject(fail('ETIMEDOUT', `no connection within ${timeoutMs} ms`));
    }, timeoutMs);
    sock.once('connect', () => {
      clearTimeout(timer);
      resolve(sock);
    });
    sock.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}
