import { closeSync, constants, openSync } from 'node:fs';
import { ReadStream } from 'node:tty';
import { canSpawnProcess, initHelperPath } from '@stratum/native';
import { SpawnError } from './errors.js';
import { writeIdMaps } from './idmap.js';
import { launchChildProcess, launchNative, type Helper, type Slot } from './launch.js';
import { Process } from './process.js';
import { FLAG, MAP_OK, MessageReader, encodeSpec } from './protocol.js';
import { prepareSpec, type PreparedSpec, type SpawnSpec } from './spec.js';

/**
 * spawn starts `spec.argv` in new or joined namespaces through the `stratum-init` helper (Node
 * never forks itself into user code) and resolves once the program has been exec'd — or rejects
 * with {@link SpawnError} naming the setup step that failed (`mount`, `pivot-root`, `exec` with
 * ENOENT for a missing binary …), with nothing left running. TypeErrors for a malformed spec
 * come before anything starts.
 *
 * Roughly `unshare --fork --pid --mount --uts --ipc --net --mount-proc` + `pivot_root` +
 * `setpriv` + `exec`, or `runc run` of a bundle without the cgroup setup.
 *
 * @example
 * await using p = await spawn({ argv: ['hostname'], namespaces: { uts: true }, hostname: 'box', stdio: ['ignore', 'pipe', 'inherit'] });
 */
export async function spawn(spec: SpawnSpec): Promise<Process> {
  return start(prepareSpec(spec), spec.signal);
}

function abortError(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  if (reason instanceof Error) return reason;
  return new DOMException('The operation was aborted', 'AbortError');
}

/** @internal Starts a prepared spec (spawn and enter). */
export async function start(prepared: PreparedSpec, signal?: AbortSignal): Promise<Process> {
  signal?.throwIfAborted();
  const helperPath = initHelperPath();
  const opened: number[] = [];
  let stdio: Slot[];
  let ptmx: number | undefined;
  try {
    if (!Array.isArray(prepared.stdio)) {
      // posix_openpt: the helper unlocks it and opens the slave side for the program.
      ptmx = openSync('/dev/ptmx', constants.O_RDWR | constants.O_NOCTTY);
      opened.push(ptmx);
      stdio = ['ignore', 'ignore', 'ignore', 'pipe', ptmx];
    } else {
      stdio = prepared.stdio.map((it, i) => {
        if (typeof it === 'object') {
          const fd = openSync(it.file, it.flags ?? (i === 0 ? 'r' : 'a'), it.mode ?? 0o644);
          opened.push(fd);
          return fd;
        }
        return it;
      });
      stdio.push('pipe');
    }
  } catch (e) {
    for (const fd of opened) closeSync(fd);
    throw e;
  }

  let helper: Helper;
  try {
    const wire = encodeSpec(prepared.wire);
    helper = canSpawnProcess() ? launchNative(helperPath, stdio, wire) : launchChildProcess(helperPath, stdio, wire);
  } catch (e) {
    if (ptmx !== undefined) closeSync(ptmx);
    throw e;
  } finally {
    // The child has its own copies now; the pty master stays open for the Process.
    for (const fd of opened) if (fd !== ptmx) closeSync(fd);
  }
  const { exited, control } = helper;

  return new Promise<Process>((resolve, reject) => {
    let settled = false;
    const reader = new MessageReader();
    const cleanupAbort = (): void => signal?.removeEventListener('abort', onAbort);
    const fail = (err: Error, kill: boolean, started = true): void => {
      if (settled) return;
      settled = true;
      cleanupAbort();
      if (kill) helper.kill('SIGKILL');
      control.destroy();
      if (ptmx !== undefined) closeSync(ptmx);
      if (!started) {
        reject(err);
        return;
      }
      // Reject once the helper is gone, so that nothing of ours is running when the caller sees it.
      const timer = setTimeout(() => helper.kill('SIGKILL'), 5000);
      void exited.then(() => {
        clearTimeout(timer);
        reject(err);
      });
    };
    const succeed = (pid: number): void => {
      if (settled) return;
      settled = true;
      cleanupAbort();
      let tty: { stream: ReadStream; fd: number } | undefined;
      if (ptmx !== undefined) tty = { stream: new ReadStream(ptmx), fd: ptmx };
      const init: ConstructorParameters<typeof Process>[0] = { helper, pid, forks: prepared.forks, init: (prepared.wire.flags & FLAG.INIT) !== 0, exited };
      if (tty) init.tty = tty;
      if (signal) init.signal = signal;
      resolve(new Process(init));
    };
    const onAbort = (): void => fail(abortError(signal!), true);
    signal?.addEventListener('abort', onAbort, { once: true });

    helper.onError((e) => fail(e, true, helper.pid !== undefined));
    control.on('error', () => {
      // EPIPE/ECONNRESET when the helper dies; the exit status tells the rest.
    });
    control.on('data', (chunk: Buffer) => {
      for (const msg of reader.push(chunk)) {
        if (msg.type === 'error') {
          const init: ConstructorParameters<typeof SpawnError>[0] = { step: msg.stage, errno: msg.errno, syscall: msg.syscall };
          if (msg.path !== undefined) init.path = msg.path;
          fail(new SpawnError(init), false);
        } else if (msg.type === 'map-request') {
          const maps = prepared.userMaps;
          if (!maps) {
            fail(new SpawnError({ step: 'id-map', errno: 71 /* EPROTO */, syscall: 'protocol', hint: 'the helper asked for id maps nobody requested' }), true);
            continue;
          }
          writeIdMaps(msg.pid, maps.uidMap, maps.gidMap).then(
            () => control.write(Buffer.from([MAP_OK])),
            (e: Error) => fail(e, true),
          );
        } else if (msg.type === 'exec-ok') {
          succeed(msg.pid ?? helper.pid!);
        }
      }
    });
    control.on('close', () => {
      if (settled) return;
      if (!prepared.forks && reader.pending === 0 && helper.pid !== undefined) {
        // The helper itself exec'd the program: its close-on-exec fd 3 closed without a record.
        succeed(helper.pid);
        return;
      }
      void exited.then((st) => {
        fail(
          new SpawnError({
            step: 'helper',
            errno: 0,
            syscall: 'stratum-init',
            hint: `the helper ended before the program started (${st.signal ?? `exit ${st.code}`})`,
          }),
          false,
        );
      });
    });
  });
}
