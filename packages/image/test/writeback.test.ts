/**
 * EarlyWriteback (blobs.put's writeback while the bytes come). A writeback error cannot be made
 * on demand with a real disk: the file handle here is a stand-in that counts and fails datasyncs.
 */
import type { FileHandle } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { EarlyWriteback } from '../src/writeback.js';

function fakeFile(fail: Set<number>): { file: FileHandle; calls: () => number } {
  let calls = 0;
  const file = {
    datasync: async (): Promise<void> => {
      calls++;
      await new Promise((r) => setTimeout(r, 1));
      if (fail.has(calls)) throw Object.assign(new Error('writeback failed'), { code: 'EIO' });
    },
  } as unknown as FileHandle;
  return { file, calls: () => calls };
}

describe('EarlyWriteback', () => {
  it('starts a datasync every `every` bytes, one at a time, for the whole file', async () => {
    const { file, calls } = fakeFile(new Set());
    const wb = new EarlyWriteback(file, 8);
    for (let i = 0; i < 10; i++) {
      wb.wrote(4, Promise.resolve());
      await wb.idle(); // the previous one done: the next 8 bytes start another
    }
    await wb.settle();
    expect(calls()).toBe(5);
  });

  it('keeps the first writeback error for settle (Linux reports it once), and goes on syncing', async () => {
    const { file, calls } = fakeFile(new Set([1]));
    const wb = new EarlyWriteback(file, 4);
    wb.wrote(4, Promise.resolve());
    await wb.idle();
    wb.wrote(4, Promise.resolve());
    await wb.idle();
    expect(calls()).toBe(2);
    await expect(wb.settle()).rejects.toMatchObject({ code: 'EIO' });
  });
});
