// File-descriptor based filesystem syscalls: the *at family, openat2, statx, xattrs, flock.
// Everything that returns an fd opens it O_CLOEXEC, so nothing leaks into processes that Node or
// the init helper spawn. Paths are resolved by the kernel relative to a directory fd the caller
// holds, which is what lets @stratum/layer stay inside an extraction root without TOCTOU races.
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>
#include "errors.h"
#include "module.h"
#include "util.h"

#ifndef __NR_fchmodat2
#define __NR_fchmodat2 452
#endif

namespace stratum {
namespace {

// openat(dirfd, path, flags, mode) -> fd. O_CLOEXEC is forced.
Napi::Value Openat(const Napi::CallbackInfo& info) {
  std::string path = ArgStr(info, 1);
  int fd = ::openat(ArgInt(info, 0), path.c_str(), ArgInt(info, 2) | O_CLOEXEC, ArgU32(info, 3));
  if (fd < 0) return ThrowErrno(info.Env(), errno, "openat", path);
  return Napi::Number::New(info.Env(), fd);
}

// openat2(dirfd, path, flags, mode, resolve) -> fd. The RESOLVE_* flags make the kernel do the
// path walk under constraints (stay beneath/inside a root, no magic links, no mount crossing) in
// one syscall, which a userspace walk can only approximate. EAGAIN (a concurrent rename raced a
// ".." step, or RESOLVE_CACHED missed) is left to the caller to retry.
Napi::Value Openat2(const Napi::CallbackInfo& info) {
  std::string path = ArgStr(info, 1);
  struct open_how how = {};
  how.flags = static_cast<uint64_t>(static_cast<uint32_t>(ArgInt(info, 2) | O_CLOEXEC));
  // The kernel rejects a mode without O_CREAT/O_TMPFILE, so only pass it along with them
  // (glibc's O_TMPFILE includes O_DIRECTORY, hence the full-mask compare).
  if ((how.flags & O_CREAT) || (how.flags & O_TMPFILE) == O_TMPFILE) how.mode = ArgU32(info, 3);
  how.resolve = ArgU64(info, 4);
  long fd = ::syscall(__NR_openat2, ArgInt(info, 0), path.c_str(), &how, sizeof how);
  if (fd < 0) return ThrowErrno(info.Env(), errno, "openat2", path);
  return Napi::Number::New(info.Env(), static_cast<double>(fd));
}

Napi::Value Mkdirat(const Napi::CallbackInfo& info) {
  std::string path = ArgStr(info, 1);
  if (::mkdirat(ArgInt(info, 0), path.c_str(), ArgU32(info, 2)) != 0) return ThrowErrno(info.Env(), errno, "mkdirat", path);
  return info.Env().Undefined();
}

// symlinkat(target, dirfd, linkpath)
Napi::Value Symlinkat(const Napi::CallbackInfo& info) {
  std::string target = ArgStr(info, 0), path = ArgStr(info, 2);
  if (::symlinkat(target.c_str(), ArgInt(info, 1), path.c_str()) != 0)
    return ThrowErrno(info.Env(), errno, "symlinkat", path, target);
  return info.Env().Undefined();
}

// linkat(olddirfd, oldpath, newdirfd, newpath, flags)
Napi::Value Linkat(const Napi::CallbackInfo& info) {
  std::string from = ArgStr(info, 1), to = ArgStr(info, 3);
  if (::linkat(ArgInt(info, 0), from.c_str(), ArgInt(info, 2), to.c_str(), ArgInt(info, 4)) != 0)
    return ThrowErrno(info.Env(), errno, "linkat", from, to);
  return info.Env().Undefined();
}

// mknodat(dirfd, path, mode, major, minor)
Napi::Value Mknodat(const Napi::CallbackInfo& info) {
  std::string path = ArgStr(info, 1);
  dev_t dev = makedev(ArgU32(info, 3), ArgU32(info, 4));
  if (::mknodat(ArgInt(info, 0), path.c_str(), ArgU32(info, 2), dev) != 0) return ThrowErrno(info.Env(), errno, "mknodat", path);
  return info.Env().Undefined();
}

Napi::Value Unlinkat(const Napi::CallbackInfo& info) {
  std::string path = ArgStr(info, 1);
  if (::unlinkat(ArgInt(info, 0), path.c_str(), ArgInt(info, 2)) != 0) return ThrowErrno(info.Env(), errno, "unlinkat", path);
  return info.Env().Undefined();
}

// renameat2(olddirfd, oldpath, newdirfd, newpath, flags): RENAME_NOREPLACE makes "create if
// absent" atomic, RENAME_EXCHANGE swaps two entries, RENAME_WHITEOUT leaves an overlay whiteout.
Napi::Value Renameat2(const Napi::CallbackInfo& info) {
  std::string from = ArgStr(info, 1), to = ArgStr(info, 3);
  if (::renameat2(ArgInt(info, 0), from.c_str(), ArgInt(info, 2), to.c_str(), ArgU32(info, 4)) != 0)
    return ThrowErrno(info.Env(), errno, "renameat2", from, to);
  return info.Env().Undefined();
}

Napi::Value Fchownat(const Napi::CallbackInfo& info) {
  std::string path = ArgStr(info, 1);
  if (::fchownat(ArgInt(info, 0), path.c_str(), ArgU32(info, 2), ArgU32(info, 3), ArgInt(info, 4)) != 0)
    return ThrowErrno(info.Env(), errno, "fchownat", path);
  return info.Env().Undefined();
}

Napi::Value Fchown(const Napi::CallbackInfo& info) {
  if (::fchown(ArgInt(info, 0), ArgU32(info, 1), ArgU32(info, 2)) != 0) return ThrowErrno(info.Env(), errno, "fchown");
  return info.Env().Undefined();
}

Napi::Value Fchmod(const Napi::CallbackInfo& info) {
  if (::fchmod(ArgInt(info, 0), ArgU32(info, 1)) != 0) return ThrowErrno(info.Env(), errno, "fchmod");
  return info.Env().Undefined();
}

// fchmodat(dirfd, path, mode, flags). Classic fchmodat has no flags argument in the kernel (glibc
// emulates AT_SYMLINK_NOFOLLOW through /proc), so with flags we use fchmodat2 (Linux 6.6) and,
// where it is missing, do the same as glibc: open the entry O_PATH|O_NOFOLLOW, refuse symlinks
// (their mode cannot be changed on Linux), and chmod the opened inode through its /proc path.
Napi::Value Fchmodat(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int dirfd = ArgInt(info, 0), flags = ArgInt(info, 3);
  std::string path = ArgStr(info, 1);
  mode_t mode = ArgU32(info, 2);
  if (flags == 0) {
    if (::fchmodat(dirfd, path.c_str(), mode, 0) != 0) return ThrowErrno(env, errno, "fchmodat", path);
    return env.Undefined();
  }
  if (::syscall(__NR_fchmodat2, dirfd, path.c_str(), mode, flags) == 0) return env.Undefined();
  if (errno != ENOSYS) return ThrowErrno(env, errno, "fchmodat2", path);
  UniqueFd owned;
  int target = dirfd;
  if (!(path.empty() && (flags & AT_EMPTY_PATH))) {
    owned.reset(::openat(dirfd, path.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
    if (!owned.ok()) return ThrowErrno(env, errno, "fchmodat", path);
    target = owned.get();
  }
  struct stat st;
  if (::fstat(target, &st) != 0) return ThrowErrno(env, errno, "fchmodat", path);
  if (S_ISLNK(st.st_mode)) return ThrowErrno(env, EOPNOTSUPP, "fchmodat", path);
  char proc[64];
  std::snprintf(proc, sizeof proc, "/proc/self/fd/%d", target);
  if (::chmod(proc, mode) != 0) return ThrowErrno(env, errno, "fchmodat", path);
  return env.Undefined();
}

// utimensat(dirfd, path|null, atimeSec, atimeNsec, mtimeSec, mtimeNsec, flags). A null path sets
// the times of dirfd itself (futimens). UTIME_NOW / UTIME_OMIT arrive as nsec values.
Napi::Value Utimensat(const Napi::CallbackInfo& info) {
  bool hasPath = false;
  std::string path = ArgOptStr(info, 1, &hasPath);
  struct timespec ts[2];
  ts[0].tv_sec = ArgI64(info, 2);
  ts[0].tv_nsec = ArgI64(info, 3);
  ts[1].tv_sec = ArgI64(info, 4);
  ts[1].tv_nsec = ArgI64(info, 5);
  // glibc's wrapper rejects a NULL path with flags, the kernel accepts it: go direct.
  if (::syscall(__NR_utimensat, ArgInt(info, 0), hasPath ? path.c_str() : nullptr, ts, ArgInt(info, 6)) != 0)
    return ThrowErrno(info.Env(), errno, "utimensat", path);
  return info.Env().Undefined();
}

Napi::Value NsTime(Napi::Env env, const struct statx_timestamp& t) {
  return Napi::BigInt::New(env, static_cast<int64_t>(static_cast<int64_t>(t.tv_sec) * 1000000000LL + t.tv_nsec));
}

// statx(dirfd, path, flags) -> stat object. statx (not fstatat) because it also gives the mount
// id, which the userspace resolver uses to detect mount crossings (RESOLVE_NO_XDEV fallback).
Napi::Value Statx(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path = ArgStr(info, 1);
  struct statx sx;
  unsigned mask = STATX_BASIC_STATS | STATX_MNT_ID;
  if (::statx(ArgInt(info, 0), path.c_str(), ArgInt(info, 2) | AT_STATX_SYNC_AS_STAT, mask, &sx) != 0)
    return ThrowErrno(env, errno, path.empty() ? "fstat" : "fstatat", path);
  Napi::Object o = Napi::Object::New(env);
  o.Set("dev", Napi::Number::New(env, static_cast<double>(makedev(sx.stx_dev_major, sx.stx_dev_minor))));
  o.Set("ino", Napi::BigInt::New(env, static_cast<uint64_t>(sx.stx_ino)));
  o.Set("mode", Napi::Number::New(env, sx.stx_mode));
  o.Set("nlink", Napi::Number::New(env, sx.stx_nlink));
  o.Set("uid", Napi::Number::New(env, sx.stx_uid));
  o.Set("gid", Napi::Number::New(env, sx.stx_gid));
  o.Set("rdev", Napi::Number::New(env, static_cast<double>(makedev(sx.stx_rdev_major, sx.stx_rdev_minor))));
  o.Set("rdevMajor", Napi::Number::New(env, sx.stx_rdev_major));
  o.Set("rdevMinor", Napi::Number::New(env, sx.stx_rdev_minor));
  o.Set("size", Napi::Number::New(env, static_cast<double>(sx.stx_size)));
  o.Set("blocks", Napi::Number::New(env, static_cast<double>(sx.stx_blocks)));
  o.Set("atimeNs", NsTime(env, sx.stx_atime));
  o.Set("mtimeNs", NsTime(env, sx.stx_mtime));
  o.Set("ctimeNs", NsTime(env, sx.stx_ctime));
  o.Set("mntId", (sx.stx_mask & STATX_MNT_ID) ? Napi::Number::New(env, static_cast<double>(sx.stx_mnt_id)) : env.Undefined());
  return o;
}

// readlinkat(dirfd, path) -> string; path "" reads the symlink that dirfd (O_PATH) itself is.
Napi::Value Readlinkat(const Napi::CallbackInfo& info) {
  std::string path = ArgStr(info, 1);
  std::vector<char> buf(256);
  for (;;) {
    ssize_t n = ::readlinkat(ArgInt(info, 0), path.c_str(), buf.data(), buf.size());
    if (n < 0) return ThrowErrno(info.Env(), errno, "readlinkat", path);
    if (static_cast<size_t>(n) < buf.size()) return Napi::String::New(info.Env(), buf.data(), n);
    buf.resize(buf.size() * 4);
  }
}

// fstatfs(fd) -> f_type: the resolver uses it to recognise procfs, home of the magic links.
Napi::Value FsType(const Napi::CallbackInfo& info) {
  struct statfs sf;
  if (::fstatfs(ArgInt(info, 0), &sf) != 0) return ThrowErrno(info.Env(), errno, "fstatfs");
  return Napi::Number::New(info.Env(), static_cast<double>(sf.f_type));
}

// --- xattrs. Values are bytes (Buffer); names are strings like "trusted.overlay.opaque".
// Size first, then read; retry on ERANGE because the value can grow between the two calls.

template <typename Get>
Napi::Value ReadXattr(Napi::Env env, const char* syscall, const std::string& where, Get get) {
  for (int attempt = 0; attempt < 8; attempt++) {
    ssize_t size = get(nullptr, 0);
    if (size < 0) return ThrowErrno(env, errno, syscall, where);
    std::vector<char> buf(size > 0 ? size : 1);
    ssize_t n = get(buf.data(), size);
    if (n >= 0) return Napi::Buffer<char>::Copy(env, buf.data(), n);
    if (errno != ERANGE) return ThrowErrno(env, errno, syscall, where);
  }
  return ThrowErrno(env, ERANGE, syscall, where);
}

Napi::Value ListNames(Napi::Env env, const std::vector<char>& buf, size_t n) {
  Napi::Array out = Napi::Array::New(env);
  uint32_t k = 0;
  for (size_t i = 0; i < n;) {
    size_t len = strnlen(buf.data() + i, n - i);
    if (len > 0) out.Set(k++, Napi::String::New(env, buf.data() + i, len));
    i += len + 1;
  }
  return out;
}

template <typename List>
Napi::Value ReadList(Napi::Env env, const char* syscall, const std::string& where, List list) {
  for (int attempt = 0; attempt < 8; attempt++) {
    ssize_t size = list(nullptr, 0);
    if (size < 0) return ThrowErrno(env, errno, syscall, where);
    std::vector<char> buf(size > 0 ? size : 1);
    ssize_t n = list(buf.data(), size);
    if (n >= 0) return ListNames(env, buf, n);
    if (errno != ERANGE) return ThrowErrno(env, errno, syscall, where);
  }
  return ThrowErrno(env, ERANGE, syscall, where);
}

Napi::Value Lgetxattr(const Napi::CallbackInfo& info) {
  std::string path = ArgStr(info, 0), name = ArgStr(info, 1);
  return ReadXattr(info.Env(), "lgetxattr", path, [&](char* b, size_t n) { return ::lgetxattr(path.c_str(), name.c_str(), b, n); });
}
Napi::Value Fgetxattr(const Napi::CallbackInfo& info) {
  int fd = ArgInt(info, 0);
  std::string name = ArgStr(info, 1);
  return ReadXattr(info.Env(), "fgetxattr", "", [&](char* b, size_t n) { return ::fgetxattr(fd, name.c_str(), b, n); });
}
Napi::Value Llistxattr(const Napi::CallbackInfo& info) {
  std::string path = ArgStr(info, 0);
  return ReadList(info.Env(), "llistxattr", path, [&](char* b, size_t n) { return ::llistxattr(path.c_str(), b, n); });
}
Napi::Value Flistxattr(const Napi::CallbackInfo& info) {
  int fd = ArgInt(info, 0);
  return ReadList(info.Env(), "flistxattr", "", [&](char* b, size_t n) { return ::flistxattr(fd, b, n); });
}
Napi::Value Lsetxattr(const Napi::CallbackInfo& info) {
  std::string path = ArgStr(info, 0), name = ArgStr(info, 1);
  auto value = info[2].As<Napi::Buffer<char>>();
  if (::lsetxattr(path.c_str(), name.c_str(), value.Data(), value.Length(), ArgInt(info, 3)) != 0)
    return ThrowErrno(info.Env(), errno, "lsetxattr", path);
  return info.Env().Undefined();
}
Napi::Value Fsetxattr(const Napi::CallbackInfo& info) {
  std::string name = ArgStr(info, 1);
  auto value = info[2].As<Napi::Buffer<char>>();
  if (::fsetxattr(ArgInt(info, 0), name.c_str(), value.Data(), value.Length(), ArgInt(info, 3)) != 0)
    return ThrowErrno(info.Env(), errno, "fsetxattr");
  return info.Env().Undefined();
}
Napi::Value Lremovexattr(const Napi::CallbackInfo& info) {
  std::string path = ArgStr(info, 0), name = ArgStr(info, 1);
  if (::lremovexattr(path.c_str(), name.c_str()) != 0) return ThrowErrno(info.Env(), errno, "lremovexattr", path);
  return info.Env().Undefined();
}
Napi::Value Fremovexattr(const Napi::CallbackInfo& info) {
  std::string name = ArgStr(info, 1);
  if (::fremovexattr(ArgInt(info, 0), name.c_str()) != 0) return ThrowErrno(info.Env(), errno, "fremovexattr");
  return info.Env().Undefined();
}

// flock(fd, op) -> Promise. A blocking LOCK_SH/LOCK_EX may wait indefinitely, so it runs on a
// libuv pool thread and settles a promise; the event loop never blocks. (A waiting lock holds that
// pool thread until it is granted.)
class FlockWorker : public Napi::AsyncWorker {
 public:
  FlockWorker(Napi::Env env, int fd, int op) : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)), fd_(fd), op_(op) {}
  Napi::Promise Promise() { return deferred_.Promise(); }
  void Execute() override {
    int r;
    do r = ::flock(fd_, op_);
    while (r != 0 && errno == EINTR);
    err_ = r != 0 ? errno : 0;
  }
  void OnOK() override {
    if (err_ != 0) deferred_.Reject(MakeErrno(Env(), err_, "flock"));
    else deferred_.Resolve(Env().Undefined());
  }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  int fd_, op_, err_ = 0;
};

Napi::Value Flock(const Napi::CallbackInfo& info) {
  // An uncontended lock (and every unlock) is granted at once: try without blocking on this
  // thread first, and only a lock held elsewhere goes to a pool thread to wait.
  const int fd = ArgInt(info, 0), op = ArgInt(info, 1);
  int r;
  do r = ::flock(fd, op | LOCK_NB);
  while (r != 0 && errno == EINTR);
  if (r == 0 || (op & LOCK_NB) != 0 || errno != EWOULDBLOCK) {
    auto d = Napi::Promise::Deferred::New(info.Env());
    if (r == 0) d.Resolve(info.Env().Undefined());
    else d.Reject(MakeErrno(info.Env(), errno, "flock"));
    return d.Promise();
  }
  auto* w = new FlockWorker(info.Env(), fd, op);
  Napi::Promise p = w->Promise();
  w->Queue();
  return p;
}

void Init(Napi::Env env, Napi::Object exports) {
  exports.Set("openat", Napi::Function::New(env, Openat));
  exports.Set("openat2", Napi::Function::New(env, Openat2));
  exports.Set("mkdirat", Napi::Function::New(env, Mkdirat));
  exports.Set("symlinkat", Napi::Function::New(env, Symlinkat));
  exports.Set("linkat", Napi::Function::New(env, Linkat));
  exports.Set("mknodat", Napi::Function::New(env, Mknodat));
  exports.Set("unlinkat", Napi::Function::New(env, Unlinkat));
  exports.Set("renameat2", Napi::Function::New(env, Renameat2));
  exports.Set("fchownat", Napi::Function::New(env, Fchownat));
  exports.Set("fchown", Napi::Function::New(env, Fchown));
  exports.Set("fchmod", Napi::Function::New(env, Fchmod));
  exports.Set("fchmodat", Napi::Function::New(env, Fchmodat));
  exports.Set("utimensat", Napi::Function::New(env, Utimensat));
  exports.Set("statx", Napi::Function::New(env, Statx));
  exports.Set("readlinkat", Napi::Function::New(env, Readlinkat));
  exports.Set("fsType", Napi::Function::New(env, FsType));
  exports.Set("lgetxattr", Napi::Function::New(env, Lgetxattr));
  exports.Set("fgetxattr", Napi::Function::New(env, Fgetxattr));
  exports.Set("llistxattr", Napi::Function::New(env, Llistxattr));
  exports.Set("flistxattr", Napi::Function::New(env, Flistxattr));
  exports.Set("lsetxattr", Napi::Function::New(env, Lsetxattr));
  exports.Set("fsetxattr", Napi::Function::New(env, Fsetxattr));
  exports.Set("lremovexattr", Napi::Function::New(env, Lremovexattr));
  exports.Set("fremovexattr", Napi::Function::New(env, Fremovexattr));
  exports.Set("flock", Napi::Function::New(env, Flock));
}

}  // namespace

STRATUM_MODULE(Init);

}  // namespace stratum
