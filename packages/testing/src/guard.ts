import { missing, type Capability } from './probes.js';
import { StratumError } from '@stratum/oci';

/** CapabilityMissingError: a guarded test could not run because the host lacks a capability. */
export class CapabilityMissingError extends StratumError {
  readonly reasons: string[];
  constructor(reasons: string[]) {
    super('CAPABILITY_MISSING', `required capability missing: ${reasons.join('; ')}`);
    this.reasons = reasons;
  }
}

/** The part of a test context the guard needs (vitest's `TestContext` fits). */
export interface SkippableContext {
  skip(note?: string): void;
}

/** inCI is true when `CI` is set to a true value: skipped privileged tests then fail. */
export function inCI(): boolean {
  const v = process.env.CI;
  return v !== undefined && v !== '' && v !== '0' && v.toLowerCase() !== 'false';
}

/**
 * guard is the one gate for tests that need root or a kernel feature. It probes each capability
 * (by trying the operation) and, when one is missing, skips the test with the reason — or, when
 * `CI=true`, throws {@link CapabilityMissingError} so that a green CI proves the privileged paths
 * ran.
 *
 * @example
 * it('mounts', async (ctx) => { guard(ctx, 'root', 'overlay'); ... })
 */
export function guard(ctx: SkippableContext, ...caps: Capability[]): void {
  const reasons = missing(...caps);
  if (reasons.length === 0) return;
  if (inCI()) throw new CapabilityMissingError(reasons);
  ctx.skip(reasons.join('; '));
}
