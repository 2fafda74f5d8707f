// stratum-init: the single-threaded helper that Node spawns to start container processes.
// Grown by later issues; here it answers --version so the loader can prove it is found and runs.
#include <cstdio>
#include <cstring>
#include <unistd.h>

int main(int argc, char** argv) {
  if (argc > 1 && std::strcmp(argv[1], "--version") == 0) {
    std::printf("stratum-init 0.1.0\n");
    return 0;
  }
  std::fprintf(stderr, "stratum-init: usage: stratum-init --version\n");
  return 2;
}
