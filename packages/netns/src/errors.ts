import { constants } from 'node:os';
import { StratumError } from '@stratum/oci';

const ERRNO_NAMES = new Map<number, string>();
for (const [name, n] of Object.entries(constants.errno)) if (!ERRNO_NAMES.has(n)) ERRNO_NAMES.set(n, name);
// Linux aliases Node lists first under another name.
ERRNO_NAMES.set(11, 'EAGAIN');
ERRNO_NAMES.set(95, 'EOPNOTSUPP');

/** errnoName maps a positive errno to its name (`17` → `EEXIST`), `E<n>` when unknown. */
export function errnoName(errno: number): string {
  return ERRNO_NAMES.get(errno) ?? `E${errno}`;
}

/** NetlinkRequestInfo: what was asked when a netlink request failed. */
export interface NetlinkRequestInfo {
  /** The message type, e.g. 16. */
  type: number;
  /** Its name, e.g. `RTM_NEWLINK`. */
  typeName: string;
  /** nlmsghdr flags sent. */
  flags: number;
  /** Sequence number of the request. */
  seq: number;
  /** The API call that sent it, e.g. `links.add`, and its subject (`veth0`). */
  operation?: string;
  subject?: string;
}

/**
 * NetlinkError: the kernel answered a netlink request with an error. `code` is the errno name
 * (`EEXIST`, `ENODEV`, `EOPNOTSUPP` …), `errno` its number, `extack` the kernel's extended-ACK
 * text when it gave one ("Unknown device type") and `request` what was sent. Match `code`, not
 * the message.
 */
export class NetlinkError extends StratumError {
  readonly errno: number;
  /** The kernel's extended ACK message, if any. */
  readonly extack?: string;
  /** Byte offset (from the start of the request) of the attribute the kernel blamed, if any. */
  readonly offset?: number;
  readonly request: NetlinkRequestInfo;
  constructor(errno: number, request: NetlinkRequestInfo, extack?: string, offset?: number) {
    const code = errnoName(errno);
    const what = request.operation ? `${request.operation}${request.subject !== undefined ? ` ${request.subject}` : ''}` : request.typeName;
    super(code, `${what}: ${code}${extack ? `: ${extack}` : ''} (${request.typeName})`);
    this.errno = errno;
    if (extack !== undefined) this.extack = extack;
    if (offset !== undefined) this.offset = offset;
    this.request = request;
  }
}

/**
 * NetnsError: a network-namespace operation that is not a single failed syscall, e.g. a name
 * that is taken (`NETNS_EXISTS`), missing (`NETNS_NOT_FOUND`) or invalid (`NETNS_INVALID_NAME`).
 */
export class NetnsError extends StratumError {
  /** The namespace name or path concerned. */
  readonly netns: string;
  constructor(code: string, netns: string, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.netns = netns;
  }
}

/**
 * NetworkError: a BridgeNetwork operation failed for a reason of its own: the subnet is full
 * (`NETWORK_SUBNET_FULL`), an address is taken or outside the subnet (`NETWORK_ADDRESS_IN_USE`,
 * `NETWORK_ADDRESS_OUT_OF_RANGE`), state on disk disagrees with the options
 * (`NETWORK_CONFLICT`), or a firewall command failed (`NETWORK_FIREWALL`).
 */
export class NetworkError extends StratumError {
  /** The network's name. */
  readonly network: string;
  constructor(code: string, network: string, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.network = network;
  }
}
