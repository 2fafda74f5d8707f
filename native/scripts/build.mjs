// Builds the addon and the init helper with node-gyp against the headers of the Node that runs
// this script, so that nothing is downloaded at install time (Debian ships them in /usr/include/node).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const prefix = dirname(dirname(process.execPath));
const args = ['rebuild', '--release', `--jobs=${process.env.JOBS ?? 'max'}`];
if (existsSync(join(prefix, 'include', 'node', 'node_api.h'))) args.push(`--nodedir=${prefix}`);
const gyp = require.resolve('node-gyp/bin/node-gyp.js');
const r = spawnSync(process.execPath, [gyp, ...args], { cwd: join(here, '..'), stdio: 'inherit' });
process.exit(r.status ?? 1);
