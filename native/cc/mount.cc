// Mounts: classic mount(2)/umount2/pivot_root and the new mount API (Linux >= 5.2). The new API
// is preferred for overlay: options go in one at a time (so `lowerdir+` can repeat without the
// one-page limit of a joined mount(2) data string) and the kernel explains a refusal in the
// fs-context log, which we read back into the error instead of a bare EINVAL.
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <string>
#include <vector>
#include "errors.h"
#include "module.h"
#include "util.h"

namespace stratum {
namespace {

int SysFsopen(const char* name, unsigned flags) { return static_cast<int>(::syscall(__NR_fsopen, name, flags)); }
int SysFsconfig(int fd, unsigned cmd, const char* key, const void* value, int aux) {
  return static_cast<int>(::syscall(__NR_fsconfig, fd, cmd, key, value, aux));
}
int SysFsmount(int fd, unsigned flags, unsigned attrs) { return static_cast<int>(::syscall(__NR_fsmount, fd, flags, attrs)); }
int SysMoveMount(int from, const char* fromPath, int to, const char* toPath, unsigned flags) {
  return static_cast<int>(::syscall(__NR_move_mount, from, fromPath, to, toPath, flags));
}

// Drains the fs-context log of an fsopen fd: one message per read(), "e "/"w "/"i " prefixed,
// until ENODATA. Joined with "; " for the error's detail.
std::string ReadFsLog(int fd) {
  std::string out;
  char buf[4096];
  for (int i = 0; i < 64; i++) {
    ssize_t n = ::read(fd, buf, sizeof buf - 1);
    if (n <= 0) break;
    std::string msg(buf, n);
    while (!msg.empty() && msg.back() == '\n') msg.pop_back();
    if (msg.size() > 2 && msg[1] == ' ') {
      if (msg[0] == 'w') msg = "warning: " + msg.substr(2);
      else if (msg[0] == 'i') msg = "info: " + msg.substr(2);
      else msg = msg.substr(2);
    }
    if (!out.empty()) out += "; ";
    out += msg;
  }
  return out;
}

std::string Join(const std::string& a, const std::string& b) {
  if (a.empty()) return b;
  if (b.empty()) return a;
  return a + ": " + b;
}

// mount(source|null, target, fstype|null, flags, data|null)
Napi::Value Mount(const Napi::CallbackInfo& info) {
  bool hasSource, hasType, hasData;
  std::string source = ArgOptStr(info, 0, &hasSource), target = ArgStr(info, 1), fstype = ArgOptStr(info, 2, &hasType);
  std::string data = ArgOptStr(info, 4, &hasData);
  if (::mount(hasSource ? source.c_str() : nullptr, target.c_str(), hasType ? fstype.c_str() : nullptr, ArgU32(info, 3) & 0xffffffffUL,
              hasData ? data.c_str() : nullptr) != 0)
    return ThrowErrno(info.Env(), errno, "mount", target, hasSource ? source : "");
  return info.Env().Undefined();
}

Napi::Value Umount2(const Napi::CallbackInfo& info) {
  std::string target = ArgStr(info, 0);
  if (::umount2(target.c_str(), ArgInt(info, 1)) != 0) return ThrowErrno(info.Env(), errno, "umount2", target);
  return info.Env().Undefined();
}

// pivot_root(new_root, put_old): no glibc wrapper. Callers run it in a private mount namespace
// (the kernel refuses a shared new_root or old root with EINVAL).
Napi::Value PivotRoot(const Napi::CallbackInfo& info) {
  std::string newRoot = ArgStr(info, 0), putOld = ArgStr(info, 1);
  if (::syscall(SYS_pivot_root, newRoot.c_str(), putOld.c_str()) != 0) return ThrowErrno(info.Env(), errno, "pivot_root", newRoot, putOld);
  return info.Env().Undefined();
}

Napi::Value Fsopen(const Napi::CallbackInfo& info) {
  std::string name = ArgStr(info, 0);
  int fd = SysFsopen(name.c_str(), ArgU32(info, 1) | FSOPEN_CLOEXEC);
  if (fd < 0) return ThrowErrno(info.Env(), errno, "fsopen", name);
  return Napi::Number::New(info.Env(), fd);
}

// fsconfig(fd, cmd, key|null, value: string|Buffer|null, aux). On failure the fs-context log
// becomes the error's detail.
Napi::Value Fsconfig(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = ArgInt(info, 0);
  unsigned cmd = ArgU32(info, 1);
  bool hasKey;
  std::string key = ArgOptStr(info, 2, &hasKey);
  std::string svalue;
  const void* value = nullptr;
  int aux = ArgInt(info, 4);
  if (info[3].IsBuffer()) {
    auto b = info[3].As<Napi::Buffer<char>>();
    value = b.Data();
    aux = static_cast<int>(b.Length());
  } else if (info[3].IsString()) {
    svalue = info[3].As<Napi::String>().Utf8Value();
    value = svalue.c_str();
  }
  if (SysFsconfig(fd, cmd, hasKey ? key.c_str() : nullptr, value, aux) != 0) {
    int err = errno;
    std::string what = hasKey ? (svalue.empty() ? key : key + "=" + svalue) : "";
    return ThrowErrno(env, err, "fsconfig", what, "", ReadFsLog(fd));
  }
  return env.Undefined();
}

Napi::Value Fsmount(const Napi::CallbackInfo& info) {
  int fs = ArgInt(info, 0);
  int fd = SysFsmount(fs, ArgU32(info, 1) | FSMOUNT_CLOEXEC, ArgU32(info, 2));
  if (fd < 0) {
    int err = errno;
    return ThrowErrno(info.Env(), err, "fsmount", "", "", ReadFsLog(fs));
  }
  return Napi::Number::New(info.Env(), fd);
}

// moveMount(fromDirfd, fromPath, toDirfd, toPath, flags)
Napi::Value MoveMount(const Napi::CallbackInfo& info) {
  std::string from = ArgStr(info, 1), to = ArgStr(info, 3);
  if (SysMoveMount(ArgInt(info, 0), from.c_str(), ArgInt(info, 2), to.c_str(), ArgU32(info, 4)) != 0)
    return ThrowErrno(info.Env(), errno, "move_mount", to, from);
  return info.Env().Undefined();
}

Napi::Value OpenTree(const Napi::CallbackInfo& info) {
  std::string path = ArgStr(info, 1);
  int fd = static_cast<int>(::syscall(__NR_open_tree, ArgInt(info, 0), path.c_str(), ArgU32(info, 2) | OPEN_TREE_CLOEXEC));
  if (fd < 0) return ThrowErrno(info.Env(), errno, "open_tree", path);
  return Napi::Number::New(info.Env(), fd);
}

// mountSetattr(dirfd, path, flags, attrSet, attrClr, propagation, usernsFd)
Napi::Value MountSetattr(const Napi::CallbackInfo& info) {
  std::string path = ArgStr(info, 1);
  struct mount_attr attr = {};
  attr.attr_set = ArgU32(info, 3);
  attr.attr_clr = ArgU32(info, 4);
  attr.propagation = ArgU32(info, 5);
  int userns = ArgInt(info, 6);
  attr.userns_fd = userns >= 0 ? static_cast<uint64_t>(userns) : 0;
  if (::syscall(__NR_mount_setattr, ArgInt(info, 0), path.c_str(), ArgU32(info, 2), &attr, sizeof attr) != 0)
    return ThrowErrno(info.Env(), errno, "mount_setattr", path);
  return info.Env().Undefined();
}

// mountFs(fstype, source|null, keys[], values[] (string|null), target, attrs, moveFlags): the whole new-API
// sequence in one call so no half-configured context outlives a failure: fsopen -> "source" ->
// each option in order (null value = flag) -> CMD_CREATE (the superblock is made here, which is
// where overlay checks its dirs) -> fsmount (a detached mount) -> move_mount onto target. Every
// fd is owned by a UniqueFd; on failure the fs-context log is attached to the error.
Napi::Value MountFs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string fstype = ArgStr(info, 0), target = ArgStr(info, 4);
  bool hasSource;
  std::string source = ArgOptStr(info, 1, &hasSource);
  Napi::Array keys = info[2].As<Napi::Array>(), values = info[3].As<Napi::Array>();
  unsigned attrs = ArgU32(info, 5), moveFlags = ArgU32(info, 6);

  UniqueFd fs(SysFsopen(fstype.c_str(), FSOPEN_CLOEXEC));
  if (!fs.ok()) return ThrowErrno(env, errno, "fsopen", target, "", "filesystem type " + fstype);
  if (hasSource && SysFsconfig(fs.get(), FSCONFIG_SET_STRING, "source", source.c_str(), 0) != 0) {
    int err = errno;
    return ThrowErrno(env, err, "fsconfig", target, "", Join("option source=" + source, ReadFsLog(fs.get())));
  }
  for (uint32_t i = 0; i < keys.Length(); i++) {
    std::string key = keys.Get(i).As<Napi::String>().Utf8Value();
    Napi::Value v = values.Get(i);
    int r;
    std::string shown = key;
    if (v.IsString()) {
      std::string value = v.As<Napi::String>().Utf8Value();
      shown += "=" + value;
      r = SysFsconfig(fs.get(), FSCONFIG_SET_STRING, key.c_str(), value.c_str(), 0);
    } else {
      r = SysFsconfig(fs.get(), FSCONFIG_SET_FLAG, key.c_str(), nullptr, 0);
    }
    if (r != 0) {
      int err = errno;
      return ThrowErrno(env, err, "fsconfig", target, "", Join("option " + shown, ReadFsLog(fs.get())));
    }
  }
  if (SysFsconfig(fs.get(), FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) != 0) {
    int err = errno;
    std::string log = ReadFsLog(fs.get());
    // Some filesystems (overlay among them) report create-time problems only to the kernel log.
    if (log.empty()) log = "no fs-context log; the reason may be in the kernel log (dmesg)";
    return ThrowErrno(env, err, "fsconfig", target, "", Join("create " + fstype, log));
  }
  UniqueFd mnt(SysFsmount(fs.get(), FSMOUNT_CLOEXEC, attrs));
  if (!mnt.ok()) {
    int err = errno;
    return ThrowErrno(env, err, "fsmount", target, "", ReadFsLog(fs.get()));
  }
  if (SysMoveMount(mnt.get(), "", AT_FDCWD, target.c_str(), MOVE_MOUNT_F_EMPTY_PATH | moveFlags) != 0)
    return ThrowErrno(env, errno, "move_mount", target);
  return env.Undefined();
}

void Init(Napi::Env env, Napi::Object exports) {
  exports.Set("mount", Napi::Function::New(env, Mount));
  exports.Set("umount2", Napi::Function::New(env, Umount2));
  exports.Set("pivotRoot", Napi::Function::New(env, PivotRoot));
  exports.Set("fsopen", Napi::Function::New(env, Fsopen));
  exports.Set("fsconfig", Napi::Function::New(env, Fsconfig));
  exports.Set("fsmount", Napi::Function::New(env, Fsmount));
  exports.Set("moveMount", Napi::Function::New(env, MoveMount));
  exports.Set("openTree", Napi::Function::New(env, OpenTree));
  exports.Set("mountSetattr", Napi::Function::New(env, MountSetattr));
  exports.Set("mountFs", Napi::Function::New(env, MountFs));
}

}  // namespace

STRATUM_MODULE(Init);

}  // namespace stratum
