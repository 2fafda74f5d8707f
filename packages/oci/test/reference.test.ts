import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  InvalidReferenceError,
  InvalidDigestError,
  Reference,
  parseDigest,
  parseReference,
  parseRepository,
  normalizeName,
  isReference,
  type ReferenceErrorKind,
} from '@stratum/oci';

const d64 = `sha256:${'0123456789abcdef'.repeat(4)}`;
const d128 = `sha512:${'fedcba9876543210'.repeat(8)}`;

describe('parseReference: Docker normalization', () => {
  // [input, full normalized form, familiar form, registry, repository, tag, digest]
  const cases: Array<[string, string, string, string, string, string | undefined, string | undefined]> = [
    ['nginx', 'docker.io/library/nginx:latest', 'nginx:latest', 'docker.io', 'library/nginx', 'latest', undefined],
    ['nginx:1.25-alpine', 'docker.io/library/nginx:1.25-alpine', 'nginx:1.25-alpine', 'docker.io', 'library/nginx', '1.25-alpine', undefined],
    ['jwilder/nginx-proxy', 'docker.io/jwilder/nginx-proxy:latest', 'jwilder/nginx-proxy:latest', 'docker.io', 'jwilder/nginx-proxy', 'latest', undefined],
    ['quay.io/coreos/flannel:v0.10.0-amd64', 'quay.io/coreos/flannel:v0.10.0-amd64', 'quay.io/coreos/flannel:v0.10.0-amd64', 'quay.io', 'coreos/flannel', 'v0.10.0-amd64', undefined],
    ['localhost:5000/a/b:tag', 'localhost:5000/a/b:tag', 'localhost:5000/a/b:tag', 'localhost:5000', 'a/b', 'tag', undefined],
    ['localhost/foo', 'localhost/foo:latest', 'localhost/foo:latest', 'localhost', 'foo', 'latest', undefined],
    [`nginx@${d64}`, `docker.io/library/nginx@${d64}`, `nginx@${d64}`, 'docker.io', 'library/nginx', undefined, d64],
    [`nginx:1.25@${d64}`, `docker.io/library/nginx:1.25@${d64}`, `nginx:1.25@${d64}`, 'docker.io', 'library/nginx', '1.25', d64],
    [`ghcr.io/o/r@${d128}`, `ghcr.io/o/r@${d128}`, `ghcr.io/o/r@${d128}`, 'ghcr.io', 'o/r', undefined, d128],
    ['127.0.0.1:5000/docker/docker', '127.0.0.1:5000/docker/docker:latest', '127.0.0.1:5000/docker/docker:latest', '127.0.0.1:5000', 'docker/docker', 'latest', undefined],
    ['127.0.0.1:5000/library/debian', '127.0.0.1:5000/library/debian:latest', '127.0.0.1:5000/library/debian:latest', '127.0.0.1:5000', 'library/debian', 'latest', undefined],
    ['192.168.0.1/debian', '192.168.0.1/debian:latest', '192.168.0.1/debian:latest', '192.168.0.1', 'debian', 'latest', undefined],
    ['[::1]:5000/x', '[::1]:5000/x:latest', '[::1]:5000/x:latest', '[::1]:5000', 'x', 'latest', undefined],
    ['[2001:db8::1]/repo:v1', '[2001:db8::1]/repo:v1', '[2001:db8::1]/repo:v1', '[2001:db8::1]', 'repo', 'v1', undefined],
    ['registry.example.com:443/team/app/api:2', 'registry.example.com:443/team/app/api:2', 'registry.example.com:443/team/app/api:2', 'registry.example.com:443', 'team/app/api', '2', undefined],
    ['index.docker.io/docker/docker', 'docker.io/docker/docker:latest', 'docker/docker:latest', 'docker.io', 'docker/docker', 'latest', undefined],
    ['index.docker.io/debian', 'docker.io/library/debian:latest', 'debian:latest', 'docker.io', 'library/debian', 'latest', undefined],
    ['docker.io/nginx', 'docker.io/library/nginx:latest', 'nginx:latest', 'docker.io', 'library/nginx', 'latest', undefined],
    ['docker.io/library/debian', 'docker.io/library/debian:latest', 'debian:latest', 'docker.io', 'library/debian', 'latest', undefined],
    ['library/debian', 'docker.io/library/debian:latest', 'debian:latest', 'docker.io', 'library/debian', 'latest', undefined],
    ['docker.io/library/a/b', 'docker.io/library/a/b:latest', 'library/a/b:latest', 'docker.io', 'library/a/b', 'latest', undefined],
    // No "/" → Docker Hub, so "localhost:5000" is repository "localhost" with tag "5000" (as Docker reads it).
    ['localhost:5000', 'docker.io/library/localhost:5000', 'localhost:5000', 'docker.io', 'library/localhost', '5000', undefined],
    // An uppercase first part is a domain (distribution/reference ≥ 0.5).
    ['Foo/bar', 'Foo/bar:latest', 'Foo/bar:latest', 'Foo', 'bar', 'latest', undefined],
    ['a__b/c.d/e--f_g:T_1.x-Y', 'docker.io/a__b/c.d/e--f_g:T_1.x-Y', 'a__b/c.d/e--f_g:T_1.x-Y', 'docker.io', 'a__b/c.d/e--f_g', 'T_1.x-Y', undefined],
    ['thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev', 'docker.io/library/thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev:latest', 'thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev:latest', 'docker.io', 'library/thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev', 'latest', undefined],
  ];
  for (const [input, full, familiar, registry, repository, tag, digest] of cases) {
    it(input.length > 60 ? `${input.slice(0, 60)}…` : input, () => {
      const r = parseReference(input);
      expect(r.toString()).toBe(full);
      expect(String(r)).toBe(full);
      expect(r.familiar).toBe(familiar);
      expect(r.registry).toBe(registry);
      expect(r.repository).toBe(repository);
      expect(r.tag).toBe(tag);
      expect(r.digest).toBe(digest);
      expect(r.name).toBe(`${registry}/${repository}`);
      // Both printed forms parse back to the same reference.
      expect(parseReference(full).toString()).toBe(full);
      expect(parseReference(familiar).toString()).toBe(full);
    });
  }

  it('adds no default tag with defaultTag: false', () => {
    expect(parseReference('nginx', { defaultTag: false }).toString()).toBe('docker.io/library/nginx');
    expect(parseReference('nginx', { defaultTag: false }).tag).toBeUndefined();
    expect(parseReference('nginx', { defaultTag: false }).familiar).toBe('nginx');
  });

  it('keeps docker.io/ in the familiar form when the path would read as a domain (Docker does not)', () => {
    const r = parseReference('docker.io/a.b/c:1');
    expect(r.registry).toBe('docker.io');
    expect(r.familiar).toBe('docker.io/a.b/c:1');
    expect(parseReference(r.familiar).toString()).toBe(r.toString());
    expect(parseReference('docker.io/localhost/x').familiar).toBe('docker.io/localhost/x:latest');
  });

  it('passes a Reference through unchanged', () => {
    const r = parseReference('nginx');
    expect(parseReference(r)).toBe(r);
  });
});

describe('parseReference: invalid input', () => {
  const cases: Array<[string, ReferenceErrorKind]> = [
    ['', 'NAME_EMPTY'],
    [':tag', 'NAME_EMPTY'],
    [`@${d64}`, 'NAME_EMPTY'],
    ['NGINX', 'NAME_UPPERCASE'],
    ['docker/Docker', 'NAME_UPPERCASE'],
    ['docker.io/docker/Docker', 'NAME_UPPERCASE'],
    ['FOO_BAR/x', 'NAME_UPPERCASE'],
    ['nginx:', 'TAG_EMPTY'],
    ['a/b:', 'TAG_EMPTY'],
    ['nginx:.x', 'TAG_INVALID'],
    ['nginx:-x', 'TAG_INVALID'],
    ['nginx:a+b', 'TAG_INVALID'],
    [`nginx:${'t'.repeat(129)}`, 'TAG_INVALID'],
    ['nginx@', 'DIGEST_INVALID'],
    ['nginx@sha256:abc', 'DIGEST_INVALID'],
    [`nginx@sha256:${'A'.repeat(64)}`, 'DIGEST_INVALID'],
    [`nginx@md5:${'a'.repeat(32)}`, 'DIGEST_INVALID'],
    [`nginx@${d64}@${d64}`, 'DIGEST_INVALID'],
    [`${'a'.repeat(240)}`, 'NAME_TOO_LONG'],
    [`example.com/${'a/'.repeat(122)}a`, 'NAME_TOO_LONG'],
    ['-nginx', 'PATH_INVALID'],
    ['nginx-', 'PATH_INVALID'],
    ['-docker/docker', 'PATH_INVALID'],
    ['nginx.', 'PATH_INVALID'],
    ['a._b', 'PATH_INVALID'],
    ['a___b', 'PATH_INVALID'],
    ['a..b', 'PATH_INVALID'],
    ['docker///docker', 'PATH_INVALID'],
    ['docker.io/docker///docker', 'PATH_INVALID'],
    ['quay.io/', 'PATH_INVALID'],
    ['quay.io/a/', 'PATH_INVALID'],
    ['a b', 'PATH_INVALID'],
    ['ngi%nx', 'PATH_INVALID'],
    ['n\u00e9/x', 'PATH_INVALID'],
    ['-docker.io/docker/docker', 'DOMAIN_INVALID'],
    ['https://github.com/docker/docker', 'DOMAIN_INVALID'],
    ['host:port/x', 'DOMAIN_INVALID'],
    ['a..b/c', 'DOMAIN_INVALID'],
    ['[fe80::1%eth0]:5000/foo', 'DOMAIN_INVALID'],
    ['[::1/x', 'DOMAIN_INVALID'],
    ['[::1]x/y', 'DOMAIN_INVALID'],
    ['[zz::1]/y', 'DOMAIN_INVALID'],
    ['1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a', 'NAME_IS_IDENTIFIER'],
  ];
  for (const [input, kind] of cases) {
    it(`${JSON.stringify(input.length > 50 ? `${input.slice(0, 50)}…` : input)} → ${kind}`, () => {
      let err: unknown;
      try {
        parseReference(input);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(InvalidReferenceError);
      const e = err as InvalidReferenceError;
      expect(e.kind).toBe(kind);
      expect(e.code).toBe('INVALID_REFERENCE');
      expect(e.input).toBe(input);
      expect(e.reason.length).toBeGreaterThan(3);
      expect(isReference(input)).toBe(false);
    });
  }

  it('accepts a name of exactly 255 characters and refuses 256', () => {
    const ok = `example.com/${'a'.repeat(255 - 'example.com/'.length)}`;
    expect(parseReference(ok).name.length).toBe(255);
    expect(() => parseReference(`${ok}b`)).toThrow(InvalidReferenceError);
  });

  it('refuses non-strings with the typed error', () => {
    expect(() => parseReference(42 as unknown as string)).toThrow(InvalidReferenceError);
    expect(() => parseReference(undefined as unknown as string)).toThrow(InvalidReferenceError);
  });
});

describe('Reference helpers', () => {
  it('withTag / withDigest keep the other part, without* drop it', () => {
    const r = parseReference('quay.io/coreos/flannel:v1');
    expect(r.withTag('v2').toString()).toBe('quay.io/coreos/flannel:v2');
    const pinned = r.withDigest(d64);
    expect(pinned.toString()).toBe(`quay.io/coreos/flannel:v1@${d64}`);
    expect(pinned.withTag('v3').toString()).toBe(`quay.io/coreos/flannel:v3@${d64}`);
    expect(pinned.withoutTag().toString()).toBe(`quay.io/coreos/flannel@${d64}`);
    expect(pinned.withoutDigest().toString()).toBe('quay.io/coreos/flannel:v1');
    expect(pinned.context().toString()).toBe('quay.io/coreos/flannel');
    expect(r.toString()).toBe('quay.io/coreos/flannel:v1'); // immutable
    expect(() => r.withTag('')).toThrow(InvalidReferenceError);
    expect(() => r.withTag('bad tag')).toThrow(InvalidReferenceError);
    expect(() => r.withDigest('sha256:nope')).toThrow(expect.objectContaining({ kind: 'DIGEST_INVALID' }));
  });

  it('identifier, scope, host, equals, JSON', () => {
    const hub = parseReference('nginx:1');
    expect(hub.identifier).toBe('1');
    expect(hub.withDigest(d64).identifier).toBe(d64);
    expect(hub.scope()).toBe('repository:library/nginx:pull');
    expect(hub.scope(['pull', 'push'])).toBe('repository:library/nginx:pull,push');
    expect(hub.host).toBe('registry-1.docker.io');
    expect(hub.isDockerHub).toBe(true);
    expect(parseReference('localhost:5000/x').host).toBe('localhost:5000');
    expect(hub.equals('docker.io/library/nginx:1')).toBe(true);
    expect(hub.equals('index.docker.io/library/nginx:1')).toBe(true);
    expect(hub.equals('nginx:2')).toBe(false);
    expect(hub.equals('NOT VALID')).toBe(false);
    expect(JSON.stringify({ ref: hub })).toBe('{"ref":"docker.io/library/nginx:1"}');
    expect(Object.isFrozen(hub)).toBe(true);
  });

  it('the constructor validates and normalizes parts', () => {
    expect(new Reference({ registry: 'index.docker.io', repository: 'busybox', tag: 'musl' }).toString()).toBe('docker.io/library/busybox:musl');
    expect(new Reference({ registry: '127.0.0.1:5000', repository: 'a/b' }).familiar).toBe('127.0.0.1:5000/a/b');
    expect(() => new Reference({ registry: 'myhost', repository: 'a' })).toThrow(expect.objectContaining({ kind: 'DOMAIN_INVALID' }));
    expect(() => new Reference({ registry: 'quay.io', repository: 'A' })).toThrow(expect.objectContaining({ kind: 'NAME_UPPERCASE' }));
    expect(() => new Reference({ registry: 'quay.io', repository: 'a', digest: 'sha256:0' })).toThrow(expect.objectContaining({ kind: 'DIGEST_INVALID' }));
  });

  it('parseRepository and normalizeName take names only', () => {
    expect(parseRepository('nginx').toString()).toBe('docker.io/library/nginx');
    expect(normalizeName('jwilder/nginx-proxy')).toBe('docker.io/jwilder/nginx-proxy');
    expect(normalizeName('localhost:5000/a')).toBe('localhost:5000/a');
    expect(() => parseRepository('nginx:1')).toThrow(expect.objectContaining({ kind: 'TAG_OR_DIGEST_NOT_ALLOWED' }));
    expect(() => parseRepository(`nginx@${d64}`)).toThrow(expect.objectContaining({ kind: 'TAG_OR_DIGEST_NOT_ALLOWED' }));
  });
});

// ---- property tests -------------------------------------------------------------------------

const lowerAlnum = fc.string({ unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789'), minLength: 1, maxLength: 6 });
const separator = fc.constantFrom('.', '_', '__', '-', '--', '---');
const pathComponent = fc
  .tuple(lowerAlnum, fc.array(fc.tuple(separator, lowerAlnum), { maxLength: 3 }))
  .map(([first, rest]) => first + rest.map(([s, a]) => s + a).join(''));
const path = fc.array(pathComponent, { minLength: 1, maxLength: 4 }).map((cs) => cs.join('/'));
const domainComponent = fc
  .tuple(
    fc.string({ unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'), minLength: 1, maxLength: 5 }),
    fc.option(fc.string({ unit: fc.constantFrom(...'abcXYZ019-'), minLength: 0, maxLength: 4 }).map((s) => `${s}z`)),
  )
  .map(([a, b]) => a + (b ?? ''));
const port = fc.option(fc.integer({ min: 1, max: 65535 }).map(String));
const dottedHost = fc.array(domainComponent, { minLength: 2, maxLength: 3 }).map((cs) => cs.join('.'));
const ipv6 = fc.ipV6().filter((s) => /^[0-9a-fA-F:]+$/.test(s)).map((s) => `[${s}]`);
const domain = fc.oneof(
  fc.tuple(dottedHost, port).map(([h, p]) => (p ? `${h}:${p}` : h)),
  fc.tuple(fc.constant('localhost'), port).map(([h, p]) => (p ? `${h}:${p}` : h)),
  fc.tuple(domainComponent, fc.integer({ min: 1, max: 65535 })).map(([h, p]) => `${h}:${p}`),
  fc.tuple(ipv6, port).map(([h, p]) => (p ? `${h}:${p}` : h)),
);
const tag = fc
  .tuple(
    fc.constantFrom(...'abcXYZ09_'),
    fc.string({ unit: fc.constantFrom(...'abcXYZ09_.-'), maxLength: 20 }),
  )
  .map(([a, b]) => a + b);
const hex = (n: number) => fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: n, maxLength: n });
const digest = fc.oneof(hex(64).map((h) => `sha256:${h}`), hex(128).map((h) => `sha512:${h}`));
const validReference = fc
  .tuple(fc.option(domain), path, fc.option(tag), fc.option(digest))
  // Without a domain, a first path component with "." (or "localhost") would be read as one.
  .map(([d, p, t, g]) => [d ?? (/[.]|^localhost(\/|$)/.test(p.split('/')[0]!) ? 'docker.io' : null), p, t, g] as const)
  .map(([d, p, t, g]) => `${d ? `${d}/` : ''}${p}${t ? `:${t}` : ''}${g ? `@${g}` : ''}`)
  .filter((s) => s.split('@')[0]!.split(':')[0]!.length < 200);

/** Strings made of the characters references use, so that the parser's deeper branches run. */
const referenceish = fc.string({ unit: fc.constantFrom(...'aZ0-_.:/@[]%sha256:ef'), maxLength: 80 });
const anyString = fc.oneof(fc.string({ maxLength: 300 }), fc.string({ unit: 'binary', maxLength: 100 }), referenceish);

describe('properties', () => {
  it('parseReference throws only InvalidReferenceError', () => {
    fc.assert(
      fc.property(anyString, (s) => {
        try {
          const r = parseReference(s);
          // Whatever parses is printable and parses back identically.
          expect(parseReference(r.toString()).toString()).toBe(r.toString());
        } catch (err) {
          if (!(err instanceof InvalidReferenceError)) throw err;
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('parseDigest throws only InvalidDigestError', () => {
    fc.assert(
      fc.property(fc.oneof(anyString, digest, hex(64).map((h) => `sha256:${h}x`)), (s) => {
        try {
          expect(parseDigest(s)).toBe(s);
        } catch (err) {
          if (!(err instanceof InvalidDigestError)) throw err;
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('generated valid references parse, and toString()/familiar round-trip', () => {
    fc.assert(
      fc.property(validReference, (s) => {
        const r = parseReference(s);
        const again = parseReference(r.toString());
        expect(again.toString()).toBe(r.toString());
        expect([again.registry, again.repository, again.tag, again.digest]).toEqual([r.registry, r.repository, r.tag, r.digest]);
        expect(parseReference(r.familiar).toString()).toBe(r.toString());
        expect(r.toString().length).toBeGreaterThanOrEqual(r.familiar.length);
      }),
      { numRuns: 2000 },
    );
  });

  it('withTag/withDigest round-trip for valid parts', () => {
    fc.assert(
      fc.property(validReference, tag, digest, (s, t, d) => {
        const r = parseReference(s).withTag(t).withDigest(d);
        expect(r.tag).toBe(t);
        expect(r.digest).toBe(d);
        expect(parseReference(r.toString()).toString()).toBe(r.toString());
      }),
      { numRuns: 500 },
    );
  });
});
