/** main(): help, dispatch, usage errors and exit codes, in-process and as the `stratum` process. */
import { describe, expect, it } from 'vitest';
import { COMMANDS } from '../src/index.js';
import { stratum, stratumProcess, tempRoot } from './helpers.js';

describe('main', () => {
  it('no arguments and --help print the usage with every verb; exit 0', async () => {
    const r = await stratum([]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Usage:  stratum \[OPTIONS\] COMMAND\n/);
    for (const v of ['run', 'ps', 'pull', 'push', 'images', 'rmi', 'tag', 'history', 'inspect', 'exec', 'logs', 'stop', 'kill', 'rm', 'commit', 'save', 'load', 'import', 'export', 'login', 'logout']) {
      expect(r.stdout).toMatch(new RegExp(`\\n  ${v}\\s{2,}\\S`));
    }
    expect((await stratum(['--help'])).stdout).toBe(r.stdout);
    expect((await stratum(['-h'])).stdout).toBe(r.stdout);
    // -h is --help, except where it is a flag of the command (run -h HOSTNAME).
    expect((await stratum(['images', '-h'])).stdout).toMatch(/^Usage:  stratum image ls/);
  });

  it('per-command --help lists the flags, aliases; groups list their commands', async () => {
    const r = await stratum(['run', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Usage:  stratum container run \[OPTIONS\] IMAGE \[COMMAND\] \[ARG\.\.\.\]\n/);
    expect(r.stdout).toContain('stratum container run, stratum run');
    expect(r.stdout).toMatch(/\n  -p, --publish list\s+Publish a container's port\(s\) to the host\n/);
    expect(r.stdout).toMatch(/\n  -m, --memory bytes\s+Memory limit\n/);
    expect((await stratum(['help', 'images'])).stdout).toMatch(/^Usage:  stratum image ls/);
    const g = await stratum(['network']);
    expect(g.code).toBe(0);
    expect(g.stdout).toMatch(/\n  create\s+Create a network\n/);
    // --help after the image of `run` belongs to the container's command, not to stratum.
    expect((await stratum(['run', '--rm', '--help'])).stdout).toMatch(/^Usage:/);
  });

  it('every command has a summary, and its flags have descriptions and unique names', () => {
    for (const c of COMMANDS) {
      expect(c.summary.length, c.path.join(' ')).toBeGreaterThan(5);
      const names = c.flags.map((f) => f.name);
      expect(new Set(names).size, c.path.join(' ')).toBe(names.length);
      const shorts = c.flags.flatMap((f) => (f.short ? [f.short] : []));
      expect(new Set(shorts).size, c.path.join(' ')).toBe(shorts.length);
    }
  });

  it('usage errors: one line on stderr naming the command, exit 125', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['frobnicate'], /^stratum: unknown command: "frobnicate" \(see 'stratum --help'\)\n$/],
      [['images', '--nope'], /^stratum image ls: unknown flag: --nope \(see 'stratum image ls --help'\)\n$/],
      [['rmi'], /^stratum image rm: "stratum image rm" requires at least 1 argument \(see 'stratum image rm --help'\)\n$/],
      [['tag', 'a'], /requires exactly 2 arguments/],
      [['network', 'frob'], /^stratum network: unknown command: "stratum network frob"/],
      [['--nope', 'ps'], /^stratum: unknown flag: --nope/],
      [['run', '-m'], /flag needs an argument: 'm' in -m/],
    ];
    for (const [argv, re] of cases) {
      const r = await stratum(argv);
      expect(r.code, argv.join(' ')).toBe(125);
      expect(r.stderr, argv.join(' ')).toMatch(re);
      expect(r.stdout).toBe('');
    }
  });

  it('errors of a verb: one line, no stack unless --debug', async () => {
    const t = tempRoot('main');
    try {
      const r = await stratum(['image', 'inspect', 'nosuch'], { root: t.root });
      expect(r.code).toBe(1);
      expect(r.stderr).toBe('stratum image inspect: no such image: nosuch\n');
      const bad = await stratum(['images', '--format', '{{.Nope'], { root: t.root });
      expect(bad.code).toBe(125);
      expect(bad.stderr).toBe('stratum image ls: template: :1:0: unclosed action\n');
      const dbg = await stratum(['--debug', 'images', '--format', '{{.Nope'], { root: t.root });
      expect(dbg.stderr.split('\n')[0]).toBe('stratum image ls: template: :1:0: unclosed action');
      expect(dbg.stderr).toMatch(/\n\s+at /);
    } finally {
      t.cleanup();
    }
  });

  it('runs as a process: src/bin.ts with the shebang, exit codes, --version, --root and $STRATUM_ROOT', () => {
    const t = tempRoot('bin');
    try {
      const v = stratumProcess(['--version']);
      expect(v).toMatchObject({ code: 0, stdout: expect.stringMatching(/^Stratum version \d+\.\d+\.\d+\n$/) });
      const e = stratumProcess(['images', '--nope']);
      expect(e.code).toBe(125);
      expect(e.stderr).toBe("stratum image ls: unknown flag: --nope (see 'stratum image ls --help')\n");
      const ok = stratumProcess(['images', '-q'], { env: { STRATUM_ROOT: t.root } });
      expect(ok).toEqual({ code: 0, stdout: '', stderr: '' });
      expect(stratumProcess(['--root', t.root, 'volume', 'ls', '-q']).code).toBe(0);
    } finally {
      t.cleanup();
    }
  });
});
