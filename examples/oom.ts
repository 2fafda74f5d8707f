/**
 * A memory limit and the OOM killer:
 *
 *   docker run --rm -m 32m --memory-swap 32m busybox dd if=/dev/zero of=/dev/null bs=8M count=1    → exit 0
 *   docker run --name hog -m 32m --memory-swap 32m busybox dd if=/dev/zero of=/dev/null bs=64M count=1
 *   docker inspect -f '{{.State.ExitCode}} {{.State.OOMKilled}}' hog                               → 137 true
 *
 * dd allocates one buffer of `bs` bytes. 8 MiB fits under the 32 MiB limit; 64 MiB cannot, and the
 * kernel's OOM killer — bounded to the container's memory cgroup — kills dd with SIGKILL
 * (128 + 9 = 137). `--memory-swap` equal to `-m` means no swap on top (memory.memsw on cgroup v1).
 *
 *   npx tsx --conditions=stratum-source examples/oom.ts      (as root)
 */
import { join } from 'node:path';
import { Container } from '@stratum/container';
import { busyboxTree, imageFromTree } from './lib/busybox.js';
import { exampleRuntime } from './lib/runtime.js';

await using ex = await exampleRuntime('oom', '10.178.8.0/24');
const { rt, store } = ex;
await imageFromTree(store, busyboxTree(join(ex.dir, 'rootfs')), 'busybox:latest', { Cmd: ['sh'] });

for (const size of ['8M', '64M']) {
  await using c = await Container.run(
    { image: 'busybox:latest', network: 'none', resources: { memory: '32m', memorySwap: '32m' }, cmd: ['dd', 'if=/dev/zero', 'of=/dev/null', `bs=${size}`, 'count=1'] },
    { runtime: rt },
  );
  const exit = await c.wait();
  const { State, HostConfig } = await c.inspect();
  let log = '';
  for await (const l of c.logs()) log += l.text;
  console.log(`dd bs=${size} under -m ${HostConfig.Memory / 1024 / 1024}m: exit ${exit.exitCode}, OOMKilled ${exit.oomKilled} (inspect: State.ExitCode ${State.ExitCode}, State.OOMKilled ${State.OOMKilled})`);
  if (log.trim()) console.log(`  dd said: ${log.trim().split('\n').join(' | ')}`);
}
