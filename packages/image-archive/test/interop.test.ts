/**
 * Interop with real peers: skopeo reads what we write (docker-archive and oci-archive views of
 * one `docker save` archive, OCI layout directories and tars), we read and load what skopeo
 * writes, and oci-image-tool validates our layouts. The docker CLI here has no engine, so skopeo
 * (containers/image's docker-archive code, the same format podman save/load use) stands in.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Store } from '@stratum/image';
import { guard, memoryImage, memoryLayer, randomTree, tarOf } from '@stratum/testing';
import { exportOciLayout, importOciLayout, loadDockerArchive, readDockerArchive, readOciLayout, saveDockerArchive } from '@stratum/image-archive';
import type { Image } from '@stratum/oci';
import { run, scratch, uncompressedDigests } from './helpers.js';

const tmp = scratch();

async function seededStore(dir: string): Promise<Store> {
  const store = await Store.open(dir);
  const base = memoryLayer(await tarOf(randomTree({ seed: 21, files: 25, maxFileSize: 8192 })));
  const mid = memoryLayer(await tarOf(randomTree({ seed: 22, files: 10 })));
  const top = memoryLayer(await tarOf(randomTree({ seed: 23, files: 4 })), { compression: 'none' });
  await store.write(await memoryImage([base, mid], { config: { Cmd: ['/usr/sbin/apachectl', '-D', 'FOREGROUND'] } }), 'httpd:1.1');
  await store.write(await memoryImage([base, top], { config: { Cmd: ['nginx', '-g', 'daemon off;'] } }), 'nginx:stable');
  return store;
}

/**
 * sameImage: the same config (as JSON: skopeo re-encodes a config when it converts a Docker
 * manifest to OCI or compresses layers) and layers whose uncompressed bytes hash to the diffIDs.
 */
async function sameImage(a: Image, b: Image): Promise<void> {
  expect(JSON.parse(Buffer.from(await a.rawConfig()).toString())).toEqual(JSON.parse(Buffer.from(await b.rawConfig()).toString()));
  expect(await uncompressedDigests(a)).toEqual((await b.config()).rootfs.diff_ids);
}

describe('skopeo reads what we write', () => {
  it('our docker save archive, through skopeo docker-archive: and oci-archive: (Docker 25 layout)', async (ctx) => {
    guard(ctx, 'tool:skopeo');
    await using store = await seededStore(join(tmp(), 'store'));
    const archive = join(tmp(), 'myimages.tar');
    await saveDockerArchive(store, ['httpd:1.1', 'nginx:stable'], archive);
    for (const [src, tag] of [
      [`docker-archive:${archive}:httpd:1.1`, 'httpd:1.1'],
      [`docker-archive:${archive}:nginx:stable`, 'nginx:stable'],
      [`oci-archive:${archive}:stable`, 'nginx:stable'],
    ] as const) {
      const out = join(tmp(), `peer-${tag.replace(':', '-')}-${src.slice(0, 3)}`);
      run(['skopeo', 'copy', '-q', src, `oci:${out}:x`]);
      const [peer] = await readOciLayout(out, { repository: 'peer' });
      await sameImage(peer!, await store.image(tag));
    }
    const inspected = JSON.parse(run(['skopeo', 'inspect', `docker-archive:${archive}:httpd:1.1`]));
    expect(inspected.Layers).toEqual((await (await store.image('httpd:1.1')).config()).rootfs.diff_ids);
  });

  it('our OCI layout export, as a directory and as a tar', async (ctx) => {
    guard(ctx, 'tool:skopeo');
    await using store = await seededStore(join(tmp(), 'store'));
    const dir = join(tmp(), 'layout');
    const tar = join(tmp(), 'layout.tar');
    await exportOciLayout(store, dir);
    await exportOciLayout(store, tar, { refs: ['nginx:stable'] });
    const fromDir = join(tmp(), 'from-dir.tar');
    run(['skopeo', 'copy', '-q', `oci:${dir}:docker.io/library/httpd:1.1`, `docker-archive:${fromDir}:httpd:1.1`]);
    await sameImage((await readDockerArchive(fromDir))[0]!, await store.image('httpd:1.1'));
    const fromTar = join(tmp(), 'from-tar');
    run(['skopeo', 'copy', '-q', '--dest-oci-accept-uncompressed-layers', `oci-archive:${tar}:docker.io/library/nginx:stable`, `oci:${fromTar}:n`]);
    // Copied blob for blob: the same manifest digest as in the store.
    expect(JSON.parse(readFileSync(join(fromTar, 'index.json'), 'utf8')).manifests[0].digest).toBe((await store.resolve('nginx:stable')).digest);
  });
});

describe('we read what skopeo writes', () => {
  it('an archive written by skopeo copy oci:… docker-archive: loads and reads', async (ctx) => {
    guard(ctx, 'tool:skopeo');
    await using store = await seededStore(join(tmp(), 'store'));
    const archive = join(tmp(), 'skopeo.tar');
    run(['skopeo', 'copy', '-q', `oci:${store.root}:docker.io/library/httpd:1.1`, `docker-archive:${archive}:httpd:1.1`]);
    const [read] = await readDockerArchive(archive);
    expect(read!.tags).toEqual(['docker.io/library/httpd:1.1']);
    await sameImage(read!, await store.image('httpd:1.1'));
    await using other = await Store.open(join(tmp(), 'other'));
    const loaded = await loadDockerArchive(archive, other);
    expect(loaded.map((l) => l.tags)).toEqual([['docker.io/library/httpd:1.1']]);
    await sameImage(await other.image('httpd:1.1'), await store.image('httpd:1.1'));
  });

  it('round trip: skopeo oci→docker-archive, we load and save, skopeo docker-archive→oci', async (ctx) => {
    guard(ctx, 'tool:skopeo');
    await using store = await seededStore(join(tmp(), 'store'));
    const a = join(tmp(), 'a.tar');
    run(['skopeo', 'copy', '-q', `oci:${store.root}:docker.io/library/nginx:stable`, `docker-archive:${a}:nginx:stable`]);
    await using mid = await Store.open(join(tmp(), 'mid'));
    await loadDockerArchive(a, mid);
    const b = join(tmp(), 'b.tar');
    await saveDockerArchive(mid, ['nginx:stable'], b);
    const back = join(tmp(), 'back');
    run(['skopeo', 'copy', '-q', `docker-archive:${b}:nginx:stable`, `oci:${back}:n`]);
    await sameImage((await readOciLayout(back))[0]!, await store.image('nginx:stable'));
  });

  it('an OCI layout written by skopeo imports, bare tags joined to a repository', async (ctx) => {
    guard(ctx, 'tool:skopeo');
    await using store = await seededStore(join(tmp(), 'store'));
    const dir = join(tmp(), 'sk');
    run(['skopeo', 'copy', '-q', `oci:${store.root}:docker.io/library/httpd:1.1`, `oci:${dir}:v1`]);
    const tar = join(tmp(), 'sk.tar');
    run(['skopeo', 'copy', '-q', `oci:${store.root}:docker.io/library/nginx:stable`, `oci-archive:${tar}:v2`]);
    await using other = await Store.open(join(tmp(), 'other'));
    expect((await importOciLayout(dir, other, { repository: 'example.com/app' })).map((l) => l.tags)).toEqual([['example.com/app:v1']]);
    expect((await importOciLayout(tar, other, { repository: 'example.com/app' })).map((l) => l.tags)).toEqual([['example.com/app:v2']]);
    expect((await other.resolve('example.com/app:v1')).digest).toBe((await store.resolve('httpd:1.1')).digest);
    await sameImage(await other.image('example.com/app:v2'), await store.image('nginx:stable'));
  });
});

describe('oci-image-tool validates our layouts', () => {
  it('accepts exportOciLayout output and the OCI half of a saved docker archive', async (ctx) => {
    guard(ctx, 'tool:oci-image-tool');
    await using store = await seededStore(join(tmp(), 'store'));
    const dir = join(tmp(), 'layout');
    await exportOciLayout(store, dir);
    expect(run(['oci-image-tool', 'validate', '--type', 'image', '--ref', 'name=docker.io/library/httpd:1.1', dir])).toContain('Validation succeeded');
    expect(run(['oci-image-tool', 'validate', '--type', 'image', dir])).toContain('Validation succeeded');
    // oci-image-tool 1.0.0-rc1 cannot walk any tar (even one GNU tar made); check the archive's content as a directory.
    const archive = join(tmp(), 'save.tar');
    await saveDockerArchive(store, ['httpd:1.1', 'nginx:stable'], archive);
    const x = join(tmp(), 'x');
    mkdirSync(x);
    execFileSync('tar', ['-xf', archive, '-C', x]);
    expect(run(['oci-image-tool', 'validate', '--type', 'image', x])).toContain('Validation succeeded');
  });
});
