import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';

/**
 * Capability names a test can ask for. `tool:NAME` asks for an executable on PATH
 * (`tool:skopeo`, `tool:umoci` …).
 */
export type Capability =
  | 'root'
  | 'mount-ns'
  | 'userns'
  | 'unprivileged-userns'
  | 'overlay'
  | 'cgroup-v1'
  | 'cgroup-v2'
  | 'netns'
  | 'nftables'
  | 'native'
  | `tool:${string}`;

const cache = new Map<Capability, string | null>();

/** which returns the absolute path of an executable on PATH, or undefined. */
export function which(name: string): string | undefined {
  const dirs = (process.env.PATH ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin').split(delimiter);
  for (const d of [...dirs, '/usr/sbin', '/sbin']) {
    const p = join(d, name);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // keep looking
    }
  }
  return undefined;
}

function tries(argv: string[]): string | null {
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8', timeout: 10_000 });
  if (r.error) return `${argv[0]}: ${r.error.message}`;
  if (r.status !== 0) return `\`${argv.join(' ')}\` failed: ${(r.stderr || '').trim().split('\n').pop() ?? `exit ${r.status}`}`;
  return null;
}

/**
 * probe tries the operation behind a capability and returns null when it works, or the reason
 * it does not. Results are cached per process.
 */
export function probe(cap: Capability): string | null {
  const hit = cache.get(cap);
  if (hit !== undefined) return hit;
  let reason: string | null;
  switch (cap) {
    case 'root':
      reason = process.getuid?.() === 0 ? null : 'needs root (uid 0)';
      break;
    case 'mount-ns':
      reason = process.getuid?.() !== 0 ? 'needs root for mount namespaces' : tries(['unshare', '--mount', 'true']);
      break;
    case 'userns':
      reason = tries(['unshare', '--user', '--map-root-user', 'true']);
      break;
    case 'unprivileged-userns': {
      const clone = existsSync('/proc/sys/kernel/unprivileged_userns_clone')
        ? readFileSync('/proc/sys/kernel/unprivileged_userns_clone', 'utf8').trim()
        : '1';
      reason = clone === '1' ? tries(['unshare', '--user', '--map-root-user', 'true']) : 'kernel.unprivileged_userns_clone is 0';
      break;
    }
    case 'overlay':
      reason = readFileSync('/proc/filesystems', 'utf8').includes('overlay')
        ? process.getuid?.() === 0
          ? null
          : 'overlay mounts need root (or a user namespace)'
        : 'overlayfs is not in /proc/filesystems (modprobe overlay)';
      break;
    case 'cgroup-v1':
      reason = existsSync('/sys/fs/cgroup/memory/memory.limit_in_bytes') ? null : 'no cgroup v1 memory hierarchy at /sys/fs/cgroup/memory';
      break;
    case 'cgroup-v2':
      reason =
        existsSync('/sys/fs/cgroup/cgroup.controllers') || existsSync('/sys/fs/cgroup/unified/cgroup.controllers')
          ? null
          : 'no cgroup2 hierarchy mounted';
      break;
    case 'netns':
      reason = process.getuid?.() !== 0 ? 'needs root for network namespaces' : tries(['unshare', '--net', 'true']);
      break;
    case 'nftables':
      reason = which('nft') ? (process.getuid?.() === 0 ? tries(['nft', 'list', 'tables']) : 'nft needs root') : 'nft is not installed (Debian nftables)';
      break;
    case 'native':
      reason = nativeBuilt() ? null : 'the native addon is not built (run npm install)';
      break;
    default:
      if (cap.startsWith('tool:')) {
        const tool = cap.slice(5);
        reason = which(tool) ? null : `${tool} is not installed (run npm run setup)`;
      } else {
        reason = `unknown capability ${cap}`;
      }
  }
  cache.set(cap, reason);
  return reason;
}

function nativeBuilt(): boolean {
  try {
    const url = new URL('../../../native/build/Release/stratum_native.node', import.meta.url);
    return existsSync(url);
  } catch {
    return false;
  }
}

/** missing returns the reasons, one per capability that is not available (empty: all there). */
export function missing(...caps: Capability[]): string[] {
  return caps.map(probe).filter((r): r is string => r !== null);
}
