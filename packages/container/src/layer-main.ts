/**
 * Entry of the layer process of a rootless commit (see userns-layer.ts):
 * `node layer-main.js '{"change":…,"compression":…}'`, run as root of a user namespace with the
 * container's id maps. It writes the layer blob to stdout and, once done, one JSON line
 * `{"diffID":…}` to stderr.
 */
import { createLayer, type LayerChange } from '@stratum/layer';

const args = JSON.parse(process.argv[2] ?? '{}') as { change: LayerChange; compression: 'gzip' | 'zstd' | 'none' };
const c = createLayer(args.change, { compression: args.compression });
c.stream.pipe(process.stdout);
try {
  const diffID = await c.diffID;
  // Everything piped is written by now (stdout to a pipe is synchronous on Linux); the pipe
  // closes when this process exits.
  await new Promise<void>((resolve) => process.stdout.write('', () => resolve()));
  process.stderr.write(`${JSON.stringify({ diffID })}\n`);
} catch (e) {
  process.stderr.write(`${JSON.stringify({ error: e instanceof Error ? `${e.name}: ${e.message}` : String(e) })}\n`);
  process.exitCode = 1;
}
