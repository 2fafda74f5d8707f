import { describe, expect, it } from 'vitest';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createHash } from 'node:crypto';
import { parseDigest, InvalidDigestError, verifyStream, DigestMismatchError, digestBytes, createDigester } from '@stratum/oci';

const empty = 'sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

describe('digests', () => {
  it('parses valid sha256 and sha512 digests', () => {
    expect(parseDigest(empty)).toBe(empty);
    const s512 = `sha512:${createHash('sha512').update('').digest('hex')}`;
    expect(parseDigest(s512)).toBe(s512);
  });
  it('rejects bad digests with InvalidDigestError', () => {
    for (const bad of ['', 'sha256:', 'sha256:abc', `sha256:${'A'.repeat(64)}`, `md5:${'a'.repeat(32)}`, `sha512:${'a'.repeat(64)}`, 'nocolon']) {
      expect(() => parseDigest(bad), bad).toThrow(InvalidDigestError);
    }
  });
  it('streams a digest while bytes flow', () => {
    const d = createDigester();
    d.update(Buffer.from('hello '));
    d.update(Buffer.from('world'));
    expect(d.digest()).toBe(digestBytes('hello world'));
    expect(d.size).toBe(11);
  });
  it('verifyStream passes matching bytes and fails on mismatch', async () => {
    const ok = verifyStream(Readable.from([Buffer.from('abc')]), { digest: digestBytes('abc'), size: 3 });
    const chunks: Buffer[] = [];
    for await (const c of ok) chunks.push(c);
    expect(Buffer.concat(chunks).toString()).toBe('abc');
    const bad = verifyStream(Readable.from([Buffer.from('abd')]), { digest: digestBytes('abc'), size: 3 });
    await expect(pipeline(bad, async function* (s) { for await (const _ of s) { /* drain */ } })).rejects.toBeInstanceOf(DigestMismatchError);
    const long = verifyStream(Readable.from([Buffer.from('abcd')]), { digest: digestBytes('abc'), size: 3 });
    await expect(pipeline(long, async function* (s) { for await (const _ of s) { /* drain */ } })).rejects.toMatchObject({ code: 'DIGEST_MISMATCH' });
  });
  it('supports await using (Symbol.asyncDispose lowering)', async () => {
    let disposed = false;
    {
      await using _r = { async [Symbol.asyncDispose]() { disposed = true; } };
    }
    expect(disposed).toBe(true);
  });
});
