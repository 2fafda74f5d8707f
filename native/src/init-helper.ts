import { accessSync, constants } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from './binding.js';

/**
 * initHelperPath returns the absolute path of the `stratum-init` executable built beside the
 * addon (build/Release/stratum-init), the single-threaded helper that starts container
 * processes. Throws when it is not built or not executable.
 */
export function initHelperPath(): string {
  for (const dir of ['Release', 'Debug']) {
    const p = join(packageRoot, 'build', dir, 'stratum-init');
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // try the next
    }
  }
  throw new Error(`@stratum/native: stratum-init is not built (looked in ${join(packageRoot, 'build', 'Release')}); run \`npm run build:native -w @stratum/native\``);
}
