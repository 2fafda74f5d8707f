/** Helpers shared by the command implementations. */
import { StratumError } from '@stratum/oci';
import { CliError, UsageError } from '../errors.js';
import type { Context } from '../context.js';

/**
 * parseFilters reads repeated `--filter key=value` flags into a map of key → values, checking
 * the keys against `allowed` (Docker: `invalid filter 'x'`).
 */
export function parseFilters(list: readonly string[], allowed: readonly string[], command: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const raw of list) {
    const eq = raw.indexOf('=');
    if (eq <= 0) throw new UsageError(command, `bad format of filter (expected name=value): ${raw}`);
    const key = raw.slice(0, eq).trim().toLowerCase();
    if (!allowed.includes(key)) throw new CliError('INVALID_FILTER', `invalid filter '${key}' (valid: ${allowed.join(', ')})`);
    const values = out.get(key) ?? [];
    values.push(raw.slice(eq + 1));
    out.set(key, values);
  }
  return out;
}

/** parseKeyValues reads `-o k=v` / `--label k=v` lists into a record (a key alone maps to ''). */
export function parseKeyValues(list: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const raw of list) {
    const eq = raw.indexOf('=');
    if (eq < 0) out[raw] = '';
    else out[raw.slice(0, eq)] = raw.slice(eq + 1);
  }
  return out;
}

/** boolFilter reads `dangling=true|false` (Docker accepts 1/0 too). */
export function boolFilter(values: string[] | undefined, key: string): boolean | undefined {
  if (values === undefined || values.length === 0) return undefined;
  const v = values[values.length - 1]!.toLowerCase();
  if (v === 'true' || v === '1') return true;
  if (v === 'false' || v === '0') return false;
  throw new CliError('INVALID_FILTER', `invalid filter '${key}=${v}': expected true or false`);
}

/**
 * eachName runs `fn` for every name, Docker style: an error for one name is printed as one line
 * on stderr and the others still run; the result is 0 when all succeeded, else the exit code
 * of the last failure (1 for "no such …", as Docker).
 */
export async function eachName(ctx: Context, names: readonly string[], fn: (name: string) => Promise<void>): Promise<number> {
  let code = 0;
  for (const name of names) {
    try {
      await fn(name);
    } catch (e) {
      if (!(e instanceof Error)) throw e;
      code = e instanceof CliError ? e.exitCode : 1;
      const suffix = e instanceof StratumError && !(e instanceof CliError) && !e.message.includes(e.code) ? ` (${e.code})` : '';
      ctx.err(`stratum ${ctx.command}: ${e.message.split('\n').join(' ')}${suffix}\n`);
      if (ctx.debug && e.stack !== undefined) ctx.err(`${e.stack}\n`);
    }
  }
  return code;
}

/** isNotFound: a NotFoundError of any package (code `NOT_FOUND`) or a missing file. */
export function isNotFound(e: unknown): boolean {
  return e instanceof Error && ((e as { code?: unknown }).code === 'NOT_FOUND' || (e as { code?: unknown }).code === 'ENOENT' || e.name === 'NotFoundError');
}

/** readAll reads a stream into a string (small inputs only: `--password-stdin`, env files). */
export async function readAll(stream: AsyncIterable<Uint8Array | string>): Promise<string> {
  let s = '';
  for await (const chunk of stream) s += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
  return s;
}

/** labelsString renders labels as Docker's list columns do: `a=1,b=2`. */
export function labelsString(labels: Record<string, string> | null | undefined): string {
  return Object.entries(labels ?? {})
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}
