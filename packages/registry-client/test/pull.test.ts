/**
 * pull into a content store from the real registry: progress, skipping, platforms, auth,
 * aborts that leave nothing visible, and downloads resumed across processes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { guard } from '@stratum/testing';
import { DigestMismatchError, MediaType, digestBytes, type Image } from '@stratum/oci';
import { RegistryClient, type ProgressEvent, type PullStore } from '../src/index.js';
import { type FaultServer, startFaultServer } from './fault-server.js';
import { type RunningRegistry, registryUnavailable, startRegistry } from './registry-fixture.js';
import { memoryImage, memoryIndex, memoryLayer, openStore, platformImage, randomImage } from './helpers.js';

const run = promisify(execFile);
const here = import.meta.dirname;
let reg: RunningRegistry | undefined;
let fault: FaultServer;
let dir: string;
let small: Image;
let big: Image;
let bigBytes: Buffer;
let n = 0;

function freshDir(): string {
  return join(dir, `store-${n++}`);
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'stratum-pull-'));
  small = await randomImage({ seed: 70, layers: 3 });
  bigBytes = Buffer.alloc(4 * 1024 * 1024);
  for (let i = 0; i < bigBytes.length; i += 4) bigBytes.writeUInt32LE((i * 2654435761) >>> 0, i);
  big = await memoryImage([memoryLayer(bigBytes, { compression: 'none' })]);
  if (registryUnavailable()) return;
  reg = await startRegistry();
  fault = await startFaultServer({ upstream: reg.url });
  await using c = new RegistryClient({ insecure: [reg.host] });
  await c.push(small, `${reg.host}/pull/small:1`);
  await c.push(big, `${reg.host}/pull/big:1`);
});
afterAll(async () => {
  await fault?.stop();
  await reg?.stop();
  rmSync(dir, { recursive: true, force: true });
});

function bigLayerPath(): Promise<string> {
  return big.layers().then(async ([l]) => `/v2/pull/big/blobs/${await l!.digest()}`);
}

describe('pull', () => {
  it('stores manifest, config and layers, records the tag, reports per-blob progress; a second pull skips everything', async (ctx) => {
    guard(ctx, 'tool:docker-registry');
    const storeDir = freshDir();
    const store = await openStore(storeDir);
    await using c = new RegistryClient({ insecure: [reg!.host] });
    const events: ProgressEvent[] = [];
    const r = await c.pull(`${reg!.host}/pull/small:1`, { store: store as PullStore, onProgress: (e) => events.push(e) });
    expect(r.descriptor).toMatchObject({ digest: await small.digest(), size: await small.size(), mediaType: MediaType.OciManifest });
    expect(r.tag).toBe(`${reg!.host}/pull/small:1`);
    expect(r.downloaded).toHaveLength(4);
    expect(r.skipped).toEqual([]);
    for (const d of [await small.digest(), await small.configDigest(), ...(await Promise.all((await small.layers()).map((l) => l.digest())))]) {
      expect(await store.blobs.has(d)).toBe(true);
    }
    const layerDigests = await Promise.all((await small.layers()).map((l) => l.digest()));
    for (const d of layerDigests) {
      const states = events.filter((e) => e.digest === d).map((e) => e.state);
      expect(states[0]).toBe('waiting');
      expect(states).toContain('downloading');
      expect(states.at(-2)).toBe('verifying');
      expect(states.at(-1)).toBe('done');
      const last = events.filter((e) => e.digest === d).at(-1)!;
      expect(last.current).toBe(last.total);
    }
    expect(readdirSync(join(storeDir, 'tmp')).filter((f) => f.startsWith('partial-'))).toEqual([]);

    const again: ProgressEvent[] = [];
    const r2 = await c.pull(`${reg!.host}/pull/small:1`, { store: store as PullStore, onProgress: (e) => again.push(e) });
    expect(r2.downloaded).toEqual([]);
    expect(r2.skipped).toHaveLength(4);
    expect(r2.bytes).toBe(0);
    expect(again.filter((e) => e.state !== 'waiting').every((e) => e.state === 'skipped')).toBe(true);
  });

  it('a pulled store is an OCI layout skopeo reads', async (ctx) => {
    guard(ctx, 'tool:docker-registry', 'tool:skopeo');
    const storeDir = freshDir();
    const store = await openStore(storeDir);
    await using c = new RegistryClient({ insecure: [reg!.host] });
    await c.pull(`${reg!.host}/pull/small:1`, { store: store as PullStore, tag: 'small:1' });
    const { stdout } = await run('skopeo', ['inspect', '--raw', `oci:${storeDir}:small:1`]);
    expect(digestBytes(Buffer.from(stdout))).toBe(await small.digest());
  });

  it('picks the platform from an index and records it', async (ctx) => {
    guard(ctx, 'tool:docker-registry');
    const amd = await platformImage(71, { os: 'linux', architecture: 'amd64' });
    const arm = await platformImage(72, { os: 'linux', architecture: 'arm64', variant: 'v8' });
    const index = await memoryIndex([
      { image: amd, platform: { os: 'linux', architecture: 'amd64' } },
      { image: arm, platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } },
    ]);
    await using c = new RegistryClient({ insecure: [reg!.host] });
    await c.push(index, `${reg!.host}/pull/multi:1`);
    const store = await openStore(freshDir());
    const r = await c.pull(`${reg!.host}/pull/multi:1`, { store: store as PullStore, platform: 'linux/arm64' });
    expect(r.descriptor.digest).toBe(await arm.digest());
    expect(r.descriptor.platform).toEqual({ os: 'linux', architecture: 'arm64', variant: 'v8' });
    expect(r.index?.digest).toBe(await index.digest());
    expect(await store.blobs.has(await amd.configDigest())).toBe(false);
    await expect(c.pull(`${reg!.host}/pull/multi:1`, { store: store as PullStore, platform: 'windows/amd64' })).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('pulls from a token-auth registry', async (ctx) => {
    guard(ctx, 'tool:docker-registry');
    await using tokReg = await startRegistry({ token: { users: [{ username: 'dave', password: 'pw' }] } });
    await using c = new RegistryClient({ insecure: [tokReg.host], auth: { [tokReg.host]: { username: 'dave', password: 'pw' } } });
    await c.push(small, `${tokReg.host}/p/app:1`);
    const store = await openStore(freshDir());
    const r = await c.pull(`${tokReg.host}/p/app:1`, { store: store as PullStore });
    expect(r.downloaded).toHaveLength(4);
  });

  it('a layer whose bytes are wrong → DigestMismatchError, nothing of it stored, no tag', async (ctx) => {
    guard(ctx, 'tool:docker-registry');
    fault.reset();
    const path = await bigLayerPath();
    const wrong = Buffer.from(bigBytes);
    wrong[1000] ^= 1;
    fault.on('GET', path, (req, res) => {
      req.resume();
      res.writeHead(200, { 'content-length': String(wrong.length) }).end(wrong);
    });
    const storeDir = freshDir();
    const store = await openStore(storeDir);
    await using c = new RegistryClient({ insecure: [fault.host], retry: { maxAttempts: 1 } });
    const err = await c.pull(`${fault.host}/pull/big:1`, { store: store as PullStore }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DigestMismatchError);
    const [layer] = await big.layers();
    expect(await store.blobs.has(await layer!.digest())).toBe(false);
    expect(await store.blobs.has(await big.digest())).toBe(false);
    expect(JSON.parse(readFileSync(join(storeDir, 'index.json'), 'utf8')).manifests).toEqual([]);
    expect(readdirSync(join(storeDir, 'tmp')).filter((f) => f.startsWith('partial-'))).toEqual([]);
  });

  it('an abort stops every transfer, leaves no blob visible and no tag, and the next pull resumes', async (ctx) => {
    guard(ctx, 'tool:docker-registry');
    fault.reset();
    const path = await bigLayerPath();
    // 1.5 MiB, then the body stalls.
    fault.on(
      'GET',
      path,
      (req, res) => {
        req.resume();
        res.writeHead(200, { 'content-length': String(bigBytes.length) });
        res.write(bigBytes.subarray(0, 1.5 * 1024 * 1024));
      },
      { times: 1 },
    );
    const storeDir = freshDir();
    const store = await openStore(storeDir);
    await using c = new RegistryClient({ insecure: [fault.host] });
    const ac = new AbortController();
    const seen: ProgressEvent[] = [];
    const pulling = c.pull(`${fault.host}/pull/big:1`, {
      store: store as PullStore,
      signal: ac.signal,
      onProgress: (e) => {
        seen.push(e);
        if (e.kind === 'layer' && e.state === 'downloading' && e.current >= 1024 * 1024) ac.abort(new Error('user cancelled'));
      },
    });
    await expect(pulling).rejects.toThrow('user cancelled');
    const [layer] = await big.layers();
    expect(await store.blobs.has(await layer!.digest())).toBe(false);
    expect(JSON.parse(readFileSync(join(storeDir, 'index.json'), 'utf8')).manifests).toEqual([]);
    const partials = readdirSync(join(storeDir, 'tmp')).filter((f) => f.startsWith('partial-'));
    expect(partials).toHaveLength(1);
    const kept = statSync(join(storeDir, 'tmp', partials[0]!)).size;
    expect(kept).toBeGreaterThanOrEqual(1024 * 1024);
    expect(kept).toBeLessThan(1.5 * 1024 * 1024);

    fault.reset();
    const events: ProgressEvent[] = [];
    const r = await c.pull(`${fault.host}/pull/big:1`, { store: store as PullStore, onProgress: (e) => events.push(e) });
    expect(r.bytes).toBeLessThan(bigBytes.length); // only the rest was downloaded
    expect(fault.requests.find((q) => q.url === path)!.headers.range).toBe(`bytes=${kept}-`);
    expect(events.find((e) => e.resumedFrom !== undefined)?.resumedFrom).toBe(kept);
    expect(await store.blobs.has(await layer!.digest())).toBe(true);
    expect(readdirSync(join(storeDir, 'tmp')).filter((f) => f.startsWith('partial-'))).toEqual([]);
  });

  it('a download killed with its process is resumed by the next process', async (ctx) => {
    guard(ctx, 'tool:docker-registry');
    fault.reset();
    const path = await bigLayerPath();
    fault.on(
      'GET',
      path,
      (req, res) => {
        req.resume();
        res.writeHead(200, { 'content-length': String(bigBytes.length) });
        res.write(bigBytes.subarray(0, 1.5 * 1024 * 1024)); // then stall until the process dies
      },
      { times: 1 },
    );
    const storeDir = freshDir();
    await openStore(storeDir);
    // node itself (not the tsx wrapper) so that the pid named in the partial file is the one killed.
    const child = spawn(process.execPath, ['--import', 'tsx', '--conditions=stratum-source', join(here, 'fixtures/pull-child.ts'), storeDir, `${fault.host}/pull/big:1`, fault.host], {
      stdio: ['ignore', 'pipe', 'pipe'],
      cwd: join(here, '../../..'),
    });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout!.resume();
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    let kept = 0;
    try {
      const deadline = Date.now() + 30_000;
      const partial = (): string | undefined => readdirSync(join(storeDir, 'tmp')).find((f) => f.startsWith('partial-') && f.endsWith(`.${child.pid}`));
      for (;;) {
        const p = partial();
        if (p && (kept = statSync(join(storeDir, 'tmp', p)).size) >= 1024 * 1024) break;
        if (child.exitCode !== null) throw new Error(`child exited early: ${stderr}`);
        if (Date.now() > deadline) throw new Error(`no partial download appeared: ${stderr}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    } finally {
      child.kill('SIGKILL');
      await exited;
    }
    const [layer] = await big.layers();
    const store = await openStore(storeDir);
    expect(await store.blobs.has(await layer!.digest())).toBe(false);
    fault.reset();
    await using c = new RegistryClient({ insecure: [fault.host] });
    const r = await c.pull(`${fault.host}/pull/big:1`, { store: store as PullStore });
    // The config travels beside the layer: the killed process may or may not have stored it.
    const cfg = (await big.manifest()).config;
    expect(r.bytes).toBe(bigBytes.length - kept + (r.downloaded.includes(cfg.digest) ? cfg.size : 0));
    expect(fault.requests.find((q) => q.url === path)!.headers.range).toBe(`bytes=${kept}-`);
    expect(await store.blobs.has(await layer!.digest())).toBe(true);
    expect(readdirSync(join(storeDir, 'tmp')).filter((f) => f.startsWith('partial-'))).toEqual([]);
  });

  it('a corrupt partial left by a dead process is detected and the blob downloaded again', async (ctx) => {
    guard(ctx, 'tool:docker-registry');
    fault.reset();
    const storeDir = freshDir();
    const store = await openStore(storeDir);
    const [layer] = await big.layers();
    // A pid that is not running: the partial is up for adoption.
    let pid = 4_000_000;
    while (existsSync(`/proc/${pid}`)) pid++;
    writeFileSync(join(storeDir, 'tmp', `partial-sha256-${(await layer!.digest()).slice(7)}.${pid}`), Buffer.alloc(100_000, 0xee));
    await using c = new RegistryClient({ insecure: [fault.host] });
    const r = await c.pull(`${fault.host}/pull/big:1`, { store: store as PullStore });
    const path = await bigLayerPath();
    const gets = fault.requests.filter((q) => q.url === path);
    expect(gets.map((g) => g.headers.range)).toEqual(['bytes=100000-', undefined]);
    expect(r.downloaded).toContain(await layer!.digest());
    expect(await store.blobs.has(await layer!.digest())).toBe(true);
  });

  it('a store that is not an OCI layout gets the bytes through blobs.put (with resume through the partial dir)', async (ctx) => {
    guard(ctx, 'tool:docker-registry');
    fault.reset();
    const storeDir = freshDir();
    const real = await openStore(storeDir);
    const puts: string[] = [];
    // Only the interface: no root, so pull can't know the layout.
    const opaque: PullStore = {
      blobs: {
        has: (d) => real.blobs.has(d),
        put: (s, e) => {
          puts.push(String(e?.digest));
          return real.blobs.put(s as AsyncIterable<Uint8Array>, e) as never;
        },
      },
      tag: (r, d) => real.tag(r, d),
    };
    await using c = new RegistryClient({ insecure: [fault.host] });
    const r = await c.pull(`${fault.host}/pull/big:1`, { store: opaque, partialDir: join(dir, 'partials') });
    const [layer] = await big.layers();
    expect(puts).toContain(await layer!.digest());
    expect(r.downloaded).toHaveLength(2);
    expect(await real.blobs.has(await layer!.digest())).toBe(true);
    expect(readdirSync(join(dir, 'partials'))).toEqual([]);
  });
});
