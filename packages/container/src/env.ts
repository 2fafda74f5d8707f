import { DEFAULT_PATH } from '@stratum/namespace';

/** EnvInput: environment overrides: `{ KEY: 'value' }` or `['KEY=value', …]`; a bare `KEY` (or `KEY: undefined`) removes the variable. */
export type EnvInput = Readonly<Record<string, string | undefined>> | readonly string[];

function checkKey(k: string, what: string): string {
  if (k === '' || k.includes('=') || k.includes('\0')) throw new TypeError(`${what}: invalid environment variable name ${JSON.stringify(k)}`);
  return k;
}

/** envEntries turns an {@link EnvInput} into `[key, value | undefined]` pairs in order (TypeError for bad names or NUL). */
export function envEntries(input: EnvInput | undefined, what = 'env'): Array<[string, string | undefined]> {
  if (input === undefined) return [];
  if (Array.isArray(input)) {
    return input.map((s: unknown, i) => {
      if (typeof s !== 'string' || s.includes('\0')) throw new TypeError(`${what}[${i}] must be a KEY=VALUE string`);
      const eq = s.indexOf('=');
      return eq < 0 ? [checkKey(s, what), undefined] : [checkKey(s.slice(0, eq), what), s.slice(eq + 1)];
    });
  }
  if (input === null || typeof input !== 'object') throw new TypeError(`${what} must be an object or an array of KEY=VALUE strings`);
  return Object.entries(input as Record<string, unknown>).map(([k, v]) => {
    if (v !== undefined && (typeof v !== 'string' || v.includes('\0'))) throw new TypeError(`${what}.${k} must be a string`);
    return [checkKey(k, what), v as string | undefined];
  });
}

/**
 * mergeEnv replaces or appends `overrides` in `base` (a KEY=VALUE list such as an image's Env),
 * keeping the order of first appearance, like Docker's ReplaceOrAppendEnvValues; a bare `KEY`
 * (or an undefined value) removes the variable. Pure.
 */
export function mergeEnv(base: readonly string[] | undefined, overrides: EnvInput | undefined): string[] {
  const map = new Map<string, string>();
  for (const [k, v] of envEntries(base ?? [], 'image Env')) if (v !== undefined) map.set(k, v);
  for (const [k, v] of envEntries(overrides)) {
    if (v === undefined) map.delete(k);
    else map.set(k, v);
  }
  return [...map].map(([k, v]) => `${k}=${v}`);
}

/**
 * processEnv is the environment the container's process gets, as Docker builds it: PATH (the
 * default when the config has none), HOSTNAME, TERM=xterm with a tty, HOME from the user's
 * passwd entry when unset — then the container's Config.Env on top. Pure.
 */
export function processEnv(configEnv: readonly string[], opts: { hostname: string; tty?: boolean; home?: string }): string[] {
  const has = (k: string): boolean => configEnv.some((e) => e.startsWith(`${k}=`));
  const base: string[] = [];
  if (!has('PATH')) base.push(`PATH=${DEFAULT_PATH}`);
  base.push(`HOSTNAME=${opts.hostname}`);
  if (opts.tty) base.push('TERM=xterm');
  if (!has('HOME')) base.push(`HOME=${opts.home ?? '/'}`);
  return mergeEnv(base, configEnv);
}
