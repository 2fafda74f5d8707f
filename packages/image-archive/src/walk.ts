import { constants } from 'node:fs';
import { lstat, open, readdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { fileReader, streamReader, type ByteReader } from './tar/bytes.js';
import { scanTar, type TarMember } from './tar/scan.js';

/** Walked: one member of an archive and the reader its data comes from (files only). */
export interface Walked {
  member: TarMember;
  /** Reads the member's data; `position` counts from `member.dataOffset`. */
  body: ByteReader;
}

/** tarMembers walks the members of a tar stream (see {@link scanTar}). */
export async function* tarMembers(stream: Readable, signal?: AbortSignal): AsyncGenerator<Walked> {
  const reader = streamReader(stream);
  for await (const member of scanTar(reader, signal)) yield { member, body: reader };
}

/**
 * dirMembers walks a directory as if it were a tar of it: directories, symlinks (not followed:
 * their targets are resolved later, inside the archive's namespace) and regular files, opened
 * with `O_NOFOLLOW` one at a time, in name order.
 */
export async function* dirMembers(root: string, signal?: AbortSignal): AsyncGenerator<Walked> {
  const walk = async function* (rel: string): AsyncGenerator<Walked> {
    for (const name of (await readdir(join(root, rel))).sort()) {
      signal?.throwIfAborted();
      const path = rel === '' ? name : `${rel}/${name}`;
      const full = join(root, path);
      const st = await lstat(full);
      const base = { name: path, size: 0, linkname: '', mode: st.mode & 0o7777, headerOffset: 0, dataOffset: 0 };
      if (st.isDirectory()) {
        yield { member: { ...base, type: 'directory' }, body: emptyReader };
        yield* walk(path);
      } else if (st.isSymbolicLink()) {
        yield { member: { ...base, type: 'symlink', linkname: await readlink(full) }, body: emptyReader };
      } else if (st.isFile()) {
        const fh = await open(full, constants.O_RDONLY | constants.O_NOFOLLOW);
        try {
          const size = (await fh.stat()).size;
          yield { member: { ...base, type: 'file', size }, body: fileReader(fh, size) };
        } finally {
          await fh.close();
        }
      } else {
        yield { member: { ...base, type: 'other' }, body: emptyReader };
      }
    }
  };
  yield* walk('');
}

const emptyReader: ByteReader = {
  position: 0,
  read: async () => Buffer.alloc(0),
  skip: async () => 0,
  chunks: async function* () {},
};
