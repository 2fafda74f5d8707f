import { constants } from 'node:fs';
import { Readable } from 'node:stream';
import { open, readdir, realpath, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { InvalidArchiveError, UnsafeArchivePathError } from './errors.js';
import { cleanPath } from './members.js';
import { readChunk } from './input.js';
import type { ArchiveReader, FileMember } from './reader.js';

/**
 * openDirReader reads an archive laid out in a directory (an OCI image layout directory). A path
 * resolves inside the directory with symlinks followed, and is refused
 * ({@link UnsafeArchivePathError} `symlink-escapes`) when it ends up outside; the file is then
 * opened with `O_NOFOLLOW`. The directory is expected not to change while it is read.
 */
export async function openDirReader(dir: string): Promise<ArchiveReader> {
  const root = await realpath(dir);
  const inside = (p: string): boolean => p === root || p.startsWith(root.endsWith(sep) ? root : root + sep);
  const reader: ArchiveReader = {
    location: dir,
    compression: 'none',
    async files() {
      const out: string[] = [];
      for (const e of await readdir(root, { recursive: true, withFileTypes: true })) {
        if (e.isFile()) out.push(relative(root, join(e.parentPath, e.name)).split(sep).join('/'));
      }
      return out;
    },
    async resolve(p) {
      const clean = cleanPath(p);
      let real: string;
      try {
        real = await realpath(join(root, clean));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new InvalidArchiveError('MISSING_MEMBER', `layout has no file ${JSON.stringify(clean)}`, { path: clean });
        throw err;
      }
      if (!inside(real)) throw new UnsafeArchivePathError(p, 'symlink-escapes');
      const st = await stat(real);
      if (!st.isFile()) throw new InvalidArchiveError('NOT_A_FILE', `${JSON.stringify(clean)} is not a regular file`, { path: clean });
      return { name: relative(root, real).split(sep).join('/'), size: st.size };
    },
    async head(file) {
      const fh = await open(join(root, file.name), constants.O_RDONLY | constants.O_NOFOLLOW);
      try {
        const b = Buffer.alloc(Math.min(16, file.size));
        const { bytesRead } = await fh.read(b, 0, b.length, 0);
        return b.subarray(0, bytesRead);
      } finally {
        await fh.close();
      }
    },
    open(file: FileMember, opts = {}) {
      async function* bytes(): AsyncGenerator<Buffer> {
        const fh = await open(join(root, file.name), constants.O_RDONLY | constants.O_NOFOLLOW);
        // The stream closes the handle when it ends or is destroyed.
        yield* fh.createReadStream({ highWaterMark: readChunk, ...(opts.signal ? { signal: opts.signal } : {}) });
      }
      return Readable.from(bytes(), { objectMode: false, highWaterMark: readChunk });
    },
  };
  return reader;
}
