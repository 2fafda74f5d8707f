import { getSystemErrorMap } from 'node:util';
import { StratumError } from '@stratum/oci';

/** SpawnErrorInit: what the helper (or Node, for the id maps) reports about a failed setup step. */
export interface SpawnErrorInit {
  /** The setup stage: 'mount', 'pivot-root', 'exec', 'id-map', 'setns' … */
  step: string;
  errno: number;
  syscall: string;
  path?: string;
  /** Extra explanation (what would make it work), appended to the message. */
  hint?: string;
}

const HINTS: Array<{ step: string; code?: string; hint: string }> = [
  {
    step: 'pivot-root',
    code: 'EINVAL',
    hint: 'pivot_root(2) refuses this root: the host root is an initramfs (rootfs) or the rootfs sits on a shared mount; pass noPivotRoot: true to fall back to MS_MOVE + chroot (weaker: the old root stays reachable with CAP_SYS_CHROOT)',
  },
  {
    step: 'unshare',
    code: 'EPERM',
    hint: 'creating namespaces needs CAP_SYS_ADMIN, or a new user namespace (namespaces.user) for an unprivileged caller',
  },
  {
    step: 'unshare',
    code: 'ENOSPC',
    hint: 'a namespace limit is reached (/proc/sys/user/max_*_namespaces)',
  },
  {
    step: 'exec',
    code: 'ENOENT',
    hint: 'the program (or its ELF interpreter) does not exist in the process\'s root and PATH',
  },
  {
    step: 'hostname',
    code: 'EPERM',
    hint: 'set namespaces.uts so that the hostname is the new namespace\'s',
  },
  {
    step: 'id-map',
    code: 'EPERM',
    hint: 'an unprivileged caller may map only its own uid/gid directly; ranges need entries in /etc/subuid and /etc/subgid and the newuidmap/newgidmap helpers (Debian uidmap)',
  },
];

/**
 * SpawnError: a setup step of {@link spawn} or {@link enter} failed before the program started
 * (a bad mount, a missing executable, EPERM on an id map …). `code` is the errno name ('ENOENT'),
 * `step` the stage, `syscall` and `path` what failed, as in Node's SystemError. Thrown by the
 * promise of `spawn()`; the process never ran, and nothing is left to clean up.
 */
export class SpawnError extends StratumError {
  readonly step: string;
  readonly errno: number;
  readonly syscall: string;
  readonly path?: string;

  constructor(init: SpawnErrorInit) {
    const sys = getSystemErrorMap().get(-init.errno);
    const code = sys?.[0] ?? (init.errno ? `E${init.errno}` : 'SPAWN_FAILED');
    const hint = init.hint ?? HINTS.find((h) => h.step === init.step && (h.code === undefined || h.code === code))?.hint;
    const where = init.path !== undefined ? ` '${init.path}'` : '';
    super(code, `spawn failed at ${init.step}: ${init.syscall}${where}: ${code}${sys ? ` (${sys[1]})` : ''}${hint ? ` — ${hint}` : ''}`);
    this.step = init.step;
    this.errno = init.errno;
    this.syscall = init.syscall;
    if (init.path !== undefined) this.path = init.path;
  }
}
