/**
 * The container verbs against the real kernel (@stratum/container): run (foreground, -d, --rm,
 * -i), exec, logs, ps, inspect -f, top, stats, export (running and stopped), stop, kill, wait,
 * pause, rm; exit codes 125/126/127 and
 * the container's own. Containers run on a busybox root filesystem (`--rootfs`) with
 * `--network none` (the bridge network is covered in network.test.ts and e2e.test.ts).
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { guard, useLeakCheck } from '@stratum/testing';
import { busyboxRootfs, stratum, tempRoot } from './helpers.js';

useLeakCheck({ beforeEach, afterEach });

describe('stratum run / exec / logs / ps / stop / rm', () => {
  let t: ReturnType<typeof tempRoot>;
  let rootfs: string;
  beforeAll(() => {
    t = tempRoot('container');
    rootfs = busyboxRootfs(join(t.root, 'rootfs'));
  });
  afterAll(() => t.cleanup());
  const root = (): string => join(t.root, 'state');
  const run = (argv: string[], opts: { stdin?: string } = {}) => stratum(argv, { root: root(), ...opts });
  afterEach(async () => {
    const ids = (await run(['ps', '-aq', '--no-trunc'])).stdout.trim();
    if (ids !== '') await run(['rm', '-f', ...ids.split('\n')]);
  });
  const base = (): string[] => ['--rootfs', '--network', 'none', rootfs];

  it('foreground run: stdout and stderr apart, the exit code of the container, --rm leaves nothing', async (ctx) => {
    guard(ctx, 'root', 'overlay', 'mount-ns');
    const r = await run(['run', '--rm', ...base(), 'sh', '-c', 'echo out; echo err >&2; exit 3']);
    expect(r).toEqual({ code: 3, stdout: 'out\n', stderr: 'err\n' });
    expect((await run(['ps', '-aq'])).stdout).toBe('');
  });

  it('-i feeds stdin; -e, -w, -h, --add-host and --entrypoint reach the container', async (ctx) => {
    guard(ctx, 'root', 'overlay', 'mount-ns');
    expect(await run(['run', '-i', '--rm', ...base(), 'cat'], { stdin: 'hello from stdin\n' })).toEqual({ code: 0, stdout: 'hello from stdin\n', stderr: '' });
    const r = await run(['run', '--rm', '-e', 'A=1', '--env=B=two', '-w', '/tmp', '-h', 'myhost', '--add-host', 'db:10.1.2.3', '--entrypoint', '/bin/sh', ...base(), '-c', 'echo $A $B; pwd; hostname; grep db /etc/hosts']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^1 two\n\/tmp\nmyhost\n10\.1\.2\.3\s+db\n$/);
  });

  it('exit codes: 127 command not found, 126 not executable, 125 for stratum errors', async (ctx) => {
    guard(ctx, 'root', 'overlay', 'mount-ns');
    const nf = await run(['run', '--rm', ...base(), 'nosuchcmd']);
    expect(nf.code).toBe(127);
    expect(nf.stderr.trim().split('\n')).toHaveLength(1);
    expect(nf.stderr).toMatch(/^stratum container run: .*ENOENT/);
    expect((await run(['run', '--rm', ...base(), '/etc/passwd'])).code).toBe(126);
    const conflict1 = await run(['run', '-d', '--name', 'dup', ...base(), 'sleep', '100']);
    expect(conflict1.code).toBe(0);
    const conflict2 = await run(['run', '-d', '--name', 'dup', ...base(), 'true']);
    expect(conflict2.code).toBe(125);
    expect(conflict2.stderr).toMatch(/^stratum container run: .*dup/);
    const never = await run(['run', '--pull', 'never', 'nosuchimage:1']);
    expect(never).toMatchObject({ code: 125, stderr: 'stratum container run: no such image: nosuchimage:1 (and --pull never)\n' });
    const tty = await run(['run', '-it', ...base(), 'sh']);
    expect(tty.code).toBe(125);
    expect(tty.stderr).toMatch(/not a TTY/);
  });

  it('-d, ps (table, --format, filters), exec, logs, inspect -f, top, stop, wait, rm', async (ctx) => {
    guard(ctx, 'root', 'overlay', 'mount-ns', 'cgroup-v1');
    const d = await run(['run', '-d', '--name', 'web', '-l', 'tier=front', '-e', 'A=1', '-m', '64m', ...base(), 'sh', '-c', 'echo started; echo warn >&2; exec sleep 1000']);
    expect(d.stderr).toBe('');
    expect(d.code).toBe(0);
    expect(d.stdout).toMatch(/^[0-9a-f]{64}\n$/);
    const id = d.stdout.trim();

    const ps = await run(['ps']);
    const lines = ps.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^CONTAINER ID\s+IMAGE\s+COMMAND\s+CREATED\s+STATUS\s+PORTS\s+NAMES$/);
    expect(lines[1]).toMatch(new RegExp(`^${id.slice(0, 12)}\\s+${rootfs}\\s+"sh -c echo started;…"\\s+(Less than a second|\\d+ seconds?) ago\\s+Up .+\\s+web$`));
    expect((await run(['ps', '--format', '{{.Names}} {{.State}} {{.Label "tier"}}'])).stdout).toBe('web running front\n');
    expect((await run(['ps', '-q', '--filter', 'label=tier=front', '--filter', 'name=we'])).stdout).toBe(`${id.slice(0, 12)}\n`);
    expect((await run(['ps', '-q', '--filter', 'status=exited'])).stdout).toBe('');

    const ex = await run(['exec', '-e', 'B=2', '-w', '/tmp', 'web', 'sh', '-c', 'echo $A $B $(pwd)']);
    expect(ex).toEqual({ code: 0, stdout: '1 2 /tmp\n', stderr: '' });
    const ex7 = await run(['exec', 'web', 'sh', '-c', 'echo e >&2; exit 7']);
    expect(ex7).toEqual({ code: 7, stdout: '', stderr: 'e\n' });
    expect((await run(['exec', 'web', 'nosuchcmd'])).code).toBe(127);
    expect(await run(['exec', '-i', id.slice(0, 8), 'cat'], { stdin: 'piped' })).toEqual({ code: 0, stdout: 'piped', stderr: '' });

    const logs = await run(['logs', 'web']);
    expect(logs).toEqual({ code: 0, stdout: 'started\n', stderr: 'warn\n' });
    expect((await run(['logs', '-t', '--tail', '1', 'web'])).stderr).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z warn\n$/);

    const insp = await run(['inspect', '-f', '{{.Name}} {{.State.Running}} {{.State.Status}} {{index .Config.Labels "tier"}} {{json .Config.Cmd}}', 'web']);
    expect(insp.stdout).toBe('/web true running front ["sh","-c","echo started; echo warn >&2; exec sleep 1000"]\n');
    const full = JSON.parse((await run(['container', 'inspect', id])).stdout) as Array<{ Id: string; HostConfig: { NetworkMode: string } }>;
    expect(full[0]).toMatchObject({ Id: id, HostConfig: { NetworkMode: 'none' } });

    const top = await run(['top', 'web']);
    expect(top.stdout.split('\n')[0]).toMatch(/^UID\s+PID\s+PPID\s+STIME\s+TIME\s+CMD$/);
    expect(top.stdout).toMatch(/sleep 1000/);

    // docker stats --no-stream: docker's columns, one row per running container.
    const st = await run(['stats', '--no-stream']);
    expect(st.stderr).toBe('');
    const sl = st.stdout.trimEnd().split('\n');
    expect(sl[0]).toMatch(/^CONTAINER ID\s+NAME\s+CPU %\s+MEM USAGE \/ LIMIT\s+MEM %\s+NET I\/O\s+BLOCK I\/O\s+PIDS$/);
    expect(sl[1]).toMatch(new RegExp(`^${id.slice(0, 12)}\\s+web\\s+\\d+\\.\\d\\d%\\s+[\\d.]+(B|KiB|MiB) / 64MiB\\s+\\d+\\.\\d\\d%\\s+0B / 0B\\s+[\\d.]+[kM]?B / [\\d.]+[kM]?B\\s+1$`));
    expect(sl).toHaveLength(2);
    expect((await run(['stats', '--no-stream', '--format', '{{.Container}} {{.Name}} {{.PIDs}} {{.NetIO}}', 'web'])).stdout).toBe('web web 1 0B / 0B\n');

    // docker export: the container's filesystem, with what it wrote.
    expect((await run(['exec', 'web', 'sh', '-c', 'echo hi > /root/note'])).code).toBe(0);
    const tarFile = join(t.root, 'web.tar');
    expect(await run(['export', '-o', tarFile, 'web'])).toEqual({ code: 0, stdout: '', stderr: '' });
    const names = execFileSync('tar', ['-tf', tarFile], { encoding: 'utf8' }).split('\n');
    expect(names).toEqual(expect.arrayContaining([expect.stringMatching(/^(\.\/)?bin\/busybox$/), expect.stringMatching(/^(\.\/)?root\/note$/)]));

    expect(await run(['pause', 'web'])).toEqual({ code: 0, stdout: 'web\n', stderr: '' });
    expect((await run(['ps', '--format', '{{.Status}}'])).stdout).toMatch(/\(Paused\)/);
    expect((await run(['unpause', 'web'])).code).toBe(0);

    expect(await run(['stop', '-t', '1', 'web'])).toEqual({ code: 0, stdout: 'web\n', stderr: '' });
    expect(await run(['wait', 'web'])).toEqual({ code: 0, stdout: '137\n', stderr: '' });
    expect((await run(['ps', '-a', '--filter', 'status=exited', '--format', '{{.Names}} {{.Status}}'])).stdout).toMatch(/^web Exited \(137\) .* ago\n$/);
    // A stopped container: stats are zeros (-a lists it), export still gives its filesystem.
    expect((await run(['stats', '--no-stream'])).stdout.trimEnd().split('\n')).toHaveLength(1);
    expect((await run(['stats', '--no-stream', '-a', '--format', '{{.Name}} {{.CPUPerc}} {{.MemPerc}} {{.PIDs}}'])).stdout).toBe('web 0.00% 0.00% 0\n');
    const stoppedTar = join(t.root, 'web-stopped.tar');
    expect(await run(['export', '-o', stoppedTar, 'web'])).toEqual({ code: 0, stdout: '', stderr: '' });
    expect(execFileSync('tar', ['-tf', stoppedTar], { encoding: 'utf8' }).split('\n')).toEqual(expect.arrayContaining([expect.stringMatching(/^(\.\/)?root\/note$/)]));
    expect(await run(['rm', 'web'])).toEqual({ code: 0, stdout: 'web\n', stderr: '' });
    const gone = await run(['rm', 'web']);
    expect(gone).toEqual({ code: 1, stdout: '', stderr: 'stratum container rm: no such container: web\n' });
  });

  it('-it in a real terminal (script(1) gives the bin a pty): the container gets a tty, raw input, its exit code', (ctx) => {
    guard(ctx, 'root', 'overlay', 'mount-ns', 'tool:script');
    const bin = join(import.meta.dirname, '..', 'src', 'bin.ts');
    const cmd = [process.execPath, '--conditions=stratum-source', '--import', 'tsx', bin, '--root', root(), 'run', '-it', '--rm', ...base(), 'sh', '-c', 'test -t 0 && test -t 1 && echo tty-ok; read line; echo "got $line"; exit 5'].map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(' ');
    const r = spawnSync('script', ['-q', '-e', '-c', cmd, '/dev/null'], { input: 'typed\n', encoding: 'utf8', timeout: 60_000, cwd: join(import.meta.dirname, '..', '..', '..') });
    expect(r.status, r.stdout + r.stderr).toBe(5);
    expect(r.stdout).toMatch(/tty-ok/);
    expect(r.stdout).toMatch(/got typed/);
  });

  it('Ctrl-C: a foreground run forwards SIGINT to the container (its exit code); logs -f ends with 130', async (ctx) => {
    guard(ctx, 'root', 'overlay', 'mount-ns');
    const bin = join(import.meta.dirname, '..', 'src', 'bin.ts');
    const start = (argv: string[]): { child: ChildProcess; output: Promise<{ code: number | null; stdout: string; stderr: string }>; ready: Promise<void> } => {
      const child = spawn(process.execPath, ['--conditions=stratum-source', '--import', 'tsx', bin, '--root', root(), ...argv], { cwd: join(import.meta.dirname, '..', '..', '..'), stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      let onReady: () => void = () => {};
      const ready = new Promise<void>((r) => (onReady = r));
      child.stdout!.on('data', (d: Buffer) => {
        stdout += d.toString();
        if (stdout.includes('ready')) onReady();
      });
      child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
      const output = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => child.on('exit', (code) => resolve({ code, stdout, stderr })));
      return { child, output, ready };
    };
    const fg = start(['run', '--rm', ...base(), 'sh', '-c', 'trap "echo got INT; exit 3" INT; echo ready; while :; do sleep 0.1; done']);
    await fg.ready;
    fg.child.kill('SIGINT');
    expect(await fg.output).toEqual({ code: 3, stdout: 'ready\ngot INT\n', stderr: '' });

    expect((await run(['run', '-d', '--name', 'talker', ...base(), 'sh', '-c', 'echo ready; exec sleep 1000'])).code).toBe(0);
    const follow = start(['logs', '-f', 'talker']);
    await follow.ready;
    follow.child.kill('SIGINT');
    expect(await follow.output).toEqual({ code: 130, stdout: 'ready\n', stderr: 'stratum container logs: interrupted (SIGINT)\n' });
  });

  it('kill -s and rm -f of a running container; start of a stopped one', async (ctx) => {
    guard(ctx, 'root', 'overlay', 'mount-ns');
    expect((await run(['run', '-d', '--name', 'k', '--init', ...base(), 'sleep', '1000'])).code).toBe(0);
    const running = await run(['rm', 'k']);
    expect(running.code).toBe(1);
    expect(running.stderr).toMatch(/^stratum container rm: .*running/);
    expect(await run(['kill', '-s', 'TERM', 'k'])).toEqual({ code: 0, stdout: 'k\n', stderr: '' });
    expect((await run(['wait', 'k'])).stdout).toBe('143\n');
    expect((await run(['start', 'k'])).stdout).toBe('k\n');
    expect((await run(['inspect', '-f', '{{.State.Running}}', 'k'])).stdout).toBe('true\n');
    expect(await run(['rm', '-f', 'k'])).toEqual({ code: 0, stdout: 'k\n', stderr: '' });
    const bad = await run(['kill', '-s', 'NOPE', 'x']);
    expect(bad).toMatchObject({ code: 125 });
  });
});
