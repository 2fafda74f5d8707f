// Each cc/*.cc file registers its exports with one STRATUM_MODULE(...) line, so that files owned
// by different parts of the project never edit a shared list.
#pragma once
#include <napi.h>

namespace stratum {

using ModuleInit = void (*)(Napi::Env env, Napi::Object exports);

struct ModuleRegistrar {
  explicit ModuleRegistrar(ModuleInit init);
};

void InitModules(Napi::Env env, Napi::Object exports);

}  // namespace stratum

#define STRATUM_MODULE(fn) static ::stratum::ModuleRegistrar stratum_module_registrar_##fn(fn)
