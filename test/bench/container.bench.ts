/**
 * @stratum/container: `Container.run` of `true` in a busybox image to exit — overlay rootfs over
 * the cached layer, a bridge network endpoint (veth, address, routes), cgroup limits (memory,
 * pids), `init: true`, autoRemove (the run ends when the container is removed) — against
 * `crun run` and `runc run` of the bundle the same container exports (same rootfs, same limits,
 * their network namespace without configuration). crun runs through `nsenter --mount` into a
 * namespace where /sys/fs/cgroup/unified is unmounted (crun 1.8 refuses this hybrid host
 * otherwise); the nsenter exec is part of its figure. `podman run --rm` too when podman is installed
 * (scripts/setup.sh installs it): the same image pulled from our store into a private podman root,
 * `--init` (catatonit), the same limits, `--network none`, cgroupfs, run in the same mount
 * namespace as crun (its default runtime). Its rlimits are set low (nofile, nproc 1024): podman's
 * defaults raise the hard limits, which needs CAP_SYS_RESOURCE, absent here.
 *
 * Also `commit` of a 64 MiB change (a gzip layer from the upper dir, written to the store)
 * against `umoci repack` of the same change in an unpacked umoci bundle.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLayer } from '@stratum/layer';
import { spawn, type NamespaceHandle, type Process } from '@stratum/namespace';
import { memoryImage, memoryLayer } from '@stratum/testing';
import { Container, Runtime } from '@stratum/container';
import { runCommand, type Benchmark } from './harness.js';

const RUNS = Number(process.env.STRATUM_BENCH_CONTAINER_RUNS ?? 100);

function which(tool: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0;
}

function busyboxRootfs(dir: string): void {
  mkdirSync(join(dir, 'bin'), { recursive: true });
  copyFileSync('/usr/bin/busybox', join(dir, 'bin', 'busybox'));
  chmodSync(join(dir, 'bin', 'busybox'), 0o755);
  for (const name of execFileSync('/usr/bin/busybox', ['--list'], { encoding: 'utf8' }).split('\n')) {
    if (name && name !== 'busybox') symlinkSync('busybox', join(dir, 'bin', name));
  }
  for (const d of ['etc', 'tmp', 'root']) mkdirSync(join(dir, d), { recursive: true });
  writeFileSync(join(dir, 'etc', 'passwd'), 'root:x:0:0:root:/root:/bin/sh\n');
  writeFileSync(join(dir, 'etc', 'group'), 'root:x:0:\n');
}

async function busyboxImage(rt: Runtime, rootfs: string, ref: string): Promise<void> {
  const layer = createLayer({ from: undefined, to: rootfs }, { compression: 'none', reproducible: { mtime: 0 } });
  const chunks: Buffer[] = [];
  for await (const c of layer.stream) chunks.push(c as Buffer);
  const img = await memoryImage([memoryLayer(Buffer.concat(chunks))], { config: { Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], Cmd: ['sh'] } });
  await (await rt.store()).write(img, ref);
}

const COMMIT_RUNS = Number(process.env.STRATUM_BENCH_COMMIT_RUNS ?? 5);

export default async function benchmarks(): Promise<Benchmark[]> {
  let ctmp = '';
  let crt: Runtime | undefined;
  let changed: Container | undefined;
  let umociLayout = '';
  let umociBundle = '';
  let commits = 0;
  let tmp = '';
  let rt: Runtime | undefined;
  let bundle = '';
  let holder: Process | undefined;
  let crunMnt: NamespaceHandle | undefined;
  let id = 0;
  const podmanTool = which('podman') && which('catatonit') && which('skopeo');
  let podmanArgs: string[] = [];
  let podmanHadParent = false;
  const podman = (args: string[]): string[] => ['nsenter', `--mount=${crunMnt!.path}`, 'podman', ...podmanArgs, ...args];
  const podmanSync = (args: string[]): void => void execFileSync('nsenter', podman(args).slice(1), { stdio: ['ignore', 'ignore', 'inherit'] });
  const podmanParents = (): string[] =>
    readdirSync('/sys/fs/cgroup').map((c) => join('/sys/fs/cgroup', c, 'libpod_parent')).filter((d) => existsSync(d));
  const spec = { image: 'stratum-bench/busybox:1', init: true, autoRemove: true, resources: { memory: '64m', pidsLimit: 100 }, cmd: ['true'] };

  return [
    {
      group: 'container',
      name: `Container.run of true in busybox (overlay, bridge network, memory+pids limits, init) to exit and removal (${RUNS} runs)`,
      runs: RUNS,
      target: "ours ≤ 1.5× crun's median and ≤ 0.5× runc's",
      unavailable: () => {
        if (process.getuid?.() !== 0) return 'needs root';
        for (const t of ['crun', 'runc', 'nsenter', 'nft']) if (!which(t)) return `${t} is not installed`;
        return undefined;
      },
      setup: async () => {
        tmp = mkdtempSync(join(process.env.STRATUM_BENCH_DIR ?? tmpdir(), 'stratum-bench-container-'));
        chmodSync(tmp, 0o755);
        rt = await Runtime.open({ root: join(tmp, 'root'), defaultNetwork: { name: 'stratum-bench', bridge: 'stratum-bench0', subnet: '10.240.0.0/22' } });
        const rootfs = join(tmp, 'rootfs');
        busyboxRootfs(rootfs);
        await busyboxImage(rt, rootfs, spec.image);
        await rt.networks.get();
        // The peers' bundle: what the same container exports.
        const c = await Container.create({ ...spec, autoRemove: false }, { runtime: rt });
        bundle = join(tmp, 'bundle');
        await c.exportBundle(bundle);
        await c.remove();
        holder = await spawn({
          argv: ['/bin/sh', '-c', 'umount /sys/fs/cgroup/unified 2>/dev/null; echo ready; exec sleep 3600'],
          namespaces: { mount: true },
          rootfsPropagation: 'private',
          stdio: ['ignore', 'pipe', 'inherit'],
        });
        await new Promise((r) => holder!.stdout!.once('data', r));
        crunMnt = holder.namespace('mount');
        if (podmanTool) {
          const p = join(tmp, 'podman');
          podmanArgs = [`--root=${p}/root`, `--runroot=${p}/run`, `--tmpdir=${p}/tmp`, '--cgroup-manager=cgroupfs', '--events-backend=file', '--storage-driver=overlay'];
          const store = (await rt.store()).root;
          podmanHadParent = podmanParents().length > 0;
          const archive = join(p, 'image.tar');
          mkdirSync(p);
          execFileSync('skopeo', ['copy', '-q', `oci:${store}:docker.io/${spec.image}`, `docker-archive:${archive}:localhost/stratum-bench-podman:1`]);
          podmanSync(['load', '-q', '-i', archive]);
        }
      },
      teardown: async () => {
        if (podmanTool && crunMnt) {
          spawnSync('nsenter', podman(['rm', '-a', '-f']).slice(1), { stdio: 'ignore' });
          // podman's cgroupfs manager leaves its parent cgroups behind.
          if (!podmanHadParent) for (const d of podmanParents()) spawnSync('find', [d, '-depth', '-type', 'd', '-exec', 'rmdir', '{}', ';'], { stdio: 'ignore' });
        }
        crunMnt?.close();
        await holder?.[Symbol.asyncDispose]();
        if (rt) {
          await rt.gc().catch(() => undefined);
          await rt.networks.remove('stratum-bench', { force: true }).catch(() => undefined);
          await rt.close();
        }
        if (tmp) rmSync(tmp, { recursive: true, force: true });
      },
      ours: {
        name: 'stratum Container.run + wait',
        run: async () => {
          const c = await Container.run(spec, { runtime: rt! });
          const r = await c.wait();
          if (r.exitCode !== 0) throw new Error(`exit ${r.exitCode}: ${r.error ?? ''}`);
        },
      },
      peers: [
        { name: 'crun run (via nsenter --mount)', run: () => runCommand(['nsenter', `--mount=${crunMnt!.path}`, 'crun', 'run', '--bundle', bundle, `stratum-bench-crun-${id++}`]) },
        { name: 'runc run', run: () => runCommand(['runc', 'run', '--bundle', bundle, `stratum-bench-runc-${id++}`]) },
        ...(podmanTool
          ? [
              {
                name: 'podman run --rm (crun, via nsenter --mount)',
                run: () =>
                  runCommand(podman(['run', '--rm', '--init', '--network', 'none', '--memory', '64m', '--pids-limit', '100', '--ulimit', 'nofile=1024:1024', '--ulimit', 'nproc=1024:1024', 'localhost/stratum-bench-podman:1', 'true'])),
              },
            ]
          : []),
      ],
    },
    {
      group: 'container',
      name: `commit of a 64 MiB change (gzip layer into the store) (${COMMIT_RUNS} runs)`,
      runs: COMMIT_RUNS,
      memory: true,
      target: 'reported',
      unavailable: () => {
        if (process.getuid?.() !== 0) return 'needs root';
        if (!which('umoci')) return 'umoci is not installed';
        return undefined;
      },
      setup: async () => {
        ctmp = mkdtempSync(join(process.env.STRATUM_BENCH_DIR ?? tmpdir(), 'stratum-bench-commit-'));
        chmodSync(ctmp, 0o755);
        crt = await Runtime.open({ root: join(ctmp, 'root'), defaultNetwork: { name: 'stratum-benchc', bridge: 'stratum-benchc0', subnet: '10.240.8.0/24' } });
        const rootfs = join(ctmp, 'rootfs');
        busyboxRootfs(rootfs);
        await busyboxImage(crt, rootfs, spec.image);
        // The change: 64 MiB of random bytes in the container's layer.
        changed = await Container.run({ image: spec.image, network: 'none', cmd: ['sh', '-c', 'head -c 67108864 /dev/urandom > /blob'] }, { runtime: crt });
        await changed.wait();
        // umoci's side: its own copy of the layout, the same image unpacked, the same file added.
        umociLayout = join(ctmp, 'umoci-layout');
        execFileSync('cp', ['-a', (await crt.store()).root, umociLayout]);
        const upper = (await changed.inspect()).GraphDriver.Data.UpperDir!;
        umociBundle = join(ctmp, 'umoci-bundle');
        const unpack = (): void => {
          rmSync(umociBundle, { recursive: true, force: true });
          execFileSync('umoci', ['unpack', '--image', `${umociLayout}:docker.io/stratum-bench/busybox:1`, umociBundle]);
          copyFileSync(join(upper, 'blob'), join(umociBundle, 'rootfs', 'blob'));
        };
        unpack();
        (globalThis as { __stratumUnpack?: () => void }).__stratumUnpack = unpack;
      },
      teardown: async () => {
        await changed?.remove().catch(() => undefined);
        if (crt) {
          await crt.gc().catch(() => undefined);
          await crt.networks.remove('stratum-benchc', { force: true }).catch(() => undefined);
          await crt.close();
        }
        if (ctmp) rmSync(ctmp, { recursive: true, force: true });
      },
      ours: {
        name: 'stratum commit',
        run: async () => {
          await changed!.commit({ ref: `stratum-bench/committed:${commits++}` });
        },
      },
      peers: [
        {
          name: 'umoci repack',
          // Each repack needs a fresh unpack (repack moves the bundle onto the new image): not timed.
          before: () => (globalThis as { __stratumUnpack?: () => void }).__stratumUnpack!(),
          run: () => runCommand(['umoci', 'repack', '--image', `${umociLayout}:committed-${commits++}`, umociBundle]),
        },
      ],
    },
  ];
}
