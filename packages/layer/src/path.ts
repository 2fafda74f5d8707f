/** A tar member name made relative to the root. */
export interface CleanName {
  /** Components joined with `/`; `''` is the root itself. */
  path: string;
  /** True when `..` tried to climb above the root and was clamped there (containerd's behaviour). */
  clamped: boolean;
  /** True when the name was absolute (a leading `/`, dropped). */
  absolute: boolean;
}

/**
 * cleanName turns a tar member name into a path relative to the root, lexically, like
 * containerd's `filepath.Clean` + root join: empty and `.` components are dropped, `..` removes
 * the component before it and is clamped at the root. The result never contains `.`, `..` or
 * empty components. Pure.
 */
export function cleanName(name: string): CleanName {
  const out: string[] = [];
  let clamped = false;
  for (const c of name.split('/')) {
    if (c === '' || c === '.') continue;
    if (c === '..') {
      if (out.length === 0) clamped = true;
      else out.pop();
      continue;
    }
    out.push(c);
  }
  return { path: out.join('/'), clamped, absolute: name.startsWith('/') };
}

/** parentOf returns the parent of a cleaned path (`''` for top-level names). */
export function parentOf(path: string): string {
  const i = path.lastIndexOf('/');
  return i < 0 ? '' : path.slice(0, i);
}

/** baseOf returns the last component of a cleaned path. */
export function baseOf(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

/** joinPath joins a cleaned directory path and a component. */
export function joinPath(dir: string, name: string): string {
  return dir === '' ? name : `${dir}/${name}`;
}
