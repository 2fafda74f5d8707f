import type { Limiter } from './limiter.js';
import type { ResolvedRetryPolicy } from './http/retry.js';
import type { Transport } from './http/transport.js';

/** ClientContext: what the client's operations share (one per RegistryClient). */
export interface ClientContext {
  transport: Transport;
  retry: ResolvedRetryPolicy;
  limiter: Limiter;
  maxManifestSize: number;
  maxConfigSize: number;
  /** Mirrors to read from before `registry` (pulls only). */
  mirrors(registry: string): string[];
}
