import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ErrnoError } from './errors.js';

/** Root of the @stratum/native package (where binding.gyp and build/ live). */
export const packageRoot = join(dirname(fileURLToPath(import.meta.url)), '..');

const require = createRequire(import.meta.url);

function load(): Record<string, unknown> {
  const candidates = [join(packageRoot, 'build', 'Release', 'stratum_native.node'), join(packageRoot, 'build', 'Debug', 'stratum_native.node')];
  const found = candidates.find((p) => existsSync(p));
  if (!found) {
    throw new Error(`@stratum/native: the addon is not built (looked for ${candidates[0]}); run \`npm install\` or \`npm run build:native -w @stratum/native\``);
  }
  const addon = require(found) as Record<string, unknown> & { setErrorClass(c: unknown): void };
  addon.setErrorClass(ErrnoError);
  return addon;
}

/**
 * The raw addon. Typed wrappers in this package are the public surface; other packages never
 * touch this object directly.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const binding: any = load();
