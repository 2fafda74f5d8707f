import { type Dirent, linkSync, lstatSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { setImmediate as tick } from 'node:timers/promises';
import { AT, S, lsetxattr, mknodat } from '@stratum/native';
import { OPAQUE_WHITEOUT, WHITEOUT_META_PREFIX, WHITEOUT_PREFIX } from '@stratum/layer';
import { copyMetadata, isOpaqueDir } from '../copy.js';

// fuse-overlayfs marks an opaque directory three ways at once (the opaque xattr, a `.wh..wh..opq`
// file and a `.wh..opq` whiteout) and, without privilege, deletes with `.wh.NAME` files instead of
// 0/0 devices. createLayer reads the kernel's upper-dir form; this turns one into the other.
const FUSE_OPAQUE_WHITEOUT = '.wh..opq';

/**
 * kernelFormUpper rebuilds `farm` as the kernel overlay form of fuse-overlayfs's upper directory
 * `upper`: directories made anew (owner, mode, xattrs, nanosecond times copied) with
 * `<prefix>.overlay.opaque=y` where fuse-overlayfs marked them opaque, every other entry a hard
 * link to the upper's own inode (nothing is copied), its opaque markers dropped and `.wh.NAME`
 * files turned into 0/0 character devices. `farm` must be on the upper's filesystem.
 */
export async function kernelFormUpper(upper: string, farm: string, prefix: 'trusted' | 'user'): Promise<void> {
  rmSync(farm, { recursive: true, force: true });
  mkdirSync(farm, { mode: 0o700 });
  let n = 0;
  const dir = async (src: string, dst: string): Promise<void> => {
    const entries: Dirent[] = readdirSync(src, { withFileTypes: true });
    const names = entries.map((e) => e.name);
    if (isOpaqueDir(src, names)) lsetxattr(dst, `${prefix}.overlay.opaque`, 'y');
    for (const e of entries) {
      if (++n % 512 === 0) await tick();
      const name = e.name;
      if (name === OPAQUE_WHITEOUT || name === FUSE_OPAQUE_WHITEOUT) continue;
      const s = join(src, name);
      if (name.startsWith(WHITEOUT_PREFIX)) {
        if (!name.startsWith(WHITEOUT_META_PREFIX)) mknodat(AT.FDCWD, join(dst, name.slice(WHITEOUT_PREFIX.length)), S.IFCHR, 0, 0);
        continue;
      }
      const d = join(dst, name);
      if (e.isDirectory()) {
        mkdirSync(d, { mode: 0o700 });
        await dir(s, d);
        meta(s, d);
      } else {
        linkSync(s, d);
      }
    }
  };
  await dir(upper, farm);
  meta(upper, farm);
}

function meta(s: string, d: string): void {
  copyMetadata(s, d, lstatSync(s), false);
}
