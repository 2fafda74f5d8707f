import { endianness } from 'node:os';
import { InvalidPlatformError } from './errors.js';
import type { Descriptor, Platform } from './types.js';

const knownOS = new Set([
  'aix', 'android', 'darwin', 'dragonfly', 'freebsd', 'hurd', 'illumos', 'ios', 'js', 'linux', 'nacl',
  'netbsd', 'openbsd', 'plan9', 'solaris', 'wasip1', 'windows', 'zos',
]);
const knownArch = new Set([
  '386', 'amd64', 'amd64p32', 'arm', 'armbe', 'arm64', 'arm64be', 'loong64', 'mips', 'mipsle', 'mips64',
  'mips64le', 'mips64p32', 'mips64p32le', 'ppc', 'ppc64', 'ppc64le', 'riscv', 'riscv64', 's390', 's390x',
  'sparc', 'sparc64', 'wasm',
  // aliases normalized below
  'i386', 'x86_64', 'x86-64', 'aarch64', 'armhf', 'armel',
]);

/**
 * normalizePlatform returns `p` with containerd's spellings and Stratum's default variants, so
 * that two platforms compare equal exactly when they mean the same thing: lowercase; `macos` →
 * `darwin`; `x86_64`/`x86-64` → `amd64` (variant `v1` dropped); `i386` → `386`; `aarch64` →
 * `arm64` with variant `v8` by default (`8`, `v8.0` → `v8`; `9`, `v9.0` → `v9`); `armhf` →
 * `arm/v7`, `armel` → `arm/v6`, `arm` defaults to `v7` (`5`…`8` → `v5`…`v8`). Other fields are
 * kept. Pure and idempotent.
 */
export function normalizePlatform(p: Platform): Platform {
  let os = p.os.toLowerCase();
  if (os === 'macos') os = 'darwin';
  let architecture = p.architecture.toLowerCase();
  let variant = p.variant?.toLowerCase() ?? '';
  switch (architecture) {
    case 'i386':
      architecture = '386';
      variant = '';
      break;
    case 'x86_64':
    case 'x86-64':
    case 'amd64':
      architecture = 'amd64';
      if (variant === 'v1') variant = '';
      break;
    case 'aarch64':
    case 'arm64':
      architecture = 'arm64';
      if (variant === '' || variant === '8' || variant === 'v8' || variant === 'v8.0') variant = 'v8';
      else if (variant === '9' || variant === '9.0' || variant === 'v9.0') variant = 'v9';
      else if (/^\d+(\.\d+)?$/.test(variant)) variant = `v${variant}`;
      break;
    case 'armhf':
      architecture = 'arm';
      variant = 'v7';
      break;
    case 'armel':
      architecture = 'arm';
      variant = 'v6';
      break;
    case 'arm':
      if (variant === '' || variant === '7') variant = 'v7';
      else if (/^[5-8]$/.test(variant)) variant = `v${variant}`;
      break;
  }
  const out: Platform = { ...p, os, architecture };
  if (variant === '') delete out.variant;
  else out.variant = variant;
  return out;
}

const specifier = /^[A-Za-z0-9_.-]+$/;

/**
 * parsePlatform parses `os[(os.version)]/arch[/variant]` (`linux/arm64/v8`, `linux/amd64`,
 * `windows(10.0.17763)/amd64`) and returns it normalized ({@link normalizePlatform}). A single
 * known OS (`linux`) takes the host's architecture; a single known architecture (`arm64`) takes
 * the host's OS. Throws {@link InvalidPlatformError}. CLI equivalent: `docker pull --platform`.
 */
export function parsePlatform(s: string): Platform {
  if (typeof s !== 'string') throw new InvalidPlatformError(String(s), 'not a string');
  if (s.length > 512) throw new InvalidPlatformError(s, 'longer than 512 characters');
  const parts = s.split('/');
  if (parts.length > 3) throw new InvalidPlatformError(s, 'more than three "/"-separated parts');
  let first = parts[0]!;
  let osVersion: string | undefined;
  const open = first.indexOf('(');
  if (open >= 0) {
    if (!first.endsWith(')') || open === 0) throw new InvalidPlatformError(s, 'os version must be written os(version)');
    osVersion = first.slice(open + 1, -1);
    first = first.slice(0, open);
    if (osVersion === '' || !specifier.test(osVersion)) throw new InvalidPlatformError(s, `invalid os version ${JSON.stringify(osVersion)}`);
  }
  for (const [i, part] of [first, ...parts.slice(1)].entries()) {
    if (!specifier.test(part)) {
      throw new InvalidPlatformError(s, `${['os', 'architecture', 'variant'][i]} ${JSON.stringify(part)} must be letters, digits, "_", "." or "-"`);
    }
  }
  let p: Platform;
  if (parts.length === 1) {
    const lower = first.toLowerCase();
    const host = hostPlatform();
    if (knownOS.has(lower) || lower === 'macos') {
      p = { os: lower, architecture: host.architecture, ...(host.variant ? { variant: host.variant } : {}) };
    } else if (knownArch.has(lower)) {
      p = { os: host.os, architecture: lower };
    } else {
      throw new InvalidPlatformError(s, `${JSON.stringify(first)} is neither a known OS nor a known architecture`);
    }
  } else {
    p = { os: first, architecture: parts[1]! };
    if (parts[2] !== undefined) p.variant = parts[2];
  }
  if (osVersion !== undefined) p['os.version'] = osVersion;
  return normalizePlatform(p);
}

/**
 * formatPlatform prints a platform as `os[(os.version)]/arch[/variant]`, after
 * {@link normalizePlatform}: `formatPlatform(parsePlatform(s))` is the canonical spelling of `s`,
 * and parsing it back gives the same platform. `os.features`/`features` are not printed.
 */
export function formatPlatform(p: Platform | string): string {
  const n = typeof p === 'string' ? parsePlatform(p) : normalizePlatform(p);
  const osv = n['os.version'] ? `(${n['os.version']})` : '';
  return `${n.os}${osv}/${n.architecture}${n.variant ? `/${n.variant}` : ''}`;
}

/**
 * hostPlatform is the platform of the running Node process (`process.platform`/`process.arch`
 * in OCI spelling, normalized). No I/O: 32-bit ARM's variant comes from Node's build
 * configuration (default `v7`); amd64 reports no microarchitecture level.
 */
export function hostPlatform(): Platform {
  const os = process.platform === 'win32' ? 'windows' : process.platform === 'sunos' ? 'solaris' : process.platform;
  let architecture: string;
  let variant: string | undefined;
  switch (process.arch) {
    case 'x64':
      architecture = 'amd64';
      break;
    case 'ia32':
      architecture = '386';
      break;
    case 'arm': {
      architecture = 'arm';
      const v = (process.config.variables as unknown as Record<string, unknown>)['arm_version'];
      variant = typeof v === 'string' || typeof v === 'number' ? String(v) : undefined;
      break;
    }
    case 'ppc64':
      architecture = endianness() === 'LE' ? 'ppc64le' : 'ppc64';
      break;
    case 'mipsel':
      architecture = 'mipsle';
      break;
    default:
      architecture = process.arch;
  }
  return normalizePlatform({ os, architecture, ...(variant ? { variant } : {}) });
}

/** Variant levels of the architectures whose variants are backward compatible (newer runs older). */
function variantLevel(architecture: string, variant: string | undefined): number | undefined {
  const v = variant ?? '';
  switch (architecture) {
    case 'amd64': {
      if (v === '') return 1;
      const m = /^v([1-4])$/.exec(v);
      return m ? Number(m[1]) : undefined;
    }
    case 'arm': {
      const m = /^v([5-8])$/.exec(v);
      return m ? Number(m[1]) : undefined;
    }
    case 'arm64': {
      const m = /^v(8|9)(?:\.(\d))?$/.exec(v);
      return m ? Number(m[1]) + Number(m[2] ?? 0) / 10 : undefined;
    }
    default:
      return undefined;
  }
}

/** Windows builds run only images of the same major.minor.build. */
function windowsBuild(v: string): string {
  return v.split('.').slice(0, 3).join('.');
}

/**
 * Rank of `candidate` for `wanted` (lower is better), or undefined when it does not match.
 * [variant distance, os.version distance]
 */
function platformRank(wanted: Platform, candidate: Platform): [number, number] | undefined {
  const w = normalizePlatform(wanted);
  const c = normalizePlatform(candidate);
  if (w.os !== c.os || w.architecture !== c.architecture) return undefined;
  let variantDistance = 0;
  if ((w.variant ?? '') !== (c.variant ?? '')) {
    const wl = variantLevel(w.architecture, w.variant);
    const cl = variantLevel(c.architecture, c.variant);
    if (wl === undefined || cl === undefined || cl > wl) return undefined;
    variantDistance = wl - cl;
  }
  let osVersionDistance = 0;
  const wv = w['os.version'];
  const cv = c['os.version'];
  if (wv !== undefined && wv !== cv) {
    if (w.os === 'windows') {
      if (cv === undefined || windowsBuild(cv) !== windowsBuild(wv)) return undefined;
      osVersionDistance = 1;
    } else {
      osVersionDistance = cv === undefined ? 1 : 2;
    }
  }
  return [variantDistance, osVersionDistance];
}

/**
 * platformMatches tells whether an image for `candidate` runs where `wanted` is asked for, by
 * the OCI/containerd rules: OS and architecture equal (after {@link normalizePlatform});
 * variants equal, or, for arm, arm64 and amd64, the candidate's variant older than the wanted
 * one (`linux/arm/v7` accepts `v6` and `v5`; `linux/amd64/v3` accepts `v2` and plain amd64);
 * on Windows the `os.version` build (major.minor.build) equal when one is wanted. Pure.
 */
export function platformMatches(wanted: Platform | string, candidate: Platform | string): boolean {
  const w = typeof wanted === 'string' ? parsePlatform(wanted) : wanted;
  const c = typeof candidate === 'string' ? parsePlatform(candidate) : candidate;
  return platformRank(w, c) !== undefined;
}

/**
 * selectPlatform picks the descriptor of an index whose `platform` best matches `wanted`
 * (default: {@link hostPlatform}): among the {@link platformMatches} candidates, the exact
 * variant first, then the nearest older one; an equal `os.version` before a different or
 * missing one; index order breaks ties. Descriptors without a platform (attestations, artifacts)
 * are skipped. Returns undefined when nothing matches. Like `docker pull --platform`.
 */
export function selectPlatform<D extends Pick<Descriptor, 'platform'>>(descriptors: readonly D[], wanted: Platform | string = hostPlatform()): D | undefined {
  const w = typeof wanted === 'string' ? parsePlatform(wanted) : wanted;
  let best: D | undefined;
  let bestRank: [number, number] | undefined;
  for (const d of descriptors) {
    const p = d.platform;
    if (!p || typeof p.os !== 'string' || typeof p.architecture !== 'string') continue;
    const rank = platformRank(w, p);
    if (rank === undefined) continue;
    if (bestRank === undefined || rank[0] < bestRank[0] || (rank[0] === bestRank[0] && rank[1] < bestRank[1])) {
      best = d;
      bestRank = rank;
    }
  }
  return best;
}
