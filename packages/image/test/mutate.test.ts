/**
 * mutate on images from every source (memory, store, registry), the commit flow, history and
 * inspect; base layers are passed through, never read.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { MediaType, canonicalJson, digestBytes, imageFromParts, layerFromParts, type Image, type Layer } from '@stratum/oci';
import { guard, memoryImage, memoryLayer, randomImage, randomTree, tarOf } from '@stratum/testing';
import { RegistryClient } from '@stratum/registry-client';
import { InvalidChangeError, Store, history, inspect, mutate, type WriteProgressEvent } from '../src/index.js';
import { collect, spyLayer, tempDirs } from './helpers.js';
import { registryUnavailable, startRegistry } from '../../registry-client/test/registry-fixture.js';

const run = promisify(execFile);
const dirs = tempDirs('mutate');
afterAll(() => dirs.cleanup());

/** An image whose layers count their reads. */
async function spiedImage(seed: number, layers = 2): Promise<{ image: Image; spies: Array<ReturnType<typeof spyLayer>> }> {
  const base = await randomImage({ seed, layers });
  const spies = (await base.layers()).map(spyLayer);
  return { image: { ...base, layers: async () => spies }, spies };
}

async function greetingLayer(store: Store): Promise<{ layer: Layer; tar: Buffer }> {
  const tar = await tarOf([{ type: 'file', path: 'greeting', content: Buffer.from('hi\n'), mode: 0o644 }]);
  const desc = await store.blobs.put(gzipSync(tar), { mediaType: MediaType.OciLayerGzip });
  return { layer: store.layer(desc, digestBytes(tar)), tar };
}

describe('mutate', () => {
  it('the commit flow: a layer put into the store, appended with history, config changes, author and message; written and read back', async () => {
    const store = await Store.open(dirs.make());
    const base = await randomImage({ seed: 61, layers: 2 });
    await store.write(base, 'busybox:latest');
    const { layer, tar } = await greetingLayer(store);
    const img = mutate(await store.image('busybox'), {
      append: [{ layer, history: { created_by: '/bin/sh -c echo hi > /greeting' } }],
      changes: ['CMD ["cat","/greeting"]', 'ENV GREETING=hi', 'EXPOSE 8080'],
      author: 'me <me@example.com>',
      message: 'add a greeting',
      created: '2024-05-01T12:00:00Z',
    });
    const cfg = await img.config();
    expect(cfg.config).toMatchObject({ Cmd: ['cat', '/greeting'], Env: ['GREETING=hi'], ExposedPorts: { '8080/tcp': {} } });
    expect(cfg).toMatchObject({ author: 'me <me@example.com>', comment: 'add a greeting', created: '2024-05-01T12:00:00Z' });
    expect(cfg.rootfs.diff_ids).toEqual([...(await Promise.all((await base.layers()).map((l) => l.diffID()))), digestBytes(tar)]);
    expect(cfg.history!.at(-1)).toEqual({ created: '2024-05-01T12:00:00Z', created_by: '/bin/sh -c echo hi > /greeting', author: 'me <me@example.com>', comment: 'add a greeting' });
    const events: WriteProgressEvent[] = [];
    const desc = await store.write(img, 'greeter:1', { onProgress: (e) => events.push(e) });
    // The base layers (and the appended one, already put) are in the store: none is read again.
    expect(events.filter((e) => e.kind === 'layer').map((e) => e.state)).toEqual(['skipped', 'skipped', 'skipped']);
    const back = await store.image('greeter:1');
    expect(await back.digest()).toBe(desc.digest);
    expect(await back.configDigest()).toBe(await img.configDigest());
    const layers = await back.layers();
    expect(layers).toHaveLength(3);
    expect((await collect(await layers[2]!.uncompressed())).equals(tar)).toBe(true);
    expect((await store.verify()).ok).toBe(true);

    const h = await store.history('greeter:1');
    expect(h[0]).toMatchObject({ Id: await back.configDigest(), CreatedBy: '/bin/sh -c echo hi > /greeting', Comment: 'add a greeting', Tags: ['greeter:1'], Created: Date.UTC(2024, 4, 1, 12) / 1000 });
    expect(h.slice(1).every((e) => e.Id === '<missing>' && e.Tags.length === 0)).toBe(true);
    expect(h).toHaveLength(3);
    const i = await store.inspect('greeter:1');
    expect(i).toMatchObject({
      Id: await back.configDigest(),
      RepoTags: ['greeter:1'],
      RepoDigests: [`greeter@${desc.digest}`],
      Author: 'me <me@example.com>',
      Comment: 'add a greeting',
      Created: '2024-05-01T12:00:00Z',
      Architecture: 'amd64',
      Os: 'linux',
      RootFS: { Type: 'layers', Layers: cfg.rootfs.diff_ids },
      Descriptor: { mediaType: MediaType.OciManifest, digest: desc.digest, size: desc.size },
    });
    expect(i.Config.Cmd).toEqual(['cat', '/greeting']);
    expect(i.Size).toBe((await back.manifest()).layers.reduce((n, l) => n + l.size, 0));
  });

  it('peers read a mutated image: skopeo sees the new config, umoci unpacks the appended layer', async (ctx) => {
    guard(ctx, 'tool:skopeo', 'tool:umoci');
    const store = await Store.open(dirs.make());
    await store.write(await randomImage({ seed: 62, layers: 1 }), 'base:1');
    const { layer } = await greetingLayer(store);
    await store.write(mutate(await store.image('base:1'), { append: [layer], changes: ['WORKDIR /srv', 'USER 65534:65534'] }), 'app:1');
    const { stdout } = await run('skopeo', ['inspect', '--config', `oci:${store.root}:app:1`]);
    expect(JSON.parse(stdout)).toMatchObject({ config: { WorkingDir: '/srv', User: '65534:65534' } });
    const bundle = join(dirs.make(), 'bundle');
    await run('umoci', ['unpack', ...(process.getuid?.() === 0 ? [] : ['--rootless']), '--image', `${store.root}:app:1`, bundle]);
    expect(readFileSync(join(bundle, 'rootfs', 'greeting'), 'utf8')).toBe('hi\n');
  });

  it('passes base layers through as the same objects; nothing changed gives the same bytes; annotations only keep the config', async () => {
    const { image, spies } = await spiedImage(63);
    const same = mutate(image);
    expect(await same.digest()).toBe(await image.digest());
    expect(await same.configDigest()).toBe(await image.configDigest());
    const annotated = mutate(image, { annotations: { 'org.opencontainers.image.title': 'x' } });
    expect(await annotated.configDigest()).toBe(await image.configDigest());
    expect(Buffer.from(await annotated.rawConfig())).toEqual(Buffer.from(await image.rawConfig()));
    expect(await annotated.digest()).not.toBe(await image.digest());
    expect((await annotated.manifest()).annotations).toEqual({ 'org.opencontainers.image.title': 'x' });
    const changed = mutate(image, { config: { Cmd: ['x'], Env: null }, append: [memoryLayer(await tarOf(randomTree({ seed: 64 })))] });
    const ls = await changed.layers();
    expect(ls[0]).toBe(spies[0]);
    expect(ls[1]).toBe(spies[1]);
    expect((await changed.config()).config).toEqual({ Cmd: ['x'] });
    // The manifest's bytes are what its digest says, and the config what the manifest says.
    expect(digestBytes(await changed.rawManifest())).toBe(await changed.digest());
    expect((await changed.manifest()).config.digest).toBe(digestBytes(await changed.rawConfig()));
    expect(spies.map((s) => s.reads)).toEqual([0, 0]);
  });

  it('a layer appended to a Docker v2.2 image takes the Docker media type; history without a layer is an empty_layer entry', async () => {
    const tar = await tarOf(randomTree({ seed: 65 }));
    const gz = gzipSync(tar);
    const cfg = canonicalJson({ architecture: 'amd64', os: 'linux', config: {}, rootfs: { type: 'layers', diff_ids: [digestBytes(tar)] }, history: [{ created_by: 'ADD rootfs' }] });
    const ldesc = { mediaType: MediaType.DockerLayerGzip, digest: digestBytes(gz), size: gz.length };
    const raw = canonicalJson({ schemaVersion: 2, mediaType: MediaType.DockerManifest, config: { mediaType: MediaType.DockerConfig, digest: digestBytes(cfg), size: cfg.byteLength }, layers: [ldesc] });
    const docker = imageFromParts({
      rawManifest: raw,
      rawConfig: cfg,
      layer: (d, diffID) => layerFromParts({ descriptor: d, diffID, compressed: async () => (await import('node:stream')).Readable.from([gz]), uncompressed: async () => (await import('node:stream')).Readable.from([tar]) }),
    });
    const extra = memoryLayer(await tarOf(randomTree({ seed: 66 })));
    const img = mutate(docker, { append: [extra] });
    expect(await img.mediaType()).toBe(MediaType.DockerManifest);
    expect((await img.manifest()).layers.map((l) => l.mediaType)).toEqual([MediaType.DockerLayerGzip, MediaType.DockerLayerGzip]);
    expect(await (await img.layers())[1]!.mediaType()).toBe(MediaType.DockerLayerGzip);
    expect((await img.manifest()).config.mediaType).toBe(MediaType.DockerConfig);
    const store = await Store.open(dirs.make());
    await store.write(img, 'docker:1');
    expect((await store.verify()).ok).toBe(true);

    const empty = mutate(docker, { changes: ['CMD ["sh"]'], history: { created_by: '/bin/sh -c #(nop)  CMD ["sh"]' }, created: new Date(0) });
    expect((await empty.config()).history).toEqual([{ created_by: 'ADD rootfs' }, { created: '1970-01-01T00:00:00Z', created_by: '/bin/sh -c #(nop)  CMD ["sh"]', empty_layer: true }]);
    const rows = await history(empty, { refs: ['docker.io/library/d:1'] });
    expect(rows.map((r) => [r.CreatedBy, r.Size])).toEqual([['/bin/sh -c #(nop)  CMD ["sh"]', 0], ['ADD rootfs', gz.length]]);
    expect(rows[0]!.Tags).toEqual(['d:1']);
    expect((await inspect(empty, { refs: ['localhost:5000/a/d:1', 'docker.io/library/d:2'] })).RepoTags).toEqual(['localhost:5000/a/d:1', 'd:2']);
  });

  it('bad input is a typed error at once', async () => {
    const img = await randomImage({ seed: 67, layers: 1 });
    expect(() => mutate(img, { changes: ['RUN make'] })).toThrow(InvalidChangeError);
    expect(() => mutate(img, { append: [{} as Layer] })).toThrow(TypeError);
    expect(() => mutate(img, { created: 'yesterday' })).toThrow(TypeError);
    expect(() => mutate(img, { annotations: { a: 1 as unknown as string } })).toThrow(TypeError);
  });
});

describe('mutate a remote image', () => {
  it('appends a layer to an image in a registry and pushes it back without downloading the base layers', async (ctx) => {
    guard(ctx, 'tool:docker-registry');
    if (registryUnavailable()) throw new Error(registryUnavailable());
    await using reg = await startRegistry();
    await using client = new RegistryClient({ insecure: [reg.host] });
    const base = await memoryImage([memoryLayer(await tarOf(randomTree({ seed: 68, files: 30, maxFileSize: 20_000 })))]);
    await client.push(base, `${reg.host}/team/base:1`);
    const remote = await client.image(`${reg.host}/team/base:1`);
    const spies = (await remote.layers()).map(spyLayer);
    const spied: Image = { ...remote, layers: async () => spies };
    const added = memoryLayer(await tarOf([{ type: 'file', path: 'etc/added', content: Buffer.from('new') }]));
    const img = mutate(spied, { append: [{ layer: added, history: { created_by: 'stratum test' } }], changes: ['LABEL stage=2'] });
    const pushed = await client.push(img, `${reg.host}/team/base:2`);
    expect(spies.map((s) => s.reads)).toEqual([0]);
    const back = await client.image(`${reg.host}/team/base:2`);
    expect(await back.digest()).toBe(pushed.descriptor.digest);
    expect((await back.config()).config?.Labels).toEqual({ stage: '2' });
    expect(await Promise.all((await back.layers()).map((l) => l.digest()))).toEqual([await (await base.layers())[0]!.digest(), await added.digest()]);
    // And into a store: the registry's layer bytes are read once, the mutated image verifies.
    const store = await Store.open(dirs.make());
    await store.write(back, 'base:2');
    expect((await store.verify()).ok).toBe(true);
  });
});
