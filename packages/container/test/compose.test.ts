/** Pure parts: Docker's CMD/ENTRYPOINT rules, env merge, user resolution, resource units, names, logs format. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  JsonLogWriter,
  NoCommandError,
  UserNotFoundError,
  cgroupLimits,
  composeCommand,
  generateName,
  mergeEnv,
  normalizeResources,
  parseBytes,
  parseGroup,
  parsePasswd,
  processEnv,
  readJsonLog,
  resolveUser,
  rfc3339Nano,
  validateContainerName,
  checkSpec,
} from '../src/index.js';

describe('composeCommand (Docker CMD/ENTRYPOINT rules)', () => {
  const img = { Entrypoint: ['/entry.sh'], Cmd: ['serve', '--port', '80'] };
  it('image entrypoint + image cmd', () => {
    expect(composeCommand(img, {}).argv).toEqual(['/entry.sh', 'serve', '--port', '80']);
  });
  it('a run cmd replaces the image cmd, keeps the entrypoint', () => {
    expect(composeCommand(img, { cmd: ['version'] })).toEqual({ argv: ['/entry.sh', 'version'], entrypoint: ['/entry.sh'], cmd: ['version'] });
  });
  it('a run entrypoint discards the image cmd', () => {
    expect(composeCommand(img, { entrypoint: ['/bin/sh'] }).argv).toEqual(['/bin/sh']);
    expect(composeCommand(img, { entrypoint: ['/bin/sh'], cmd: ['-c', 'id'] }).argv).toEqual(['/bin/sh', '-c', 'id']);
  });
  it("--entrypoint '' clears the entrypoint and keeps the image cmd", () => {
    expect(composeCommand(img, { entrypoint: '' })).toEqual({ argv: ['serve', '--port', '80'], entrypoint: null, cmd: ['serve', '--port', '80'] });
    expect(composeCommand(img, { entrypoint: [], cmd: ['ls'] }).argv).toEqual(['ls']);
  });
  it('shell form runs /bin/sh -c (or the image Shell)', () => {
    expect(composeCommand({}, { cmd: 'echo $HOME' }).argv).toEqual(['/bin/sh', '-c', 'echo $HOME']);
    expect(composeCommand({ Shell: ['/bin/ash', '-eo'] }, { cmd: 'x' }).argv).toEqual(['/bin/ash', '-eo', 'x']);
    expect(composeCommand({}, { entrypoint: 'exec top', cmd: ['-b'] }).argv).toEqual(['/bin/sh', '-c', 'exec top', '-b']);
  });
  it('no command at all is NoCommandError', () => {
    expect(() => composeCommand({}, {})).toThrow(NoCommandError);
    expect(() => composeCommand({ Entrypoint: ['/e'] }, { entrypoint: '' })).toThrow(NoCommandError);
  });
  it('rejects non-string arguments', () => {
    expect(() => composeCommand({}, { cmd: [1 as unknown as string] })).toThrow(TypeError);
  });
});

describe('environment', () => {
  it('image Env + overrides, order kept, bare KEY removes', () => {
    expect(mergeEnv(['PATH=/bin', 'A=1', 'B=2'], { A: 'x', C: '3' })).toEqual(['PATH=/bin', 'A=x', 'B=2', 'C=3']);
    expect(mergeEnv(['A=1', 'B=2'], ['B', 'D=a=b'])).toEqual(['A=1', 'D=a=b']);
    expect(() => mergeEnv([], { 'A=B': 'x' })).toThrow(TypeError);
  });
  it('process env: default PATH, HOSTNAME, TERM with a tty, HOME from passwd', () => {
    const e = processEnv(['A=1'], { hostname: 'box', tty: true, home: '/root' });
    expect(e).toEqual(['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'HOSTNAME=box', 'TERM=xterm', 'HOME=/root', 'A=1']);
    expect(processEnv(['PATH=/x', 'HOME=/h'], { hostname: 'b' })).toEqual(['HOSTNAME=b', 'PATH=/x', 'HOME=/h']);
  });
});

describe('user resolution', () => {
  const db = {
    passwd: parsePasswd('root:x:0:0:root:/root:/bin/sh\n# comment\nbad line\napp:x:1000:1000::/home/app:/bin/sh\n'),
    group: parseGroup('root:x:0:\nstaff:x:50:app,other\napp:x:1000:\nwheel:x:10:root\n'),
  };
  it('names, uids, groups, supplementary groups', () => {
    expect(resolveUser('', db)).toEqual({ uid: 0, gid: 0, additionalGids: [10], home: '/root', name: 'root' });
    expect(resolveUser('app', db)).toEqual({ uid: 1000, gid: 1000, additionalGids: [50], home: '/home/app', name: 'app' });
    expect(resolveUser('app:staff', db)).toMatchObject({ uid: 1000, gid: 50, additionalGids: [] });
    expect(resolveUser('1000:0', db)).toMatchObject({ uid: 1000, gid: 0, name: 'app', additionalGids: [] });
    expect(resolveUser('4242', db)).toEqual({ uid: 4242, gid: 0, additionalGids: [], home: '/' });
    expect(resolveUser('4242:wheel', db, ['staff', '77'])).toEqual({ uid: 4242, gid: 10, additionalGids: [50, 77], home: '/' });
  });
  it('unknown names are UserNotFoundError', () => {
    expect(() => resolveUser('nobody', db)).toThrow(UserNotFoundError);
    expect(() => resolveUser('app:nogroup', db)).toThrow(expect.objectContaining({ database: 'group', entry: 'nogroup' }));
  });
});

describe('resources', () => {
  it('parses Docker sizes', () => {
    expect(parseBytes('64m', 'm')).toBe(64 * 1024 * 1024);
    expect(parseBytes('1.5g', 'm')).toBe(1.5 * 1024 ** 3);
    expect(parseBytes('512kb', 'm')).toBe(512 * 1024);
    expect(parseBytes(-1, 'm')).toBe(-1);
    expect(() => parseBytes('lots', 'm')).toThrow(TypeError);
  });
  it('maps onto cgroup limits', () => {
    const h = normalizeResources({ memory: '64m', memorySwap: '128m', cpus: 0.5, cpuShares: 512, cpusetCpus: '0', pidsLimit: 20 });
    expect(h).toEqual({ Memory: 67108864, MemorySwap: 134217728, NanoCpus: 5e8, CpuShares: 512, CpusetCpus: '0', PidsLimit: 20 });
    expect(cgroupLimits(h)).toEqual({
      memory: { max: 67108864, swap: 67108864 },
      cpu: { max: { quota: 50000, period: 100000 }, shares: 512 },
      cpuset: { cpus: '0' },
      pids: { max: 20 },
    });
    expect(cgroupLimits(normalizeResources({ memory: '64m' }))).toEqual({ memory: { max: 67108864 } });
    expect(() => normalizeResources({ memorySwap: '1g' })).toThrow(TypeError);
    expect(() => normalizeResources({ memory: '1m' })).toThrow(/minimum/);
    expect(() => normalizeResources({ cpus: 0 })).toThrow(TypeError);
  });
});

describe('spec validation', () => {
  it('TypeErrors name the field', () => {
    expect(() => checkSpec({} as never)).toThrow(/image/);
    expect(() => checkSpec({ rootfs: '/r', name: 'bad name' })).toThrow(/container name/);
    expect(() => checkSpec({ rootfs: '/r', ports: ['80'] })).toThrow(/published port/);
    expect(() => checkSpec({ rootfs: '/r', network: 'host', ports: ['8080:80'] })).toThrow(/bridge network/);
    expect(() => checkSpec({ rootfs: '/r', driver: 'zfs' as never })).toThrow(/driver must be 'overlay', 'fuse-overlayfs' or 'vfs'/);
    expect(checkSpec({ rootfs: '/r', driver: 'vfs' }).driver).toBe('vfs');
    expect(() => checkSpec({ rootfs: '/r', addHosts: ['nocolon'] })).toThrow(/extra host/);
    expect(() => checkSpec({ rootfs: '/r', workdir: 'rel' })).toThrow(/workdir/);
    expect(() => checkSpec({ rootfs: '/r', capAdd: ['NOPE'] })).toThrow(/capability/);
    expect(checkSpec({ rootfs: '/r', capAdd: ['net_admin'], tmpfs: ['/run:size=1m'] })).toMatchObject({ capAdd: ['CAP_NET_ADMIN'], tmpfs: { '/run': 'size=1m' } });
  });
  it('names', () => {
    expect(validateContainerName('/web.1_a-b')).toBe('web.1_a-b');
    expect(() => validateContainerName('-x')).toThrow(TypeError);
    expect(generateName()).toMatch(/^[a-z]+_[a-z]+$/);
  });
});

describe('json-file logs', () => {
  it('splits lines, keeps partial lines until their newline, filters and formats', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'stratum-ct-log-'));
    try {
      const path = join(dir, 'c-json.log');
      const w = new JsonLogWriter(path);
      w.write('stdout', Buffer.from('one\ntw'));
      w.write('stderr', Buffer.from('e1\n'));
      w.write('stdout', Buffer.from('o\nthree'));
      await w.close();
      const lines: Array<{ stream: string; text: string; time: string }> = [];
      for await (const l of readJsonLog(path)) lines.push(l);
      expect(lines.map((l) => [l.stream, l.text])).toEqual([
        ['stdout', 'one\n'],
        ['stderr', 'e1\n'],
        ['stdout', 'two\n'],
        ['stdout', 'three'],
      ]);
      expect(lines[0]!.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/);
      const tail: string[] = [];
      for await (const l of readJsonLog(path, { tail: 2, timestamps: true })) tail.push(l.text);
      expect(tail).toEqual([`${lines[2]!.time} two\n`, `${lines[3]!.time} three`]);
      const since: string[] = [];
      for await (const l of readJsonLog(path, { since: lines[2]!.time })) since.push(l.text);
      expect(since).toEqual(['two\n', 'three']);
      expect(rfc3339Nano(1_700_000_000_123_456_789n)).toBe('2023-11-14T22:13:20.123456789Z');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
