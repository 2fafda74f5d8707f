import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  RegistryError,
  backoffDelay,
  nextLink,
  normalizeRegistryKey,
  parseChallenges,
  parseRateLimit,
  parseRetryAfter,
  redactUrl,
  RegistryClient,
} from '../src/index.js';
import { parseErrorBody } from '../src/errors.js';
import { Backoff, resolveRetryPolicy } from '../src/http/retry.js';
import { Limiter } from '../src/limiter.js';
import { allOrNothing } from '../src/tasks.js';

describe('WWW-Authenticate parsing', () => {
  it('reads a bearer challenge with quoted params', () => {
    const [c] = parseChallenges('Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/nginx:pull"');
    expect(c).toEqual({ scheme: 'bearer', params: { realm: 'https://auth.docker.io/token', service: 'registry.docker.io', scope: 'repository:library/nginx:pull' } });
  });
  it('reads several challenges, token68 and escaped quotes', () => {
    const cs = parseChallenges('Negotiate abc+/def==, Basic realm="a \\"quoted\\" realm", charset=UTF-8, Bearer realm=x');
    expect(cs.map((c) => c.scheme)).toEqual(['negotiate', 'basic', 'bearer']);
    expect(cs[0]!.params['token68']).toBe('abc+/def==');
    expect(cs[1]!.params).toEqual({ realm: 'a "quoted" realm', charset: 'UTF-8' });
    expect(cs[2]!.params).toEqual({ realm: 'x' });
  });
  it('keeps commas inside quoted values and takes header arrays', () => {
    const cs = parseChallenges(['Bearer realm="r",scope="repository:a:pull,push repository:b:pull"', 'Basic realm="x"']);
    expect(cs[0]!.params['scope']).toBe('repository:a:pull,push repository:b:pull');
    expect(cs[1]!.scheme).toBe('basic');
  });
  it('never throws on garbage', () => {
    fc.assert(fc.property(fc.string({ maxLength: 200 }), (s) => Array.isArray(parseChallenges(s))));
    expect(parseChallenges(undefined)).toEqual([]);
  });
});

describe('rate limits and Retry-After', () => {
  it("reads Docker Hub's headers", () => {
    expect(parseRateLimit('registry-1.docker.io', { 'ratelimit-limit': '100;w=21600', 'ratelimit-remaining': '76;w=21600', 'docker-ratelimit-source': '203.0.113.7' })).toEqual({
      registry: 'registry-1.docker.io',
      limit: 100,
      remaining: 76,
      windowSeconds: 21600,
      source: '203.0.113.7',
    });
    expect(parseRateLimit('x', {})).toBeUndefined();
    expect(parseRateLimit('x', { 'ratelimit-remaining': 'garbage' })).toBeUndefined();
  });
  it('reads seconds and HTTP dates', () => {
    expect(parseRetryAfter('3')).toBe(3000);
    const now = Date.parse('2024-01-01T00:00:00Z');
    expect(parseRetryAfter('Mon, 01 Jan 2024 00:00:05 GMT', now)).toBe(5000);
    expect(parseRetryAfter('Mon, 01 Jan 2023 00:00:05 GMT', now)).toBe(0);
    expect(parseRetryAfter('soon')).toBeUndefined();
    expect(parseRetryAfter(undefined)).toBeUndefined();
  });
});

describe('retry policy', () => {
  it('grows exponentially with jitter inside 50–100 % of each step, capped', () => {
    const p = resolveRetryPolicy({ baseDelayMs: 100, maxDelayMs: 1000 });
    for (let retry = 1; retry <= 8; retry++) {
      const step = Math.min(1000, 100 * 2 ** (retry - 1));
      expect(backoffDelay(p, retry, () => 0)).toBe(step / 2);
      expect(backoffDelay(p, retry, () => 1)).toBe(step);
    }
  });
  it('is bounded in attempts and in time', () => {
    const b = new Backoff(resolveRetryPolicy({ maxAttempts: 3, baseDelayMs: 1 }));
    expect(b.next()).toBeTypeOf('number');
    expect(b.next()).toBeTypeOf('number');
    expect(b.next()).toBeUndefined();
    // A wait that would end past the time budget is not made (the first is 500–1000 ms here).
    expect(new Backoff(resolveRetryPolicy({ baseDelayMs: 1000, maxElapsedMs: 400 })).next()).toBeUndefined();
    expect(new Backoff(resolveRetryPolicy({ baseDelayMs: 1000, maxElapsedMs: 1100 })).next()).toBeLessThanOrEqual(1000);
  });
  it('refuses a Retry-After longer than it is willing to wait', () => {
    const b = new Backoff(resolveRetryPolicy({ maxDelayMs: 2000 }));
    expect(b.next(1500)).toBe(1500);
    expect(b.next(5000)).toBeUndefined();
  });
  it('validates options with precise TypeErrors', () => {
    expect(() => resolveRetryPolicy({ maxAttempts: 0 })).toThrow(/maxAttempts/);
    expect(() => resolveRetryPolicy({ baseDelayMs: -1 })).toThrow(/baseDelayMs/);
    expect(() => new RegistryClient({ concurrency: 0 })).toThrow(TypeError);
    expect(() => new RegistryClient({ insecure: ['http://x'] })).toThrow(/insecure/);
    expect(() => new RegistryClient({ mirrors: { 'docker.io': 'x' as unknown as string[] } })).toThrow(/mirrors/);
    expect(() => new RegistryClient({ auth: { h: { username: 'a' } as never } })).toThrow(/password/);
  });
});

describe('errors', () => {
  it('parses OCI error bodies and ignores junk', () => {
    expect(parseErrorBody(Buffer.from('{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown","detail":{"Tag":"x"}}]}'))).toEqual([
      { code: 'MANIFEST_UNKNOWN', message: 'manifest unknown', detail: { Tag: 'x' } },
    ]);
    expect(parseErrorBody(Buffer.from('<html>'))).toEqual([]);
    expect(parseErrorBody(Buffer.from('{"errors":"x"}'))).toEqual([]);
  });
  it('derives a code from the status and strips credentials from the URL', () => {
    const e = new RegistryError(429, 'GET', 'https://user:secret@reg.example/v2/a/manifests/b?X-Amz-Signature=abc&n=1');
    expect(e.ociCode).toBe('TOOMANYREQUESTS');
    expect(e.temporary).toBe(true);
    expect(e.url).not.toContain('secret');
    expect(e.url).not.toContain('abc');
    expect(e.url).toContain('n=1');
    expect(e.code).toBe('REGISTRY_ERROR');
    expect(new RegistryError(0, 'GET', 'https://x/').code).toBe('REGISTRY_UNREACHABLE');
    expect(new RegistryError(404, 'GET', 'https://x/').temporary).toBe(false);
    expect(redactUrl('not a url')).toBe('not a url');
  });
});

describe('credential keys and Link headers', () => {
  it('normalizes the spellings of registries in auth files', () => {
    expect(normalizeRegistryKey('https://index.docker.io/v1/')).toBe('docker.io');
    expect(normalizeRegistryKey('registry-1.docker.io')).toBe('docker.io');
    expect(normalizeRegistryKey('http://127.0.0.1:5000/v2/')).toBe('127.0.0.1:5000');
    expect(normalizeRegistryKey('quay.io/org')).toBe('quay.io/org');
  });
  it('follows rel="next" on the same origin only', () => {
    expect(nextLink('</v2/a/tags/list?last=x&n=2>; rel="next"', 'http://h:1/v2/a/tags/list?n=2')).toBe('/v2/a/tags/list?last=x&n=2');
    expect(nextLink('<http://evil/v2/x>; rel="next"', 'http://h:1/v2/')).toBeUndefined();
    expect(nextLink('</v2/x>; rel="prev"', 'http://h:1/v2/')).toBeUndefined();
    expect(nextLink(undefined, 'http://h/')).toBeUndefined();
  });
});

describe('concurrency helpers', () => {
  it('Limiter never runs more than its limit', async () => {
    const l = new Limiter(2);
    let active = 0;
    let peak = 0;
    await Promise.all(
      Array.from({ length: 10 }, () =>
        l.run(async () => {
          active++;
          peak = Math.max(peak, active);
          await new Promise((r) => setTimeout(r, 5));
          active--;
        }),
      ),
    );
    expect(peak).toBe(2);
  });
  it('allOrNothing aborts the others on the first failure and waits for them', async () => {
    let sawAbort = false;
    let settled = false;
    const err = new Error('boom');
    await expect(
      allOrNothing([
        async () => {
          throw err;
        },
        (s) =>
          new Promise((_, reject) => {
            s.addEventListener('abort', () => {
              sawAbort = true;
              setTimeout(() => {
                settled = true;
                reject(s.reason);
              }, 20);
            });
          }),
      ]),
    ).rejects.toBe(err);
    expect(sawAbort).toBe(true);
    expect(settled).toBe(true);
  });
});
