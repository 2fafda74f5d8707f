/**
 * The README's main job (`bash scripts/demo.sh`): Docker's basic workflow with no daemon and no
 * network access, each step a library call from this one Node process.
 *
 *   1. build a busybox-static image FROM scratch (createLayer → store → config)
 *   2. make a bridge network of its own
 *   3. run the image in namespaces with limits (memory, cpus, pids) on that network
 *   4. the seeds' httpd: a container writes a page, commit it with a new CMD
 *   5. run the committed image with a published port; fetch the page from the host
 *   6. save both images to one archive   7. remove them   8. load them back
 *   9. run the loaded httpd image
 *  10. clean up: containers, the network, the archive
 *
 * State: `--root DIR`, else `$STRATUM_ROOT`, else `~/.local/share/stratum` (the image store is
 * an OCI layout there; the `stratum` CLI uses the same default). The two images stay in the store
 * afterwards (`npx stratum images`), so you can go on from where the demo stops; a rerun replaces
 * their tags. `--clean` removes them at the end as well. Needs root (mounts, cgroups, netns).
 */
import { rmSync, mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { Container, Runtime, defaultRoot } from '@stratum/container';
import { loadDockerArchive, saveDockerArchive } from '@stratum/image-archive';
import { busyboxTree, imageFromTree } from './lib/busybox.js';
import { freePort, httpGet } from './lib/net.js';

const { values: args } = parseArgs({ options: { root: { type: 'string' }, clean: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h' } } });
if (args.help) {
  console.log('usage: bash scripts/demo.sh [--root DIR] [--clean]\n  --root DIR  state dir (default $STRATUM_ROOT or ~/.local/share/stratum)\n  --clean     also remove the demo\'s two images at the end');
  process.exit(0);
}
if (process.getuid?.() !== 0) {
  console.error('demo: run it as root (it mounts overlays, makes cgroups and a bridge network)');
  process.exit(1);
}

const BUSYBOX = 'stratum-demo/busybox:latest';
const HTTPD = 'stratum-demo/httpd:1.1';
const NETWORK = { name: 'stratum-demo', bridge: 'stratum-demo0', subnet: '10.177.0.0/24' };
const NAMES = ['stratum-demo-box', 'stratum-demo-b1', 'stratum-demo-web', 'stratum-demo-web2'];
const LIMITS = { memory: '64m', cpus: 0.5, pidsLimit: 64 };

/** Interrupted: thrown at the start of a step after SIGINT/SIGTERM. */
class Interrupted extends Error {}

let stepNo = 0;
function step(title: string, like?: string): void {
  if (interrupted) throw new Interrupted(interrupted);
  console.log(`\n[${++stepNo}] ${title}`);
  if (like) console.log(`    like: ${like}`);
}
function out(label: string, value: unknown): void {
  console.log(`    ${label.padEnd(9)} ${typeof value === 'string' ? value : JSON.stringify(value)}`);
}
const short = (d: string): string => d.slice(0, 19);
const mib = (n: number): string => `${(n / 1024 / 1024).toFixed(1)} MiB`;

const root = args.root ?? defaultRoot();
const scratch = mkdtempSync(join(tmpdir(), 'stratum-demo-'));
await using rt = await Runtime.open({ root });
const store = await rt.store();
console.log('Stratum demo: Docker\'s basic workflow as library calls, no daemon, no registry.');
console.log(`state dir: ${rt.root}  (image store, containers, networks; --root DIR or $STRATUM_ROOT for another)`);

/** removeOwn removes the demo's containers and its network, where they exist; returns what it removed. */
async function removeOwn(): Promise<string[]> {
  const removed: string[] = [];
  for (const name of NAMES) {
    try {
      await (await Container.get(name, { runtime: rt })).remove({ force: true, volumes: true });
      removed.push(`container ${name}`);
    } catch {
      // not there
    }
  }
  if (rt.networks.has(NETWORK.name)) {
    await rt.networks.remove(NETWORK.name, { force: true });
    removed.push(`network ${NETWORK.name} (bridge ${NETWORK.bridge}, its nft table)`);
  }
  return removed;
}

// What an interrupted earlier run may have left: its containers and its network.
await rt.gc();
for (const what of await removeOwn()) console.log(`(removed ${what}, left by an earlier run)`);

// Ctrl-C stops at the next step and cleans up (this process is the containers' monitor); a
// second one quits at once, and the next run removes what is left.
let interrupted: NodeJS.Signals | undefined;
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    if (interrupted) process.exit(130);
    interrupted = sig;
    console.log(`\n${sig}: stopping after this step, then cleaning up (again to quit at once)`);
  });
}

try {
  // 1. An image FROM scratch: busybox-static and its applet links as one layer.
  step('Build an image FROM scratch: busybox-static and its applet links as one layer', `printf 'FROM scratch\\nCOPY rootfs /\\nCMD ["sh"]\\n' | docker build -t ${BUSYBOX} -f - .`);
  const tree = busyboxTree(join(scratch, 'rootfs'));
  const built = await imageFromTree(store, tree, BUSYBOX, { Cmd: ['sh'] }, 'COPY busybox-static rootfs /');
  out('rootfs', `${tree}: /bin/busybox + applet symlinks, /etc/passwd, /tmp, /var/www`);
  out('layer', `${short(built.layer.digest)}… gzip ${mib(built.layer.size)} (diffID ${short(built.layer.diffID)}…)`);
  out('image', `${BUSYBOX}  id ${short(built.id)}…`);

  // 2. A bridge network of the demo's own (removed again at the end).
  step(`Create the bridge network ${NETWORK.name}`, `docker network create --subnet ${NETWORK.subnet} -o com.docker.network.bridge.name=${NETWORK.bridge} ${NETWORK.name}`);
  const net = await rt.networks.create(NETWORK);
  out('bridge', `${NETWORK.bridge} ${NETWORK.subnet}, gateway ${net.inspect().IPAM.Config[0]?.Gateway ?? '?'}, NAT ${net.inspect().Firewall?.Backend ?? 'none'}`);

  // 3. Namespaces, limits, the network.
  step('Run it in new namespaces with limits, on the bridge', `docker run --init -h box --network ${NETWORK.name} -m 64m --cpus 0.5 --pids-limit 64 ${BUSYBOX} sh -c '…'`);
  {
    await using box = await Container.run(
      {
        image: BUSYBOX,
        name: NAMES[0],
        hostname: 'box',
        network: NETWORK.name,
        init: true,
        resources: LIMITS,
        cmd: ['sh', '-c', 'echo "inside: hostname $(hostname), this shell is pid $$ (own PID namespace; --init is pid 1)"; echo "inside: $(ip -4 -o addr show eth0 | cut -d" " -f2-7)"; echo "inside: $(ls /bin | wc -l) entries in /bin"; echo ready; exec sleep 600'],
      },
      { runtime: rt },
    );
    await box.waitForLog('ready');
    for await (const line of box.logs()) if (line.text.startsWith('inside:')) console.log(`    ${line.text.trimEnd()}`);
    const i = await box.inspect();
    out('IP', `${i.NetworkSettings.IPAddress}/${i.NetworkSettings.IPPrefixLen} (inspect: NetworkSettings.IPAddress), gateway ${i.NetworkSettings.Gateway}`);
    const { memory, pids } = (await box.stats()).cgroup;
    out('cgroup', `memory limit ${typeof memory!.limit === 'number' ? mib(memory!.limit) : memory!.limit} (using ${mib(memory!.current)}), pids limit ${pids!.limit} (${pids!.current} running), cpus ${i.HostConfig.NanoCpus / 1e9}`);
    const ping = await box.exec(['ping', '-c', '1', '-W', '2', i.NetworkSettings.Gateway]);
    let pingOut = '';
    for await (const d of ping.stdout!) pingOut += String(d);
    const pingExit = await ping.wait();
    out('exec', `ping -c1 ${i.NetworkSettings.Gateway} (the host's end of the bridge): ${/1 packets received/.test(pingOut) ? 'answered' : 'no answer'} (exit ${pingExit.code ?? pingExit.signal})`);
  } // stopped and removed here
  out('removed', `${NAMES[0]} (container, its cgroup, veth and overlay mount)`);

  // 4. The seeds' httpd example: change a container, commit the change with a new CMD.
  step('A container writes a home page; commit it with a new CMD (the seeds\' httpd example)', `docker run --name b1 ${BUSYBOX} sh -c 'echo … > /var/www/index.html'; docker commit -p -a demo -m 'a home page' -c 'CMD ["/bin/httpd","-f","-p","80","-h","/var/www"]' b1 ${HTTPD}`);
  let committedId: string;
  {
    await using b1 = await Container.run(
      { image: BUSYBOX, name: NAMES[1], network: NETWORK.name, cmd: ['sh', '-c', 'echo "Welcome To My Httpd" > /var/www/index.html && echo wrote /var/www/index.html'] },
      { runtime: rt },
    );
    const exit = await b1.wait();
    for await (const line of b1.logs()) out('b1 says', line.text.trimEnd());
    out('b1 exit', exit.exitCode);
    const committed = await b1.commit({ ref: HTTPD, author: 'stratum demo', message: 'a home page', changes: ['CMD ["/bin/httpd","-f","-p","80","-h","/var/www"]', 'EXPOSE 80'] });
    committedId = committed.id;
    out('image', `${HTTPD}  id ${short(committed.id)}…, new layer ${short(committed.layer.digest)}… (${committed.layer.size} bytes: the container's upper dir)`);
    const cfg = await store.inspect(HTTPD);
    out('config', `Cmd ${JSON.stringify(cfg.Config.Cmd)}, ${cfg.RootFS.Layers.length} layers, author ${JSON.stringify(cfg.Author)}`);
  }

  // 5. Run the committed image; reach it through its IP and a published port.
  step('Run the committed image, publish port 80 on the host\'s loopback, fetch the page', `docker run -d -p 127.0.0.1:PORT:80 --network ${NETWORK.name} -m 64m ${HTTPD}; curl …`);
  {
    const port = await freePort();
    await using web = await Container.run({ image: HTTPD, name: NAMES[2], network: NETWORK.name, ports: [`127.0.0.1:${port}:80`], resources: LIMITS, init: true }, { runtime: rt });
    await web.waitForPort(80);
    const i = await web.inspect();
    out('cmd', `${JSON.stringify(i.Config.Cmd)} (from the image)`);
    out('IP', i.NetworkSettings.IPAddress);
    const direct = await httpGet(`http://${i.NetworkSettings.IPAddress}/`);
    out('GET', `http://${i.NetworkSettings.IPAddress}/ → ${direct.status} ${JSON.stringify(direct.body.trim())}`);
    const published = await httpGet(`http://127.0.0.1:${port}/`);
    out('GET', `http://127.0.0.1:${port}/ → ${published.status} ${JSON.stringify(published.body.trim())} (published port)`);
  }
  out('removed', NAMES[2]);

  // 6. save → 7. rmi → 8. load
  const archive = join(scratch, 'myimages.tar');
  step('Save both images to one archive', `docker save -o myimages.tar ${HTTPD} ${BUSYBOX}`);
  const saved = await saveDockerArchive(store, [HTTPD, BUSYBOX], archive);
  out('archive', `${archive} (${mib(statSync(archive).size)}; Docker 25 layout: manifest.json + OCI index)`);
  for (const s of saved) out('saved', `${s.tags.join(', ')}  id ${short(s.id)}…`);

  step('Remove both images from the store', `docker rmi ${HTTPD} ${BUSYBOX}`);
  for (const ref of [HTTPD, BUSYBOX]) out('untagged', `${ref}: ${await store.untag(ref)}`);
  const gone = await store.gc();
  out('gc', `${gone.removed.length} blobs removed (${mib(gone.bytes)})`);
  const left = (await store.list()).filter((e) => e.ref.includes('stratum-demo/'));
  out('left', left.length === 0 ? 'no stratum-demo images in the store' : left.map((e) => e.ref).join(', '));

  step('Load them back from the archive', 'docker load -i myimages.tar');
  const loaded = await loadDockerArchive(archive, store);
  for (const l of loaded) out('loaded', `${l.tags.join(', ')}  id ${short(l.id ?? '?')}…`);
  out('same id', String(loaded.some((l) => l.id === committedId)));

  // 9. Run one of the loaded images.
  step('Run the loaded httpd image', `docker run -d -p 127.0.0.1:PORT:80 --network ${NETWORK.name} ${HTTPD}; curl …`);
  {
    const port = await freePort();
    await using web2 = await Container.run({ image: HTTPD, name: NAMES[3], network: NETWORK.name, ports: [`127.0.0.1:${port}:80`], init: true }, { runtime: rt });
    await web2.waitForPort(80);
    const page = await httpGet(`http://127.0.0.1:${port}/`);
    out('GET', `http://127.0.0.1:${port}/ → ${page.status} ${JSON.stringify(page.body.trim())}`);
  }
  out('removed', NAMES[3]);
} catch (e) {
  if (!(e instanceof Interrupted)) throw e;
  process.exitCode = 130;
} finally {
  // 10. What the demo made for itself goes; the images stay unless --clean.
  interrupted = undefined;
  step('Clean up');
  for (const what of await removeOwn()) out('removed', what);
  rmSync(scratch, { recursive: true, force: true });
  out('scratch', `${scratch} removed (rootfs, archive)`);
  if (args.clean) {
    for (const ref of [HTTPD, BUSYBOX]) await store.untag(ref);
    await store.gc();
    out('images', `${HTTPD} and ${BUSYBOX} removed (--clean)`);
  } else {
    const kept = (await store.list()).filter((e) => e.ref.includes('stratum-demo/')).map((e) => e.ref);
    out('images', `kept in ${store.root}: ${kept.join(', ') || 'none'}`);
    const cli = rt.root === resolve(defaultRoot()) ? 'npx stratum' : `npx stratum --root ${rt.root}`;
    console.log(`    try:      ${cli} images; ${cli} run --rm --network none ${HTTPD} cat /var/www/index.html`);
  }
}
