/**
 * Interop with skopeo against the real registry: what skopeo pushes we read, what we push
 * skopeo reads and copies back, a multi-platform index pushed with `--all` resolves to the right
 * platform.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { guard } from '@stratum/testing';
import { MediaType, digestBytes } from '@stratum/oci';
import { RegistryClient } from '../src/index.js';
import { type RunningRegistry, registryUnavailable, startRegistry } from './registry-fixture.js';
import { collect, memoryIndex, platformImage, randomImage, writeLayout } from './helpers.js';

const run = promisify(execFile);
let reg: RunningRegistry | undefined;
let dir: string;
let policy: string;

async function skopeo(...args: string[]): Promise<string> {
  const { stdout } = await run('skopeo', ['--policy', policy, ...args], { maxBuffer: 16 * 1024 * 1024 });
  return stdout;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'stratum-interop-'));
  policy = join(dir, 'policy.json');
  writeFileSync(policy, JSON.stringify({ default: [{ type: 'insecureAcceptAnything' }] }));
  if (!registryUnavailable()) reg = await startRegistry({ htpasswd: [{ username: 'alice', password: 'pw' }] });
});
afterAll(async () => {
  await reg?.stop();
  rmSync(dir, { recursive: true, force: true });
});

function client(): RegistryClient {
  return new RegistryClient({ insecure: [reg!.host], auth: { [reg!.host]: { username: 'alice', password: 'pw' } } });
}

describe('interop with skopeo', () => {
  it('skopeo pushes, we read the same digests and bytes', async (ctx) => {
    guard(ctx, 'tool:skopeo', 'tool:docker-registry');
    const img = await randomImage({ seed: 60, layers: 3 });
    const layout = join(dir, 'from-us');
    await writeLayout(layout, [{ source: img, tag: 'v1' }]);
    await skopeo('copy', '--dest-tls-verify=false', '--dest-creds', 'alice:pw', `oci:${layout}:v1`, `docker://${reg!.host}/sk/app:v1`);
    await using c = client();
    const remote = await c.image(`${reg!.host}/sk/app:v1`);
    // skopeo keeps an OCI manifest as is when the destination accepts it.
    expect(await remote.digest()).toBe(await img.digest());
    expect(await remote.configDigest()).toBe(await img.configDigest());
    const ours = await img.layers();
    for (const [i, l] of (await remote.layers()).entries()) {
      expect(digestBytes(await collect(await l.compressed()))).toBe(await ours[i]!.digest());
      expect(await l.diffID()).toBe(await ours[i]!.diffID());
    }
  });

  it('we push, skopeo inspects and copies back the same image', async (ctx) => {
    guard(ctx, 'tool:skopeo', 'tool:docker-registry');
    const img = await randomImage({ seed: 61, layers: 2 });
    await using c = client();
    const pushed = await c.push(img, `${reg!.host}/ours/app:v2`);
    const inspect = JSON.parse(await skopeo('inspect', '--tls-verify=false', '--creds', 'alice:pw', `docker://${reg!.host}/ours/app:v2`)) as { Digest: string; Layers: string[]; Architecture: string };
    expect(inspect.Digest).toBe(pushed.descriptor.digest);
    expect(inspect.Layers).toEqual(await Promise.all((await img.layers()).map((l) => l.digest())));
    const raw = await skopeo('inspect', '--raw', '--tls-verify=false', '--creds', 'alice:pw', `docker://${reg!.host}/ours/app:v2`);
    expect(digestBytes(Buffer.from(raw))).toBe(await img.digest());
    const back = join(dir, 'back');
    await skopeo('copy', '--src-tls-verify=false', '--src-creds', 'alice:pw', `docker://${reg!.host}/ours/app:v2`, `oci:${back}:v2`);
    const index = JSON.parse(readFileSync(join(back, 'index.json'), 'utf8')) as { manifests: { digest: string }[] };
    expect(index.manifests[0]!.digest).toBe(await img.digest());
    for (const l of await img.layers()) {
      const file = readFileSync(join(back, 'blobs', 'sha256', (await l.digest()).slice(7)));
      expect(digestBytes(file)).toBe(await l.digest());
    }
  });

  it('a multi-platform index pushed by skopeo --all resolves to the right platform', async (ctx) => {
    guard(ctx, 'tool:skopeo', 'tool:docker-registry');
    const amd = await platformImage(62, { os: 'linux', architecture: 'amd64' });
    const arm = await platformImage(63, { os: 'linux', architecture: 'arm', variant: 'v7' });
    const arm64 = await platformImage(64, { os: 'linux', architecture: 'arm64', variant: 'v8' });
    const index = await memoryIndex([
      { image: amd, platform: { os: 'linux', architecture: 'amd64' } },
      { image: arm, platform: { os: 'linux', architecture: 'arm', variant: 'v7' } },
      { image: arm64, platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } },
    ]);
    const layout = join(dir, 'multi');
    await writeLayout(layout, [{ source: index, tag: 'multi' }]);
    await skopeo('copy', '--all', '--dest-tls-verify=false', '--dest-creds', 'alice:pw', `oci:${layout}:multi`, `docker://${reg!.host}/sk/multi:1`);
    await using c = client();
    const top = await c.getManifest(`${reg!.host}/sk/multi:1`);
    expect(top.descriptor.mediaType).toBe(MediaType.OciIndex);
    expect(top.descriptor.digest).toBe(await index.digest());
    expect(await (await c.image(`${reg!.host}/sk/multi:1`, { platform: 'linux/arm/v7' })).digest()).toBe(await arm.digest());
    expect(await (await c.image(`${reg!.host}/sk/multi:1`, { platform: 'linux/arm64' })).digest()).toBe(await arm64.digest());
    expect(await (await c.image(`${reg!.host}/sk/multi:1`, { platform: { os: 'linux', architecture: 'amd64' } })).digest()).toBe(await amd.digest());
    // arm/v8 runs v7 images: the nearest older variant is picked.
    expect(await (await c.image(`${reg!.host}/sk/multi:1`, { platform: 'linux/arm/v8' })).digest()).toBe(await arm.digest());
  });

  it('Docker v2.2 manifests and manifest lists written by skopeo (--format v2s2) read the same', async (ctx) => {
    guard(ctx, 'tool:skopeo', 'tool:docker-registry');
    const amd = await platformImage(65, { os: 'linux', architecture: 'amd64' });
    const arm64 = await platformImage(66, { os: 'linux', architecture: 'arm64', variant: 'v8' });
    const index = await memoryIndex([
      { image: amd, platform: { os: 'linux', architecture: 'amd64' } },
      { image: arm64, platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } },
    ]);
    const layout = join(dir, 'docker-format');
    await writeLayout(layout, [{ source: index, tag: 'idx' }, { source: amd, tag: 'one' }]);
    await skopeo('copy', '--format', 'v2s2', '--dest-tls-verify=false', '--dest-creds', 'alice:pw', `oci:${layout}:one`, `docker://${reg!.host}/v2s2/app:one`);
    await skopeo('copy', '--all', '--format', 'v2s2', '--dest-tls-verify=false', '--dest-creds', 'alice:pw', `oci:${layout}:idx`, `docker://${reg!.host}/v2s2/app:list`);
    await using c = client();
    const one = await c.image(`${reg!.host}/v2s2/app:one`);
    expect(await one.mediaType()).toBe(MediaType.DockerManifest);
    expect(await one.configDigest()).toBe(await amd.configDigest()); // the config bytes are kept
    const [layer] = await one.layers();
    expect(await layer!.diffID()).toBe(await (await amd.layers())[0]!.diffID());
    expect(digestBytes(await collect(await layer!.uncompressed()))).toBe(await layer!.diffID());
    const list = await c.getManifest(`${reg!.host}/v2s2/app:list`);
    expect(list.descriptor.mediaType).toBe(MediaType.DockerManifestList);
    const picked = await c.image(`${reg!.host}/v2s2/app:list`, { platform: 'linux/arm64/v8' });
    expect(await picked.mediaType()).toBe(MediaType.DockerManifest);
    expect(await picked.configDigest()).toBe(await arm64.configDigest());
    // And back: our push of what we read keeps every digest (a Docker list and its manifests).
    const remoteIndex = await c.index(`${reg!.host}/v2s2/app:list`);
    const pushed = await c.push(remoteIndex, `${reg!.host}/v2s2/copy:list`);
    expect(pushed.descriptor.digest).toBe(list.descriptor.digest);
    expect(pushed.descriptor.mediaType).toBe(MediaType.DockerManifestList);
  });
});
