// Decoding of the binary spec that packages/namespace/src/protocol.ts encodes. Two passes over
// the buffer: the first checks every field's bounds and counts the repeated ones, the second
// fills tables allocated once. Strings are used in place (the encoder NUL-terminates them).
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include "helper.h"

namespace sinit {

namespace {

struct Reader {
  const char* p;
  size_t len;
  size_t off = 0;
  bool ok = true;

  uint32_t u32() {
    uint32_t v = 0;
    if (off + 4 > len) {
      ok = false;
      return 0;
    }
    std::memcpy(&v, p + off, 4);
    off += 4;
    return v;
  }
  uint64_t u64() {
    uint64_t v = 0;
    if (off + 8 > len) {
      ok = false;
      return 0;
    }
    std::memcpy(&v, p + off, 8);
    off += 8;
    return v;
  }
  const char* str() {
    if (off >= len) {
      ok = false;
      return "";
    }
    const void* nul = std::memchr(p + off, '\0', len - off);
    if (!nul) {
      ok = false;
      return "";
    }
    const char* s = p + off;
    off = static_cast<size_t>(static_cast<const char*>(nul) - p) + 1;
    return s;
  }
};

template <typename T>
T* table(size_t n) {
  if (n == 0) return nullptr;
  return static_cast<T*>(std::calloc(n + 1, sizeof(T)));
}

}  // namespace

bool decode_spec(char* buf, size_t len, Spec* s, const char** why) {
  if (len < 8) {
    *why = "short spec";
    return false;
  }
  uint32_t magic, version;
  std::memcpy(&magic, buf, 4);
  std::memcpy(&version, buf + 4, 4);
  if (magic != proto::kMagic) {
    *why = "bad magic";
    return false;
  }
  if (version != proto::kVersion) {
    *why = "protocol version mismatch (rebuild the native package)";
    return false;
  }
  size_t counts[64] = {0};
  for (int pass = 0; pass < 2; pass++) {
    if (pass == 1) {
      s->argv = table<const char*>(counts[proto::T_ARG]);
      s->env = table<const char*>(counts[proto::T_ENV]);
      s->joins = table<NsJoin>(counts[proto::T_NS_JOIN]);
      s->mounts = table<Mount>(counts[proto::T_MOUNT]);
      s->devices = table<Device>(counts[proto::T_DEVICE]);
      s->symlinks = table<Symlink>(counts[proto::T_SYMLINK]);
      s->masked = table<const char*>(counts[proto::T_MASK]);
      s->readonly = table<const char*>(counts[proto::T_READONLY]);
      s->rlimits = table<Rlimit>(counts[proto::T_RLIMIT]);
      s->cgroups = table<const char*>(counts[proto::T_CGROUP]);
    }
    size_t off = 8;
    while (off < len) {
      if (off + 8 > len) {
        *why = "truncated field header";
        return false;
      }
      uint16_t tag;
      uint32_t flen;
      std::memcpy(&tag, buf + off, 2);
      std::memcpy(&flen, buf + off + 4, 4);
      off += 8;
      if (flen > len - off) {
        *why = "field overruns the spec";
        return false;
      }
      Reader r{buf + off, flen};
      off += flen;
      if (tag >= 64) {
        *why = "unknown field";
        return false;
      }
      if (pass == 0) {
        counts[tag]++;
        // Check the shape on the first pass so the second cannot fail half-way.
      }
      switch (tag) {
        case proto::T_ARG: {
          const char* v = r.str();
          if (pass) s->argv[s->argc++] = v;
          break;
        }
        case proto::T_ENV: {
          const char* v = r.str();
          if (pass) s->env[s->envc++] = v;
          break;
        }
        case proto::T_CWD: s->cwd = r.str(); break;
        case proto::T_FLAGS: s->flags = r.u32(); break;
        case proto::T_NS_NEW: s->ns_new = r.u32(); break;
        case proto::T_NS_JOIN: {
          uint32_t t = r.u32();
          const char* p = r.str();
          if (pass) s->joins[s->njoins++] = NsJoin{t, p, -1};
          break;
        }
        case proto::T_HOSTNAME: s->hostname = r.str(); break;
        case proto::T_DOMAINNAME: s->domainname = r.str(); break;
        case proto::T_ROOTFS: s->rootfs = r.str(); break;
        case proto::T_ROOT_PROPAGATION: s->root_propagation = r.u32(); break;
        case proto::T_MOUNT: {
          Mount m;
          m.flags = r.u32();
          m.propagation = r.u32();
          m.mflags = r.u32();
          m.source = r.str();
          m.target = r.str();
          m.fstype = r.str();
          m.data = r.str();
          if (pass) s->mounts[s->nmounts++] = m;
          break;
        }
        case proto::T_DEVICE: {
          Device d;
          d.mode = r.u32();
          d.major = r.u32();
          d.minor = r.u32();
          d.uid = r.u32();
          d.gid = r.u32();
          d.path = r.str();
          if (pass) s->devices[s->ndevices++] = d;
          break;
        }
        case proto::T_SYMLINK: {
          Symlink l;
          l.target = r.str();
          l.link = r.str();
          if (pass) s->symlinks[s->nsymlinks++] = l;
          break;
        }
        case proto::T_MASK: {
          const char* v = r.str();
          if (pass) s->masked[s->nmasked++] = v;
          break;
        }
        case proto::T_READONLY: {
          const char* v = r.str();
          if (pass) s->readonly[s->nreadonly++] = v;
          break;
        }
        case proto::T_USER:
          s->has_user = true;
          s->uid = r.u32();
          s->gid = r.u32();
          break;
        case proto::T_GROUPS: {
          uint32_t n = r.u32();
          if (n > 65536 || static_cast<size_t>(n) * 4 != flen - 4) {
            *why = "bad groups";
            return false;
          }
          if (pass) {
            s->has_groups = true;
            s->ngroups = n;
            s->groups = table<uint32_t>(n);
            if (n) std::memcpy(s->groups, r.p + 4, static_cast<size_t>(n) * 4);
          }
          r.off = flen;
          break;
        }
        case proto::T_CAPS:
          s->has_caps = true;
          for (auto& c : s->caps) c = r.u64();
          break;
        case proto::T_RLIMIT: {
          Rlimit l;
          l.resource = r.u32();
          r.u32();
          l.soft = r.u64();
          l.hard = r.u64();
          if (pass) s->rlimits[s->nrlimits++] = l;
          break;
        }
        case proto::T_UMASK:
          s->has_umask = true;
          s->umask = r.u32();
          break;
        case proto::T_OOM_SCORE_ADJ:
          s->has_oom = true;
          s->oom = static_cast<int32_t>(r.u32());
          break;
        case proto::T_CGROUP: {
          const char* v = r.str();
          if (pass) s->cgroups[s->ncgroups++] = v;
          break;
        }
        case proto::T_PDEATHSIG: s->pdeathsig = r.u32(); break;
        case proto::T_TTY:
          s->has_tty = true;
          s->rows = r.u32();
          s->cols = r.u32();
          break;
        case proto::T_TIMENS_OFFSETS: s->timens_offsets = r.str(); break;
        case proto::T_ENTER_ROOT: s->enter_root = r.str(); break;
        default:
          *why = "unknown field";
          return false;
      }
      if (!r.ok || r.off != r.len) {
        *why = "malformed field";
        return false;
      }
    }
  }
  if (s->argc == 0) {
    *why = "empty argv";
    return false;
  }
  return true;
}

// ---- --dump-spec: the decoded spec as JSON, for the encoder/decoder agreement test ----------

namespace {

void jstr(const char* s) {
  std::putchar('"');
  for (const unsigned char* p = reinterpret_cast<const unsigned char*>(s); *p; p++) {
    if (*p == '"' || *p == '\\') {
      std::putchar('\\');
      std::putchar(*p);
    } else if (*p < 0x20) {
      std::printf("\\u%04x", *p);
    } else {
      std::putchar(*p);
    }
  }
  std::putchar('"');
}

void jstrs(const char* key, const char* const* v, size_t n) {
  std::printf(",\"%s\":[", key);
  for (size_t i = 0; i < n; i++) {
    if (i) std::putchar(',');
    jstr(v[i]);
  }
  std::putchar(']');
}

void jopt(const char* key, const char* v) {
  if (!v) return;
  std::printf(",\"%s\":", key);
  jstr(v);
}

}  // namespace

void dump_spec(const Spec& s) {
  std::printf("{\"flags\":%u,\"nsNew\":%u,\"rootPropagation\":%u", s.flags, s.ns_new, s.root_propagation);
  jstrs("argv", s.argv, s.argc);
  jstrs("env", s.env, s.envc);
  jopt("cwd", s.cwd);
  jopt("hostname", s.hostname);
  jopt("domainname", s.domainname);
  jopt("rootfs", s.rootfs);
  jopt("timensOffsets", s.timens_offsets);
  jopt("enterRoot", s.enter_root);
  std::printf(",\"joins\":[");
  for (size_t i = 0; i < s.njoins; i++) {
    std::printf("%s{\"type\":%u,\"path\":", i ? "," : "", s.joins[i].type);
    jstr(s.joins[i].path);
    std::putchar('}');
  }
  std::printf("],\"mounts\":[");
  for (size_t i = 0; i < s.nmounts; i++) {
    const Mount& m = s.mounts[i];
    std::printf("%s{\"flags\":%u,\"propagation\":%u,\"mflags\":%u,\"source\":", i ? "," : "", m.flags, m.propagation, m.mflags);
    jstr(m.source);
    std::printf(",\"target\":");
    jstr(m.target);
    std::printf(",\"fstype\":");
    jstr(m.fstype);
    std::printf(",\"data\":");
    jstr(m.data);
    std::putchar('}');
  }
  std::printf("],\"devices\":[");
  for (size_t i = 0; i < s.ndevices; i++) {
    const Device& d = s.devices[i];
    std::printf("%s{\"mode\":%u,\"major\":%u,\"minor\":%u,\"uid\":%u,\"gid\":%u,\"path\":", i ? "," : "", d.mode, d.major, d.minor, d.uid, d.gid);
    jstr(d.path);
    std::putchar('}');
  }
  std::printf("],\"symlinks\":[");
  for (size_t i = 0; i < s.nsymlinks; i++) {
    std::printf("%s{\"target\":", i ? "," : "");
    jstr(s.symlinks[i].target);
    std::printf(",\"link\":");
    jstr(s.symlinks[i].link);
    std::putchar('}');
  }
  std::putchar(']');
  jstrs("maskedPaths", s.masked, s.nmasked);
  jstrs("readonlyPaths", s.readonly, s.nreadonly);
  jstrs("cgroups", s.cgroups, s.ncgroups);
  if (s.has_user) std::printf(",\"user\":{\"uid\":%u,\"gid\":%u}", s.uid, s.gid);
  if (s.has_groups) {
    std::printf(",\"groups\":[");
    for (size_t i = 0; i < s.ngroups; i++) std::printf("%s%u", i ? "," : "", s.groups[i]);
    std::putchar(']');
  }
  if (s.has_caps) {
    // As decimal strings: 64-bit masks do not fit a JSON number exactly.
    std::printf(",\"caps\":[\"%llu\",\"%llu\",\"%llu\",\"%llu\",\"%llu\"]", (unsigned long long)s.caps[0], (unsigned long long)s.caps[1],
                (unsigned long long)s.caps[2], (unsigned long long)s.caps[3], (unsigned long long)s.caps[4]);
  }
  std::printf(",\"rlimits\":[");
  for (size_t i = 0; i < s.nrlimits; i++) {
    std::printf("%s{\"resource\":%u,\"soft\":\"%llu\",\"hard\":\"%llu\"}", i ? "," : "", s.rlimits[i].resource,
                (unsigned long long)s.rlimits[i].soft, (unsigned long long)s.rlimits[i].hard);
  }
  std::putchar(']');
  if (s.has_umask) std::printf(",\"umask\":%u", s.umask);
  if (s.has_oom) std::printf(",\"oomScoreAdj\":%d", s.oom);
  if (s.pdeathsig) std::printf(",\"pdeathsig\":%u", s.pdeathsig);
  if (s.has_tty) std::printf(",\"tty\":{\"rows\":%u,\"cols\":%u}", s.rows, s.cols);
  std::printf("}\n");
}

void print_protocol() {
  std::printf("{\"magic\":%u,\"version\":%u,\"tags\":{", proto::kMagic, proto::kVersion);
  const char* sep = "";
#define X(n, v)                            \
  std::printf("%s\"%s\":%d", sep, #n, v); \
  sep = ",";
  STRATUM_TAGS(X)
  std::printf("},\"flags\":{");
  sep = "";
  STRATUM_FLAGS(X)
  std::printf("},\"mountFlags\":{");
  sep = "";
  STRATUM_MOUNT_FLAGS(X)
  std::printf("},\"messages\":{");
  sep = "";
  STRATUM_MESSAGES(X)
#undef X
  std::printf("},\"stages\":{");
  sep = "";
#define X(n, v, s)                         \
  std::printf("%s\"%s\":%d", sep, s, v); \
  sep = ",";
  STRATUM_STAGES(X)
#undef X
  std::printf("}}\n");
}

}  // namespace sinit
