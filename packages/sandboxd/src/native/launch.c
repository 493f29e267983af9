/*
 * agenttier-launch: the privileged first step of a sandbox container (docs/security.md, "sandboxd's
 * socket and token out of the sandbox's reach").
 *
 * The container starts as root with only CAP_SETUID, CAP_SETGID, CAP_SETPCAP (and CAP_KILL, which the
 * engine's init needs to signal sandboxd). Before any code of the sandbox can run, this:
 *   1. reads sandboxd's token from a root-only file the router put in the run directory before the
 *      container started, removes it, and hands it over on a pipe (descriptor 4): it is in no
 *      environment (gVisor lets any uid read /proc/1/environ, the engine's init's), no command line
 *      and no file the sandbox user can read;
 *   2. binds sandboxd's listening socket (descriptor 3) as root, mode 0600, in the run directory, which
 *      belongs to root and which it makes 0755: the sandbox user can neither unlink, rename nor replace
 *      the socket, nor connect to it;
 *   3. empties the capability bounding set, drops to the sandbox user for good (supplementary groups,
 *      gid, uid: every capability is gone) and executes COMMAND, which is sandboxd (or the fallback when its Node cannot run).
 *
 *   agenttier-launch (--socket PATH | --listen-tcp HOST:PORT) --uid N --gid N
 *                    [--token-file PATH [--token-file-read-only]] -- COMMAND [ARG...]
 *
 * COMMAND finds the descriptors in AGENTTIER_SANDBOXD_LISTEN_FD and AGENTTIER_SANDBOXD_TOKEN_FD.
 * Started as anything but root with --socket it changes nothing and executes COMMAND as it is (sandboxd
 * then binds its socket itself, as before).
 *
 * Kubernetes (--listen-tcp): the pod's sandbox container starts the same way, under tini as root, and
 * this binds sandboxd's TCP port as root instead of a socket: a listening socket owned by root cannot
 * be joined with SO_REUSEPORT by another uid, and while it lives nobody else can bind the port. HOST
 * `[::]` listens on IPv4 and IPv6 (IPV6_V6ONLY off; 0.0.0.0 where the kernel has no IPv6), so the port
 * is taken on both families. The token file is a root-only copy the pod's init container made in a
 * memory volume mounted read-only here: with --token-file-read-only a removal refused with EROFS is
 * tolerated (the file stays, root's, mode 0400). A root child without capabilities keeps the port
 * bound until the container ends (hold_listener). Every failure in this mode is fatal (exit 126): there
 * is no engine exec to fall back to, and a pod without its sandboxd ends and is reported.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <libgen.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/capability.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define LISTEN_FD 3
#define TOKEN_FD 4

static int fail(const char *what) {
  fprintf(stderr, "agenttier-launch: %s: %s\n", what, strerror(errno));
  return 126;
}

static int usage(void) {
  fputs("usage: agenttier-launch (--socket PATH | --listen-tcp HOST:PORT) --uid N --gid N\n"
        "                        [--token-file PATH [--token-file-read-only]] -- COMMAND [ARG...]\n",
        stderr);
  return 2;
}

/* Moves `fd` to `target` (without close-on-exec: COMMAND inherits it). */
static int move_fd(int fd, int target) {
  if (fd == target) return fcntl(fd, F_SETFD, 0);
  if (dup2(fd, target) < 0) return -1;
  close(fd);
  return 0;
}

/*
 * Reads the token file (root's, never followed), removes it and puts the token on TOKEN_FD. With
 * `read_only_ok`, a file on a read-only mount (EROFS) stays where it is.
 */
static int hand_over_token(const char *path, int read_only_ok) {
  char token[4096];
  int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return fail(path);
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != 0 || (st.st_mode & 077) != 0) {
    close(fd);
    errno = EPERM;
    return fail("the token file is not a root-only regular file");
  }
  ssize_t n = read(fd, token, sizeof token);
  close(fd);
  if (unlink(path) != 0 && !(read_only_ok && errno == EROFS)) return fail("remove the token file");
  if (n <= 0 || n == (ssize_t)sizeof token) {
    errno = EINVAL;
    return fail("token file");
  }
  int p[2];
  if (pipe(p) != 0) return fail("pipe");
  ssize_t w = write(p[1], token, (size_t)n);
  memset(token, 0, sizeof token);
  close(p[1]);
  if (w != n || move_fd(p[0], TOKEN_FD) != 0) return fail("token descriptor");
  if (setenv("AGENTTIER_SANDBOXD_TOKEN_FD", "4", 1) != 0) return fail("environment");
  return 0;
}

/*
 * Binds the listening socket at `path` as root, mode 0600, on descriptor LISTEN_FD, in a directory that
 * must belong to root (it is made 0755). 0 on success.
 */
static int bind_socket(const char *path) {
  char dir_buf[sizeof(((struct sockaddr_un *)0)->sun_path)];
  struct sockaddr_un addr;
  memset(&addr, 0, sizeof addr);
  addr.sun_family = AF_UNIX;
  if (strlen(path) >= sizeof addr.sun_path) {
    errno = ENAMETOOLONG;
    return fail(path);
  }
  strcpy(addr.sun_path, path);
  strcpy(dir_buf, path);
  const char *dir = dirname(dir_buf);
  struct stat st;
  if (lstat(dir, &st) != 0) return fail(dir);
  if (!S_ISDIR(st.st_mode) || st.st_uid != 0) {
    errno = EPERM;
    return fail("the socket directory is not a directory owned by root");
  }
  if ((st.st_mode & 07777) != 0755 && chmod(dir, 0755) != 0) return fail("chmod the socket directory");
  if (unlink(path) != 0 && errno != ENOENT) return fail("remove a stale socket");
  int s = socket(AF_UNIX, SOCK_STREAM, 0);
  if (s < 0) return fail("socket");
  mode_t old = umask(0177); // created 0600: root's alone (gVisor's gofer refuses a chmod afterwards)
  int bound = bind(s, (struct sockaddr *)&addr, sizeof addr);
  umask(old);
  if (bound != 0) {
    close(s);
    return fail(path);
  }
  if (listen(s, 511) != 0 || move_fd(s, LISTEN_FD) != 0) {
    close(s);
    unlink(path);
    return fail("listen");
  }
  if (setenv("AGENTTIER_SANDBOXD_LISTEN_FD", "3", 1) != 0) return fail("environment");
  return 0;
}

/* Puts a listening socket on LISTEN_FD and says so in the environment. */
static int hand_over_listener(int s) {
  if (listen(s, 511) != 0 || move_fd(s, LISTEN_FD) != 0) {
    close(s);
    return fail("listen");
  }
  if (setenv("AGENTTIER_SANDBOXD_LISTEN_FD", "3", 1) != 0) return fail("environment");
  return 0;
}

/*
 * Binds HOST:PORT (an IPv4 literal, or [IPv6]) as root on descriptor LISTEN_FD. `[::]` also takes the
 * IPv4 port (IPV6_V6ONLY off), and falls back to 0.0.0.0 where the kernel has no IPv6. 0 on success.
 */
static int bind_tcp(const char *spec) {
  char host[64];
  const char *colon = strrchr(spec, ':');
  if (!colon || colon == spec || (size_t)(colon - spec) >= sizeof host) {
    errno = EINVAL;
    return fail("--listen-tcp must be HOST:PORT");
  }
  memcpy(host, spec, (size_t)(colon - spec));
  host[colon - spec] = 0;
  char *end;
  long port = strtol(colon + 1, &end, 10);
  if (*end != 0 || end == colon + 1 || port < 0 || port > 65535) { // 0: the kernel picks (tests)
    errno = EINVAL;
    return fail("--listen-tcp: bad port");
  }
  int v6 = host[0] == '[';
  if (v6) {
    size_t n = strlen(host);
    if (n < 3 || host[n - 1] != ']') {
      errno = EINVAL;
      return fail("--listen-tcp: bad [IPv6] host");
    }
    memmove(host, host + 1, n - 2);
    host[n - 2] = 0;
  }
  int s = -1;
  if (v6) {
    struct sockaddr_in6 a6;
    memset(&a6, 0, sizeof a6);
    a6.sin6_family = AF_INET6;
    a6.sin6_port = htons((uint16_t)port);
    if (inet_pton(AF_INET6, host, &a6.sin6_addr) != 1) {
      errno = EINVAL;
      return fail("--listen-tcp: bad IPv6 address");
    }
    s = socket(AF_INET6, SOCK_STREAM, 0);
    if (s >= 0) {
      int off = 0;
      if (setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off) != 0 ||
          bind(s, (struct sockaddr *)&a6, sizeof a6) != 0) {
        int e = errno;
        close(s);
        errno = e;
        return fail(spec);
      }
      return hand_over_listener(s);
    }
    if (errno != EAFNOSUPPORT || !IN6_IS_ADDR_UNSPECIFIED(&a6.sin6_addr)) return fail("socket");
    strcpy(host, "0.0.0.0"); // no IPv6 in this kernel: the IPv4 wildcard is all there is
  }
  struct sockaddr_in a4;
  memset(&a4, 0, sizeof a4);
  a4.sin_family = AF_INET;
  a4.sin_port = htons((uint16_t)port);
  if (inet_pton(AF_INET, host, &a4.sin_addr) != 1) {
    errno = EINVAL;
    return fail("--listen-tcp: bad IPv4 address");
  }
  s = socket(AF_INET, SOCK_STREAM, 0);
  if (s < 0) return fail("socket");
  if (bind(s, (struct sockaddr *)&a4, sizeof a4) != 0) {
    int e = errno;
    close(s);
    errno = e;
    return fail(spec);
  }
  return hand_over_listener(s);
}

/*
 * Forks a process that keeps the listening port open for as long as the container lives: root's, every
 * capability dropped, holding nothing but LISTEN_FD, waiting for the end. When sandboxd dies (killed
 * by code in the sandbox, say), the port is not free for a moment before the container's init exits
 * and the kernel kills every process left: it stays bound by a process the sandbox user can neither
 * signal, ptrace nor read, so nothing of the sandbox ever listens on it. It is sandboxd's child, in
 * its process group: the kubelet's SIGTERM, which tini passes to the group, ends it too.
 */
static int hold_listener(void) {
  pid_t pid = fork();
  if (pid < 0) return fail("fork the port holder");
  if (pid > 0) return 0;
  for (int fd = 0; fd < 1024; fd++)
    if (fd != LISTEN_FD) close(fd);
  prctl(PR_SET_NAME, "sandboxd-port", 0, 0, 0);
  prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  for (int cap = 0; cap <= 63; cap++) prctl(PR_CAPBSET_DROP, cap);
  struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct data[2];
  memset(data, 0, sizeof data);
  syscall(SYS_capset, &hdr, data);
  for (;;) pause();
}

int main(int argc, char **argv) {
  const char *socket_path = NULL, *tcp = NULL, *token_file = NULL;
  long uid = -1, gid = -1;
  int token_read_only = 0;
  int i = 1;
  for (; i < argc; i++) {
    if (strcmp(argv[i], "--socket") == 0 && i + 1 < argc) socket_path = argv[++i];
    else if (strcmp(argv[i], "--listen-tcp") == 0 && i + 1 < argc) tcp = argv[++i];
    else if (strcmp(argv[i], "--token-file-read-only") == 0) token_read_only = 1;
    else if (strcmp(argv[i], "--uid") == 0 && i + 1 < argc) uid = strtol(argv[++i], NULL, 10);
    else if (strcmp(argv[i], "--gid") == 0 && i + 1 < argc) gid = strtol(argv[++i], NULL, 10);
    else if (strcmp(argv[i], "--token-file") == 0 && i + 1 < argc) token_file = argv[++i];
    else if (strcmp(argv[i], "--") == 0) { i++; break; }
    else return usage();
  }
  if (i >= argc || !socket_path == !tcp || uid <= 0 || gid <= 0 || (token_read_only && !token_file))
    return usage();
  char **cmd = argv + i;

  if (tcp && geteuid() != 0) {
    errno = EPERM;
    return fail("--listen-tcp needs to start as root (the pod's securityContext runs it as another user)");
  }
  if (geteuid() != 0) {
    execvp(cmd[0], cmd);
    return fail(cmd[0]);
  }

  // Descriptors 3 and 4 must be free for what we hand over.
  for (int fd = LISTEN_FD; fd <= TOKEN_FD; fd++) close(fd);

  // 1. The token, through a pipe (it is far smaller than a pipe's buffer). The file is gone before any
  // code of the sandbox runs; without it sandboxd has no token and does not serve (engine exec then).
  if (token_file && hand_over_token(token_file, token_read_only) != 0) {
    if (tcp) return 126;
    fprintf(stderr, "agenttier-launch: WARNING: no token for sandboxd\n");
  }

  // 2. The socket, in a directory only root may change. Without it sandboxd binds its socket itself.
  // Or the TCP port (Kubernetes), as root; without it there is no sandboxd to reach, so stop here.
  if (tcp) {
    if (bind_tcp(tcp) != 0 || hold_listener() != 0) return 126;
  } else if (bind_socket(socket_path) != 0)
    fprintf(stderr, "agenttier-launch: WARNING: sandboxd binds its own socket, which the sandbox can replace\n");

  // 3. The sandbox user, for good. First empty the bounding set (CAP_SETPCAP), so nothing started from
  // here on can ever hold a capability again, whatever it executes; the effective set keeps SETUID and
  // SETGID until the switch below clears it.
  for (int cap = 0; cap <= 63; cap++)
    if (prctl(PR_CAPBSET_DROP, cap) != 0 && errno != EINVAL) return fail("drop the capability bounding set");
  if (setgroups(0, NULL) != 0) return fail("setgroups");
  if (setgid((gid_t)gid) != 0) return fail("setgid");
  if (setuid((uid_t)uid) != 0) return fail("setuid");
  if (getuid() != (uid_t)uid || geteuid() != (uid_t)uid || getgid() != (gid_t)gid || setuid(0) == 0) {
    errno = EPERM;
    return fail("privileges were not dropped");
  }
  execvp(cmd[0], cmd);
  return fail(cmd[0]);
}
