import { InvalidArchiveError } from '../errors.js';
import type { ByteReader } from './bytes.js';
import { parsePax } from '@stratum/layer';
import { BLOCK, decodeHeader, memberType, padLength, type MemberType } from './header.js';

/** TarMember: one member of an archive, PAX and GNU long names applied. */
export interface TarMember {
  /** The name as the archive gives it (not cleaned). */
  name: string;
  type: MemberType;
  /** Data size (files only; 0 for the others). */
  size: number;
  /** Symlink or hard link target. */
  linkname: string;
  mode: number;
  /** Offset of the member's first header (PAX or GNU meta header included). */
  headerOffset: number;
  /** Offset of its data in the (uncompressed) tar stream. */
  dataOffset: number;
}

const utf8 = new TextDecoder('utf-8');

/** paxRecords parses PAX records with @stratum/layer's parser, its errors as {@link InvalidArchiveError}. */
function paxRecords(body: Uint8Array, at: number): Array<[string, Uint8Array]> {
  try {
    return parsePax(body, at);
  } catch (err) {
    throw new InvalidArchiveError('NOT_A_TAR', `malformed PAX header at byte ${at}`, { offset: at, cause: err });
  }
}

/** The largest PAX or GNU long-name body accepted. */
const maxMeta = 1 << 20;

/**
 * scanTar walks the members of a tar read through `reader`. The consumer may read up to
 * `member.size` bytes of a file member's data from the same reader before asking for the next
 * member; whatever it left is skipped (for free on a file). Stops at the end-of-archive block or,
 * leniently, at the end of the input on a header boundary. Throws {@link InvalidArchiveError}
 * (`NOT_A_TAR`, `TRUNCATED`).
 */
export async function* scanTar(reader: ByteReader, signal?: AbortSignal): AsyncGenerator<TarMember> {
  let pax: Map<string, string> | undefined;
  let longName: string | undefined;
  let longLink: string | undefined;
  let start = -1;
  const truncated = (what: string): InvalidArchiveError =>
    new InvalidArchiveError('TRUNCATED', `archive is truncated ${what} (at byte ${reader.position})`, { offset: reader.position });
  const readMeta = async (size: number, at: number): Promise<Buffer> => {
    if (size > maxMeta) throw new InvalidArchiveError('NOT_A_TAR', `tar meta header of ${size} bytes at byte ${at}`, { offset: at });
    const body = await reader.read(size);
    if (body.length < size || (await reader.skip(padLength(size))) < padLength(size)) throw truncated('in a meta header');
    return body;
  };
  for (;;) {
    signal?.throwIfAborted();
    const at = reader.position;
    const block = await reader.read(BLOCK);
    if (block.length === 0 && start < 0) return;
    if (block.length < BLOCK) throw truncated('inside a header');
    const h = decodeHeader(block, at);
    if (h === undefined) {
      if (start >= 0) throw new InvalidArchiveError('NOT_A_TAR', `end-of-archive block after a meta header at byte ${at}`, { offset: at });
      return;
    }
    if (start < 0) start = at;
    if (h.flag === 'x' || h.flag === 'g' || h.flag === 'L' || h.flag === 'K') {
      const body = await readMeta(h.size, at);
      if (h.flag === 'x') pax = new Map([...(pax ?? []), ...paxRecords(body, at).map(([k, v]): [string, string] => [k, utf8.decode(v)])]);
      else if (h.flag === 'g') paxRecords(body, at);
      else {
        const nul = body.indexOf(0);
        const s = (nul < 0 ? body : body.subarray(0, nul)).toString('utf8');
        if (h.flag === 'L') longName = s;
        else longLink = s;
      }
      if (h.flag === 'g' && pax === undefined && longName === undefined && longLink === undefined) start = -1;
      continue;
    }
    const type = memberType(h.flag);
    let size = h.size;
    const paxSize = pax?.get('size');
    if (paxSize !== undefined) {
      if (!/^\d+$/.test(paxSize) || !Number.isSafeInteger(Number(paxSize))) throw new InvalidArchiveError('NOT_A_TAR', `bad PAX size at byte ${at}`, { offset: at });
      size = Number(paxSize);
    }
    const member: TarMember = {
      name: pax?.get('path') ?? longName ?? h.name,
      type,
      size: type === 'file' ? size : 0,
      linkname: pax?.get('linkpath') ?? longLink ?? h.linkname,
      mode: h.mode,
      headerOffset: start,
      dataOffset: reader.position,
    };
    pax = longName = longLink = undefined;
    start = -1;
    // Data of links and directories (normally none) is skipped like unread file data.
    const end = member.dataOffset + size + padLength(size);
    yield member;
    const left = end - reader.position;
    if (left < 0) throw new Error(`scanTar: the consumer read past the member ${member.name}`);
    if ((await reader.skip(left)) < left) throw truncated(`inside the data of ${JSON.stringify(member.name)}`);
  }
}
