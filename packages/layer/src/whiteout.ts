import { S } from '@stratum/native';

/** WHITEOUT_PREFIX: an OCI whiteout `DIR/.wh.NAME` deletes `DIR/NAME` of the layers below. */
export const WHITEOUT_PREFIX = '.wh.';

/** WHITEOUT_META_PREFIX: names starting with `.wh..wh.` are whiteout metadata (the opaque marker, aufs's `.wh..wh.plnk`), never files. */
export const WHITEOUT_META_PREFIX = '.wh..wh.';

/** OPAQUE_WHITEOUT: `DIR/.wh..wh..opq` makes DIR opaque: what the layers below had in it is gone, this layer's entries stay. */
export const OPAQUE_WHITEOUT = '.wh..wh..opq';

/** OverlayXattrPrefix: the xattr namespace of overlayfs metadata: `trusted` (root) or `user` (the `userxattr` mount option, rootless). */
export type OverlayXattrPrefix = 'trusted' | 'user';

/** isWhiteout tells whether a base name is an OCI whiteout or whiteout metadata (starts with `.wh.`). */
export function isWhiteout(base: string): boolean {
  return base.startsWith(WHITEOUT_PREFIX);
}

/** isOpaqueWhiteout tells whether a base name is the opaque-directory marker `.wh..wh..opq`. */
export function isOpaqueWhiteout(base: string): boolean {
  return base === OPAQUE_WHITEOUT;
}

/**
 * whiteoutTarget returns the name a whiteout deletes (`.wh.foo` → `foo`), or undefined for
 * names that are not whiteouts and for whiteout metadata (`.wh..wh.*`, the opaque marker).
 * It may return `''`, `.` or `..` for hostile names: callers must refuse those.
 */
export function whiteoutTarget(base: string): string | undefined {
  if (!base.startsWith(WHITEOUT_PREFIX) || base.startsWith(WHITEOUT_META_PREFIX)) return undefined;
  return base.slice(WHITEOUT_PREFIX.length);
}

/** whiteoutName returns the OCI whiteout base name for a deleted `name` (`foo` → `.wh.foo`). Throws TypeError for names with `/`. */
export function whiteoutName(name: string): string {
  if (typeof name !== 'string' || name === '' || name.includes('/') || name === '.' || name === '..') {
    throw new TypeError(`whiteoutName: expected one path component, got ${JSON.stringify(name)}`);
  }
  return WHITEOUT_PREFIX + name;
}

/** overlayOpaqueXattr returns the xattr overlayfs reads to make a directory opaque (`trusted.overlay.opaque`, or `user.overlay.opaque` with userxattr); its value is `y`. */
export function overlayOpaqueXattr(prefix: OverlayXattrPrefix = 'trusted'): string {
  return `${prefix}.overlay.opaque`;
}

/** isOverlayWhiteout tells whether a stat result is an overlayfs whiteout: a character device 0/0. */
export function isOverlayWhiteout(st: { mode: number; rdevMajor: number; rdevMinor: number }): boolean {
  return (st.mode & S.IFMT) === S.IFCHR && st.rdevMajor === 0 && st.rdevMinor === 0;
}

/** isOverlayXattr tells whether an xattr name is overlayfs metadata (`trusted.overlay.*`, `user.overlay.*`), which layers never carry. */
export function isOverlayXattr(name: string): boolean {
  return name.startsWith('trusted.overlay.') || name.startsWith('user.overlay.');
}
