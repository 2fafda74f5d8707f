/**
 * A rootless container's changes become a layer inside its user namespace: its files are owned on
 * the host by the caller's uid (root inside) and its subordinate ids, which a layer made from the
 * host would record as they are (uid 1000 for the container's root). A node process started as
 * root of a user namespace with the same maps (podman's `unshare`) sees the container's own ids,
 * reads what the container's root can read, and streams the layer to this process, which puts it
 * into the store (verifying its digest as always).
 */
import { spawn } from '@stratum/namespace';
import type { LayerChange } from '@stratum/layer';
import type { Digest, Descriptor } from '@stratum/oci';
import { MediaType } from '@stratum/oci';
import type { Store } from '@stratum/image';
import { nodeEntry } from './detached.js';
import { CommitError } from './errors.js';
import { rootlessIdMaps } from './rootless.js';

const MEDIA = { none: MediaType.OciLayer, gzip: MediaType.OciLayerGzip, zstd: MediaType.OciLayerZstd } as const;

/**
 * putLayerInUserns makes the layer of `change` in a node process inside a user namespace with
 * the rootless id maps and puts it into `store`. Resolves with its descriptor and diffID;
 * rejects (nothing tagged; at most an unreferenced blob gc removes) when the process fails.
 */
export async function putLayerInUserns(store: Store, change: LayerChange, compression: 'gzip' | 'zstd' | 'none'): Promise<{ desc: Descriptor; diffID: Digest }> {
  const { argv, cwd } = nodeEntry('layer-main');
  const ids = rootlessIdMaps();
  const p = await spawn({
    argv: [process.execPath, ...argv, JSON.stringify({ change, compression })],
    env: process.env,
    cwd,
    namespaces: { user: { uidMap: ids.uidMap, gidMap: ids.gidMap } },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  p.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const ended = new Promise<void>((resolve) => {
    p.stderr!.once('end', resolve);
    p.stderr!.once('close', resolve);
  });
  const put = store.blobs.put(p.stdout!, { mediaType: MEDIA[compression] }).then(
    (d) => ({ ok: true as const, d }),
    (e: unknown) => ({ ok: false as const, e }),
  );
  const [st, stored] = await Promise.all([p.wait(), put, ended]);
  // (the blob, when stored, is verified by the store; the diffID is the process's word, as the
  // layer it hashed is the one it streamed)
  const last = err.trim().split('\n').pop() ?? '';
  let report: { diffID?: Digest; error?: string } = {};
  try {
    report = JSON.parse(last) as typeof report;
  } catch {
    // a crash: its stderr says why
  }
  if (st.code !== 0 || !report.diffID || !stored.ok) {
    throw new CommitError(`making the layer inside the container's user namespace failed: ${report.error ?? (err.trim() || (stored.ok ? `exit ${st.code ?? st.signal}` : String(stored.e)))}`);
  }
  return { desc: stored.d, diffID: report.diffID };
}
