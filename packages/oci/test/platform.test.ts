import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  InvalidPlatformError,
  formatPlatform,
  hostPlatform,
  normalizePlatform,
  parsePlatform,
  platformMatches,
  selectPlatform,
  type Descriptor,
  type Platform,
} from '@stratum/oci';

describe('parsePlatform / normalizePlatform', () => {
  const cases: Array<[string, Platform, string]> = [
    ['linux/arm64/v8', { os: 'linux', architecture: 'arm64', variant: 'v8' }, 'linux/arm64/v8'],
    ['linux/arm64', { os: 'linux', architecture: 'arm64', variant: 'v8' }, 'linux/arm64/v8'],
    ['linux/aarch64', { os: 'linux', architecture: 'arm64', variant: 'v8' }, 'linux/arm64/v8'],
    ['linux/arm64/8', { os: 'linux', architecture: 'arm64', variant: 'v8' }, 'linux/arm64/v8'],
    ['linux/arm64/v8.0', { os: 'linux', architecture: 'arm64', variant: 'v8' }, 'linux/arm64/v8'],
    ['linux/arm64/9.0', { os: 'linux', architecture: 'arm64', variant: 'v9' }, 'linux/arm64/v9'],
    ['linux/x86_64', { os: 'linux', architecture: 'amd64' }, 'linux/amd64'],
    ['linux/x86-64', { os: 'linux', architecture: 'amd64' }, 'linux/amd64'],
    ['linux/amd64/v1', { os: 'linux', architecture: 'amd64' }, 'linux/amd64'],
    ['linux/amd64/v3', { os: 'linux', architecture: 'amd64', variant: 'v3' }, 'linux/amd64/v3'],
    ['linux/i386', { os: 'linux', architecture: '386' }, 'linux/386'],
    ['linux/armhf', { os: 'linux', architecture: 'arm', variant: 'v7' }, 'linux/arm/v7'],
    ['linux/armel', { os: 'linux', architecture: 'arm', variant: 'v6' }, 'linux/arm/v6'],
    ['linux/arm', { os: 'linux', architecture: 'arm', variant: 'v7' }, 'linux/arm/v7'],
    ['linux/arm/5', { os: 'linux', architecture: 'arm', variant: 'v5' }, 'linux/arm/v5'],
    ['Linux/ARM64', { os: 'linux', architecture: 'arm64', variant: 'v8' }, 'linux/arm64/v8'],
    ['macos/arm64', { os: 'darwin', architecture: 'arm64', variant: 'v8' }, 'darwin/arm64/v8'],
    ['linux/s390x', { os: 'linux', architecture: 's390x' }, 'linux/s390x'],
    ['linux/riscv64', { os: 'linux', architecture: 'riscv64' }, 'linux/riscv64'],
    ['windows(10.0.17763.1234)/amd64', { os: 'windows', architecture: 'amd64', 'os.version': '10.0.17763.1234' }, 'windows(10.0.17763.1234)/amd64'],
  ];
  for (const [input, platform, formatted] of cases) {
    it(input, () => {
      expect(parsePlatform(input)).toEqual(platform);
      expect(formatPlatform(input)).toBe(formatted);
      expect(formatPlatform(platform)).toBe(formatted);
    });
  }

  it('a lone OS takes the host architecture, a lone architecture the host OS', () => {
    const host = hostPlatform();
    expect(parsePlatform('linux')).toEqual({ ...host, os: 'linux' });
    expect(parsePlatform('arm64')).toEqual({ os: host.os, architecture: 'arm64', variant: 'v8' });
  });

  it('refuses malformed platforms with InvalidPlatformError', () => {
    for (const bad of ['', '/', 'linux/', '/amd64', 'linux/amd64/v8/x', 'linux amd64', 'linux/amd64!', 'nosuchthing', 'windows(/amd64', '(1)/amd64', 'linux()/amd64', 'x'.repeat(600)]) {
      expect(() => parsePlatform(bad), bad).toThrow(InvalidPlatformError);
    }
    expect(() => parsePlatform(3 as unknown as string)).toThrow(InvalidPlatformError);
  });

  it('normalizePlatform keeps other fields and is idempotent', () => {
    const p = { os: 'Linux', architecture: 'aarch64', features: ['sse4'], 'os.features': ['x'] };
    const n = normalizePlatform(p);
    expect(n).toEqual({ os: 'linux', architecture: 'arm64', variant: 'v8', features: ['sse4'], 'os.features': ['x'] });
    expect(normalizePlatform(n)).toEqual(n);
    expect(p.architecture).toBe('aarch64'); // input untouched
  });

  it('hostPlatform is the running process in OCI spelling', () => {
    const h = hostPlatform();
    expect(h.os).toBe('linux');
    const expected = ({ x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', s390x: 's390x', riscv64: 'riscv64' } as Record<string, string>)[process.arch];
    if (expected) expect(h.architecture).toBe(expected);
    expect(parsePlatform(formatPlatform(h))).toEqual(h);
  });
});

describe('platformMatches', () => {
  const yes: Array<[string, string | Platform]> = [
    ['linux/amd64', 'linux/amd64'],
    ['linux/amd64', { os: 'linux', architecture: 'amd64', variant: 'v1' }],
    ['linux/amd64/v3', 'linux/amd64/v2'],
    ['linux/amd64/v3', 'linux/amd64'],
    ['linux/arm64', { os: 'linux', architecture: 'arm64' }],
    ['linux/arm64/v8', { os: 'linux', architecture: 'aarch64' }],
    ['linux/arm/v7', 'linux/arm/v6'],
    ['linux/arm/v7', 'linux/arm/v5'],
    ['linux/arm/v7', { os: 'linux', architecture: 'arm' }],
    ['linux/arm/v8', 'linux/arm/v7'],
    ['windows(10.0.17763.100)/amd64', 'windows(10.0.17763.2000)/amd64'],
    ['windows/amd64', 'windows(10.0.17763.2000)/amd64'],
  ];
  const no: Array<[string, string | Platform]> = [
    ['linux/amd64', 'linux/arm64'],
    ['linux/amd64', 'windows/amd64'],
    ['linux/amd64', 'linux/amd64/v2'],
    ['linux/arm/v6', 'linux/arm/v7'],
    ['linux/arm64', 'linux/arm/v7'],
    ['linux/arm64/v8', 'linux/arm64/v9'],
    ['linux/s390x', { os: 'linux', architecture: 's390x', variant: 'z15' }],
    ['windows(10.0.17763.100)/amd64', 'windows(10.0.20348.100)/amd64'],
    ['windows(10.0.17763.100)/amd64', 'windows/amd64'],
  ];
  for (const [w, c] of yes) it(`${w} accepts ${typeof c === 'string' ? c : JSON.stringify(c)}`, () => expect(platformMatches(w, c)).toBe(true));
  for (const [w, c] of no) it(`${w} refuses ${typeof c === 'string' ? c : JSON.stringify(c)}`, () => expect(platformMatches(w, c)).toBe(false));
});

describe('selectPlatform', () => {
  const d = (platform: Platform | undefined, n: number): Descriptor => ({
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    digest: `sha256:${n.toString(16).padStart(64, '0')}`,
    size: n,
    ...(platform ? { platform } : {}),
  });
  const index = [
    d({ os: 'unknown', architecture: 'unknown' }, 1),
    d(undefined, 2),
    d({ os: 'linux', architecture: 'arm', variant: 'v5' }, 3),
    d({ os: 'linux', architecture: 'arm', variant: 'v6' }, 4),
    d({ os: 'linux', architecture: 'amd64' }, 5),
    d({ os: 'linux', architecture: 'arm64', variant: 'v8' }, 6),
    d({ os: 'linux', architecture: 'amd64', variant: 'v3' }, 7),
    d({ os: 'linux', architecture: 'arm', variant: 'v7' }, 8),
    d({ os: 'windows', architecture: 'amd64', 'os.version': '10.0.17763.1' }, 9),
    d({ os: 'windows', architecture: 'amd64', 'os.version': '10.0.20348.5' }, 10),
  ];

  it('prefers the exact variant, then the nearest older one', () => {
    expect(selectPlatform(index, 'linux/arm/v7')?.size).toBe(8);
    expect(selectPlatform(index.filter((x) => x.size !== 8), 'linux/arm/v7')?.size).toBe(4);
    expect(selectPlatform(index.filter((x) => x.size !== 8 && x.size !== 4), 'linux/arm/v7')?.size).toBe(3);
    expect(selectPlatform(index, 'linux/arm/v6')?.size).toBe(4);
    expect(selectPlatform(index, 'linux/amd64/v3')?.size).toBe(7);
    expect(selectPlatform(index, 'linux/amd64/v2')?.size).toBe(5);
    expect(selectPlatform(index, 'linux/amd64')?.size).toBe(5);
    expect(selectPlatform(index, { os: 'linux', architecture: 'aarch64' })?.size).toBe(6);
  });

  it('matches windows builds by os.version', () => {
    expect(selectPlatform(index, 'windows(10.0.20348.99)/amd64')?.size).toBe(10);
    expect(selectPlatform(index, 'windows(10.0.17763.1)/amd64')?.size).toBe(9);
    expect(selectPlatform(index, 'windows(10.0.19041.1)/amd64')).toBeUndefined();
  });

  it('prefers an equal os.version, then none, for other OSes', () => {
    const list = [
      d({ os: 'linux', architecture: 'amd64', 'os.version': 'other' }, 1),
      d({ os: 'linux', architecture: 'amd64' }, 2),
      d({ os: 'linux', architecture: 'amd64', 'os.version': '5.15' }, 3),
    ];
    expect(selectPlatform(list, { os: 'linux', architecture: 'amd64', 'os.version': '5.15' })?.size).toBe(3);
    expect(selectPlatform(list.slice(0, 2), { os: 'linux', architecture: 'amd64', 'os.version': '5.15' })?.size).toBe(2);
  });

  it('returns undefined when nothing matches, keeps index order on ties, defaults to the host', () => {
    expect(selectPlatform(index, 'linux/ppc64le')).toBeUndefined();
    expect(selectPlatform([], 'linux/amd64')).toBeUndefined();
    const twins = [d({ os: 'linux', architecture: 'amd64' }, 20), d({ os: 'linux', architecture: 'amd64' }, 21)];
    expect(selectPlatform(twins, 'linux/amd64')?.size).toBe(20);
    const host = hostPlatform();
    expect(selectPlatform([d(host, 30)])?.size).toBe(30);
  });
});

describe('properties', () => {
  const word = fc.string({ unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789_.-'), minLength: 1, maxLength: 10 });
  const arch = fc.oneof(word, fc.constantFrom('amd64', 'x86_64', 'arm64', 'aarch64', 'arm', 'armhf', 'armel', 'i386', '386'));
  const variant = fc.oneof(word, fc.constantFrom('v5', 'v6', 'v7', 'v8', '7', '8', 'v8.0', 'v1', 'v2', 'v3', '9.0'));
  const platform = fc.record(
    { os: fc.oneof(word, fc.constantFrom('linux', 'windows', 'macos')), architecture: arch, variant, 'os.version': word },
    { requiredKeys: ['os', 'architecture'] },
  );

  it('format → parse round-trips normalized platforms', () => {
    fc.assert(
      fc.property(platform, (p) => {
        const n = normalizePlatform(p);
        expect(normalizePlatform(n)).toEqual(n);
        expect(parsePlatform(formatPlatform(n))).toEqual(n);
        expect(platformMatches(n, p)).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it('parsePlatform throws only InvalidPlatformError', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 60 }), fc.string({ unit: fc.constantFrom(...'linux/amd64()v7.'), maxLength: 40 })), (s) => {
        try {
          const p = parsePlatform(s);
          expect(parsePlatform(formatPlatform(p))).toEqual(p);
        } catch (err) {
          if (!(err instanceof InvalidPlatformError)) throw err;
        }
      }),
      { numRuns: 2000 },
    );
  });
});
