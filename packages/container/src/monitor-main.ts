/**
 * Entry of the detached monitor process (see detached.ts): `node monitor-main.js '{"runtime":…,"id":…}'`.
 * It opens the runtime, starts the container in this process, reports on fd 3, and lives until
 * the container has exited and its exit is recorded and its resources released.
 */
import { closeSync, writeSync } from 'node:fs';
import { serializeError, type MonitorReport } from './detached.js';
import { Runtime, type RuntimeOptions } from './runtime.js';
import { startContainer } from './start.js';
import './container.js'; // installs the image layers provider and the autoRemove hook

function report(r: MonitorReport): void {
  try {
    writeSync(3, `${JSON.stringify(r)}\n`);
    closeSync(3);
  } catch {
    // the caller went away: nobody to tell
  }
}

const args = JSON.parse(process.argv[2] ?? '{}') as { runtime?: RuntimeOptions; id?: string };
const rt = await Runtime.open(args.runtime ?? {});
// Ctrl-C in the caller's terminal never reaches a monitor in its own session; a stray SIGTERM or
// SIGHUP must not leave the container unrecorded either: forward to the container instead.
let running: Awaited<ReturnType<typeof startContainer>> | undefined;
for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(sig, () => running?.process.kill(sig));
try {
  running = await startContainer(rt, String(args.id), {});
  report({ ok: true, pid: running.process.pid });
  await running.done;
} catch (e) {
  report({ ok: false, error: serializeError(e) });
  process.exitCode = 1;
}
await rt.close();
