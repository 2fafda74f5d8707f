#!/usr/bin/env node
/**
 * The `stratum` executable: runs {@link main} on this process's argv and stdio, aborts long work
 * on SIGINT/SIGTERM, and exits with main's code once stdout and stderr are flushed.
 */
import { main } from './main.js';

const abort = new AbortController();
let signals = 0;
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    signals++;
    // A second Ctrl-C leaves at once, as docker does.
    if (signals > 1) process.exit(sig === 'SIGINT' ? 130 : 143);
    abort.abort(new Error(`interrupted (${sig})`));
  });
}

const code = await main(process.argv.slice(2), { signal: abort.signal });
const flush = (s: NodeJS.WriteStream): Promise<void> => new Promise((resolve) => (s.writableLength === 0 ? resolve() : s.write('', () => resolve())));
await Promise.all([flush(process.stdout), flush(process.stderr)]);
process.exit(code);
