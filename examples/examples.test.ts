/**
 * Every example (and the README's demo) run as a user runs it — its own `node` process with the
 * sources' condition — and what it printed checked for the behaviour that could fail: the page
 * served by the committed httpd image, the OOM kill, the ping and HTTP replies between two
 * containers, the pull of what was pushed, ids surviving save/load. Each runs with its own TMPDIR,
 * under which the example makes its temp state dir; the directory must be empty again afterwards,
 * and the leak check finds no mount, netns, link, cgroup, nft table or process left on the host.
 *
 *   CI=true npx vitest run examples/examples.test.ts      (as root)
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { guard, useLeakCheck, type Capability } from '@stratum/testing';

const repo = join(import.meta.dirname, '..');
const kernel: Capability[] = ['root', 'overlay', 'netns', 'nftables'];

/** runExample runs `node --conditions=stratum-source --import tsx examples/NAME.ts ARGS…` to its end; rejects with its output when it fails. */
async function runExample(name: string, ...args: string[]): Promise<string> {
  const tmp = mkdtempSync(join(tmpdir(), `stratum-examples-test-${name}-`));
  try {
    const child = spawn(process.execPath, ['--conditions=stratum-source', '--import', 'tsx', join(repo, 'examples', `${name}.ts`), ...args], {
      cwd: repo,
      env: { ...process.env, TMPDIR: tmp },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const code = await new Promise<number | null>((resolve, reject) => {
      child.once('error', reject);
      child.once('close', (c) => resolve(c));
    });
    if (code !== 0) throw new Error(`examples/${name}.ts exited with ${code}\n--- stdout\n${out}\n--- stderr\n${err}`);
    // tsx keeps its compile cache in TMPDIR/tsx-UID; anything else is the example's.
    expect(readdirSync(tmp).filter((f) => !f.startsWith('tsx-')), `examples/${name}.ts left files in its TMPDIR`).toEqual([]);
    return out;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

describe('examples', () => {
  useLeakCheck({ beforeEach, afterEach });

  it('scratch-image: an image of one static binary runs its ENTRYPOINT/CMD', async (ctx) => {
    guard(ctx, ...kernel);
    const out = await runExample('scratch-image');
    expect(out).toMatch(/^layer contents: d bin\/, - bin\/busybox$/m);
    expect(out).toMatch(/1 layer, Entrypoint \["\/bin\/busybox"\]/);
    expect(out).toMatch(/^run tiny:1 → exit 0: hello from an image of one file$/m);
    expect(out).toMatch(/^run tiny:1 ls \/ → exit 0: bin dev etc proc sys$/m);
  });

  it('commit: the committed image runs httpd (its new CMD) and serves the page', async (ctx) => {
    guard(ctx, ...kernel);
    const out = await runExample('commit');
    expect(out).toMatch(/^httpd:1\.1 Cmd \["\/bin\/httpd","-f","-p","80","-h","\/var\/www"\], layers 2, author me, comment a home page$/m);
    expect(out).toMatch(/^web runs \["\/bin\/httpd","-f","-p","80","-h","\/var\/www"\] at 10\.178\.2\.\d+$/m);
    expect(out).toMatch(/^GET http:\/\/10\.178\.2\.\d+\/ → 200 Welcome To My Httpd$/m);
    expect(out).toMatch(/^GET http:\/\/127\.0\.0\.1:\d+\/ → 200 Welcome To My Httpd$/m);
  });

  it('save-load: three images through one gzip archive keep their ids, and one runs', async (ctx) => {
    guard(ctx, ...kernel);
    const out = await runExample('save-load');
    expect(out).toMatch(/^removed the images: \d+ blobs deleted, 0 images left$/m);
    for (const ref of ['busybox:latest', 'hello:1', 'motd:1']) expect(out).toMatch(new RegExp(`^loaded docker\\.io/library/${ref} id [0-9a-f]{12} \\(the id it had before the save\\)$`, 'm'));
    expect(out).toMatch(/^run hello:1 → exit 0: hello from a loaded image$/m);
  });

  it('registry: push to docker-registry, remove, pull the same manifest, run it', async (ctx) => {
    guard(ctx, ...kernel, 'tool:docker-registry');
    const out = await runExample('registry');
    expect(out).toMatch(/^registry catalog: \["demo\/hello"\], tags of demo\/hello: \["1"\]$/m);
    expect(out).toMatch(/local images now: 0$/m);
    expect(out).toMatch(/^pulled 127\.0\.0\.1:\d+\/demo\/hello:1: \d+ blobs downloaded, manifest sha256:[0-9a-f]{64} \(the one pushed\)$/m);
    expect(out).toMatch(/^run 127\.0\.0\.1:\d+\/demo\/hello:1 → exit 0: hello from the private registry$/m);
  });

  it('user-bridge: two containers on a user-defined network ping and talk HTTP', async (ctx) => {
    guard(ctx, ...kernel);
    const out = await runExample('user-bridge');
    const web = /^web: (10\.178\.50\.\d+)$/m.exec(out)?.[1];
    expect(web).toBeDefined();
    expect(out).toMatch(/^ {2}client: 10\.178\.50\.\d+$/m);
    expect(out).toContain(`PING web (${web!})`);
    expect(out).toMatch(/2 packets transmitted, 2 packets received, 0% packet loss/);
    expect(out).toMatch(/^ {2}wget: hello from web$/m);
    expect(out).toMatch(/^client exited with 0$/m);
    expect(out).toMatch(/^network stratum-appnet removed; networks left: 0$/m);
  });

  it('netns-by-hand: a veth pair between namespaces made by hand carries pings', async (ctx) => {
    guard(ctx, 'root', 'netns', 'tool:nsenter');
    const out = await runExample('netns-by-hand');
    expect(out).toMatch(/^ip netns list: stratum-r1, stratum-r2$/m);
    expect(out).toMatch(/^r1: eth0 10\.178\.6\.2\/24;/m);
    expect(out).toMatch(/^host → r1 ping 10\.178\.6\.2: reply/m);
    expect(out).toMatch(/^host still has stratum-v1\.1: false; r2: lo, stratum-v1\.1$/m);
    expect(out).toMatch(/^r2 → r1 ping 10\.178\.6\.2: reply/m);
    expect(out).toMatch(/^r1 → r2 ping 10\.178\.6\.1: reply/m);
  });

  it('volumes: bind, named (copied up from the image), anonymous, volumes-from read-only', async (ctx) => {
    guard(ctx, ...kernel);
    const out = await runExample('volumes');
    expect(out).toMatch(/^writer: \/srv\/index\.html says: page from the image$/m);
    expect(out).toMatch(/^host sees .*from-container\.txt: file from the container$/m);
    expect(out).toMatch(/^reader: \/data\/note\.txt says: note from writer$/m);
    expect(out).toMatch(/^reader: \/srv\/index\.html says: page from the image\|added by writer\|$/m);
    expect(out).toMatch(/^reader: \/host has from-container\.txt$/m);
    expect(out).toMatch(/^reader: write refused \(volumes-from :ro\)$/m);
    expect(out).toMatch(/^after rm -v writer: appdata$/m);
    expect(out).toMatch(/^volume rm appdata: true; volumes left: 0$/m);
  });

  it('oom: 8 MiB fits under -m 32m, 64 MiB is OOM-killed (137, OOMKilled)', async (ctx) => {
    guard(ctx, ...kernel);
    const out = await runExample('oom');
    expect(out).toMatch(/^dd bs=8M under -m 32m: exit 0, OOMKilled false \(inspect: State\.ExitCode 0, State\.OOMKilled false\)$/m);
    expect(out).toMatch(/^dd bs=64M under -m 32m: exit 137, OOMKilled true \(inspect: State\.ExitCode 137, State\.OOMKilled true\)$/m);
  });

  it('inspect: -f templates through the CLI and renderTemplate agree on the IP', async (ctx) => {
    guard(ctx, ...kernel);
    const out = await runExample('inspect');
    const cli = /^\$ stratum inspect -f '\{\{\.NetworkSettings\.IPAddress\}\}' t2\n(.*)$/m.exec(out)?.[1];
    expect(cli).toMatch(/^10\.178\.9\.\d+$/);
    expect(out).toContain(`renderTemplate('{{.NetworkSettings.IPAddress}}', await t2.inspect()) → ${cli!}\n`);
    expect(out).toMatch(new RegExp(`^map\\[Bridge: Gateway:10\\.178\\.9\\.1 IPAddress:${cli!.replace(/\./g, '\\.')} IPPrefixLen:24 `, 'm'));
    expect(out).toMatch(/^running pid \d+$/m);
    expect(out).toMatch(/^\["httpd","-f","-p","80","-h","\/var\/www"\]$/m);
    expect(out).toContain(`stratum-xinsp: ${cli!}/24 via 10.178.9.1\n`);
    expect(out).toMatch(/^67108864 web$/m);
    expect(out).toMatch(/^sha256:[0-9a-f]{64} 1 layer\(s\)$/m);
  });

  it('demo: the README\'s main job, start to end, leaves only its images (and with --clean not those)', { timeout: 180_000 }, async (ctx) => {
    guard(ctx, ...kernel);
    const root = mkdtempSync(join(tmpdir(), 'stratum-examples-test-demo-root-'));
    try {
      const out = await runExample('demo', '--root', root);
      expect(out).toMatch(/^ {4}inside: hostname box, this shell is pid 2 /m);
      expect(out).toMatch(/^ {4}cgroup {4}memory limit 64\.0 MiB .*pids limit 64 .*cpus 0\.5$/m);
      expect(out).toMatch(/^ {4}exec {6}ping -c1 10\.177\.0\.1 .*: answered \(exit 0\)$/m);
      expect(out).toMatch(/^ {4}config {4}Cmd \["\/bin\/httpd","-f","-p","80","-h","\/var\/www"\], 2 layers/m);
      expect(out).toMatch(/^ {4}GET {7}http:\/\/10\.177\.0\.\d+\/ → 200 "Welcome To My Httpd"$/m);
      expect(out.match(/^ {4}GET {7}http:\/\/127\.0\.0\.1:\d+\/ → 200 "Welcome To My Httpd"/gm)).toHaveLength(2); // before the save and after the load
      expect(out).toMatch(/^ {4}left {6}no stratum-demo images in the store$/m);
      expect(out).toMatch(/^ {4}same id {3}true$/m);
      const kept = /^ {4}images {4}kept in .*: (.*)$/m.exec(out)?.[1]?.split(', ').sort();
      expect(kept).toEqual(['docker.io/stratum-demo/busybox:latest', 'docker.io/stratum-demo/httpd:1.1']);
      // A second run finds the images of the first and goes through again; --clean removes them.
      const again = await runExample('demo', '--root', root, '--clean');
      expect(again).toMatch(/^ {4}same id {3}true$/m);
      expect(again).toMatch(/^ {4}images {4}.* removed \(--clean\)$/m);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
