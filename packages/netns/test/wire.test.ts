/**
 * Golden bytes for every message kind, without root. Where a comment says "= iproute2", the
 * expected bytes are what `ip` 6.1 sends for the same command (captured with `strace -xx -e
 * sendmsg`, sequence number zeroed); the others use the same layout with our attribute order.
 */
import { describe, expect, it } from 'vitest';
import {
  addressMessages,
  decodeAddress,
  decodeLink,
  decodeNeighbour,
  decodeRoute,
  encodeMessage,
  linkMessages,
  neighbourMessages,
  parseDone,
  parseError,
  routeMessages,
  splitMessages,
  toHex,
} from '../src/index.js';
import { LINK, NEIGH, ROUTE } from '../src/rtnl.js';

/** hex strips spaces and comments (`# …` to end of line) from a readable hex literal. */
function hex(s: string): string {
  return s
    .split('\n')
    .map((l) => l.replace(/#.*/, ''))
    .join('')
    .replace(/\s+/g, '')
    .toLowerCase();
}

function bytes(s: string): Uint8Array {
  return Uint8Array.from(Buffer.from(hex(s), 'hex'));
}

const Z16 = '00000000 00000000 00000000 00000000';

describe('link messages', () => {
  it('ip link add stbr0 type bridge (= iproute2)', () => {
    expect(toHex(linkMessages.add({ kind: 'bridge', name: 'stbr0' }))).toBe(
      hex(`
        3c000000 1000 0506 00000000 00000000   # nlmsghdr: len 60, RTM_NEWLINK, REQUEST|ACK|EXCL|CREATE
        ${Z16}                                 # ifinfomsg
        0a000300 73746272 30000000             # IFLA_IFNAME "stbr0"
        10001200 0a000100 62726964 67650000    # IFLA_LINKINFO { IFLA_INFO_KIND "bridge" }
      `),
    );
  });

  it('ip link add stv0 type veth peer name stv1 (= iproute2)', () => {
    expect(toHex(linkMessages.add({ kind: 'veth', name: 'stv0', peer: { name: 'stv1' } }))).toBe(
      hex(`
        5c000000 1000 0506 00000000 00000000
        ${Z16}
        09000300 73747630 00000000             # IFLA_IFNAME "stv0"
        30001200                               # IFLA_LINKINFO
          08000100 76657468                    #   IFLA_INFO_KIND "veth"
          24000200                             #   IFLA_INFO_DATA
            20000100 ${Z16}                    #     VETH_INFO_PEER: ifinfomsg
            09000300 73747631 00000000         #       IFLA_IFNAME "stv1"
      `),
    );
  });

  it('veth with the peer created in another netns, up, with master, mtu and mac', () => {
    const msg = linkMessages.add(
      { kind: 'veth', name: 'stv0', mtu: 1400, mac: '02:00:00:00:00:01', up: true, master: 'x', peer: { name: 'eth0', mac: '02:00:00:00:00:02' } },
      { masterIndex: 7, peerNetnsFd: 21 },
    );
    expect(toHex(msg)).toBe(
      hex(`
        8c000000 1000 0506 00000000 00000000
        00000000 00000000 01000000 01000000    # ifinfomsg: flags IFF_UP, change IFF_UP
        0a000100 02000000 00010000             # IFLA_ADDRESS
        09000300 73747630 00000000             # IFLA_IFNAME
        08000400 78050000                      # IFLA_MTU 1400
        08000a00 07000000                      # IFLA_MASTER 7
        44001200
          08000100 76657468
          38000200
            34000100
              ${Z16}
              0a000100 02000000 00020000       # peer IFLA_ADDRESS
              09000300 65746830 00000000       # peer IFLA_IFNAME "eth0"
              08001c00 15000000                # peer IFLA_NET_NS_FD 21
      `),
    );
  });

  it('ip link add std0 type dummy', () => {
    expect(toHex(linkMessages.add({ kind: 'dummy', name: 'std0' }))).toBe(
      hex(`
        3c000000 1000 0506 00000000 00000000
        ${Z16}
        09000300 73746430 00000000
        10001200 09000100 64756d6d 79000000    # IFLA_INFO_KIND "dummy"
      `),
    );
  });

  it('ip link add stm0 link stbr0 type macvlan mode bridge (iproute2 attributes, table order)', () => {
    expect(toHex(linkMessages.add({ kind: 'macvlan', name: 'stm0', parent: 'stbr0', mode: 'bridge' }, { parentIndex: 4 }))).toBe(
      hex(`
        50000000 1000 0506 00000000 00000000
        ${Z16}
        09000300 73746d30 00000000             # IFLA_IFNAME "stm0"
        08000500 04000000                      # IFLA_LINK 4
        1c001200
          0b000100 6d616376 6c616e00           # "macvlan"
          0c000200 08000100 04000000           # IFLA_INFO_DATA { IFLA_MACVLAN_MODE bridge }
      `),
    );
  });

  it('bridge options', () => {
    expect(toHex(linkMessages.add({ kind: 'bridge', name: 'stbr0', stp: false, vlanFiltering: true }))).toBe(
      hex(`
        50000000 1000 0506 00000000 00000000
        ${Z16}
        0a000300 73746272 30000000
        24001200 0a000100 62726964 67650000
          14000200 08000500 00000000 05000700 01000000   # STP_STATE 0, VLAN_FILTERING 1
      `),
    );
  });

  it('ip link set dev 3 down / up (= iproute2)', () => {
    expect(toHex(linkMessages.set(3, { up: false }))).toBe(hex(`20000000 1000 0500 00000000 00000000  00000000 03000000 00000000 01000000`));
    expect(toHex(linkMessages.set(3, { up: true }))).toBe(hex(`20000000 1000 0500 00000000 00000000  00000000 03000000 01000000 01000000`));
  });

  it('ip link set dev 3 mtu 1400 / master 4 / nomaster (= iproute2)', () => {
    const base = '28000000 1000 0500 00000000 00000000 00000000 03000000 00000000 00000000';
    expect(toHex(linkMessages.set(3, { mtu: 1400 }))).toBe(hex(`${base} 08000400 78050000`));
    expect(toHex(linkMessages.set(3, { master: 'stbr0' }, { masterIndex: 4 }))).toBe(hex(`${base} 08000a00 04000000`));
    expect(toHex(linkMessages.set(3, { master: null }))).toBe(hex(`${base} 08000a00 00000000`));
  });

  it('ip link set dev 2 netns FD (= iproute2)', () => {
    expect(toHex(linkMessages.set(2, { netns: 4 }, { netnsFd: 4 }))).toBe(
      hex(`28000000 1000 0500 00000000 00000000  00000000 02000000 00000000 00000000  08001c00 04000000`),
    );
  });

  it('ip link set dev 3 name eth0 address MAC, and by name', () => {
    expect(toHex(linkMessages.set(3, { name: 'eth0', mac: '02:aa:bb:cc:dd:ee' }))).toBe(
      hex(`
        38000000 1000 0500 00000000 00000000
        00000000 03000000 00000000 00000000
        0a000100 02aabbcc ddee0000             # IFLA_ADDRESS
        09000300 65746830 00000000             # IFLA_IFNAME "eth0"
      `),
    );
    expect(toHex(linkMessages.set('stv0', { up: true }))).toBe(
      hex(`2c000000 1000 0500 00000000 00000000  00000000 00000000 01000000 01000000  09000300 73747630 00000000`),
    );
    expect(() => linkMessages.set('stv0', { name: 'x' })).toThrow(TypeError);
  });

  it('ip link del dev 3 (= iproute2), by name, get, dump', () => {
    expect(toHex(linkMessages.delete(3))).toBe(hex(`20000000 1100 0500 00000000 00000000  00000000 03000000 00000000 00000000`));
    expect(toHex(linkMessages.delete('stv0'))).toBe(hex(`2c000000 1100 0500 00000000 00000000 ${Z16} 09000300 73747630 00000000`));
    expect(toHex(linkMessages.get('lo'))).toBe(hex(`28000000 1200 0500 00000000 00000000 ${Z16} 07000300 6c6f0000`));
    expect(toHex(linkMessages.dump())).toBe(hex(`20000000 1200 0103 00000000 00000000 ${Z16}`));
    expect(toHex(linkMessages.dump({ masterIndex: 4 }))).toBe(hex(`28000000 1200 0103 00000000 00000000 ${Z16} 08000a00 04000000`));
  });

  it('rejects bad names, kinds and values before anything is sent', () => {
    expect(() => linkMessages.add({ kind: 'bridge', name: 'a-name-longer-than-15' })).toThrow(/1-15 bytes/);
    expect(() => linkMessages.add({ kind: 'bridge', name: 'a/b' })).toThrow(TypeError);
    expect(() => linkMessages.add({ kind: 'vxlan', name: 'x' } as never)).toThrow(/unsupported kind/);
    expect(() => linkMessages.add({ kind: 'veth', name: 'x' } as never)).toThrow(/peer/);
    expect(() => linkMessages.set(1, { mtu: 10 })).toThrow(/mtu/);
    expect(() => linkMessages.set(1, { mac: 'zz' })).toThrow(/MAC/);
    expect(() => linkMessages.add({ kind: 'macvlan', name: 'm', parent: 1, mode: 'weird' as never }, { parentIndex: 1 })).toThrow(/mode/);
  });
});

describe('address messages', () => {
  it('ip addr add 10.88.0.2/16 dev 4 (= iproute2 without brd)', () => {
    expect(toHex(addressMessages.add(4, '10.88.0.2/16', { broadcast: false }))).toBe(
      hex(`
        28000000 1400 0506 00000000 00000000
        02100000 04000000                      # ifaddrmsg: AF_INET, /16, flags 0, scope 0, index 4
        08000200 0a580002                      # IFA_LOCAL
        08000100 0a580002                      # IFA_ADDRESS
      `),
    );
  });

  it('ip addr add 10.88.0.2/16 brd + dev 4 (the default)', () => {
    expect(toHex(addressMessages.add(4, '10.88.0.2/16'))).toBe(
      hex(`30000000 1400 0506 00000000 00000000  02100000 04000000  08000200 0a580002  08000100 0a580002  08000400 0a58ffff`),
    );
  });

  it('ip -6 addr add fd00::2/64 dev 3 (= iproute2), nodad, replace, loopback scope', () => {
    const v6 = 'fd000000 00000000 00000000 00000002';
    expect(toHex(addressMessages.add(3, 'fd00::2/64'))).toBe(
      hex(`40000000 1400 0506 00000000 00000000  0a400000 03000000  14000200 ${v6}  14000100 ${v6}`),
    );
    expect(toHex(addressMessages.add(3, 'fd00::2/64', { noDad: true, replace: true }))).toBe(
      hex(`40000000 1400 0505 00000000 00000000  0a400200 03000000  14000200 ${v6}  14000100 ${v6}`),
    );
    expect(toHex(addressMessages.add(1, '127.0.0.2/8', { broadcast: false }))).toBe(
      hex(`28000000 1400 0506 00000000 00000000  020800fe 01000000  08000200 7f000002  08000100 7f000002`),
    );
  });

  it('noprefixroute goes in IFA_FLAGS; label', () => {
    expect(toHex(addressMessages.add(2, '10.0.0.1/24', { broadcast: false, noPrefixRoute: true, label: 'eth0:1' }))).toBe(
      hex(`
        3c000000 1400 0506 00000000 00000000
        02180000 02000000
        08000200 0a000001 08000100 0a000001
        0b000300 65746830 3a310000             # IFA_LABEL "eth0:1"
        08000800 00020000                      # IFA_FLAGS NOPREFIXROUTE
      `),
    );
  });

  it('ip addr del 10.88.0.2/16 dev 3 (= iproute2); dump', () => {
    expect(toHex(addressMessages.del(3, '10.88.0.2/16'))).toBe(
      hex(`28000000 1500 0500 00000000 00000000  02100000 03000000  08000200 0a580002  08000100 0a580002`),
    );
    expect(toHex(addressMessages.dump({ family: 4, index: 3 }))).toBe(hex(`18000000 1600 0103 00000000 00000000  02000000 03000000`));
  });

  it('rejects bad prefixes', () => {
    expect(() => addressMessages.add(1, '10.0.0.1/33')).toThrow(/prefix length/);
    expect(() => addressMessages.add(1, '10.0.0')).toThrow(/not an IPv4 or IPv6/);
    expect(() => addressMessages.add(0, '10.0.0.1/8')).toThrow(/ifindex/);
  });

  it('decodes an RTM_NEWADDR the kernel sent', () => {
    const reply = bytes(`
      58000000 1400 2200 01000000 07540000
      02108000 03000000
      08000100 0a580002 08000200 0a580002 08000400 0a58ffff
      09000300 73747630 00000000 08000800 80000000
      14000600 ffffffff ffffffff 14470900 14470900
    `);
    const [m] = splitMessages(reply);
    expect(decodeAddress(m!)).toEqual({
      index: 3,
      family: 4,
      address: '10.88.0.2',
      prefixLength: 16,
      cidr: '10.88.0.2/16',
      scope: 'universe',
      flags: 0x80,
      broadcast: '10.88.255.255',
      label: 'stv0',
    });
  });
});

describe('route messages', () => {
  it('ip route add default via 10.88.0.1 (= iproute2)', () => {
    expect(toHex(routeMessages.add({ dst: 'default', gateway: '10.88.0.1' }))).toBe(
      hex(`
        24000000 1800 0506 00000000 00000000
        02000000 fe030001 00000000             # rtmsg: AF_INET, /0, main, boot, universe, unicast
        08000500 0a580001                      # RTA_GATEWAY
      `),
    );
  });

  it('ip route add 10.66.0.0/16 dev 3 (= iproute2)', () => {
    expect(toHex(routeMessages.add({ dst: '10.66.0.0/16', dev: 'x' }, 3))).toBe(
      hex(`2c000000 1800 0506 00000000 00000000  02100000 fe03fd01 00000000  08000100 0a420000  08000400 03000000`),
    );
  });

  it('ip route del default (= iproute2)', () => {
    expect(toHex(routeMessages.del({ dst: 'default' }))).toBe(hex(`1c000000 1900 0500 00000000 00000000  02000000 fe00ff00 00000000`));
  });

  it('IPv6 default, replace, metric, src, big table, mtu; network address of the dst', () => {
    expect(toHex(routeMessages.add({ dst: 'default', gateway: 'fd00::1', metric: 100 }, undefined, { replace: true }))).toBe(
      hex(`
        38000000 1800 0505 00000000 00000000
        0a000000 fe030001 00000000
        14000500 fd000000 00000000 00000000 00000001   # RTA_GATEWAY
        08000600 64000000                              # RTA_PRIORITY 100
      `),
    );
    expect(toHex(routeMessages.add({ dst: '10.1.2.3/8', src: '10.0.0.5', table: 1000, mtu: 1280 }, 2))).toBe(
      hex(`
        48000000 1800 0506 00000000 00000000
        02080000 0003fd01 00000000             # table RT_TABLE_UNSPEC in the header …
        08000100 0a000000                      # RTA_DST 10.0.0.0
        08000400 02000000                      # RTA_OIF
        08000700 0a000005                      # RTA_PREFSRC
        0c000800 08000200 00050000             # RTA_METRICS { RTAX_MTU 1280 }
        08000f00 e8030000                      # … and RTA_TABLE 1000
      `),
    );
    expect(toHex(routeMessages.dump({ family: 4 }))).toBe(hex(`1c000000 1a00 0103 00000000 00000000  02000000 fe000000 00000000`));
    expect(() => routeMessages.add({ dst: '10.0.0.0/8', gateway: 'fd00::1' })).toThrow(/family/);
  });

  it('decodes a route', () => {
    const msg = encodeMessage({ type: 24, flags: 2, seq: 1, pid: 0 }, ROUTE, { family: 2, dstLen: 16, table: 254, protocol: 2, scope: 253, type: 1 }, { dst: '10.88.0.0', oif: 5, prefsrc: '10.88.0.1' });
    expect(decodeRoute(splitMessages(msg)[0]!)).toEqual({ family: 4, dst: '10.88.0.0/16', table: 254, protocol: 2, scope: 253, type: 1, oif: 5, src: '10.88.0.1' });
  });
});

describe('neighbour messages', () => {
  it('ip neigh add 10.88.0.9 lladdr 02:00:00:00:00:09 dev 3 nud permanent (= iproute2)', () => {
    expect(toHex(neighbourMessages.add(3, { ip: '10.88.0.9', mac: '02:00:00:00:00:09' }))).toBe(
      hex(`
        30000000 1c00 0506 00000000 00000000
        02000000 03000000 80000000             # ndmsg: AF_INET, ifindex 3, NUD_PERMANENT
        08000100 0a580009                      # NDA_DST
        0a000200 02000000 00090000             # NDA_LLADDR
      `),
    );
  });

  it('ip neigh del 10.88.0.9 dev 3 (= iproute2); replace; dump', () => {
    expect(toHex(neighbourMessages.del(3, '10.88.0.9'))).toBe(hex(`24000000 1d00 0500 00000000 00000000  02000000 03000000 80000000  08000100 0a580009`));
    expect(toHex(neighbourMessages.add(3, { ip: '10.88.0.9', mac: '02:00:00:00:00:09', state: 'reachable' }, { replace: true }).subarray(4, 8))).toBe(hex('1c00 0505'));
    expect(toHex(neighbourMessages.dump({ family: 4, index: 3 }))).toBe(hex(`24000000 1e00 0103 00000000 00000000  02000000 00000000 00000000  08000800 03000000`));
  });

  it('decodes a neighbour', () => {
    const msg = encodeMessage({ type: 28, flags: 0, seq: 1, pid: 0 }, NEIGH, { family: 2, ifindex: 3, state: 0x02 }, { dst: '10.88.0.9', lladdr: '02:00:00:00:00:09' });
    expect(decodeNeighbour(splitMessages(msg)[0]!)).toEqual({ index: 3, family: 4, ip: '10.88.0.9', mac: '02:00:00:00:00:09', state: ['reachable'], flags: 0 });
  });
});

describe('decoding links', () => {
  it('decodes a veth message with kind, master, peer netnsid and stats', () => {
    const stats = new Uint8Array(200);
    new DataView(stats.buffer).setBigUint64(16, 1234n, true); // rx_bytes
    const msg = encodeMessage({ type: 16, flags: 0, seq: 1, pid: 0 }, LINK, { type: 1, index: 7, flags: 0x11043 }, {
      ifname: 'stv0',
      mtu: 1500,
      address: '02:00:00:00:00:01',
      master: 3,
      link: 2,
      linkNetnsid: 0,
      operstate: 6,
      stats64: stats,
      linkinfo: { kind: 'veth', slaveKind: 'bridge' },
    });
    const l = decodeLink(splitMessages(msg)[0]!);
    expect(l).toMatchObject({ index: 7, name: 'stv0', kind: 'veth', slaveKind: 'bridge', up: true, lowerUp: true, operState: 'up', mtu: 1500, mac: '02:00:00:00:00:01', master: 3, parentIndex: 2, parentNetnsId: 0 });
    expect(l.stats?.rxBytes).toBe(1234);
  });
});

describe('ACKs and errors', () => {
  it('parses an uncapped error with the extended ACK text (captured from the kernel)', () => {
    const request = `3c000000 1000 0506 74520b6b 00000000 ${Z16} 09000300 73746430 00000000 10001200 09000100 64756d6d 79000000`;
    const reply = bytes(`
      68000000 0200 0002 74520b6b 07540000     # NLMSG_ERROR, NLM_F_ACK_TLVS
      a1ffffff                                 # error -95 (EOPNOTSUPP)
      ${request}                               # the whole request echoed (not capped)
      18000100 556e6b6e 6f776e20 64657669 63652074 79706500   # NLMSGERR_ATTR_MSG
    `);
    const [m] = splitMessages(reply);
    expect(m!.type).toBe(2);
    const a = parseError(m!);
    expect(a.errno).toBe(95);
    expect(a.message).toBe('Unknown device type');
    expect(a.request).toEqual({ len: 60, type: 16, flags: 0x605, seq: 0x6b0b5274, pid: 0 });
  });

  it('parses a capped error with message and offset, and a plain ACK', () => {
    const capped = bytes(`
      44000000 0200 0003 05000000 00000000     # NLM_F_CAPPED|NLM_F_ACK_TLVS
      eaffffff                                 # -22 EINVAL
      28000000 1400 0506 05000000 00000000     # request header only
      17000100 496e7661 6c696420 70726566 6978206c 656e0000   # "Invalid prefix len"
      08000200 20000000                        # NLMSGERR_ATTR_OFFS 32
    `);
    const a = parseError(splitMessages(capped)[0]!);
    expect(a).toMatchObject({ errno: 22, message: 'Invalid prefix len', offset: 32 });
    const ack = bytes(`24000000 0200 0001 09000000 00000000  00000000  20000000 1000 0500 09000000 00000000`);
    expect(parseError(splitMessages(ack)[0]!)).toMatchObject({ errno: 0 });
  });

  it('parses NLMSG_DONE with and without an error', () => {
    expect(parseDone(splitMessages(bytes('14000000 0300 0200 01000000 00000000 00000000'))[0]!)).toEqual({ errno: 0 });
    const failed = bytes('24000000 0300 0202 01000000 00000000 f4ffffff 0e000100 6e6f206d 656d6f72 79000000');
    expect(parseDone(splitMessages(failed)[0]!)).toEqual({ errno: 12, message: 'no memory' });
  });

  it('splits datagrams with several messages and rejects a bad length', () => {
    const two = bytes('14000000 0300 0200 01000000 00000000 00000000  14000000 0300 0200 02000000 00000000 00000000');
    expect(splitMessages(two).map((m) => m.seq)).toEqual([1, 2]);
    expect(() => splitMessages(bytes('40000000 0300 0200 01000000 00000000'))).toThrow(RangeError);
  });
});
