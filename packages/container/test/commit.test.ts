/**
 * commit: the seeds' examples — a container's change committed with a new CMD (busybox httpd
 * serving the page it wrote) runs as a new image reached through a published port; a deletion
 * (whiteout) is committed too; umoci reads the committed image from the store. Once per storage
 * driver; and the layer a vfs commit makes holds what an overlay commit of the same change holds.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { guard, useLeakCheck } from '@stratum/testing';
import { history, inspect as inspectImage } from '@stratum/image';
import { Container } from '../src/index.js';
import { DRIVERS, busyboxImage, collect, httpGet, tarListing, tempDir, useSuite, type TarMember } from './helpers.js';

useLeakCheck({ beforeEach, afterEach });

for (const [k, { name: driver, needs }] of DRIVERS.entries()) {
  const t = useSuite('commit', 240, { beforeAll, afterAll }, {
    driver,
    setup: async (s) => {
      await busyboxImage(s.rt, s.rootfs, 'busybox:latest');
    },
  });

  describe(`commit (${driver})`, () => {
    it('docker commit -p -a -m -c CMD: the new image serves the page through a published port', async (ctx) => {
      guard(ctx, ...needs, 'netns', 'nftables');
      // docker run --name b1 -it busybox; mkdir -p /data/html; echo '<h1>Busybox httpd server.</h1>' > /data/html/index.html
      await using b1 = await Container.run(
        { image: 'busybox:latest', name: 'stratum-b1', init: true, cmd: ['sh', '-c', 'mkdir -p /data/html && echo "<h1>Busybox httpd server.</h1>" > /data/html/index.html && echo ready && exec sleep 3600'] },
        { runtime: t.rt },
      );
      await b1.waitForLog('ready');
      // docker commit -p -a "stratum <dev@example.org>" -m "httpd on busybox" -c 'CMD ["/bin/httpd","-f","-h","/data/html"]' b1 httpd:1.1
      const r = await b1.commit({ ref: 'httpd:1.1', author: 'stratum <dev@example.org>', message: 'httpd on busybox', changes: ['CMD ["/bin/httpd","-f","-h","/data/html"]', 'EXPOSE 80'] });
      expect(r.id).toMatch(/^sha256:[0-9a-f]{64}$/);
      expect((await b1.inspect()).State.Status).toBe('running'); // unpaused again

      const store = await t.rt.store();
      const img = await store.image('httpd:1.1');
      const cfg = await img.config();
      expect(cfg.config?.Cmd).toEqual(['/bin/httpd', '-f', '-h', '/data/html']);
      expect(cfg.config?.ExposedPorts).toEqual({ '80/tcp': {} });
      expect(cfg.author).toBe('stratum <dev@example.org>');
      expect(cfg.rootfs.diff_ids).toHaveLength(2);
      const h = await history(img);
      expect(h[0]).toMatchObject({ CreatedBy: expect.stringContaining('sh -c mkdir -p /data/html'), Comment: 'httpd on busybox' });
      expect((await inspectImage(img, { refs: ['httpd:1.1'] })).Id).toBe(r.id);

      // docker run --name web -d -p 127.0.0.1:PORT:80 httpd:1.1; curl
      const port = 18100 + (process.pid % 300) * 3 + k;
      // (busybox httpd as PID 1 ignores SIGTERM: a short stop timeout, then SIGKILL, as docker stop -t 1.)
      await using web = await Container.run({ image: 'httpd:1.1', ports: [`127.0.0.1:${port}:80`], stopTimeout: 1 }, { runtime: t.rt });
      await web.waitForPort(80);
      const wi = await web.inspect();
      expect(wi.Config.Cmd).toEqual(['/bin/httpd', '-f', '-h', '/data/html']);
      expect(wi.Image).toBe(r.id);
      expect(await httpGet(`http://127.0.0.1:${port}/`)).toBe('<h1>Busybox httpd server.</h1>\n');
      expect(await httpGet(`http://${wi.NetworkSettings.IPAddress}/`)).toBe('<h1>Busybox httpd server.</h1>\n');
    });

    it('commits deletions (whiteouts) and a container made from a directory; umoci unpacks the result', async (ctx) => {
      guard(ctx, ...needs, 'tool:umoci');
      const c = await Container.run({ image: 'busybox:latest', network: 'none', cmd: ['sh', '-c', 'rm -rf /home/app /bin/vi; echo 42 > /root/answer'] }, { runtime: t.rt });
      expect((await c.wait()).exitCode).toBe(0);
      await c.commit({ ref: 'stratum-test/slim:1', changes: ['ENV SLIM=yes', 'WORKDIR /root'] });
      await c.remove();
      const d = await Container.run({ image: 'stratum-test/slim:1', network: 'none', cmd: ['sh', '-c', 'echo $SLIM $(pwd) $(cat answer); ls /home; test -e /bin/vi || echo no-vi'] }, { runtime: t.rt });
      await d.wait();
      expect(await collect(d.logs())).toBe('yes /root 42\nno-vi\n');

      // From a directory (no image): the directory becomes the first layer.
      const e = await Container.run({ rootfs: t.rootfs, network: 'none', cmd: ['sh', '-c', 'echo dir > /root/from-dir'] }, { runtime: t.rt });
      await e.wait();
      const er = await e.commit({ ref: 'stratum-test/fromdir:1' });
      await e.remove();
      const store = await t.rt.store();
      expect((await (await store.image('stratum-test/fromdir:1')).config()).rootfs.diff_ids).toHaveLength(2);
      expect(er.layer.diffID).toMatch(/^sha256:/);

      const out = tempDir('umoci');
      try {
        const u = spawnSync('umoci', ['unpack', '--image', `${store.root}:docker.io/stratum-test/slim:1`, join(out, 'bundle')], { encoding: 'utf8' });
        expect(u.stderr).not.toMatch(/error/i);
        expect(u.status).toBe(0);
        const rf = join(out, 'bundle', 'rootfs');
        expect(readFileSync(join(rf, 'root', 'answer'), 'utf8')).toBe('42\n');
        expect(existsSync(join(rf, 'bin', 'vi'))).toBe(false);
        expect(existsSync(join(rf, 'home', 'app'))).toBe(false);
        expect(existsSync(join(rf, 'bin', 'sh'))).toBe(true);
        const cfg = JSON.parse(readFileSync(join(out, 'bundle', 'config.json'), 'utf8')) as { process: { env: string[]; cwd: string } };
        expect(cfg.process.env).toContain('SLIM=yes');
        expect(cfg.process.cwd).toBe('/root');
      } finally {
        rmSync(out, { recursive: true, force: true });
        await d.remove();
      }
    });

    it('bad changes are refused before anything is written', async (ctx) => {
      guard(ctx, ...needs);
      const c = await Container.create({ image: 'busybox:latest', network: 'none', cmd: ['true'] }, { runtime: t.rt });
      await expect(c.commit({ ref: 'stratum-test/bad:1', changes: ['FROB x'] })).rejects.toMatchObject({ name: 'InvalidChangeError' });
      const store = await t.rt.store();
      expect((await store.list()).map((e) => e.ref)).not.toContain('docker.io/stratum-test/bad:1');
      await c.remove();
    });
  });
}

const eq = useSuite('commit-eq', 240, { beforeAll, afterAll }, {
  network: false,
  setup: async (s) => {
    await busyboxImage(s.rt, s.rootfs, 'busybox:latest');
  },
});

describe('commit across drivers', () => {
  it('the layer of a vfs commit holds what the layer of an overlay commit of the same change holds', async (ctx) => {
    guard(ctx, 'root', 'overlay');
    // New dirs and files, a copy-up (append), deletions of a file and of a tree, a mode change,
    // a symlink, a hard link pair, a file replaced by a directory.
    const change = [
      'mkdir -p /srv/a/b && echo new > /srv/a/b/f',
      'echo "extra:x:2000:2000::/:/bin/sh" >> /etc/passwd',
      'rm /bin/vi && rm -r /home/app',
      'chmod 700 /root',
      'ln -s /srv/a/b/f /srv/link && ln /srv/a/b/f /srv/hard',
      'rm /bin/ls && mkdir /bin/ls && echo dir > /bin/ls/inside',
    ].join(' && ');
    const store = await eq.rt.store();
    const layers: Record<string, Array<[string, TarMember]>> = {};
    for (const driver of ['overlay', 'vfs'] as const) {
      const c = await Container.run({ image: 'busybox:latest', network: 'none', driver, cmd: ['sh', '-c', change] }, { runtime: eq.rt });
      expect((await c.wait()).exitCode).toBe(0);
      expect((await c.inspect()).GraphDriver.Name).toBe(driver);
      const r = await c.commit({ compression: 'none' });
      layers[driver] = [...(await tarListing(store.blobs.path(r.layer.digest))).entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
      await c.remove();
    }
    // overlayfs marks a directory made where a lower had a file (/bin/ls) opaque, which hides
    // nothing there; the two-tree diff writes no marker for it. Such redundant markers aside, the
    // layers are entry for entry the same (names, types, modes, owners, sizes, contents, links).
    const [baseLayer] = await (await store.image('busybox:latest')).layers();
    const base = await tarListing(store.blobs.path(await baseLayer!.digest()));
    const redundant = (name: string): boolean => name.endsWith('/.wh..wh..opq') && base.get(name.slice(0, -'/.wh..wh..opq'.length))?.type !== 'directory';
    expect(layers.overlay!.filter(([n]) => redundant(n)).map(([n]) => n)).toEqual(['bin/ls/.wh..wh..opq']);
    expect(layers.vfs).toEqual(layers.overlay!.filter(([n]) => !redundant(n)));
    const names = layers.overlay!.map(([n]) => n);
    expect(names).toEqual(expect.arrayContaining(['srv/a/b/f', 'etc/passwd', 'bin/.wh.vi', 'home/.wh.app', 'root', 'srv/link', 'srv/hard', 'bin/ls/inside']));
  });
});
