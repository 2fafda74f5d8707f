import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { guard } from '@stratum/testing';
import {
  Annotation,
  InvalidManifestError,
  MediaType,
  canonicalJson,
  canonicalJsonString,
  descriptorOf,
  digestBytes,
  maxConfigSize,
  maxManifestSize,
  parseDescriptor,
  parseImageConfig,
  parseManifest,
  type ImageConfig,
  type ImageIndexManifest,
  type ImageManifest,
  type ManifestErrorKind,
} from '@stratum/oci';

const dg = (n: number) => `sha256:${n.toString(16).padStart(64, '0')}`;

const config: ImageConfig = {
  architecture: 'amd64',
  os: 'linux',
  created: '2024-01-01T00:00:00Z',
  config: { Env: ['PATH=/usr/bin'], Cmd: ['/bin/sh'], Labels: { a: 'b' }, ExposedPorts: { '80/tcp': {} } },
  rootfs: { type: 'layers', diff_ids: [dg(11), dg(12)] },
  history: [{ created: '2024-01-01T00:00:00Z', created_by: 'ADD x /' }, { created_by: 'RUN y', empty_layer: false }],
};
const configBytes = canonicalJson(config);
const manifest: ImageManifest = {
  schemaVersion: 2,
  mediaType: MediaType.OciManifest,
  config: descriptorOf(configBytes, MediaType.OciConfig),
  layers: [
    { mediaType: MediaType.OciLayerGzip, digest: dg(1), size: 100 },
    { mediaType: MediaType.OciLayerZstd, digest: dg(2), size: 200, annotations: { [Annotation.Title]: 'two' } },
  ],
  annotations: { [Annotation.Created]: '2024-01-01T00:00:00Z' },
};
const index: ImageIndexManifest = {
  schemaVersion: 2,
  mediaType: MediaType.OciIndex,
  manifests: [
    { mediaType: MediaType.OciManifest, digest: dg(3), size: 500, platform: { os: 'linux', architecture: 'amd64' } },
    { mediaType: MediaType.OciManifest, digest: dg(4), size: 501, platform: { os: 'linux', architecture: 'arm64', variant: 'v8' }, annotations: { [Annotation.RefName]: 'latest' } },
  ],
};
// As Docker writes it: 3-space indented, mediaType first.
const dockerManifestText = `{
   "schemaVersion": 2,
   "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
   "config": {
      "mediaType": "application/vnd.docker.container.image.v1+json",
      "size": 1469,
      "digest": "${dg(5)}"
   },
   "layers": [
      {
         "mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
         "size": 2814446,
         "digest": "${dg(6)}"
      },
      {
         "mediaType": "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
         "size": 1,
         "digest": "${dg(7)}",
         "urls": ["https://example.com/layer"]
      }
   ]
}`;

function errorOf(fn: () => unknown): InvalidManifestError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidManifestError);
    return err as InvalidManifestError;
  }
  throw new Error('expected an InvalidManifestError');
}

describe('parseManifest', () => {
  it('parses an OCI manifest and describes its exact bytes', () => {
    const bytes = canonicalJson(manifest);
    const p = parseManifest(bytes);
    expect(p.kind).toBe('manifest');
    if (p.kind !== 'manifest') return;
    expect(p.mediaType).toBe(MediaType.OciManifest);
    expect(p.manifest).toEqual(manifest);
    expect(p.descriptor).toEqual({ mediaType: MediaType.OciManifest, digest: digestBytes(bytes), size: bytes.byteLength });
    expect(parseManifest(bytes, MediaType.OciManifest).kind).toBe('manifest');
  });

  it('parses a Docker v2.2 manifest byte-exactly, with a Content-Type carrying parameters', () => {
    const p = parseManifest(Buffer.from(dockerManifestText), 'application/vnd.docker.distribution.manifest.v2+json; charset=utf-8');
    expect(p.kind).toBe('manifest');
    expect(p.mediaType).toBe(MediaType.DockerManifest);
    expect(p.descriptor.digest).toBe(digestBytes(dockerManifestText));
    if (p.kind === 'manifest') expect(p.manifest.layers[1]!.urls).toEqual(['https://example.com/layer']);
  });

  it('parses indexes and Docker manifest lists', () => {
    const p = parseManifest(canonicalJson(index));
    expect(p.kind).toBe('index');
    if (p.kind === 'index') expect(p.index.manifests).toHaveLength(2);
    const list = { ...index, mediaType: MediaType.DockerManifestList, manifests: index.manifests.map((m) => ({ ...m, mediaType: MediaType.DockerManifest })) };
    const q = parseManifest(JSON.stringify(list), MediaType.DockerManifestList);
    expect([q.kind, q.mediaType]).toEqual(['index', MediaType.DockerManifestList]);
  });

  it('detects the kind by shape when no media type is declared', () => {
    const { mediaType: _m, ...bareManifest } = manifest;
    const { mediaType: _i, ...bareIndex } = index;
    expect(parseManifest(JSON.stringify(bareManifest))).toMatchObject({ kind: 'manifest', mediaType: MediaType.OciManifest });
    expect(parseManifest(JSON.stringify(bareIndex), 'application/json')).toMatchObject({ kind: 'index', mediaType: MediaType.OciIndex });
    expect(parseManifest(JSON.stringify(bareIndex), MediaType.DockerManifestList)).toMatchObject({ kind: 'index', mediaType: MediaType.DockerManifestList });
    expect(errorOf(() => parseManifest(JSON.stringify({ schemaVersion: 2 }))).kind).toBe('UNKNOWN_SHAPE');
    expect(errorOf(() => parseManifest(JSON.stringify({ ...bareManifest, manifests: [] }))).kind).toBe('UNKNOWN_SHAPE');
  });

  it('keeps unknown fields (artifact manifests, subject)', () => {
    const artifact = {
      ...manifest,
      artifactType: 'application/vnd.example+type',
      config: { mediaType: MediaType.OciEmpty, digest: digestBytes('{}'), size: 2, data: 'e30=' },
      layers: [],
      subject: { mediaType: MediaType.OciManifest, digest: dg(9), size: 9 },
      'x-extra': { kept: true },
    };
    const p = parseManifest(canonicalJson(artifact));
    if (p.kind !== 'manifest') throw new Error('kind');
    expect((p.manifest as unknown as Record<string, unknown>)['x-extra']).toEqual({ kept: true });
    expect(p.manifest.subject?.digest).toBe(dg(9));
  });

  const bad: Array<[string, Uint8Array | string, string | undefined, ManifestErrorKind, string?]> = [
    ['not JSON', '{"schemaVersion": 2,', undefined, 'NOT_JSON'],
    ['invalid UTF-8', Buffer.from([0x7b, 0xff, 0x7d]), undefined, 'NOT_JSON'],
    ['a JSON array', '[]', undefined, 'NOT_JSON'],
    ['JSON null', 'null', undefined, 'NOT_JSON'],
    ['schema 1 by content', JSON.stringify({ schemaVersion: 1, name: 'x', fsLayers: [] }), undefined, 'UNSUPPORTED_MEDIA_TYPE'],
    ['schema 1 by media type', dockerManifestText, MediaType.DockerManifestV1Signed, 'UNSUPPORTED_MEDIA_TYPE'],
    ['a config media type', dockerManifestText, MediaType.OciConfig, 'UNSUPPORTED_MEDIA_TYPE'],
    ['an unknown declared media type', JSON.stringify({ ...manifest, mediaType: 'application/x-whatever' }), undefined, 'UNSUPPORTED_MEDIA_TYPE', 'mediaType'],
    ['schemaVersion 3', JSON.stringify({ ...manifest, schemaVersion: 3 }), undefined, 'INVALID_FIELD', 'schemaVersion'],
    ['a missing schemaVersion', JSON.stringify({ ...manifest, schemaVersion: undefined }), undefined, 'INVALID_FIELD', 'schemaVersion'],
    ['a served type that disagrees', dockerManifestText, MediaType.OciManifest, 'MEDIA_TYPE_MISMATCH', 'mediaType'],
    ['a non-string mediaType', JSON.stringify({ ...manifest, mediaType: 7 }), undefined, 'INVALID_FIELD', 'mediaType'],
    ['a missing config', JSON.stringify({ ...manifest, config: undefined }), undefined, 'INVALID_FIELD', 'config'],
    ['layers not an array', JSON.stringify({ ...manifest, layers: {} }), undefined, 'INVALID_FIELD', 'layers'],
    ['a bad layer digest', JSON.stringify({ ...manifest, layers: [manifest.layers[0], { ...manifest.layers[1], digest: 'sha256:abc' }] }), undefined, 'INVALID_FIELD', 'layers[1].digest'],
    ['an uppercase digest', JSON.stringify({ ...manifest, config: { ...manifest.config, digest: manifest.config.digest.toUpperCase() } }), undefined, 'INVALID_FIELD', 'config.digest'],
    ['a negative size', JSON.stringify({ ...manifest, layers: [{ ...manifest.layers[0], size: -1 }] }), undefined, 'INVALID_FIELD', 'layers[0].size'],
    ['a fractional size', JSON.stringify({ ...manifest, layers: [{ ...manifest.layers[0], size: 1.5 }] }), undefined, 'INVALID_FIELD', 'layers[0].size'],
    ['a string size', JSON.stringify({ ...manifest, layers: [{ ...manifest.layers[0], size: '1' }] }), undefined, 'INVALID_FIELD', 'layers[0].size'],
    ['a media type with two slashes', JSON.stringify({ ...manifest, config: { ...manifest.config, mediaType: 'a/b/c' } }), undefined, 'INVALID_FIELD', 'config.mediaType'],
    ['an empty layer media type', JSON.stringify({ ...manifest, layers: [{ ...manifest.layers[0], mediaType: '' }] }), undefined, 'INVALID_FIELD', 'layers[0].mediaType'],
    ['a layer media type without subtype', JSON.stringify({ ...manifest, layers: [{ ...manifest.layers[0], mediaType: 'tar' }] }), undefined, 'INVALID_FIELD', 'layers[0].mediaType'],
    ['non-string annotations', JSON.stringify({ ...manifest, annotations: { a: 1 } }), undefined, 'INVALID_FIELD', 'annotations'],
    ['urls not strings', JSON.stringify({ ...manifest, layers: [{ ...manifest.layers[0], urls: [1] }] }), undefined, 'INVALID_FIELD', 'layers[0].urls'],
    ['a bad subject', JSON.stringify({ ...manifest, subject: { mediaType: 'x/y' } }), undefined, 'INVALID_FIELD', 'subject.digest'],
    ['index manifests not an array', JSON.stringify({ ...index, manifests: 'x' }), undefined, 'INVALID_FIELD', 'manifests'],
    ['a platform without os', JSON.stringify({ ...index, manifests: [{ ...index.manifests[0], platform: { architecture: 'amd64' } }] }), undefined, 'INVALID_FIELD', 'manifests[0].platform.os'],
    ['a platform with a numeric variant', JSON.stringify({ ...index, manifests: [{ ...index.manifests[0], platform: { os: 'linux', architecture: 'arm', variant: 7 } }] }), undefined, 'INVALID_FIELD', 'manifests[0].platform.variant'],
  ];
  for (const [what, bytes, mt, kind, field] of bad) {
    it(`refuses ${what} (${kind})`, () => {
      const e = errorOf(() => parseManifest(bytes, mt));
      expect(e.kind).toBe(kind);
      expect(e.code).toBe('INVALID_MANIFEST');
      if (field !== undefined) expect(e.field).toBe(field);
    });
  }

  it('refuses more than 4 MiB before decoding, and honours maxSize', () => {
    // Invalid UTF-8 and invalid JSON: only a size check made before decoding reports TOO_LARGE.
    const huge = Buffer.alloc(maxManifestSize + 1, 0xff);
    expect(errorOf(() => parseManifest(huge)).kind).toBe('TOO_LARGE');
    const padded = Buffer.concat([Buffer.from(JSON.stringify(manifest)), Buffer.alloc(maxManifestSize - JSON.stringify(manifest).length, 0x20)]);
    expect(padded.byteLength).toBe(maxManifestSize);
    expect(parseManifest(padded).kind).toBe('manifest');
    expect(errorOf(() => parseManifest(canonicalJson(manifest), undefined, { maxSize: 100 })).kind).toBe('TOO_LARGE');
  });
});

describe('parseImageConfig', () => {
  it('parses a config and keeps unknown fields', () => {
    const c = parseImageConfig(canonicalJson({ ...config, 'x-extra': 1 }));
    expect(c.rootfs.diff_ids).toEqual([dg(11), dg(12)]);
    expect(c.config?.Cmd).toEqual(['/bin/sh']);
    expect(c['x-extra']).toBe(1);
  });

  it("drops null config/Labels/history as old Docker wrote them", () => {
    const c = parseImageConfig(JSON.stringify({ ...config, config: { Cmd: null, Entrypoint: null, Labels: null, Env: null }, container_config: null, history: null }));
    expect(c.config?.Labels).toBeUndefined();
    expect(c.config?.Cmd).toBeNull();
    expect('container_config' in c).toBe(false);
    expect('history' in c).toBe(false);
  });

  const bad: Array<[string, unknown, string]> = [
    ['missing architecture', { ...config, architecture: undefined }, 'architecture'],
    ['numeric os', { ...config, os: 1 }, 'os'],
    ['missing rootfs', { ...config, rootfs: undefined }, 'rootfs'],
    ['rootfs of another type', { ...config, rootfs: { type: 'layered', diff_ids: [] } }, 'rootfs.type'],
    ['diff_ids not an array', { ...config, rootfs: { type: 'layers', diff_ids: 'x' } }, 'rootfs.diff_ids'],
    ['a bad diff_id', { ...config, rootfs: { type: 'layers', diff_ids: [dg(1), 'sha256:zz'] } }, 'rootfs.diff_ids[1]'],
    ['Env with a number', { ...config, config: { Env: ['A=1', 2] } }, 'config.Env'],
    ['Cmd as a string', { ...config, config: { Cmd: '/bin/sh' } }, 'config.Cmd'],
    ['Labels with a number', { ...config, config: { Labels: { a: 1 } } }, 'config.Labels'],
    ['User as a number', { ...config, config: { User: 0 } }, 'config.User'],
    ['ExposedPorts as an array', { ...config, config: { ExposedPorts: ['80/tcp'] } }, 'config.ExposedPorts'],
    ['history not an array', { ...config, history: {} }, 'history'],
    ['history entry with a numeric created_by', { ...config, history: [{ created_by: 1 }] }, 'history[0].created_by'],
    ['empty_layer as a string', { ...config, history: [{ empty_layer: 'true' }] }, 'history[0].empty_layer'],
    ['created as a number', { ...config, created: 0 }, 'created'],
  ];
  for (const [what, doc, field] of bad) {
    it(`refuses ${what}`, () => {
      const e = errorOf(() => parseImageConfig(JSON.stringify(doc)));
      expect([e.kind, e.field]).toEqual(['INVALID_FIELD', field]);
    });
  }

  it('refuses more than 8 MiB before decoding', () => {
    expect(errorOf(() => parseImageConfig(Buffer.alloc(maxConfigSize + 1, 0xff))).kind).toBe('TOO_LARGE');
    expect(errorOf(() => parseImageConfig('{oops')).kind).toBe('NOT_JSON');
  });
});

describe('descriptors and canonical JSON', () => {
  it('descriptorOf hashes and measures bytes, with extra fields', () => {
    const bytes = Buffer.from('{"a":1}');
    expect(descriptorOf(bytes, MediaType.OciConfig, { annotations: { k: 'v' } })).toEqual({
      mediaType: MediaType.OciConfig,
      digest: digestBytes(bytes),
      size: 7,
      annotations: { k: 'v' },
    });
    expect(descriptorOf('é', 'text/plain').size).toBe(2);
  });

  it('parseDescriptor validates one descriptor', () => {
    expect(parseDescriptor({ mediaType: 'x/y', digest: dg(1), size: 0 })).toEqual({ mediaType: 'x/y', digest: dg(1), size: 0 });
    expect(errorOf(() => parseDescriptor({ mediaType: 'x/y', digest: dg(1) }, 'index.json manifests[3]')).field).toBe('index.json manifests[3].size');
    expect(errorOf(() => parseDescriptor(null)).field).toBe('descriptor');
  });

  it('canonicalJson sorts keys at every depth and is UTF-8', () => {
    const a = canonicalJson({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: 'é' } });
    const b = canonicalJson({ a: { c: 'é', d: [3, { y: 2, z: 1 }] }, b: 1 });
    expect(Buffer.from(a).toString('utf8')).toBe('{"a":{"c":"é","d":[3,{"y":2,"z":1}]},"b":1}');
    expect(Buffer.compare(a, b)).toBe(0);
    expect(a).toBeInstanceOf(Uint8Array);
    expect(canonicalJsonString({ u: undefined, n: null })).toBe('{"n":null}');
    expect(() => canonicalJson(undefined)).toThrow(TypeError);
    const cyclic: Record<string, unknown> = {};
    cyclic['self'] = cyclic;
    expect(() => canonicalJson(cyclic)).toThrow(TypeError);
  });

  it('canonicalJson: equal values give equal bytes, and the bytes parse back to the value', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        const bytes = canonicalJson(v);
        const back = JSON.parse(Buffer.from(bytes).toString('utf8'));
        expect(back).toEqual(JSON.parse(JSON.stringify(v)));
        expect(Buffer.compare(canonicalJson(back), bytes)).toBe(0);
      }),
      { numRuns: 500 },
    );
  });
});

describe('properties', () => {
  const docs = fc.oneof(
    fc.uint8Array({ maxLength: 200 }),
    fc.jsonValue().map((v) => JSON.stringify(v)),
    // Near-misses: a valid manifest or index with one member replaced by anything.
    fc.tuple(fc.constantFrom<Record<string, unknown>>(manifest as never, index as never, config as never), fc.constantFrom('schemaVersion', 'mediaType', 'config', 'layers', 'manifests', 'rootfs', 'annotations', 'subject', 'history', 'architecture'), fc.jsonValue()).map(([base, key, v]) => JSON.stringify({ ...base, [key]: v })),
  );
  it('parseManifest and parseImageConfig throw only InvalidManifestError', () => {
    fc.assert(
      fc.property(docs, fc.option(fc.constantFrom(...Object.values(MediaType), 'application/json', 'x/y; a=b')), (doc, mt) => {
        for (const f of [() => parseManifest(doc, mt ?? undefined), () => parseImageConfig(doc)]) {
          try {
            f();
          } catch (err) {
            if (!(err instanceof InvalidManifestError)) throw err;
          }
        }
      }),
      { numRuns: 2000 },
    );
  });
});

describe('peer: oci-image-tool agrees', () => {
  it('validates what we accept and refuses what we refuse', (ctx) => {
    guard(ctx, 'tool:oci-image-tool');
    const dir = mkdtempSync(join(tmpdir(), 'stratum-oci-'));
    try {
      const check = (type: 'manifest' | 'imageIndex' | 'config', doc: unknown): boolean => {
        const file = join(dir, 'doc.json');
        writeFileSync(file, canonicalJson(doc));
        try {
          execFileSync('oci-image-tool', ['validate', '--type', type, file], { stdio: 'pipe' });
          return true;
        } catch {
          return false;
        }
      };
      const ours = (type: 'manifest' | 'imageIndex' | 'config', doc: unknown): boolean => {
        try {
          if (type === 'config') parseImageConfig(canonicalJson(doc));
          else expect(parseManifest(canonicalJson(doc)).kind).toBe(type === 'manifest' ? 'manifest' : 'index');
          return true;
        } catch (err) {
          if (err instanceof InvalidManifestError) return false;
          throw err;
        }
      };
      const samples: Array<['manifest' | 'imageIndex' | 'config', unknown, boolean]> = [
        ['manifest', manifest, true],
        ['imageIndex', index, true],
        ['config', config, true],
        ['manifest', { ...manifest, schemaVersion: 3 }, false],
        ['manifest', { ...manifest, config: undefined }, false],
        // oci-image-tool accepts a negative size, and 'a/b/c' as a media type (its schema's
        // character class has the range "&-^", which takes in "/"); we refuse both, so those
        // samples are only in the parseManifest tests above.
        ['manifest', { ...manifest, layers: [{ ...manifest.layers[0], mediaType: 'gzip' }] }, false],
        ['manifest', { ...manifest, layers: [{ ...manifest.layers[0], digest: undefined }] }, false],
        ['imageIndex', { ...index, manifests: [{ ...index.manifests[0], platform: { architecture: 'amd64' } }] }, false],
        ['imageIndex', { ...index, manifests: undefined }, false],
        ['config', { ...config, rootfs: { type: 'layers', diff_ids: 'x' } }, false],
        ['config', { ...config, config: { Env: 'A=1' } }, false],
      ];
      for (const [type, doc, valid] of samples) {
        expect(check(type, doc), `oci-image-tool ${type} ${JSON.stringify(doc).slice(0, 80)}`).toBe(valid);
        expect(ours(type, doc), `ours ${type} ${JSON.stringify(doc).slice(0, 80)}`).toBe(valid);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
