/** CleanName: a tar member name made relative to the root, as {@link cleanName} returns it. */
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
  // Fast path, almost every name: relative, no empty, "." or ".." components (a trailing "/" and
  // a leading "./" are fine).
  let start = 0;
  if (name.startsWith('./')) start = 2;
  let end = name.length;
  if (end > start && name.charCodeAt(end - 1) === 0x2f) end--;
  if (end > start && name.charCodeAt(start) !== 0x2f && !hasOddComponent(name, start, end)) {
    return { path: start === 0 && end === name.length ? name : name.slice(start, end), clamped: false, absolute: false };
  }
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

// True when name[start, end) has an empty, "." or ".." component.
function hasOddComponent(name: string, start: number, end: number): boolean {
  let c0 = start;
  for (let i = start; i <= end; i++) {
    if (i < end && name.charCodeAt(i) !== 0x2f) continue;
    const len = i - c0;
    if (len === 0) return true;
    if (name.charCodeAt(c0) === 0x2e && (len === 1 || (len === 2 && name.charCodeAt(c0 + 1) === 0x2e))) return true;
    c0 = i + 1;
  }
  return false;
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
