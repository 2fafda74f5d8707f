// stratum-init: the single-threaded helper that @stratum/namespace spawns to start a process in
// namespaces (DESIGN.md principle 2). Node is multithreaded, so it never forks itself into user
// code: it spawns this helper with the spec on fd 3 and the helper works in stages:
//
//   read spec → open namespaces to join → tty → user ns (join, or unshare + Node writes the id
//   maps) → pid/time ns → fork (when a pid ns, time ns or init needs one)
//   → [container process] cgroups → oom_score_adj → setns/unshare the rest → mounts → pivot_root
//   → cwd → hostname → rlimits → umask → [init: fork the program, stay PID 1]
//   → tty/session → groups/user → capabilities → no_new_privs → death signal → execve.
//
// A failed stage sends { stage, errno, syscall, path } and exits 127; fds are close-on-exec, so
// a reader that sees EOF without a record knows execve succeeded (libuv's trick). Without a
// fork the helper itself becomes the program and Node sees that EOF on fd 3; with a fork the
// helper stays as a small monitor outside the container: it relays the child's status to Node
// (EXEC_OK with the child's host pid), forwards signals to it, and exits with its status.
//
// Other modes: --version; --protocol (the wire numbers as JSON); --dump-spec (decode a spec from
// stdin and print it as JSON); --winsize ROWS COLS (TIOCSWINSZ on fd 0, for Process.resize()).
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include "helper.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

using namespace sinit;

namespace {

// Signals the monitor and the init forward to their child: what `docker stop`, a terminal and a
// resize send. SIGCHLD is waited for, not forwarded.
const int kForwarded[] = {SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2, SIGWINCH};

void wait_set(sigset_t* set) {
  sigemptyset(set);
  for (int sig : kForwarded) sigaddset(set, sig);
  sigaddset(set, SIGCHLD);
}

// Leaves the process with the same status as the child had: the exit code, or death by the same
// signal (without a core file of our own).
[[noreturn]] void mirror(int status) {
  if (WIFEXITED(status)) _exit(WEXITSTATUS(status));
  int sig = WIFSIGNALED(status) ? WTERMSIG(status) : SIGKILL;
  struct rlimit none = {0, 0};
  setrlimit(RLIMIT_CORE, &none);
  signal(sig, SIG_DFL);
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, sig);
  sigprocmask(SIG_UNBLOCK, &set, nullptr);
  kill(getpid(), sig);
  _exit(128 + sig);
}

// Waits for `child`, forwarding signals to it and reaping every other child (the init may have
// inherited orphans). Returns the child's wait status.
int wait_forwarding(pid_t child) {
  sigset_t set;
  wait_set(&set);
  for (;;) {
    siginfo_t si;
    int sig = sigwaitinfo(&set, &si);
    if (sig < 0) continue;
    if (sig != SIGCHLD) {
      kill(child, sig);
      continue;
    }
    int found = -1;
    for (;;) {
      int st;
      pid_t p = waitpid(-1, &st, WNOHANG);
      if (p <= 0) break;
      if (p == child) found = st;
    }
    if (found != -1) return found;
  }
}

void reap(pid_t child) {
  int st;
  while (waitpid(child, &st, 0) < 0 && errno == EINTR) {
  }
}

// The helper after forking the container process: it never enters the container's mount, net or
// uts namespace (only a new user namespace it made), so nothing in the container can see it when
// there is a pid namespace.
[[noreturn]] void monitor(const Spec& s, pid_t child, int status_fd, int tty_slave) {
  if (tty_slave >= 0) {
    close(tty_slave);
    close(4);
  }
  char payload[4096];
  uint32_t type = 0;
  long n = recv_msg(status_fd, &type, payload, sizeof(payload));
  if (n >= 0 && type == proto::MSG_ERROR) {
    send_msg(3, proto::MSG_ERROR, payload, static_cast<uint32_t>(n));
    reap(child);
    _exit(127);
  }
  // EOF: the program's execve closed the pipe. EXEC_OK: the init's program did.
  uint32_t pid = static_cast<uint32_t>(child);
  send_msg(3, proto::MSG_EXEC_OK, &pid, 4);
  close(3);
  int status = wait_forwarding(child);
  if (s.flags & proto::F_INIT) {
    // The init is PID 1 of its namespace and cannot die by its program's signal, so it reports
    // the program's exact status before it exits.
    int32_t st;
    n = recv_msg(status_fd, &type, payload, sizeof(payload));
    if (n == 4 && type == proto::MSG_EXIT) {
      std::memcpy(&st, payload, 4);
      status = st;
    }
  }
  mirror(status);
}

// init: true. This process (PID 1 of the new pid namespace, or a subreaper without one) forks
// the program and stays: it reaps every zombie re-parented to it and forwards SIGTERM, SIGINT,
// SIGHUP, SIGQUIT, SIGUSR1/2 and SIGWINCH to the program (a PID 1 without handlers would drop
// them: the kernel ignores default-action signals sent to a namespace's init). Returns in the
// program's process; never in the init.
void become_init(int tty_slave, pid_t* parent) {
  int report = g_report_fd;
  // Without a pid namespace orphans would go to the host's init; catch them here like tini -s.
  if (getpid() != 1) prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
  int q[2];
  if (pipe2(q, O_CLOEXEC) < 0) fail(proto::S_INIT, "pipe2", nullptr, errno);
  pid_t child = fork();
  if (child < 0) fail(proto::S_INIT, "fork", nullptr, errno);
  if (child == 0) {
    close(q[0]);
    close(report);
    g_report_fd = q[1];
    *parent = getppid();
    return;
  }
  close(q[1]);
  if (tty_slave >= 0) close(tty_slave);
  char payload[4096];
  uint32_t type = 0;
  long n = recv_msg(q[0], &type, payload, sizeof(payload));
  if (n >= 0 && type == proto::MSG_ERROR) {
    send_msg(report, proto::MSG_ERROR, payload, static_cast<uint32_t>(n));
    reap(child);
    _exit(127);
  }
  send_msg(report, proto::MSG_EXEC_OK, nullptr, 0);
  // Keep only the report pipe: an init living inside the container must hold nothing of the host
  // (CVE-2024-21626), and must not be readable through /proc/1/exe by the container (CVE-2019-5736:
  // runc's binary was overwritten through /proc/self/exe; a non-dumpable process's /proc entries
  // need CAP_SYS_PTRACE in the helper's own user namespace, the host's).
  for (int fd = 3; fd < 1024; fd++) {
    if (fd != report) close(fd);
  }
  prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  int status = wait_forwarding(child);
  int32_t st = status;
  send_msg(report, proto::MSG_EXIT, &st, 4);
  _exit(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
}

void write_file(const char* path, const char* data, proto::Stage stage) {
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) fail(stage, "open", path, errno);
  size_t n = std::strlen(data);
  if (write(fd, data, n) != static_cast<ssize_t>(n)) fail(stage, "write", path, errno);
  close(fd);
}

void join(const Spec& s, uint32_t type) {
  for (size_t i = 0; i < s.njoins; i++) {
    if (s.joins[i].type != type) continue;
    if (setns(s.joins[i].fd, static_cast<int>(type)) < 0) fail(proto::S_SETNS, "setns", s.joins[i].path, errno);
    close(s.joins[i].fd);
    s.joins[i].fd = -1;
  }
}

bool joins(const Spec& s, uint32_t type) {
  for (size_t i = 0; i < s.njoins; i++) {
    if (s.joins[i].type == type) return true;
  }
  return false;
}

// `lo` of a new network namespace starts down; bring it up (SIOCSIFFLAGS, as `ip link set lo up`
// and `bwrap --unshare-net` do). Done here because a rootless caller cannot enter the namespace
// from outside: setns into a network namespace needs CAP_SYS_ADMIN in the caller's own user
// namespace too, which only this process (root of the new user namespace) has.
void loopback_up() {
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) fail(proto::S_LOOPBACK, "socket", "lo", errno);
  struct ifreq ifr;
  std::memset(&ifr, 0, sizeof(ifr));
  std::strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
  if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0) fail(proto::S_LOOPBACK, "ioctl", "lo", errno);
  ifr.ifr_flags |= IFF_UP;
  if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0) fail(proto::S_LOOPBACK, "ioctl", "lo", errno);
  close(fd);
}

// The process that becomes the container (the helper itself, or its forked child).
[[noreturn]] void container(const Spec& s, int tty_slave, int enter_root, pid_t parent, int death_signal) {
  // Join cgroups first, while /sys/fs/cgroup is the host's and before a new cgroup namespace,
  // whose root is then the container's cgroup (runc joins before unshare(CLONE_NEWCGROUP) too).
  // "0" means the writing process, in v1 and v2 alike.
  for (size_t i = 0; i < s.ncgroups; i++) write_file(s.cgroups[i], "0", proto::S_CGROUP);
  if (s.has_oom) {
    char buf[16];
    std::snprintf(buf, sizeof(buf), "%d", s.oom);
    write_file("/proc/self/oom_score_adj", buf, proto::S_OOM_SCORE_ADJ);
  }
  // nsenter's order: the mount namespace last, since it changes what paths mean (all the join
  // fds were opened before anything changed).
  join(s, CLONE_NEWCGROUP);
  join(s, CLONE_NEWIPC);
  join(s, CLONE_NEWUTS);
  join(s, CLONE_NEWNET);
  join(s, CLONE_NEWNS);
  uint32_t late = s.ns_new & (CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET | CLONE_NEWCGROUP);
  if (late && unshare(static_cast<int>(late)) < 0) fail(proto::S_UNSHARE, "unshare", nullptr, errno);
  if ((s.flags & proto::F_LOOPBACK) && (s.ns_new & CLONE_NEWNET)) loopback_up();
  if (s.rootfs || s.nmounts || s.ndevices || s.nsymlinks || s.nmasked || s.nreadonly) setup_mounts(s);
  if (enter_root >= 0) {
    // docker exec: the target's root, which a pivot_root made the namespace's root anyway but a
    // chroot did not.
    if (fchdir(enter_root) < 0) fail(proto::S_ENTER, "fchdir", s.enter_root, errno);
    if (chroot(".") < 0) fail(proto::S_ENTER, "chroot", s.enter_root, errno);
    close(enter_root);
  }
  const char* cwd = s.cwd ? s.cwd : (s.rootfs || enter_root >= 0) ? "/" : nullptr;
  if (cwd) {
    if (chdir(cwd) < 0) fail(proto::S_CWD, "chdir", cwd, errno);
    // CVE-2024-21626: a cwd that resolves outside the root (through a leaked fd) reads back as
    // "(unreachable)…", which glibc turns into ENOENT. Refuse to start there.
    char buf[PATH_MAX];
    if (!getcwd(buf, sizeof(buf)) || buf[0] != '/') fail(proto::S_CWD, "getcwd", cwd, errno ? errno : ENOENT);
  }
  if (s.hostname && sethostname(s.hostname, std::strlen(s.hostname)) < 0) fail(proto::S_HOSTNAME, "sethostname", s.hostname, errno);
  if (s.domainname && setdomainname(s.domainname, std::strlen(s.domainname)) < 0) {
    fail(proto::S_DOMAINNAME, "setdomainname", s.domainname, errno);
  }
  for (size_t i = 0; i < s.nrlimits; i++) {
    struct rlimit rl;
    rl.rlim_cur = s.rlimits[i].soft == ~0ULL ? RLIM_INFINITY : s.rlimits[i].soft;
    rl.rlim_max = s.rlimits[i].hard == ~0ULL ? RLIM_INFINITY : s.rlimits[i].hard;
    if (setrlimit(static_cast<__rlimit_resource>(s.rlimits[i].resource), &rl) < 0) {
      char what[32];
      std::snprintf(what, sizeof(what), "resource %u", s.rlimits[i].resource);
      fail(proto::S_RLIMIT, "setrlimit", what, errno);
    }
  }
  if (s.has_umask) umask(s.umask);
  if (s.flags & proto::F_INIT) {
    become_init(tty_slave, &parent);
    death_signal = SIGKILL;
  }
  finish_and_exec(s, tty_slave, parent, death_signal);
}

[[noreturn]] void run() {
  if (fcntl(3, F_SETFD, FD_CLOEXEC) < 0) {
    std::fprintf(stderr, "stratum-init: no control descriptor (fd 3); this helper is started by @stratum/namespace\n");
    _exit(2);
  }
  uint32_t len = 0;
  if (!read_full(3, &len, 4)) _exit(2);  // Node went away before sending the spec
  if (len < 8 || len > proto::kMaxSpec) fail(proto::S_SPEC, "read", "bad spec length", EINVAL);
  char* buf = static_cast<char*>(std::malloc(len));
  if (!buf) fail(proto::S_SPEC, "malloc", nullptr, ENOMEM);
  if (!read_full(3, buf, len)) _exit(2);
  Spec s;
  const char* why = "";
  if (!decode_spec(buf, len, &s, &why)) fail(proto::S_SPEC, "decode", why, EINVAL);

  pid_t node = getppid();
  if (s.pdeathsig) {
    if (prctl(PR_SET_PDEATHSIG, s.pdeathsig, 0, 0, 0) < 0) fail(proto::S_PDEATHSIG, "prctl(PR_SET_PDEATHSIG)", nullptr, errno);
    if (parent_gone(node)) _exit(1);
  }
  // Every namespace to join is opened now, while paths still mean what the caller meant.
  for (size_t i = 0; i < s.njoins; i++) {
    s.joins[i].fd = open(s.joins[i].path, O_RDONLY | O_CLOEXEC);
    if (s.joins[i].fd < 0) fail(proto::S_NAMESPACE_OPEN, "open", s.joins[i].path, errno);
  }
  int enter_root = -1;
  if (s.enter_root) {
    enter_root = open(s.enter_root, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (enter_root < 0) fail(proto::S_ENTER, "open", s.enter_root, errno);
  }
  int tty_slave = -1;
  if (s.flags & proto::F_TTY) {
    fcntl(4, F_SETFD, FD_CLOEXEC);
    tty_slave = open_tty_slave(s);
  }

  // User namespace first: joining one gives the capabilities needed to join or create the
  // others owned by it; a new one owns every namespace created after it, which is what lets an
  // unprivileged caller mount proc and sysfs. The kernel only lets a single-threaded process do
  // either, one reason this helper exists. The id maps of a new one are written from outside by
  // Node (a single mapping of its own ids directly, ranges through newuidmap/newgidmap): we ask
  // and wait for the byte that says they are in place.
  join(s, CLONE_NEWUSER);
  if (s.ns_new & CLONE_NEWUSER) {
    if (unshare(CLONE_NEWUSER) < 0) fail(proto::S_UNSHARE, "unshare", "user", errno);
    uint32_t me = static_cast<uint32_t>(getpid());
    send_msg(3, proto::MSG_MAP_REQUEST, &me, 4);
    char ok = 0;
    if (!read_full(3, &ok, 1) || ok != proto::kMapOk) _exit(1);  // Node reports the map failure
  }

  // A pid (or time) namespace applies to children only: join or create it, then fork.
  join(s, CLONE_NEWPID);
  join(s, CLONE_NEWTIME);
  uint32_t early = s.ns_new & (CLONE_NEWPID | CLONE_NEWTIME);
  if (early && unshare(static_cast<int>(early)) < 0) fail(proto::S_UNSHARE, "unshare", nullptr, errno);
  if ((s.ns_new & CLONE_NEWTIME) && s.timens_offsets) write_file("/proc/self/timens_offsets", s.timens_offsets, proto::S_TIMENS);

  bool need_fork = (s.flags & proto::F_INIT) || early || joins(s, CLONE_NEWPID);
  if (!need_fork) container(s, tty_slave, enter_root, node, static_cast<int>(s.pdeathsig));

  // Signals are blocked before the fork and taken with sigwaitinfo by the monitor and the init;
  // the program unblocks them just before execve.
  sigset_t set;
  wait_set(&set);
  sigprocmask(SIG_BLOCK, &set, nullptr);
  int p[2];
  if (pipe2(p, O_CLOEXEC) < 0) fail(proto::S_FORK, "pipe2", nullptr, errno);
  pid_t child = fork();
  if (child < 0) fail(proto::S_FORK, "fork", nullptr, errno);
  if (child == 0) {
    close(p[0]);
    close(3);
    g_report_fd = p[1];
    // Tied to the monitor: if it is killed nobody could wait for us.
    pid_t parent = getppid();  // 0 in a new pid namespace: the monitor is outside it
    if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0) fail(proto::S_PDEATHSIG, "prctl(PR_SET_PDEATHSIG)", nullptr, errno);
    if (parent_gone(parent)) _exit(1);
    container(s, tty_slave, enter_root, parent, SIGKILL);
  }
  close(p[1]);
  if (enter_root >= 0) close(enter_root);
  for (size_t i = 0; i < s.njoins; i++) {
    if (s.joins[i].fd >= 0) close(s.joins[i].fd);
  }
  prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  monitor(s, child, p[0], tty_slave);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1 && std::strcmp(argv[1], "--version") == 0) {
    std::printf("stratum-init 0.1.0\n");
    return 0;
  }
  if (argc > 1 && std::strcmp(argv[1], "--protocol") == 0) {
    print_protocol();
    return 0;
  }
  if (argc > 1 && std::strcmp(argv[1], "--dump-spec") == 0) {
    uint32_t len = 0;
    g_report_fd = 1;
    if (!read_full(0, &len, 4) || len < 8 || len > proto::kMaxSpec) return 2;
    char* buf = static_cast<char*>(std::malloc(len));
    if (!buf || !read_full(0, buf, len)) return 2;
    Spec s;
    const char* why = "";
    if (!decode_spec(buf, len, &s, &why)) {
      std::fprintf(stderr, "stratum-init: %s\n", why);
      return 1;
    }
    dump_spec(s);
    return 0;
  }
  if (argc > 3 && std::strcmp(argv[1], "--winsize") == 0) {
    struct winsize ws;
    std::memset(&ws, 0, sizeof(ws));
    ws.ws_row = static_cast<unsigned short>(std::atoi(argv[2]));
    ws.ws_col = static_cast<unsigned short>(std::atoi(argv[3]));
    if (ioctl(0, TIOCSWINSZ, &ws) < 0) {
      std::fprintf(stderr, "stratum-init: ioctl(TIOCSWINSZ): %s\n", std::strerror(errno));
      return 1;
    }
    return 0;
  }
  if (argc > 1) {
    std::fprintf(stderr, "stratum-init: usage: stratum-init [--version | --protocol | --dump-spec | --winsize ROWS COLS]\n");
    return 2;
  }
  run();
}
