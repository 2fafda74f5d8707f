import { describe } from './fd.js';

/** Throws a TypeError unless `v` is a string without NUL bytes (optionally non-empty). */
export function str(v: unknown, fn: string, what: string, opts: { empty?: boolean } = {}): string {
  if (typeof v !== 'string') throw new TypeError(`${fn}: ${what} must be a string, got ${describe(v)}`);
  if (v.includes('\0')) throw new TypeError(`${fn}: ${what} must not contain NUL bytes`);
  if (!opts.empty && v === '') throw new TypeError(`${fn}: ${what} must not be empty`);
  return v;
}

/** Throws a TypeError unless `v` is an integer in [min, max]; `undefined` gives `dflt` when one is passed. */
export function int(v: unknown, fn: string, what: string, min = 0, max = 0xffffffff, dflt?: number): number {
  if (v === undefined && dflt !== undefined) return dflt;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new TypeError(`${fn}: ${what} must be an integer in [${min}, ${max}], got ${describe(v)}`);
  }
  return v;
}

/** Throws a TypeError unless `v` is a plain object (or undefined, giving {}). */
export function obj<T extends object>(v: unknown, fn: string, what = 'options'): Partial<T> {
  if (v === undefined) return {};
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new TypeError(`${fn}: ${what} must be an object, got ${describe(v)}`);
  return v as Partial<T>;
}

/** Flag bitmasks: non-negative 32-bit integers. */
export function flags(v: unknown, fn: string, what = 'flags'): number {
  return int(v, fn, what, 0, 0xffffffff, 0);
}
