/**
 * Images for containers: the runtime's image store (@stratum/image, an OCI layout at the state
 * dir root), pulling a missing image through @stratum/registry-client, and the shared layer
 * cache: every layer unpacked once (applyLayer with overlay whiteouts) into
 * `<root>/layers/sha256/<diffID hex>/`, shared read-only as overlay lower dirs by every container
 * of every image that has it.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Store } from '@stratum/image';
import { applyLayer } from '@stratum/layer';
import { NotFoundError, parseDigest, type ContainerConfig, type Digest, type Image } from '@stratum/oci';
import { RegistryClient, dockerConfigAuth, type RegistryClientOptions } from '@stratum/registry-client';
import { ImageUnavailableError } from './errors.js';
import { withLock } from './fsutil.js';
import type { ImageRecord } from './record.js';
import type { Runtime } from './runtime.js';

const stores = new WeakMap<Runtime, Promise<Store>>();

/** imageStore returns the runtime's image store (opened once per runtime; `storeRoot` option, else the state dir root). */
export function imageStore(rt: Runtime): Promise<Store> {
  let s = stores.get(rt);
  if (!s) {
    s = rt.options.store ? Promise.resolve(rt.options.store) : Store.open(rt.options.storeRoot ?? rt.root);
    stores.set(rt, s);
    s.catch(() => stores.delete(rt));
  }
  return s;
}

/** closeImageStore closes a store the runtime opened itself (not one it was given). @internal */
export async function closeImageStore(rt: Runtime): Promise<void> {
  const s = stores.get(rt);
  stores.delete(rt);
  if (s && !rt.options.store) await (await s.catch(() => undefined))?.close();
}

/** layerDir: where a layer (by diffID) is unpacked in the cache. */
export function layerDir(rt: Runtime, diffID: Digest | string): string {
  const d = parseDigest(diffID);
  return join(rt.root, 'layers', d.split(':')[0]!, d.split(':')[1]!);
}

/**
 * ensureLayers unpacks the image's layers that are not in the cache yet (once, under a lock per
 * diffID; into a temp dir renamed into place, so a crash never leaves a half layer visible) and
 * returns their dirs, top layer first (overlay's lowerdir order).
 */
export async function ensureLayers(rt: Runtime, image: Image, opts: { signal?: AbortSignal } = {}): Promise<string[]> {
  const layers = await image.layers();
  const dirs: string[] = [];
  for (const layer of layers) {
    const diffID = await layer.diffID();
    const dir = layerDir(rt, diffID);
    dirs.push(dir);
    if (existsSync(dir)) continue;
    const parent = join(dir, '..');
    mkdirSync(parent, { recursive: true, mode: 0o700 });
    await withLock(join(rt.root, 'layers', `.lock-${diffID.replace(':', '-')}`), async () => {
      if (existsSync(dir)) return;
      // The full name in the temp dir's: gc finds its lock from it (see pruneLayerLeftovers).
      const tmp = join(parent, `.tmp-${diffID.split(':')[1]!}-${randomBytes(4).toString('hex')}`);
      try {
        const root = process.geteuid?.() === 0;
        await applyLayer(await layer.compressed(opts), tmp, { whiteouts: 'overlay', diffID, keepSetuid: true, keepDevices: root, ...(opts.signal ? { signal: opts.signal } : {}) });
        renameSync(tmp, dir);
      } catch (e) {
        rmSync(tmp, { recursive: true, force: true });
        throw e;
      }
    });
  }
  return dirs.reverse();
}

/**
 * pruneLayerLeftovers removes interrupted unpacks (for gc). Each temp dir is removed holding the
 * lock its unpack holds (`layers/.lock-ALG-NAME`, found from the dir's name), so an unpack still
 * running in another process is waited for, never cut short. Returns the paths removed.
 */
export async function pruneLayerLeftovers(rt: Runtime): Promise<string[]> {
  const out: string[] = [];
  const base = join(rt.root, 'layers');
  if (!existsSync(base)) return out;
  for (const alg of readdirSync(base)) {
    if (alg.startsWith('.')) continue; // (init/ has its own .tmp- dirs, pruned the same way)
    for (const n of readdirSync(join(base, alg))) {
      if (!n.startsWith('.tmp-') || n.startsWith('.tmp-rm-')) continue;
      const name = n.slice('.tmp-'.length, n.lastIndexOf('-'));
      const path = join(base, alg, n);
      await withLock(join(base, `.lock-${alg}-${name}`), () => rmSync(path, { recursive: true, force: true }));
      out.push(path);
    }
  }
  return out;
}

/**
 * resolveImage finds `ref` in the store, pulling it (`docker run`'s implicit pull) when missing;
 * ImageUnavailableError when it is neither there nor pullable. Unpacks its layers into the cache.
 */
export async function resolveImage(rt: Runtime, ref: string): Promise<{ config: ContainerConfig; record: ImageRecord; lowers: string[] }> {
  const store = await imageStore(rt);
  // What a manifest (or index) resolves to never changes: the second container of an image
  // only resolves the ref.
  const memo = resolved.get(rt) ?? new Map<string, Resolved>();
  resolved.set(rt, memo);
  const desc = await store.resolve(ref).catch(() => undefined);
  const hit = desc ? memo.get(desc.digest) : undefined;
  if (hit && hit.lowers.every((d) => existsSync(d))) return { config: structuredClone(hit.config), record: { ...hit.record, ref }, lowers: [...hit.lowers] };
  let image: Image;
  try {
    image = await store.image(ref);
  } catch (e) {
    if (!(e instanceof NotFoundError)) throw e;
    if (rt.options.pull === false) throw new ImageUnavailableError(ref, 'not in the store (and pulling is off)', { cause: e });
    try {
      const opts: RegistryClientOptions = rt.options.registry ?? { auth: dockerConfigAuth() };
      await new RegistryClient(opts).pull(ref, { store });
      image = await store.image(ref);
    } catch (pullError) {
      throw new ImageUnavailableError(ref, pullError instanceof Error ? pullError.message : String(pullError), { cause: pullError });
    }
  }
  const cfg = await image.config();
  const lowers = await ensureLayers(rt, image);
  const out = {
    config: cfg.config ?? {},
    record: { ref, id: await image.configDigest(), manifest: await image.digest(), diffIDs: [...cfg.rootfs.diff_ids] },
    lowers,
  };
  const key = desc?.digest ?? (await store.resolve(ref)).digest;
  memo.set(key, { config: out.config, record: out.record, lowers: [...lowers] });
  return out;
}

interface Resolved {
  config: ContainerConfig;
  record: ImageRecord;
  lowers: string[];
}

const resolved = new WeakMap<Runtime, Map<string, Resolved>>();

/** lowersOf returns the cached layer dirs of a container's image, unpacking any that went missing. */
export async function lowersOf(rt: Runtime, rec: { image?: ImageRecord }): Promise<string[]> {
  const img = rec.image;
  if (!img) return [];
  const dirs = img.diffIDs.map((d) => layerDir(rt, d));
  if (dirs.every((d) => existsSync(d))) return dirs.reverse();
  const store = await imageStore(rt);
  return ensureLayers(rt, await store.image(img.manifest));
}

/**
 * pruneUnusedLayers removes cached layer dirs that no container of the runtime uses (each under
 * its lock, so a concurrent unpack or create is not cut short). Returns the dirs removed.
 */
export async function pruneUnusedLayers(rt: Runtime): Promise<string[]> {
  const used = new Set<string>();
  for (const id of rt.state.ids()) {
    try {
      const rec = rt.state.record(id);
      for (const d of rec.image?.diffIDs ?? []) used.add(layerDir(rt, d));
      if (rec.initLayer !== undefined) used.add(rec.initLayer);
    } catch {
      // removed meanwhile
    }
  }
  const out: string[] = [];
  const base = join(rt.root, 'layers');
  if (!existsSync(base)) return out;
  for (const alg of readdirSync(base)) {
    if (alg.startsWith('.')) continue;
    for (const hex of readdirSync(join(base, alg))) {
      const dir = join(base, alg, hex);
      if (hex.startsWith('.') || used.has(dir)) continue;
      // A layer (or init layer) a create in progress has not recorded yet is made again at its start.
      await withLock(join(base, `.lock-${alg}-${hex}`), () => {
        const tmp = join(base, alg, `.tmp-rm-${hex}`);
        renameSync(dir, tmp);
        rmSync(tmp, { recursive: true, force: true });
      });
      rmSync(join(base, `.lock-${alg}-${hex}`), { force: true });
      out.push(dir);
    }
  }
  return out;
}

