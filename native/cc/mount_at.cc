// mountAt: mount(2) with relative paths resolved against a directory fd instead of the process's
// working directory. Docker's overlay2 keeps overlay's one-page mount(2) data string short by
// naming lower layers through short symlinks (`l/ABC…`) relative to its state dir, and re-execs
// itself to chdir there first (a process-wide change). Node cannot chdir for one call safely:
// the cwd is shared with libuv's pool threads. So the mount runs on a short-lived thread that
// first unshare(CLONE_FS)s: the thread gets its own copy of cwd/root/umask (allowed in a
// multithreaded process, unlike CLONE_NEWNS/CLONE_NEWUSER), fchdir()s to the directory and calls
// mount(2) there; the copy dies with the thread and no other thread ever sees the change.
#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <unistd.h>
#include <string>
#include <thread>
#include "errors.h"
#include "module.h"
#include "util.h"

namespace stratum {
namespace {

// mountAt(dirfd, source|null, target, fstype|null, flags, data|null)
Napi::Value MountAt(const Napi::CallbackInfo& info) {
  int dirfd = ArgInt(info, 0);
  bool hasSource, hasType, hasData;
  std::string source = ArgOptStr(info, 1, &hasSource), target = ArgStr(info, 2), fstype = ArgOptStr(info, 3, &hasType);
  unsigned long flags = ArgU32(info, 4);
  std::string data = ArgOptStr(info, 5, &hasData);
  int err = 0;
  const char* step = "mount";
  std::thread worker([&] {
    if (::unshare(CLONE_FS) != 0) {
      err = errno;
      step = "unshare";
      return;
    }
    if (::fchdir(dirfd) != 0) {
      err = errno;
      step = "fchdir";
      return;
    }
    if (::mount(hasSource ? source.c_str() : nullptr, target.c_str(), hasType ? fstype.c_str() : nullptr, flags,
                hasData ? data.c_str() : nullptr) != 0)
      err = errno;
  });
  worker.join();
  if (err != 0) return ThrowErrno(info.Env(), err, step, target, hasSource ? source : "");
  return info.Env().Undefined();
}

void Init(Napi::Env env, Napi::Object exports) { exports.Set("mountAt", Napi::Function::New(env, MountAt)); }

}  // namespace

STRATUM_MODULE(Init);

}  // namespace stratum
