/**
 * Network modes as the container layer consumes them (`docker run --network MODE`): `bridge`
 * (a {@link BridgeNetwork}, by default the default one), `host` (the host's namespace), `none`
 * (a namespace with only `lo`), `{ container: other }` (share another container's namespace).
 */
import type { Attachment, AttachOptions, BridgeNetwork } from './bridge-network.js';
import { Netlink } from './netlink.js';
import { Netns } from './netns.js';

/** HasNetns: something that has a network namespace (a container, or a Netns itself). */
export type HasNetns = Netns | { readonly netns: Netns };

/**
 * NetworkMode: `'bridge'` (the default network, given when realizing), `{ bridge: network }` (a
 * specific network), `'host'`, `'none'`, or `{ container: other }`.
 */
export type NetworkMode = 'bridge' | 'host' | 'none' | { bridge: BridgeNetwork } | { container: HasNetns };

/** RealizeOptions: what {@link realizeNetworkMode} needs besides the mode. */
export interface RealizeOptions extends AttachOptions {
  /** The container's own new namespace (for `bridge` and `none`). */
  netns?: Netns;
  /** The default network, for the plain `'bridge'` mode. */
  defaultNetwork?: BridgeNetwork;
}

/** RealizedNetwork: a realized network mode: which namespace to run in, and how to undo the setup. */
export interface RealizedNetwork extends AsyncDisposable {
  mode: 'bridge' | 'host' | 'none' | 'container';
  /** The namespace the container joins; `undefined` for `host` (stay in the host's). */
  netns: Netns | undefined;
  /** The bridge endpoint, for `bridge`. */
  attachment?: Attachment;
  /** The network the endpoint is on, for `bridge`. */
  network?: BridgeNetwork;
  /** release undoes what realizing did (detaches from the bridge). Idempotent. */
  release(): Promise<void>;
}

/** networkModeNeedsNetns: true when the container needs a namespace of its own (`bridge`, `none`). */
export function networkModeNeedsNetns(mode: NetworkMode): boolean {
  return mode === 'bridge' || mode === 'none' || (typeof mode === 'object' && 'bridge' in mode);
}

/**
 * realizeNetworkMode sets up `mode` for a container: `bridge` attaches `opts.netns` to the network
 * (ports, ip … from `opts`); `none` brings `lo` up in `opts.netns` and nothing else; `host` does
 * nothing (the container keeps the host's namespace); `{ container }` hands back the other's
 * namespace. `release()` (or `await using`) undoes it.
 */
export async function realizeNetworkMode(mode: NetworkMode, opts: RealizeOptions = {}): Promise<RealizedNetwork> {
  const done = (r: Omit<RealizedNetwork, typeof Symbol.asyncDispose>): RealizedNetwork => ({ ...r, [Symbol.asyncDispose]: () => r.release() });
  if (mode === 'host') return done({ mode: 'host', netns: undefined, release: async () => undefined });
  if (mode === 'none') {
    const ns = need(opts.netns, 'none');
    using nl = await Netlink.open({ netns: ns });
    await nl.links.setUp('lo');
    return done({ mode: 'none', netns: ns, release: async () => undefined });
  }
  if (mode === 'bridge' || (typeof mode === 'object' && mode !== null && 'bridge' in mode)) {
    const network = mode === 'bridge' ? opts.defaultNetwork : mode.bridge;
    if (!network) throw new TypeError("realizeNetworkMode: 'bridge' needs opts.defaultNetwork");
    const ns = need(opts.netns, 'bridge');
    const { netns: _n, defaultNetwork: _d, ...attach } = opts;
    const a = await network.attach(ns, attach);
    let released = false;
    return done({
      mode: 'bridge',
      netns: ns,
      attachment: a,
      network,
      release: async () => {
        if (released) return;
        released = true;
        await network.detach(a);
      },
    });
  }
  if (typeof mode === 'object' && mode !== null && 'container' in mode) {
    const other = mode.container;
    const ns = other instanceof Netns ? other : other.netns;
    if (!(ns instanceof Netns)) throw new TypeError('realizeNetworkMode: { container } needs a Netns or an object with a netns');
    return done({ mode: 'container', netns: ns, release: async () => undefined });
  }
  throw new TypeError(`unknown network mode ${JSON.stringify(mode)} (bridge, host, none, { bridge }, { container })`);
}

function need(ns: Netns | undefined, mode: string): Netns {
  if (!ns) throw new TypeError(`realizeNetworkMode: mode ${mode} needs opts.netns (the container's new namespace)`);
  return ns;
}
