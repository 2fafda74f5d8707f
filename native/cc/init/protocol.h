// The wire protocol between @stratum/namespace (TypeScript, packages/namespace/src/protocol.ts)
// and stratum-init. Both sides must agree on every number here; `stratum-init --protocol` prints
// them as JSON and a test compares that with the TypeScript tables.
//
// Spec (Node → helper, on fd 3): u32 length, then `length` bytes: u32 MAGIC, u32 VERSION, then
// fields. A field is u16 tag, u16 zero, u32 payload length, payload. Integers are little-endian
// (native: both ends run on the same host); strings end with a NUL that the length counts, so
// the helper points into the buffer without copying.
//
// Messages (helper → Node, on fd 3; and between the helper's own processes on pipes): u32 type,
// u32 payload length, payload.
#pragma once
#include <cstdint>

namespace proto {

constexpr uint32_t kMagic = 0x49525453;  // "STRI"
constexpr uint32_t kVersion = 1;
constexpr uint32_t kMaxSpec = 1u << 20;  // 1 MiB: argv + env of any sane process

// X(name, value) lists, so that --protocol can print them.
#define STRATUM_TAGS(X)  \
  X(ARG, 1)              \
  X(ENV, 2)              \
  X(CWD, 3)              \
  X(FLAGS, 4)            \
  X(NS_NEW, 5)           \
  X(NS_JOIN, 6)          \
  X(HOSTNAME, 7)         \
  X(DOMAINNAME, 8)       \
  X(ROOTFS, 9)           \
  X(ROOT_PROPAGATION, 10) \
  X(MOUNT, 11)           \
  X(DEVICE, 12)          \
  X(SYMLINK, 13)         \
  X(MASK, 14)            \
  X(READONLY, 15)        \
  X(USER, 16)            \
  X(GROUPS, 17)          \
  X(CAPS, 18)            \
  X(RLIMIT, 19)          \
  X(UMASK, 20)           \
  X(OOM_SCORE_ADJ, 21)   \
  X(CGROUP, 22)          \
  X(PDEATHSIG, 23)       \
  X(TTY, 24)             \
  X(TIMENS_OFFSETS, 25)  \
  X(ENTER_ROOT, 26)

// Spec FLAGS bits.
#define STRATUM_FLAGS(X)   \
  X(INIT, 1)               \
  X(NO_NEW_PRIVS, 2)       \
  X(TTY, 4)                \
  X(NO_PIVOT, 8)           \
  X(NO_OPENAT2, 16)        \
  X(SETSID, 32)            \
  X(READONLY_ROOT, 64)     \
  X(LOOPBACK, 128)

// MOUNT payload: u32 flags (MS_*), u32 propagation (MS_* of the propagation change made after
// the mount, 0 = none), u32 mflags (below), then source\0 target\0 fstype\0 data\0.
#define STRATUM_MOUNT_FLAGS(X) \
  X(FILE_TARGET, 1)            \
  X(RECURSIVE_RO, 2)           \
  X(REMOUNT, 4)

// Setup stages, named in errors (SpawnError.step).
#define STRATUM_STAGES(X)    \
  X(SPEC, 1, "spec")         \
  X(PDEATHSIG, 2, "pdeathsig") \
  X(NAMESPACE_OPEN, 3, "namespace-open") \
  X(TTY, 4, "tty")           \
  X(SETNS, 5, "setns")       \
  X(UNSHARE, 6, "unshare")   \
  X(ID_MAP, 7, "id-map")     \
  X(TIMENS, 8, "timens")     \
  X(FORK, 9, "fork")         \
  X(CGROUP, 10, "cgroup")    \
  X(OOM_SCORE_ADJ, 11, "oom-score-adj") \
  X(PROPAGATION, 12, "propagation") \
  X(ROOTFS, 13, "rootfs")    \
  X(MOUNT, 14, "mount")      \
  X(DEVICE, 15, "device")    \
  X(SYMLINK, 16, "symlink")  \
  X(READONLY_PATH, 17, "readonly-path") \
  X(MASKED_PATH, 18, "masked-path") \
  X(PIVOT_ROOT, 19, "pivot-root") \
  X(CHROOT, 20, "chroot")    \
  X(CWD, 21, "cwd")          \
  X(HOSTNAME, 22, "hostname") \
  X(DOMAINNAME, 23, "domainname") \
  X(RLIMIT, 24, "rlimit")    \
  X(UMASK, 25, "umask")      \
  X(GROUPS, 26, "groups")    \
  X(USER, 27, "user")        \
  X(CAPABILITIES, 28, "capabilities") \
  X(NO_NEW_PRIVS, 29, "no-new-privileges") \
  X(EXEC, 30, "exec")        \
  X(INIT, 31, "init")        \
  X(ENTER, 32, "enter")      \
  X(LOOPBACK, 33, "loopback")

#define STRATUM_MESSAGES(X) \
  X(ERROR, 1)               \
  X(MAP_REQUEST, 2)         \
  X(EXEC_OK, 3)             \
  X(EXIT, 4)

enum Tag : uint16_t {
#define X(n, v) T_##n = v,
  STRATUM_TAGS(X)
#undef X
};

enum Flag : uint32_t {
#define X(n, v) F_##n = v,
  STRATUM_FLAGS(X)
#undef X
};

enum MountFlag : uint32_t {
#define X(n, v) M_##n = v,
  STRATUM_MOUNT_FLAGS(X)
#undef X
};

enum Stage : uint32_t {
#define X(n, v, s) S_##n = v,
  STRATUM_STAGES(X)
#undef X
};

enum Message : uint32_t {
#define X(n, v) MSG_##n = v,
  STRATUM_MESSAGES(X)
#undef X
};

// Node's answer to MAP_REQUEST: one byte.
constexpr char kMapOk = 'A';

}  // namespace proto
