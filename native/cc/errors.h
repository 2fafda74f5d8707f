// One way to fail: throwErrno builds an instance of the TypeScript ErrnoError class that the
// loader registered with setErrorClass(), so callers get real `instanceof`-able errors with
// code/errno/syscall/path instead of a string flattened from what().
#pragma once
#include <napi.h>
#include <cerrno>
#include <string>

namespace stratum {

void SetErrorClass(const Napi::Function& ctor);
// Throws (as a pending JS exception) an ErrnoError for `err`; returns undefined for convenience.
Napi::Value ThrowErrno(Napi::Env env, int err, const char* syscall, const std::string& path = "",
                       const std::string& dest = "");

}  // namespace stratum
