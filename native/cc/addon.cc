#include <napi.h>
#include <cstring>
#include <vector>
#include "errors.h"
#include "module.h"

namespace stratum {

static Napi::FunctionReference* g_errorClass = nullptr;

void SetErrorClass(const Napi::Function& ctor) {
  if (g_errorClass == nullptr) g_errorClass = new Napi::FunctionReference();
  *g_errorClass = Napi::Persistent(ctor);
}

static const char* ErrnoName(int err) {
  const char* name = strerrorname_np(err);
  return name != nullptr ? name : "EUNKNOWN";
}

Napi::Value MakeErrno(Napi::Env env, int err, const char* syscall, const std::string& path,
                      const std::string& dest, const std::string& detail) {
  Napi::Object opts = Napi::Object::New(env);
  opts.Set("errno", Napi::Number::New(env, err));
  opts.Set("code", Napi::String::New(env, ErrnoName(err)));
  opts.Set("syscall", Napi::String::New(env, syscall));
  if (!path.empty()) opts.Set("path", Napi::String::New(env, path));
  if (!dest.empty()) opts.Set("dest", Napi::String::New(env, dest));
  if (!detail.empty()) opts.Set("detail", Napi::String::New(env, detail));
  opts.Set("message", Napi::String::New(env, strerrordesc_np(err) ? strerrordesc_np(err) : "unknown error"));
  if (g_errorClass != nullptr && !g_errorClass->IsEmpty()) return g_errorClass->New({opts});
  Napi::Error e = Napi::Error::New(env, std::string(syscall) + ": " + ErrnoName(err));
  e.Set("code", Napi::String::New(env, ErrnoName(err)));
  e.Set("errno", Napi::Number::New(env, err));
  e.Set("syscall", Napi::String::New(env, syscall));
  return e.Value();
}

Napi::Value ThrowErrno(Napi::Env env, int err, const char* syscall, const std::string& path,
                       const std::string& dest, const std::string& detail) {
  Napi::Value e = MakeErrno(env, err, syscall, path, dest, detail);
  Napi::Error(env, e).ThrowAsJavaScriptException();
  return env.Undefined();
}

static Napi::Value SetErrorClassJs(const Napi::CallbackInfo& info) {
  SetErrorClass(info[0].As<Napi::Function>());
  return info.Env().Undefined();
}

static std::vector<ModuleInit>& Modules() {
  static std::vector<ModuleInit> modules;
  return modules;
}

ModuleRegistrar::ModuleRegistrar(ModuleInit init) { Modules().push_back(init); }

void InitModules(Napi::Env env, Napi::Object exports) {
  for (ModuleInit init : Modules()) init(env, exports);
}

}  // namespace stratum

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("setErrorClass", Napi::Function::New(env, stratum::SetErrorClassJs));
  stratum::InitModules(env, exports);
  return exports;
}

NODE_API_MODULE(stratum_native, Init)
