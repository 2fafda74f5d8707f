/**
 * Fixture hosts: a directory that stands for `/`, with /proc/self/mountinfo, /proc/cgroups and
 * cgroup directories laid out with the interface files (and default values) the kernel shows.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface FixtureHost {
  root: string;
  read(path: string): string;
  write(path: string, value: string): void;
  cleanup(): void;
}

function host(): FixtureHost {
  const root = mkdtempSync(join(tmpdir(), 'stratum-cgroup-fixture-'));
  return {
    root,
    read: (p) => readFileSync(join(root, p), 'utf8'),
    write: (p, v) => {
      mkdirSync(join(root, p, '..'), { recursive: true });
      writeFileSync(join(root, p), v);
    },
    cleanup: () => rmSync(root, { recursive: true, force: true }),
  };
}

function files(h: FixtureHost, dir: string, entries: Record<string, string>): void {
  mkdirSync(join(h.root, dir), { recursive: true });
  for (const [f, v] of Object.entries(entries)) writeFileSync(join(h.root, dir, f), v);
}

const PROC_CGROUPS_V2 = `#subsys_name\thierarchy\tnum_cgroups\tenabled
cpuset\t0\t80\t1
cpu\t0\t80\t1
cpuacct\t0\t80\t1
blkio\t0\t80\t1
memory\t0\t80\t1
devices\t0\t80\t1
freezer\t0\t80\t1
net_cls\t0\t80\t1
perf_event\t0\t80\t1
net_prio\t0\t80\t1
hugetlb\t0\t80\t1
pids\t0\t80\t1
rdma\t0\t80\t1
misc\t0\t80\t1
`;

const V2_CONTROLLERS = 'cpuset cpu io memory hugetlb pids rdma misc';

/** The files of a non-root v2 cgroup with every controller enabled (a 6.x kernel's defaults). */
export function v2CgroupFiles(opts: { bfqOnly?: boolean; noSwap?: boolean } = {}): Record<string, string> {
  const f: Record<string, string> = {
    'cgroup.controllers': `${V2_CONTROLLERS}\n`,
    'cgroup.subtree_control': '\n',
    'cgroup.procs': '',
    'cgroup.events': 'populated 0\nfrozen 0\n',
    'cgroup.freeze': '0\n',
    'cgroup.kill': '',
    'cgroup.type': 'domain\n',
    'cpu.max': 'max 100000\n',
    'cpu.weight': '100\n',
    'cpu.stat': 'usage_usec 1500\nuser_usec 1000\nsystem_usec 500\nnr_periods 4\nnr_throttled 2\nthrottled_usec 300\n',
    'cpuset.cpus': '\n',
    'cpuset.mems': '\n',
    'cpuset.cpus.effective': '0-3\n',
    'io.max': '',
    'io.stat': '8:0 rbytes=4096 wbytes=8192 rios=1 wios=2 dbytes=0 dios=0\n',
    'memory.max': 'max\n',
    'memory.high': 'max\n',
    'memory.low': '0\n',
    'memory.current': '1048576\n',
    'memory.peak': '2097152\n',
    'memory.events': 'low 0\nhigh 0\nmax 7\noom 2\noom_kill 1\noom_group_kill 0\n',
    'memory.swap.max': 'max\n',
    'memory.swap.current': '0\n',
    'pids.max': 'max\n',
    'pids.current': '3\n',
    'pids.peak': '5\n',
    'pids.events': 'max 4\n',
    'hugetlb.2MB.max': 'max\n',
    'hugetlb.2MB.current': '0\n',
    'hugetlb.2MB.events': 'max 0\n',
    'hugetlb.1GB.max': 'max\n',
    'hugetlb.1GB.current': '0\n',
    'hugetlb.1GB.events': 'max 0\n',
  };
  if (opts.bfqOnly) f['io.bfq.weight'] = 'default 100\n';
  else f['io.weight'] = 'default 100\n';
  if (opts.noSwap) {
    delete f['memory.swap.max'];
    delete f['memory.swap.current'];
  }
  return f;
}

/**
 * v2Host lays out a cgroup v2-only host (systemd's unified layout: cgroup2 on /sys/fs/cgroup)
 * with the cgroups `dirs` (relative paths) already made, as the kernel would show them.
 */
export function v2Host(dirs: string[], opts: { bfqOnly?: boolean; noSwap?: boolean; offered?: Record<string, string> } = {}): FixtureHost {
  const h = host();
  h.write('proc/self/mountinfo', [
    '22 1 0:21 / / rw,relatime shared:1 - ext4 /dev/vda1 rw',
    '25 22 0:22 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot',
    '26 22 0:5 / /proc rw,nosuid,nodev,noexec,relatime shared:12 - proc proc rw',
    '',
  ].join('\n'));
  h.write('proc/cgroups', PROC_CGROUPS_V2);
  files(h, 'sys/fs/cgroup', {
    'cgroup.controllers': `${V2_CONTROLLERS}\n`,
    'cgroup.subtree_control': '\n',
    'cgroup.procs': '1\n',
    'cpu.stat': 'usage_usec 0\n',
    'cpuset.cpus.effective': '0-3\n',
  });
  for (const d of dirs) {
    const f = v2CgroupFiles(opts);
    if (opts.offered?.[d] !== undefined) f['cgroup.controllers'] = `${opts.offered[d]}\n`;
    files(h, `sys/fs/cgroup/${d}`, f);
  }
  return h;
}

const PROC_CGROUPS_V1 = `#subsys_name\thierarchy\tnum_cgroups\tenabled
cpuset\t3\t1\t1
cpu\t2\t1\t1
cpuacct\t2\t1\t1
blkio\t7\t1\t1
memory\t4\t1\t1
devices\t5\t1\t1
freezer\t6\t1\t1
net_cls\t9\t1\t1
perf_event\t0\t1\t1
net_prio\t9\t1\t1
hugetlb\t10\t1\t1
pids\t8\t1\t1
`;

/** The files of a v1 cgroup in the hierarchy of `mount` (`cpu,cpuacct`, `memory` …). */
export function v1CgroupFiles(mount: string, opts: { noMemsw?: boolean } = {}): Record<string, string> {
  const common = { 'cgroup.procs': '', tasks: '', notify_on_release: '0\n', 'cgroup.clone_children': '0\n' };
  switch (mount) {
    case 'memory': {
      const f: Record<string, string> = {
        ...common,
        'memory.limit_in_bytes': '9223372036854771712\n',
        'memory.soft_limit_in_bytes': '9223372036854771712\n',
        'memory.usage_in_bytes': '4096\n',
        'memory.max_usage_in_bytes': '8192\n',
        'memory.failcnt': '3\n',
        'memory.oom_control': 'oom_kill_disable 0\nunder_oom 0\noom_kill 2\n',
        'memory.memsw.limit_in_bytes': '9223372036854771712\n',
      };
      if (opts.noMemsw) delete f['memory.memsw.limit_in_bytes'];
      return f;
    }
    case 'cpu,cpuacct':
      return {
        ...common,
        'cpu.cfs_quota_us': '-1\n',
        'cpu.cfs_period_us': '100000\n',
        'cpu.shares': '1024\n',
        'cpu.stat': 'nr_periods 10\nnr_throttled 3\nthrottled_time 5000000\n',
        'cpuacct.usage': '3000000\n',
        'cpuacct.stat': 'user 100\nsystem 50\n',
      };
    case 'cpuset':
      return { ...common, 'cpuset.cpus': '0-3\n', 'cpuset.mems': '0\n' };
    case 'pids':
      return { ...common, 'pids.max': 'max\n', 'pids.current': '0\n', 'pids.events': 'max 0\n' };
    case 'blkio':
      return {
        ...common,
        'blkio.weight': '500\n',
        'blkio.throttle.read_bps_device': '',
        'blkio.throttle.write_bps_device': '',
        'blkio.throttle.read_iops_device': '',
        'blkio.throttle.write_iops_device': '',
        'blkio.throttle.io_service_bytes_recursive': '8:0 Read 100\n8:0 Write 200\n8:0 Total 300\nTotal 300\n',
        'blkio.throttle.io_serviced_recursive': '8:0 Read 1\n8:0 Write 2\n8:0 Total 3\nTotal 3\n',
      };
    case 'freezer':
      return { ...common, 'freezer.state': 'THAWED\n' };
    case 'hugetlb':
      return { ...common, 'hugetlb.2MB.limit_in_bytes': '9223372036854771712\n', 'hugetlb.2MB.usage_in_bytes': '0\n', 'hugetlb.2MB.failcnt': '0\n' };
    default:
      return { ...common };
  }
}

/** v1Host lays out a pure cgroup v1 host (cpu and cpuacct co-mounted, as most distributions do). */
export function v1Host(dirs: string[], opts: { noMemsw?: boolean } = {}): FixtureHost {
  const h = host();
  const mounts = ['cpuset', 'cpu,cpuacct', 'blkio', 'memory', 'devices', 'freezer', 'net_cls,net_prio', 'hugetlb', 'pids'];
  const lines = ['22 1 0:21 / / rw,relatime shared:1 - ext4 /dev/vda1 rw', '24 22 0:20 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:3 - tmpfs tmpfs ro,mode=755'];
  mounts.forEach((m, i) => lines.push(`${30 + i} 24 0:${30 + i} / /sys/fs/cgroup/${m} rw,nosuid,nodev,noexec,relatime shared:${10 + i} - cgroup cgroup rw,${m}`));
  lines.push('40 24 0:40 / /sys/fs/cgroup/systemd rw,nosuid,nodev,noexec,relatime shared:20 - cgroup cgroup rw,xattr,name=systemd', '');
  h.write('proc/self/mountinfo', lines.join('\n'));
  h.write('proc/cgroups', PROC_CGROUPS_V1);
  for (const m of mounts) {
    files(h, `sys/fs/cgroup/${m}`, v1CgroupFiles(m, opts));
    for (const d of dirs) files(h, `sys/fs/cgroup/${m}/${d}`, v1CgroupFiles(m, opts));
  }
  return h;
}

/** hybridMountInfo: systemd's hybrid layout (v1 controllers, cgroup2 at /sys/fs/cgroup/unified). */
export const HYBRID_MOUNTINFO = [
  '31 23 0:28 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755',
  '32 31 0:29 / /sys/fs/cgroup/unified rw,nosuid,nodev,noexec,relatime shared:10 - cgroup2 cgroup2 rw,nsdelegate',
  '33 31 0:30 / /sys/fs/cgroup/systemd rw,nosuid,nodev,noexec,relatime shared:11 - cgroup cgroup rw,xattr,name=systemd',
  '34 31 0:31 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:12 - cgroup cgroup rw,cpu,cpuacct',
  '35 31 0:32 / /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime shared:13 - cgroup cgroup rw,memory',
  '36 31 0:33 / /sys/fs/cgroup/pids rw,nosuid,nodev,noexec,relatime shared:14 - cgroup cgroup rw,pids',
  '37 35 0:32 /docker/abc /mnt/mem\\040copy rw,relatime shared:13 - cgroup cgroup rw,memory',
  '',
].join('\n');
