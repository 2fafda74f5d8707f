import { NoCommandError } from './errors.js';

/** CommandInput: a command in exec form (an argv array) or shell form (a string run by `/bin/sh -c`). */
export type CommandInput = string | readonly string[];

/** ComposedCommand: the argv a container runs and the parts it came from (inspect's Path/Args, Config.Entrypoint/Cmd). */
export interface ComposedCommand {
  /** The full argv: entrypoint followed by cmd. */
  argv: string[];
  /** The effective Config.Entrypoint (null when none). */
  entrypoint: string[] | null;
  /** The effective Config.Cmd (null when none). */
  cmd: string[] | null;
}

/** toArgv turns exec form into a copy and shell form into `['/bin/sh', '-c', s]` (Dockerfile's shell form). */
export function toArgv(c: CommandInput, what: string, shell: readonly string[] = ['/bin/sh', '-c']): string[] {
  if (typeof c === 'string') return [...shell, c];
  if (!Array.isArray(c) || c.some((a) => typeof a !== 'string')) throw new TypeError(`${what} must be a string (shell form) or an array of strings (exec form)`);
  for (const a of c) if (a.includes('\0')) throw new TypeError(`${what} must not contain NUL`);
  return [...c];
}

/**
 * composeCommand applies Docker's CMD/ENTRYPOINT rules (moby's merge of the run config with the
 * image config):
 * - no entrypoint given: the image's Entrypoint stays; an entrypoint given replaces it;
 * - `entrypoint: ''` or `[]` (`docker run --entrypoint ''`) clears it;
 * - the image's Cmd is used only when no cmd is given AND no non-empty entrypoint is given
 *   (a new entrypoint discards the image's Cmd, as `--entrypoint` does);
 * - the argv is Entrypoint followed by Cmd; empty → {@link NoCommandError}.
 * A string is shell form (`/bin/sh -c STRING`, or the image's `Shell`), an array exec form. Pure.
 */
export function composeCommand(
  image: { Entrypoint?: readonly string[] | null; Cmd?: readonly string[] | null; Shell?: readonly string[] } | undefined,
  run: { entrypoint?: CommandInput | null; cmd?: CommandInput | null },
): ComposedCommand {
  const shell = image?.Shell && image.Shell.length > 0 ? image.Shell : ['/bin/sh', '-c'];
  let entrypoint: string[] | null;
  const userEntrypoint = run.entrypoint === undefined || run.entrypoint === null ? undefined : run.entrypoint === '' ? [] : toArgv(run.entrypoint, 'entrypoint', shell);
  const userCmd = run.cmd === undefined || run.cmd === null ? undefined : toArgv(run.cmd, 'cmd', shell);
  if (userEntrypoint === undefined) entrypoint = image?.Entrypoint ? [...image.Entrypoint] : null;
  else if (userEntrypoint.length === 0 || (userEntrypoint.length === 1 && userEntrypoint[0] === '')) entrypoint = null;
  else entrypoint = userEntrypoint;
  let cmd: string[] | null;
  if (userCmd !== undefined && userCmd.length > 0) cmd = userCmd;
  else if (userEntrypoint === undefined || entrypoint === null) cmd = image?.Cmd ? [...image.Cmd] : null;
  else cmd = null;
  const argv = [...(entrypoint ?? []), ...(cmd ?? [])];
  if (argv.length === 0 || argv[0] === '') throw new NoCommandError();
  return { argv, entrypoint, cmd };
}
