// Starting a program without fork(): clone(CLONE_VM | CLONE_VFORK), as glibc's posix_spawn does, so
// that its cost does not grow with the Node process's memory as libuv's fork()
// does (fork copies the page tables of the whole heap). The exit is learnt through a pidfd polled
// on Node's event loop and reaped with waitid(P_PIDFD): libuv only waitpid()s the pids of its own
// process handles, so a child started here is ours alone to reap.
#include <fcntl.h>
#include <signal.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <uv.h>
#include <algorithm>
#include <string>
#include <vector>
#include "errors.h"
#include "module.h"
#include "util.h"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

namespace stratum {
namespace {

std::vector<std::string> StrArray(const Napi::Value& v) {
  Napi::Array a = v.As<Napi::Array>();
  std::vector<std::string> out;
  out.reserve(a.Length());
  for (uint32_t i = 0; i < a.Length(); i++) out.push_back(a.Get(i).As<Napi::String>().Utf8Value());
  return out;
}

std::vector<char*> CStrs(std::vector<std::string>& v) {
  std::vector<char*> out;
  out.reserve(v.size() + 1);
  for (auto& s : v) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

Napi::Value FdPair(Napi::Env env, int a, int b) {
  Napi::Array out = Napi::Array::New(env, 2);
  out.Set(0u, Napi::Number::New(env, a));
  out.Set(1u, Napi::Number::New(env, b));
  return out;
}

// pipe2(O_CLOEXEC) → [read end, write end].
Napi::Value Pipe(const Napi::CallbackInfo& info) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return ThrowErrno(info.Env(), errno, "pipe2");
  return FdPair(info.Env(), fds[0], fds[1]);
}

// socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC) → [a, b].
Napi::Value Socketpair(const Napi::CallbackInfo& info) {
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) return ThrowErrno(info.Env(), errno, "socketpair");
  return FdPair(info.Env(), fds[0], fds[1]);
}

// What the child of SpawnProcess needs; it shares the parent's memory until it execs, and reports
// a failed execve in `err`.
struct ChildArgs {
  const char* path;
  char* const* argv;
  char* const* envp;
  const int* sources;
  int n;
  int err;
  const char* syscall;
};

// Runs in the clone(CLONE_VM | CLONE_VFORK) child on its own stack, with every signal blocked:
// raw syscalls only, nothing that takes a lock or touches the parent's state.
int ChildMain(void* p) {
  auto* a = static_cast<ChildArgs*>(p);
  // Default actions for every signal, glibc's two internal ones included (its sigaction()
  // refuses them, and posix_spawn leaves them ignored across the exec).
  struct {
    void* handler;
    unsigned long flags;
    void* restorer;
    uint64_t mask;
  } dfl = {reinterpret_cast<void*>(SIG_DFL), 0, nullptr, 0};
  for (int sig = 1; sig <= 64; sig++) {
    if (sig != SIGKILL && sig != SIGSTOP) ::syscall(SYS_rt_sigaction, sig, &dfl, nullptr, sizeof(uint64_t));
  }
  for (int i = 0; i < a->n; i++) {
    if (::dup2(a->sources[i], i) < 0) {
      a->err = errno;
      a->syscall = "dup2";
      ::_exit(127);
    }
  }
  ::syscall(SYS_close_range, a->n, ~0U, 0);
  uint64_t none = 0;
  ::syscall(SYS_rt_sigprocmask, SIG_SETMASK, &none, nullptr, sizeof(uint64_t));
  ::execve(a->path, a->argv, a->envp);
  a->err = errno;
  a->syscall = "execve";
  ::_exit(127);
}

// spawnProcess(path, argv, env, fds) → { pid, pidfd }: the child gets fds[i] as its fd i and no
// other descriptor, default actions for every signal and an empty signal mask. What glibc's
// posix_spawn does (clone with CLONE_VM | CLONE_VFORK: no copy of the parent's page tables),
// plus the pidfd from the clone itself (CLONE_PIDFD) and glibc's internal signals reset too.
Napi::Value SpawnProcess(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path = ArgStr(info, 0);
  std::vector<std::string> argv = StrArray(info[1]);
  std::vector<std::string> envs = StrArray(info[2]);
  Napi::Array fdArr = info[3].As<Napi::Array>();
  const int n = static_cast<int>(fdArr.Length());

  // Each source is first copied above every target, so that no dup2 overwrites a source that a
  // later one still needs (a source may itself be a low number: Node's own stdio).
  std::vector<UniqueFd> copies;
  std::vector<int> sources;
  copies.reserve(n);
  for (int i = 0; i < n; i++) {
    int src = fdArr.Get(static_cast<uint32_t>(i)).As<Napi::Number>().Int32Value();
    int copy = ::fcntl(src, F_DUPFD_CLOEXEC, std::max(n, 3));
    if (copy < 0) return ThrowErrno(env, errno, "fcntl");
    copies.emplace_back(copy);
    sources.push_back(copy);
  }
  std::vector<char*> cargv = CStrs(argv);
  std::vector<char*> cenv = CStrs(envs);
  ChildArgs args{path.c_str(), cargv.data(), cenv.data(), sources.data(), n, 0, nullptr};

  const size_t stackSize = 64 * 1024;
  void* stack = ::mmap(nullptr, stackSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
  if (stack == MAP_FAILED) return ThrowErrno(env, errno, "mmap");
  // No signal handler of Node's may run in the child while it shares Node's memory.
  uint64_t all = ~0ULL, old = 0;
  ::syscall(SYS_rt_sigprocmask, SIG_SETMASK, &all, &old, sizeof(uint64_t));
  int pidfd = -1;
  pid_t pid = ::clone(ChildMain, static_cast<char*>(stack) + stackSize, CLONE_VM | CLONE_VFORK | CLONE_PIDFD | SIGCHLD, &args, &pidfd);
  int cloneErr = errno;
  ::syscall(SYS_rt_sigprocmask, SIG_SETMASK, &old, nullptr, sizeof(uint64_t));
  ::munmap(stack, stackSize);
  if (pid < 0) return ThrowErrno(env, cloneErr, "clone");
  if (args.err != 0) {
    // The child exited (127) before the exec: reap it here, nothing is left running.
    ::close(pidfd);
    while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
    }
    return ThrowErrno(env, args.err, args.syscall, path);
  }
  Napi::Object out = Napi::Object::New(env);
  out.Set("pid", Napi::Number::New(env, pid));
  out.Set("pidfd", Napi::Number::New(env, pidfd));
  return out;
}

// One watched exit: a uv_poll_t on a private copy of the pidfd; the callback runs once, after
// the child was reaped, and the watch frees itself.
struct ExitWatch {
  uv_poll_t poll;
  int fd;
  napi_env env;
  Napi::FunctionReference callback;
  Napi::AsyncContext* context;
  bool closing = false;
};

void CloseWatch(ExitWatch* w) {
  if (w->closing) return;
  w->closing = true;
  uv_poll_stop(&w->poll);
  uv_close(reinterpret_cast<uv_handle_t*>(&w->poll), [](uv_handle_t* h) {
    auto* w = static_cast<ExitWatch*>(h->data);
    ::close(w->fd);
    delete w->context;
    delete w;
  });
}

void OnEnvCleanup(void* data) { CloseWatch(static_cast<ExitWatch*>(data)); }

void OnReadable(uv_poll_t* handle, int status, int events) {
  auto* w = static_cast<ExitWatch*>(handle->data);
  siginfo_t si{};
  int r;
  do r = ::waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(w->fd), &si, WEXITED | WNOHANG);
  while (r != 0 && errno == EINTR);
  int err = r != 0 ? errno : 0;
  if (err == 0 && si.si_pid == 0) return;  // not exited yet (a spurious wake-up)
  napi_remove_env_cleanup_hook(w->env, OnEnvCleanup, w);
  Napi::Env env(w->env);
  {
    Napi::HandleScope scope(env);
    Napi::Value code = env.Null(), sig = env.Null(), errv = env.Null();
    if (err != 0) errv = MakeErrno(env, err, "waitid");
    else if (si.si_code == CLD_EXITED) code = Napi::Number::New(env, si.si_status);
    else sig = Napi::Number::New(env, si.si_status);
    Napi::Function cb = w->callback.Value();
    CloseWatch(w);
    try {
      cb.MakeCallback(env.Global(), {code, sig, errv}, *w->context);
    } catch (const Napi::Error& e) {
      napi_fatal_exception(w->env, e.Value());
    }
  }
}

// watchPidfd(pidfd, cb): cb(code, signal, error) once the process has exited and was reaped.
Napi::Value WatchPidfd(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = ::fcntl(ArgInt(info, 0), F_DUPFD_CLOEXEC, 0);
  if (fd < 0) return ThrowErrno(env, errno, "fcntl");
  uv_loop_t* loop = nullptr;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok || loop == nullptr) {
    ::close(fd);
    Napi::Error::New(env, "watchPidfd: no event loop").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  auto* w = new ExitWatch();
  w->fd = fd;
  w->env = env;
  w->callback = Napi::Persistent(info[1].As<Napi::Function>());
  w->context = new Napi::AsyncContext(env, "stratum:pidfd");
  int r = uv_poll_init(loop, &w->poll, fd);
  if (r != 0) {
    ::close(fd);
    delete w->context;
    delete w;
    return ThrowErrno(env, -r, "uv_poll_init");
  }
  w->poll.data = w;
  r = uv_poll_start(&w->poll, UV_READABLE, OnReadable);
  if (r != 0) {
    CloseWatch(w);
    return ThrowErrno(env, -r, "uv_poll_start");
  }
  napi_add_env_cleanup_hook(env, OnEnvCleanup, w);
  return env.Undefined();
}

void Init(Napi::Env env, Napi::Object exports) {
  exports.Set("pipe", Napi::Function::New(env, Pipe));
  exports.Set("socketpair", Napi::Function::New(env, Socketpair));
  exports.Set("spawnProcess", Napi::Function::New(env, SpawnProcess));
  exports.Set("watchPidfd", Napi::Function::New(env, WatchPidfd));
}

}  // namespace

STRATUM_MODULE(Init);

}  // namespace stratum
