/**
 * @stratum/namespace: start → exit of /bin/true in new pid + mount + uts + ipc + net namespaces,
 * pivot_root into a busybox rootfs with Docker's default mounts, masked and read-only paths and
 * capability set, measured from Node (spawn() + wait()), against `crun run` and `runc run` of an
 * equivalent OCI bundle spawned from Node, and `unshare --fork --pid --mount --uts --ipc --net
 * true` (no rootfs, no mounts) as the floor.
 *
 * crun 1.8 refuses a hybrid cgroup host while /sys/fs/cgroup/unified holds the v2 tree, so it runs
 * through `nsenter --mount` into a mount namespace prepared once where that tree is unmounted; the
 * nsenter exec (~0.5 ms) is part of its figure. crun and runc also create and remove a cgroup per
 * run (their default); ours joins none.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DEFAULT_MOUNTS,
  DOCKER_DEFAULT_CAPABILITIES,
  DOCKER_MASKED_PATHS,
  DOCKER_READONLY_PATHS,
  spawn,
  type NamespaceHandle,
  type Process,
} from '@stratum/namespace';
import { runCommand, type Benchmark } from './harness.js';

const RUNS = Number(process.env.STRATUM_BENCH_SPAWN_RUNS ?? 200);

function which(tool: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0;
}

/** A busybox-static rootfs: bin/busybox and one relative symlink per applet. */
function busyboxRootfs(dir: string): void {
  mkdirSync(join(dir, 'bin'), { recursive: true });
  copyFileSync('/usr/bin/busybox', join(dir, 'bin', 'busybox'));
  chmodSync(join(dir, 'bin', 'busybox'), 0o755);
  for (const name of execFileSync('/usr/bin/busybox', ['--list'], { encoding: 'utf8' }).split('\n')) {
    if (name && name !== 'busybox') symlinkSync('busybox', join(dir, 'bin', name));
  }
  for (const d of ['proc', 'sys', 'dev', 'tmp', 'etc']) mkdirSync(join(dir, d), { recursive: true });
}

/** The OCI config.json equivalent to what ours does. */
function ociConfig(): object {
  const caps = [...DOCKER_DEFAULT_CAPABILITIES];
  return {
    ociVersion: '1.0.2',
    process: {
      terminal: false,
      user: { uid: 0, gid: 0 },
      args: ['/bin/true'],
      env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'],
      cwd: '/',
      capabilities: { bounding: caps, effective: caps, permitted: caps },
      noNewPrivileges: false,
    },
    root: { path: 'rootfs', readonly: false },
    hostname: 'stratum-bench',
    mounts: DEFAULT_MOUNTS.map((m) => ({ destination: m.destination, type: m.type, source: m.source, options: [...(m.options ?? [])] })),
    linux: {
      namespaces: [{ type: 'pid' }, { type: 'network' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }],
      maskedPaths: [...DOCKER_MASKED_PATHS],
      readonlyPaths: [...DOCKER_READONLY_PATHS],
    },
  };
}

export default async function benchmarks(): Promise<Benchmark[]> {
  let tmp = '';
  let rootfs = '';
  let bundle = '';
  let holder: Process | undefined;
  let crunMnt: NamespaceHandle | undefined;
  let id = 0;

  return [
    {
      group: 'namespace',
      name: `start → exit of /bin/true, new pid+mount+uts+ipc+net ns, pivot_root into busybox (${RUNS} runs)`,
      runs: RUNS,
      target: "ours ≤ crun's median",
      unavailable: () => {
        if (process.getuid?.() !== 0) return 'needs root';
        for (const t of ['crun', 'runc', 'unshare', 'nsenter']) if (!which(t)) return `${t} is not installed`;
        try {
          execFileSync('/usr/bin/busybox', ['true']);
        } catch {
          return 'busybox-static is not installed (/usr/bin/busybox)';
        }
        return undefined;
      },
      setup: async () => {
        tmp = mkdtempSync(join(tmpdir(), 'stratum-bench-spawn-'));
        chmodSync(tmp, 0o755);
        bundle = join(tmp, 'bundle');
        rootfs = join(bundle, 'rootfs');
        busyboxRootfs(rootfs);
        writeFileSync(join(bundle, 'config.json'), JSON.stringify(ociConfig(), null, 2));
        // crun's mount namespace, prepared once: private, with the v2 tree unmounted. A process
        // holds it (and we hold an fd on it); nsenter joins it per run.
        holder = await spawn({
          argv: ['/bin/sh', '-c', 'umount /sys/fs/cgroup/unified 2>/dev/null; echo ready; exec sleep 3600'],
          namespaces: { mount: true },
          rootfsPropagation: 'private',
          stdio: ['ignore', 'pipe', 'inherit'],
        });
        await new Promise((r) => holder!.stdout!.once('data', r));
        crunMnt = holder.namespace('mount');
      },
      teardown: async () => {
        crunMnt?.close();
        await holder?.[Symbol.asyncDispose]();
        if (tmp) rmSync(tmp, { recursive: true, force: true });
      },
      ours: {
        name: 'stratum spawn()',
        run: async () => {
          const p = await spawn({
            argv: ['/bin/true'],
            namespaces: { pid: true, mount: true, uts: true, ipc: true, net: true },
            hostname: 'stratum-bench',
            rootfs,
            mounts: DEFAULT_MOUNTS,
            maskedPaths: DOCKER_MASKED_PATHS,
            readonlyPaths: DOCKER_READONLY_PATHS,
            user: { uid: 0, gid: 0 },
            capabilities: DOCKER_DEFAULT_CAPABILITIES,
            stdio: 'ignore',
          });
          const st = await p.wait();
          if (st.code !== 0) throw new Error(`exit ${st.code ?? st.signal}`);
        },
      },
      peers: [
        {
          name: 'crun run (via nsenter --mount)',
          run: () => runCommand(['nsenter', `--mount=${crunMnt!.path}`, 'crun', 'run', '--bundle', bundle, `stratum-bench-crun-${id++}`]),
        },
        {
          name: 'runc run',
          run: () => runCommand(['runc', 'run', '--bundle', bundle, `stratum-bench-runc-${id++}`]),
        },
        {
          name: 'unshare --fork --pid --mount --uts --ipc --net true (floor)',
          run: () => runCommand(['unshare', '--fork', '--pid', '--mount', '--uts', '--ipc', '--net', 'true']),
        },
      ],
    },
  ];
}
