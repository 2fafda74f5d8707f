/**
 * @stratum/cli: what the `stratum` command costs as a process, beside the peer tool doing the
 * same job as a process, and beside the library in-process:
 * - `stratum pull` of a 64 MiB image from a local docker-registry into a fresh store, against
 *   `RegistryClient.pull` in this process (the library it runs) and `skopeo copy docker://…
 *   oci:DIR:TAG` (the store is an OCI layout, so the result is the same thing); skopeo's
 *   blob-info cache is deleted before each run;
 * - `stratum run --rm --network none IMAGE true` (the built bin) against `Container.run` + `wait`
 *   of the same spec in this process (the floor: what the CLI adds is node start-up, module
 *   loading, argument parsing, the store and runtime opened per invocation).
 * Each run gets a fresh directory; everything is deleted at the end.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Container, Runtime } from '@stratum/container';
import { Store } from '@stratum/image';
import { RegistryClient } from '@stratum/registry-client';
import { memoryImage, memoryLayer, randomTree, tarOf } from '@stratum/testing';
import { registryUnavailable, startRegistry, type RunningRegistry } from '../../packages/registry-client/test/registry-fixture.js';
import { runCommand, type Benchmark } from './harness.js';

const bin = join(import.meta.dirname, '..', '..', 'packages', 'cli', 'dist', 'bin.js');
const skopeoCache = '/var/lib/containers/cache/blob-info-cache-v1.boltdb';
const RUN_RUNS = Number(process.env.STRATUM_BENCH_CLI_RUNS ?? 20);

function which(tool: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0;
}

function built(): string | undefined {
  if (!existsSync(bin) || execFileSync(process.execPath, [bin, '--version'], { encoding: 'utf8' }).trim() === '') return 'packages/cli is not built (npm run build)';
  return undefined;
}

function busyboxTar(dir: string): Buffer {
  mkdirSync(join(dir, 'bin'), { recursive: true });
  copyFileSync('/bin/busybox', join(dir, 'bin', 'busybox'));
  chmodSync(join(dir, 'bin', 'busybox'), 0o755);
  for (const a of ['sh', 'true']) symlinkSync('busybox', join(dir, 'bin', a));
  mkdirSync(join(dir, 'etc'));
  writeFileSync(join(dir, 'etc', 'passwd'), 'root:x:0:0:root:/root:/bin/sh\n');
  return execFileSync('tar', ['-C', dir, '-cf', '-', '.'], { maxBuffer: 64 << 20 });
}

export default async function benchmarks(): Promise<Benchmark[]> {
  let tmp = '';
  let reg: RunningRegistry | undefined;
  let n = 0;
  let out = '';
  const image = 'stratum-bench/cli:1';
  let rtmp = '';
  let rt: Runtime | undefined;
  const spec = { image: 'stratum-bench/busybox:1', autoRemove: true, network: 'none', cmd: ['true'] };
  return [
    {
      group: 'cli',
      name: 'stratum pull (process) of a 64 MiB image (8 layers) from a local docker-registry into a fresh store',
      runs: 5,
      memory: true,
      target: 'reported',
      unavailable: () => built() ?? registryUnavailable() ?? (which('skopeo') ? undefined : 'skopeo is not installed'),
      setup: async () => {
        tmp = mkdtempSync(join(process.env.STRATUM_BENCH_DIR ?? tmpdir(), 'stratum-bench-cli-'));
        reg = await startRegistry();
        const layers = [];
        for (let i = 0; i < 8; i++) layers.push(memoryLayer(await tarOf(randomTree({ seed: 700 + i, files: 8, maxFileSize: 2 << 20 }))));
        await using client = new RegistryClient({ insecure: [reg.host] });
        await client.push(await memoryImage(layers), `${reg.host}/${image}`);
      },
      teardown: async () => {
        await reg?.stop();
        if (tmp) rmSync(tmp, { recursive: true, force: true });
      },
      ours: {
        name: 'stratum pull (process)',
        before: () => {
          out = join(tmp, `ours-${n++}`);
        },
        run: () => runCommand([process.execPath, bin, '--root', out, 'pull', '-q', `${reg!.host}/${image}`]),
        after: () => rmSync(out, { recursive: true, force: true }),
      },
      peers: [
        {
          name: 'RegistryClient.pull in-process (the library)',
          before: () => {
            out = join(tmp, `lib-${n++}`);
          },
          run: async () => {
            await using store = await Store.open(out);
            await using client = new RegistryClient({ insecure: [reg!.host] });
            await client.pull(`${reg!.host}/${image}`, { store });
          },
          after: () => rmSync(out, { recursive: true, force: true }),
        },
        {
          name: 'skopeo copy docker:// oci:',
          before: () => {
            out = join(tmp, `skopeo-${n++}`);
            rmSync(skopeoCache, { force: true });
          },
          run: () => runCommand(['skopeo', 'copy', '--quiet', '--src-tls-verify=false', `docker://${reg!.host}/${image}`, `oci:${out}:${image}`]),
          after: () => rmSync(out, { recursive: true, force: true }),
        },
      ],
    },
    {
      group: 'cli',
      name: `stratum run --rm --network none busybox true (process) to exit and removal (${RUN_RUNS} runs)`,
      runs: RUN_RUNS,
      target: 'reported (the CLI over the library)',
      unavailable: () => (process.getuid?.() !== 0 ? 'needs root' : built()),
      setup: async () => {
        rtmp = mkdtempSync(join(process.env.STRATUM_BENCH_DIR ?? tmpdir(), 'stratum-bench-clirun-'));
        chmodSync(rtmp, 0o755);
        const root = join(rtmp, 'root');
        {
          await using store = await Store.open(root);
          await store.write(await memoryImage([memoryLayer(busyboxTar(join(rtmp, 'rootfs')))], { config: { Env: ['PATH=/bin'], Cmd: ['sh'] } }), spec.image);
        }
        rt = await Runtime.open({ root, pull: false });
      },
      teardown: async () => {
        if (rt) {
          await rt.gc().catch(() => undefined);
          await rt.close();
        }
        if (rtmp) rmSync(rtmp, { recursive: true, force: true });
      },
      ours: {
        name: 'stratum run (process)',
        run: () => runCommand([process.execPath, bin, '--root', join(rtmp, 'root'), 'run', '--rm', '--network', 'none', spec.image, 'true']),
      },
      peers: [
        {
          name: 'Container.run + wait (in-process library)',
          run: async () => {
            const c = await Container.run(spec, { runtime: rt! });
            const r = await c.wait();
            if (r.exitCode !== 0) throw new Error(`exit ${r.exitCode}: ${r.error ?? ''}`);
          },
        },
      ],
    },
  ];
}
