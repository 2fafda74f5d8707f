import type { FileHandle } from 'node:fs/promises';

/**
 * EarlyWriteback starts a `datasync` of a file every `every` bytes written, while the writing
 * goes on (one in flight at a time), so that the fsync before the file is made visible has little
 * left to flush. Linux reports a writeback error to a file once: the first one is kept and thrown
 * by {@link EarlyWriteback.settle}. (@stratum/registry-client's pull into a layout does the same
 * in its own few lines: it does not load this package at run time.)
 * @internal
 */
export class EarlyWriteback {
  readonly #file: FileHandle;
  readonly #every: number;
  #since = 0;
  #syncing: Promise<void> | undefined;
  #error: { error: unknown } | undefined;

  constructor(file: FileHandle, every: number) {
    this.#file = file;
    this.#every = every;
  }

  /** wrote counts `n` bytes whose write is `written`; a datasync starts after that write once `every` bytes were written since the last one and none is in flight. */
  wrote(n: number, written: Promise<unknown>): void {
    this.#since += n;
    if (this.#since < this.#every || this.#syncing !== undefined) return;
    this.#since = 0;
    this.#syncing = written
      .then(() => this.#file.datasync())
      .then(
        () => {
          this.#syncing = undefined;
        },
        (error: unknown) => {
          this.#error ??= { error };
          this.#syncing = undefined;
        },
      );
  }

  /** settle waits for the datasync in flight, then throws the first writeback error, if any. */
  async settle(): Promise<void> {
    await this.#syncing;
    if (this.#error) throw this.#error.error;
  }

  /** idle waits for the datasync in flight without throwing: before the file is closed on a failure. */
  async idle(): Promise<void> {
    await this.#syncing;
  }
}
