/**
 * Parsing of the kernel's answers that end a request: NLMSG_ERROR (an error, or an ACK when the
 * error is 0) and NLMSG_DONE (end of a dump), both possibly followed by extended-ACK attributes
 * (NLMSGERR_ATTR_MSG: the kernel's reason in words; NLMSGERR_ATTR_OFFS: which attribute it blamed).
 */
import { LE, readAttrs, splitAttrs, type RawMessage } from './codec.js';
import { NLM_F, NLMSGERR_ATTR } from './rtnl.js';

/** AckInfo: the decoded end of a request. */
export interface AckInfo {
  /** Positive errno, 0 for success. */
  errno: number;
  /** NLMSGERR_ATTR_MSG: the kernel's text (on errors; sometimes a warning on success). */
  message?: string;
  /** NLMSGERR_ATTR_OFFS: offset of the offending attribute within the request. */
  offset?: number;
  /** For NLMSG_ERROR: the header of the request it answers. */
  request?: { len: number; type: number; flags: number; seq: number; pid: number };
}

/**
 * parseError decodes an NLMSG_ERROR payload: struct nlmsgerr { int error; struct nlmsghdr msg; }
 * then — unless NLM_F_CAPPED — the rest of the request, then TLVs when NLM_F_ACK_TLVS is set.
 */
export function parseError(m: RawMessage): AckInfo {
  const p = m.payload;
  if (p.length < 4) return { errno: 0 };
  const view = new DataView(p.buffer, p.byteOffset, p.byteLength);
  const errno = -view.getInt32(0, LE) | 0;
  const out: AckInfo = { errno };
  if (p.length >= 20) {
    out.request = {
      len: view.getUint32(4, LE),
      type: view.getUint16(8, LE),
      flags: view.getUint16(10, LE),
      seq: view.getUint32(12, LE),
      pid: view.getUint32(16, LE),
    };
  }
  if (m.flags & NLM_F.ACK_TLVS) {
    // The echoed request is only its header when capped (or on success: ACKs never echo more).
    const echoed = m.flags & NLM_F.CAPPED || errno === 0 || !out.request ? 16 : (out.request.len + 3) & ~3;
    const tlvs = p.subarray(Math.min(p.length, 4 + echoed));
    addExtack(out, tlvs);
  }
  return out;
}

/** parseDone decodes an NLMSG_DONE payload: an int (negative errno for a failed dump) then TLVs. */
export function parseDone(m: RawMessage): AckInfo {
  const p = m.payload;
  if (p.length < 4) return { errno: 0 };
  const view = new DataView(p.buffer, p.byteOffset, p.byteLength);
  const out: AckInfo = { errno: -view.getInt32(0, LE) | 0 };
  if (m.flags & NLM_F.ACK_TLVS) addExtack(out, p.subarray(4));
  return out;
}

function addExtack(out: AckInfo, tlvs: Uint8Array): void {
  if (splitAttrs(tlvs).length === 0) return;
  const a = readAttrs(NLMSGERR_ATTR, tlvs);
  if (typeof a.msg === 'string' && a.msg !== '') out.message = a.msg;
  if (typeof a.offset === 'number') out.offset = a.offset;
}
