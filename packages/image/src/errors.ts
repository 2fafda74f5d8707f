import { StratumError } from '@stratum/oci';

/**
 * InvalidLayoutError: a directory is not a usable OCI image layout — its `oci-layout` names a
 * version other than 1.x, or its `index.json` is not an image index. `path` is the offending
 * file, `reason` what is wrong with it. Code `INVALID_LAYOUT`. Nothing was changed.
 */
export class InvalidLayoutError extends StratumError {
  readonly path: string;
  readonly reason: string;
  constructor(path: string, reason: string, options?: { cause?: unknown }) {
    super('INVALID_LAYOUT', `${path}: not a usable OCI image layout: ${reason}`, options);
    this.path = path;
    this.reason = reason;
  }
}

/**
 * LockTimeoutError: the store's `index.json` lock stayed held by live processes (`holders`,
 * their pids) for longer than `waitedMs`. Code `LOCK_TIMEOUT`. Nothing was changed; a lock whose
 * holder died is never waited for (it is broken at once).
 */
export class LockTimeoutError extends StratumError {
  readonly path: string;
  readonly waitedMs: number;
  readonly holders: number[];
  constructor(path: string, waitedMs: number, holders: number[]) {
    super('LOCK_TIMEOUT', `${path}: lock still held after ${waitedMs} ms (by pid ${holders.join(', ') || '?'})`);
    this.path = path;
    this.waitedMs = waitedMs;
    this.holders = holders;
  }
}

/**
 * InvalidChangeError: a `docker commit -c` change line could not be applied — an unknown or
 * disallowed instruction, a malformed argument. `line` is the input, `instruction` the keyword
 * (upper case, `''` when there is none), `reason` what is wrong. Code `INVALID_CHANGE`.
 */
export class InvalidChangeError extends StratumError {
  readonly line: string;
  readonly instruction: string;
  readonly reason: string;
  constructor(line: string, instruction: string, reason: string) {
    super('INVALID_CHANGE', `invalid change ${JSON.stringify(line.length > 200 ? `${line.slice(0, 200)}…` : line)}: ${reason}`);
    this.line = line;
    this.instruction = instruction;
    this.reason = reason;
  }
}
