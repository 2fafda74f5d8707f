// Status reporting: a failed stage becomes one ERROR record { stage, errno, syscall, path } on the
// report fd, then the process exits 127. The reader (Node, or the helper relaying for a forked
// child) turns it into SpawnError { step, code, errno, syscall, path }.
#include <poll.h>
#include <unistd.h>
#include <cerrno>
#include <cstring>
#include "helper.h"

namespace sinit {

int g_report_fd = 3;

bool write_full(int fd, const void* buf, size_t n) {
  const char* p = static_cast<const char*>(buf);
  while (n > 0) {
    ssize_t w = ::write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    p += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

bool read_full(int fd, void* buf, size_t n) {
  char* p = static_cast<char*>(buf);
  while (n > 0) {
    ssize_t r = ::read(fd, p, n);
    if (r < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    if (r == 0) return false;
    p += r;
    n -= static_cast<size_t>(r);
  }
  return true;
}

bool send_msg(int fd, uint32_t type, const void* payload, uint32_t len) {
  // One write for the whole record: on a pipe, writes up to PIPE_BUF are atomic, so records of
  // two processes sharing a pipe never interleave.
  char buf[4096];
  if (len > sizeof(buf) - 8) return false;
  std::memcpy(buf, &type, 4);
  std::memcpy(buf + 4, &len, 4);
  if (len) std::memcpy(buf + 8, payload, len);
  return write_full(fd, buf, 8 + len);
}

long recv_msg(int fd, uint32_t* type, char* payload, size_t cap) {
  uint32_t hdr[2];
  if (!read_full(fd, hdr, sizeof(hdr))) return -1;
  if (hdr[1] > cap) return -1;
  if (hdr[1] && !read_full(fd, payload, hdr[1])) return -1;
  *type = hdr[0];
  return static_cast<long>(hdr[1]);
}

bool parent_gone(pid_t expected) {
  if (getppid() != expected) return true;
  struct pollfd p = {g_report_fd, POLLOUT, 0};
  return poll(&p, 1, 0) == 1 && (p.revents & (POLLERR | POLLHUP));
}

void fail(proto::Stage stage, const char* syscall, const char* path, int err) {
  char rec[4000];
  uint32_t st = stage;
  int32_t e = err;
  std::memcpy(rec, &st, 4);
  std::memcpy(rec + 4, &e, 4);
  size_t off = 8;
  size_t sl = std::strlen(syscall);
  if (sl > 100) sl = 100;
  std::memcpy(rec + off, syscall, sl);
  off += sl;
  rec[off++] = '\0';
  if (path) {
    size_t pl = std::strlen(path);
    if (pl > sizeof(rec) - off - 1) pl = sizeof(rec) - off - 1;
    std::memcpy(rec + off, path, pl);
    off += pl;
  }
  rec[off++] = '\0';
  send_msg(g_report_fd, proto::MSG_ERROR, rec, static_cast<uint32_t>(off));
  _exit(127);
}

}  // namespace sinit
