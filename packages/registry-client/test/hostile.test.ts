/**
 * Hostile and flaky registries: a fault-injecting server in front of the real registry (or on
 * its own) serves bad digests, oversized or broken bodies, OCI error documents, 429/5xx,
 * redirects to other hosts, foreign token realms and broken downloads.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Readable } from 'node:stream';
import { guard } from '@stratum/testing';
import { DigestMismatchError, InvalidManifestError, MediaType, digestBytes, type Image } from '@stratum/oci';
import { RegistryClient, RegistryError, type RateLimit, type RegistryClientOptions } from '../src/index.js';
import { type FaultServer, respond, startFaultServer } from './fault-server.js';
import { type RunningRegistry, registryUnavailable, startRegistry } from './registry-fixture.js';
import { collect, memoryImage, memoryLayer, randomImage } from './helpers.js';

const fast = { baseDelayMs: 5, maxDelayMs: 3000, maxAttempts: 3 };

let reg: RunningRegistry | undefined;
let fault: FaultServer;
let img: Image;
let big: Image; // one 1 MiB uncompressed layer
let bigLayer: Buffer;

function client(extra: RegistryClientOptions = {}): RegistryClient {
  return new RegistryClient({ insecure: [fault.host, ...(reg ? [reg.host] : [])], retry: fast, ...extra });
}

beforeAll(async () => {
  img = await randomImage({ seed: 40, layers: 2 });
  bigLayer = Buffer.alloc(1024 * 1024);
  for (let i = 0; i < bigLayer.length; i++) bigLayer[i] = (i * 2654435761) >>> 24;
  big = await memoryImage([memoryLayer(bigLayer, { compression: 'none' })]);
  if (registryUnavailable()) return;
  reg = await startRegistry();
  fault = await startFaultServer({ upstream: reg.url });
  await using c = client();
  await c.push(img, `${reg.host}/h/app:1`);
  await c.push(big, `${reg.host}/h/big:1`);
});
afterAll(async () => {
  await fault?.stop();
  await reg?.stop();
});

function ref(path: string): string {
  return `${fault.host}/${path}`;
}

describe('hostile manifests', () => {
  it('bytes that do not match the digest → DigestMismatchError (by digest, and against Docker-Content-Digest)', async (ctx) => {
    guard(ctx, 'tool:docker-registry');
    fault.reset();
    const raw = Buffer.from(await img.rawManifest());
    const tampered = Buffer.from(raw.toString().replace('"schemaVersion":2', '"schemaVersion":2 '));
    fault.on('GET', `/v2/h/app/manifests/${await img.digest()}`, respond.bytes(200, tampered, { headers: { 'content-type': MediaType.OciManifest } }));
    fault.on('GET', '/v2/h/app/manifests/1', respond.bytes(200, tampered, { headers: { 'content-type': MediaType.OciManifest, 'docker-content-digest': await img.digest() } }));
    await using c = client();
    const byDigest = await c.getManifest(ref(`h/app@${await img.digest()}`)).catch((e: unknown) => e);
    expect(byDigest).toBeInstanceOf(DigestMismatchError);
    expect((byDigest as DigestMismatchError).expected.digest).toBe(await img.digest());
    expect((byDigest as DigestMismatchError).actual.digest).toBe(digestBytes(tampered));
    await expect(c.getManifest(ref('h/app:1'))).rejects.toBeInstanceOf(DigestMismatchError);
    await expect(c.image(ref('h/app:1'))).rejects.toBeInstanceOf(DigestMismatchError);
  });

  it('a manifest over 4 MiB is refused before it is read whole', async (ctx) => {
    guard(ctx, 'tool:docker-registry');
    fault.reset();
    // Declared too large: refused on the header.
    fault.on('GET', '/v2/h/declared/manifests/1', (req, res) => {
      res.writeHead(200, { 'content-type': MediaType.OciManifest, 'content-length': String(5 * 1024 * 1024) });
      res.write(Buffer.alloc(1000, 0x20)); // and then nothing: a client that waits for the rest hangs
    });
    // No length at all and a body that never ends: refused once past the bound.
    let sent = 0;
    fault.on('GET', '/v2/h/endless/manifests/1', (req, res) => {
      res.writeHead(200, { 'content-type': MediaType.OciManifest });
      const chunk = Buffer.alloc(64 * 1024, 0x20);
      const pump = (): void => {
        while (!res.destroyed && res.write(chunk)) sent += chunk.length;
        if (!res.destroyed) res.once('drain', pump);
      };
      res.on('close', () => {});
      pump();
    });
    await using c = client();
    const e1 = (await c.getManifest(ref('h/declared:1')).catch((e: unknown) => e)) as RegistryError;
    expect(e1).toBeInstanceOf(RegistryError);
    expect([e1.ociCode, e1.status, e1.temporary]).toEqual(['TOO_LARGE', 200, false]);
    const e2 = (await c.getManifest(ref('h/endless:1')).catch((e: unknown) => e)) as RegistryError;
    expect(e2.ociCode).toBe('TOO_LARGE');
    expect(sent).toBeLessThan(16 * 1024 * 1024);
    // The bound is the client's to lower.
    await using small = client({ maxManifestSize: 100 });
    await expect(small.getManifest(ref('h/app:1'))).rejects.toMatchObject({ ociCode: 'TOO_LARGE' });
  });

  it('a wrong Content-Length or a truncated body is retried, then reported as BODY_INCOMPLETE', async (ctx) => {
    guard(ctx, 'tool:docker-registry');
    fault.reset();
    const raw = Buffer.from(await img.rawManifest());
    const headers = { 'content-type': MediaType.OciManifest, 'docker-content-digest': await img.digest() };
    fault.on('GET', '/v2/h/app/manifests/1', respond.bytes(200, raw, { headers, contentLength: raw.length + 100 }), { times: 1 });
    fault.on('GET', '/v2/h/app/manifests/1', respond.bytes(200, raw, { headers, truncateAfter: 50 }), { times: 1 });
    await using c = client();
    // Twice broken, then the real registry answers: the client got there.
    const m = await c.getManifest(ref('h/app:1'));
    expect(m.descriptor.digest).toBe(await img.digest());
    expect(fault.requests.filter((r) => r.url === '/v2/h/app/manifests/1')).toHaveLength(3);

    fault.reset();
    fault.on('GET', '/v2/h/app/manifests/1', respond.bytes(200, raw, { headers, truncateAfter: 50 }));
    const err = (await c.getManifest(ref('h/app:1')).catch((e: unknown) => e)) as RegistryError;
    expect(err).toBeInstanceOf(RegistryError);
    expect([err.ociCode, err.temporary, err.method]).toEqual(['BODY_INCOMPLETE', true, 'GET']);
    expect(err.url).toBe(`http://${fault.host}/v2/h/app/manifests/1`);
    expect(fault.requests).toHaveLength(3);

    // A length shorter than the body: the bytes read do not match the digest header.
    fault.reset();
    fault.on('GET', '/v2/h/app/manifests/1', respond.bytes(200, raw, { headers, contentLength: raw.length - 10 }));
    await expect(c.getManifest(ref('h/app:1'))).rejects.toBeInstanceOf(DigestMismatchError);
  });

  it('invalid JSON and unknown media types → RegistryError with the cause', async (ctx) => {
    guard(ctx, 'tool:docker-registry');
    fault.reset();
    fault.on('GET', '/v2/h/json/manifests/1', respond.bytes(200, '{"schemaVersion": 2, "config": ', { headers: { 'content-type': MediaType.OciManifest } }));
    fault.on('GET', '/v2/h/type/manifests/1', respond.bytes(200, await img.rawManifest(), { headers: { 'content-type': 'application/vnd.example.unknown+json' } }));
    fault.on('GET', '/v2/h/v1/manifests/1', respond.bytes(200, '{"schemaVersion":1,"name":"x","tag":"1","fsLayers":[]}', { headers: { 'content-type': MediaType.DockerManifestV1Signed } }));
    await using c = client();
    const bad = (await c.getManifest(ref('h/json:1')).catch((e: unknown) => e)) as RegistryError;
    expect([bad.status, bad.ociCode]).toEqual([200, 'MANIFEST_INVALID']);
    expect(bad.cause).toBeInstanceOf(InvalidManifestError);
    expect((bad.cause as InvalidManifestError).kind).toBe('NOT_JSON');
    const unknown = (await c.getManifest(ref('h/type:1')).catch((e: unknown) => e)) as RegistryError;
    expect(unknown.ociCode).toBe('MANIFEST_UNSUPPORTED');
    expect((unknown.cause as InvalidManifestError).mediaType).toBe('application/vnd.example.unknown+json');
    await expect(c.getManifest(ref('h/v1:1'))).rejects.toMatchObject({ ociCode: 'MANIFEST_UNSUPPORTED' });
  });

  it('a config over the bound is refused before it is fetched', async (ctx) => {
    guard(ctx, 'tool:docker-registry');
    fault.reset();
    await using c = client({ maxConfigSize: 16 });
    const remote = await c.image(ref('h/app:1'));
    const err = await remote.config().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidManifestError);
    expect((err as InvalidManifestError).kind).toBe('TOO_LARGE');
    expect(fault.requests.filter((r) => r.url.includes('/blobs/'))).toEqual([]);
  });
});

describe('OCI error bodies', () => {
  const cases = [
    { code: 'BLOB_UNKNOWN', status: 404, what: 'blob' },
    { code: 'MANIFEST_UNKNOWN', status: 404, what: 'manifest' },
    { code: 'DENIED', status: 403, what: 'manifest' },
    { code: 'UNAUTHORIZED', status: 401, what: 'manifest' },
    { code: 'TOOMANYREQUESTS', status: 429, what: 'manifest' },
  ] as const;
  for (const k of cases) {
    it(`${k.code} (${k.status}) → RegistryError carrying code, status and the request`, async (ctx) => {
      guard(ctx, 'tool:docker-registry');
      fault.reset();
      fault.on('*', /^\/v2\/h\/err\//, respond.ociError(k.status, k.code, `injected ${k.code}`));
      await using c = client();
      const digest = digestBytes('x');
      const call = k.what === 'blob' ? c.fetchBlob(ref('h/err'), digest).then(collect) : c.getManifest(ref('h/err:1'));
      const err = (await call.catch((e: unknown) => e)) as RegistryError;
      expect(err).toBeInstanceOf(RegistryError);
      expect(err.status).toBe(k.status);
      expect(err.ociCode).toBe(k.code);
      expect(err.errors[0]).toEqual({ code: k.code, message: `injected ${k.code}`, detail: { injected: true } });
      expect(err.method).toBe('GET');
      expect(err.url).toBe(`http://${fault.host}/v2/h/err/${k.what === 'blob' ? `blobs/${digest}` : 'manifests/1'}`);
      expect(err.temporary).toBe(k.status === 429);
      // Only the temporary one was tried more than once.
      expect(fault.requests).toHaveLength(k.status === 429 ? fast.maxAttempts : 1);
    });
  }
});

describe('retries', () => {
  it('429 with Retry-After waits as asked, then succeeds', async (ctx) => {
    guard(ctx, 'tool:docker-registry');
    fault.reset();
    fault.on('GET', '/v2/h/app/manifests/1', respond.ociError(429, 'TOOMANYREQUESTS', 'slow down', { 'retry-after': '1' }), { times: 1 });
    await using c = client();
    const t0 = Date.now();
    const m = await c.getManifest(ref('h/app:1'));
    expect(Date.now() - t0).toBeGreaterThanOrEqual(950);
    expect(m.descriptor.digest).toBe(await img.digest());
  });

  it('5xx and dropped connections are retried with backoff, bounded in count', async (ctx) => {
    guard(ctx, 'tool:docker-registry');
    fault.reset();
    fault.on('GET', '/v2/h/app/manifests/1', respond.status(503), { times: 1 });
    fault.on('GET', '/v2/h/app/manifests/1', respond.destroy(), { times: 1 });
    await using c = client();
    expect((await c.getManifest(ref('h/app:1'))).descriptor.digest).toBe(await img.digest());
    expect(fault.requests.filter((r) => r.url === '/v2/h/app/manifests/1')).toHaveLength(3);

    fault.reset();
    fault.on('GET', '/v2/h/app/manifests/1', respond.ociError(502, 'UNAVAILABLE'));
    await using few = client({ retry: { ...fast, maxAttempts: 4 } });
    const err = (await few.getManifest(ref('h/app:1')).catch((e: unknown) => e)) as RegistryError;
    expect([err.status, err.temporary]).toEqual([502, true]);
    expect(fault.requests).toHaveLength(4);
  });

  it('the retry budget in time is honoured (a long Retry-After is not waited for)', async (ctx) => {
    guard(ctx, 'tool:docker-registry');
    fault.reset();
    fault.on('GET', '/v2/h/app/manifests/1', respond.ociError(429, 'TOOMANYREQUESTS', 'later', { 'retry-after': '3600' }));
    await using c = client();
    const t0 = Date.now();
    const err = (await c.getManifest(ref('h/app:1')).catch((e: unknown) => e)) as RegistryError;
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(err.retryAfterMs).toBe(3_600_000);
  });

  it('an abort during a retry wait rejects at once with the reason', async (ctx) => {
    guard(ctx, 'tool:docker-registry');
    fault.reset();
    fault.on('GET', '/v2/h/app/manifests/1', respond.ociError(503, 'UNAVAILABLE', 'x', { 'retry-after': '2' }));
    await using c = client();
    const ac = new AbortController();
    setTimeout(() => ac.abort(new Error('stop now')), 100);
    const t0 = Date.now();
    await expect(c.getManifest(ref('h/app:1'), { signal: ac.signal })).rejects.toThrow('stop now');
    expect(Date.now() - t0).toBeLessThan(1000);
  });

  it("Docker Hub's rate-limit headers are reported", async (ctx) => {
    guard(ctx, 'tool:docker-registry');
    fault.reset();
    const headers = { 'ratelimit-limit': '100;w=21600', 'ratelimit-remaining': '42;w=21600', 'docker-ratelimit-source': '192.0.2.1' };
    fault.on('GET', '/v2/h/app/manifests/1', respond.proxy({ headers }));
    fault.on('GET', '/v2/h/app/manifests/2', respond.ociError(429, 'TOOMANYREQUESTS', 'rate', { ...headers, 'ratelimit-remaining': '0;w=21600' }));
    const seen: RateLimit[] = [];
    await using c = client({ onRateLimit: (r) => seen.push(r), retry: { maxAttempts: 1 } });
    await c.getManifest(ref('h/app:1'));
    expect(seen).toEqual([{ registry: fault.host, limit: 100, remaining: 42, windowSeconds: 21600, source: '192.0.2.1' }]);
    expect(c.rateLimit(fault.host)?.remaining).toBe(42);
    const err = (await c.getManifest(ref('h/app:2')).catch((e: unknown) => e)) as RegistryError;
    expect(err.rateLimit?.remaining).toBe(0);
    expect(c.rateLimit(fault.host)?.remaining).toBe(0);
  });
});

describe('redirects and realms keep credentials where they belong', () => {
  it('a blob redirect to another host is followed WITHOUT Authorization', async (ctx) => {
    guard(ctx, 'tool:docker-registry');
    await using authReg = await startRegistry({ htpasswd: [{ username: 'alice', password: 'pw' }] });
    await using front = await startFaultServer({ upstream: authReg.url });
    await using storage = await startFaultServer();
    const layer = (await img.layers())[0]!;
    const bytes = await collect(await layer.compressed());
    const path = `/v2/h/app/blobs/${await layer.digest()}`;
    front.on('GET', path, respond.redirect(`${storage.url}/bucket/blob?X-Amz-Signature=secret`));
    storage.on('GET', '/bucket/blob', respond.bytes(200, bytes));
    await using c = new RegistryClient({ insecure: [front.host], auth: { [front.host]: { username: 'alice', password: 'pw' } }, retry: fast });
    await c.push(img, `${front.host}/h/app:1`); // the client learns that this registry wants Basic
    const got = await collect(await c.fetchBlob(`${front.host}/h/app`, await layer.digest()));
    expect(got.equals(bytes)).toBe(true);
    const atRegistry = front.requests.filter((r) => r.url === path);
    expect(atRegistry.at(-1)!.headers.authorization).toMatch(/^Basic /);
    expect(storage.requests).toHaveLength(1);
    expect(storage.requests[0]!.headers.authorization).toBeUndefined();
    expect(storage.requests[0]!.headers.cookie).toBeUndefined();
  });

  it('a token realm on another host gets only the credentials of the registry that sent the client there', async (ctx) => {
    guard(ctx, 'tool:docker-registry');
    await using tokReg = await startRegistry({ token: { users: [{ username: 'alice', password: 'pw' }, { username: 'bob', password: 'pw2' }] } });
    const realm = tokReg.tokenServer!;
    // A second "registry" whose challenge points at the same realm.
    await using other = await startFaultServer();
    other.on('GET', '/v2/o/app/tags/list', (req, res) => {
      req.resume();
      if (!req.headers.authorization) {
        res.writeHead(401, { 'www-authenticate': `Bearer realm="${realm.realm}",service="other-service",scope="repository:o/app:pull"`, 'content-length': '0' }).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"name":"o/app","tags":["t"]}');
    });
    await using c = new RegistryClient({
      insecure: [tokReg.host, other.host],
      retry: fast,
      auth: {
        [tokReg.host]: { username: 'alice', password: 'pw' },
        [other.host]: { username: 'bob', password: 'pw2' },
        [realm.host]: { username: 'mallory', password: 'never-sent' },
      },
    });
    await c.push(img, `${tokReg.host}/r/app:1`);
    expect(await c.tags(`${other.host}/o/app`)).toEqual(['t']);
    const byService = (s: string): (string | undefined)[] => [...new Set(realm.requests.filter((r) => r.service === s).map((r) => r.username))];
    expect(byService('other-service')).toEqual(['bob']);
    expect(realm.requests.filter((r) => r.service !== 'other-service').every((r) => r.username === 'alice')).toBe(true);
    expect(realm.requests.some((r) => r.username === 'mallory')).toBe(false);
    // The token went to the registry that asked for it, never the credentials themselves.
    expect(other.requests.at(-1)!.headers.authorization).toMatch(/^Bearer /);
  });
});

describe('broken downloads resume with Range', () => {
  it('a transfer cut in the middle continues from where it stopped', async (ctx) => {
    guard(ctx, 'tool:docker-registry');
    fault.reset();
    const layer = (await big.layers())[0]!;
    const path = `/v2/h/big/blobs/${await layer.digest()}`;
    fault.on('GET', path, respond.proxy({ truncateAfter: 300_000 }), { times: 1 });
    await using c = client();
    const got = await collect(await c.fetchBlob(ref('h/big'), await layer.digest()));
    expect(got.equals(bigLayer)).toBe(true);
    const gets = fault.requests.filter((r) => r.url === path);
    expect(gets).toHaveLength(2);
    expect(gets[0]!.headers.range).toBeUndefined();
    const range = /^bytes=(\d+)-$/.exec(gets[1]!.headers.range as string);
    expect(Number(range![1])).toBeGreaterThan(0);
    expect(Number(range![1])).toBeLessThanOrEqual(300_000);
  });

  it('a registry that ignores Range is read from the start again, without duplicating bytes', async (ctx) => {
    guard(ctx, 'tool:docker-registry');
    fault.reset();
    const layer = (await big.layers())[0]!;
    const path = `/v2/h/big/blobs/${await layer.digest()}`;
    fault.on('GET', path, respond.proxy({ truncateAfter: 200_000 }), { times: 1 });
    fault.on(
      'GET',
      path,
      (req, _res, ctx2) => {
        delete req.headers.range;
        return ctx2.proxy();
      },
      { times: 1 },
    );
    await using c = client();
    const remote = await c.image(ref('h/big:1'));
    const got = await collect(await (await remote.layers())[0]!.compressed());
    expect(got.equals(bigLayer)).toBe(true);
  });

  it('a blob whose bytes are wrong fails verification; one announced with another length is refused unread', async (ctx) => {
    guard(ctx, 'tool:docker-registry');
    fault.reset();
    const layer = (await big.layers())[0]!;
    const path = `/v2/h/big/blobs/${await layer.digest()}`;
    const wrong = Buffer.from(bigLayer);
    wrong[12345] ^= 0xff;
    fault.on('GET', path, respond.bytes(200, wrong), { times: 1 });
    await using c = client();
    const remote = await c.image(ref('h/big:1'));
    const l = (await remote.layers())[0]!;
    const err = await collect(await l.compressed()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DigestMismatchError);
    fault.on('GET', path, respond.bytes(200, Buffer.concat([bigLayer, Buffer.from('extra')])), { times: 1 });
    const longer = (await collect(await l.compressed()).catch((e: unknown) => e)) as DigestMismatchError;
    expect(longer).toBeInstanceOf(DigestMismatchError);
    expect(longer.actual.size).toBe(bigLayer.length + 5);
  });

  it('an abort stops a blob stream at once', async (ctx) => {
    guard(ctx, 'tool:docker-registry');
    fault.reset();
    const layer = (await big.layers())[0]!;
    fault.on('GET', `/v2/h/big/blobs/${await layer.digest()}`, (req, res) => {
      req.resume();
      res.writeHead(200, { 'content-length': String(bigLayer.length) });
      res.write(bigLayer.subarray(0, 1000)); // and then stall
    });
    await using c = client();
    const ac = new AbortController();
    const stream = await c.fetchBlob(ref('h/big'), await layer.digest(), { signal: ac.signal });
    setTimeout(() => ac.abort(new Error('cancelled')), 100);
    await expect(collect(stream)).rejects.toThrow('cancelled');
  });
});

describe('mirrors', () => {
  it('reads come from a mirror first and fall back to the registry when it fails', async (ctx) => {
    guard(ctx, 'tool:docker-registry');
    await using broken = await startFaultServer();
    broken.on('*', /.*/, respond.ociError(500, 'UNAVAILABLE'));
    fault.reset();
    await using c = new RegistryClient({ insecure: [reg!.host, fault.host, broken.host], retry: { ...fast, maxAttempts: 1 }, mirrors: { [reg!.host]: [broken.host, fault.host] } });
    const remote = await c.image(`${reg!.host}/h/app:1`);
    expect(await remote.digest()).toBe(await img.digest());
    await (await remote.layers())[0]!.compressed().then(collect);
    expect(broken.requests.length).toBeGreaterThan(0);
    // The working mirror served the manifest and the blob.
    expect(fault.requests.some((r) => r.url.startsWith('/v2/h/app/manifests/'))).toBe(true);
    expect(fault.requests.some((r) => r.url.includes('/blobs/'))).toBe(true);
    void Readable;
  });
});

describe('more protocol paths', () => {
  it('resolve falls back to GET when HEAD lacks the digest', async (ctx) => {
    guard(ctx, 'tool:docker-registry');
    fault.reset();
    fault.on('HEAD', '/v2/h/app/manifests/1', respond.proxy({ headers: { 'docker-content-digest': undefined } }));
    await using c = client();
    expect(await c.resolve(ref('h/app:1'))).toEqual({ mediaType: MediaType.OciManifest, digest: await img.digest(), size: await img.size() });
    expect(fault.requests.map((r) => r.method)).toEqual(['HEAD', 'GET']);
  });

  it('the referrers API is used when the registry has it, filtered by artifactType', async (ctx) => {
    guard(ctx, 'tool:docker-registry');
    fault.reset();
    const subject = await img.digest();
    const a = { mediaType: MediaType.OciManifest, digest: digestBytes('a'), size: 1, artifactType: 'application/vnd.example.sig' };
    const b = { mediaType: MediaType.OciManifest, digest: digestBytes('b'), size: 2, artifactType: 'application/vnd.example.sbom' };
    fault.on('GET', `/v2/h/app/referrers/${subject}`, (req, res) => {
      req.resume();
      res.writeHead(200, { 'content-type': MediaType.OciIndex }).end(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.OciIndex, manifests: [a, b] }));
    });
    fault.on('GET', `/v2/h/app/referrers/${subject}?artifactType=${encodeURIComponent(b.artifactType)}`, (req, res) => {
      req.resume();
      res.writeHead(200, { 'content-type': MediaType.OciIndex, 'oci-filters-applied': 'artifactType' }).end(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.OciIndex, manifests: [b] }));
    });
    await using c = client();
    expect(await c.referrers(ref(`h/app@${subject}`))).toEqual([a, b]);
    expect(await c.referrers(ref('h/app:1'), { artifactType: b.artifactType })).toEqual([b]);
    expect(fault.requests.some((r) => r.url.includes('/manifests/sha256-'))).toBe(false);
  });

  it('a token the registry stops accepting is refreshed once', async (ctx) => {
    guard(ctx, 'tool:docker-registry');
    await using tokReg = await startRegistry({ token: { users: [{ username: 'alice', password: 'pw' }] } });
    await using front = await startFaultServer({ upstream: tokReg.url });
    await using c = new RegistryClient({ insecure: [front.host], retry: fast, auth: { [front.host]: { username: 'alice', password: 'pw' } } });
    await c.push(img, `${front.host}/t/app:1`);
    const before = tokReg.tokenServer!.requests.length;
    // The registry revokes: the next request with the cached token gets 401 and a challenge.
    front.on(
      'GET',
      '/v2/t/app/manifests/1',
      (req, res, ctx2) => {
        expect(req.headers.authorization).toMatch(/^Bearer /);
        return ctx2.proxy({ status: 401, headers: { 'www-authenticate': `Bearer realm="${tokReg.tokenServer!.realm}",service="x",scope="repository:t/app:pull",error="invalid_token"` } });
      },
      { times: 1 },
    );
    const m = await c.getManifest(`${front.host}/t/app:1`);
    expect(m.descriptor.digest).toBe(await img.digest());
    expect(tokReg.tokenServer!.requests.length).toBeGreaterThan(before);
  });

  it('an explicit proxy carries every request (CONNECT tunnel)', async (ctx) => {
    guard(ctx, 'tool:docker-registry');
    const { createServer } = await import('node:http');
    const { connect } = await import('node:net');
    const tunnels: string[] = [];
    const proxy = createServer((_req, res) => res.writeHead(405).end());
    proxy.on('connect', (req, socket, head) => {
      tunnels.push(String(req.url));
      const [h, p] = String(req.url).split(':');
      const up = connect(Number(p), h!, () => {
        socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
        up.write(head);
        up.pipe(socket);
        socket.pipe(up);
      });
      up.on('error', () => socket.destroy());
      socket.on('error', () => up.destroy());
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
    try {
      const port = (proxy.address() as { port: number }).port;
      await using c = new RegistryClient({ insecure: [reg!.host], proxy: `http://127.0.0.1:${port}`, retry: fast });
      expect((await c.resolve(`${reg!.host}/h/app:1`)).digest).toBe(await img.digest());
      expect(tunnels).toContain(reg!.host);
    } finally {
      proxy.closeAllConnections();
      await new Promise((r) => proxy.close(r));
    }
  });

  it('an abort stops a push: no manifest is put', async (ctx) => {
    guard(ctx, 'tool:docker-registry');
    fault.reset();
    // Uploads stall: the push can only end by the abort.
    fault.on('PUT', /\/blobs\/uploads\//, (req) => {
      req.resume();
    });
    await using c = client();
    const ac = new AbortController();
    setTimeout(() => ac.abort(new Error('push cancelled')), 300);
    const fresh = await randomImage({ seed: 41, layers: 2 });
    await expect(c.push(fresh, ref('h/aborted:1'), { signal: ac.signal })).rejects.toThrow('push cancelled');
    expect(fault.requests.some((r) => r.method === 'PUT' && r.url.includes('/manifests/'))).toBe(false);
    await expect(c.resolve(`${reg!.host}/h/aborted:1`)).rejects.toMatchObject({ status: 404 });
  });
});
