import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** ShortLinks: a throwaway directory of one-to-three-character symlinks naming an overlay's directories. */
export interface ShortLinks extends Disposable {
  /** The directory holding the links; mount relative to it. */
  readonly dir: string;
  /** Link names of the lower dirs, in the order given (top first). */
  readonly lower: readonly string[];
  readonly upper: string | undefined;
  readonly work: string | undefined;
}

/**
 * makeShortLinks makes Docker overlay2's `l/` trick, throwaway: a fresh directory with a short
 * symlink per layer (`0`, `1` … in base 36) plus `U` and `W` (upper case: never a base-36 name), so that a mount(2) data string
 * relative to it stays far below the one-page limit (500 lowers, the kernel's maximum, take
 * about 2 KiB) and holds none of the characters overlay's option parser splits on (`,` `:` `\`).
 * overlayfs resolves the links when it mounts, so the directory is removed right after
 * (dispose). Paths must be absolute.
 */
export function makeShortLinks(paths: { lower: readonly string[]; upper?: string | undefined; work?: string | undefined }): ShortLinks {
  const dir = mkdtempSync(join(tmpdir(), 'stratum-ovl-links-'));
  try {
    const lower = paths.lower.map((p, i) => {
      const name = i.toString(36);
      symlinkSync(p, join(dir, name));
      return name;
    });
    if (paths.upper !== undefined) symlinkSync(paths.upper, join(dir, 'U'));
    if (paths.work !== undefined) symlinkSync(paths.work, join(dir, 'W'));
    return {
      dir,
      lower,
      upper: paths.upper === undefined ? undefined : 'U',
      work: paths.work === undefined ? undefined : 'W',
      [Symbol.dispose]: () => rmSync(dir, { recursive: true, force: true }),
    };
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}
