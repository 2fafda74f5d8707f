/**
 * The detached monitor: for `detach: true` the container is started by a small `node` process
 * running {@link ./monitor-main.ts} (conmon's role), in its own session, so that the log keeps
 * being written, published loopback ports keep being served and the exit status lands in
 * state.json after the calling process has exited (`stratum run -d`). The caller waits on a pipe
 * for one JSON line: started, or the error that stopped the start.
 */
import { spawn as cpSpawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Readable } from 'node:stream';
import { SpawnError } from '@stratum/namespace';
import { MonitorError } from './errors.js';
import type { Runtime } from './runtime.js';

/** MonitorReport: what the monitor sends back on fd 3. */
export interface MonitorReport {
  ok: boolean;
  pid?: number;
  error?: { name: string; message: string; code?: string; fields?: Record<string, unknown> };
}

/** serializeError keeps an error's class name, code and own data fields. */
export function serializeError(e: unknown): NonNullable<MonitorReport['error']> {
  if (!(e instanceof Error)) return { name: 'Error', message: String(e) };
  const fields: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(e)) if (k !== 'stack' && k !== 'message' && (v === null || typeof v !== 'object' || Array.isArray(v))) fields[k] = v;
  return { name: e.name, message: e.message, ...(typeof (e as { code?: unknown }).code === 'string' ? { code: (e as unknown as { code: string }).code } : {}), fields };
}

/** reviveError rebuilds the error the monitor reported: a SpawnError stays one (with its step), the rest become MonitorError with the remote code and fields. */
export function reviveError(id: string, err: NonNullable<MonitorReport['error']>): Error {
  const f = err.fields ?? {};
  if (err.name === 'SpawnError' && typeof f.step === 'string') {
    return new SpawnError({ step: f.step, errno: Number(f.errno ?? 0), syscall: String(f.syscall ?? ''), ...(typeof f.path === 'string' ? { path: f.path } : {}), ...(typeof f.hint === 'string' ? { hint: f.hint } : {}) });
  }
  const m = new MonitorError(id, `${err.name}: ${err.message}`);
  Object.assign(m, { remote: { name: err.name, code: err.code, ...f } });
  return m;
}

/**
 * nodeEntry: the node arguments and cwd that run this package's entry file `name` (`monitor-main`,
 * `layer-main`) in a new node process, from the built JavaScript or from the TypeScript sources.
 * @internal
 */
export function nodeEntry(name: string): { argv: string[]; cwd: string } {
  const here = import.meta.url;
  const source = here.endsWith('.ts');
  const entry = fileURLToPath(new URL(`./${name}.${source ? 'ts' : 'js'}`, here));
  // From the TypeScript sources (tests, tsx) the monitor needs tsx and the source condition; the
  // package directory as cwd lets `--import tsx` resolve the workspace's tsx.
  const cwd = fileURLToPath(new URL('..', here));
  return { argv: [...(source ? ['--conditions=stratum-source', '--import', 'tsx'] : []), entry], cwd };
}

/**
 * startDetached starts container `id` under a new detached monitor process and resolves once the
 * monitor reports the program exec'd (with the container's pid), or rejects with the start error
 * it reports. The monitor's own stderr goes to `<container dir>/monitor.log`.
 */
export async function startDetached(rt: Runtime, id: string, logFile: string): Promise<number> {
  const { argv, cwd } = nodeEntry('monitor-main');
  const log = openSync(logFile, 'a', 0o640);
  let child;
  try {
    const { store, ...options } = rt.options;
    const runtime = store ? { ...options, storeRoot: store.root } : options;
    child = cpSpawn(process.execPath, [...argv, JSON.stringify({ runtime, id })], {
      cwd,
      detached: true,
      stdio: ['ignore', log, log, 'pipe'],
      env: process.env,
    });
  } finally {
    closeSync(log);
  }
  const pipe = child.stdio[3] as Readable;
  let text = '';
  const report = await new Promise<MonitorReport | undefined>((resolve) => {
    pipe.on('data', (d: Buffer) => {
      text += d.toString();
      const nl = text.indexOf('\n');
      if (nl >= 0) resolve(JSON.parse(text.slice(0, nl)) as MonitorReport);
    });
    pipe.on('close', () => resolve(undefined));
    pipe.on('error', () => resolve(undefined));
    child.on('error', () => resolve(undefined));
  });
  pipe.destroy();
  child.unref();
  if (!report) throw new MonitorError(id, `the monitor process exited before reporting (see ${logFile})`);
  if (!report.ok) throw reviveError(id, report.error ?? { name: 'Error', message: 'unknown' });
  return report.pid!;
}

