/**
 * @stratum/native: (1) resolving untrusted paths inside a root — resolveInRoot with openat2 vs its
 * userspace fallback vs the insecure floor (realpath + open, which would follow symlinks out of
 * the root); (2) mounting + unmounting an overlay with many lower layers — mountFs (new mount
 * API, `lowerdir+` one at a time) vs util-linux `mount -t overlay` (the peer) and vs one classic
 * mount(2) call from this process (the floor, no process spawn).
 */
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MNT, O, mount, mountFs, resolveInRoot, umount2 } from '@stratum/native';
import { runCommand, type Benchmark } from './harness.js';

const PATHS = 5000;
const LOWERS = 40;
const MOUNTS = 20;

export default async function benchmarks(): Promise<Benchmark[]> {
  let tmp = '';
  let root = '';
  const paths: string[] = [];

  let otmp = '';
  let lowers: string[] = [];
  let upper = '';
  let work = '';
  let target = '';
  const ensureUnmounted = (): void => {
    while (readFileSync('/proc/self/mountinfo', 'utf8').includes(` ${target} `)) umount2(target, MNT.DETACH);
  };

  return [
    {
      group: 'native',
      name: `resolveInRoot, ${PATHS} paths (depth 4, through symlinks)`,
      runs: 5,
      setup: () => {
        tmp = mkdtempSync(join(tmpdir(), 'stratum-bench-resolve-'));
        root = join(tmp, 'root');
        // root/d0/d1/d2/f{0..99}, plus root/link -> /d0/d1 and root/d0/up -> ../..
        mkdirSync(join(root, 'd0', 'd1', 'd2'), { recursive: true });
        for (let i = 0; i < 100; i++) writeFileSync(join(root, 'd0', 'd1', 'd2', `f${i}`), '');
        symlinkSync('/d0/d1', join(root, 'link'));
        symlinkSync('../..', join(root, 'd0', 'up'));
        for (let i = 0; i < PATHS; i++) {
          const f = `f${i % 100}`;
          paths.push(i % 3 === 0 ? `d0/d1/d2/${f}` : i % 3 === 1 ? `link/d2/${f}` : `d0/up/d0/d1/d2/${f}`);
        }
      },
      teardown: () => {
        if (tmp) rmSync(tmp, { recursive: true, force: true });
      },
      ours: {
        name: 'resolveInRoot (openat2)',
        run: () => {
          for (const p of paths) resolveInRoot(root, p, { flags: O.RDONLY }).close();
        },
      },
      peers: [
        {
          name: 'resolveInRoot (userspace fallback)',
          run: () => {
            for (const p of paths) resolveInRoot(root, p, { flags: O.RDONLY, fallback: true }).close();
          },
        },
        {
          name: 'realpath + open (insecure floor)',
          run: () => {
            // Not equivalent (absolute symlinks escape the root), only the cost of a plain open.
            for (const p of paths) {
              try {
                closeSync(openSync(realpathSync(join(root, p)), 'r'));
              } catch {
                // /d0/d1 escapes to the host root and is missing there: counted all the same
              }
            }
          },
        },
      ],
    },
    {
      group: 'native',
      name: `overlay mount + unmount, ${LOWERS} lowers, ${MOUNTS} per run`,
      runs: 5,
      unavailable: () => {
        if (process.getuid?.() !== 0) return 'needs root';
        if (!readFileSync('/proc/filesystems', 'utf8').includes('overlay')) return 'no overlayfs';
        return undefined;
      },
      setup: () => {
        otmp = mkdtempSync(join(tmpdir(), 'stratum-bench-overlay-'));
        lowers = Array.from({ length: LOWERS }, (_, i) => join(otmp, `l${i}`));
        for (const [i, l] of lowers.entries()) {
          mkdirSync(l);
          writeFileSync(join(l, `f${i}`), '');
        }
        upper = join(otmp, 'upper');
        work = join(otmp, 'work');
        target = join(otmp, 'merged');
        for (const d of [upper, work, target]) mkdirSync(d);
      },
      teardown: () => {
        if (target) ensureUnmounted();
        if (otmp) rmSync(otmp, { recursive: true, force: true });
      },
      ours: {
        name: 'mountFs (fsopen/fsconfig lowerdir+)',
        run: () => {
          for (let i = 0; i < MOUNTS; i++) {
            mountFs({
              fstype: 'overlay',
              source: 'stratum-bench',
              options: [...lowers.map((l): [string, string] => ['lowerdir+', l]), ['upperdir', upper], ['workdir', work]],
              target,
            });
            umount2(target);
          }
        },
        after: ensureUnmounted,
      },
      peers: [
        {
          name: 'mount -t overlay (util-linux)',
          run: async () => {
            const data = `lowerdir=${lowers.join(':')},upperdir=${upper},workdir=${work}`;
            for (let i = 0; i < MOUNTS; i++) {
              await runCommand(['mount', '-t', 'overlay', '-o', data, 'stratum-bench', target]);
              await runCommand(['umount', target]);
            }
          },
          after: ensureUnmounted,
        },
        {
          name: 'mount(2) in-process (floor)',
          run: () => {
            const data = `lowerdir=${lowers.join(':')},upperdir=${upper},workdir=${work}`;
            for (let i = 0; i < MOUNTS; i++) {
              mount({ source: 'stratum-bench', target, fstype: 'overlay', data });
              umount2(target);
            }
          },
          after: ensureUnmounted,
        },
      ],
    },
  ];
}
