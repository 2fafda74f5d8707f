/**
 * What a rootless container's files are read for — the layer of a commit, `export` — is done
 * inside a user namespace with the container's id maps: on the host its files are owned by the
 * caller's uid (root inside) and its subordinate ids, which a tar made from the host would record
 * as they are (1000 for the container's root). A node process started as root of such a user
 * namespace (podman's `unshare`) sees the container's own ids, reads what the container's root
 * can read, and streams the bytes to this process.
 */
import type { Readable, Writable } from 'node:stream';
import { spawn } from '@stratum/namespace';
import type { Store } from '@stratum/image';
import type { ExportRootfsResult } from '@stratum/image-archive';
import type { LayerChange } from '@stratum/layer';
import type { Digest, Descriptor } from '@stratum/oci';
import { nodeEntry } from './detached.js';
import { CommitError, ContainerError } from './errors.js';
import { rootlessIdMaps } from './rootless.js';

/**
 * inUserns runs userns-main.ts with `job` as root of a user namespace with the rootless maps;
 * `consume` takes its stdout. Resolves with its report and what `consume` resolved with; rejects
 * with `fail(reason)` when the process, or `consume`, failed.
 */
async function inUserns<T>(job: Record<string, unknown>, consume: (stdout: Readable) => Promise<T>, fail: (reason: string) => Error, signal?: AbortSignal): Promise<{ report: Record<string, unknown>; value: T }> {
  const { argv, cwd } = nodeEntry('userns-main');
  const ids = rootlessIdMaps();
  const p = await spawn({
    argv: [process.execPath, ...argv, JSON.stringify(job)],
    env: process.env,
    cwd,
    namespaces: { user: { uidMap: ids.uidMap, gidMap: ids.gidMap } },
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(signal ? { signal } : {}),
  });
  let err = '';
  p.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const ended = new Promise<void>((resolve) => {
    p.stderr!.once('end', resolve);
    p.stderr!.once('close', resolve);
  });
  const consumed = consume(p.stdout!).then(
    (value) => ({ ok: true as const, value }),
    (e: unknown) => ({ ok: false as const, e }),
  );
  const [st, c] = await Promise.all([p.wait(), consumed, ended]);
  let report: Record<string, unknown> = {};
  try {
    report = JSON.parse(err.trim().split('\n').pop() ?? '') as Record<string, unknown>;
  } catch {
    // a crash: its stderr says why
  }
  if (typeof report.error === 'string') throw fail(report.error);
  if (st.code !== 0) throw fail(err.trim() || `the worker process exited with ${st.code ?? st.signal}`);
  if (!c.ok) throw fail(c.e instanceof Error ? c.e.message : String(c.e));
  return { report, value: c.value };
}

/**
 * putLayerInUserns makes the layer of `change` inside the user namespace and puts it into
 * `store` (which verifies its digest as always). Resolves with its descriptor and diffID; rejects
 * with CommitError (nothing tagged; at most an unreferenced blob that gc removes).
 */
export async function putLayerInUserns(store: Store, change: LayerChange, compression: 'gzip' | 'zstd' | 'none'): Promise<{ desc: Descriptor; diffID: Digest }> {
  const { report, value } = await inUserns(
    { op: 'layer', change, compression },
    (stdout) => store.blobs.put(stdout),
    (reason) => new CommitError(`making the layer inside the container's user namespace: ${reason}`),
  );
  if (typeof report.diffID !== 'string' || typeof report.mediaType !== 'string') throw new CommitError('the layer process reported no diffID or media type');
  return { desc: { ...value, mediaType: report.mediaType }, diffID: report.diffID as Digest };
}

/** exportInUserns writes the tree `path` as one plain tar (`docker export`) from inside the user namespace, to a file (atomically) or a Writable. */
export async function exportInUserns(path: string, output: string | Writable, signal?: AbortSignal): Promise<ExportRootfsResult> {
  const { report } = await inUserns(
    typeof output === 'string' ? { op: 'export', path, output } : { op: 'export', path },
    (stdout) =>
      typeof output === 'string'
        ? Promise.resolve(stdout.resume()).then(() => undefined)
        : new Promise<void>((resolve, reject) => {
            stdout.pipe(output);
            output.once('finish', resolve);
            output.once('error', reject);
            stdout.once('error', reject);
          }),
    (reason) => new ContainerError('EXPORT_FAILED', `export inside the container's user namespace failed: ${reason}`),
    signal,
  );
  return { size: Number(report.size) };
}
