// The last stages before execve, in the process that becomes the user's program: controlling
// tty, credentials, capabilities, no_new_privs, parent-death signal, descriptors, exec.
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <termios.h>
#include <unistd.h>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>
#include "helper.h"

#ifndef TIOCGPTPEER
#define TIOCGPTPEER _IO('T', 0x41)
#endif
#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif
#ifndef PR_CAP_AMBIENT
#define PR_CAP_AMBIENT 47
#define PR_CAP_AMBIENT_RAISE 2
#define PR_CAP_AMBIENT_CLEAR_ALL 4
#endif

namespace sinit {

void set_winsize(int fd, unsigned rows, unsigned cols) {
  struct winsize ws;
  std::memset(&ws, 0, sizeof(ws));
  ws.ws_row = static_cast<unsigned short>(rows);
  ws.ws_col = static_cast<unsigned short>(cols);
  if (ioctl(fd, TIOCSWINSZ, &ws) < 0) fail(proto::S_TTY, "ioctl(TIOCSWINSZ)", nullptr, errno);
}

// Node opened /dev/ptmx (posix_openpt) and passed the master as fd 4. We unlock it and open the
// peer with TIOCGPTPEER (Linux ≥ 4.13, added for container runtimes), which opens the slave
// through the master itself instead of by a /dev/pts/N path that a devpts mounted over /dev/pts
// could redirect; the path is only the fallback for older kernels.
int open_tty_slave(const Spec& s) {
  int zero = 0;
  if (ioctl(4, TIOCSPTLCK, &zero) < 0) fail(proto::S_TTY, "ioctl(TIOCSPTLCK)", "/dev/ptmx", errno);
  int fd = ioctl(4, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (fd < 0) {
    unsigned n = 0;
    if (ioctl(4, TIOCGPTN, &n) < 0) fail(proto::S_TTY, "ioctl(TIOCGPTN)", "/dev/ptmx", errno);
    char path[64];
    std::snprintf(path, sizeof(path), "/dev/pts/%u", n);
    fd = open(path, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) fail(proto::S_TTY, "open", path, errno);
  }
  if (s.rows && s.cols) set_winsize(4, s.rows, s.cols);
  return fd;
}

namespace {

// Capability sets, in this order (runc's finalizeNamespace and capabilities(7)):
// 1. drop from the bounding set while we still hold CAP_SETPCAP (uid 0);
// 2. PR_SET_KEEPCAPS so that setresuid() away from 0 keeps the permitted set;
// 3. setgroups/setresgid/setresuid;
// 4. capset effective/permitted/inheritable (setuid cleared effective);
// 5. raise ambient caps (each must be permitted and inheritable), so a non-root program keeps them
//    across execve.
void drop_bounding(const Spec& s) {
  for (int cap = 0; cap < 64; cap++) {
    if (s.caps[CAP_BOUNDING] & (1ULL << cap)) continue;
    int in = prctl(PR_CAPBSET_READ, cap, 0, 0, 0);
    if (in < 0) break;  // EINVAL: past the kernel's last capability
    if (in == 0) continue;
    if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0) fail(proto::S_CAPABILITIES, "prctl(PR_CAPBSET_DROP)", nullptr, errno);
  }
}

void set_caps(const Spec& s) {
  struct __user_cap_header_struct hdr;
  struct __user_cap_data_struct data[2];
  hdr.version = _LINUX_CAPABILITY_VERSION_3;
  hdr.pid = 0;
  for (int i = 0; i < 2; i++) {
    data[i].effective = static_cast<uint32_t>(s.caps[CAP_EFFECTIVE] >> (32 * i));
    data[i].permitted = static_cast<uint32_t>(s.caps[CAP_PERMITTED] >> (32 * i));
    data[i].inheritable = static_cast<uint32_t>(s.caps[CAP_INHERITABLE] >> (32 * i));
  }
  if (syscall(SYS_capset, &hdr, data) < 0) fail(proto::S_CAPABILITIES, "capset", nullptr, errno);
  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && s.caps[CAP_AMBIENT]) {
    fail(proto::S_CAPABILITIES, "prctl(PR_CAP_AMBIENT)", nullptr, errno);
  }
  for (int cap = 0; cap < 64; cap++) {
    if (!(s.caps[CAP_AMBIENT] & (1ULL << cap))) continue;
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) < 0) fail(proto::S_CAPABILITIES, "prctl(PR_CAP_AMBIENT_RAISE)", nullptr, errno);
  }
}

const char* env_path(const Spec& s) {
  for (size_t i = 0; i < s.envc; i++) {
    if (std::strncmp(s.env[i], "PATH=", 5) == 0) return s.env[i] + 5;
  }
  return "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
}

// execvpe with the spec's PATH (not the helper's, which is empty) and errno reporting like
// execvp: the first "real" error wins, EACCES if some candidate was not executable, else ENOENT.
[[noreturn]] void exec_program(const Spec& s) {
  const char* file = s.argv[0];
  char* const* argv = const_cast<char* const*>(s.argv);
  char* const* envp = const_cast<char* const*>(s.env ? s.env : s.argv + s.argc);  // NULL-terminated
  if (std::strchr(file, '/')) {
    execve(file, argv, envp);
    fail(proto::S_EXEC, "execve", file, errno);
  }
  const char* path = env_path(s);
  size_t flen = std::strlen(file);
  bool eacces = false;
  char buf[PATH_MAX];
  for (const char* p = path;; p++) {
    const char* end = std::strchr(p, ':');
    size_t dlen = end ? static_cast<size_t>(end - p) : std::strlen(p);
    if (dlen == 0) {
      buf[0] = '.';
      dlen = 1;
    } else if (dlen + flen + 2 <= sizeof(buf)) {
      std::memcpy(buf, p, dlen);
    } else {
      dlen = 0;
    }
    if (dlen && dlen + flen + 2 <= sizeof(buf)) {
      buf[dlen] = '/';
      std::memcpy(buf + dlen + 1, file, flen + 1);
      execve(buf, argv, envp);
      switch (errno) {
        case EACCES: eacces = true; break;
        case ENOENT: case ENOTDIR: case ESTALE: case ENODEV: case ETIMEDOUT: break;
        default: fail(proto::S_EXEC, "execve", buf, errno);
      }
    }
    if (!end) break;
    p = end;
  }
  fail(proto::S_EXEC, "execve", file, eacces ? EACCES : ENOENT);
}

}  // namespace

void finish_and_exec(const Spec& s, int tty_slave, pid_t expected_parent, int death_signal) {
  // The terminal becomes the controlling tty of a new session, and stdio.
  if (tty_slave >= 0) {
    if (setsid() < 0) fail(proto::S_TTY, "setsid", nullptr, errno);
    for (int i = 0; i < 3; i++) {
      if (dup2(tty_slave, i) < 0) fail(proto::S_TTY, "dup2", nullptr, errno);
    }
    if (ioctl(0, TIOCSCTTY, 0) < 0) fail(proto::S_TTY, "ioctl(TIOCSCTTY)", nullptr, errno);
    if (tty_slave > 2) close(tty_slave);
    close(4);
  } else if (s.flags & proto::F_SETSID) {
    if (setsid() < 0) fail(proto::S_TTY, "setsid", nullptr, errno);
  }

  if (s.has_caps) drop_bounding(s);
  if (s.has_user) {
    if (s.has_caps && prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0) fail(proto::S_CAPABILITIES, "prctl(PR_SET_KEEPCAPS)", nullptr, errno);
    if (s.has_groups) {
      if (setgroups(s.ngroups, reinterpret_cast<gid_t*>(s.groups)) < 0) fail(proto::S_GROUPS, "setgroups", nullptr, errno);
    } else if (setgroups(0, nullptr) < 0 && errno != EPERM) {
      // EPERM: a user namespace with setgroups denied (rootless), or no CAP_SETGID: keep them.
      fail(proto::S_GROUPS, "setgroups", nullptr, errno);
    }
    if (setresgid(s.gid, s.gid, s.gid) < 0) fail(proto::S_USER, "setresgid", nullptr, errno);
    if (setresuid(s.uid, s.uid, s.uid) < 0) fail(proto::S_USER, "setresuid", nullptr, errno);
  }
  if (s.has_caps) {
    set_caps(s);
    if (s.has_user) prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);
  }
  if ((s.flags & proto::F_NO_NEW_PRIVS) && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
    fail(proto::S_NO_NEW_PRIVS, "prctl(PR_SET_NO_NEW_PRIVS)", nullptr, errno);
  }
  // Credential changes reset the parent-death signal, so it is set last; if the parent is already
  // gone the signal would never come, so act as if it had.
  if (death_signal) {
    if (prctl(PR_SET_PDEATHSIG, death_signal, 0, 0, 0) < 0) fail(proto::S_PDEATHSIG, "prctl(PR_SET_PDEATHSIG)", nullptr, errno);
    if (parent_gone(expected_parent)) {
      kill(getpid(), death_signal);
      _exit(128 + death_signal);
    }
  }
  // The helper blocked signals to wait for them; the program starts with none blocked (signal
  // dispositions are already default: the helper never installs handlers).
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  // CVE-2024-21626 (runc "Leaky Vessels"): an fd the runtime held open (there, to the host's
  // /sys/fs/cgroup) survived into the container and let it escape through /proc/self/fd/N.
  // Every descriptor but stdio is marked close-on-exec here, whatever opened it.
  if (syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC) < 0) {
    for (int fd = 3; fd < 4096; fd++) fcntl(fd, F_SETFD, FD_CLOEXEC);
  }
  exec_program(s);
}

}  // namespace sinit
