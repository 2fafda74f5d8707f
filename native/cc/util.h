// Small helpers shared by the syscall files: an owning fd (closed on every exit path, crun's
// cleanup-attribute idea in RAII form) and argument readers. Arguments are validated in
// TypeScript before they get here; these readers only map JS values to C types.
#pragma once
#include <napi.h>
#include <unistd.h>
#include <cstdint>
#include <string>

namespace stratum {

// UniqueFd owns one file descriptor and closes it when it goes out of scope unless released.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  UniqueFd(UniqueFd&& o) noexcept : fd_(o.release()) {}
  UniqueFd& operator=(UniqueFd&& o) noexcept {
    reset(o.release());
    return *this;
  }
  ~UniqueFd() { reset(); }
  int get() const { return fd_; }
  bool ok() const { return fd_ >= 0; }
  int release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }
  void reset(int fd = -1) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }

 private:
  int fd_ = -1;
};

inline int ArgInt(const Napi::CallbackInfo& info, size_t i) { return info[i].As<Napi::Number>().Int32Value(); }
inline uint32_t ArgU32(const Napi::CallbackInfo& info, size_t i) { return info[i].As<Napi::Number>().Uint32Value(); }
inline int64_t ArgI64(const Napi::CallbackInfo& info, size_t i) { return info[i].As<Napi::Number>().Int64Value(); }
inline uint64_t ArgU64(const Napi::CallbackInfo& info, size_t i) {
  return static_cast<uint64_t>(info[i].As<Napi::Number>().Int64Value());
}
inline std::string ArgStr(const Napi::CallbackInfo& info, size_t i) { return info[i].As<Napi::String>().Utf8Value(); }
inline bool ArgIsNullish(const Napi::CallbackInfo& info, size_t i) {
  return info.Length() <= i || info[i].IsNull() || info[i].IsUndefined();
}
// For optional string arguments: `present` tells null/undefined apart from "".
inline std::string ArgOptStr(const Napi::CallbackInfo& info, size_t i, bool* present) {
  *present = !ArgIsNullish(info, i);
  return *present ? ArgStr(info, i) : std::string();
}

}  // namespace stratum
