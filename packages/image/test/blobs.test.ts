/** store.blobs: verified, atomic puts; reads; bad input leaves nothing in blobs/. */
import { afterAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { DigestMismatchError, InvalidDigestError, NotFoundError, digestBytes } from '@stratum/oci';
import { guard, randomImage } from '@stratum/testing';
import { Store } from '../src/index.js';
import { blobFiles, collect, tempDirs } from './helpers.js';

const dirs = tempDirs('blobs');
afterAll(() => dirs.cleanup());

function tmpFiles(root: string): string[] {
  return readdirSync(join(root, 'tmp')).filter((n) => !n.startsWith('lease-') && n !== 'index-lock');
}

describe('Store.open', () => {
  it('creates an OCI image layout: oci-layout, an empty index.json, blobs/sha256, tmp', async () => {
    const root = join(dirs.make(), 'store');
    const store = await Store.open(root);
    expect(store.root).toBe(root);
    expect(JSON.parse(readFileSync(join(root, 'oci-layout'), 'utf8'))).toEqual({ imageLayoutVersion: '1.0.0' });
    expect(JSON.parse(readFileSync(join(root, 'index.json'), 'utf8'))).toEqual({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [] });
    expect(existsSync(join(root, 'blobs', 'sha256'))).toBe(true);
    expect(existsSync(join(root, 'tmp'))).toBe(true);
    // Opening again (or concurrently) keeps what is there.
    const [a, b] = await Promise.all([Store.open(root), Store.open(root)]);
    expect(a.root).toBe(root);
    expect(b.root).toBe(root);
  });

  it('makes the root absolute and defaults to $STRATUM_ROOT', async () => {
    const dir = dirs.make();
    const saved = process.env.STRATUM_ROOT;
    const cwd = process.cwd();
    try {
      process.env.STRATUM_ROOT = join(dir, 'env-root');
      expect((await Store.open()).root).toBe(join(dir, 'env-root'));
      process.chdir(dir);
      expect((await Store.open('rel')).root).toBe(join(dir, 'rel'));
    } finally {
      process.chdir(cwd);
      if (saved === undefined) delete process.env.STRATUM_ROOT;
      else process.env.STRATUM_ROOT = saved;
    }
  });

  it('a layout this user may only read opens for reading (another user, as skopeo left it)', async (ctx) => {
    guard(ctx, 'root', 'tool:setpriv');
    const root = join(dirs.make(), 'store');
    const store = await Store.open(root);
    const img = await randomImage({ seed: 3, layers: 1 });
    await store.write(img, 'ro:1');
    rmSync(join(root, 'tmp'), { recursive: true, force: true });
    chmodSync(dirname(root), 0o755);
    const child = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, '--import', 'tsx', '--conditions=stratum-source', join(import.meta.dirname, 'fixtures', 'read-store.ts'), root, 'ro:1'], {
      cwd: join(import.meta.dirname, '../../..'),
      encoding: 'utf8',
      env: { ...process.env, HOME: '/nonexistent' },
    });
    expect(child.stderr).toBe('');
    expect(child.stdout.trim()).toBe(`${await img.configDigest()} 1`);
  });

  it('refuses a layout of another major version and an index.json that is not an index', async () => {
    const { writeFileSync, mkdirSync } = await import('node:fs');
    const a = dirs.make();
    writeFileSync(join(a, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '2.0.0' }));
    await expect(Store.open(a)).rejects.toMatchObject({ code: 'INVALID_LAYOUT', path: join(a, 'oci-layout') });
    const b = dirs.make();
    mkdirSync(join(b, 'blobs'));
    writeFileSync(join(b, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
    writeFileSync(join(b, 'index.json'), '{"schemaVersion":2,"manifests":[{"digest":"nope"}]}');
    await expect(Store.open(b)).rejects.toMatchObject({ code: 'INVALID_LAYOUT', path: join(b, 'index.json') });
  });
});

describe('blobs', () => {
  it('put hashes while writing and returns the descriptor; get/has/stat/path/list/delete', async () => {
    const store = await Store.open(dirs.make());
    const data = Buffer.from('hello, store');
    const desc = await store.blobs.put(Readable.from([data.subarray(0, 5), data.subarray(5)]), { mediaType: 'text/plain' });
    expect(desc).toEqual({ mediaType: 'text/plain', digest: digestBytes(data), size: data.length });
    expect(await store.blobs.has(desc.digest)).toBe(true);
    expect(await store.blobs.stat(desc.digest)).toEqual({ digest: desc.digest, size: data.length });
    expect(store.blobs.path(desc.digest)).toBe(join(store.root, 'blobs', 'sha256', desc.digest.slice(7)));
    expect(readFileSync(store.blobs.path(desc.digest))).toEqual(data);
    expect(await collect(store.blobs.get(desc.digest))).toEqual(data);
    const listed: string[] = [];
    for await (const d of store.blobs.list()) listed.push(d);
    expect(listed).toEqual([desc.digest]);
    expect(tmpFiles(store.root)).toEqual([]);
    expect(await store.blobs.delete(desc.digest)).toBe(true);
    expect(await store.blobs.delete(desc.digest)).toBe(false);
    expect(await store.blobs.has(desc.digest)).toBe(false);
    expect(await store.blobs.stat(desc.digest)).toBeUndefined();
    expect(() => store.blobs.get(desc.digest)).toThrow(NotFoundError);
  });

  it('takes bytes, async iterables and streams; the default media type is octet-stream', async () => {
    const store = await Store.open(dirs.make());
    const a = await store.blobs.put(Buffer.from('x'));
    expect(a).toEqual({ mediaType: 'application/octet-stream', digest: digestBytes('x'), size: 1 });
    const b = await store.blobs.put((async function* () {
      yield new Uint8Array([1, 2]);
      yield new Uint8Array([3]);
    })());
    expect(b.digest).toBe(digestBytes(new Uint8Array([1, 2, 3])));
    const empty = await store.blobs.put(Readable.from([]));
    expect(empty).toMatchObject({ digest: digestBytes(''), size: 0 });
  });

  it('sha512 when the expected digest says so', async () => {
    const store = await Store.open(dirs.make());
    const expected = `sha512:${createHash('sha512').update('abc').digest('hex')}`;
    const desc = await store.blobs.put(Buffer.from('abc'), { digest: expected });
    expect(desc.digest).toBe(expected);
    expect(existsSync(join(store.root, 'blobs', 'sha512', expected.slice(7)))).toBe(true);
    expect(await store.blobs.has(expected)).toBe(true);
  });

  it('a digest mismatch throws DigestMismatchError and leaves nothing in blobs/ or tmp/', async () => {
    const store = await Store.open(dirs.make());
    const err = await store.blobs.put(Readable.from([Buffer.from('abd')]), { digest: digestBytes('abc') }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DigestMismatchError);
    expect(err).toMatchObject({ code: 'DIGEST_MISMATCH', expected: { digest: digestBytes('abc') }, actual: { digest: digestBytes('abd'), size: 3 } });
    await expect(store.blobs.put(Buffer.from('abc'), { size: 4 })).rejects.toMatchObject({ code: 'DIGEST_MISMATCH', actual: { size: 3 } });
    expect(blobFiles(store.root)).toEqual([]);
    expect(tmpFiles(store.root)).toEqual([]);
  });

  it('a source longer than the expected size is stopped at once, and destroyed', async () => {
    const store = await Store.open(dirs.make());
    let produced = 0;
    const endless = new Readable({
      read() {
        produced++;
        this.push(Buffer.alloc(64 * 1024, 1));
      },
    });
    await expect(store.blobs.put(endless, { size: 100_000 })).rejects.toMatchObject({ code: 'DIGEST_MISMATCH', expected: { size: 100_000 } });
    expect(endless.destroyed).toBe(true);
    expect(produced).toBeLessThan(10);
    expect(blobFiles(store.root)).toEqual([]);
    expect(tmpFiles(store.root)).toEqual([]);
  });

  it('a failing source and an abort leave nothing behind; the abort reason is thrown', async () => {
    const store = await Store.open(dirs.make());
    const failing = new Readable({
      read() {
        this.destroy(new Error('boom'));
      },
    });
    await expect(store.blobs.put(failing)).rejects.toThrow('boom');
    const ac = new AbortController();
    const stalled = new Readable({
      read() {
        this.push(Buffer.alloc(1000));
        setTimeout(() => ac.abort(new Error('stop')), 5);
      },
    });
    await expect(store.blobs.put(stalled, {}, { signal: ac.signal })).rejects.toThrow('stop');
    expect(blobFiles(store.root)).toEqual([]);
    expect(tmpFiles(store.root)).toEqual([]);
  });

  it('bad input is a typed error: malformed digests, sizes', async () => {
    const store = await Store.open(dirs.make());
    expect(() => store.blobs.path('sha256:../../etc/passwd')).toThrow(InvalidDigestError);
    await expect(store.blobs.has('md5:abc')).rejects.toBeInstanceOf(InvalidDigestError);
    await expect(store.blobs.put(Buffer.from('x'), { digest: 'sha256:zz' })).rejects.toBeInstanceOf(InvalidDigestError);
    await expect(store.blobs.put(Buffer.from('x'), { size: -1 })).rejects.toBeInstanceOf(TypeError);
    expect(blobFiles(store.root)).toEqual([]);
  });

  it('concurrent puts of the same blob all succeed and leave one good copy', async () => {
    const store = await Store.open(dirs.make());
    const data = Buffer.alloc(3 * 1024 * 1024);
    for (let i = 0; i < data.length; i++) data[i] = (i * 31) & 0xff;
    const chunks = (): Readable => Readable.from(Array.from({ length: 48 }, (_, i) => data.subarray(i * 65536, (i + 1) * 65536)));
    const results = await Promise.all(Array.from({ length: 6 }, () => store.blobs.put(chunks(), { digest: digestBytes(data) })));
    for (const r of results) expect(r.digest).toBe(digestBytes(data));
    expect(blobFiles(store.root)).toEqual([digestBytes(data).slice(7)]);
    expect(readFileSync(store.blobs.path(digestBytes(data))).equals(data)).toBe(true); // (not toEqual: slow on MiBs)
    expect(tmpFiles(store.root)).toEqual([]);
  });

  it('property: any bytes in any chunking store under their digest and read back equal', async () => {
    const store = await Store.open(dirs.make());
    await fc.assert(
      fc.asyncProperty(fc.array(fc.uint8Array({ maxLength: 3000 }), { maxLength: 8 }), async (parts) => {
        const whole = Buffer.concat(parts);
        const desc = await store.blobs.put(Readable.from(parts.map((p) => Buffer.from(p))));
        expect(desc.digest).toBe(digestBytes(whole));
        expect(desc.size).toBe(whole.length);
        expect(await collect(store.blobs.get(desc.digest))).toEqual(whole);
        // With the right expectation too, and a wrong one fails without a trace.
        await store.blobs.put(whole, { digest: desc.digest, size: desc.size });
        await expect(store.blobs.put(Buffer.concat([whole, Buffer.from([0])]), { digest: desc.digest })).rejects.toBeInstanceOf(DigestMismatchError);
      }),
      { numRuns: 60 },
    );
    expect(tmpFiles(store.root)).toEqual([]);
  });
});
