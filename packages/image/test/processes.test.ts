/**
 * Several processes on one store, and processes killed at the worst moment: the store stays
 * valid, concurrent writers agree, the lock survives a killed holder, gc respects live writers.
 */
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { useLeakCheck } from '@stratum/testing';
import { Store } from '../src/index.js';
import { blobFiles, runFixture, tempDirs, waitFor } from './helpers.js';

const dirs = tempDirs('proc');
afterAll(() => dirs.cleanup());
useLeakCheck({ beforeEach, afterEach });

describe('processes', () => {
  it('a put killed with SIGKILL leaves a store that opens and verifies; gc removes the dead temp file', async () => {
    const root = dirs.make();
    await Store.open(root);
    const child = runFixture('put', [root, 'stall', String(8 * 1024 * 1024)]);
    const temp = (): string | undefined => readdirSync(join(root, 'tmp')).find((n) => n.startsWith(`put-${child.pid}-`));
    try {
      await waitFor(() => {
        const t = temp();
        return t !== undefined && statSync(join(root, 'tmp', t)).size >= 4 * 1024 * 1024;
      }, 'the child to write 4 MiB');
    } finally {
      child.kill('SIGKILL');
    }
    const { signal } = await child.output;
    expect(signal).toBe('SIGKILL');
    const left = temp();
    expect(left).toBeDefined();
    const store = await Store.open(root);
    expect(blobFiles(root)).toEqual([]);
    expect(await store.verify()).toMatchObject({ ok: true, blobs: 0 });
    const r = await store.gc();
    expect(r.temporary).toContain(left);
    expect(existsSync(join(root, 'tmp', left!))).toBe(false);
  });

  it('processes writing the same blob at once all succeed and leave one good copy', async () => {
    const root = dirs.make();
    await Store.open(root);
    const children = Array.from({ length: 4 }, () => runFixture('put', [root, 'same', String(6 * 1024 * 1024), '77']));
    const outs = await Promise.all(children.map((c) => c.output));
    for (const o of outs) expect(o, o.stderr).toMatchObject({ code: 0 });
    const digests = new Set(outs.map((o) => o.stdout.trim()));
    expect(digests.size).toBe(1);
    const [digest] = [...digests];
    expect(blobFiles(root)).toEqual([digest!.slice(7)]);
    const store = await Store.open(root);
    expect(await store.verify()).toMatchObject({ ok: true, blobs: 1, corrupt: [] });
    expect(readdirSync(join(root, 'tmp')).filter((n) => n.startsWith('put-'))).toEqual([]);
  });

  it('concurrent taggers in several processes lose no update (index.json under the lock)', async () => {
    const root = dirs.make();
    await Store.open(root);
    const children = ['a', 'b', 'c'].map((p) => runFixture('tag', [root, p, '15']));
    const outs = await Promise.all(children.map((c) => c.output));
    for (const o of outs) expect(o, o.stderr).toMatchObject({ code: 0, stdout: 'done\n' });
    const store = await Store.open(root);
    const refs = (await store.list()).map((e) => e.ref).sort();
    expect(refs).toHaveLength(45);
    for (const p of ['a', 'b', 'c']) for (let i = 0; i < 15; i++) expect(refs).toContain(`docker.io/library/${p}:${i}`);
    expect(readdirSync(join(root, 'tmp', 'index-lock'))).toEqual([]);
  });

  it('a lock holder killed with SIGKILL does not block the next tagger', async () => {
    const root = dirs.make();
    const store = await Store.open(root, { lockTimeoutMs: 20_000 });
    const desc = await store.write(await (await import('@stratum/testing')).randomImage({ seed: 5, layers: 1 }));
    const holder = runFixture('hold-lock', [root]);
    let out = '';
    holder.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    try {
      await waitFor(() => out.includes('locked'), 'the child to take the lock');
      // While it lives, the lock is held: a short wait times out with the holder's pid.
      const short = await Store.open(root, { lockTimeoutMs: 200 });
      await expect(short.tag('x:1', desc)).rejects.toMatchObject({ code: 'LOCK_TIMEOUT', holders: [holder.pid] });
    } finally {
      holder.kill('SIGKILL');
    }
    await holder.output;
    await store.tag('x:1', desc);
    expect((await store.resolve('x:1')).digest).toBe(desc.digest);
    expect(readdirSync(join(root, 'tmp', 'index-lock'))).toEqual([]);
  });

  it('gc keeps a blob another live process just put (its lease) and removes it once that process is gone', async () => {
    const root = dirs.make();
    const store = await Store.open(root);
    const child = runFixture('put', [root, 'hold']);
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    let digest: string;
    try {
      await waitFor(() => out.includes('\n'), 'the child to put its blob');
      digest = out.trim();
      expect((await store.gc()).removed).toEqual([]);
      expect(await store.blobs.has(digest)).toBe(true);
    } finally {
      child.kill('SIGKILL');
    }
    await child.output;
    const r = await store.gc();
    expect(r.removed).toEqual([digest!]);
    expect(r.temporary.some((n) => n.startsWith(`lease-${child.pid}-`))).toBe(true);
  });
});
