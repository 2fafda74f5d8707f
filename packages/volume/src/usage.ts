import { lstatSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

/**
 * treeSize sums the sizes of the regular files under `dir` (hard links counted once, symlinks
 * not followed), as Docker reports a volume's size. A missing directory is 0.
 */
export function treeSize(dir: string): number {
  const seen = new Set<string>();
  let total = 0;
  const walk = (d: string): void => {
    let names: string[];
    try {
      names = readdirSync(d);
    } catch {
      return;
    }
    for (const n of names) {
      const p = join(d, n);
      let st;
      try {
        st = lstatSync(p, { bigint: true });
      } catch {
        continue;
      }
      if (st.isDirectory()) walk(p);
      else if (st.isFile()) {
        const key = `${st.dev}:${st.ino}`;
        if (st.nlink > 1n) {
          if (seen.has(key)) continue;
          seen.add(key);
        }
        total += Number(st.size);
      }
    }
  };
  walk(dir);
  return total;
}
