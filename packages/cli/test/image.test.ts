/**
 * The image verbs over a real store (@stratum/image) in a temp root, and pull/push/login
 * against a real docker-registry: table columns, -q, --format, errors and exit codes.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Store } from '@stratum/image';
import { RegistryClient } from '@stratum/registry-client';
import { guard, memoryImage, memoryLayer, randomTree, tarOf } from '@stratum/testing';
import { registryUnavailable, startRegistry, type RunningRegistry } from '../../registry-client/test/registry-fixture.js';
import { stratum, tempRoot } from './helpers.js';

// No leak check: nothing here makes kernel objects; the registry fixture's watchdog keeps
// starting `sleep` children that a per-test process check would blame on each test.

async function seed(root: string): Promise<{ idA: string; idB: string }> {
  await using store = await Store.open(root);
  const a = await memoryImage([memoryLayer(await tarOf(randomTree({ seed: 1, files: 5 })))], {
    created: '2020-01-01T00:00:00Z',
    config: { Cmd: ['/bin/sh'], Labels: { team: 'web' } },
    history: [{ created: '2020-01-01T00:00:00Z', created_by: '/bin/sh -c #(nop) ADD file:abc in / ' }, { created: '2020-01-01T00:00:01Z', created_by: '/bin/sh -c #(nop)  CMD ["/bin/sh"]', empty_layer: true }],
  });
  const b = await memoryImage([memoryLayer(await tarOf(randomTree({ seed: 2, files: 5 }))), memoryLayer(await tarOf(randomTree({ seed: 3, files: 3 })))], { created: '2021-06-01T00:00:00Z' });
  await store.write(a, ['busybox:latest', 'busybox:1.36']);
  await store.write(b, 'localhost:5000/team/app:1');
  return { idA: await a.configDigest(), idB: await b.configDigest() };
}

describe('stratum images / tag / rmi / history / image inspect', () => {
  let t: ReturnType<typeof tempRoot>;
  let ids: { idA: string; idB: string };
  beforeEach(async () => {
    t = tempRoot('image');
    ids = await seed(t.root);
  });
  afterEach(() => t.cleanup());

  it('images: Docker columns, newest first, -q unique IDs, --digests, --no-trunc, REPOSITORY filter', async () => {
    const r = await stratum(['images'], { root: t.root });
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^REPOSITORY\s{3,}TAG\s{3,}IMAGE ID\s{3,}CREATED\s{3,}SIZE$/);
    expect(lines[1]).toMatch(new RegExp(`^localhost:5000/team/app\\s+1\\s+${ids.idB.slice(7, 19)}\\s+\\d+ years ago\\s+\\d`));
    expect(lines.slice(2).map((l) => l.split(/\s{2,}/).slice(0, 3))).toEqual([
      ['busybox', '1.36', ids.idA.slice(7, 19)],
      ['busybox', 'latest', ids.idA.slice(7, 19)],
    ]);
    // Column start positions line up (tabwriter).
    expect(lines.every((l) => l.indexOf(lines[0]!.includes('TAG') ? l.split(/\s+/)[1]! : '') >= 0)).toBe(true);
    expect((await stratum(['images', '-q'], { root: t.root })).stdout).toBe(`${ids.idB.slice(7, 19)}\n${ids.idA.slice(7, 19)}\n`);
    expect((await stratum(['image', 'ls', '-q', '--no-trunc', 'busybox'], { root: t.root })).stdout).toBe(`${ids.idA}\n`);
    expect((await stratum(['images', '--format', '{{.Repository}}:{{.Tag}}', 'busybox:1*'], { root: t.root })).stdout).toBe('busybox:1.36\n');
    const dig = await stratum(['images', '--digests', 'localhost:5000/team/app'], { root: t.root });
    expect(dig.stdout.split('\n')[0]).toMatch(/^REPOSITORY\s+TAG\s+DIGEST\s+IMAGE ID/);
    expect(dig.stdout).toMatch(/sha256:[0-9a-f]{64}/);
    const tbl = await stratum(['images', '--format', 'table {{.ID}}\\t{{.Repository}}', '--filter', 'label=team=web'], { root: t.root });
    expect(tbl.stdout).toBe(`IMAGE ID       REPOSITORY\n${ids.idA.slice(7, 19)}   busybox\n${ids.idA.slice(7, 19)}   busybox\n`);
    expect((await stratum(['images', '--format', 'json', 'localhost:5000/team/app'], { root: t.root })).stdout).toMatch(/^\{"Containers":"N\/A",.*"Repository":"localhost:5000\/team\/app".*\}\n$|^\{.*"Repository":"localhost:5000\/team\/app".*\}\n$/);
  });

  it('tag by name and by ID prefix; rmi untags, deletes when the last ref goes, refuses an ID with several refs', async () => {
    expect(await stratum(['tag', 'busybox', 'myimage:1'], { root: t.root })).toEqual({ code: 0, stdout: '', stderr: '' });
    expect((await stratum(['tag', ids.idB.slice(7, 15), 'app:copy'], { root: t.root })).code).toBe(0);
    const listed = (await stratum(['images', '--format', '{{.Repository}}:{{.Tag}} {{.ID}}'], { root: t.root })).stdout;
    expect(listed).toContain(`myimage:1 ${ids.idA.slice(7, 19)}`);
    expect(listed).toContain(`app:copy ${ids.idB.slice(7, 19)}`);
    const conflict = await stratum(['rmi', ids.idA.slice(7, 19)], { root: t.root });
    expect(conflict.code).toBe(125);
    expect(conflict.stderr).toMatch(/must be forced.*multiple repositories/);
    expect(await stratum(['rmi', 'busybox:1.36', 'myimage:1'], { root: t.root })).toEqual({ code: 0, stdout: 'Untagged: busybox:1.36\nUntagged: myimage:1\n', stderr: '' });
    const last = await stratum(['rmi', 'busybox'], { root: t.root });
    expect(last.stdout).toBe(`Untagged: busybox:latest\nDeleted: ${ids.idA}\n`);
    // The blobs are gone from the store.
    await using store = await Store.open(t.root);
    expect(await store.blobs.has(ids.idA as `sha256:${string}`)).toBe(false);
    const forced = await stratum(['rmi', '-f', ids.idB.slice(7, 12)], { root: t.root });
    expect(forced.stdout.trimEnd().split('\n').sort()).toEqual([`Deleted: ${ids.idB}`, 'Untagged: app:copy', 'Untagged: localhost:5000/team/app:1']);
    expect((await stratum(['images', '-q'], { root: t.root })).stdout).toBe('');
  });

  it('rmi/tag of what does not exist: one line each, exit 1 (rmi) / 125 (tag)', async () => {
    const r = await stratum(['rmi', 'nosuch', 'busybox:1.36'], { root: t.root });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('stratum image rm: no such image: nosuch\n');
    expect(r.stdout).toBe('Untagged: busybox:1.36\n');
    const tg = await stratum(['tag', 'nosuch', 'x'], { root: t.root });
    expect(tg).toEqual({ code: 125, stdout: '', stderr: 'stratum image tag: no such image: nosuch\n' });
    const bad = await stratum(['tag', 'busybox', 'UPPER:case'], { root: t.root });
    expect(bad.code).toBe(125);
    expect(bad.stderr).toMatch(/^stratum image tag: invalid reference "UPPER:case".*\(INVALID_REFERENCE\)\n$/);
  });

  it('image inspect and inspect: Docker\'s fields, -f templates, --type, several names', async () => {
    const r = await stratum(['image', 'inspect', '-f', '{{.Id}} {{json .RepoTags}} {{.Config.Cmd}} {{index .Config.Labels "team"}} {{.RootFS.Type}} {{len .RootFS.Layers}}', 'busybox'], { root: t.root });
    expect(r).toEqual({ code: 0, stdout: `${ids.idA} ["busybox:1.36","busybox:latest"] [/bin/sh] web layers 1\n`, stderr: '' });
    const arr = JSON.parse((await stratum(['inspect', 'busybox', ids.idB.slice(7, 19)], { root: t.root })).stdout) as Array<{ Id: string; Os: string }>;
    expect(arr.map((x) => x.Id)).toEqual([ids.idA, ids.idB]);
    expect(arr[0]!.Os).toBe('linux');
    const typed = await stratum(['inspect', '--type', 'image', '-f', '{{.Id}}', 'localhost:5000/team/app:1'], { root: t.root });
    expect(typed.stdout).toBe(`${ids.idB}\n`);
    const miss = await stratum(['inspect', '--type', 'image', 'busybox', 'nosuch'], { root: t.root });
    expect(miss.code).toBe(1);
    expect(miss.stderr).toBe('stratum inspect: no such image: nosuch\n');
    expect(JSON.parse(miss.stdout)).toHaveLength(1);
  });

  it('history: newest first, image ID then <missing>, empty layers 0B, --no-trunc, -q, -H=false', async () => {
    const r = await stratum(['history', 'busybox'], { root: t.root });
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^IMAGE\s+CREATED\s+CREATED BY\s+SIZE\s+COMMENT$/);
    expect(lines[1]).toMatch(new RegExp(`^${ids.idA.slice(7, 19)}\\s+\\d+ years ago\\s+/bin/sh -c #\\(nop\\)  CMD \\["/bin/sh"\\]\\s+0B`));
    expect(lines[2]).toMatch(/^<missing>\s+\d+ years ago\s+\/bin\/sh -c #\(nop\) ADD file:abc in \/\s+\d+(\.\d+)?kB/);
    expect((await stratum(['history', '-q', 'busybox'], { root: t.root })).stdout).toBe(`${ids.idA.slice(7, 19)}\n<missing>\n`);
    const raw = await stratum(['history', '-H=false', '--format', '{{.CreatedSince}}|{{.Size}}', 'busybox'], { root: t.root });
    expect(raw.stdout.split('\n')[0]).toBe('2020-01-01T00:00:01Z|0');
  });
});

describe('stratum pull / push against docker-registry', () => {
  let reg: RunningRegistry | undefined;
  let t: ReturnType<typeof tempRoot>;
  beforeAll(async () => {
    if (registryUnavailable() === undefined) reg = await startRegistry();
  });
  afterAll(async () => {
    await reg?.stop();
  });
  beforeEach(async () => {
    t = tempRoot('pushpull');
    await seed(t.root);
  });
  afterEach(() => t.cleanup());

  it('push then pull into an empty store: Docker-like plain output (not a TTY), tags, digests', async (ctx) => {
    guard(ctx, 'tool:docker-registry');
    const target = `${reg!.host}/team/bb:1`;
    expect((await stratum(['tag', 'busybox', target], { root: t.root })).code).toBe(0);
    const pushed = await stratum(['push', target], { root: t.root });
    expect(pushed.code).toBe(0);
    const lines = pushed.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe(`The push refers to repository [${reg!.host}/team/bb]`);
    expect(lines).toContainEqual(expect.stringMatching(/^[0-9a-f]{12}: Preparing$/));
    expect(lines).toContainEqual(expect.stringMatching(/^[0-9a-f]{12}: Pushed$/));
    expect(lines[lines.length - 1]).toMatch(/^1: digest: sha256:[0-9a-f]{64} size: \d+$/);
    // A second push finds the layer there.
    expect((await stratum(['push', target], { root: t.root })).stdout).toMatch(/: Layer already exists\n/);
    // The registry has it (read by the registry client directly).
    await using client = new RegistryClient({ insecure: [reg!.host] });
    expect(await client.tags(`${reg!.host}/team/bb`)).toEqual(['1']);

    const t2 = tempRoot('pull');
    try {
      const pulled = await stratum(['pull', `${reg!.host}/team/bb:1`], { root: t2.root });
      expect(pulled.code).toBe(0);
      const pl = pulled.stdout.trimEnd().split('\n');
      expect(pl[0]).toBe('1: Pulling from team/bb');
      expect(pl).toContainEqual(expect.stringMatching(/^[0-9a-f]{12}: Pulling fs layer$/));
      expect(pl).toContainEqual(expect.stringMatching(/^[0-9a-f]{12}: Download complete$/));
      expect(pl.slice(-3)).toEqual([expect.stringMatching(/^Digest: sha256:[0-9a-f]{64}$/), `Status: Downloaded newer image for ${reg!.host}/team/bb:1`, `${reg!.host}/team/bb:1`]);
      const again = await stratum(['pull', `${reg!.host}/team/bb`], { root: t2.root });
      expect(again.stdout.split('\n')[0]).toBe('Using default tag: latest');
      expect(again.code).toBe(125);
      expect(again.stderr).toMatch(/^stratum image pull: .*MANIFEST_UNKNOWN|^stratum image pull: .*not found/i);
      const up = await stratum(['pull', '-q', `${reg!.host}/team/bb:1`], { root: t2.root });
      expect(up).toEqual({ code: 0, stdout: `${reg!.host}/team/bb:1\n`, stderr: '' });
      const same = await stratum(['pull', `${reg!.host}/team/bb:1`], { root: t2.root });
      expect(same.stdout).toMatch(/: Already exists\n/);
      expect(same.stdout).toContain(`Status: Image is up to date for ${reg!.host}/team/bb:1\n`);
      expect((await stratum(['images', '--format', '{{.Repository}}:{{.Tag}}'], { root: t2.root })).stdout).toBe(`${reg!.host}/team/bb:1\n`);
    } finally {
      t2.cleanup();
    }
  });

  it('push -a pushes every tag of the repository; a TTY gets progress bars', async (ctx) => {
    guard(ctx, 'tool:docker-registry');
    for (const tg of ['a', 'b']) await stratum(['tag', 'busybox', `${reg!.host}/multi:${tg}`], { root: t.root });
    const r = await stratum(['push', '--all-tags', `${reg!.host}/multi`], { root: t.root, tty: true });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/[\n\r]a: digest: sha256:[0-9a-f]{64} size: \d+\n/);
    expect(r.stdout).toMatch(/[\n\r]b: digest: sha256:[0-9a-f]{64} size: \d+\n/);
    await using client = new RegistryClient({ insecure: [reg!.host] });
    expect((await client.tags(`${reg!.host}/multi`)).sort()).toEqual(['a', 'b']);
    const t2 = tempRoot('pulltty');
    try {
      const p = await stratum(['pull', `${reg!.host}/multi:a`], { root: t2.root, tty: true });
      expect(p.code).toBe(0);
      expect(p.stdout).toMatch(/Download complete/);
    } finally {
      t2.cleanup();
    }
  });

  it('push of an image that is not in the store, and of an unreachable registry: one line, 125', async () => {
    const r = await stratum(['push', '127.0.0.1:1/nothing:1'], { root: t.root });
    expect(r.code).toBe(125);
    expect(r.stderr).toBe('stratum image push: an image does not exist locally with the tag: 127.0.0.1:1/nothing:1\n');
    await stratum(['tag', 'busybox', '127.0.0.1:1/bb:1'], { root: t.root });
    const u = await stratum(['push', '127.0.0.1:1/bb:1'], { root: t.root });
    expect(u.code).toBe(125);
    expect(u.stderr.split('\n')).toHaveLength(2);
    expect(u.stderr).toMatch(/^stratum image push: .*(REGISTRY_UNREACHABLE|ECONNREFUSED)/);
  });
});
