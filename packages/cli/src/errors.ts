import { StratumError } from '@stratum/oci';

/**
 * CliError is an error of the `stratum` command itself (bad usage, an object that does not
 * exist, a failed operation), carrying the process exit code Docker would use: 125 for the
 * command's own failures, 126 when a container command cannot be invoked, 127 when it is not
 * found, 1 for the partial failures Docker reports with 1 (`inspect`/`rm`/`rmi` of several names
 * of which one is missing).
 */
export class CliError extends StratumError {
  /** The exit code `main` returns for this error. */
  readonly exitCode: number;
  constructor(code: string, message: string, opts: { exitCode?: number; cause?: unknown } = {}) {
    super(code, message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.exitCode = opts.exitCode ?? 125;
  }
}

/**
 * UsageError: the command line does not parse (unknown flag, missing value, wrong number of
 * arguments). `command` names the command whose `--help` explains the usage. Exit code 125.
 */
export class UsageError extends CliError {
  /** The command path, e.g. `run` or `network create`. */
  readonly command: string;
  constructor(command: string, message: string) {
    super('USAGE', message);
    this.command = command;
  }
}

/**
 * NoSuchObjectError: a name or ID given on the command line matches nothing of the kind asked
 * for (`kind`: `image`, `container`, `network`, `volume`, `object`).
 */
export class NoSuchObjectError extends CliError {
  readonly kind: string;
  /** The name or ID as given. */
  readonly input: string;
  constructor(kind: string, input: string, exitCode = 1) {
    super('NO_SUCH_OBJECT', `no such ${kind}: ${input}`, { exitCode });
    this.kind = kind;
    this.input = input;
  }
}

/**
 * AmbiguousIdError: an ID prefix matches more than one object (`docker rmi 4e` with two images
 * whose IDs start with `4e`).
 */
export class AmbiguousIdError extends CliError {
  readonly kind: string;
  readonly prefix: string;
  readonly matches: string[];
  constructor(kind: string, prefix: string, matches: string[]) {
    super('AMBIGUOUS_ID', `${kind} ID prefix ${prefix} is ambiguous: it matches ${matches.length} ${kind}s`);
    this.kind = kind;
    this.prefix = prefix;
    this.matches = matches;
  }
}

/**
 * TemplateError: a `--format`/`-f` Go template does not parse or fails while it runs.
 * `template` is the text given; `position` the byte offset the problem was found at.
 */
export class TemplateError extends StratumError {
  readonly template: string;
  readonly position: number;
  constructor(template: string, position: number, message: string) {
    super('TEMPLATE', `template: ${message}`);
    this.template = template;
    this.position = position;
  }
}
