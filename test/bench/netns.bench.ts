/**
 * @stratum/netns: the seeds' by-hand network setup, N namespaces per run.
 *
 * (a) setup: `ip netns add` + veth pair with the peer in the namespace + address both ends + up
 *     both ends. The peer is created directly inside (`ip link add … peer name P netns NS`, one
 *     RTM_NEWLINK), which is what BridgeNetwork does.
 * (a') the same with an explicit move (`ip link set P netns NS`): the kernel waits for an RCU
 *     grace period (synchronize_net, ~18 ms here) inside that request, which then dominates.
 * (b) teardown: delete the veth (the kernel waits for RCU grace periods here) + `ip netns delete`.
 *
 * Ours runs in-process (rtnetlink from TypeScript, namespaces from short-lived native threads);
 * the peers are `ip` with one process per command, `ip -batch` (one process for the host side and
 * one `ip -n NS -batch` per namespace for the inside, as `ip` has no way to address two
 * namespaces in one batch), and a C program doing the same syscalls (the floor, one process per
 * run). The host ends of the veths (stbvI) and their addresses (10.123.I.1/24) live on the host
 * for the length of a run.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Netlink, Netns } from '@stratum/netns';
import { runCommand, type Benchmark, type Contender } from './harness.js';

const N_UP = 20;
const N_MOVE = 10;
const N_DOWN = 10;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export default async function benchmarks(): Promise<Benchmark[]> {
  let tmp = '';
  let floor = '';
  let host: Netlink | undefined;
  let round = 0;

  const prefix = (who: string): string => `stratum-bn-${who}${round}-`;

  /** Removes every namespace and veth a run made, and waits until the kernel has finished. */
  const cleanup = async (): Promise<void> => {
    for (const n of existsSync('/run/netns') ? readdirSync('/run/netns') : []) {
      if (n.startsWith('stratum-bn-')) await (await Netns.open(n)).delete();
    }
    // Deleting the namespaces destroys the veth pairs in a kernel worker: wait for it, so that
    // its rtnl_lock work does not land in the next timed run.
    for (let i = 0; i < 500; i++) {
      const left = (await host!.links.list({ kind: 'veth' })).filter((l) => /^stbv\d+$/.test(l.name));
      if (left.length === 0) break;
      if (i > 50) for (const l of left) await host!.links.delete(l.index).catch(() => undefined);
      await sleep(10);
    }
    await sleep(20);
  };

  /** Builds N namespaces with veths (ours; not timed) for the teardown benchmark. */
  const build = async (who: string, n: number): Promise<void> => {
    round++;
    for (let i = 0; i < n; i++) await oursUp(prefix(who), i);
  };

  const oursUp = async (pfx: string, i: number, move = false): Promise<void> => {
    const ns = await Netns.create(`${pfx}${i}`);
    const h = host!;
    if (move) {
      await h.links.add({ kind: 'veth', name: `stbv${i}`, peer: { name: `stbp${i}` } });
      await h.links.setNetns(`stbp${i}`, ns);
    } else {
      await h.links.add({ kind: 'veth', name: `stbv${i}`, peer: { name: `stbp${i}`, netns: ns } });
    }
    await h.addresses.add(`stbv${i}`, `10.123.${i}.1/24`);
    await h.links.setUp(`stbv${i}`);
    {
      using inside = await Netlink.open({ netns: ns });
      await inside.addresses.add(`stbp${i}`, `10.123.${i}.2/24`);
      await inside.links.setUp(`stbp${i}`);
    }
    ns.close();
  };

  const ip = (args: string[]): Promise<void> => runCommand(['ip', ...args]);

  const upPeers = (n: number, move: boolean): Contender[] => {
    const vethCmds = (pfx: string, i: number): string[][] =>
      move
        ? [
            ['link', 'add', `stbv${i}`, 'type', 'veth', 'peer', 'name', `stbp${i}`],
            ['link', 'set', `stbp${i}`, 'netns', `${pfx}${i}`],
          ]
        : [['link', 'add', `stbv${i}`, 'type', 'veth', 'peer', 'name', `stbp${i}`, 'netns', `${pfx}${i}`]];
    return [
      {
        name: 'ip, one process per command',
        before: () => void round++,
        run: async () => {
          const pfx = prefix('ip');
          for (let i = 0; i < n; i++) {
            await ip(['netns', 'add', `${pfx}${i}`]);
            for (const c of vethCmds(pfx, i)) await ip(c);
            await ip(['addr', 'add', `10.123.${i}.1/24`, 'brd', '+', 'dev', `stbv${i}`]);
            await ip(['link', 'set', `stbv${i}`, 'up']);
            await ip(['-n', `${pfx}${i}`, 'addr', 'add', `10.123.${i}.2/24`, 'brd', '+', 'dev', `stbp${i}`]);
            await ip(['-n', `${pfx}${i}`, 'link', 'set', `stbp${i}`, 'up']);
          }
        },
        after: cleanup,
      },
      {
        name: 'ip -batch (1 + N processes)',
        before: () => {
          round++;
          const pfx = prefix('batch');
          const hostLines: string[] = [];
          for (let i = 0; i < n; i++) {
            hostLines.push(`netns add ${pfx}${i}`, ...vethCmds(pfx, i).map((c) => c.join(' ')), `addr add 10.123.${i}.1/24 brd + dev stbv${i}`, `link set stbv${i} up`);
            writeFileSync(join(tmp, `in${i}.batch`), `addr add 10.123.${i}.2/24 brd + dev stbp${i}\nlink set stbp${i} up\n`);
          }
          writeFileSync(join(tmp, 'host.batch'), `${hostLines.join('\n')}\n`);
        },
        run: async () => {
          const pfx = prefix('batch');
          await ip(['-batch', join(tmp, 'host.batch')]);
          for (let i = 0; i < n; i++) await ip(['-n', `${pfx}${i}`, '-batch', join(tmp, `in${i}.batch`)]);
        },
        after: cleanup,
      },
      {
        name: 'C syscalls (floor)',
        before: () => void round++,
        run: () => runCommand([floor, move ? 'move' : 'up', prefix('c'), String(n)]),
        after: cleanup,
      },
    ];
  };

  const downPeers: Contender[] = [
    {
      name: 'ip, one process per command',
      before: () => build('ipd', N_DOWN),
      run: async () => {
        for (let i = 0; i < N_DOWN; i++) {
          await ip(['link', 'del', `stbv${i}`]);
          await ip(['netns', 'del', `${prefix('ipd')}${i}`]);
        }
      },
      after: cleanup,
    },
    {
      name: 'ip -batch (1 process)',
      before: async () => {
        await build('batchd', N_DOWN);
        const lines: string[] = [];
        for (let i = 0; i < N_DOWN; i++) lines.push(`link del stbv${i}`, `netns del ${prefix('batchd')}${i}`);
        writeFileSync(join(tmp, 'down.batch'), `${lines.join('\n')}\n`);
      },
      run: () => ip(['-batch', join(tmp, 'down.batch')]),
      after: cleanup,
    },
    {
      name: 'C syscalls (floor)',
      before: () => build('cd', N_DOWN),
      run: () => runCommand([floor, 'down', prefix('cd'), String(N_DOWN)]),
      after: cleanup,
    },
  ];

  const unavailable = (): string | undefined => {
    if (process.getuid?.() !== 0) return 'needs root';
    if (spawnSync('ip', ['-V']).status !== 0) return 'ip (iproute2) is not installed';
    if (spawnSync('cc', ['--version']).status !== 0) return 'cc is not installed (build-essential)';
    return undefined;
  };

  const setup = async (): Promise<void> => {
    if (host) return;
    tmp = mkdtempSync(join(tmpdir(), 'stratum-bench-netns-'));
    floor = join(tmp, 'netns_floor');
    const cc = spawnSync('cc', ['-O2', '-o', floor, join(import.meta.dirname, 'floors', 'netns_floor.c'), '-lpthread'], { encoding: 'utf8' });
    if (cc.status !== 0) throw new Error(`cc: ${cc.stderr}`);
    host = await Netlink.open();
    await cleanup();
  };
  const teardown = async (): Promise<void> => {
    if (!host) return;
    await cleanup();
    host?.close();
    host = undefined;
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  };

  let oursNs: Netns[] = [];
  return [
    {
      group: 'netns',
      name: `netns add + veth pair (peer created in the netns) + address + up, ${N_UP} namespaces per run`,
      runs: 5,
      target: 'ours ≥ 10× faster than ip processes, ≤ 1.5× the C floor',
      unavailable,
      setup,
      teardown,
      ours: {
        name: 'stratum (in-process netlink)',
        before: () => void round++,
        run: async () => {
          const pfx = prefix('ours');
          for (let i = 0; i < N_UP; i++) await oursUp(pfx, i);
        },
        after: cleanup,
      },
      peers: upPeers(N_UP, false),
    },
    {
      group: 'netns',
      name: `netns add + veth pair + move (ip link set netns) + address + up, ${N_MOVE} namespaces per run`,
      runs: 5,
      target: 'reported: the move waits for an RCU grace period in the kernel (~18 ms)',
      unavailable,
      setup,
      teardown,
      ours: {
        name: 'stratum (in-process netlink)',
        before: () => void round++,
        run: async () => {
          const pfx = prefix('oursm');
          for (let i = 0; i < N_MOVE; i++) await oursUp(pfx, i, true);
        },
        after: cleanup,
      },
      peers: upPeers(N_MOVE, true),
    },
    {
      group: 'netns',
      name: `teardown: veth delete + netns delete, ${N_DOWN} namespaces per run`,
      runs: 5,
      target: 'ours ≤ 1.1× ip -batch (RCU grace periods dominate)',
      unavailable,
      setup,
      teardown,
      ours: {
        name: 'stratum (in-process netlink)',
        before: async () => {
          await build('oursd', N_DOWN);
          oursNs = [];
          for (let i = 0; i < N_DOWN; i++) oursNs.push(await Netns.open(`${prefix('oursd')}${i}`));
        },
        run: async () => {
          for (let i = 0; i < N_DOWN; i++) {
            await host!.links.delete(`stbv${i}`);
            await oursNs[i]!.delete();
          }
        },
        after: cleanup,
      },
      peers: downPeers,
    },
  ];
}
