/**
 * main: the `stratum` command line, callable in-process. Parses the global options, finds the
 * command, parses its flags, runs it, and turns every failure into one line on stderr and
 * Docker's exit code.
 */
import { readFileSync } from 'node:fs';
import { StratumError } from '@stratum/oci';
import { type FlagSpec, formatFlagHelp, parseArgs } from './args.js';
import { COMMANDS, type CommandSpec, findCommand, GROUPS } from './commands.js';
import { Context, type GlobalOptions, type MainIO } from './context.js';
import { CliError, TemplateError, UsageError } from './errors.js';

const globalFlags: FlagSpec[] = [
  { name: 'config', type: 'string', description: 'Location of client config files (default "~/.docker", or $DOCKER_CONFIG)' },
  { name: 'debug', short: 'D', type: 'boolean', description: 'Enable debug mode (stack traces on errors)' },
  { name: 'help', short: 'h', type: 'boolean', description: 'Print usage' },
  { name: 'insecure-registry', type: 'list', description: 'Registry to reach over plain HTTP or unverified TLS (loopback registries always are)' },
  { name: 'root', type: 'string', description: 'Root of the state: image store, containers, networks, volumes (default $STRATUM_ROOT or ~/.local/share/stratum)' },
  { name: 'version', short: 'v', type: 'boolean', description: 'Print version information and quit' },
];

/** cliVersion is this package's version (read from its package.json, beside src/ and dist/). */
export function cliVersion(): string {
  try {
    return (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

function topHelp(): string {
  const groups = Object.entries(GROUPS).map(([g, d]) => `  ${g.padEnd(12)}${d}`);
  const verbs = COMMANDS.filter((c) => c.topLevel === true)
    .map((c) => ({ name: (c.aliases ?? []).find((a) => a.length === 1)?.[0] ?? c.path.join(' '), summary: c.summary }))
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((c) => `  ${c.name.padEnd(12)}${c.summary}`);
  return [
    'Usage:  stratum [OPTIONS] COMMAND',
    '',
    'A daemonless, docker-like command line for Linux containers',
    '',
    'Options:',
    formatFlagHelp(globalFlags.filter((g) => g.name !== 'help')),
    '',
    'Management Commands:',
    ...groups,
    '',
    'Commands:',
    ...verbs,
    '',
    "Run 'stratum COMMAND --help' for more information on a command.",
    '',
  ].join('\n');
}

function groupHelp(group: string): string {
  const subs = COMMANDS.filter((c) => c.path[0] === group && c.path.length === 2).map((c) => `  ${c.path[1]!.padEnd(12)}${c.summary}`);
  return [`Usage:  stratum ${group} COMMAND`, '', GROUPS[group] ?? '', '', 'Commands:', ...subs, '', `Run 'stratum ${group} COMMAND --help' for more information on a command.`, ''].join('\n');
}

function commandHelp(spec: CommandSpec): string {
  const name = spec.path.join(' ');
  const aliases = [spec.path, ...(spec.aliases ?? [])].map((p) => `stratum ${p.join(' ')}`);
  const lines = [`Usage:  stratum ${name}${spec.usage !== '' ? ` ${spec.usage}` : ''}`, '', spec.summary, ''];
  if (aliases.length > 1) lines.push('Aliases:', `  ${aliases.join(', ')}`, '');
  const flags: FlagSpec[] = [...spec.flags, { name: 'help', type: 'boolean', description: 'Print usage' }];
  lines.push('Options:', formatFlagHelp(flags), '');
  return lines.join('\n');
}

/**
 * main runs the `stratum` command line with `argv` (the words after `stratum`) and resolves to
 * the exit code: 0 on success; for `run`/`start -a`/`exec` the container's code; 125 when
 * stratum itself fails (bad usage, a missing image, a failed pull…); 126/127 when the
 * container's command cannot be run / is not found; 1 where Docker uses it (`inspect`, `rm`,
 * `rmi` of names of which some do not exist). It never throws and never exits the process;
 * errors are one line on stderr (`stratum pull: …`), with the stack trace under `--debug`.
 *
 * @example
 * const code = await main(['images', '--format', '{{.Repository}}:{{.Tag}}'], { stdout, stderr });
 */
export async function main(argv: readonly string[], io: MainIO = {}): Promise<number> {
  const full = {
    stdout: io.stdout ?? process.stdout,
    stderr: io.stderr ?? process.stderr,
    stdin: io.stdin ?? process.stdin,
    env: io.env ?? process.env,
    cwd: io.cwd ?? process.cwd(),
    ...(io.signal !== undefined ? { signal: io.signal } : {}),
  };
  const say = (s: string): void => {
    full.stderr.write(s);
  };
  let debug = full.env.STRATUM_DEBUG !== undefined && full.env.STRATUM_DEBUG !== '' && full.env.STRATUM_DEBUG !== '0';
  let commandName = '';
  let ctx: Context | undefined;
  try {
    // Global options end at the first word that is not one of them.
    let k = 0;
    while (k < argv.length && argv[k]!.startsWith('-') && argv[k] !== '-' && argv[k] !== '--') {
      const a = argv[k]!;
      const spec = globalFlags.find((g) => a === `--${g.name}` || a.startsWith(`--${g.name}=`) || (g.short !== undefined && a === `-${g.short}`));
      if (spec === undefined) throw new UsageError('', a.startsWith('--') ? `unknown flag: ${a.split('=')[0]}` : `unknown shorthand flag: '${a[1]}' in ${a}`);
      k += spec.type !== 'boolean' && !a.includes('=') ? 2 : 1;
    }
    if (argv[k] === '--') k++;
    const parsedGlobal = parseArgs(argv.slice(0, k), globalFlags, { command: '' });
    const global: GlobalOptions = {
      debug: parsedGlobal.flags.debug === true || debug,
      insecureRegistries: parsedGlobal.flags['insecure-registry'] as string[],
      ...(typeof parsedGlobal.flags.root === 'string' ? { root: parsedGlobal.flags.root } : {}),
      ...(typeof parsedGlobal.flags.config === 'string' ? { configDir: parsedGlobal.flags.config } : {}),
    };
    debug = global.debug;
    const words = argv.slice(k);
    if (parsedGlobal.flags.version === true) {
      full.stdout.write(`Stratum version ${cliVersion()}\n`);
      return 0;
    }
    if (words.length === 0 || parsedGlobal.flags.help === true) {
      full.stdout.write(topHelp());
      return 0;
    }
    if (words[0] === 'help') {
      const found = findCommand(words.slice(1));
      if (found) full.stdout.write(commandHelp(found.spec));
      else if (words[1] !== undefined && GROUPS[words[1]] !== undefined) full.stdout.write(groupHelp(words[1]));
      else full.stdout.write(topHelp());
      return 0;
    }
    const found = findCommand(words);
    if (found === undefined) {
      if (GROUPS[words[0]!] !== undefined) {
        if (words.length === 1 || words[1] === '--help' || words[1] === '-h' || words[1] === 'help') {
          full.stdout.write(groupHelp(words[0]!));
          return 0;
        }
        commandName = words[0]!;
        throw new UsageError(words[0]!, `unknown command: "stratum ${words[0]} ${words[1]}"`);
      }
      throw new UsageError('', `unknown command: ${JSON.stringify(words[0])}`);
    }
    const { spec, used } = found;
    commandName = spec.path.join(' ');
    const rest = words.slice(used);
    // --help anywhere among the flags (before `--` or, for run/exec, before the first argument).
    for (const w of rest) {
      if (w === '--') break;
      if (w === '--help' || (w === '-h' && !spec.flags.some((f) => f.short === 'h'))) {
        full.stdout.write(commandHelp(spec));
        return 0;
      }
      if (spec.stopAtFirstArg === true && !w.startsWith('-')) break;
    }
    const parsed = parseArgs(rest, spec.flags, { command: commandName, ...(spec.stopAtFirstArg === true ? { stopAtFirstArg: true } : {}) });
    const n = parsed.args.length;
    if (spec.minArgs !== undefined && n < spec.minArgs) {
      throw new UsageError(commandName, `"stratum ${commandName}" requires ${spec.maxArgs === spec.minArgs ? 'exactly' : 'at least'} ${spec.minArgs} argument${spec.minArgs === 1 ? '' : 's'}`);
    }
    if (spec.maxArgs !== undefined && n > spec.maxArgs) {
      throw new UsageError(commandName, spec.maxArgs === 0 ? `"stratum ${commandName}" accepts no arguments` : `"stratum ${commandName}" requires ${spec.minArgs === spec.maxArgs ? 'exactly' : 'at most'} ${spec.maxArgs} argument${spec.maxArgs === 1 ? '' : 's'}`);
    }
    ctx = new Context(commandName, full, global);
    const run = await spec.load();
    const code = await run(ctx, parsed);
    return typeof code === 'number' ? code : 0;
  } catch (e) {
    if (full.signal?.aborted === true) {
      // Interrupted (SIGINT/SIGTERM through the bin): the shell's 128 + signal number.
      say(`stratum${commandName !== '' ? ` ${commandName}` : ''}: ${String((full.signal.reason as Error)?.message ?? 'interrupted')}\n`);
      return /SIGTERM/.test(String((full.signal.reason as Error)?.message)) ? 143 : 130;
    }
    return report(e, commandName, debug, say);
  } finally {
    if (ctx !== undefined) await ctx.close();
  }
}

/** report prints the one error line (and the stack under --debug) and picks the exit code. */
function report(e: unknown, command: string, debug: boolean, say: (s: string) => void): number {
  const prefix = command === '' ? 'stratum' : `stratum ${command}`;
  if (e instanceof UsageError) {
    say(`${prefix}: ${e.message} (see 'stratum${e.command !== '' ? ` ${e.command}` : ''} --help')\n`);
    return e.exitCode;
  }
  let message = e instanceof Error ? e.message : String(e);
  if (e instanceof StratumError && !(e instanceof CliError) && !(e instanceof TemplateError) && !message.includes(e.code)) message += ` (${e.code})`;
  else if (!(e instanceof StratumError) && e instanceof Error && typeof (e as NodeJS.ErrnoException).code === 'string' && !message.includes((e as NodeJS.ErrnoException).code!)) {
    message += ` (${(e as NodeJS.ErrnoException).code})`;
  }
  say(`${prefix}: ${message.split('\n').join(' ')}\n`);
  if (debug && e instanceof Error && e.stack !== undefined) say(`${e.stack}\n`);
  if (e instanceof CliError) return e.exitCode;
  return 125;
}
