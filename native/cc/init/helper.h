// Internal declarations of stratum-init: the decoded spec and the stages. The helper is
// single-threaded and short-lived; it allocates once (the spec buffer and its tables) and
// otherwise works on the stack, so every stage is safe to run after fork().
#pragma once
#include <sys/types.h>
#include <cstddef>
#include <cstdint>
#include "protocol.h"

namespace sinit {

struct NsJoin {
  uint32_t type;  // CLONE_NEW*
  const char* path;
  int fd;
};

struct Mount {
  uint32_t flags;        // MS_* given to mount(2) (MS_BIND for binds)
  uint32_t propagation;  // MS_SHARED/SLAVE/PRIVATE/UNBINDABLE (|MS_REC), applied after
  uint32_t mflags;       // proto::MountFlag
  const char* source;
  const char* target;
  const char* fstype;
  const char* data;
};

struct Device {
  uint32_t mode, major, minor, uid, gid;
  const char* path;
};

struct Symlink {
  const char* target;
  const char* link;
};

struct Rlimit {
  uint32_t resource;
  uint64_t soft, hard;
};

struct Spec {
  const char** argv = nullptr;
  size_t argc = 0;
  const char** env = nullptr;
  size_t envc = 0;
  const char* cwd = nullptr;
  uint32_t flags = 0;
  uint32_t ns_new = 0;
  NsJoin* joins = nullptr;
  size_t njoins = 0;
  const char* hostname = nullptr;
  const char* domainname = nullptr;
  const char* rootfs = nullptr;
  uint32_t root_propagation = 0;
  Mount* mounts = nullptr;
  size_t nmounts = 0;
  Device* devices = nullptr;
  size_t ndevices = 0;
  Symlink* symlinks = nullptr;
  size_t nsymlinks = 0;
  const char** masked = nullptr;
  size_t nmasked = 0;
  const char** readonly = nullptr;
  size_t nreadonly = 0;
  bool has_user = false;
  uint32_t uid = 0, gid = 0;
  bool has_groups = false;
  uint32_t* groups = nullptr;
  size_t ngroups = 0;
  bool has_caps = false;
  uint64_t caps[5] = {0, 0, 0, 0, 0};  // bounding, effective, permitted, inheritable, ambient
  Rlimit* rlimits = nullptr;
  size_t nrlimits = 0;
  bool has_umask = false;
  uint32_t umask = 0;
  bool has_oom = false;
  int32_t oom = 0;
  const char** cgroups = nullptr;
  size_t ncgroups = 0;
  uint32_t pdeathsig = 0;
  bool has_tty = false;
  uint32_t rows = 0, cols = 0;
  const char* timens_offsets = nullptr;
  const char* enter_root = nullptr;
};

enum CapSet { CAP_BOUNDING = 0, CAP_EFFECTIVE, CAP_PERMITTED, CAP_INHERITABLE, CAP_AMBIENT };

// --- report.cc ---------------------------------------------------------------------------------
// Where the current process reports a failed stage: fd 3 (Node) in the helper itself, a pipe to
// the parent in a forked child. Records are written with one write(2) (≤ PIPE_BUF is atomic).
extern int g_report_fd;
[[noreturn]] void fail(proto::Stage stage, const char* syscall, const char* path, int err);
bool write_full(int fd, const void* buf, size_t n);
// Reads exactly n bytes; false on EOF or error before that.
bool read_full(int fd, void* buf, size_t n);
bool send_msg(int fd, uint32_t type, const void* payload, uint32_t len);
// After setting a parent-death signal: true when the parent is already gone (so the signal will
// never come). `expected` is getppid() as seen right after the fork (0 for the init of a new pid
// namespace, whose parent is invisible); the report pipe to the parent is checked too, since its
// read end closes when the parent dies.
bool parent_gone(pid_t expected);
// Reads one message (type + payload up to cap bytes). Returns payload length, -1 on EOF/error.
long recv_msg(int fd, uint32_t* type, char* payload, size_t cap);

// --- spec.cc -----------------------------------------------------------------------------------
// Decodes `len` bytes (owned by the caller, kept alive) into *out; returns false if malformed.
bool decode_spec(char* buf, size_t len, Spec* out, const char** why);
void dump_spec(const Spec& s);
void print_protocol();

// --- mounts.cc ---------------------------------------------------------------------------------
// Propagation, rootfs bind, mounts, devices, symlinks, read-only and masked paths, then
// pivot_root (or chroot). Fails the stage on error; returns only on success.
void setup_mounts(const Spec& s);

// --- process.cc --------------------------------------------------------------------------------
// Opens the tty slave from the master on fd 4 (unlocks it, sets the window size). Returns the fd.
int open_tty_slave(const Spec& s);
void set_winsize(int fd, unsigned rows, unsigned cols);
// Session, stdio onto the tty, credentials, capabilities, no_new_privs, death signal, fds, then
// execve. Never returns.
[[noreturn]] void finish_and_exec(const Spec& s, int tty_slave, pid_t expected_parent, int death_signal);

}  // namespace sinit
