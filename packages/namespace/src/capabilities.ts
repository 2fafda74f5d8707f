/** CAPABILITY_NAMES: the Linux capability names, in kernel bit order (capabilities(7), include/uapi/linux/capability.h). */
export const CAPABILITY_NAMES = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_DAC_READ_SEARCH',
  'CAP_FOWNER',
  'CAP_FSETID',
  'CAP_KILL',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETPCAP',
  'CAP_LINUX_IMMUTABLE',
  'CAP_NET_BIND_SERVICE',
  'CAP_NET_BROADCAST',
  'CAP_NET_ADMIN',
  'CAP_NET_RAW',
  'CAP_IPC_LOCK',
  'CAP_IPC_OWNER',
  'CAP_SYS_MODULE',
  'CAP_SYS_RAWIO',
  'CAP_SYS_CHROOT',
  'CAP_SYS_PTRACE',
  'CAP_SYS_PACCT',
  'CAP_SYS_ADMIN',
  'CAP_SYS_BOOT',
  'CAP_SYS_NICE',
  'CAP_SYS_RESOURCE',
  'CAP_SYS_TIME',
  'CAP_SYS_TTY_CONFIG',
  'CAP_MKNOD',
  'CAP_LEASE',
  'CAP_AUDIT_WRITE',
  'CAP_AUDIT_CONTROL',
  'CAP_SETFCAP',
  'CAP_MAC_OVERRIDE',
  'CAP_MAC_ADMIN',
  'CAP_SYSLOG',
  'CAP_WAKE_ALARM',
  'CAP_BLOCK_SUSPEND',
  'CAP_AUDIT_READ',
  'CAP_PERFMON',
  'CAP_BPF',
  'CAP_CHECKPOINT_RESTORE',
] as const;

/** Capability: a capability name such as 'CAP_NET_ADMIN'. */
export type Capability = (typeof CAPABILITY_NAMES)[number];

/**
 * DOCKER_DEFAULT_CAPABILITIES is the set Docker (moby's oci/caps/defaults.go) gives a container
 * that asks for nothing else: bounding, effective and permitted hold exactly these; inheritable
 * and ambient are empty. Pass it as `capabilities` for Docker's behaviour (`docker run` without
 * --cap-add/--cap-drop).
 */
export const DOCKER_DEFAULT_CAPABILITIES: readonly Capability[] = Object.freeze([
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_FSETID',
  'CAP_FOWNER',
  'CAP_MKNOD',
  'CAP_NET_RAW',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETFCAP',
  'CAP_SETPCAP',
  'CAP_NET_BIND_SERVICE',
  'CAP_SYS_CHROOT',
  'CAP_KILL',
  'CAP_AUDIT_WRITE',
] as const);

/** CapabilitySets: the five capability sets of a process (capabilities(7)); each omitted set is empty. */
export interface CapabilitySets {
  bounding?: readonly string[];
  effective?: readonly string[];
  permitted?: readonly string[];
  inheritable?: readonly string[];
  ambient?: readonly string[];
}

const INDEX = new Map<string, number>(CAPABILITY_NAMES.map((n, i) => [n, i]));

/**
 * capabilityNumber maps 'CAP_NET_ADMIN' (or 'NET_ADMIN', any case) to its bit number; a number
 * is taken as is (for capabilities newer than this table). Throws TypeError for unknown names.
 */
export function capabilityNumber(name: string | number): number {
  if (typeof name === 'number') {
    if (!Number.isInteger(name) || name < 0 || name > 63) throw new TypeError(`spawn: capability number ${name} is out of range 0..63`);
    return name;
  }
  if (typeof name !== 'string') throw new TypeError('spawn: capabilities must be names like CAP_NET_ADMIN');
  const upper = name.toUpperCase();
  const n = INDEX.get(upper.startsWith('CAP_') ? upper : `CAP_${upper}`);
  if (n === undefined) throw new TypeError(`spawn: unknown capability ${JSON.stringify(name)}`);
  return n;
}

function mask(list: readonly (string | number)[] | undefined, what: string): bigint {
  if (list === undefined) return 0n;
  if (!Array.isArray(list)) throw new TypeError(`spawn: capabilities.${what} must be an array of names`);
  let m = 0n;
  for (const c of list) m |= 1n << BigInt(capabilityNumber(c));
  return m;
}

/**
 * capabilityMasks turns `capabilities` of a spawn spec into the five 64-bit masks (bounding,
 * effective, permitted, inheritable, ambient). A plain list means Docker's semantics: bounding =
 * effective = permitted = the list, inheritable and ambient empty.
 */
export function capabilityMasks(caps: readonly string[] | CapabilitySets): [bigint, bigint, bigint, bigint, bigint] {
  if (Array.isArray(caps)) {
    const m = mask(caps, 'list');
    return [m, m, m, 0n, 0n];
  }
  if (caps === null || typeof caps !== 'object') throw new TypeError('spawn: capabilities must be an array of names or { bounding, effective, permitted, inheritable, ambient }');
  const c = caps as CapabilitySets;
  const out: [bigint, bigint, bigint, bigint, bigint] = [
    mask(c.bounding, 'bounding'),
    mask(c.effective, 'effective'),
    mask(c.permitted, 'permitted'),
    mask(c.inheritable, 'inheritable'),
    mask(c.ambient, 'ambient'),
  ];
  if ((out[1] & ~out[2]) !== 0n) throw new TypeError('spawn: capabilities.effective must be a subset of permitted');
  if ((out[4] & ~(out[2] & out[3])) !== 0n) throw new TypeError('spawn: capabilities.ambient must be a subset of both permitted and inheritable');
  return out;
}
