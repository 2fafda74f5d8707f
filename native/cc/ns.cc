// Namespaces and pidfds. unshare/setns act on the CALLING THREAD only: in Node that is the main
// thread, while libuv's pool threads stay where they were. The kernel itself refuses
// CLONE_NEWUSER and joining a user or mount namespace from a multithreaded process (EINVAL), so
// those belong in the single-threaded stratum-init helper; here they are exposed for the cases
// that are safe (and for helpers run as separate processes).
#include <sched.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <string>
#include "errors.h"
#include "module.h"
#include "util.h"

namespace stratum {
namespace {

Napi::Value Unshare(const Napi::CallbackInfo& info) {
  if (::unshare(ArgInt(info, 0)) != 0) return ThrowErrno(info.Env(), errno, "unshare");
  return info.Env().Undefined();
}

Napi::Value Setns(const Napi::CallbackInfo& info) {
  if (::setns(ArgInt(info, 0), ArgInt(info, 1)) != 0) return ThrowErrno(info.Env(), errno, "setns");
  return info.Env().Undefined();
}

Napi::Value Sethostname(const Napi::CallbackInfo& info) {
  std::string name = ArgStr(info, 0);
  if (::sethostname(name.c_str(), name.size()) != 0) return ThrowErrno(info.Env(), errno, "sethostname", name);
  return info.Env().Undefined();
}

// pidfd_open (5.3): a pidfd names one process for good, so signalling it cannot hit a recycled
// pid. pidfds are always close-on-exec.
Napi::Value PidfdOpen(const Napi::CallbackInfo& info) {
  int fd = static_cast<int>(::syscall(__NR_pidfd_open, ArgInt(info, 0), ArgU32(info, 1)));
  if (fd < 0) return ThrowErrno(info.Env(), errno, "pidfd_open");
  return Napi::Number::New(info.Env(), fd);
}

Napi::Value PidfdSendSignal(const Napi::CallbackInfo& info) {
  if (::syscall(__NR_pidfd_send_signal, ArgInt(info, 0), ArgInt(info, 1), nullptr, 0) != 0)
    return ThrowErrno(info.Env(), errno, "pidfd_send_signal");
  return info.Env().Undefined();
}

void Init(Napi::Env env, Napi::Object exports) {
  exports.Set("unshare", Napi::Function::New(env, Unshare));
  exports.Set("setns", Napi::Function::New(env, Setns));
  exports.Set("sethostname", Napi::Function::New(env, Sethostname));
  exports.Set("pidfdOpen", Napi::Function::New(env, PidfdOpen));
  exports.Set("pidfdSendSignal", Napi::Function::New(env, PidfdSendSignal));
}

}  // namespace

STRATUM_MODULE(Init);

}  // namespace stratum
