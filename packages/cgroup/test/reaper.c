/*
 * stratum-test-reaper: runs argv as a child and stays its child subreaper, reaping every
 * descendant orphaned under it until none is left (the host's PID 1 may not reap). Prints the
 * child's pid on stdout first; the child's own stdout goes to /dev/null, its stdin is ours.
 * Exits with the child's exit code, or 128 + the signal that killed it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc < 2) return 2;
  if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0) { perror("prctl"); return 2; }
  pid_t child = fork();
  if (child < 0) { perror("fork"); return 2; }
  if (child == 0) {
    int null = open("/dev/null", O_WRONLY);
    if (null >= 0) dup2(null, 1);
    execvp(argv[1], argv + 1);
    perror("exec");
    _exit(127);
  }
  printf("%d\n", (int)child);
  fflush(stdout);
  int status, result = 0;
  for (;;) {
    pid_t p = waitpid(-1, &status, 0);
    if (p < 0) {
      if (errno == EINTR) continue;
      break; /* ECHILD: nothing left */
    }
    if (p == child) result = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  return result;
}
