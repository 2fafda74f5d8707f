export { type Capability, probe, missing, which } from './probes.js';
export { guard, inCI, CapabilityMissingError, type SkippableContext } from './guard.js';
