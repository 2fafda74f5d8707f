// Kernel constants (taken from the headers this addon is compiled against, because several differ
// between architectures, e.g. O_DIRECTORY on arm64) and the feature probe. The probe TRIES each
// syscall rather than parsing version numbers, so a backported or seccomp-filtered kernel reports
// what actually works.
#include <fcntl.h>
#include <linux/openat2.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>
#include "errors.h"
#include "module.h"
#include "util.h"

#ifndef MOVE_MOUNT_BENEATH
#define MOVE_MOUNT_BENEATH 0x00000200
#endif
#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif
#ifndef MOUNT_ATTR_NOSYMFOLLOW
#define MOUNT_ATTR_NOSYMFOLLOW 0x00200000
#endif
#ifndef RESOLVE_CACHED
#define RESOLVE_CACHED 0x20
#endif

namespace stratum {
namespace {

struct Constant {
  const char* name;
  double value;
};

Napi::Object Group(Napi::Env env, std::initializer_list<Constant> list) {
  Napi::Object o = Napi::Object::New(env);
  for (const Constant& c : list) o.Set(c.name, Napi::Number::New(env, c.value));
  return o;
}

#define C(prefix, name) \
  { #name, static_cast<double>(prefix##name) }

Napi::Object Constants(Napi::Env env) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("O", Group(env, {C(O_, RDONLY), C(O_, WRONLY), C(O_, RDWR), C(O_, CREAT), C(O_, EXCL), C(O_, TRUNC), C(O_, DIRECTORY),
                         C(O_, NOFOLLOW), C(O_, PATH), C(O_, CLOEXEC), C(O_, APPEND), C(O_, NONBLOCK), C(O_, NOCTTY),
                         C(O_, TMPFILE), C(O_, NOATIME), C(O_, SYNC), C(O_, DSYNC)}));
  o.Set("RESOLVE", Group(env, {C(RESOLVE_, NO_XDEV), C(RESOLVE_, NO_MAGICLINKS), C(RESOLVE_, NO_SYMLINKS), C(RESOLVE_, BENEATH),
                               C(RESOLVE_, IN_ROOT), C(RESOLVE_, CACHED)}));
  o.Set("AT", Group(env, {C(AT_, FDCWD), C(AT_, SYMLINK_NOFOLLOW), C(AT_, REMOVEDIR), C(AT_, EMPTY_PATH), C(AT_, SYMLINK_FOLLOW),
                          C(AT_, RECURSIVE), C(AT_, NO_AUTOMOUNT)}));
  o.Set("MS", Group(env, {C(MS_, RDONLY), C(MS_, NOSUID), C(MS_, NODEV), C(MS_, NOEXEC), C(MS_, SYNCHRONOUS), C(MS_, REMOUNT),
                          C(MS_, MANDLOCK), C(MS_, DIRSYNC), C(MS_, NOSYMFOLLOW), C(MS_, NOATIME), C(MS_, NODIRATIME), C(MS_, BIND),
                          C(MS_, MOVE), C(MS_, REC), C(MS_, SILENT), C(MS_, UNBINDABLE), C(MS_, PRIVATE), C(MS_, SLAVE),
                          C(MS_, SHARED), C(MS_, RELATIME), C(MS_, STRICTATIME), C(MS_, LAZYTIME)}));
  o.Set("MNT", Group(env, {C(MNT_, FORCE), C(MNT_, DETACH), C(MNT_, EXPIRE), {"UMOUNT_NOFOLLOW", UMOUNT_NOFOLLOW}}));
  o.Set("CLONE", Group(env, {C(CLONE_, NEWNS), C(CLONE_, NEWUTS), C(CLONE_, NEWIPC), C(CLONE_, NEWUSER), C(CLONE_, NEWPID),
                             C(CLONE_, NEWNET), C(CLONE_, NEWCGROUP), C(CLONE_, NEWTIME)}));
  o.Set("RENAME", Group(env, {C(RENAME_, NOREPLACE), C(RENAME_, EXCHANGE), C(RENAME_, WHITEOUT)}));
  o.Set("MOUNT_ATTR", Group(env, {C(MOUNT_ATTR_, RDONLY), C(MOUNT_ATTR_, NOSUID), C(MOUNT_ATTR_, NODEV), C(MOUNT_ATTR_, NOEXEC),
                                  C(MOUNT_ATTR_, _ATIME), C(MOUNT_ATTR_, RELATIME), C(MOUNT_ATTR_, NOATIME),
                                  C(MOUNT_ATTR_, STRICTATIME), C(MOUNT_ATTR_, NODIRATIME), C(MOUNT_ATTR_, IDMAP),
                                  C(MOUNT_ATTR_, NOSYMFOLLOW)}));
  o.Set("FSCONFIG", Group(env, {C(FSCONFIG_, SET_FLAG), C(FSCONFIG_, SET_STRING), C(FSCONFIG_, SET_BINARY), C(FSCONFIG_, SET_PATH),
                                C(FSCONFIG_, SET_PATH_EMPTY), C(FSCONFIG_, SET_FD), C(FSCONFIG_, CMD_CREATE),
                                C(FSCONFIG_, CMD_RECONFIGURE)}));
  o.Set("MOVE_MOUNT", Group(env, {C(MOVE_MOUNT_, F_SYMLINKS), C(MOVE_MOUNT_, F_AUTOMOUNTS), C(MOVE_MOUNT_, F_EMPTY_PATH),
                                  C(MOVE_MOUNT_, T_SYMLINKS), C(MOVE_MOUNT_, T_AUTOMOUNTS), C(MOVE_MOUNT_, T_EMPTY_PATH),
                                  C(MOVE_MOUNT_, BENEATH)}));
  o.Set("OPEN_TREE", Group(env, {C(OPEN_TREE_, CLONE), C(OPEN_TREE_, CLOEXEC)}));
  o.Set("XATTR", Group(env, {C(XATTR_, CREATE), C(XATTR_, REPLACE)}));
  o.Set("S", Group(env, {C(S_, IFMT), C(S_, IFREG), C(S_, IFDIR), C(S_, IFLNK), C(S_, IFCHR), C(S_, IFBLK), C(S_, IFIFO),
                         C(S_, IFSOCK), C(S_, ISUID), C(S_, ISGID), C(S_, ISVTX)}));
  o.Set("UTIME", Group(env, {C(UTIME_, NOW), C(UTIME_, OMIT)}));
  o.Set("LOCK", Group(env, {C(LOCK_, SH), C(LOCK_, EX), C(LOCK_, UN), C(LOCK_, NB)}));
  return o;
}

// Can this process create a user namespace? Node is multithreaded, so unshare(CLONE_NEWUSER)
// is refused here whatever the policy; a fresh child process is not. clone() without CLONE_VM
// gives the child its own copy of memory, and it does nothing but exit_group, which is safe in a
// child of a multithreaded parent. We wait for that exact pid, so libuv's SIGCHLD reaping of its
// own children is not disturbed.
bool ProbeUserns() {
  long pid = ::syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0);
  if (pid < 0) return false;
  if (pid == 0) ::syscall(SYS_exit_group, 0);
  int status = 0;
  while (::waitpid(static_cast<pid_t>(pid), &status, __WALL) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

Napi::Value Probe(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);

  // openat2: resolve "/" with a RESOLVE flag; ENOSYS (or a seccomp EPERM) means unusable.
  struct open_how how = {};
  how.flags = O_PATH | O_CLOEXEC;
  how.resolve = RESOLVE_NO_MAGICLINKS;
  UniqueFd root(static_cast<int>(::syscall(__NR_openat2, AT_FDCWD, "/", &how, sizeof how)));
  o.Set("openat2", Napi::Boolean::New(env, root.ok()));

  // The new mount API: fsopen exists when it fails with anything but ENOSYS (EPERM = exists but
  // this process may not use it).
  UniqueFd fs(static_cast<int>(::syscall(__NR_fsopen, "tmpfs", FSOPEN_CLOEXEC)));
  bool mountApi = fs.ok() || (errno != ENOSYS);
  o.Set("mountApi", Napi::Boolean::New(env, mountApi));
  o.Set("mountApiUsable", Napi::Boolean::New(env, fs.ok()));

  // overlay "lowerdir+" (Linux 6.8): only an overlay fs context can tell, and opening one needs
  // CAP_SYS_ADMIN; null = could not ask.
  Napi::Value plus = env.Null();
  if (mountApi) {
    UniqueFd ov(static_cast<int>(::syscall(__NR_fsopen, "overlay", FSOPEN_CLOEXEC)));
    if (ov.ok()) {
      plus = Napi::Boolean::New(env, ::syscall(__NR_fsconfig, ov.get(), FSCONFIG_SET_STRING, "lowerdir+", "/", 0) == 0);
    } else if (errno == ENODEV) {
      plus = Napi::Boolean::New(env, false);
    }
  }
  o.Set("overlayLowerdirPlus", plus);

  // mount_setattr (5.12) is what idmapped mounts are set with; a zero size gives EINVAL when
  // the syscall exists.
  errno = 0;
  long r = ::syscall(__NR_mount_setattr, -1, "", AT_EMPTY_PATH, nullptr, 0);
  o.Set("mountSetattr", Napi::Boolean::New(env, !(r < 0 && errno == ENOSYS)));

  // fchmodat2 (6.6): AT_SYMLINK_NOFOLLOW on an invalid fd gives EBADF when it exists.
  r = ::syscall(452, -1, "x", 0, AT_SYMLINK_NOFOLLOW);
  o.Set("fchmodat2", Napi::Boolean::New(env, !(r < 0 && errno == ENOSYS)));

  o.Set("userns", Napi::Boolean::New(env, ProbeUserns()));

  struct utsname u;
  o.Set("kernelRelease", Napi::String::New(env, ::uname(&u) == 0 ? u.release : ""));
  return o;
}

void Init(Napi::Env env, Napi::Object exports) {
  exports.Set("constants", Constants(env));
  exports.Set("probeFeatures", Napi::Function::New(env, Probe));
}

}  // namespace

STRATUM_MODULE(Init);

}  // namespace stratum
