/**
 * exampleRuntime: a state dir of its own for one example (a temp dir: image store, containers,
 * networks, volumes), with a default bridge network of its own (bridge interface and subnet named
 * for the example), so that examples never share state with each other or with the user's
 * ~/.local/share/stratum. Disposing it removes everything the example made: containers (forced),
 * what gc finds, every network of the state dir (bridge, veths, nft table), the temp dir.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Container, Runtime } from '@stratum/container';
import type { Store } from '@stratum/image';

/** ExampleRuntime: the runtime, its store and its temp dir; `await using` cleans up. */
export interface ExampleRuntime extends AsyncDisposable {
  rt: Runtime;
  store: Store;
  /** The temp dir (the state dir is `${dir}/root`; scratch files may go beside it). */
  dir: string;
}

/**
 * exampleRuntime opens a runtime in a fresh temp dir `stratum-example-NAME-*`. Its default network
 * (what `network: 'bridge'` or no network means) is named like its interface, `stratum-x` + `name`
 * (`name`: 1–6 of [a-z0-9], an interface name has at most 15 bytes), on `subnet`.
 */
export async function exampleRuntime(name: string, subnet: string): Promise<ExampleRuntime> {
  if (!/^[a-z0-9]{1,6}$/.test(name)) throw new TypeError(`exampleRuntime: name must be 1-6 of [a-z0-9] (it names an interface), got ${JSON.stringify(name)}`);
  const bridge = `stratum-x${name}`;
  const dir = mkdtempSync(join(tmpdir(), `stratum-example-${name}-`));
  // The default network gets an interface of its own (its nft table is `inet stratum_BRIDGE`), so
  // that it never meets the user's stratum0 or another example's bridge.
  const rt = await Runtime.open({ root: join(dir, 'root'), defaultNetwork: { name: bridge, bridge, subnet } });
  const store = await rt.store();
  return {
    rt,
    store,
    dir,
    async [Symbol.asyncDispose]() {
      for (const id of rt.state.ids()) {
        await (await Container.get(id, { runtime: rt })).remove({ force: true, volumes: true }).catch(() => undefined);
      }
      await rt.gc();
      for (const net of rt.networks.names()) {
        // The default network is recorded only once used; removing one never made is a no-op here.
        if (net !== rt.networks.defaultName || rt.networks.config(net).created !== '') await rt.networks.remove(net, { force: true });
      }
      await rt.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
