/*
 * cgroup_floor: the bare syscalls of "create a cgroup, set its memory limit, delete it", N
 * times: mkdir(2), open(2)/write(2)/close(2) of the limit file, rmdir(2). The floor for
 * test/bench/cgroup.bench.ts.
 *
 *   cgroup_floor PARENT_DIR LIMIT_FILE VALUE N
 *   e.g. cgroup_floor /sys/fs/cgroup/memory/stratum-bench memory.limit_in_bytes 67108864 1000
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc != 5) {
    fprintf(stderr, "usage: %s PARENT_DIR LIMIT_FILE VALUE N\n", argv[0]);
    return 2;
  }
  const char *parent = argv[1], *file = argv[2], *value = argv[3];
  int n = atoi(argv[4]);
  size_t len = strlen(value);
  char dir[4096], path[4200];
  for (int i = 0; i < n; i++) {
    snprintf(dir, sizeof dir, "%s/floor-%d", parent, i);
    if (mkdir(dir, 0755) != 0) { perror(dir); return 1; }
    snprintf(path, sizeof path, "%s/%s", dir, file);
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) { perror(path); return 1; }
    if (write(fd, value, len) != (ssize_t)len) { perror(path); return 1; }
    close(fd);
    if (rmdir(dir) != 0) { perror(dir); return 1; }
  }
  return 0;
}
