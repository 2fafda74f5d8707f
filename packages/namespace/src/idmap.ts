import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { SpawnError } from './errors.js';
import type { IdMapping } from './spec.js';

function lines(maps: readonly IdMapping[]): string {
  return maps.map((m) => `${m.containerID} ${m.hostID} ${m.size}\n`).join('');
}

function run(tool: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(tool, args, { timeout: 10_000 }, (err, _stdout, stderr) => {
      if (!err) return resolve();
      const missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
      reject(
        new SpawnError({
          step: 'id-map',
          errno: missing ? 2 : 1,
          syscall: tool,
          hint: missing
            ? `${tool} is not installed (Debian package uidmap); it is needed to map id ranges as an unprivileged user`
            : `${tool} ${args.join(' ')} failed: ${String(stderr).trim() || err.message} (are the ranges in /etc/sub${tool === 'newuidmap' ? 'u' : 'g'}id?)`,
        }),
      );
    });
  });
}

async function write(path: string, data: string): Promise<void> {
  try {
    await writeFile(path, data);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new SpawnError({ step: 'id-map', errno: err.errno ? -err.errno : 1, syscall: 'write', path });
  }
}

/**
 * writeIdMaps writes the uid/gid maps of the new user namespace of process `pid`, from outside
 * it (the kernel allows it once, and only from a process in the parent namespace):
 * - as root, directly, any ranges;
 * - unprivileged, mapping only one's own uid/gid (`unshare -r`): directly, after writing "deny" to
 *   /proc/PID/setgroups (required since Linux 3.19 for an unprivileged gid_map, CVE-2014-8989);
 * - unprivileged with ranges: through the setuid newuidmap/newgidmap, which check /etc/subuid
 *   and /etc/subgid.
 */
export async function writeIdMaps(pid: number, uidMap: readonly IdMapping[], gidMap: readonly IdMapping[]): Promise<void> {
  const euid = process.geteuid?.() ?? 0;
  const egid = process.getegid?.() ?? 0;
  if (euid === 0) {
    await write(`/proc/${pid}/uid_map`, lines(uidMap));
    await write(`/proc/${pid}/gid_map`, lines(gidMap));
    return;
  }
  const own = (maps: readonly IdMapping[], id: number): boolean => maps.length === 1 && maps[0]!.hostID === id && maps[0]!.size === 1;
  if (own(uidMap, euid)) await write(`/proc/${pid}/uid_map`, lines(uidMap));
  else await run('newuidmap', [String(pid), ...uidMap.flatMap((m) => [String(m.containerID), String(m.hostID), String(m.size)])]);
  if (own(gidMap, egid)) {
    await write(`/proc/${pid}/setgroups`, 'deny');
    await write(`/proc/${pid}/gid_map`, lines(gidMap));
  } else {
    await run('newgidmap', [String(pid), ...gidMap.flatMap((m) => [String(m.containerID), String(m.hostID), String(m.size)])]);
  }
}
