/**
 * A fix applied to node-pty's `src/unix/pty.cc` before we compile it for sandboxd.
 *
 * node-pty starts one `std::thread` per terminal to wait for the shell's exit. When the sandbox is at
 * its pids limit (threads count), that constructor throws `std::system_error` (EAGAIN) from a N-API
 * callback, which nothing catches: the process aborts ("terminate called after throwing an instance of
 * 'std::system_error'"), and sandboxd with it. Patched, a failed thread start kills and reaps the
 * freshly forked shell, closes the PTY, and throws a JavaScript error whose message starts with
 * `EAGAIN`, which the terminal code turns into a "sandbox busy" answer.
 *
 * It also opens the terminal's master without close-on-exec (forkpty(3) does), so every process
 * sandboxd started later inherited the masters of the terminals open at that moment and could read
 * them and type into them (the red team's finding). Patched, the master is marked close-on-exec in
 * the same call that creates it, before control returns to JavaScript: nothing can be spawned in
 * between (sandboxd spawns only from its one JavaScript thread), whatever the runtime (gVisor too).
 *
 * Bump {@link PTY_PATCH_VERSION} when this changes: it is part of the compiled addon's cache key.
 */
export const PTY_PATCH_VERSION = 2;

interface Edit {
  what: string;
  from: string;
  to: string;
}

const EDITS: Edit[] = [
  {
    what: "the terminal's master is close-on-exec from its creation",
    from: `    default:
      if (pty_nonblock(master) == -1) {
        throw Napi::Error::New(napiEnv, "Could not set master fd to nonblocking.");
      }`,
    to: `    default:
      if (pty_nonblock(master) == -1) {
        throw Napi::Error::New(napiEnv, "Could not set master fd to nonblocking.");
      }
      if (fcntl(master, F_SETFD, FD_CLOEXEC) == -1) {
        close(master);
        kill(pid, SIGKILL);
        while (waitpid(pid, nullptr, 0) == -1 && errno == EINTR) {}
        throw Napi::Error::New(napiEnv, "Could not set the master fd close-on-exec.");
      }`,
  },
  {
    what: 'finalizer joins only a started thread',
    from: `      [th](Napi::Env) {   // Finalizer used to clean threads up
        th->join();
        delete th;
      });
  *th = std::thread([tsfn = std::move(tsfn), pid] {`,
    to: `      [th](Napi::Env) {   // Finalizer used to clean threads up
        if (th->joinable()) th->join();
        delete th;
      });
  napi_threadsafe_function agenttier_raw_tsfn = tsfn;
  try {
  *th = std::thread([tsfn = std::move(tsfn), pid] {`,
  },
  {
    what: 'a failed thread start releases the callback and rethrows',
    from: `      default:
        Napi::Error::Fatal("SetupExitCallback", "ThreadSafeFunction.BlockingCall() failed");
    }
  });
}`,
    to: `      default:
        Napi::Error::Fatal("SetupExitCallback", "ThreadSafeFunction.BlockingCall() failed");
    }
  });
  } catch (const std::system_error &) {
    napi_release_threadsafe_function(agenttier_raw_tsfn, napi_tsfn_abort);
    throw;
  }
}`,
  },
  {
    what: 'the fork survives a failed thread start',
    from: `  SetupExitCallback(napiEnv, cb, pid);
  return obj;`,
    to: `  try {
    SetupExitCallback(napiEnv, cb, pid);
  } catch (const std::system_error &) {
    close(master);
    kill(pid, SIGKILL);
    while (waitpid(pid, nullptr, 0) == -1 && errno == EINTR) {}
    throw Napi::Error::New(napiEnv, "EAGAIN: cannot start a thread for the terminal (the pids limit is reached)");
  }
  return obj;`,
  },
];

/** Applies the fix; throws when node-pty's source no longer looks the way the fix expects. */
export function patchPtySource(source: string): string {
  let out = source;
  for (const e of EDITS) {
    const at = out.indexOf(e.from);
    if (at < 0 || out.indexOf(e.from, at + 1) >= 0) {
      throw new Error(
        `sandboxd: cannot apply the node-pty fix "${e.what}": pty.cc changed; update packages/sandboxd/src/pty-patch.ts`,
      );
    }
    out = out.slice(0, at) + e.to + out.slice(at + e.from.length);
  }
  return out;
}
