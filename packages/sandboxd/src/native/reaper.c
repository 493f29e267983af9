/*
 * agenttier-reaper: keeps every descendant of a command inside one subtree (see ../reaper.ts).
 *
 * It marks itself a child subreaper (prctl PR_SET_CHILD_SUBREAPER), forks the command and reaps. An
 * orphan anywhere below it (a double fork, `setsid`, `nohup … &`, whatever its session, group or
 * environment) is reparented to it by the kernel instead of escaping to the container's init, so
 * "every process below this pid" is exactly what the command started.
 *
 * Where subreapers are refused (gVisor answers EINVAL to all but a PID namespace's init), it makes a
 * new user + PID namespace instead (the user namespace maps only our own uid and gid, so nothing
 * gains a privilege) and forks a copy of itself as that namespace's init, which then does the above.
 * Orphans in a PID namespace go to its init, a process inside cannot signal anything outside it (not
 * even this outer reaper: its pid does not exist there), and when the init dies the kernel kills
 * every process in the namespace. The outer reaper only waits and forwards signals.
 *
 *   agenttier-reaper --check
 *       exit 0 when this kernel lets us be a subreaper or make such a namespace.
 *   agenttier-reaper [--status-fd N] [--exit-with-main] [--forward-signals] [--export-pid NAME]
 *                    [--oom-score-adj N] -- COMMAND [ARG...]
 *   agenttier-reaper [same options] --command-fd N
 *       standby: fork the child at once and have it wait for its command on descriptor N (see
 *       "Standby" below) instead of taking it from the arguments.
 *
 * --status-fd N      report on descriptor N: "R <pid>" once COMMAND runs, "E <errno name>" when it
 *                    cannot be started, then "X <code>" or "S <signal>" when it ends, and "D" when
 *                    its whole subtree is gone (no child left to wait for; never with
 *                    --exit-with-main).
 * --exit-with-main   exit as soon as COMMAND ends (with its status: code, or 128 + signal); without
 *                    it, keep reaping until no descendant is left, so what COMMAND left running stays
 *                    inside this subtree.
 * --forward-signals  pass TERM, INT, HUP, QUIT, USR1, USR2 and WINCH on to COMMAND; without it those
 *                    are ignored here (the caller signals COMMAND's process group) and reset to their
 *                    defaults for COMMAND.
 * --export-pid NAME  put this process's pid in COMMAND's environment as NAME.
 * --oom-score-adj N  set before forking, so COMMAND and its descendants inherit it.
 *
 * COMMAND gets SIGKILL when this reaper dies (PR_SET_PDEATHSIG).
 *
 * The reaper makes itself non-dumpable (PR_SET_DUMPABLE 0) before anything else it does for the
 * command, so code of the sandbox (same uid) cannot ptrace it or its child before the child's exec,
 * nor open their /proc/PID/mem or environ; and it refuses to run ("E EPERM") when a tracer attached
 * before that.
 *
 * Without --status-fd or --forward-signals, descriptors 0-2 are replaced by /dev/null here after the
 * fork, so only COMMAND and its descendants hold the caller's pipes.
 *
 * Standby (--command-fd N): sandboxd keeps a few of these started ahead, so that an exec or a terminal
 * can start while the sandbox's own processes fill its pids limit (every pid the command needs, the
 * reaper's and its child's, is already taken). The child reads one message from N, then chdirs and
 * execs it; the message is NUL-terminated fields: CWD, ARGC, ARGC arguments, ENVC, ENVC environment
 * entries ("NAME=value"; they replace the environment). When N is a terminal (a standby terminal's
 * pty) it is put in raw mode without echo while the message is read (and says so by writing
 * ESC ] agenttier-standby BEL to it, which sandboxd waits for), and its settings are restored before
 * the exec (followed by ESC ] agenttier-started BEL: sandboxd holds typed input until then). End of
 * file or an error before a whole message: the child exits 127 unstarted.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

static volatile pid_t main_pid = -1;

static const int FORWARDED[] = {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH};
#define N_FORWARDED (sizeof FORWARDED / sizeof FORWARDED[0])

static void forward(int sig) {
  int saved = errno;
  if (main_pid > 0) kill(main_pid, sig);
  errno = saved;
}

static const char *errno_name(int e) {
  switch (e) {
  case ENOENT: return "ENOENT";
  case EACCES: return "EACCES";
  case ENOEXEC: return "ENOEXEC";
  case EAGAIN: return "EAGAIN";
  case ENOMEM: return "ENOMEM";
  case E2BIG: return "E2BIG";
  case ENOTDIR: return "ENOTDIR";
  case ELOOP: return "ELOOP";
  case ETXTBSY: return "ETXTBSY";
  case EPERM: return "EPERM";
  case EMFILE: return "EMFILE";
  case ENFILE: return "ENFILE";
  default: return "EIO";
  }
}

static int status_fd = -1;

static void report(const char *fmt, const char *s, int n) {
  if (status_fd < 0) return;
  char line[64];
  int len = s ? snprintf(line, sizeof line, fmt, s) : snprintf(line, sizeof line, fmt, n);
  if (len > 0) {
    ssize_t w;
    do w = write(status_fd, line, (size_t)len);
    while (w < 0 && errno == EINTR);
  }
}

/* Writes `text` to a /proc file of this process; 0 on success. */
static int write_proc(const char *path, const char *text) {
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  ssize_t w = write(fd, text, strlen(text));
  int e = errno;
  close(fd);
  errno = e;
  return w == (ssize_t)strlen(text) ? 0 : -1;
}

/*
 * Moves this process's future children into a new PID namespace, inside a new user namespace that
 * maps our own uid and gid to themselves (all an unprivileged process may map): the command keeps its
 * identity and file ownership, and gains nothing (its capabilities in the new namespace are dropped
 * by its execve as a non-root uid, and are worthless outside it anyway).
 */
static int new_pid_namespace(void) {
  uid_t uid = geteuid();
  gid_t gid = getegid();
  if (unshare(CLONE_NEWUSER | CLONE_NEWPID) != 0) return -1;
  char map[64];
  if (write_proc("/proc/self/setgroups", "deny") != 0 && errno != ENOENT) return -1;
  snprintf(map, sizeof map, "%u %u 1\n", (unsigned)uid, (unsigned)uid);
  if (write_proc("/proc/self/uid_map", map) != 0) return -1;
  snprintf(map, sizeof map, "%u %u 1\n", (unsigned)gid, (unsigned)gid);
  if (write_proc("/proc/self/gid_map", map) != 0) return -1;
  return 0;
}

/* The pid of this process as /proc (mounted for the container's PID namespace) names it. */
static pid_t proc_pid(void) {
  char buf[32];
  ssize_t n = readlink("/proc/self", buf, sizeof buf - 1);
  if (n <= 0) return getpid();
  buf[n] = 0;
  pid_t p = (pid_t)atoi(buf);
  return p > 0 ? p : getpid();
}

/* --check: can this kernel hold a command's descendants one way or the other? */
static int check(void) {
  if (prctl(PR_SET_CHILD_SUBREAPER, 1) == 0) return 0;
  pid_t probe = fork();
  if (probe < 0) return 1;
  if (probe == 0) {
    if (new_pid_namespace() != 0) _exit(1);
    pid_t init = fork();
    if (init < 0) _exit(1);
    if (init == 0) _exit(getpid() == 1 ? 0 : 1);
    int st;
    if (waitpid(init, &st, 0) != init) _exit(1);
    _exit(WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : 1);
  }
  int st;
  if (waitpid(probe, &st, 0) != probe) return 1;
  return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : 1;
}

static void drop_stdio(void) {
  int null = open("/dev/null", O_RDWR | O_CLOEXEC);
  if (null >= 0) {
    dup2(null, 0);
    dup2(null, 1);
    dup2(null, 2);
    if (null > 2) close(null);
  }
}

/*
 * The outer reaper of the PID-namespace mode: forks the namespace's init (which goes on as the reaper
 * proper and returns 0 here), then waits for it, passing signals on, and exits with its status.
 */
static int outer_reaper(int forward_signals, sigset_t *old) {
  int alive[2];
  if (pipe2(alive, O_CLOEXEC) != 0) {
    report("E %s\n", errno_name(errno), 0);
    exit(126);
  }
  pid_t init = fork();
  if (init < 0) {
    report("E %s\n", errno_name(errno), 0);
    exit(126);
  }
  if (init == 0) {
    // The namespace's init dies with us (and the kernel then kills everything in the namespace). Its
    // parent is outside the namespace, so getppid() says 0 either way: the pipe tells whether we died
    // before the death signal was armed.
    close(alive[1]);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    struct pollfd pfd = {.fd = alive[0], .events = POLLIN};
    if (poll(&pfd, 1, 0) != 0) _exit(127);
    close(alive[0]);
    return 0;
  }
  close(alive[0]);
  main_pid = init;
  if (status_fd >= 0) close(status_fd); // the init reports; we hold nothing of the caller's
  if (!forward_signals && status_fd >= 0) drop_stdio();
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = forward_signals ? forward : SIG_IGN;
  sa.sa_flags = SA_RESTART;
  for (size_t k = 0; k < N_FORWARDED; k++) sigaction(FORWARDED[k], &sa, NULL);
  signal(SIGPIPE, SIG_IGN);
  sigprocmask(SIG_SETMASK, old, NULL);
  int st;
  pid_t p;
  do p = waitpid(init, &st, 0);
  while (p < 0 && errno == EINTR);
  if (p != init) exit(126);
  exit(WIFSIGNALED(st) ? 128 + WTERMSIG(st) : WEXITSTATUS(st));
}

/** Largest standby message accepted (the router caps argv and env at a few MiB together). */
#define MAX_MESSAGE (8u << 20)

struct message {
  char *buf;
  size_t len;
  char *cwd;
  char **argv;
  char **envp;
};

/** The next NUL-terminated field of buf[*pos, len), or NULL when it is not all there yet. */
static char *field(char *buf, size_t len, size_t *pos) {
  char *start = buf + *pos;
  char *nul = memchr(start, '\0', len - *pos);
  if (!nul) return NULL;
  *pos = (size_t)(nul - buf) + 1;
  return start;
}

/** A count field: decimal, at most 1 << 20. Returns -1 when malformed. */
static long count_of(const char *s) {
  char *end;
  long n = strtol(s, &end, 10);
  return (*s && !*end && n >= 0 && n <= (1L << 20)) ? n : -1;
}

/** Fills m's pointers from m->buf when it holds a whole message: 1 done, 0 more needed, -1 malformed. */
static int parse_message(struct message *m) {
  size_t pos = 0;
  char *f;
  if (!(m->cwd = field(m->buf, m->len, &pos))) return 0;
  if (!(f = field(m->buf, m->len, &pos))) return 0;
  long argc = count_of(f);
  if (argc < 1) return -1;
  free(m->argv);
  m->argv = calloc((size_t)argc + 1, sizeof *m->argv);
  if (!m->argv) return -1;
  for (long k = 0; k < argc; k++)
    if (!(m->argv[k] = field(m->buf, m->len, &pos))) return 0;
  if (!(f = field(m->buf, m->len, &pos))) return 0;
  long envc = count_of(f);
  if (envc < 0) return -1;
  free(m->envp);
  m->envp = calloc((size_t)envc + 1, sizeof *m->envp);
  if (!m->envp) return -1;
  for (long k = 0; k < envc; k++)
    if (!(m->envp[k] = field(m->buf, m->len, &pos))) return 0;
  return pos == m->len ? 1 : -1; // nothing may follow the message
}

/** Reads one message from fd (raw, no echo, while fd is a terminal). 0 on success, else an errno. */
static int read_message(int fd, struct message *m) {
  struct termios saved;
  int tty = tcgetattr(fd, &saved) == 0;
  if (tty) {
    struct termios raw = saved;
    cfmakeraw(&raw);
    tcsetattr(fd, TCSANOW, &raw);
    // Tells sandboxd (standby.ts STANDBY_READY) that what it writes now arrives unechoed and as is.
    static const char ready[] = "\033]agenttier-standby\007";
    ssize_t ignored = write(fd, ready, sizeof ready - 1);
    (void)ignored;
  }
  size_t cap = 4096;
  int result = EIO;
  memset(m, 0, sizeof *m);
  m->buf = malloc(cap);
  while (m->buf) {
    if (m->len == cap) {
      if (cap >= MAX_MESSAGE) break;
      char *bigger = realloc(m->buf, cap * 2);
      if (!bigger) break;
      m->buf = bigger;
      cap *= 2;
    }
    // From a terminal one byte at a time: what the user types next must stay for the command.
    ssize_t got = read(fd, m->buf + m->len, tty ? 1 : cap - m->len);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) break;
    m->len += (size_t)got;
    int parsed = parse_message(m);
    if (parsed < 0) break;
    if (parsed > 0) {
      result = 0;
      break;
    }
  }
  if (tty) {
    tcsetattr(fd, TCSANOW, &saved);
    // Tells sandboxd (standby-start-gate.ts STANDBY_STARTED) that input now arrives under the pty's own
    // settings: what it held back while this read in raw mode can be typed now.
    static const char started[] = "\033]agenttier-started\007";
    if (result == 0) {
      ssize_t ignored = write(fd, started, sizeof started - 1);
      (void)ignored;
    }
  }
  return result;
}

/*
 * Marks every inherited descriptor but the standard ones and ours close-on-exec. sandboxd's own
 * descriptors reach us when they lack that flag (node-pty opens terminal masters without it), and a
 * command holding another session's pty master could read it and type into it.
 */
static void cloexec_inherited(int keep_a, int keep_b) {
  DIR *d = opendir("/proc/self/fd");
  if (!d) {
    for (int fd = 3; fd < 4096; fd++)
      if (fd != keep_a && fd != keep_b) fcntl(fd, F_SETFD, FD_CLOEXEC);
    return;
  }
  int own = dirfd(d);
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    char *end;
    long fd = strtol(e->d_name, &end, 10);
    if (*end != '\0' || end == e->d_name || fd <= 2 || fd == own || fd == keep_a || fd == keep_b) continue;
    fcntl((int)fd, F_SETFD, FD_CLOEXEC);
  }
  closedir(d);
}

/* Whether a tracer holds this process (TracerPid in /proc/self/status; no /proc: assume none). */
static int traced(void) {
  int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  char buf[4096];
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return 0;
  buf[n] = 0;
  const char *t = strstr(buf, "\nTracerPid:");
  return t != NULL && atoi(t + strlen("\nTracerPid:")) != 0;
}

static int usage(void) {
  fputs("usage: agenttier-reaper --check | [--status-fd N] [--exit-with-main] [--forward-signals] "
        "[--export-pid NAME] [--oom-score-adj N] (-- COMMAND [ARG...] | --command-fd N)\n",
        stderr);
  return 2;
}

int main(int argc, char **argv) {
  int exit_with_main = 0, forward_signals = 0, command_fd = -1, i = 1;
  const char *export_name = NULL, *oom = NULL;
  for (; i < argc; i++) {
    if (strcmp(argv[i], "--check") == 0) return check();
    else if (strcmp(argv[i], "--exit-with-main") == 0) exit_with_main = 1;
    else if (strcmp(argv[i], "--forward-signals") == 0) forward_signals = 1;
    else if (strcmp(argv[i], "--status-fd") == 0 && i + 1 < argc) status_fd = atoi(argv[++i]);
    else if (strcmp(argv[i], "--export-pid") == 0 && i + 1 < argc) export_name = argv[++i];
    else if (strcmp(argv[i], "--oom-score-adj") == 0 && i + 1 < argc) oom = argv[++i];
    else if (strcmp(argv[i], "--command-fd") == 0 && i + 1 < argc) command_fd = atoi(argv[++i]);
    else if (strcmp(argv[i], "--") == 0) { i++; break; }
    else return usage();
  }
  if ((command_fd < 0) == (i >= argc)) return usage(); // a command, or a descriptor to read it from
  char **cmd = argv + i;
  // The message's descriptor is the child's alone: the command never inherits it (unless it is one of
  // the standard ones, a standby terminal's pty, which the command then uses as such).
  if (command_fd > 2 && fcntl(command_fd, F_SETFD, FD_CLOEXEC) != 0) return usage();

  if (status_fd >= 0 && fcntl(status_fd, F_SETFD, FD_CLOEXEC) != 0) status_fd = -1;
  // Opened now: once non-dumpable, our /proc entries are root's and this uid can no longer open it.
  int oom_fd = oom ? open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC) : -1;
  int pid_namespace = 0;
  if (prctl(PR_SET_CHILD_SUBREAPER, 1) != 0) {
    if (new_pid_namespace() == 0) pid_namespace = 1;
    else perror("agenttier-reaper: neither a subreaper nor a PID namespace");
  }
  // Non-dumpable as soon as the namespace's id maps are written (they need our /proc entries): the
  // sandbox's code runs as our uid and could otherwise ptrace us, open /proc/PID/mem or read our
  // environ. A standby (and its child, which inherits this until it execs the command) waits for
  // someone else's command; any reaper is a parent sandboxd trusts, alive outside every exec's tree.
  // A tracer that attached in the few instructions before this keeps its hold: refuse to go on then.
  if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0 || traced()) {
    report("E %s\n", "EPERM", 0);
    return 126;
  }
  // Not in the PID-namespace mode (gVisor): with the sweep there, runsc 2022-12 lost the whole sandbox
  // in 2 of 4 runs of the escape suite (0 of 5 without); the leak it closes is documented for gVisor.
  if (!pid_namespace) cloexec_inherited(status_fd, command_fd);
  if (oom_fd >= 0) {
    ssize_t ignored = write(oom_fd, oom, strlen(oom));
    (void)ignored;
    close(oom_fd);
  }
  if (export_name) {
    char pid[16];
    snprintf(pid, sizeof pid, "%d", (int)getpid());
    setenv(export_name, pid, 1);
  }

  // Block the forwarded signals until main_pid is known and the handlers are in place.
  sigset_t block, old;
  sigemptyset(&block);
  for (size_t k = 0; k < N_FORWARDED; k++) sigaddset(&block, FORWARDED[k]);
  sigprocmask(SIG_BLOCK, &block, &old);
  if (pid_namespace) outer_reaper(forward_signals, &old); // returns in the namespace's init only

  int errpipe[2];
  if (pipe2(errpipe, O_CLOEXEC) != 0) {
    report("E %s\n", errno_name(errno), 0);
    return 126;
  }
  int pidpipe[2];
  if (pipe2(pidpipe, O_CLOEXEC) != 0) {
    report("E %s\n", errno_name(errno), 0);
    return 126;
  }
  pid_t self = getpid();
  pid_t pid = fork();
  if (pid < 0) {
    report("E %s\n", errno_name(errno), 0);
    return 126;
  }
  if (pid == 0) {
    // COMMAND dies with this reaper: killing the reaper is no way out for it (its own descendants
    // are reparented and killed by sandboxd, see reaper.ts).
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != self) _exit(127);
    pid_t visible = proc_pid();
    ssize_t wrote = write(pidpipe[1], &visible, sizeof visible);
    (void)wrote;
    close(pidpipe[0]);
    close(pidpipe[1]);
    for (size_t k = 0; k < N_FORWARDED; k++) signal(FORWARDED[k], SIG_DFL);
    signal(SIGPIPE, SIG_DFL);
    sigprocmask(SIG_SETMASK, &old, NULL);
    close(errpipe[0]);
    int e = 0;
    if (command_fd >= 0) {
      // Standby: wait here, every pid already taken, until sandboxd hands over a command.
      struct message m;
      e = read_message(command_fd, &m);
      if (command_fd > 2) close(command_fd);
      if (e == 0 && chdir(m.cwd) != 0) e = errno;
      if (e == 0) {
        extern char **environ;
        environ = m.envp;
        if (export_name) {
          char pid[16];
          snprintf(pid, sizeof pid, "%d", (int)self);
          setenv(export_name, pid, 1);
        }
        cmd = m.argv;
      }
    }
    if (e == 0) {
      execvp(cmd[0], cmd);
      e = errno;
    }
    ssize_t ignored = write(errpipe[1], &e, sizeof e);
    (void)ignored;
    _exit(127);
  }
  main_pid = pid;
  close(errpipe[1]);
  close(pidpipe[1]);
  if (command_fd > 2) close(command_fd);
  pid_t visible = pid;
  ssize_t got_pid;
  do got_pid = read(pidpipe[0], &visible, sizeof visible);
  while (got_pid < 0 && errno == EINTR);
  if (got_pid != (ssize_t)sizeof visible) visible = pid;
  close(pidpipe[0]);
  int exec_errno = 0;
  ssize_t got;
  do got = read(errpipe[0], &exec_errno, sizeof exec_errno);
  while (got < 0 && errno == EINTR);
  close(errpipe[0]);
  if (got == (ssize_t)sizeof exec_errno) {
    report("E %s\n", errno_name(exec_errno), 0);
    waitpid(pid, NULL, 0);
    return exec_errno == ENOENT ? 127 : 126;
  }
  report("R %d\n", NULL, (int)visible);

  // Hold none of the caller's pipes: "output closed" must mean COMMAND's side is done.
  if (!forward_signals && status_fd >= 0) drop_stdio();
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = forward_signals ? forward : SIG_IGN;
  sa.sa_flags = SA_RESTART;
  for (size_t k = 0; k < N_FORWARDED; k++) sigaction(FORWARDED[k], &sa, NULL);
  signal(SIGPIPE, SIG_IGN);
  sigprocmask(SIG_SETMASK, &old, NULL);

  int main_status = -1;
  for (;;) {
    int st;
    pid_t p = waitpid(-1, &st, 0);
    if (p < 0) {
      if (errno == EINTR) continue;
      // Nothing left below us, and nothing can appear any more (only we could fork into this subtree):
      // "D" tells sandboxd that the command's tree is empty, so it need not scan /proc for it.
      if (errno == ECHILD && main_status >= 0) report("D%s\n", "", 0);
      break;
    }
    if (p != pid) continue; // an adopted orphan: reaped, nothing else to do
    main_status = st;
    main_pid = -1;
    if (WIFSIGNALED(st)) report("S %d\n", NULL, WTERMSIG(st));
    else report("X %d\n", NULL, WEXITSTATUS(st));
    if (exit_with_main) break;
  }
  if (main_status < 0) return 126;
  return WIFSIGNALED(main_status) ? 128 + WTERMSIG(main_status) : WEXITSTATUS(main_status);
}
