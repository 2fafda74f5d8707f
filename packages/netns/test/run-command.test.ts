/**
 * runCommand, the default firewall command runner: a command that exits without reading its
 * stdin (an `nft` that fails early) is judged by its exit status; the EPIPE of the unread input
 * never becomes an uncaught exception.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { guard } from '@stratum/testing';
import { runCommand } from '../src/index.js';

const uncaught: unknown[] = [];
const onUncaught = (e: unknown): void => {
  uncaught.push(e);
};
beforeEach(() => {
  uncaught.length = 0;
  process.on('uncaughtException', onUncaught);
});
afterEach(() => {
  process.off('uncaughtException', onUncaught);
});

// More than a pipe holds (64 KiB), so the write is still pending when the command exits.
const big = 'x'.repeat(4 << 20);

describe('runCommand', () => {
  it('feeds stdin and resolves with stdout', async (ctx) => {
    guard(ctx, 'tool:cat');
    expect(await runCommand(['cat'], 'table inet t {}\n')).toBe('table inet t {}\n');
  });

  it('a command that exits without reading its input: resolved or rejected by its exit status, no uncaught EPIPE', async (ctx) => {
    guard(ctx, 'tool:true', 'tool:sh');
    for (let i = 0; i < 3; i++) expect(await runCommand(['true'], big)).toBe('');
    await expect(runCommand(['sh', '-c', 'echo refused >&2; exit 3'], big)).rejects.toThrow(/exit 3: refused/);
    // An EPIPE would surface on a later turn of the event loop.
    await new Promise((r) => setTimeout(r, 50));
    expect(uncaught).toEqual([]);
  });
});
