/**
 * The wire protocol between this package and the `stratum-init` helper (native/cc/init/protocol.h
 * is the other half; `stratum-init --protocol` prints its numbers and a test compares them with
 * these tables).
 *
 * Spec, Node → helper on fd 3: u32 length, then u32 magic, u32 version and fields of
 * { u16 tag, u16 0, u32 length, payload }, little-endian, strings NUL-terminated.
 * Messages, helper → Node on fd 3: { u32 type, u32 length, payload }.
 */

/** MAGIC: the first word of a spec ("STRI"). */
export const MAGIC = 0x49525453;
/** VERSION: the protocol version; the helper refuses another. */
export const VERSION = 1;
/** MAX_SPEC: the largest spec the helper reads (1 MiB). */
export const MAX_SPEC = 1 << 20;

/** TAG: the field tags of a spec. */
export const TAG = {
  ARG: 1,
  ENV: 2,
  CWD: 3,
  FLAGS: 4,
  NS_NEW: 5,
  NS_JOIN: 6,
  HOSTNAME: 7,
  DOMAINNAME: 8,
  ROOTFS: 9,
  ROOT_PROPAGATION: 10,
  MOUNT: 11,
  DEVICE: 12,
  SYMLINK: 13,
  MASK: 14,
  READONLY: 15,
  USER: 16,
  GROUPS: 17,
  CAPS: 18,
  RLIMIT: 19,
  UMASK: 20,
  OOM_SCORE_ADJ: 21,
  CGROUP: 22,
  PDEATHSIG: 23,
  TTY: 24,
  TIMENS_OFFSETS: 25,
  ENTER_ROOT: 26,
} as const;

/** FLAG: the bits of the FLAGS field. */
export const FLAG = { INIT: 1, NO_NEW_PRIVS: 2, TTY: 4, NO_PIVOT: 8, NO_OPENAT2: 16, SETSID: 32, READONLY_ROOT: 64, LOOPBACK: 128 } as const;

/** MOUNT_FLAG: the helper's own flags of a MOUNT field. */
export const MOUNT_FLAG = { FILE_TARGET: 1, RECURSIVE_RO: 2, REMOUNT: 4 } as const;

/** MSG: the message types the helper sends. */
export const MSG = { ERROR: 1, MAP_REQUEST: 2, EXEC_OK: 3, EXIT: 4 } as const;

/** MAP_OK: the byte Node answers a MAP_REQUEST with once the maps are written. */
export const MAP_OK = 0x41;

/** STAGES: the setup stages by number, as SpawnError.step names them. */
export const STAGES: Record<number, string> = {
  1: 'spec',
  2: 'pdeathsig',
  3: 'namespace-open',
  4: 'tty',
  5: 'setns',
  6: 'unshare',
  7: 'id-map',
  8: 'timens',
  9: 'fork',
  10: 'cgroup',
  11: 'oom-score-adj',
  12: 'propagation',
  13: 'rootfs',
  14: 'mount',
  15: 'device',
  16: 'symlink',
  17: 'readonly-path',
  18: 'masked-path',
  19: 'pivot-root',
  20: 'chroot',
  21: 'cwd',
  22: 'hostname',
  23: 'domainname',
  24: 'rlimit',
  25: 'umask',
  26: 'groups',
  27: 'user',
  28: 'capabilities',
  29: 'no-new-privileges',
  30: 'exec',
  31: 'init',
  32: 'enter',
  33: 'loopback',
};

/** WireMount: a mount as the helper takes it: mount(2) arguments plus follow-up changes. */
export interface WireMount {
  flags: number;
  propagation: number;
  mflags: number;
  source: string;
  target: string;
  fstype: string;
  data: string;
}

/** WireDevice: a device node as the helper takes it (mode includes the S_IF* type). */
export interface WireDevice {
  mode: number;
  major: number;
  minor: number;
  uid: number;
  gid: number;
  path: string;
}

/** WireSpec: everything the helper needs, already validated and reduced to numbers and strings. */
export interface WireSpec {
  argv: string[];
  env: string[];
  cwd?: string;
  flags: number;
  nsNew: number;
  joins: Array<{ type: number; path: string }>;
  hostname?: string;
  domainname?: string;
  rootfs?: string;
  rootPropagation: number;
  mounts: WireMount[];
  devices: WireDevice[];
  symlinks: Array<{ target: string; link: string }>;
  maskedPaths: string[];
  readonlyPaths: string[];
  user?: { uid: number; gid: number };
  groups?: number[];
  /** bounding, effective, permitted, inheritable, ambient. */
  caps?: [bigint, bigint, bigint, bigint, bigint];
  rlimits: Array<{ resource: number; soft: bigint; hard: bigint }>;
  umask?: number;
  oomScoreAdj?: number;
  cgroups: string[];
  pdeathsig?: number;
  tty?: { rows: number; cols: number };
  timensOffsets?: string;
  enterRoot?: string;
}

/** Appends fields to a growing buffer; one allocation per spec in practice. */
class Writer {
  #buf = Buffer.allocUnsafe(4096);
  #len = 0;

  #ensure(n: number): void {
    if (this.#len + n <= this.#buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.#buf.length * 2, this.#len + n));
    this.#buf.copy(next, 0, 0, this.#len);
    this.#buf = next;
  }

  u32(v: number): void {
    this.#ensure(4);
    this.#buf.writeUInt32LE(v >>> 0, this.#len);
    this.#len += 4;
  }

  /** Starts a field; returns the offset of its length slot for {@link Writer.end}. */
  begin(tag: number): number {
    this.#ensure(8);
    this.#buf.writeUInt16LE(tag, this.#len);
    this.#buf.writeUInt16LE(0, this.#len + 2);
    const at = this.#len + 4;
    this.#len += 8;
    return at;
  }

  end(at: number): void {
    this.#buf.writeUInt32LE(this.#len - at - 4, at);
  }

  u64(v: bigint): void {
    this.#ensure(8);
    this.#buf.writeBigUInt64LE(BigInt.asUintN(64, v), this.#len);
    this.#len += 8;
  }

  str(s: string): void {
    const n = Buffer.byteLength(s);
    this.#ensure(n + 1);
    this.#buf.write(s, this.#len);
    this.#buf[this.#len + n] = 0;
    this.#len += n + 1;
  }

  field(tag: number, fill: () => void): void {
    const at = this.begin(tag);
    fill();
    this.end(at);
  }

  done(): Buffer {
    this.#buf.writeUInt32LE(this.#len - 4, 0);
    return this.#buf.subarray(0, this.#len);
  }
}

/**
 * encodeSpec turns a {@link WireSpec} into the bytes written to the helper's fd 3, length prefix
 * included. Strings must not contain NUL (the caller validated that).
 */
export function encodeSpec(s: WireSpec): Buffer {
  const w = new Writer();
  w.u32(0); // length, patched by done()
  w.u32(MAGIC);
  w.u32(VERSION);
  const str = (tag: number, v: string | undefined): void => {
    if (v !== undefined) w.field(tag, () => w.str(v));
  };
  const u32 = (tag: number, v: number | undefined): void => {
    if (v !== undefined) w.field(tag, () => w.u32(v));
  };
  for (const a of s.argv) str(TAG.ARG, a);
  for (const e of s.env) str(TAG.ENV, e);
  str(TAG.CWD, s.cwd);
  u32(TAG.FLAGS, s.flags);
  u32(TAG.NS_NEW, s.nsNew);
  for (const j of s.joins) {
    w.field(TAG.NS_JOIN, () => {
      w.u32(j.type);
      w.str(j.path);
    });
  }
  str(TAG.HOSTNAME, s.hostname);
  str(TAG.DOMAINNAME, s.domainname);
  str(TAG.ROOTFS, s.rootfs);
  u32(TAG.ROOT_PROPAGATION, s.rootPropagation);
  for (const m of s.mounts) {
    w.field(TAG.MOUNT, () => {
      w.u32(m.flags);
      w.u32(m.propagation);
      w.u32(m.mflags);
      w.str(m.source);
      w.str(m.target);
      w.str(m.fstype);
      w.str(m.data);
    });
  }
  for (const d of s.devices) {
    w.field(TAG.DEVICE, () => {
      w.u32(d.mode);
      w.u32(d.major);
      w.u32(d.minor);
      w.u32(d.uid);
      w.u32(d.gid);
      w.str(d.path);
    });
  }
  for (const l of s.symlinks) {
    w.field(TAG.SYMLINK, () => {
      w.str(l.target);
      w.str(l.link);
    });
  }
  for (const p of s.maskedPaths) str(TAG.MASK, p);
  for (const p of s.readonlyPaths) str(TAG.READONLY, p);
  if (s.user) {
    const { uid, gid } = s.user;
    w.field(TAG.USER, () => {
      w.u32(uid);
      w.u32(gid);
    });
  }
  if (s.groups) {
    const groups = s.groups;
    w.field(TAG.GROUPS, () => {
      w.u32(groups.length);
      for (const g of groups) w.u32(g);
    });
  }
  if (s.caps) {
    const caps = s.caps;
    w.field(TAG.CAPS, () => {
      for (const c of caps) w.u64(c);
    });
  }
  for (const r of s.rlimits) {
    w.field(TAG.RLIMIT, () => {
      w.u32(r.resource);
      w.u32(0);
      w.u64(r.soft);
      w.u64(r.hard);
    });
  }
  u32(TAG.UMASK, s.umask);
  if (s.oomScoreAdj !== undefined) u32(TAG.OOM_SCORE_ADJ, s.oomScoreAdj >>> 0);
  for (const c of s.cgroups) str(TAG.CGROUP, c);
  u32(TAG.PDEATHSIG, s.pdeathsig);
  if (s.tty) {
    const { rows, cols } = s.tty;
    w.field(TAG.TTY, () => {
      w.u32(rows);
      w.u32(cols);
    });
  }
  str(TAG.TIMENS_OFFSETS, s.timensOffsets);
  str(TAG.ENTER_ROOT, s.enterRoot);
  const out = w.done();
  if (out.length - 4 > MAX_SPEC) throw new RangeError(`spawn: the spec is ${out.length - 4} bytes, over the ${MAX_SPEC}-byte limit (argv/env too large)`);
  return out;
}

/** HelperMessage: one message from the helper. */
export type HelperMessage =
  | { type: 'error'; stage: string; errno: number; syscall: string; path?: string }
  | { type: 'map-request'; pid: number }
  | { type: 'exec-ok'; pid?: number }
  | { type: 'unknown'; code: number };

/**
 * MessageReader splits the helper's byte stream into messages (chunks may split or join them).
 */
export class MessageReader {
  #pending: Buffer = Buffer.alloc(0);

  /** Feeds a chunk; returns the complete messages it finished. */
  push(chunk: Buffer): HelperMessage[] {
    this.#pending = this.#pending.length ? Buffer.concat([this.#pending, chunk]) : chunk;
    const out: HelperMessage[] = [];
    while (this.#pending.length >= 8) {
      const type = this.#pending.readUInt32LE(0);
      const len = this.#pending.readUInt32LE(4);
      if (this.#pending.length < 8 + len) break;
      const body = this.#pending.subarray(8, 8 + len);
      this.#pending = this.#pending.subarray(8 + len);
      out.push(decodeMessage(type, body));
    }
    return out;
  }

  /** Bytes of an unfinished message (non-zero at EOF means the helper died mid-write). */
  get pending(): number {
    return this.#pending.length;
  }
}

function decodeMessage(type: number, body: Buffer): HelperMessage {
  switch (type) {
    case MSG.ERROR: {
      const stage = STAGES[body.readUInt32LE(0)] ?? `stage-${body.readUInt32LE(0)}`;
      const errno = body.readInt32LE(4);
      const nul1 = body.indexOf(0, 8);
      const syscall = body.toString('utf8', 8, nul1);
      const nul2 = body.indexOf(0, nul1 + 1);
      const path = body.toString('utf8', nul1 + 1, nul2 < 0 ? body.length : nul2);
      return path ? { type: 'error', stage, errno, syscall, path } : { type: 'error', stage, errno, syscall };
    }
    case MSG.MAP_REQUEST:
      return { type: 'map-request', pid: body.readUInt32LE(0) };
    case MSG.EXEC_OK:
      return body.length >= 4 ? { type: 'exec-ok', pid: body.readUInt32LE(0) } : { type: 'exec-ok' };
    default:
      return { type: 'unknown', code: type };
  }
}
