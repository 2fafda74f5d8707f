// One way to fail: throwErrno builds an instance of the TypeScript ErrnoError class that the
// loader registered with setErrorClass(), so callers get real `instanceof`-able errors with
// code/errno/syscall/path instead of a string flattened from what().
#pragma once
#include <napi.h>
#include <cerrno>
#include <string>

namespace stratum {

void SetErrorClass(const Napi::Function& ctor);
// Builds (without throwing) an ErrnoError for `err`: for promise rejections from async workers.
// `detail` is extra text the kernel gave (e.g. the fs-context log of fsconfig) and ends up in
// the error's `detail` field and message.
Napi::Value MakeErrno(Napi::Env env, int err, const char* syscall, const std::string& path = "",
                      const std::string& dest = "", const std::string& detail = "");
// Throws (as a pending JS exception) an ErrnoError for `err`; returns undefined for convenience.
Napi::Value ThrowErrno(Napi::Env env, int err, const char* syscall, const std::string& path = "",
                       const std::string& dest = "", const std::string& detail = "");

}  // namespace stratum
