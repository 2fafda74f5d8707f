/**
 * Helpers the examples share: a busybox-static root filesystem, and an image made of it FROM
 * scratch with @stratum/layer's createLayer, the store and mutate — no registry involved.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, writeFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { scratchImage } from '@stratum/container';
import { mutate, type Store } from '@stratum/image';
import { createLayer } from '@stratum/layer';
import type { ContainerConfig, Digest } from '@stratum/oci';

/** BUSYBOX: Debian's busybox-static, one static executable with every applet in it. */
export const BUSYBOX = '/bin/busybox';

/** The PATH of Docker's images. */
export const PATH_ENV = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/**
 * busyboxTree fills `dir` with what the busybox image has: /bin/busybox and one relative symlink
 * per applet (`/bin/sh -> busybox` …), /etc/passwd and /etc/group with root and nobody, /tmp,
 * /root and /var/www. Returns `dir`.
 */
export function busyboxTree(dir: string): string {
  mkdirSync(join(dir, 'bin'), { recursive: true });
  copyFileSync(BUSYBOX, join(dir, 'bin', 'busybox'));
  chmodSync(join(dir, 'bin', 'busybox'), 0o755);
  for (const applet of execFileSync(BUSYBOX, ['--list'], { encoding: 'utf8' }).split('\n')) {
    if (applet && applet !== 'busybox') symlinkSync('busybox', join(dir, 'bin', applet));
  }
  for (const d of ['etc', 'tmp', 'root', 'var/www']) mkdirSync(join(dir, d), { recursive: true });
  chmodSync(join(dir, 'tmp'), 0o1777);
  writeFileSync(join(dir, 'etc', 'passwd'), 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n');
  writeFileSync(join(dir, 'etc', 'group'), 'root:x:0:\nnogroup:x:65534:\n');
  return dir;
}

/** BuiltImage: what {@link imageFromTree} wrote. */
export interface BuiltImage {
  /** The image id (config digest), as `docker images --no-trunc` shows it. */
  id: Digest;
  /** The one layer: its blob digest (gzip), diffID (of the tar) and compressed size. */
  layer: { digest: Digest; diffID: Digest; size: number };
}

/**
 * imageFromTree makes an image FROM scratch whose one layer is the directory `tree` (createLayer
 * of the whole tree, gzip, mtimes clamped so the layer is the same bytes every run), puts the
 * layer in the store, sets the config (`Env` PATH plus `config`) and writes the image tagged `ref`.
 */
export async function imageFromTree(store: Store, tree: string, ref: string, config: Partial<ContainerConfig> = {}, createdBy = `COPY ${tree} /`): Promise<BuiltImage> {
  const layer = createLayer({ from: undefined, to: tree }, { compression: 'gzip', reproducible: { mtime: 0 } });
  const blob = await store.blobs.put(layer.stream, { mediaType: layer.mediaType });
  const diffID = await layer.diffID;
  const image = mutate(scratchImage(), {
    append: [{ layer: store.layer(blob, diffID), history: { created_by: createdBy } }],
    config: { Env: [PATH_ENV], ...config },
  });
  await store.write(image, ref);
  return { id: await image.configDigest(), layer: { digest: blob.digest, diffID, size: blob.size } };
}
