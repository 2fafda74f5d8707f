import { describe, expect, it } from 'vitest';
import {
  InvalidVolumeNameError,
  InvalidVolumeSpecError,
  bindMount,
  mergeVolumeSpecs,
  imageVolumes,
  DuplicateMountPointError,
  parseMount,
  parseSize,
  parseTmpfs,
  parseVolume,
  parseVolumesFrom,
  tmpfsMount,
  volumesFrom,
  type VolumeMount,
} from '../src/index.js';
import { wireMount } from '@stratum/namespace';
import { features } from '@stratum/native';

function specError(fn: () => unknown): InvalidVolumeSpecError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(InvalidVolumeSpecError);
    expect((e as InvalidVolumeSpecError).code).toBe('INVALID_VOLUME_SPEC');
    return e as InvalidVolumeSpecError;
  }
  throw new Error('expected an InvalidVolumeSpecError');
}

describe('parseVolume (-v)', () => {
  it('a target alone is an anonymous volume', () => {
    expect(parseVolume('/data')).toEqual({ type: 'volume', target: '/data', origin: 'explicit' });
  });

  it('an absolute source is a bind that -v creates when missing', () => {
    expect(parseVolume('/data/volumes/b2:/data')).toEqual({ type: 'bind', source: '/data/volumes/b2', target: '/data', createHostPath: true, origin: 'explicit' });
  });

  it('modes: ro, label, propagation on binds', () => {
    expect(parseVolume('/host:/ctr:ro,z')).toMatchObject({ type: 'bind', readonly: true, selinux: 'z' });
    expect(parseVolume('/host:/ctr:rshared')).toMatchObject({ type: 'bind', propagation: 'rshared' });
    expect(parseVolume('/host:/ctr:rw')).not.toHaveProperty('readonly');
  });

  it('a name is a named volume; nocopy and ro apply', () => {
    expect(parseVolume('cache:/var/cache:ro,nocopy')).toEqual({ type: 'volume', source: 'cache', target: '/var/cache', readonly: true, nocopy: true, origin: 'explicit' });
  });

  it('relative host paths resolve against cwd (docker CLI ≥ 23)', () => {
    expect(parseVolume('./data:/data', { cwd: '/srv/app' })).toMatchObject({ type: 'bind', source: '/srv/app/data' });
    expect(parseVolume('../x:/x', { cwd: '/srv/app' })).toMatchObject({ type: 'bind', source: '/srv/x' });
  });

  it('cleans paths', () => {
    expect(parseVolume('/a//b/../c/:/d/./e/')).toMatchObject({ source: '/a/c', target: '/d/e' });
  });

  it.each([
    ['', 'spec'],
    [':/x', 'spec'],
    ['a:b:c:d', 'spec'],
    ['/x:rw', 'spec'],
    ['data', 'target'],
    ['/host:data', 'target'],
    ['/host:/', 'target'],
    ['/host:/x:ro,rw', 'mode'],
    ['/host:/x:bogus', 'mode'],
    ['/host:/x:z,Z', 'mode'],
    ['/host:/x:nocopy', 'mode'],
    ['vol:/x:rshared', 'mode'],
    ['/host:', 'target'],
  ])('%j is refused (%s)', (raw, field) => {
    const e = specError(() => parseVolume(raw));
    expect(e.field).toBe(field);
    expect(e.input).toBe(raw);
  });

  it('bad volume names are InvalidVolumeNameError', () => {
    expect(() => parseVolume('a:/x')).toThrow(InvalidVolumeNameError);
    expect(() => parseVolume('-bad:/x')).toThrow(InvalidVolumeNameError);
    expect(() => parseVolume('a b:/x')).toThrow(InvalidVolumeNameError);
  });
});

describe('parseMount (--mount)', () => {
  it('bind with readonly, propagation and recursive', () => {
    expect(parseMount('type=bind,src=/h,dst=/c,readonly,bind-propagation=rslave,bind-recursive=readonly')).toEqual({
      type: 'bind', source: '/h', target: '/c', readonly: true, propagation: 'rslave', recursive: 'readonly', origin: 'explicit',
    });
    expect(parseMount('type=bind,source=/h,target=/c,ro=false,bind-nonrecursive')).toEqual({ type: 'bind', source: '/h', target: '/c', recursive: 'disabled', origin: 'explicit' });
  });

  it('volume is the default type; labels, driver options (CSV quoting), nocopy', () => {
    expect(parseMount('source=v1,target=/d,volume-nocopy,volume-label=a=b,"volume-opt=o=size=64m,uid=1000",volume-opt=type=tmpfs,volume-opt=device=tmpfs')).toEqual({
      type: 'volume', source: 'v1', target: '/d', nocopy: true, labels: { a: 'b' },
      driverOptions: { o: 'size=64m,uid=1000', type: 'tmpfs', device: 'tmpfs' }, origin: 'explicit',
    });
    expect(parseMount('destination=/anon')).toEqual({ type: 'volume', target: '/anon', origin: 'explicit' });
  });

  it('tmpfs size and mode', () => {
    expect(parseMount('type=tmpfs,dst=/run,tmpfs-size=64m,tmpfs-mode=1770')).toEqual({ type: 'tmpfs', target: '/run', size: 64 * 1024 * 1024, mode: 0o1770, origin: 'explicit' });
  });

  it.each([
    ['type=bind,target=/c', 'source'],
    ['type=bind,src=rel,target=/c', 'source'],
    ['type=volume,src=v', 'target'],
    ['type=bind,src=/h,dst=/c,volume-nocopy', 'volume-nocopy'],
    ['type=volume,dst=/c,bind-propagation=shared', 'bind-propagation'],
    ['type=tmpfs,src=x,dst=/c', 'source'],
    ['type=tmpfs,dst=/c,tmpfs-size=lots', 'tmpfs-size'],
    ['type=tmpfs,dst=/c,tmpfs-mode=999', 'tmpfs-mode'],
    ['type=nfs,dst=/c', 'type'],
    ['dst=/c,color=blue', 'color'],
    ['dst=/c,type', 'type'],
    ['dst=/c,ro=maybe', 'ro'],
    ['type=bind,src=/h,dst=/c,bind-propagation=sideways', 'bind-propagation'],
    ['type=bind,src=/h,dst=/c,bind-recursive=readonly', 'bind-recursive'],
    ['dst=/c,volume-label=novalue', 'volume-label'],
    ['dst="/c', 'spec'],
  ])('%j is refused (%s)', (raw, field) => {
    expect(specError(() => parseMount(raw)).field).toBe(field);
  });
});

describe('parseTmpfs (--tmpfs) and tmpfsMount', () => {
  it('parses size, mode and flags; Docker defaults apply, options override them', () => {
    const s = parseTmpfs('/run:rw,exec,size=65536k,mode=1777,uid=1000');
    expect(s).toEqual({ type: 'tmpfs', target: '/run', size: 65536 * 1024, mode: 0o1777, options: ['rw', 'exec', 'uid=1000'], origin: 'explicit' });
    const m = tmpfsMount(s);
    expect(m).toEqual({ destination: '/run', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev', 'rw', 'exec', 'uid=1000', 'size=67108864', 'mode=1777'] });
    // What spawn makes of it: no MS_NOEXEC, data for the kernel.
    const w = wireMount(m, 0);
    expect(w.fstype).toBe('tmpfs');
    expect(w.data).toBe('uid=1000,size=67108864,mode=1777');
    expect(tmpfsMount({ target: '/t' }).options).toEqual(['nosuid', 'nodev', 'noexec']);
    expect(tmpfsMount({ target: '/t', readonly: true }).options).toContain('ro');
  });

  it.each(['', 'rel', '/run:size=abc', '/run:mode=8', '/run:bogus', '/run:uid=', '/:size=1m'])('%j is refused', (raw) => {
    specError(() => parseTmpfs(raw));
  });
});

describe('bindMount', () => {
  it('defaults: rbind, rprivate; ro is recursive where the kernel has mount_setattr', () => {
    expect(bindMount({ source: '/h', target: '/c' })).toEqual({ destination: '/c', type: 'bind', source: '/h', options: ['rbind', 'rprivate'] });
    const ro = bindMount({ source: '/h', target: '/c', readonly: true });
    expect(ro.options).toEqual(features().idmappedMounts ? ['rbind', 'ro', 'rro', 'rprivate'] : ['rbind', 'ro', 'rprivate']);
    expect(bindMount({ source: '/h', target: '/c', readonly: true, recursive: 'writable', propagation: 'rshared' }).options).toEqual(['rbind', 'ro', 'rshared']);
    expect(bindMount({ source: '/h', target: '/c', recursive: 'disabled' }).options).toEqual(['bind', 'rprivate']);
    // spawn accepts it as is
    expect(wireMount(ro, 0).target).toBe('/c');
  });

  it('refuses bad specs with typed errors', () => {
    expect(specError(() => bindMount({ source: 'rel', target: '/c' })).field).toBe('source');
    expect(specError(() => bindMount({ source: '/h', target: '/' })).field).toBe('target');
    expect(specError(() => bindMount({ source: '/h', target: '/c', propagation: 'weird' as never })).field).toBe('propagation');
  });
});

describe('parseSize and parseVolumesFrom', () => {
  it('sizes', () => {
    expect(parseSize('1024')).toBe(1024);
    expect(parseSize('64m')).toBe(64 * 2 ** 20);
    expect(parseSize('1.5g')).toBe(1.5 * 2 ** 30);
    expect(parseSize('2MiB')).toBe(2 * 2 ** 20);
    expect(parseSize('10kb')).toBe(10240);
    specError(() => parseSize('-1'));
    specError(() => parseSize('0'));
    specError(() => parseSize('1x'));
  });

  it('--volumes-from', () => {
    expect(parseVolumesFrom('c1')).toEqual({ container: 'c1' });
    expect(parseVolumesFrom('c1:ro')).toEqual({ container: 'c1', readonly: true });
    expect(parseVolumesFrom('c1:rw')).toEqual({ container: 'c1', readonly: false });
    specError(() => parseVolumesFrom('c1:rx'));
    specError(() => parseVolumesFrom(':ro'));
  });
});

describe('mergeVolumeSpecs and volumesFrom', () => {
  const mounts: VolumeMount[] = [
    { Type: 'volume', Name: 'data', Source: '/v/data/_data', Destination: '/data', Driver: 'local', Mode: '', RW: true, Propagation: '' },
    { Type: 'bind', Source: '/srv/conf', Destination: '/etc/app', Mode: 'ro', RW: false, Propagation: 'rprivate' },
    { Type: 'tmpfs', Source: '', Destination: '/run', Mode: '', RW: true, Propagation: '' },
  ];

  it('volumesFrom inherits binds and volumes, not tmpfs; ro/rw override', () => {
    expect(volumesFrom({ mounts })).toEqual([
      { type: 'volume', source: 'data', target: '/data', origin: 'volumes-from', nocopy: true },
      { type: 'bind', source: '/srv/conf', target: '/etc/app', origin: 'volumes-from', readonly: true, propagation: 'rprivate' },
    ]);
    // Records read back from JSON: the spec's bind options survive, junk in Spec is ignored.
    const stored = JSON.parse(JSON.stringify([{ ...mounts[1], Spec: { type: 'bind', recursive: 'disabled', propagation: 'rslave', selinux: 'Q' } }]));
    expect(volumesFrom({ mounts: stored })).toEqual([
      { type: 'bind', source: '/srv/conf', target: '/etc/app', origin: 'volumes-from', readonly: true, propagation: 'rslave', recursive: 'disabled' },
    ]);
    expect(volumesFrom({ mounts }, { readonly: true }).every((s) => s.readonly)).toBe(true);
    expect(volumesFrom({ mounts }, { readonly: false }).some((s) => s.readonly)).toBe(false);
  });

  it('explicit beats volumes-from beats image; two explicit at one path are refused; parents first', () => {
    const merged = mergeVolumeSpecs([
      ...imageVolumes({ '/data': {}, '/logs': {} }),
      ...volumesFrom({ mounts }),
      parseVolume('/host/data:/data'),
      parseVolume('/data/sub'),
    ]);
    expect(merged.map((s) => [s.target, s.type, s.origin])).toEqual([
      ['/data', 'bind', 'explicit'],
      ['/logs', 'volume', 'image'],
      ['/etc/app', 'bind', 'volumes-from'],
      ['/data/sub', 'volume', 'explicit'],
    ]);
    expect(() => mergeVolumeSpecs([parseVolume('a1:/x'), parseVolume('/h:/x/')])).toThrow(DuplicateMountPointError);
  });
});
