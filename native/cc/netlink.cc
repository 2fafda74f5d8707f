// A netlink socket and nothing more: open (optionally inside another network namespace), send a
// datagram, receive a datagram, close. Message encoding, dumps and ACK parsing live in TypeScript
// (@stratum/netns); this file only moves bytes.
//
// Why a short-lived thread for "a socket in another netns": a netlink socket stays bound to the
// network namespace it was created in, whatever namespace its user later runs in. So the
// cheapest correct way to get a socket "inside" a netns is a fresh thread that setns()es into it,
// creates the socket and exits. Node's main thread (and the libuv pool) never switch namespace,
// which would otherwise change the meaning of every later socket() call on that thread.
#include <napi.h>

#include <fcntl.h>
#include <linux/netlink.h>
#include <poll.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <string>
#include <thread>

#include "errors.h"
#include "module.h"

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif
#ifndef NETLINK_CAP_ACK
#define NETLINK_CAP_ACK 10
#endif
#ifndef NETLINK_EXT_ACK
#define NETLINK_EXT_ACK 11
#endif
#ifndef NETLINK_GET_STRICT_CHK
#define NETLINK_GET_STRICT_CHK 12
#endif

namespace stratum {
namespace {

struct SysError {
  int err = 0;
  const char* syscall = "";
  std::string path;
};

// RAII for an fd that is handed out only on success.
struct FdGuard {
  int fd = -1;
  ~FdGuard() {
    if (fd >= 0) close(fd);
  }
  int release() {
    int f = fd;
    fd = -1;
    return f;
  }
};

struct OpenOptions {
  int protocol = NETLINK_ROUTE;
  int netnsFd = -1;
  std::string netnsPath;
  int rcvbuf = 0;
  uint32_t groups = 0;
  bool extAck = true;
  bool strictCheck = true;
};

// Runs on whatever thread should own the socket's namespace (the calling thread or a fresh one).
static int OpenHere(const OpenOptions& o, SysError* e, uint32_t* portId) {
  FdGuard s;
  s.fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, o.protocol);
  if (s.fd < 0) {
    *e = {errno, "socket", ""};
    return -1;
  }
  int one = 1;
  // The options below are best effort on old kernels (EXT_ACK is 4.12+, STRICT_CHK 4.20+): a
  // kernel that lacks them still answers, only with less detail.
  if (o.extAck) setsockopt(s.fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof one);
  if (o.strictCheck) setsockopt(s.fd, SOL_NETLINK, NETLINK_GET_STRICT_CHK, &one, sizeof one);
  // Errors carry only the header of the failed request (the TypeScript side keeps the request).
  setsockopt(s.fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof one);
  if (o.rcvbuf > 0) {
    if (setsockopt(s.fd, SOL_SOCKET, SO_RCVBUFFORCE, &o.rcvbuf, sizeof o.rcvbuf) < 0)
      setsockopt(s.fd, SOL_SOCKET, SO_RCVBUF, &o.rcvbuf, sizeof o.rcvbuf);
  }
  sockaddr_nl local{};
  local.nl_family = AF_NETLINK;
  local.nl_groups = o.groups;
  if (bind(s.fd, reinterpret_cast<sockaddr*>(&local), sizeof local) < 0) {
    *e = {errno, "bind", ""};
    return -1;
  }
  socklen_t len = sizeof local;
  if (getsockname(s.fd, reinterpret_cast<sockaddr*>(&local), &len) < 0) {
    *e = {errno, "getsockname", ""};
    return -1;
  }
  *portId = local.nl_pid;
  return s.release();
}

static int OpenInNetns(const OpenOptions& o, SysError* e, uint32_t* portId) {
  if (o.netnsFd < 0 && o.netnsPath.empty()) return OpenHere(o, e, portId);
  int result = -1;
  // The thread exits right after socket(): its namespace switch dies with it.
  std::thread t([&] {
    FdGuard ns;
    int nsfd = o.netnsFd;
    if (nsfd < 0) {
      ns.fd = open(o.netnsPath.c_str(), O_RDONLY | O_CLOEXEC);
      if (ns.fd < 0) {
        *e = {errno, "open", o.netnsPath};
        return;
      }
      nsfd = ns.fd;
    }
    if (setns(nsfd, CLONE_NEWNET) < 0) {
      *e = {errno, "setns", o.netnsPath};
      return;
    }
    result = OpenHere(o, e, portId);
  });
  t.join();
  return result;
}

class NetlinkSocket : public Napi::ObjectWrap<NetlinkSocket> {
 public:
  static Napi::FunctionReference* ctor;

  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "NetlinkSocket",
                       {
                           InstanceMethod<&NetlinkSocket::Send>("send"),
                           InstanceMethod<&NetlinkSocket::SendAsync>("sendAsync"),
                           InstanceMethod<&NetlinkSocket::Recv>("recv"),
                           InstanceMethod<&NetlinkSocket::RecvAsync>("recvAsync"),
                           InstanceMethod<&NetlinkSocket::Close>("close"),
                           InstanceAccessor<&NetlinkSocket::GetFd>("fd"),
                           InstanceAccessor<&NetlinkSocket::GetPortId>("portId"),
                           InstanceAccessor<&NetlinkSocket::GetProtocol>("protocol"),
                       });
  }

  NetlinkSocket(const Napi::CallbackInfo& info) : Napi::ObjectWrap<NetlinkSocket>(info) {
    // Constructed only by netlinkOpen with (fd, portId, protocol).
    fd_ = info[0].As<Napi::Number>().Int32Value();
    portId_ = info[1].As<Napi::Number>().Uint32Value();
    protocol_ = info[2].As<Napi::Number>().Int32Value();
  }

  ~NetlinkSocket() override {
    if (fd_ >= 0) close(fd_);
  }

  // An async worker keeps the fd from being closed under it: close() while one runs only marks
  // the socket closed, and the last worker to finish closes the fd.
  void Hold() { ++inflight_; }
  void Release() {
    if (--inflight_ == 0 && closing_ && fd_ >= 0) {
      close(fd_);
      fd_ = -1;
    }
  }
  int fd() const { return fd_; }

 private:
  Napi::Value CheckOpen(Napi::Env env) {
    if (closing_ || fd_ < 0) return ThrowErrno(env, EBADF, "netlink", "socket is closed");
    return Napi::Value();
  }

  static bool SendTo(int fd, const uint8_t* data, size_t len, SysError* e, ssize_t* out) {
    sockaddr_nl kernel{};
    kernel.nl_family = AF_NETLINK;
    ssize_t n;
    do n = sendto(fd, data, len, 0, reinterpret_cast<sockaddr*>(&kernel), sizeof kernel);
    while (n < 0 && errno == EINTR);
    if (n < 0) {
      *e = {errno, "sendto", ""};
      return false;
    }
    *out = n;
    return true;
  }

  Napi::Value Send(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!info[0].IsTypedArray()) {
      Napi::TypeError::New(env, "send(buf): buf must be a Uint8Array").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    if (closing_ || fd_ < 0) return ThrowErrno(env, EBADF, "sendto");
    auto buf = info[0].As<Napi::Uint8Array>();
    SysError e;
    ssize_t n = 0;
    if (!SendTo(fd_, buf.Data(), buf.ByteLength(), &e, &n)) return ThrowErrno(env, e.err, e.syscall);
    return Napi::Number::New(env, static_cast<double>(n));
  }

  // Receives one datagram without waiting: the kernel queues rtnetlink answers (and the next part
  // of a dump) before sendto()/recvmsg() return, so a reply is there when asked for.
  // Returns null when nothing is queued.
  static ssize_t RecvOne(int fd, int flags, std::string* data, SysError* e) {
    // Peek the size first (MSG_TRUNC reports the full datagram length), then read it whole.
    ssize_t want;
    do want = recv(fd, nullptr, 0, MSG_PEEK | MSG_TRUNC | flags);
    while (want < 0 && errno == EINTR);
    if (want < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) return 0;
      *e = {errno, "recvmsg", ""};
      return -1;
    }
    data->resize(want > 0 ? static_cast<size_t>(want) : 1);
    sockaddr_nl from{};
    iovec iov{data->data(), data->size()};
    msghdr msg{};
    msg.msg_name = &from;
    msg.msg_namelen = sizeof from;
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    ssize_t n;
    do n = recvmsg(fd, &msg, MSG_DONTWAIT);
    while (n < 0 && errno == EINTR);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) return 0;
      *e = {errno, "recvmsg", ""};
      return -1;
    }
    data->resize(static_cast<size_t>(n));
    return n == 0 ? -2 : n;  // -2: an empty datagram (never sent by the kernel; treated as none)
  }

  Napi::Value Recv(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (closing_ || fd_ < 0) return ThrowErrno(env, EBADF, "recvmsg");
    // Peek the size (MSG_TRUNC reports the whole datagram), then read straight into a new Buffer.
    ssize_t want;
    do want = recv(fd_, nullptr, 0, MSG_PEEK | MSG_TRUNC | MSG_DONTWAIT);
    while (want < 0 && errno == EINTR);
    if (want < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) return env.Null();
      return ThrowErrno(env, errno, "recvmsg");
    }
    if (want == 0) {
      char c;
      recv(fd_, &c, 0, MSG_DONTWAIT);  // drop an empty datagram (never sent by the kernel)
      return env.Null();
    }
    Napi::Buffer<uint8_t> buf = Napi::Buffer<uint8_t>::New(env, static_cast<size_t>(want));
    ssize_t n;
    do n = recv(fd_, buf.Data(), buf.Length(), MSG_DONTWAIT);
    while (n < 0 && errno == EINTR);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) return env.Null();
      return ThrowErrno(env, errno, "recvmsg");
    }
    if (static_cast<size_t>(n) < buf.Length()) return buf.Get("subarray").As<Napi::Function>().Call(buf, {Napi::Number::New(env, 0), Napi::Number::New(env, static_cast<double>(n))});
    return buf;
  }

  class SendWorker : public Napi::AsyncWorker {
   public:
    SendWorker(Napi::Env env, NetlinkSocket* sock, Napi::Uint8Array buf)
        : Napi::AsyncWorker(env), sock_(sock), deferred_(Napi::Promise::Deferred::New(env)) {
      data_.assign(reinterpret_cast<const char*>(buf.Data()), buf.ByteLength());
      self_ = Napi::Persistent(sock->Value());
      sock_->Hold();
    }
    Napi::Promise Promise() { return deferred_.Promise(); }
    void Execute() override {
      if (!SendTo(sock_->fd(), reinterpret_cast<const uint8_t*>(data_.data()), data_.size(), &e_, &n_))
        SetError("errno");
    }
    void OnOK() override {
      sock_->Release();
      deferred_.Resolve(Napi::Number::New(Env(), static_cast<double>(n_)));
    }
    void OnError(const Napi::Error&) override {
      sock_->Release();
      ThrowErrno(Env(), e_.err, e_.syscall);
      deferred_.Reject(Env().GetAndClearPendingException().Value());
    }

   private:
    NetlinkSocket* sock_;
    Napi::ObjectReference self_;
    Napi::Promise::Deferred deferred_;
    std::string data_;
    SysError e_;
    ssize_t n_ = 0;
  };

  // sendto() on the libuv pool: for requests the kernel is slow to process (deleting a link
  // waits for RCU grace periods inside the call), so the event loop is not held up.
  Napi::Value SendAsync(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!info[0].IsTypedArray()) {
      Napi::TypeError::New(env, "sendAsync(buf): buf must be a Uint8Array").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    if (closing_ || fd_ < 0) return ThrowErrno(env, EBADF, "sendto");
    auto* w = new SendWorker(env, this, info[0].As<Napi::Uint8Array>());
    Napi::Promise p = w->Promise();
    w->Queue();
    return p;
  }

  class RecvWorker : public Napi::AsyncWorker {
   public:
    RecvWorker(Napi::Env env, NetlinkSocket* sock, int timeoutMs)
        : Napi::AsyncWorker(env), sock_(sock), timeoutMs_(timeoutMs), deferred_(Napi::Promise::Deferred::New(env)) {
      self_ = Napi::Persistent(sock->Value());
      sock_->Hold();
    }
    Napi::Promise Promise() { return deferred_.Promise(); }
    void Execute() override {
      // Wait with poll() so that a timeout needs no socket option shared with the sync path.
      pollfd p{sock_->fd(), POLLIN, 0};
      int r;
      do r = poll(&p, 1, timeoutMs_);
      while (r < 0 && errno == EINTR);
      if (r < 0) {
        e_ = {errno, "poll", ""};
        SetError("errno");
        return;
      }
      if (r == 0) return;  // timed out: resolves null
      n_ = RecvOne(sock_->fd(), MSG_DONTWAIT, &data_, &e_);
      if (n_ < 0 && n_ != -2) SetError("errno");
    }
    void OnOK() override {
      sock_->Release();
      if (n_ <= 0) {
        deferred_.Resolve(Env().Null());
        return;
      }
      deferred_.Resolve(
          Napi::Buffer<uint8_t>::Copy(Env(), reinterpret_cast<const uint8_t*>(data_.data()), data_.size()));
    }
    void OnError(const Napi::Error&) override {
      sock_->Release();
      ThrowErrno(Env(), e_.err, e_.syscall);
      deferred_.Reject(Env().GetAndClearPendingException().Value());
    }

   private:
    NetlinkSocket* sock_;
    int timeoutMs_;
    Napi::ObjectReference self_;
    Napi::Promise::Deferred deferred_;
    std::string data_;
    SysError e_;
    ssize_t n_ = 0;
  };

  // Waits (on the libuv pool, up to timeoutMs, -1 = forever) for one datagram; null on timeout.
  Napi::Value RecvAsync(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (closing_ || fd_ < 0) return ThrowErrno(env, EBADF, "recvmsg");
    int timeout = info[0].IsNumber() ? info[0].As<Napi::Number>().Int32Value() : -1;
    auto* w = new RecvWorker(env, this, timeout);
    Napi::Promise p = w->Promise();
    w->Queue();
    return p;
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    if (!closing_) {
      closing_ = true;
      if (inflight_ == 0 && fd_ >= 0) {
        close(fd_);
        fd_ = -1;
      }
    }
    return info.Env().Undefined();
  }

  Napi::Value GetFd(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), closing_ ? -1 : fd_);
  }
  Napi::Value GetPortId(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), portId_); }
  Napi::Value GetProtocol(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), protocol_); }

  int fd_ = -1;
  uint32_t portId_ = 0;
  int protocol_ = 0;
  bool closing_ = false;
  int inflight_ = 0;
};

Napi::FunctionReference* NetlinkSocket::ctor = nullptr;

// netlinkOpen({ protocol, netnsFd?, netnsPath?, rcvbuf?, groups?, extAck?, strictCheck? })
static Napi::Value NetlinkOpen(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsObject()) {
    Napi::TypeError::New(env, "netlinkOpen(opts): opts must be an object").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Napi::Object o = info[0].As<Napi::Object>();
  OpenOptions opts;
  opts.protocol = o.Get("protocol").As<Napi::Number>().Int32Value();
  if (o.Get("netnsFd").IsNumber()) opts.netnsFd = o.Get("netnsFd").As<Napi::Number>().Int32Value();
  if (o.Get("netnsPath").IsString()) opts.netnsPath = o.Get("netnsPath").As<Napi::String>().Utf8Value();
  if (o.Get("rcvbuf").IsNumber()) opts.rcvbuf = o.Get("rcvbuf").As<Napi::Number>().Int32Value();
  if (o.Get("groups").IsNumber()) opts.groups = o.Get("groups").As<Napi::Number>().Uint32Value();
  if (o.Get("extAck").IsBoolean()) opts.extAck = o.Get("extAck").As<Napi::Boolean>().Value();
  if (o.Get("strictCheck").IsBoolean()) opts.strictCheck = o.Get("strictCheck").As<Napi::Boolean>().Value();
  SysError e;
  uint32_t portId = 0;
  int fd = OpenInNetns(opts, &e, &portId);
  if (fd < 0) return ThrowErrno(env, e.err, e.syscall, e.path);
  return NetlinkSocket::ctor->New({Napi::Number::New(env, fd), Napi::Number::New(env, portId),
                                   Napi::Number::New(env, opts.protocol)});
}

void InitNetlink(Napi::Env env, Napi::Object exports) {
  Napi::Function cls = NetlinkSocket::Define(env);
  NetlinkSocket::ctor = new Napi::FunctionReference(Napi::Persistent(cls));
  exports.Set("netlinkOpen", Napi::Function::New(env, NetlinkOpen, "netlinkOpen"));
}

}  // namespace

STRATUM_MODULE(InitNetlink);

}  // namespace stratum
