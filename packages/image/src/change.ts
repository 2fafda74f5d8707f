/**
 * `docker commit -c` / `docker import -c`: Dockerfile instructions applied to an image's
 * runtime config, with Docker's rules (its `BuildFromConfig`: the change lines joined by
 * newlines and parsed as one Dockerfile, every instruction checked before any is applied, each
 * applied as the classic builder's dispatcher does on Linux).
 */
import { posix } from 'node:path';
import type { ContainerConfig } from '@stratum/oci';
import { InvalidChangeError } from './errors.js';
import { LexError, envLookup, processWord, processWords } from './shell-words.js';

/** CommitInstruction: the instructions a change may be (Docker's `validCommitCommands`). */
export type CommitInstruction = 'CMD' | 'ENTRYPOINT' | 'ENV' | 'EXPOSE' | 'HEALTHCHECK' | 'LABEL' | 'ONBUILD' | 'STOPSIGNAL' | 'USER' | 'VOLUME' | 'WORKDIR';

/**
 * Change is one parsed change instruction, as data. Arguments are kept as written (quotes and
 * `$VARIABLES` are resolved when applied, against the config's `Env` at that point); `original`
 * is the instruction's text (continuation lines joined).
 */
export type Change =
  /** `CMD`/`ENTRYPOINT`: `json` for the exec form (`args` as given), else the shell form (`args` is `[text]`); `args` null when empty. */
  | { instruction: 'CMD' | 'ENTRYPOINT'; json: boolean; args: string[] | null; original: string }
  /** `ENV`/`LABEL`: `name=value` pairs (or the legacy `ENV name value with spaces`). */
  | { instruction: 'ENV' | 'LABEL'; pairs: Array<[string, string]>; original: string }
  /** `EXPOSE 80 443/udp 8000-8010`. */
  | { instruction: 'EXPOSE'; ports: string[]; original: string }
  /** `VOLUME ["/a","/b"]` or `VOLUME /a /b`. */
  | { instruction: 'VOLUME'; paths: string[]; original: string }
  /** `USER name[:group]`, `WORKDIR path`, `STOPSIGNAL signal`. */
  | { instruction: 'USER' | 'WORKDIR' | 'STOPSIGNAL'; value: string; original: string }
  /** `ONBUILD <instruction>`: the trigger as written. */
  | { instruction: 'ONBUILD'; expression: string; original: string }
  /** `HEALTHCHECK [--interval=…] CMD …` or `HEALTHCHECK NONE`; durations in nanoseconds (0 = default). */
  | {
      instruction: 'HEALTHCHECK';
      test: string[];
      interval: number;
      timeout: number;
      startPeriod: number;
      startInterval: number;
      retries: number;
      original: string;
    };

const commitInstructions = new Set<string>(['CMD', 'ENTRYPOINT', 'ENV', 'EXPOSE', 'HEALTHCHECK', 'LABEL', 'ONBUILD', 'STOPSIGNAL', 'USER', 'VOLUME', 'WORKDIR']);
const dockerfileInstructions = new Set<string>([...commitInstructions, 'ADD', 'ARG', 'COPY', 'FROM', 'MAINTAINER', 'RUN', 'SHELL']);

/** Splits Dockerfile text into logical instruction lines: comments and blank lines dropped, `\` continuations joined. */
function logicalLines(text: string): string[] {
  const out: string[] = [];
  let pending: string | undefined;
  for (const physical of text.split(/\r?\n/)) {
    const trimmed = physical.trim();
    if (trimmed.startsWith('#') || (trimmed === '' && pending !== undefined)) continue;
    if (trimmed === '') continue;
    const cont = /\\[ \t]*$/.exec(physical);
    const body = cont ? physical.slice(0, cont.index) : physical;
    pending = pending === undefined ? body.trimStart() : pending + body;
    if (!cont) {
      out.push(pending);
      pending = undefined;
    }
  }
  if (pending !== undefined && pending.trim() !== '') out.push(pending);
  return out;
}

/** The words of an argument, split on unquoted whitespace, quotes and escapes kept (BuildKit's `parseWords`). */
function rawWords(rest: string): string[] {
  const words: string[] = [];
  let word = '';
  let quote: string | undefined;
  let inWord = false;
  let blankOK = false;
  for (let i = 0; i < rest.length; i++) {
    const ch = rest[i]!;
    if (quote === undefined) {
      if (/\s/.test(ch)) {
        if (inWord && (blankOK || word !== '')) words.push(word);
        word = '';
        inWord = false;
        blankOK = false;
        continue;
      }
      inWord = true;
      if (ch === "'" || ch === '"') {
        quote = ch;
        blankOK = true;
      } else if (ch === '\\') {
        if (i + 1 === rest.length) continue;
        word += ch + rest[++i];
        continue;
      }
      word += ch;
    } else {
      if (ch === quote) quote = undefined;
      else if (ch === '\\' && quote === '"' && i + 1 < rest.length) {
        word += ch + rest[++i];
        continue;
      }
      word += ch;
    }
  }
  if (inWord && (blankOK || word !== '')) words.push(word);
  return words;
}

/**
 * The JSON array at the start of `rest` (Go's json.Decoder reads one value and ignores what
 * follows), or undefined when `rest` does not start with one. Throws for an array of
 * non-strings, as Docker refuses it.
 */
function jsonArray(rest: string, line: string, instruction: string): string[] | undefined {
  const s = rest.trimStart();
  if (!s.startsWith('[')) return undefined;
  let depth = 0;
  let inString = false;
  let end = -1;
  for (let i = 0; i < s.length && end < 0; i++) {
    const c = s[i]!;
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === '[' || c === '{') depth++;
    else if (c === ']' || c === '}') {
      depth--;
      if (depth === 0) end = i + 1;
    }
  }
  if (end < 0) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(s.slice(0, end));
  } catch {
    return undefined;
  }
  if (!Array.isArray(value)) return undefined;
  if (!value.every((v) => typeof v === 'string')) throw new InvalidChangeError(line, instruction, 'when using JSON array syntax, arrays must be comprised of strings only');
  return value as string[];
}

const durationUnits: Record<string, number> = { ns: 1, us: 1e3, 'µs': 1e3, 'μs': 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };

/** Go's `time.ParseDuration`, in nanoseconds. */
function parseDuration(s: string): number | undefined {
  if (s === '0') return 0;
  const m = /^([-+]?)((?:(?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|μs|ms|s|m|h))+)$/.exec(s);
  if (!m) return undefined;
  let total = 0;
  for (const part of m[2]!.matchAll(/(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/g)) total += Number(part[1]) * durationUnits[part[2]!]!;
  return Math.round(m[1] === '-' ? -total : total);
}

function parseHealthcheck(rest: string, line: string): Change {
  const fail = (reason: string): never => {
    throw new InvalidChangeError(line, 'HEALTHCHECK', reason);
  };
  const flags: Record<string, string> = {};
  let body = rest.trimStart();
  for (;;) {
    const m = /^--([a-z-]+)(?:=(\S*))?(?:\s+|$)/.exec(body);
    if (!m) break;
    if (!['interval', 'timeout', 'start-period', 'start-interval', 'retries'].includes(m[1]!)) fail(`unknown flag: ${m[1]}`);
    if (m[2] === undefined) fail(`missing a value on flag: ${m[1]}`);
    flags[m[1]!] = m[2]!;
    body = body.slice(m[0].length);
  }
  const [kind, ...restWords] = body.split(/\s+/);
  const type = (kind ?? '').toUpperCase();
  const duration = (name: string): number => {
    const raw = flags[name];
    if (raw === undefined) return 0;
    const d = parseDuration(raw);
    if (d === undefined) return fail(`invalid duration for --${name}: ${JSON.stringify(raw)}`);
    if (d !== 0 && d < 1e6) fail(`--${name} cannot be less than 1ms`);
    return d;
  };
  const base = { instruction: 'HEALTHCHECK' as const, original: line };
  if (type === 'NONE') {
    if (restWords.join('') !== '' || Object.keys(flags).length > 0) fail('HEALTHCHECK NONE takes no arguments');
    return { ...base, test: ['NONE'], interval: 0, timeout: 0, startPeriod: 0, startInterval: 0, retries: 0 };
  }
  if (type !== 'CMD') fail(`unknown type ${JSON.stringify(kind ?? '')} in HEALTHCHECK (try CMD)`);
  const cmdRest = body.slice(kind!.length).trim();
  if (cmdRest === '') fail('HEALTHCHECK CMD needs a command');
  const json = jsonArray(cmdRest, line, 'HEALTHCHECK');
  const test = json !== undefined ? ['CMD', ...json] : ['CMD-SHELL', cmdRest];
  let retries = 0;
  if (flags['retries'] !== undefined) {
    if (!/^[-+]?\d+$/.test(flags['retries'])) fail(`invalid --retries ${JSON.stringify(flags['retries'])}`);
    retries = Number(flags['retries']);
    if (retries < 0) fail(`--retries cannot be negative (${retries})`);
  }
  return { ...base, test, interval: duration('interval'), timeout: duration('timeout'), startPeriod: duration('start-period'), startInterval: duration('start-interval'), retries };
}

/** Parses one logical instruction line into a {@link Change}. */
function parseInstruction(line: string): Change {
  const m = /^\s*(\S+)(?:\s+([\s\S]*))?$/.exec(line);
  const keyword = m?.[1] ?? '';
  const upper = keyword.toUpperCase();
  const rest = (m?.[2] ?? '').trim();
  if (!dockerfileInstructions.has(upper)) throw new InvalidChangeError(line, upper, `unknown instruction: ${keyword}`);
  if (!commitInstructions.has(upper)) throw new InvalidChangeError(line, upper, `${keyword} is not a valid change command`);
  const instruction = upper as CommitInstruction;
  const needsArgs = (): void => {
    if (rest === '') throw new InvalidChangeError(line, instruction, `${instruction} requires at least one argument`);
  };
  switch (instruction) {
    case 'CMD':
    case 'ENTRYPOINT': {
      if (rest === '') return { instruction, json: false, args: null, original: line };
      const json = jsonArray(rest, line, instruction);
      return json !== undefined ? { instruction, json: true, args: json, original: line } : { instruction, json: false, args: [rest], original: line };
    }
    case 'ENV':
    case 'LABEL': {
      needsArgs();
      const words = rawWords(rest);
      if (!words[0]!.includes('=')) {
        // The legacy form: `ENV name value with spaces`.
        const legacy = /^(\S+)\s+([\s\S]*)$/.exec(rest);
        if (!legacy) throw new InvalidChangeError(line, instruction, `${instruction} must have two arguments`);
        return { instruction, pairs: [[legacy[1]!, legacy[2]!]], original: line };
      }
      const pairs: Array<[string, string]> = [];
      for (const w of words) {
        const eq = w.indexOf('=');
        if (eq < 0) throw new InvalidChangeError(line, instruction, `syntax error - can't find = in ${JSON.stringify(w)}. Must be of the form: name=value`);
        pairs.push([w.slice(0, eq), w.slice(eq + 1)]);
      }
      return { instruction, pairs, original: line };
    }
    case 'EXPOSE':
      needsArgs();
      return { instruction, ports: rest.split(/\s+/), original: line };
    case 'VOLUME': {
      needsArgs();
      const json = jsonArray(rest, line, instruction);
      return { instruction, paths: json ?? rest.split(/\s+/), original: line };
    }
    case 'USER':
    case 'WORKDIR':
    case 'STOPSIGNAL':
      needsArgs();
      return { instruction, value: rest, original: line };
    case 'ONBUILD': {
      needsArgs();
      const trigger = (/^(\S+)/.exec(rest)?.[1] ?? '').toUpperCase();
      if (trigger === 'ONBUILD') throw new InvalidChangeError(line, instruction, 'chaining ONBUILD via `ONBUILD ONBUILD` isn\'t allowed');
      if (trigger === 'FROM' || trigger === 'MAINTAINER') throw new InvalidChangeError(line, instruction, `${trigger} isn't allowed as an ONBUILD trigger`);
      if (!dockerfileInstructions.has(trigger)) throw new InvalidChangeError(line, instruction, `unknown instruction in ONBUILD: ${trigger}`);
      return { instruction, expression: rest, original: line };
    }
    case 'HEALTHCHECK':
      needsArgs();
      return parseHealthcheck(rest, line);
  }
}

/**
 * parseChanges parses change lines as Docker does: joined by newlines into one Dockerfile
 * (so a line may hold `\` continuations, comments, or several instructions). Every instruction
 * is checked; throws {@link InvalidChangeError} for the first bad one. Pure.
 */
export function parseChanges(lines: readonly string[]): Change[] {
  if (!Array.isArray(lines) || !lines.every((l) => typeof l === 'string')) throw new TypeError('changes must be an array of strings');
  return logicalLines(lines.join('\n')).map(parseInstruction);
}

/**
 * parseChange parses one change in `docker commit -c` syntax — `CMD ["/bin/httpd","-f"]`,
 * `ENV A=1 B="two words"`, `EXPOSE 80/tcp`, `LABEL k=v`, `USER app`, `VOLUME /data`,
 * `WORKDIR /srv`, `ENTRYPOINT ["sh"]`, `ONBUILD RUN make`, also `STOPSIGNAL` and
 * `HEALTHCHECK` as current Docker allows. Exec (JSON) and shell forms as Docker reads them.
 * Throws {@link InvalidChangeError} (unknown or disallowed instruction such as `RUN`, missing
 * arguments, a JSON array of non-strings, a bad healthcheck flag), or when the line holds more
 * than one instruction. Pure.
 */
export function parseChange(line: string): Change {
  if (typeof line !== 'string') throw new TypeError('a change must be a string');
  const all = parseChanges([line]);
  if (all.length !== 1) throw new InvalidChangeError(line, all[1]?.instruction ?? '', all.length === 0 ? 'no instruction' : 'one change holds one instruction (use applyChanges for several)');
  return all[0]!;
}

const signals = new Set(['ABRT', 'ALRM', 'BUS', 'CHLD', 'CLD', 'CONT', 'FPE', 'HUP', 'ILL', 'INT', 'IO', 'IOT', 'KILL', 'PIPE', 'POLL', 'PROF', 'PWR', 'QUIT', 'SEGV', 'STKFLT', 'STOP', 'SYS', 'TERM', 'TRAP', 'TSTP', 'TTIN', 'TTOU', 'URG', 'USR1', 'USR2', 'VTALRM', 'WINCH', 'XCPU', 'XFSZ']);

function validSignal(s: string): boolean {
  if (/^[-+]?\d+$/.test(s)) return Number(s) !== 0;
  const name = s.toUpperCase().replace(/^SIG/, '');
  if (signals.has(name) || name === 'RTMIN' || name === 'RTMAX') return true;
  const rt = /^RTMIN\+(\d+)$/.exec(name) ?? /^RTMAX-(\d+)$/.exec(name);
  return rt !== null && Number(rt[1]) >= 1 && Number(rt[1]) <= (name.startsWith('RTMIN') ? 15 : 14);
}

/** The container ports a port spec `[ip:][hostPort:]containerPort[-end][/proto]` exposes, as `port/proto`. */
function portSpec(raw: string, line: string): string[] {
  const fail = (reason: string): never => {
    throw new InvalidChangeError(line, 'EXPOSE', reason);
  };
  const parts = raw.split(':');
  const containerPart = parts.at(-1)!;
  const hostPart = parts.length >= 2 ? parts.at(-2)! : '';
  const slash = containerPart.indexOf('/');
  const container = slash < 0 ? containerPart : containerPart.slice(0, slash);
  const proto = (slash < 0 ? '' : containerPart.slice(slash + 1)).toLowerCase() || 'tcp';
  if (container === '') fail(`no port specified: ${raw}<empty>`);
  if (!['tcp', 'udp', 'sctp'].includes(proto)) fail(`invalid proto: ${proto}`);
  const range = (s: string): [number, number] | undefined => {
    const m = /^(\d+)(?:-(\d+))?$/.exec(s);
    if (!m) return undefined;
    const a = Number(m[1]);
    const b = Number(m[2] ?? m[1]);
    return a <= 65535 && b <= 65535 && b >= a ? [a, b] : undefined;
  };
  const c = range(container) ?? fail(`invalid containerPort: ${container}`);
  if (hostPart !== '') {
    const h = range(hostPart) ?? fail(`invalid hostPort: ${hostPart}`);
    if (c[1] - c[0] !== h[1] - h[0] && c[1] !== c[0]) fail(`invalid ranges specified for container and host Ports: ${container} and ${hostPart}`);
  }
  const out: string[] = [];
  for (let p = c[0]; p <= c[1]; p++) out.push(`${p}/${proto}`);
  return out;
}

/** Go's path.Clean of a slash path. */
function clean(p: string): string {
  const n = posix.normalize(p);
  return n.length > 1 && n.endsWith('/') ? n.slice(0, -1) : n;
}

/**
 * applyChanges returns `config` (an image's runtime config, `config.config` of an image
 * config) with the changes applied, as `docker commit -c` does: all lines parsed first
 * ({@link parseChanges}; nothing applied when one is bad), then in order —
 * `CMD`/`ENTRYPOINT` exec form as given, shell form after the config's `Shell` or
 * `/bin/sh -c` (an `ENTRYPOINT` clears `Cmd` unless a `CMD` came before it in these changes);
 * `ENV` replaces or adds entries, expanding `$VARS` against the environment before the
 * instruction; `LABEL` sets labels; `EXPOSE` adds `port/proto` (ranges expanded); `VOLUME`
 * adds volumes; `USER` sets the user; `WORKDIR` sets the directory (relative to the current
 * one); `ONBUILD` appends a trigger; `STOPSIGNAL` and `HEALTHCHECK` set theirs. Throws
 * {@link InvalidChangeError}. Pure: `config` is not modified.
 */
export function applyChanges(config: ContainerConfig | undefined, lines: readonly string[]): ContainerConfig {
  const changes = parseChanges(lines);
  const c: ContainerConfig = structuredClone(config ?? {});
  let cmdSet = false;
  for (const ch of changes) {
    const lookup = envLookup(c.Env ?? []);
    const expand = (word: string): string => {
      try {
        return processWord(word, lookup);
      } catch (err) {
        if (err instanceof LexError) throw new InvalidChangeError(ch.original, ch.instruction, err.message);
        throw err;
      }
    };
    switch (ch.instruction) {
      case 'CMD':
      case 'ENTRYPOINT': {
        const shell = c.Shell && c.Shell.length > 0 ? c.Shell : ['/bin/sh', '-c'];
        const value = ch.args === null ? null : ch.json ? [...ch.args] : [...shell, ...ch.args];
        delete c.ArgsEscaped;
        if (ch.instruction === 'CMD') {
          if (value === null) delete c.Cmd;
          else c.Cmd = value;
          if (ch.args !== null && ch.args.length > 0) cmdSet = true;
        } else {
          if (value === null) delete c.Entrypoint;
          else c.Entrypoint = value;
          if (!cmdSet) delete c.Cmd;
        }
        break;
      }
      case 'ENV': {
        const env = [...(c.Env ?? [])];
        for (const [k, v] of ch.pairs) {
          const key = expand(k);
          if (key === '') throw new InvalidChangeError(ch.original, 'ENV', 'ENV names can not be blank');
          const entry = `${key}=${expand(v)}`;
          const i = env.findIndex((e) => (e.includes('=') ? e.slice(0, e.indexOf('=')) : e) === key);
          if (i >= 0) env[i] = entry;
          else env.push(entry);
        }
        c.Env = env;
        break;
      }
      case 'LABEL': {
        const labels = { ...(c.Labels ?? {}) };
        for (const [k, v] of ch.pairs) {
          const key = expand(k);
          if (key === '') throw new InvalidChangeError(ch.original, 'LABEL', 'LABEL names can not be blank');
          labels[key] = expand(v);
        }
        c.Labels = labels;
        break;
      }
      case 'EXPOSE': {
        const ports = { ...(c.ExposedPorts ?? {}) };
        for (const raw of ch.ports) {
          let words: string[];
          try {
            words = processWords(raw, lookup);
          } catch (err) {
            throw new InvalidChangeError(ch.original, 'EXPOSE', (err as Error).message);
          }
          for (const w of words) for (const p of portSpec(w, ch.original)) ports[p] = {};
        }
        c.ExposedPorts = ports;
        break;
      }
      case 'VOLUME': {
        const volumes = { ...(c.Volumes ?? {}) };
        for (const raw of ch.paths) {
          const v = expand(raw);
          if (v === '') throw new InvalidChangeError(ch.original, 'VOLUME', 'VOLUME specified can not be an empty string');
          volumes[v] = {};
        }
        c.Volumes = volumes;
        break;
      }
      case 'USER':
        c.User = expand(ch.value);
        break;
      case 'WORKDIR': {
        const dir = expand(ch.value);
        if (dir === '') throw new InvalidChangeError(ch.original, 'WORKDIR', 'cannot normalize nothing');
        c.WorkingDir = dir.startsWith('/') ? clean(dir) : clean(posix.join('/', c.WorkingDir ?? '', dir));
        break;
      }
      case 'STOPSIGNAL': {
        const signal = expand(ch.value);
        if (!validSignal(signal)) throw new InvalidChangeError(ch.original, 'STOPSIGNAL', `invalid signal: ${signal}`);
        c.StopSignal = signal;
        break;
      }
      case 'ONBUILD':
        c.OnBuild = [...(c.OnBuild ?? []), ch.expression];
        break;
      case 'HEALTHCHECK': {
        const h: NonNullable<ContainerConfig['Healthcheck']> = { Test: [...ch.test] };
        if (ch.interval) h.Interval = ch.interval;
        if (ch.timeout) h.Timeout = ch.timeout;
        if (ch.startPeriod) h.StartPeriod = ch.startPeriod;
        if (ch.startInterval) h.StartInterval = ch.startInterval;
        if (ch.retries) h.Retries = ch.retries;
        c.Healthcheck = h;
        break;
      }
    }
  }
  return c;
}
