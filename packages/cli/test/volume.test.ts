/** `stratum volume …` against the real VolumeStore under a temp root. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { guard, useLeakCheck } from '@stratum/testing';
import { stratum, tempRoot } from './helpers.js';

useLeakCheck({ beforeEach, afterEach });

describe('stratum volume', () => {
  let t: ReturnType<typeof tempRoot>;
  beforeEach(() => {
    t = tempRoot('volume');
  });
  afterEach(() => t.cleanup());

  it('create, ls (table, -q, --format, --filter), inspect -f, rm', async (ctx) => {
    guard(ctx, 'native');
    const root = t.root;
    expect(await stratum(['volume', 'create', '--label', 'team=web', 'appdata'], { root })).toEqual({ code: 0, stdout: 'appdata\n', stderr: '' });
    const anon = await stratum(['volume', 'create'], { root });
    expect(anon.stdout).toMatch(/^[0-9a-f]{64}\n$/);
    const ls = await stratum(['volume', 'ls'], { root });
    expect(ls.stdout.split('\n')[0]).toBe('DRIVER    VOLUME NAME');
    expect(ls.stdout).toContain('local     appdata\n');
    expect((await stratum(['volume', 'ls', '-q', '--filter', 'label=team=web'], { root })).stdout).toBe('appdata\n');
    expect((await stratum(['volume', 'ls', '--format', '{{.Name}}:{{.Labels}}:{{.Label "team"}}', '-f', 'name=app'], { root })).stdout).toBe('appdata:team=web:web\n');
    const insp = await stratum(['volume', 'inspect', '-f', '{{.Driver}} {{.Mountpoint}} {{json .Labels}}', 'appdata'], { root });
    expect(insp.code).toBe(0);
    const [driver, mountpoint, labels] = insp.stdout.trim().split(' ');
    expect(driver).toBe('local');
    expect(existsSync(mountpoint!)).toBe(true);
    expect(labels).toBe('{"team":"web"}');
    const full = JSON.parse((await stratum(['volume', 'inspect', 'appdata'], { root })).stdout) as Array<{ Name: string; Scope: string }>;
    expect(full).toMatchObject([{ Name: 'appdata', Scope: 'local' }]);
    expect(await stratum(['volume', 'rm', 'appdata', anon.stdout.trim()], { root })).toEqual({ code: 0, stdout: `appdata\n${anon.stdout}`, stderr: '' });
    expect((await stratum(['volume', 'ls', '-q'], { root })).stdout).toBe('');
  });

  it('missing volumes: one error line each, exit 1, the others still done', async (ctx) => {
    guard(ctx, 'native');
    const root = t.root;
    await stratum(['volume', 'create', 'keep'], { root });
    const r = await stratum(['volume', 'inspect', 'nope', 'keep'], { root });
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^stratum volume inspect: .*nope/);
    expect(JSON.parse(r.stdout)).toHaveLength(1);
    const rm = await stratum(['volume', 'rm', 'nope', 'keep'], { root });
    expect(rm.code).toBe(1);
    expect(rm.stdout).toBe('keep\n');
    expect((await stratum(['volume', 'rm', '-f', 'nope'], { root })).code).toBe(0);
    const bad = await stratum(['volume', 'create', 'bad/name'], { root });
    expect(bad.code).toBe(125);
    expect(bad.stderr).toMatch(/^stratum volume create: .*bad\/name/);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
  });
});
