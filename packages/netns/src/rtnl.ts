/**
 * rtnetlink as tables: message types, flags, family headers (ifinfomsg, ifaddrmsg, rtmsg, ndmsg)
 * and attribute spaces (IFLA_*, IFA_*, RTA_*, NDA_*), with the numbers of the kernel's uapi
 * headers (linux/netlink.h, rtnetlink.h, if_link.h, if_addr.h, neighbour.h).
 */
import { defineAttrs, type AttrTable, type MessageSchema, type StructSchema } from './codec.js';

/** NLMSG: netlink control message types. */
export const NLMSG = { NOOP: 1, ERROR: 2, DONE: 3, OVERRUN: 4 } as const;

/** NLM_F: nlmsghdr flags (request side and ACK side). */
export const NLM_F = {
  REQUEST: 0x1,
  MULTI: 0x2,
  ACK: 0x4,
  ECHO: 0x8,
  DUMP_INTR: 0x10,
  DUMP_FILTERED: 0x20,
  // GET requests
  ROOT: 0x100,
  MATCH: 0x200,
  ATOMIC: 0x400,
  DUMP: 0x300,
  // NEW requests
  REPLACE: 0x100,
  EXCL: 0x200,
  CREATE: 0x400,
  APPEND: 0x800,
  // ACKs
  CAPPED: 0x100,
  ACK_TLVS: 0x200,
} as const;

/** RTM: rtnetlink message types. */
export const RTM = {
  NEWLINK: 16,
  DELLINK: 17,
  GETLINK: 18,
  SETLINK: 19,
  NEWADDR: 20,
  DELADDR: 21,
  GETADDR: 22,
  NEWROUTE: 24,
  DELROUTE: 25,
  GETROUTE: 26,
  NEWNEIGH: 28,
  DELNEIGH: 29,
  GETNEIGH: 30,
} as const;

/** rtmTypeName names a message type for errors ("RTM_NEWLINK"). */
export function rtmTypeName(type: number): string {
  for (const [k, v] of Object.entries(RTM)) if (v === type) return `RTM_${k}`;
  for (const [k, v] of Object.entries(NLMSG)) if (v === type) return `NLMSG_${k}`;
  return `type ${type}`;
}

/** IFF: interface flags (linux/if.h). */
export const IFF = {
  UP: 0x1,
  BROADCAST: 0x2,
  LOOPBACK: 0x8,
  POINTOPOINT: 0x10,
  RUNNING: 0x40,
  NOARP: 0x80,
  PROMISC: 0x100,
  MULTICAST: 0x1000,
  LOWER_UP: 0x10000,
  DORMANT: 0x20000,
} as const;

/** IFA_F: IFA_F_* address flags. */
export const IFA_F = {
  SECONDARY: 0x01,
  NODAD: 0x02,
  OPTIMISTIC: 0x04,
  DADFAILED: 0x08,
  HOMEADDRESS: 0x10,
  DEPRECATED: 0x20,
  TENTATIVE: 0x40,
  PERMANENT: 0x80,
  MANAGETEMPADDR: 0x100,
  NOPREFIXROUTE: 0x200,
} as const;

/** RT_SCOPE: address / route scopes. */
export const RT_SCOPE = { universe: 0, site: 200, link: 253, host: 254, nowhere: 255 } as const;
/** RT_TABLE: route tables. */
export const RT_TABLE = { unspec: 0, default: 253, main: 254, local: 255 } as const;
/** RTPROT: route protocols (who installed it). */
export const RTPROT = { unspec: 0, redirect: 1, kernel: 2, boot: 3, static: 4, dhcp: 16 } as const;
/** RTN: route types. */
export const RTN = {
  unspec: 0,
  unicast: 1,
  local: 2,
  broadcast: 3,
  anycast: 4,
  multicast: 5,
  blackhole: 6,
  unreachable: 7,
  prohibit: 8,
  throw: 9,
  nat: 10,
} as const;
/** NUD: neighbour states (NUD_*). */
export const NUD = {
  none: 0x00,
  incomplete: 0x01,
  reachable: 0x02,
  stale: 0x04,
  delay: 0x08,
  probe: 0x10,
  failed: 0x20,
  noarp: 0x40,
  permanent: 0x80,
} as const;
/** MACVLAN_MODE: MACVLAN modes. */
export const MACVLAN_MODE = { private: 1, vepa: 2, bridge: 4, passthru: 8, source: 16 } as const;

/** IFINFOMSG: struct ifinfomsg (16 bytes). */
export const IFINFOMSG: StructSchema = {
  name: 'ifinfomsg',
  fields: [
    ['family', 'u8'],
    ['pad', 'pad8'],
    ['type', 'u16'],
    ['index', 's32'],
    ['flags', 'u32'],
    ['change', 'u32'],
  ],
};

/** IFADDRMSG: struct ifaddrmsg (8 bytes). */
export const IFADDRMSG: StructSchema = {
  name: 'ifaddrmsg',
  fields: [
    ['family', 'u8'],
    ['prefixlen', 'u8'],
    ['flags', 'u8'],
    ['scope', 'u8'],
    ['index', 'u32'],
  ],
};

/** RTMSG: struct rtmsg (12 bytes). */
export const RTMSG: StructSchema = {
  name: 'rtmsg',
  fields: [
    ['family', 'u8'],
    ['dstLen', 'u8'],
    ['srcLen', 'u8'],
    ['tos', 'u8'],
    ['table', 'u8'],
    ['protocol', 'u8'],
    ['scope', 'u8'],
    ['type', 'u8'],
    ['flags', 'u32'],
  ],
};

/** NDMSG: struct ndmsg (12 bytes). */
export const NDMSG: StructSchema = {
  name: 'ndmsg',
  fields: [
    ['family', 'u8'],
    ['pad1', 'pad8'],
    ['pad2', 'pad16'],
    ['ifindex', 's32'],
    ['state', 'u16'],
    ['flags', 'u8'],
    ['type', 'u8'],
  ],
};

/** IFLA_BR: IFLA_BR_* (bridge options inside IFLA_INFO_DATA). */
export const IFLA_BR: AttrTable = defineAttrs('IFLA_BR', {
  forwardDelay: [1, 'u32'],
  helloTime: [2, 'u32'],
  maxAge: [3, 'u32'],
  ageingTime: [4, 'u32'],
  stpState: [5, 'u32'],
  priority: [6, 'u16'],
  vlanFiltering: [7, 'u8'],
  vlanProtocol: [8, 'be16'],
  groupFwdMask: [9, 'u16'],
  mcastSnooping: [23, 'u8'],
  nfCallIptables: [36, 'u8'],
  vlanDefaultPvid: [39, 'u16'],
});

/** IFLA_MACVLAN: IFLA_MACVLAN_* */
export const IFLA_MACVLAN: AttrTable = defineAttrs('IFLA_MACVLAN', {
  mode: [1, 'u32'],
  flags: [2, 'u16'],
});

/** Kinds with no IFLA_INFO_DATA of their own (dummy) still get an empty table. */
const NO_DATA: AttrTable = defineAttrs('IFLA_INFO_DATA', {});

// Declared before IFLA so VETH_INFO can refer to LINK lazily (a veth peer is a whole link message).
// eslint-disable-next-line prefer-const
let LINK_SCHEMA: MessageSchema;

/** VETH_INFO: VETH_INFO_* : the peer is an ifinfomsg followed by IFLA attributes. */
export const VETH_INFO: AttrTable = {
  name: 'VETH_INFO',
  attrs: {
    get peer() {
      return { type: 1, kind: { message: LINK_SCHEMA } };
    },
  },
};

/** infoDataTable: the IFLA_INFO_DATA table for a link kind. */
export function infoDataTable(kind: unknown): AttrTable | undefined {
  switch (kind) {
    case 'veth':
      return VETH_INFO;
    case 'bridge':
      return IFLA_BR;
    case 'macvlan':
    case 'macvtap':
      return IFLA_MACVLAN;
    case 'dummy':
      return NO_DATA;
    default:
      return undefined;
  }
}

/** IFLA_INFO: IFLA_INFO_* (inside IFLA_LINKINFO). */
export const IFLA_INFO: AttrTable = defineAttrs('IFLA_INFO', {
  kind: [1, 'chars'],
  data: [2, { union: (s) => infoDataTable(s.kind) }],
  slaveKind: [4, 'chars'],
});

/** IFLA: IFLA_* link attributes. */
export const IFLA: AttrTable = defineAttrs('IFLA', {
  address: [1, 'mac'],
  broadcast: [2, 'mac'],
  ifname: [3, 'string'],
  mtu: [4, 'u32'],
  link: [5, 'u32'],
  qdisc: [6, 'string'],
  master: [10, 'u32'],
  txqlen: [13, 'u32'],
  operstate: [16, 'u8'],
  linkmode: [17, 'u8'],
  linkinfo: [18, { nested: IFLA_INFO }],
  netNsPid: [19, 'u32'],
  ifalias: [20, 'string'],
  stats64: [23, 'bytes'],
  group: [27, 'u32'],
  netNsFd: [28, 'u32'],
  extMask: [29, 'u32'],
  promiscuity: [30, 'u32'],
  numTxQueues: [31, 'u32'],
  numRxQueues: [32, 'u32'],
  carrier: [33, 'u8'],
  carrierChanges: [35, 'u32'],
  linkNetnsid: [37, 's32'],
  protoDown: [39, 'u8'],
  newNetnsid: [45, 's32'],
  targetNetnsid: [46, 's32'],
  minMtu: [50, 'u32'],
  maxMtu: [51, 'u32'],
  permAddress: [54, 'mac'],
});

LINK_SCHEMA = { header: IFINFOMSG, attrs: IFLA };
/** LINK: RTM_{NEW,DEL,GET,SET}LINK: ifinfomsg + IFLA_*. */
export const LINK: MessageSchema = LINK_SCHEMA;

/** IFA: IFA_* address attributes. */
export const IFA: AttrTable = defineAttrs('IFA', {
  // IFA_LOCAL first, as iproute2 sends them.
  local: [2, 'ip'],
  address: [1, 'ip'],
  label: [3, 'string'],
  broadcast: [4, 'ip'],
  anycast: [5, 'ip'],
  cacheinfo: [6, 'bytes'],
  flags: [8, 'u32'],
  rtPriority: [9, 'u32'],
  proto: [11, 'u8'],
});
/** ADDR: RTM_{NEW,DEL,GET}ADDR: ifaddrmsg + IFA_*. */
export const ADDR: MessageSchema = { header: IFADDRMSG, attrs: IFA };

/** RTAX: RTAX_* route metrics (inside RTA_METRICS). */
export const RTAX: AttrTable = defineAttrs('RTAX', {
  lock: [1, 'u32'],
  mtu: [2, 'u32'],
  window: [3, 'u32'],
  rtt: [4, 'u32'],
  advmss: [8, 'u32'],
  hoplimit: [10, 'u32'],
  initcwnd: [11, 'u32'],
});

/** RTA: RTA_* route attributes. */
export const RTA: AttrTable = defineAttrs('RTA', {
  dst: [1, 'ip'],
  src: [2, 'ip'],
  iif: [3, 'u32'],
  oif: [4, 'u32'],
  gateway: [5, 'ip'],
  priority: [6, 'u32'],
  prefsrc: [7, 'ip'],
  metrics: [8, { nested: RTAX }],
  table: [15, 'u32'],
  mark: [16, 'u32'],
  pref: [20, 'u8'],
  expires: [23, 'u32'],
});
/** ROUTE: RTM_{NEW,DEL,GET}ROUTE: rtmsg + RTA_*. */
export const ROUTE: MessageSchema = { header: RTMSG, attrs: RTA };

/** NDA: NDA_* neighbour attributes. */
export const NDA: AttrTable = defineAttrs('NDA', {
  dst: [1, 'ip'],
  lladdr: [2, 'mac'],
  cacheinfo: [3, 'bytes'],
  probes: [4, 'u32'],
  vlan: [5, 'u16'],
  ifindex: [8, 'u32'],
  master: [9, 'u32'],
  protocol: [12, 'u8'],
});
/** NEIGH: RTM_{NEW,DEL,GET}NEIGH: ndmsg + NDA_*. */
export const NEIGH: MessageSchema = { header: NDMSG, attrs: NDA };

/** NLMSGERR_ATTR: NLMSGERR_ATTR_* : the extended ACK attributes after a struct nlmsgerr. */
export const NLMSGERR_ATTR: AttrTable = defineAttrs('NLMSGERR_ATTR', {
  msg: [1, 'string'],
  offset: [2, 'u32'],
  cookie: [3, 'bytes'],
  missType: [5, 'u32'],
  missNest: [6, 'u32'],
});

/** OPERSTATE: operational states (IF_OPER_*) by number. */
export const OPERSTATE = ['unknown', 'notpresent', 'down', 'lowerlayerdown', 'testing', 'dormant', 'up'] as const;
