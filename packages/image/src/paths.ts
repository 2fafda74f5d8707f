import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

/**
 * defaultStoreRoot is where `Store.open()` without a directory opens: `$STRATUM_ROOT` when
 * set, else `$XDG_DATA_HOME/stratum`, else `~/.local/share/stratum` (the XDG default). Absolute.
 */
export function defaultStoreRoot(env: NodeJS.ProcessEnv = process.env): string {
  if (env['STRATUM_ROOT']) return resolve(env['STRATUM_ROOT']);
  const data = env['XDG_DATA_HOME'] && env['XDG_DATA_HOME'].startsWith('/') ? env['XDG_DATA_HOME'] : join(homedir(), '.local', 'share');
  return resolve(data, 'stratum');
}
