/**
 * The seeds' workflows end to end through `stratum`, on a busybox-static image built in the test
 * (no registry): run from an image, commit a change with a new CMD (the httpd example), run the
 * result on a user-defined bridge network with a published port, reach it from another container
 * and from the host, volumes and --volumes-from, --network container:NAME, resource limits.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { request } from 'node:http';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { Store } from '@stratum/image';
import { guard, memoryImage, memoryLayer, useLeakCheck } from '@stratum/testing';
import { freePort, startRegistry } from '../../registry-client/test/registry-fixture.js';
import { busyboxRootfs, stratum, tempRoot } from './helpers.js';

useLeakCheck({ beforeEach, afterEach });

function httpGet(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    request(url, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve(body));
    })
      .on('error', reject)
      .end();
  });
}

describe('seeds end to end', () => {
  let t: ReturnType<typeof tempRoot>;
  const root = (): string => join(t.root, 'state');
  const run = (argv: string[], opts: { stdin?: string } = {}) => stratum(argv, { root: root(), ...opts });
  beforeAll(async () => {
    t = tempRoot('e2e');
    const rootfs = busyboxRootfs(join(t.root, 'rootfs'));
    const tar = execFileSync('tar', ['-C', rootfs, '-cf', '-', '.'], { maxBuffer: 64 << 20 });
    await using store = await Store.open(root());
    const image = await memoryImage([memoryLayer(tar, { compression: 'gzip' })], {
      created: new Date().toISOString(),
      config: { Cmd: ['/bin/sh'], Env: ['PATH=/usr/sbin:/usr/bin:/sbin:/bin'] },
      history: [{ created: new Date().toISOString(), created_by: 'tar of busybox-static' }],
    });
    await store.write(image, 'busybox:latest');
  });
  afterAll(() => t.cleanup());
  afterEach(async () => {
    const ids = (await run(['ps', '-aq', '--no-trunc'])).stdout.trim();
    if (ids !== '') await run(['rm', '-f', '-v', ...ids.split('\n')]);
    await run(['network', 'rm', '-f', 'stratum-e2e']);
  });

  it('commit -p -a -m -c a changed container, run the new image: the httpd example', async (ctx) => {
    guard(ctx, 'root', 'overlay', 'mount-ns', 'netns', 'nftables');
    expect((await run(['run', '--name', 'b1', '--network', 'none', 'busybox', 'sh', '-c', 'mkdir -p /var/www && echo "Welcome To My Httpd" > /var/www/index.html'])).code).toBe(0);
    const commit = await run(['commit', '-p', '-a', 'lxl', '-m', 'a home page', '-c', 'CMD ["/bin/httpd","-f","-p","80","-h","/var/www"]', '-c', 'EXPOSE 80', 'b1', 'httpd:1.1']);
    expect(commit.stderr).toBe('');
    expect(commit.stdout).toMatch(/^sha256:[0-9a-f]{64}\n$/);
    expect((await run(['images', '--format', '{{.Repository}}:{{.Tag}} {{.ID}}', 'httpd'])).stdout).toBe(`httpd:1.1 ${commit.stdout.slice(7, 19)}\n`);
    const img = await run(['image', 'inspect', '-f', '{{json .Config.Cmd}} {{.Author}} {{len .RootFS.Layers}}', 'httpd:1.1']);
    expect(img.stdout).toBe('["/bin/httpd","-f","-p","80","-h","/var/www"] lxl 2\n');
    expect((await run(['history', '--format', '{{.Comment}}', 'httpd:1.1'])).stdout.split('\n')[0]).toBe('a home page');

    expect((await run(['network', 'create', '--subnet', '10.231.66.0/24', '-o', 'com.docker.network.bridge.name=stratum-e2e0', 'stratum-e2e'])).code).toBe(0);
    const port = await freePort();
    const d = await run(['run', '-d', '--name', 'centos2', '--network', 'stratum-e2e', '-p', `127.0.0.1:${port}:80`, 'httpd:1.1']);
    expect(d.code, d.stderr).toBe(0);
    const ip = (await run(['inspect', '-f', '{{.NetworkSettings.IPAddress}}', 'centos2'])).stdout.trim();
    expect(ip).toMatch(/^10\.231\.66\.\d+$/);
    expect((await run(['ps', '--format', '{{.Names}} {{.Ports}}'])).stdout).toBe(`centos2 127.0.0.1:${port}->80/tcp\n`);
    // Another container on the network reaches it by its address.
    const wget = await run(['run', '--rm', '--network', 'stratum-e2e', 'busybox', 'wget', '-qO-', `http://${ip}/`]);
    expect(wget).toEqual({ code: 0, stdout: 'Welcome To My Httpd\n', stderr: '' });
    // A container sharing its network namespace reaches it on localhost (--network container:NAME).
    const shared = await run(['run', '--rm', '--network', 'container:centos2', 'busybox', 'wget', '-qO-', 'http://127.0.0.1/']);
    expect(shared.stdout).toBe('Welcome To My Httpd\n');
    // The host reaches it through the published port.
    expect(await httpGet(`http://127.0.0.1:${port}/`)).toBe('Welcome To My Httpd\n');
  });

  it('run of an image that is only in a registry: the implicit pull (Unable to find image … locally), then it runs', async (ctx) => {
    guard(ctx, 'root', 'overlay', 'mount-ns', 'tool:docker-registry');
    // The registry lives only inside this test, so that the leak check sees it gone.
    const reg = await startRegistry();
    const other = tempRoot('e2e-pull');
    try {
      const ref = `${reg.host}/seeds/busybox:1`;
      expect((await run(['tag', 'busybox', ref])).code).toBe(0);
      expect((await run(['push', '-q', ref])).code).toBe(0);
      const r = await stratum(['run', '--rm', '--network', 'none', ref, 'echo', 'hello from the registry'], { root: other.root });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toBe('hello from the registry\n');
      expect(r.stderr).toMatch(new RegExp(`^Unable to find image '${ref.replace(/[.]/g, '\\.')}' locally\n1: Pulling from seeds/busybox\n`));
      expect(r.stderr).toMatch(/Status: Downloaded newer image for /);
      const never = await stratum(['run', '--rm', '--pull', 'never', '--network', 'none', `${reg.host}/seeds/nothing:1`, 'true'], { root: other.root });
      expect(never.code).toBe(125);
    } finally {
      other.cleanup();
      await reg.stop();
    }
  });

  it('import -c -m from stdin, then run the imported image', async (ctx) => {
    guard(ctx, 'root', 'overlay', 'mount-ns');
    const tar = execFileSync('tar', ['-C', join(t.root, 'rootfs'), '-cf', '-', '.'], { maxBuffer: 64 << 20 });
    const imp = await stratum(['import', '-c', 'ENV GREETING=imported', '-c', 'CMD ["/bin/sh","-c","echo $GREETING"]', '-m', 'from a tarball', '-', 'imported:1'], { root: root(), stdin: Readable.from([tar]) });
    expect(imp.stderr).toBe('');
    expect(imp.stdout).toMatch(/^sha256:[0-9a-f]{64}\n$/);
    expect((await run(['history', '--format', '{{.Comment}}', 'imported:1'])).stdout).toBe('from a tarball\n');
    expect(await run(['run', '--rm', '--network', 'none', 'imported:1'])).toEqual({ code: 0, stdout: 'imported\n', stderr: '' });
  });

  it('volumes: -v named and bind, --volumes-from, volume ls; limits with -m/--cpus/--pids-limit', async (ctx) => {
    guard(ctx, 'root', 'overlay', 'mount-ns', 'cgroup-v1');
    const bind = join(t.root, 'b2');
    execFileSync('mkdir', ['-p', bind]);
    const w = await run(['run', '--name', 'bbox2', '--network', 'none', '-v', 'appdata:/data', '-v', `${bind}:/host`, 'busybox', 'sh', '-c', 'echo vol > /data/a; echo bind > /host/b']);
    expect(w.code, w.stderr).toBe(0);
    expect(execFileSync('cat', [join(bind, 'b')], { encoding: 'utf8' })).toBe('bind\n');
    expect((await run(['volume', 'ls', '-q'])).stdout).toBe('appdata\n');
    const r = await run(['run', '--rm', '--network', 'none', '--volumes-from', 'bbox2', 'busybox', 'cat', '/data/a', '/host/b']);
    expect(r).toEqual({ code: 0, stdout: 'vol\nbind\n', stderr: '' });
    const lim = await run(['run', '-d', '--name', 'lim', '--network', 'none', '-m', '64m', '--cpus', '0.5', '--pids-limit', '32', 'busybox', 'sleep', '100']);
    expect(lim.code, lim.stderr).toBe(0);
    expect((await run(['inspect', '-f', '{{.HostConfig.Memory}} {{.HostConfig.NanoCpus}} {{.HostConfig.PidsLimit}}', 'lim'])).stdout).toBe('67108864 500000000 32\n');
    // The kernel has them (cgroup v1 controllers on this host; the container's cgroup is stratum-<id>).
    const id = lim.stdout.trim();
    expect(readFileSync(`/sys/fs/cgroup/memory/stratum-${id}/memory.limit_in_bytes`, 'utf8')).toBe('67108864\n');
    expect(readFileSync(`/sys/fs/cgroup/pids/stratum-${id}/pids.max`, 'utf8')).toBe('32\n');
    expect((await run(['rm', '-v', 'bbox2'])).code).toBe(0);
    expect((await run(['volume', 'rm', 'appdata'])).stdout).toBe('appdata\n');
  });
});
