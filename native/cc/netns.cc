// Network namespaces without ever switching Node's own threads: a new netns is made by a
// short-lived native thread that unshare()s its network namespace, opens (and optionally
// bind-mounts) /proc/thread-self/ns/net, and exits. The namespace lives on through the fd or the
// bind mount, exactly as `ip netns add` keeps it alive with a mount on /run/netns/NAME.
#include <napi.h>

#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <thread>

#include "errors.h"
#include "module.h"

namespace stratum {
namespace {

struct SysError {
  int err = 0;
  const char* syscall = "";
  std::string path;
};

// netnsCreate({ bindTo?: string }) → fd of the new network namespace (O_CLOEXEC).
// With bindTo (an existing empty file, e.g. /run/netns/NAME) the namespace is also bind-mounted
// there, so it outlives the process.
static Napi::Value NetnsCreate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string bindTo;
  if (info[0].IsObject()) {
    Napi::Value b = info[0].As<Napi::Object>().Get("bindTo");
    if (b.IsString()) bindTo = b.As<Napi::String>().Utf8Value();
  }
  SysError e;
  int fd = -1;
  // unshare(CLONE_NEWNET) affects only the calling thread, and the thread is thrown away right
  // after: Node's threads keep the namespace they had. /proc/thread-self (Linux 3.17) names the
  // thread's own namespace; /proc/self would name the main thread's.
  std::thread t([&] {
    if (unshare(CLONE_NEWNET) < 0) {
      e = {errno, "unshare", ""};
      return;
    }
    const char* self = "/proc/thread-self/ns/net";
    fd = open(self, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      e = {errno, "open", self};
      return;
    }
    if (!bindTo.empty() && mount(self, bindTo.c_str(), "none", MS_BIND, nullptr) < 0) {
      e = {errno, "mount", bindTo};
      close(fd);
      fd = -1;
    }
  });
  t.join();
  if (fd < 0) return ThrowErrno(env, e.err, e.syscall, e.path);
  return Napi::Number::New(env, fd);
}

// netnsShareDir(dir): make `dir` a shared mount point, bind-mounting it onto itself first when it
// is not a mount point yet. This is `ip netns add`'s dance: with /run/netns shared, a netns
// bind-mounted there later also appears in mount namespaces created after this one (and is
// unmounted everywhere when deleted), so a container's mount namespace does not pin it.
// Idempotent.
static Napi::Value NetnsShareDir(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsString()) {
    Napi::TypeError::New(env, "netnsShareDir(dir): dir must be a string").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  std::string dir = info[0].As<Napi::String>().Utf8Value();
  bool bound = false;
  while (mount("", dir.c_str(), "none", MS_SHARED | MS_REC, nullptr) < 0) {
    // EINVAL: not a mount point. Make it one (once) and try again.
    if (errno != EINVAL || bound) return ThrowErrno(env, errno, "mount", dir);
    if (mount(dir.c_str(), dir.c_str(), "none", MS_BIND | MS_REC, nullptr) < 0)
      return ThrowErrno(env, errno, "mount", dir);
    bound = true;
  }
  return Napi::Boolean::New(env, bound);
}

// netnsUnmount(path): lazily detach the bind mount that keeps a named netns alive (`ip netns
// delete` does the same); the namespace goes away when its last fd/process/mount is gone.
static Napi::Value NetnsUnmount(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsString()) {
    Napi::TypeError::New(env, "netnsUnmount(path): path must be a string").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  std::string path = info[0].As<Napi::String>().Utf8Value();
  if (umount2(path.c_str(), MNT_DETACH) < 0) return ThrowErrno(env, errno, "umount2", path);
  return env.Undefined();
}

void InitNetns(Napi::Env env, Napi::Object exports) {
  exports.Set("netnsCreate", Napi::Function::New(env, NetnsCreate, "netnsCreate"));
  exports.Set("netnsShareDir", Napi::Function::New(env, NetnsShareDir, "netnsShareDir"));
  exports.Set("netnsUnmount", Napi::Function::New(env, NetnsUnmount, "netnsUnmount"));
}

}  // namespace

STRATUM_MODULE(InitNetns);

}  // namespace stratum
