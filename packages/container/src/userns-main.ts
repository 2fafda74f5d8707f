/**
 * Entry of the worker process of userns-worker.ts, run as root of a user namespace with a
 * rootless container's id maps: `node userns-main.js JSON`, where JSON is
 * - `{"op":"layer","change":…,"compression":…}`: the layer blob of `change` to stdout;
 * - `{"op":"export","path":…,"output":…}`: `path` as one plain tar to the file `output` (written
 *   atomically), or to stdout without `output`.
 * Once done it writes one JSON line to stderr: `{"diffID":…,"mediaType":…}` / `{"size":…}`, or
 * `{"error":…}`.
 */
import { exportRootfs } from '@stratum/image-archive';
import { createLayer, type LayerChange } from '@stratum/layer';

type Job = { op: 'layer'; change: LayerChange; compression: 'gzip' | 'zstd' | 'none' } | { op: 'export'; path: string; output?: string };

const job = JSON.parse(process.argv[2] ?? '{}') as Job;
let report: Record<string, unknown>;
try {
  if (job.op === 'layer') {
    const c = createLayer(job.change, { compression: job.compression });
    c.stream.pipe(process.stdout);
    report = { diffID: await c.diffID, mediaType: c.mediaType };
  } else if (job.op === 'export') {
    report = { size: (await exportRootfs(job.path, job.output ?? process.stdout)).size };
  } else {
    throw new TypeError(`unknown op ${JSON.stringify((job as { op?: unknown }).op)}`);
  }
  // Everything piped is written by now (stdout to a pipe is synchronous on Linux); it closes
  // when this process exits.
  await new Promise<void>((resolve) => process.stdout.write('', () => resolve()));
} catch (e) {
  report = { error: e instanceof Error ? `${e.name}: ${e.message}` : String(e) };
  process.exitCode = 1;
}
process.stderr.write(`${JSON.stringify(report)}\n`);
