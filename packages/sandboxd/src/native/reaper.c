/*
 * agenttier-reaper: keeps every descendant of a command inside one subtree (see ../reaper.ts).
 *
 * It marks itself a child subreaper (prctl PR_SET_CHILD_SUBREAPER), forks the command and reaps. An
 * orphan anywhere below it (a double fork, `setsid`, `nohup … &`, whatever its session, group or
 * environment) is reparented to it by the kernel instead of escaping to the container's init, so
 * "every process below this pid" is exactly what the command started.
 *
 *   agenttier-reaper --check
 *       exit 0 when this kernel lets us be a subreaper.
 *   agenttier-reaper [--status-fd N] [--exit-with-main] [--forward-signals] [--export-pid NAME]
 *                    [--oom-score-adj N] -- COMMAND [ARG...]
 *
 * --status-fd N      report on descriptor N: "R <pid>" once COMMAND runs, "E <errno name>" when it
 *                    cannot be started, then "X <code>" or "S <signal>" when it ends.
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
 * Without --status-fd or --forward-signals, descriptors 0-2 are replaced by /dev/null here after the
 * fork, so only COMMAND and its descendants hold the caller's pipes.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
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

static int usage(void) {
  fputs("usage: agenttier-reaper --check | [--status-fd N] [--exit-with-main] [--forward-signals] "
        "[--export-pid NAME] [--oom-score-adj N] -- COMMAND [ARG...]\n",
        stderr);
  return 2;
}

int main(int argc, char **argv) {
  int exit_with_main = 0, forward_signals = 0, i = 1;
  const char *export_name = NULL, *oom = NULL;
  for (; i < argc; i++) {
    if (strcmp(argv[i], "--check") == 0) return prctl(PR_SET_CHILD_SUBREAPER, 1) == 0 ? 0 : 1;
    else if (strcmp(argv[i], "--exit-with-main") == 0) exit_with_main = 1;
    else if (strcmp(argv[i], "--forward-signals") == 0) forward_signals = 1;
    else if (strcmp(argv[i], "--status-fd") == 0 && i + 1 < argc) status_fd = atoi(argv[++i]);
    else if (strcmp(argv[i], "--export-pid") == 0 && i + 1 < argc) export_name = argv[++i];
    else if (strcmp(argv[i], "--oom-score-adj") == 0 && i + 1 < argc) oom = argv[++i];
    else if (strcmp(argv[i], "--") == 0) { i++; break; }
    else return usage();
  }
  if (i >= argc) return usage();
  char **cmd = argv + i;

  if (prctl(PR_SET_CHILD_SUBREAPER, 1) != 0) perror("agenttier-reaper: PR_SET_CHILD_SUBREAPER");
  if (status_fd >= 0 && fcntl(status_fd, F_SETFD, FD_CLOEXEC) != 0) status_fd = -1;
  if (oom) {
    int fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
    if (fd >= 0) {
      ssize_t ignored = write(fd, oom, strlen(oom));
      (void)ignored;
      close(fd);
    }
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

  int errpipe[2];
  if (pipe2(errpipe, O_CLOEXEC) != 0) {
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
    for (size_t k = 0; k < N_FORWARDED; k++) signal(FORWARDED[k], SIG_DFL);
    signal(SIGPIPE, SIG_DFL);
    sigprocmask(SIG_SETMASK, &old, NULL);
    close(errpipe[0]);
    execvp(cmd[0], cmd);
    int e = errno;
    ssize_t ignored = write(errpipe[1], &e, sizeof e);
    (void)ignored;
    _exit(127);
  }
  main_pid = pid;
  close(errpipe[1]);
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
  report("R %d\n", NULL, (int)pid);

  if (!forward_signals && status_fd >= 0) {
    // Hold none of the caller's pipes: "output closed" must mean COMMAND's side is done.
    int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null >= 0) {
      dup2(null, 0);
      dup2(null, 1);
      dup2(null, 2);
      if (null > 2) close(null);
    }
  }
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
      break; // ECHILD: nothing left below us
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
