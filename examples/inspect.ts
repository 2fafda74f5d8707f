/**
 * inspect with field selection — the seeds'
 *
 *   docker inspect -f {{.NetworkSettings}} t2
 *   docker inspect -f {{.NetworkSettings.IPAddress}} t2
 *
 * two ways: the `stratum` CLI's `main` run in-process (`stratum --root DIR inspect -f … t2`, the
 * same program as the binary), and @stratum/cli's `renderTemplate` (its Go text/template subset)
 * on the object `container.inspect()` returns, for a Node program that has the container at hand.
 *
 *   npx tsx --conditions=stratum-source examples/inspect.ts      (as root)
 */
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { main, renderTemplate } from '@stratum/cli';
import { Container } from '@stratum/container';
import { busyboxTree, imageFromTree } from './lib/busybox.js';
import { exampleRuntime } from './lib/runtime.js';

await using ex = await exampleRuntime('insp', '10.178.9.0/24');
const { rt, store } = ex;
await imageFromTree(store, busyboxTree(join(ex.dir, 'rootfs')), 'busybox:latest', { Cmd: ['sh'] });

/** stratum runs the CLI in this process against the example's state dir and returns what it printed. */
async function stratum(...argv: string[]): Promise<string> {
  let out = '';
  let err = '';
  const stdout = new Writable({ write: (chunk, _enc, done) => ((out += String(chunk)), done()) });
  const stderr = new Writable({ write: (chunk, _enc, done) => ((err += String(chunk)), done()) });
  const code = await main(['--root', rt.root, ...argv], { stdout, stderr });
  if (code !== 0) throw new Error(`stratum ${argv.join(' ')}: exit ${code}: ${err.trim()}`);
  return out.trim();
}

// docker run -d --name t2 -m 64m busybox httpd -f -p 80
await using t2 = await Container.run(
  { image: 'busybox:latest', name: 't2', init: true, resources: { memory: '64m' }, labels: { tier: 'web' }, cmd: ['httpd', '-f', '-p', '80', '-h', '/var/www'] },
  { runtime: rt },
);
await t2.waitForPort(80);

// The CLI, in-process.
for (const template of ['{{.NetworkSettings.IPAddress}}', '{{.NetworkSettings}}', '{{.State.Status}} pid {{.State.Pid}}', '{{json .Config.Cmd}}', '{{range $name, $net := .NetworkSettings.Networks}}{{$name}}: {{$net.IPAddress}}/{{$net.IPPrefixLen}} via {{$net.Gateway}}{{end}}', '{{.HostConfig.Memory}} {{index .Config.Labels "tier"}}']) {
  console.log(`$ stratum inspect -f '${template}' t2\n${await stratum('inspect', '-f', template, 't2')}`);
}
console.log(`$ stratum inspect -f '{{.Id}} {{len .RootFS.Layers}} layer(s)' busybox:latest\n${await stratum('inspect', '-f', '{{.Id}} {{len .RootFS.Layers}} layer(s)', 'busybox:latest')}`);

// The same templates on the inspect object in this process.
const info = await t2.inspect();
console.log(`renderTemplate('{{.NetworkSettings.IPAddress}}', await t2.inspect()) → ${renderTemplate('{{.NetworkSettings.IPAddress}}', info)}`);
console.log(`renderTemplate('{{.Name}} {{.Config.Image}} {{.HostConfig.NetworkMode}}', …) → ${renderTemplate('{{.Name}} {{.Config.Image}} {{.HostConfig.NetworkMode}}', info)}`);
