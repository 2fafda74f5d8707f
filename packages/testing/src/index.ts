export { type Capability, probe, missing, which } from './probes.js';
export { guard, inCI, CapabilityMissingError, type SkippableContext } from './guard.js';
export { type HostSnapshot, type Leak, type LeakCheckHooks, LeakError, snapshotHost, diffHost, useLeakCheck } from './leaks.js';
export { prng, type TreeEntry, randomTree, tarOf, memoryLayer, memoryImage, randomImage } from './random.js';
export { testUser, testSubordinateIds } from './users.js';
export { runReadmeSnippet, type ReadmeSnippetRun } from './readme.js';
export { sandboxArgs } from './sandbox.js';
