/*
 * overlay_floor: the bare syscalls of "mount an overlay, unmount it", N times, as
 * @stratum/union-fs's mountOverlay does them with the new mount API: fsopen("overlay"),
 * fsconfig(SET_STRING) of source, one lowerdir+ per layer, upperdir, workdir and the same
 * defaults (index=off, metacopy=off, redirect_dir=off), CMD_CREATE, fsmount, move_mount, close,
 * then umount2. The floor for test/bench/union-fs.bench.ts.
 *
 *   overlay_floor N TARGET UPPER WORK LOWER...   (lowers top first)
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/mount.h>

#ifndef MNT_DETACH
#define MNT_DETACH 2
#endif

static int set(int fd, const char *key, const char *value) {
  if (syscall(__NR_fsconfig, fd, FSCONFIG_SET_STRING, key, value, 0) != 0) {
    perror(key);
    return -1;
  }
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 6) {
    fprintf(stderr, "usage: %s N TARGET UPPER WORK LOWER...\n", argv[0]);
    return 2;
  }
  int n = atoi(argv[1]);
  const char *target = argv[2], *upper = argv[3], *work = argv[4];
  for (int i = 0; i < n; i++) {
    int fs = (int)syscall(__NR_fsopen, "overlay", FSOPEN_CLOEXEC);
    if (fs < 0) { perror("fsopen"); return 1; }
    if (set(fs, "source", "stratum-floor")) return 1;
    for (int l = 5; l < argc; l++)
      if (set(fs, "lowerdir+", argv[l])) return 1;
    if (set(fs, "upperdir", upper) || set(fs, "workdir", work) || set(fs, "index", "off") || set(fs, "metacopy", "off") ||
        set(fs, "redirect_dir", "off"))
      return 1;
    if (syscall(__NR_fsconfig, fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) != 0) { perror("create"); return 1; }
    int mnt = (int)syscall(__NR_fsmount, fs, FSMOUNT_CLOEXEC, 0);
    if (mnt < 0) { perror("fsmount"); return 1; }
    if (syscall(__NR_move_mount, mnt, "", AT_FDCWD, target, MOVE_MOUNT_F_EMPTY_PATH) != 0) { perror("move_mount"); return 1; }
    close(mnt);
    close(fs);
    if (syscall(__NR_umount2, target, 0) != 0) { perror("umount2"); return 1; }
  }
  return 0;
}
