// The mount stage, in the new mount namespace of the container process:
//   propagation of / → bind the rootfs onto itself → the spec's mounts (proc, sysfs, /dev tmpfs,
//   devpts, mqueue, shm, binds) → device nodes and /dev symlinks → read-only paths → masked
//   paths → pivot_root(".", ".") (or MS_MOVE + chroot).
// Every target inside the rootfs is resolved with openat2(RESOLVE_IN_ROOT) to an O_PATH fd and
// mounted through /proc/self/fd/N, so a symlink planted in the image (say /proc → /etc on the
// host) can never redirect a mount outside the rootfs: the class of runc's CVE-2021-30465 and of
// the older /dev/pts and /proc symlink escapes. Kernels without openat2 (< 5.6) get a component
// walk that resolves each symlink inside the root by hand.
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>
#include "helper.h"

#ifndef MOUNT_ATTR_RDONLY
#define MOUNT_ATTR_RDONLY 0x00000001
struct mount_attr {
  uint64_t attr_set;
  uint64_t attr_clr;
  uint64_t propagation;
  uint64_t userns_fd;
};
#endif
#ifndef AT_RECURSIVE
#define AT_RECURSIVE 0x8000
#endif
#ifndef SYS_mount_setattr
#define SYS_mount_setattr 442
#endif

namespace sinit {

namespace {

int g_rootfd = -1;  // O_PATH fd of the rootfs; -1 = targets are paths of the current root
bool g_no_openat2 = false;

struct ProcFd {
  char buf[40];
  explicit ProcFd(int fd) { std::snprintf(buf, sizeof(buf), "/proc/self/fd/%d", fd); }
};

// Fallback for kernels without openat2: walk component by component with O_NOFOLLOW, expanding
// each symlink by hand against the rootfs (absolute targets restart at the root, ".." never goes
// above it), at most 40 links like the kernel.
int walk_in_root(int rootfd, const char* path) {
  static char work[2 * PATH_MAX];
  static char tmp[2 * PATH_MAX];
  size_t n = std::strlen(path);
  if (n >= sizeof(work)) {
    errno = ENAMETOOLONG;
    return -1;
  }
  std::memcpy(work, path, n + 1);
  int stack[256];
  int depth = 0;
  int links = 0;
  auto unwind = [&]() {
    while (depth) close(stack[--depth]);
  };
  const char* p = work;
  for (;;) {
    while (*p == '/') p++;
    if (!*p) break;
    const char* slash = std::strchr(p, '/');
    size_t clen = slash ? static_cast<size_t>(slash - p) : std::strlen(p);
    char comp[NAME_MAX + 1];
    if (clen > NAME_MAX) {
      unwind();
      errno = ENAMETOOLONG;
      return -1;
    }
    std::memcpy(comp, p, clen);
    comp[clen] = '\0';
    p += clen;
    if (std::strcmp(comp, ".") == 0) continue;
    if (std::strcmp(comp, "..") == 0) {
      if (depth) close(stack[--depth]);
      continue;
    }
    int cur = depth ? stack[depth - 1] : rootfd;
    int fd = openat(cur, comp, O_PATH | O_NOFOLLOW | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0) {
      int e = errno;
      if (fd >= 0) close(fd);
      unwind();
      errno = e;
      return -1;
    }
    if (S_ISLNK(st.st_mode)) {
      char target[PATH_MAX];
      ssize_t tl = ++links > 40 ? -1 : readlinkat(fd, "", target, sizeof(target) - 1);
      int e = links > 40 ? ELOOP : errno;
      close(fd);
      size_t rest = std::strlen(p);
      if (tl < 0 || static_cast<size_t>(tl) + 1 + rest >= sizeof(tmp)) {
        unwind();
        errno = tl < 0 ? e : ENAMETOOLONG;
        return -1;
      }
      std::memcpy(tmp, target, static_cast<size_t>(tl));
      tmp[tl] = '/';
      std::memcpy(tmp + tl + 1, p, rest + 1);
      std::memcpy(work, tmp, static_cast<size_t>(tl) + rest + 2);
      p = work;
      if (target[0] == '/') unwind();
      continue;
    }
    const char* q = p;
    while (*q == '/') q++;
    if ((*q && !S_ISDIR(st.st_mode)) || depth == 256) {
      close(fd);
      unwind();
      errno = *q && !S_ISDIR(st.st_mode) ? ENOTDIR : ENAMETOOLONG;
      return -1;
    }
    stack[depth++] = fd;
  }
  if (depth == 0) return fcntl(rootfd, F_DUPFD_CLOEXEC, 0);
  int r = stack[--depth];
  unwind();
  return r;
}

// An O_PATH fd for `path` inside the rootfs (or of the current root when there is none).
int resolve(const char* path) {
  if (g_rootfd < 0) return open(path, O_PATH | O_CLOEXEC);
  if (!g_no_openat2) {
    struct open_how how;
    std::memset(&how, 0, sizeof(how));
    how.flags = O_PATH | O_CLOEXEC;
    how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
    long r = syscall(SYS_openat2, g_rootfd, path, &how, sizeof(how));
    if (r >= 0 || errno != ENOSYS) return static_cast<int>(r);
    g_no_openat2 = true;
  }
  return walk_in_root(g_rootfd, path);
}

// Like resolve(), creating what is missing: parent directories (0755) and the last component as
// a directory or an empty file (mount points for file binds and device nodes).
int resolve_create(const char* path, bool file) {
  int fd = resolve(path);
  if (fd >= 0 || errno != ENOENT) return fd;
  char buf[PATH_MAX];
  size_t n = std::strlen(path);
  if (n >= sizeof(buf)) {
    errno = ENAMETOOLONG;
    return -1;
  }
  std::memcpy(buf, path, n + 1);
  int parent = resolve("/");
  if (parent < 0) return -1;
  char* p = buf;
  for (;;) {
    while (*p == '/') p++;
    if (!*p) break;
    char* slash = std::strchr(p, '/');
    char* next = slash;
    while (next && *next == '/') next++;
    bool last = !next || !*next;
    if (slash) *slash = '\0';
    int r;
    if (last && file) {
      r = openat(parent, p, O_CREAT | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
      if (r >= 0) close(r);
    } else {
      r = mkdirat(parent, p, 0755);
    }
    if (r < 0 && errno != EEXIST) {
      int e = errno;
      close(parent);
      errno = e;
      return -1;
    }
    int child = resolve(buf);
    int e = errno;
    close(parent);
    if (child < 0) {
      errno = e;
      return -1;
    }
    parent = child;
    if (last) return parent;
    *slash = '/';
    p = slash + 1;
  }
  return parent;
}

// Splits "/a/b/c" into a resolved (created) parent dir fd and the last name.
int resolve_parent(const char* path, char* name, proto::Stage stage) {
  const char* slash = std::strrchr(path, '/');
  const char* base = slash ? slash + 1 : path;
  if (!*base || std::strlen(base) > NAME_MAX) fail(stage, "open", path, EINVAL);
  std::strcpy(name, base);
  char dir[PATH_MAX];
  size_t dlen = slash ? static_cast<size_t>(slash - path) : 0;
  if (dlen >= sizeof(dir)) fail(stage, "open", path, ENAMETOOLONG);
  std::memcpy(dir, path, dlen);
  dir[dlen] = '\0';
  int fd = resolve_create(dlen ? dir : "/", false);
  if (fd < 0) fail(stage, "open", dlen ? dir : "/", errno);
  return fd;
}

// MS_REMOUNT of a bind mount. In a user namespace the kernel refuses to clear flags it locked
// when the mount was copied from the parent namespace (nosuid, nodev, noexec, atime), so on
// EPERM the current flags are read back and kept (crun does the same).
void remount(const char* procpath, unsigned long flags, proto::Stage stage, const char* what) {
  if (mount(nullptr, procpath, nullptr, flags, nullptr) == 0) return;
  int e = errno;
  if (e == EPERM) {
    struct statvfs sv;
    if (statvfs(procpath, &sv) == 0) {
      unsigned long keep = sv.f_flag & (MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOATIME | MS_NODIRATIME | MS_RELATIME | MS_RDONLY);
      if (mount(nullptr, procpath, nullptr, flags | keep, nullptr) == 0) return;
      e = errno;
    }
  }
  fail(stage, "mount", what, e);
}

constexpr unsigned long kBindFlags =
    MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOATIME | MS_NODIRATIME | MS_RELATIME | MS_STRICTATIME;

void do_mount(const Mount& m) {
  const char* src = m.source[0] ? m.source : nullptr;
  bool bind = m.flags & MS_BIND;
  bool file = m.mflags & proto::M_FILE_TARGET;
  if (bind) {
    // The source is a path of the host (the current root), checked first so that a missing one is
    // reported as such and not as the target's ENOENT; a file source needs a file mount point.
    struct stat st;
    if (stat(m.source, &st) < 0) fail(proto::S_MOUNT, "stat", m.source, errno);
    file = !S_ISDIR(st.st_mode);
  }
  int t = resolve_create(m.target, file);
  if (t < 0) fail(proto::S_MOUNT, "open", m.target, errno);
  ProcFd tp(t);
  unsigned long rest = 0;
  if (bind) {
    if (mount(src, tp.buf, nullptr, MS_BIND | (m.flags & MS_REC), nullptr) < 0) fail(proto::S_MOUNT, "mount", m.target, errno);
    rest = m.flags & kBindFlags;
  } else if (m.mflags & proto::M_REMOUNT) {
    remount(tp.buf, m.flags | MS_REMOUNT, proto::S_MOUNT, m.target);
  } else if (mount(src, tp.buf, m.fstype[0] ? m.fstype : nullptr, m.flags, m.data[0] ? m.data : nullptr) < 0) {
    fail(proto::S_MOUNT, "mount", m.target, errno);
  }
  close(t);
  if (!rest && !m.propagation && !(m.mflags & proto::M_RECURSIVE_RO)) return;
  // The fd above names the mount point under the new mount; the follow-up changes must reach
  // the new mount, so the target is resolved again.
  int t2 = resolve(m.target);
  if (t2 < 0) fail(proto::S_MOUNT, "open", m.target, errno);
  ProcFd tp2(t2);
  if (rest) remount(tp2.buf, MS_BIND | MS_REMOUNT | rest, proto::S_MOUNT, m.target);
  if (m.mflags & proto::M_RECURSIVE_RO) {
    struct mount_attr attr;
    std::memset(&attr, 0, sizeof(attr));
    attr.attr_set = MOUNT_ATTR_RDONLY;
    if (syscall(SYS_mount_setattr, t2, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof(attr)) < 0) {
      fail(proto::S_MOUNT, "mount_setattr", m.target, errno);
    }
  }
  if (m.propagation && mount(nullptr, tp2.buf, nullptr, m.propagation, nullptr) < 0) fail(proto::S_MOUNT, "mount", m.target, errno);
  close(t2);
}

void make_device(const Device& d) {
  char name[NAME_MAX + 1];
  int dir = resolve_parent(d.path, name, proto::S_DEVICE);
  if (mknodat(dir, name, d.mode, makedev(d.major, d.minor)) == 0) {
    if ((d.uid || d.gid) && fchownat(dir, name, d.uid, d.gid, AT_SYMLINK_NOFOLLOW) < 0) fail(proto::S_DEVICE, "fchownat", d.path, errno);
  } else if (errno == EPERM) {
    // No CAP_MKNOD in the initial user namespace (rootless): bind the host's node instead, as
    // runc and podman do; the path of the node is the same on the host.
    int f = openat(dir, name, O_CREAT | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (f < 0) fail(proto::S_DEVICE, "open", d.path, errno);
    close(f);
    int t = resolve(d.path);
    if (t < 0) fail(proto::S_DEVICE, "open", d.path, errno);
    ProcFd tp(t);
    if (mount(d.path, tp.buf, nullptr, MS_BIND, nullptr) < 0) fail(proto::S_DEVICE, "mount", d.path, errno);
    close(t);
  } else if (errno != EEXIST) {
    fail(proto::S_DEVICE, "mknod", d.path, errno);
  }
  close(dir);
}

void make_symlink(const Symlink& l) {
  char name[NAME_MAX + 1];
  int dir = resolve_parent(l.link, name, proto::S_SYMLINK);
  if (symlinkat(l.target, dir, name) < 0 && errno != EEXIST) fail(proto::S_SYMLINK, "symlink", l.link, errno);
  close(dir);
}

// Docker's read-only paths (/proc/sys, /proc/sysrq-trigger …): bind onto itself, remount ro.
void readonly_path(const char* path) {
  int t = resolve(path);
  if (t < 0) {
    if (errno == ENOENT) return;
    fail(proto::S_READONLY_PATH, "open", path, errno);
  }
  ProcFd tp(t);
  if (mount(tp.buf, tp.buf, nullptr, MS_BIND | MS_REC, nullptr) < 0) fail(proto::S_READONLY_PATH, "mount", path, errno);
  close(t);
  int t2 = resolve(path);
  if (t2 < 0) fail(proto::S_READONLY_PATH, "open", path, errno);
  ProcFd tp2(t2);
  remount(tp2.buf, MS_BIND | MS_REMOUNT | MS_RDONLY, proto::S_READONLY_PATH, path);
  close(t2);
}

// Docker's masked paths (/proc/kcore, /proc/keys, /sys/firmware …): /dev/null over a file, an
// empty read-only tmpfs over a directory.
void masked_path(const char* path) {
  int t = resolve(path);
  if (t < 0) {
    if (errno == ENOENT) return;
    fail(proto::S_MASKED_PATH, "open", path, errno);
  }
  struct stat st;
  if (fstat(t, &st) < 0) fail(proto::S_MASKED_PATH, "fstat", path, errno);
  ProcFd tp(t);
  int r = S_ISDIR(st.st_mode) ? mount("tmpfs", tp.buf, "tmpfs", MS_RDONLY, nullptr) : mount("/dev/null", tp.buf, nullptr, MS_BIND, nullptr);
  if (r < 0) fail(proto::S_MASKED_PATH, "mount", path, errno);
  close(t);
}

// With shared root propagation, the rootfs bind below would itself propagate to the host and
// pivot_root refuses a shared parent (EINVAL), so the mount holding the rootfs is made private
// first (runc's rootfsParentMountPrivate). The mount point is found by walking up while the
// mount id (statx, Linux ≥ 5.8) stays the same.
void make_parent_private(const char* rootfs) {
  char path[PATH_MAX];
  char parent[PATH_MAX];
  std::snprintf(path, sizeof(path), "%s", rootfs);
  struct statx sx;
  if (statx(AT_FDCWD, path, 0, STATX_MNT_ID, &sx) < 0) fail(proto::S_ROOTFS, "statx", rootfs, errno);
  uint64_t id = sx.stx_mnt_id;
  while (std::strcmp(path, "/") != 0) {
    std::memcpy(parent, path, sizeof(path));
    char* slash = std::strrchr(parent, '/');
    if (!slash) break;
    if (slash == parent) parent[1] = '\0';
    else *slash = '\0';
    if (statx(AT_FDCWD, parent, 0, STATX_MNT_ID, &sx) < 0 || sx.stx_mnt_id != id) break;
    std::memcpy(path, parent, sizeof(path));
  }
  if (mount(nullptr, path, nullptr, MS_PRIVATE, nullptr) < 0) fail(proto::S_ROOTFS, "mount", path, errno);
}

void enter_rootfs(const Spec& s) {
  if (fchdir(g_rootfd) < 0) fail(proto::S_PIVOT_ROOT, "fchdir", s.rootfs, errno);
  if (s.flags & proto::F_NO_PIVOT) {
    // runc --no-pivot: move the rootfs over / and chroot. Weaker than pivot_root (the old root
    // stays reachable to a process with CAP_SYS_CHROOT), for roots where pivot_root is refused
    // (an initramfs root).
    if (mount(".", "/", nullptr, MS_MOVE, nullptr) < 0) fail(proto::S_CHROOT, "mount", s.rootfs, errno);
    if (chroot(".") < 0) fail(proto::S_CHROOT, "chroot", s.rootfs, errno);
  } else {
    // crun's pivot_root(".", "."): the old root ends up stacked on the new one at "/", so no
    // put_old directory is needed inside the image. Before the lazy unmount the old root's tree is
    // made rslave so that the unmount cannot propagate to the host when / was shared (runc). It is
    // named through an fd opened before the pivot: "." after pivot_root names the new root, and
    // MS_SLAVE there would also turn the container's own shared binds into slaves.
    int oldroot = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (oldroot < 0) fail(proto::S_PIVOT_ROOT, "open", "/", errno);
    if (syscall(SYS_pivot_root, ".", ".") < 0) fail(proto::S_PIVOT_ROOT, "pivot_root", s.rootfs, errno);
    if (fchdir(oldroot) < 0) fail(proto::S_PIVOT_ROOT, "fchdir", "/", errno);
    if (mount(nullptr, ".", nullptr, MS_SLAVE | MS_REC, nullptr) < 0) fail(proto::S_PIVOT_ROOT, "mount", "/", errno);
    if (umount2(".", MNT_DETACH) < 0) fail(proto::S_PIVOT_ROOT, "umount2", "/", errno);
    close(oldroot);
  }
  if (chdir("/") < 0) fail(proto::S_PIVOT_ROOT, "chdir", "/", errno);
  close(g_rootfd);
  g_rootfd = -1;
}

}  // namespace

void setup_mounts(const Spec& s) {
  g_no_openat2 = s.flags & proto::F_NO_OPENAT2;
  mode_t old = umask(0);  // device nodes and mount points get exactly their modes
  // Propagation first: nothing mounted below may reach the host (rslave by default, as runc).
  if (s.root_propagation && mount(nullptr, "/", nullptr, s.root_propagation, nullptr) < 0) {
    fail(proto::S_PROPAGATION, "mount", "/", errno);
  }
  if (s.rootfs) {
    if (s.root_propagation & MS_SHARED) make_parent_private(s.rootfs);
    // pivot_root needs the new root to be a mount point: bind the rootfs onto itself.
    if (mount(s.rootfs, s.rootfs, nullptr, MS_BIND | MS_REC, nullptr) < 0) fail(proto::S_ROOTFS, "mount", s.rootfs, errno);
    g_rootfd = open(s.rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (g_rootfd < 0) fail(proto::S_ROOTFS, "open", s.rootfs, errno);
  }
  for (size_t i = 0; i < s.nmounts; i++) do_mount(s.mounts[i]);
  for (size_t i = 0; i < s.ndevices; i++) make_device(s.devices[i]);
  for (size_t i = 0; i < s.nsymlinks; i++) make_symlink(s.symlinks[i]);
  for (size_t i = 0; i < s.nreadonly; i++) readonly_path(s.readonly[i]);
  for (size_t i = 0; i < s.nmasked; i++) masked_path(s.masked[i]);
  if (s.rootfs && (s.flags & proto::F_READONLY_ROOT)) {
    // `docker run --read-only`: the rootfs bind made above (this mount namespace's own, so no
    // flag of it is locked) is remounted read-only last, after every mount point below it was
    // made; the mounts on it keep their own flags (runc remounts / the same way, after pivot).
    // Done here rather than by the caller so that a rootless caller, who cannot mount in the
    // host's namespace, gets it too.
    ProcFd rp(g_rootfd);
    remount(rp.buf, MS_BIND | MS_REMOUNT | MS_RDONLY, proto::S_ROOTFS, s.rootfs);
  }
  if (s.rootfs) enter_rootfs(s);
  umask(old);
}

}  // namespace sinit
