/**
 * `stratum save` / `load` (the seeds' walk-through: save several images to one archive, remove
 * them, load them back), through files and pipes, with skopeo reading what save writes.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { createReadStream, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { Store } from '@stratum/image';
import { guard, memoryImage, memoryLayer, randomTree, tarOf } from '@stratum/testing';
import { main } from '../src/index.js';
import { Sink, stratum, tempRoot } from './helpers.js';

async function seed(root: string): Promise<void> {
  await using store = await Store.open(root);
  const shared = memoryLayer(await tarOf(randomTree({ seed: 11, files: 5 })), { compression: 'gzip' });
  const a = await memoryImage([shared], { created: '2020-01-01T00:00:00Z', config: { Cmd: ['/bin/httpd', '-f'] } });
  // A layer over 1 MiB: load streams it to the store (with progress events) instead of holding it.
  const big = memoryLayer(await tarOf(randomTree({ seed: 12, files: 6, maxFileSize: 1 << 20 })));
  const b = await memoryImage([shared, big], { created: '2021-01-01T00:00:00Z' });
  await store.write(a, 'httpd:1.1');
  await store.write(b, ['nginx:stable', 'redis:4-alpine']);
}

describe('stratum save / load', () => {
  let t: ReturnType<typeof tempRoot>;
  beforeEach(async () => {
    t = tempRoot('archive');
    await seed(join(t.root, 'state'));
  });
  afterEach(() => t.cleanup());
  const root = (): string => join(t.root, 'state');

  it("the seeds' round trip: save -o several images, rmi them, load -i, same IDs", async () => {
    const before = (await stratum(['images', '--format', '{{.Repository}}:{{.Tag}} {{.ID}}'], { root: root() })).stdout;
    const out = join(t.root, 'myimages.gz');
    expect(await stratum(['save', '-o', out, 'httpd:1.1', 'nginx:stable', 'redis:4-alpine'], { root: root() })).toEqual({ code: 0, stdout: '', stderr: '' });
    expect(existsSync(out)).toBe(true);
    const rmi = await stratum(['image', 'rm', 'httpd:1.1', 'nginx:stable', 'redis:4-alpine'], { root: root() });
    expect(rmi.stdout).toMatch(/^Untagged: httpd:1\.1\n/);
    expect((await stratum(['images', '-q'], { root: root() })).stdout).toBe('');
    const load = await stratum(['load', '-i', out], { root: root() });
    expect(load.code).toBe(0);
    expect(load.stdout.trimEnd().split('\n').sort()).toEqual(['Loaded image: httpd:1.1', 'Loaded image: nginx:stable', 'Loaded image: redis:4-alpine']);
    expect((await stratum(['images', '--format', '{{.Repository}}:{{.Tag}} {{.ID}}'], { root: root() })).stdout).toBe(before);
  });

  it('save to stdout and load from stdin; save by image ID; a TTY gets layer progress', async () => {
    const chunks: Buffer[] = [];
    const sink = new Writable({
      write(c: Buffer, _e, cb) {
        chunks.push(c);
        cb();
      },
    });
    const code = await main(['--root', root(), 'save', 'httpd:1.1'], { stdout: sink, stderr: new Sink(), env: {} });
    expect(code).toBe(0);
    const tar = Buffer.concat(chunks);
    expect(tar.subarray(257, 262).toString()).toBe('ustar');
    const file = join(t.root, 'x.tar');
    writeFileSync(file, tar);
    const t2 = tempRoot('archive-load');
    try {
      const load = await stratum(['load'], { root: t2.root, stdin: createReadStream(file) });
      expect(load).toEqual({ code: 0, stdout: 'Loaded image: httpd:1.1\n', stderr: '' });
      const big = join(t.root, 'big.tar');
      expect((await stratum(['save', '-o', big, 'nginx:stable'], { root: root() })).code).toBe(0);
      const tty = await stratum(['load', '-i', big], { root: join(t2.root, 'again'), tty: true });
      expect(tty.stdout).toMatch(/(^|\n)[0-9a-f]{12}: Loading layer \[=+>\s*\]/);
      // The bars end full, as docker's.
      expect(tty.stdout).toMatch(/\[={50}>\]\s+(\S+)\/\1/);
      expect(tty.stdout).toMatch(/Loaded image: nginx:stable\n$/);
    } finally {
      t2.cleanup();
    }
    const id = (await stratum(['images', '-q', 'nginx'], { root: root() })).stdout.trim();
    const byId = join(t.root, 'byid.tar');
    expect((await stratum(['save', '-o', byId, id], { root: root() })).code).toBe(0);
    const t3 = tempRoot('archive-id');
    try {
      expect((await stratum(['load', '-i', byId], { root: t3.root })).stdout).toMatch(/^Loaded image ID: sha256:[0-9a-f]{64}\n$/);
    } finally {
      t3.cleanup();
    }
  });

  it('skopeo reads what save writes', async (ctx) => {
    guard(ctx, 'tool:skopeo');
    const out = join(t.root, 'two.tar');
    expect((await stratum(['save', '-o', out, 'httpd:1.1', 'nginx:stable'], { root: root() })).code).toBe(0);
    const info = JSON.parse(execFileSync('skopeo', ['inspect', '--config', `docker-archive:${out}:httpd:1.1`], { encoding: 'utf8' })) as { config: { Cmd: string[] } };
    expect(info.config.Cmd).toEqual(['/bin/httpd', '-f']);
  });

  it('errors: a missing image, a broken archive, a terminal as output', async () => {
    const miss = await stratum(['save', '-o', join(t.root, 'n.tar'), 'nosuch'], { root: root() });
    expect(miss).toMatchObject({ code: 1, stderr: 'stratum image save: no such image: nosuch\n' });
    expect(existsSync(join(t.root, 'n.tar'))).toBe(false);
    const bad = join(t.root, 'bad.tar');
    writeFileSync(bad, 'not an archive at all'.repeat(100));
    const r = await stratum(['load', '-i', bad], { root: root() });
    expect(r.code).toBe(125);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^stratum image load: /);
    const tty = await stratum(['save', 'httpd:1.1'], { root: root(), tty: true });
    expect(tty).toMatchObject({ code: 125, stderr: 'stratum image save: cowardly refusing to save to a terminal: use the -o flag or redirect\n' });
    expect(readFileSync(bad, 'utf8').length).toBeGreaterThan(0);
  });
});
