/**
 * The command-line parser, with Docker's (pflag's) conventions:
 *
 * - long flags `--name value` and `--name=value`; booleans `--rm`, `--rm=false`;
 * - short flags `-p 80:80`, `-p80:80`, `-p=80:80`; booleans combined `-it`, `-dit`, and a
 *   value-taking flag last in a group takes the rest or the next argument (`-itp 80:80`);
 * - repeatable flags (`-e A=1 -e B=2`, `-v`, `-p`) collect into a list, in order;
 * - `--` ends the options; a lone `-` is an argument (stdin);
 * - commands that run a program (`run`, `exec`) stop at the first argument, so that the
 *   program's own flags are left alone (`stratum run busybox ls -l`).
 */
import { UsageError } from './errors.js';

/** FlagType: how a flag takes its value. `list` repeats; `count` counts repetitions. */
export type FlagType = 'boolean' | 'string' | 'list';

/** FlagSpec: one flag of a command, for parsing and `--help`. */
export interface FlagSpec {
  /** Long name without dashes: `publish`. */
  name: string;
  /** One-letter short name: `p`. */
  short?: string;
  type: FlagType;
  /** One line for `--help`. */
  description: string;
  /** The value's name in `--help` (`string`, `list`, `bytes`, `int`…). */
  valueName?: string;
  /** Default shown in `--help` and returned when the flag is absent (`'true'` for a boolean that is on unless `--x=false`). */
  default?: string;
  /** Not listed in `--help` (kept for compatibility). */
  hidden?: boolean;
}

/** ParsedArgs: what {@link parseArgs} found. Absent booleans are false; absent lists are `[]`. */
export interface ParsedArgs {
  flags: Record<string, string | boolean | string[] | undefined>;
  args: string[];
  /** Flags given explicitly, by long name (to tell `--x=false` from absent, or a default). */
  given: Set<string>;
}

/** ParseOptions: behaviour of {@link parseArgs}. */
export interface ParseOptions {
  /** The command path for error messages (`run`, `network create`). */
  command: string;
  /** Stop at the first non-flag argument (Docker's `run`/`exec`). Default false. */
  stopAtFirstArg?: boolean;
}

const trueWords = new Set(['true', '1', 't', 'T', 'TRUE', 'True']);
const falseWords = new Set(['false', '0', 'f', 'F', 'FALSE', 'False']);

/**
 * parseArgs parses `argv` (the words after the command name) against `specs`. Pure; throws
 * {@link UsageError} with pflag's wording (`unknown flag: --foo`, `unknown shorthand flag: 'x'
 * in -x`, `flag needs an argument: --name`, `invalid argument "x" for "--rm" flag`).
 */
export function parseArgs(argv: readonly string[], specs: readonly FlagSpec[], opts: ParseOptions): ParsedArgs {
  const byLong = new Map<string, FlagSpec>();
  const byShort = new Map<string, FlagSpec>();
  for (const s of specs) {
    byLong.set(s.name, s);
    if (s.short !== undefined) byShort.set(s.short, s);
  }
  const flags: ParsedArgs['flags'] = {};
  for (const s of specs) flags[s.name] = s.type === 'boolean' ? s.default === 'true' : s.type === 'list' ? [] : s.default;
  const given = new Set<string>();
  const args: string[] = [];
  const set = (spec: FlagSpec, value: string | boolean, shown: string): void => {
    given.add(spec.name);
    if (spec.type === 'boolean') {
      if (typeof value === 'boolean') flags[spec.name] = value;
      else if (trueWords.has(value)) flags[spec.name] = true;
      else if (falseWords.has(value)) flags[spec.name] = false;
      else throw new UsageError(opts.command, `invalid argument ${JSON.stringify(value)} for "${shown}" flag: parse error`);
    } else if (spec.type === 'list') {
      (flags[spec.name] as string[]).push(String(value));
    } else {
      flags[spec.name] = String(value);
    }
  };

  let i = 0;
  while (i < argv.length) {
    const a = argv[i]!;
    i++;
    if (a === '--') {
      args.push(...argv.slice(i));
      break;
    }
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      const name = eq >= 0 ? a.slice(2, eq) : a.slice(2);
      const spec = byLong.get(name);
      if (spec === undefined) throw new UsageError(opts.command, `unknown flag: --${name}`);
      if (eq >= 0) set(spec, a.slice(eq + 1), `--${name}`);
      else if (spec.type === 'boolean') set(spec, true, `--${name}`);
      else {
        if (i >= argv.length) throw new UsageError(opts.command, `flag needs an argument: --${name}`);
        set(spec, argv[i]!, `--${name}`);
        i++;
      }
      continue;
    }
    if (a.startsWith('-') && a.length > 1) {
      // A group of short flags: booleans until one takes a value.
      let j = 1;
      while (j < a.length) {
        const c = a[j]!;
        const spec = byShort.get(c);
        if (spec === undefined) throw new UsageError(opts.command, `unknown shorthand flag: '${c}' in ${a}`);
        const shown = `-${c}, --${spec.name}`;
        if (spec.type === 'boolean') {
          if (a[j + 1] === '=') {
            set(spec, a.slice(j + 2), shown);
            j = a.length;
          } else {
            set(spec, true, shown);
            j++;
          }
          continue;
        }
        let value = a.slice(j + 1);
        if (value.startsWith('=')) value = value.slice(1);
        else if (value === '') {
          if (i >= argv.length) throw new UsageError(opts.command, `flag needs an argument: '${c}' in -${c}`);
          value = argv[i]!;
          i++;
        }
        set(spec, value, shown);
        j = a.length;
      }
      continue;
    }
    args.push(a);
    if (opts.stopAtFirstArg === true) {
      args.push(...argv.slice(i));
      break;
    }
  }
  return { flags, args, given };
}

/**
 * formatFlagHelp renders the `Options:` block of `--help` like Docker's: `  -p, --publish list
 * Publish a container's port(s) to the host`, descriptions aligned in one column.
 */
export function formatFlagHelp(specs: readonly FlagSpec[]): string {
  const rows = specs
    .filter((s) => s.hidden !== true)
    .map((s) => {
      const value = s.type === 'boolean' ? '' : ` ${s.valueName ?? (s.type === 'list' ? 'list' : 'string')}`;
      const left = `${s.short !== undefined ? `-${s.short}, ` : '    '}--${s.name}${value}`;
      const def = s.default === undefined || s.default === '' ? '' : s.type === 'boolean' ? ` (default ${s.default})` : ` (default ${JSON.stringify(s.default)})`;
      return [left, s.description + def] as const;
    });
  const width = Math.max(0, ...rows.map(([l]) => l.length)) + 3;
  return rows.map(([l, d]) => `  ${l.padEnd(width)}${d.split('\n').join(`\n  ${' '.repeat(width)}`)}`).join('\n');
}

/** flagString reads a string flag's value (undefined when absent and without default). */
export function flagString(p: ParsedArgs, name: string): string | undefined {
  const v = p.flags[name];
  return typeof v === 'string' ? v : undefined;
}

/** flagBool reads a boolean flag's value. */
export function flagBool(p: ParsedArgs, name: string): boolean {
  return p.flags[name] === true;
}

/** flagList reads a repeatable flag's values, in the order given. */
export function flagList(p: ParsedArgs, name: string): string[] {
  const v = p.flags[name];
  return Array.isArray(v) ? v : [];
}

/**
 * flagInt reads an integer flag (`--pids-limit 32`, `-t 10`); `command` names the command for
 * the error when the value is not an integer.
 */
export function flagInt(p: ParsedArgs, name: string, command: string): number | undefined {
  const v = flagString(p, name);
  if (v === undefined) return undefined;
  if (!/^[+-]?\d+$/.test(v.trim())) throw new UsageError(command, `invalid argument ${JSON.stringify(v)} for "--${name}" flag: not an integer`);
  return Number.parseInt(v, 10);
}
