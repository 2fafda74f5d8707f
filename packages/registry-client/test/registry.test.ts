/**
 * Against the real registry (docker-registry, distribution 2.8) in every variant: plain HTTP,
 * TLS with a test CA, htpasswd basic auth, bearer tokens from a token server.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Readable } from 'node:stream';
import { guard } from '@stratum/testing';
import { DigestMismatchError, MediaType, digestBytes, imageFromParts, layerFromParts, parseReference, type Image } from '@stratum/oci';
import { RegistryClient, RegistryError, type ProgressEvent, type RegistryClientOptions } from '../src/index.js';
import { type RegistryOptions, type RunningRegistry, registryUnavailable, startRegistry } from './registry-fixture.js';
import { collect, memoryIndex, platformImage, randomImage } from './helpers.js';

const alice = { username: 'alice', password: 'wonderland' };

interface Variant {
  name: string;
  options: RegistryOptions;
  client(reg: RunningRegistry, extra?: RegistryClientOptions): RegistryClient;
}

const variants: Variant[] = [
  { name: 'plain HTTP', options: {}, client: (reg, extra) => new RegistryClient({ insecure: [reg.host], ...extra }) },
  { name: 'TLS with a test CA', options: { tls: true }, client: (reg, extra) => new RegistryClient({ ca: reg.ca!, ...extra }) },
  { name: 'htpasswd basic auth', options: { htpasswd: [alice] }, client: (reg, extra) => new RegistryClient({ insecure: [reg.host], auth: { [reg.host]: alice }, ...extra }) },
  { name: 'bearer tokens', options: { token: { users: [alice] } }, client: (reg, extra) => new RegistryClient({ insecure: [reg.host], auth: { [reg.host]: alice }, ...extra }) },
];

async function testImage(seed: number): Promise<Image> {
  return randomImage({ seed, layers: 2, filesPerLayer: 8 });
}

for (const v of variants) {
  describe(`registry: ${v.name}`, () => {
    let reg: RunningRegistry | undefined;
    beforeAll(async () => {
      if (!registryUnavailable()) reg = await startRegistry(v.options);
    });
    afterAll(async () => {
      await reg?.stop();
    });

    it('pushes an image and reads it back: resolve, getManifest, image, fetchBlob', async (ctx) => {
      guard(ctx, 'tool:docker-registry');
      await using client = v.client(reg!);
      const img = await testImage(1);
      const events: ProgressEvent[] = [];
      const pushed = await client.push(img, `${reg!.host}/rt/app:1`, { onProgress: (e) => events.push(e) });
      expect(pushed.descriptor.digest).toBe(await img.digest());
      expect(pushed.reference).toBe(`${reg!.host}/rt/app:1@${await img.digest()}`);
      // Every blob ends in `done` after `waiting`.
      const blobs = new Set(events.map((e) => e.digest));
      expect(blobs.size).toBe(3);
      for (const d of blobs) {
        const states = events.filter((e) => e.digest === d).map((e) => e.state);
        expect(states[0]).toBe('waiting');
        expect(states.at(-1)).toBe('done');
      }

      const desc = await client.resolve(`${reg!.host}/rt/app:1`);
      expect(desc).toEqual({ mediaType: MediaType.OciManifest, digest: await img.digest(), size: await img.size() });
      const m = await client.getManifest(`${reg!.host}/rt/app@${await img.digest()}`);
      expect(Buffer.from(m.raw).equals(Buffer.from(await img.rawManifest()))).toBe(true);
      expect(m.parsed.kind).toBe('manifest');

      const remote = await client.image(`${reg!.host}/rt/app:1`);
      expect(await remote.digest()).toBe(await img.digest());
      expect(Buffer.from(await remote.rawConfig()).equals(Buffer.from(await img.rawConfig()))).toBe(true);
      const [l0] = await remote.layers();
      const [src0] = await img.layers();
      expect((await collect(await l0!.compressed())).equals(await collect(await src0!.compressed()))).toBe(true);
      expect((await collect(await l0!.uncompressed())).equals(await collect(await src0!.uncompressed()))).toBe(true);
      expect(await l0!.diffID()).toBe(await src0!.diffID());

      const blob = await collect(await client.fetchBlob(`${reg!.host}/rt/app`, await src0!.digest()));
      expect(digestBytes(blob)).toBe(await src0!.digest());
      expect(await client.statBlob(`${reg!.host}/rt/app`, await src0!.digest())).toEqual({ size: await src0!.size() });
      expect(await client.statBlob(`${reg!.host}/rt/app`, digestBytes('absent'))).toBeUndefined();
    });

    it('pushing again uploads nothing; another repository gets cross-repo mounts', async (ctx) => {
      guard(ctx, 'tool:docker-registry');
      await using client = v.client(reg!);
      const img = await testImage(2);
      await client.push(img, `${reg!.host}/mnt/src:1`);
      const again: ProgressEvent[] = [];
      await client.push(img, `${reg!.host}/mnt/src:1`, { onProgress: (e) => again.push(e) });
      expect(again.filter((e) => e.state !== 'waiting').every((e) => e.state === 'skipped')).toBe(true);
      expect(again.filter((e) => e.state === 'uploading')).toEqual([]);

      // A remote image of the same registry is mounted into another repository, not re-uploaded.
      const remote = await client.image(`${reg!.host}/mnt/src:1`);
      const mounted: ProgressEvent[] = [];
      await client.push(remote, `${reg!.host}/mnt/dst:1`, { onProgress: (e) => mounted.push(e) });
      const finals = mounted.filter((e) => e.state !== 'waiting');
      expect(finals.map((e) => e.state).sort()).toEqual(['mounted', 'mounted', 'mounted']);
      expect((await client.resolve(`${reg!.host}/mnt/dst:1`)).digest).toBe(await img.digest());
      // mountFrom works for any Image whose blobs the registry has elsewhere.
      const listed: ProgressEvent[] = [];
      await client.push(img, `${reg!.host}/mnt/dst2:1`, { mountFrom: ['mnt/src'], onProgress: (e) => listed.push(e) });
      expect(listed.filter((e) => e.state === 'mounted')).toHaveLength(3);
    });

    it('chunked uploads (PATCH with Content-Range) give the same content', async (ctx) => {
      guard(ctx, 'tool:docker-registry');
      await using client = v.client(reg!, { chunkSize: 1000 });
      const img = await randomImage({ seed: 3, layers: 1, filesPerLayer: 20, maxFileSize: 4096 });
      const [layer] = await img.layers();
      expect(await layer!.size()).toBeGreaterThan(3000);
      const progress: number[] = [];
      await client.push(img, `${reg!.host}/chunked/app:1`, { onProgress: (e) => e.kind === 'layer' && e.state === 'uploading' && progress.push(e.current) });
      expect(progress.length).toBeGreaterThan(2);
      expect(progress.at(-1)).toBe(await layer!.size());
      const got = await collect(await client.fetchBlob(`${reg!.host}/chunked/app`, await layer!.digest()));
      expect(digestBytes(got)).toBe(await layer!.digest());
    });

    it('lists tags with pagination, the catalog, tags and deletes', async (ctx) => {
      guard(ctx, 'tool:docker-registry');
      await using client = v.client(reg!);
      const img = await testImage(4);
      const names = ['a', 'b', 'c', 'd', 'e'];
      for (const t of names) await client.push(img, `${reg!.host}/list/app:${t}`);
      expect((await client.tags(`${reg!.host}/list/app`, { pageSize: 2 })).sort()).toEqual(names);
      expect(await client.catalog(reg!.host, { pageSize: 1 })).toContain('list/app');
      const d = await client.tag(`${reg!.host}/list/app:a`, 'renamed');
      expect(d.digest).toBe(await img.digest());
      expect((await client.resolve(`${reg!.host}/list/app:renamed`)).digest).toBe(await img.digest());
      await client.delete(`${reg!.host}/list/app:a`);
      const gone = await client.getManifest(`${reg!.host}/list/app@${await img.digest()}`).catch((e: unknown) => e);
      expect(gone).toBeInstanceOf(RegistryError);
      expect((gone as RegistryError).status).toBe(404);
      expect((gone as RegistryError).ociCode).toBe('MANIFEST_UNKNOWN');
      const noRepo = await client.tags(`${reg!.host}/list/nothing`).catch((e: unknown) => e);
      expect((noRepo as RegistryError).ociCode).toBe('NAME_UNKNOWN');
    });

    it('a multi-platform index resolves to the asked platform', async (ctx) => {
      guard(ctx, 'tool:docker-registry');
      await using client = v.client(reg!);
      const amd = await platformImage(10, { os: 'linux', architecture: 'amd64' });
      const arm = await platformImage(11, { os: 'linux', architecture: 'arm64', variant: 'v8' });
      const index = await memoryIndex([
        { image: amd, platform: { os: 'linux', architecture: 'amd64' } },
        { image: arm, platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } },
      ]);
      const pushed = await client.push(index, `${reg!.host}/multi/app:1`);
      expect(pushed.descriptor.mediaType).toBe(MediaType.OciIndex);
      const picked = await client.image(`${reg!.host}/multi/app:1`, { platform: 'linux/arm64' });
      expect(await picked.digest()).toBe(await arm.digest());
      expect((await picked.config()).architecture).toBe('arm64');
      const remoteIndex = await client.index(`${reg!.host}/multi/app:1`);
      expect((await remoteIndex.manifests()).map((d) => d.digest)).toEqual([await amd.digest(), await arm.digest()]);
      await expect(client.image(`${reg!.host}/multi/app:1`, { platform: 'linux/s390x' })).rejects.toMatchObject({ code: 'NOT_FOUND' });
      await expect(client.index(`${reg!.host}/rt/app:1`)).rejects.toMatchObject({ code: 'INVALID_MANIFEST' });
    });

    it('referrers: an artifact with a subject is found (tag-schema fallback on distribution 2.8)', async (ctx) => {
      guard(ctx, 'tool:docker-registry');
      await using client = v.client(reg!);
      const subject = await testImage(5);
      await client.push(subject, `${reg!.host}/ref/app:1`);
      const sbom = Buffer.from('{"sbom":true}');
      const emptyConfig = Buffer.from('{}');
      const manifest = {
        schemaVersion: 2,
        mediaType: MediaType.OciManifest,
        artifactType: 'application/vnd.example.sbom',
        config: { mediaType: MediaType.OciEmpty, digest: digestBytes(emptyConfig), size: emptyConfig.length },
        layers: [{ mediaType: 'application/vnd.example.sbom.v1+json', digest: digestBytes(sbom), size: sbom.length }],
        subject: { mediaType: MediaType.OciManifest, digest: await subject.digest(), size: await subject.size() },
      };
      const raw = Buffer.from(JSON.stringify(manifest));
      // An artifact is an Image whose config is not an image config: build it by hand.
      const artifact: Image = {
        ...imageFromParts({ rawManifest: raw, rawConfig: emptyConfig, layer: () => undefined as never }),
        rawConfig: async () => emptyConfig,
        layers: async () => [
          layerFromParts({ descriptor: manifest.layers[0]!, diffID: digestBytes(sbom), compressed: async () => Readable.from([sbom]), uncompressed: async () => Readable.from([sbom]) }),
        ],
      };
      await client.push(artifact, `${reg!.host}/ref/app@${digestBytes(raw)}`);
      const found = await client.referrers(`${reg!.host}/ref/app:1`);
      expect(found.map((d) => d.digest)).toEqual([digestBytes(raw)]);
      expect(found[0]!.artifactType).toBe('application/vnd.example.sbom');
      expect(await client.referrers(`${reg!.host}/ref/app:1`, { artifactType: 'application/other' })).toEqual([]);
      expect(await client.referrers(`${reg!.host}/rt/app:1`)).toEqual([]);
    });

    it('a layer whose bytes do not match its descriptor is refused and nothing is tagged', async (ctx) => {
      guard(ctx, 'tool:docker-registry');
      await using client = v.client(reg!, { retry: { maxAttempts: 1 } });
      const img = await testImage(6);
      const layers = await img.layers();
      const real = layers[0]!;
      const size = await real.size();
      const lying = (bytes: Buffer): Image => ({ ...img, layers: async () => [{ ...real, compressed: async () => Readable.from([bytes]) }, ...layers.slice(1)] });
      // Another size: refused by the client before the body completes.
      const short = await client.push(lying(Buffer.from('not the layer')), `${reg!.host}/bad/app:1`).catch((e: unknown) => e);
      expect(short).toBeInstanceOf(DigestMismatchError);
      expect((short as DigestMismatchError).expected).toEqual({ digest: await real.digest(), size });
      // The same size, other bytes: the registry verifies the digest and refuses the blob.
      const same = (await client.push(lying(Buffer.alloc(size, 1)), `${reg!.host}/bad/app:1`).catch((e: unknown) => e)) as RegistryError;
      expect(same).toBeInstanceOf(RegistryError);
      expect([same.status, same.ociCode, same.method]).toEqual([400, 'DIGEST_INVALID', 'PUT']);
      // With verify: true the client hashes and refuses it itself.
      const verified = await client.push(lying(Buffer.alloc(size, 1)), `${reg!.host}/bad/app:1`, { verify: true }).catch((e: unknown) => e);
      expect(verified).toBeInstanceOf(DigestMismatchError);
      expect((verified as DigestMismatchError).actual.digest).toBe(digestBytes(Buffer.alloc(size, 1)));
      expect(await client.statBlob(`${reg!.host}/bad/app`, await real.digest())).toBeUndefined();
      expect((await client.tags(`${reg!.host}/bad/app`).catch((e: RegistryError) => e.ociCode))).toBe('NAME_UNKNOWN');
    });
  });
}

describe('registry: auth failures and transport security', () => {
  it('htpasswd: wrong or missing credentials give UNAUTHORIZED', async (ctx) => {
    guard(ctx, 'tool:docker-registry');
    await using reg = await startRegistry({ htpasswd: [alice] });
    await using wrong = new RegistryClient({ insecure: [reg.host], auth: { [reg.host]: { username: 'alice', password: 'nope' } } });
    const e1 = (await wrong.tags(`${reg.host}/x/y`).catch((e: unknown) => e)) as RegistryError;
    expect(e1).toBeInstanceOf(RegistryError);
    expect([e1.status, e1.ociCode, e1.temporary]).toEqual([401, 'UNAUTHORIZED', false]);
    await using anonymous = new RegistryClient({ insecure: [reg.host] });
    const e2 = (await anonymous.catalog(reg.host).catch((e: unknown) => e)) as RegistryError;
    expect([e2.status, e2.ociCode]).toEqual([401, 'UNAUTHORIZED']);
    expect(e2.url).toBe(`http://${reg.host}/v2/_catalog`);
  });

  it('token: anonymous is denied, wrong passwords fail at the realm, tokens are cached per scope', async (ctx) => {
    guard(ctx, 'tool:docker-registry');
    await using reg = await startRegistry({ token: { users: [alice] } });
    await using client = new RegistryClient({ insecure: [reg.host], auth: { [reg.host]: alice } });
    const img = await testImage(7);
    await client.push(img, `${reg.host}/tok/app:1`);
    const before = reg.tokenServer!.requests.length;
    for (let i = 0; i < 5; i++) await client.resolve(`${reg.host}/tok/app:1`);
    await client.getManifest(`${reg.host}/tok/app:1`);
    // One token for the pull scope, reused by every later request.
    expect(reg.tokenServer!.requests.length - before).toBe(1);
    expect(reg.tokenServer!.requests.every((r) => r.username === 'alice' && r.authenticated)).toBe(true);

    await using anonymous = new RegistryClient({ insecure: [reg.host] });
    const denied = (await anonymous.resolve(`${reg.host}/tok/app:1`).catch((e: unknown) => e)) as RegistryError;
    expect([denied.status, denied.ociCode]).toEqual([401, 'UNAUTHORIZED']);
    expect(reg.tokenServer!.requests.at(-1)!.username).toBeUndefined();

    await using wrong = new RegistryClient({ insecure: [reg.host], auth: { [reg.host]: { username: 'alice', password: 'x' } } });
    const refused = (await wrong.resolve(`${reg.host}/tok/app:1`).catch((e: unknown) => e)) as RegistryError;
    expect(refused.status).toBe(401);
    expect(refused.url.startsWith(reg.tokenServer!.realm)).toBe(true);
  });

  it('TLS: an unknown CA is refused unless the host is listed insecure', async (ctx) => {
    guard(ctx, 'tool:docker-registry');
    await using reg = await startRegistry({ tls: true });
    await using strict = new RegistryClient({ retry: { maxAttempts: 1 } });
    const err = (await strict.catalog(reg.host).catch((e: unknown) => e)) as RegistryError;
    expect(err).toBeInstanceOf(RegistryError);
    expect(err.code).toBe('REGISTRY_UNREACHABLE');
    expect(err.status).toBe(0);
    expect(String((err.cause as Error)?.message ?? err.cause)).toMatch(/certificate|self.signed|issuer/i);
    await using insecure = new RegistryClient({ insecure: [reg.host] });
    expect(await insecure.catalog(reg.host)).toEqual([]);
  });

  it('plain HTTP is used only for hosts listed insecure', async (ctx) => {
    guard(ctx, 'tool:docker-registry');
    await using reg = await startRegistry();
    await using strict = new RegistryClient({ retry: { maxAttempts: 1 } });
    const err = (await strict.catalog(reg.host).catch((e: unknown) => e)) as RegistryError;
    expect(err.code).toBe('REGISTRY_UNREACHABLE');
    await using listed = new RegistryClient({ insecure: [reg.host] });
    expect(await listed.catalog(reg.host)).toEqual([]);
    expect(parseReference(`${reg.host}/a:b`).registry).toBe(reg.host);
  });
});
