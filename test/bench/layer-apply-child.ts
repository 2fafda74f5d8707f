// Run by layer.bench.ts as its own process (`node --import tsx layer-apply-child.ts LAYER DIR`):
// applyLayer alone in a process, so that its peak RSS is measured like the peers'.
import { applyLayer } from '@stratum/layer';

await applyLayer(process.argv[2]!, process.argv[3]!, { keepSetuid: true, keepDevices: true });
